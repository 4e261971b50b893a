//! Row-major f32 matrix products through the `gemm` crate (the GEMM Burn's CPU backends
//! use), on one core or split over the thread pool.
//!
//! A large product C = A · B is cut into blocks of rows of C (or of columns, when C is wider
//! than tall), one block per thread, each block one sequential GEMM: C[r0..r1, :] =
//! A[r0..r1, :] · B. Every element of C is then the same sum, in the same order, as
//! without the cut (gemm blocks the inner dimension by k and the cache sizes only), so the
//! numbers do not depend on the thread count. gemm's own threading (`Parallelism::Rayon`)
//! measured no faster than one thread at the sizes of gdl's models (a 128 × 784 · 784 × 400
//! product) on 2 cores; the cut measured close to twice as fast.

use rayon::prelude::*;

/// A matrix operand: element (i, j) of the `rows` × `cols` matrix is `data[i·rs + j·cs]`
/// (row-major when `rs = cols` and `cs = 1`; a transpose swaps the two; a row stride above
/// `cols` reads every row from a longer one, as the convolutions' shifted views do).
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    /// The elements.
    pub data: &'a [f32],
    /// Rows as used.
    pub rows: usize,
    /// Columns as used.
    pub cols: usize,
    /// Distance between consecutive rows.
    pub rs: usize,
    /// Distance between consecutive columns.
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// `data` as a row-major `rows` × `cols` matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "matrix size");
        Mat {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// `data` read as a `rows` × `cols` matrix with strides `rs` and `cs`.
    pub fn strided(data: &'a [f32], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        let last = (rows.max(1) - 1) * rs + (cols.max(1) - 1) * cs;
        assert!(rows * cols == 0 || last < data.len(), "matrix strides");
        Mat {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    /// Its transpose (no copy).
    pub fn t(self) -> Self {
        Mat {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// (rows, cols, row stride, column stride).
    fn used(&self) -> (usize, usize, isize, isize) {
        (self.rows, self.cols, self.rs as isize, self.cs as isize)
    }
}

/// Products of at least this many multiply-adds (about 10 µs on one core) are cut over the
/// thread pool; below it a wake-up of the other thread costs more than it saves.
const PARALLEL_WORK: usize = 1 << 21;

/// Blocks are multiples of this many rows or columns (gemm's micro-kernel tiles), so that
/// no block is a sliver.
const BLOCK_ALIGN: usize = 16;

/// dst (+)= lhs · rhs, dst row-major; without `accumulate` every element of dst is written
/// and none read. Cut over the thread pool when `par` and the product is large.
pub fn matmul_into(dst: &mut [f32], accumulate: bool, lhs: Mat, rhs: Mat, par: bool) {
    let (m, k, l_rs, l_cs) = lhs.used();
    let (k2, n, r_rs, r_cs) = rhs.used();
    assert_eq!(k, k2, "matmul: inner dimensions");
    assert_eq!(dst.len(), m * n, "matmul: destination size");
    let threads = if par && m * n * k >= PARALLEL_WORK {
        rayon::current_num_threads()
    } else {
        1
    };
    // Cut the longer side of C into `threads` aligned blocks.
    let by_rows = m >= n;
    let side = if by_rows { m } else { n };
    let block = side
        .div_ceil(threads)
        .next_multiple_of(BLOCK_ALIGN)
        .min(side);
    let (d, l, r) = (
        dst.as_mut_ptr() as usize,
        lhs.data.as_ptr() as usize,
        rhs.data.as_ptr() as usize,
    );
    let product = |start: usize| {
        let len = block.min(side - start);
        let (rows, cols) = if by_rows { (len, n) } else { (m, len) };
        // Block offsets: rows of C and A, or columns of C and B.
        let (d_off, l_off, r_off) = if by_rows {
            (start as isize * n as isize, start as isize * l_rs, 0)
        } else {
            (start as isize, 0, start as isize * r_cs)
        };
        // SAFETY: dst is m × n row-major and each block writes only its own rows (or
        // columns) of it, disjoint from every other block's; lhs and rhs were checked to hold
        // rows × cols elements, and the offsets and strides address only those elements.
        unsafe {
            gemm::gemm(
                rows,
                cols,
                k,
                (d as *mut f32).offset(d_off),
                1,
                n as isize,
                accumulate,
                (l as *const f32).offset(l_off),
                l_cs,
                l_rs,
                (r as *const f32).offset(r_off),
                r_cs,
                r_rs,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    };
    let starts = (0..side).step_by(block.max(1));
    if threads > 1 && block < side {
        starts.collect::<Vec<_>>().into_par_iter().for_each(product);
    } else {
        starts.for_each(product);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0
                    - 1.0
            })
            .collect()
    }

    /// Σ_k a_ik b_kj in f64.
    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                    .sum();
            }
        }
        c
    }

    #[test]
    fn the_cut_product_equals_the_sum_and_the_uncut_product_bit_for_bit() {
        // Tall, wide, transposed operands, accumulation; sizes above and below the cut.
        for &(m, k, n) in &[(130, 300, 70), (40, 200, 500), (7, 5, 3), (300, 64, 300)] {
            let (a, b) = (ramp(m * k, 1), ramp(k * n, 2));
            let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
            let want = naive(&a, &b, m, k, n);
            for accumulate in [false, true] {
                let start = ramp(m * n, 3);
                let mut results = vec![];
                for (lhs, par) in [
                    (Mat::new(&a, m, k), false),
                    (Mat::new(&a, m, k), true),
                    (Mat::new(&at, k, m).t(), true),
                ] {
                    let mut c = start.clone();
                    matmul_into(&mut c, accumulate, lhs, Mat::new(&b, k, n), par);
                    results.push(c);
                }
                for (i, w) in want.iter().enumerate() {
                    let w = w + if accumulate { start[i] as f64 } else { 0.0 };
                    assert!((results[0][i] as f64 - w).abs() < 1e-3 * (1.0 + w.abs()));
                }
                assert_eq!(results[0], results[1], "{m}x{k}x{n}: cut over threads");
                assert_eq!(results[0], results[2], "{m}x{k}x{n}: transposed lhs");
            }
        }
    }
}
