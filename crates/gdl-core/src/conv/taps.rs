//! All the taps of a grid convolution in one pass: out[r, q] = Σ_t Σ_k W_t[r, k] · S[k, q + s_t]
//! for a source grid S (channels k, places q) read at each tap's start s_t. The products'
//! inner sum runs over the taps and the channels together (9·C terms for a 3 × 3 kernel) in
//! the vector registers, so an output is written once, where one matrix product per tap reads
//! and writes the whole output nine times and packs the shifted source nine times. This is
//! the direct convolution that oneDNN's kernels do; the tile is gemm's: 8 rows of the output
//! by 48 places (three AVX-512 vectors), 24 accumulators, one broadcast weight and three
//! loads of the source per 24 multiply-adds.
//!
//! The kernel needs AVX-512 ([`available`]); elsewhere the grid takes its per-tap products.

/// Places per tile: the output's places are computed in whole tiles (the caller pads them).
pub(super) const TILE: usize = 48;

/// Rows of the output per block: blocks of 8, then one of 4, 2 and 1 as the rest needs.
const ROWS: usize = 8;

/// Whether this CPU runs the kernel (AVX-512F).
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The rows of the output cut into blocks: (first row, rows), rows ∈ {8, 4, 2, 1}.
fn blocks(m: usize) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = (0..m / ROWS).map(|b| (b * ROWS, ROWS)).collect();
    let mut at = m / ROWS * ROWS;
    for rows in [4, 2, 1] {
        if m - at >= rows {
            out.push((at, rows));
            at += rows;
        }
    }
    out
}

/// The weights W_t[r, k] in the kernel's order: block by block, tap by tap, channel by
/// channel, the block's rows side by side (the numbers one step of the inner sum
/// broadcasts).
pub(super) struct Packed {
    /// (first row, rows, offset of the block's weights in `data`).
    blocks: Vec<(usize, usize, usize)>,
    data: Vec<f32>,
    /// Channels k of the source.
    k: usize,
    /// Taps t.
    taps: usize,
}

impl Packed {
    /// Packs W_t[r, k] = `weight(r, k, t)` for r < m, k < `k`, t < `taps`.
    pub(super) fn new(
        m: usize,
        k: usize,
        taps: usize,
        weight: impl Fn(usize, usize, usize) -> f32,
    ) -> Packed {
        let mut data = Vec::with_capacity(m * k * taps);
        let blocks = blocks(m)
            .into_iter()
            .map(|(first, rows)| {
                let at = data.len();
                for t in 0..taps {
                    for kk in 0..k {
                        data.extend((first..first + rows).map(|r| weight(r, kk, t)));
                    }
                }
                (first, rows, at)
            })
            .collect();
        Packed {
            blocks,
            data,
            k,
            taps,
        }
    }
}

/// out[r, q] = Σ_t Σ_k W_t[r, k] · src[k·`src_stride` + starts[t] + q] for every row r of
/// `w` and q < `places` (a multiple of [`TILE`]); row r of `out` starts at r·`places`.
///
/// Panics unless [`available`], and unless `src` holds every element read.
pub(super) fn products(
    out: &mut [f32],
    places: usize,
    src: &[f32],
    src_stride: usize,
    starts: &[usize],
    w: &Packed,
) {
    assert!(available(), "the tap kernel needs AVX-512F");
    assert_eq!(places % TILE, 0, "whole tiles");
    assert_eq!(starts.len(), w.taps, "one start per tap");
    let rows = w.blocks.last().map_or(0, |&(first, rows, _)| first + rows);
    assert!(out.len() >= rows * places, "output size");
    let reach = starts.iter().max().copied().unwrap_or(0);
    assert!(
        w.k == 0 || (w.k - 1) * src_stride + reach + places <= src.len(),
        "source size"
    );
    #[cfg(target_arch = "x86_64")]
    for q in (0..places).step_by(TILE) {
        for &(first, rows, at) in &w.blocks {
            let tile = Tile {
                out: out[first * places + q..].as_mut_ptr(),
                out_stride: places,
                src: src[q..].as_ptr(),
                src_stride,
                starts,
                k: w.k,
                weights: w.data[at..].as_ptr(),
            };
            // SAFETY: the CPU has AVX-512F (asserted); the tile's rows of `out` hold TILE
            // places from q (q + TILE ≤ places, rows·places ≤ out.len()), and every source
            // element it reads, (k−1)·src_stride + starts[t] + q + TILE − 1 at most, was
            // checked to be in `src`; the block's weights are rows·k·taps from `at`.
            unsafe {
                match rows {
                    8 => tile.run::<8>(),
                    4 => tile.run::<4>(),
                    2 => tile.run::<2>(),
                    _ => tile.run::<1>(),
                }
            }
        }
    }
}

/// One tile's operands (raw pointers checked by [`products`]).
#[cfg(target_arch = "x86_64")]
struct Tile<'a> {
    out: *mut f32,
    out_stride: usize,
    src: *const f32,
    src_stride: usize,
    starts: &'a [usize],
    k: usize,
    weights: *const f32,
}

#[cfg(target_arch = "x86_64")]
impl Tile<'_> {
    /// The tile's R rows × 48 places: acc[r][v] += W_t[r, k] · S[k, q + s_t + 16v] over t and k.
    #[target_feature(enable = "avx512f")]
    unsafe fn run<const R: usize>(&self) {
        use std::arch::x86_64::*;
        let mut acc = [[_mm512_setzero_ps(); 3]; R];
        let mut w = self.weights;
        for &start in self.starts {
            let mut s = self.src.add(start);
            for _ in 0..self.k {
                let x = [
                    _mm512_loadu_ps(s),
                    _mm512_loadu_ps(s.add(16)),
                    _mm512_loadu_ps(s.add(32)),
                ];
                for (r, acc) in acc.iter_mut().enumerate() {
                    let b = _mm512_set1_ps(*w.add(r));
                    for (a, x) in acc.iter_mut().zip(x) {
                        *a = _mm512_fmadd_ps(b, x, *a);
                    }
                }
                w = w.add(R);
                s = s.add(self.src_stride);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let o = self.out.add(r * self.out_stride);
            for (v, a) in acc.iter().enumerate() {
                _mm512_storeu_ps(o.add(16 * v), *a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's sums equal the definition's (to rounding), for row counts that take
    /// every block size.
    #[test]
    fn products_are_the_sums_over_taps_and_channels() {
        if !available() {
            return;
        }
        let (k, places, stride) = (5, 2 * TILE, 2 * TILE + 40);
        let starts = [0, 1, 2, 17, 39];
        let src: Vec<f32> = (0..k * stride)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.01)
            .collect();
        for m in [1, 3, 8, 15] {
            let weight = |r: usize, kk: usize, t: usize| (r * 7 + kk * 3 + t) as f32 * 0.1 - 1.0;
            let w = Packed::new(m, k, starts.len(), weight);
            let mut out = vec![f32::NAN; m * places];
            products(&mut out, places, &src, stride, &starts, &w);
            for r in 0..m {
                for q in 0..places {
                    let want: f64 = (0..starts.len())
                        .flat_map(|t| (0..k).map(move |kk| (t, kk)))
                        .map(|(t, kk)| {
                            weight(r, kk, t) as f64 * src[kk * stride + starts[t] + q] as f64
                        })
                        .sum();
                    let got = out[r * places + q] as f64;
                    assert!(
                        (got - want).abs() < 1e-5,
                        "m {m} r {r} q {q}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
