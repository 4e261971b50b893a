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

use std::mem::MaybeUninit;

/// Places per tile.
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
    /// A convolution's filters w [O, C, taps] as W_t[o, c]: the products give its output.
    pub(super) fn filters(w: &[f32], o: usize, c: usize, taps: usize) -> Packed {
        Packed::new(o, c, taps, |r, k, t| w[(r * c + k) * taps + t])
    }

    /// The same filters transposed, W_tᵀ[c, o]: the products give its input gradient (read
    /// from the upstream gradient's grid at the mirrored starts).
    pub(super) fn transposed(w: &[f32], o: usize, c: usize, taps: usize) -> Packed {
        Packed::new(c, o, taps, |r, k, t| w[(k * c + r) * taps + t])
    }

    /// Channels k of the products' source.
    pub(super) fn inputs(&self) -> usize {
        self.k
    }

    /// Rows r of the products' output.
    pub(super) fn rows(&self) -> usize {
        self.blocks
            .last()
            .map_or(0, |&(first, rows, _)| first + rows)
    }

    /// Packs W_t[r, k] = `weight(r, k, t)` for r < m, k < `k`, t < `taps`.
    fn new(m: usize, k: usize, taps: usize, weight: impl Fn(usize, usize, usize) -> f32) -> Packed {
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

/// out[r, q] = b_r + Σ_t Σ_k W_t[r, k] · src[k·`src_stride` + starts[t] + q] for every row r
/// of `w` and q < `places`, with b the bias when given (else 0); row r of `out` starts at
/// r·`places`. The last tile of a row is masked to the places left.
///
/// Panics unless [`available`], and unless `src` holds every element read.
pub(super) fn products(
    out: &mut [MaybeUninit<f32>],
    places: usize,
    src: &[f32],
    src_stride: usize,
    starts: &[usize],
    w: &Packed,
    bias: Option<&[f32]>,
) {
    assert!(available(), "the tap kernel needs AVX-512F");
    assert_eq!(starts.len(), w.taps, "one start per tap");
    let rows = w.rows();
    assert_eq!(out.len(), rows * places, "output size");
    assert!(bias.is_none_or(|b| b.len() == rows), "one bias per row");
    let reach = starts.iter().max().copied().unwrap_or(0);
    assert!(
        w.k == 0 || places == 0 || (w.k - 1) * src_stride + reach + places <= src.len(),
        "source size"
    );
    #[cfg(target_arch = "x86_64")]
    for q in (0..places).step_by(TILE) {
        for &(first, rows, at) in &w.blocks {
            let tile = Tile {
                out: out[first * places + q..].as_mut_ptr(),
                out_stride: places,
                lanes: TILE.min(places - q),
                src: src[q..].as_ptr(),
                src_stride,
                starts,
                k: w.k,
                weights: w.data[at..].as_ptr(),
                bias: bias.map(|b| &b[first..first + rows]),
            };
            // SAFETY: the CPU has AVX-512F (asserted); the tile's rows of `out` hold `lanes`
            // places from q (q + lanes ≤ places, rows·places = out.len()), the loads and
            // stores are masked to those lanes, and every source element read,
            // (k−1)·src_stride + starts[t] + q + lanes − 1 at most, was checked to be in
            // `src`; the block's weights are rows·k·taps from `at`.
            unsafe {
                match (rows, tile.lanes == TILE) {
                    (8, true) => tile.run::<8, true>(),
                    (8, false) => tile.run::<8, false>(),
                    (4, true) => tile.run::<4, true>(),
                    (4, false) => tile.run::<4, false>(),
                    (2, true) => tile.run::<2, true>(),
                    (2, false) => tile.run::<2, false>(),
                    (_, true) => tile.run::<1, true>(),
                    (_, false) => tile.run::<1, false>(),
                }
            }
        }
    }
}

/// One tile's operands (raw pointers checked by [`products`]).
#[cfg(target_arch = "x86_64")]
struct Tile<'a> {
    out: *mut MaybeUninit<f32>,
    out_stride: usize,
    /// Places of the tile (TILE, or fewer at the end of a row).
    lanes: usize,
    src: *const f32,
    src_stride: usize,
    starts: &'a [usize],
    k: usize,
    weights: *const f32,
    bias: Option<&'a [f32]>,
}

#[cfg(target_arch = "x86_64")]
impl Tile<'_> {
    /// The tile's R rows × 48 places: acc[r][v] = b_r + Σ_t Σ_k W_t[r, k] · S[k, q + s_t + 16v];
    /// a tile that is not `FULL` loads and stores only its `lanes` places (masked).
    #[target_feature(enable = "avx512f")]
    unsafe fn run<const R: usize, const FULL: bool>(&self) {
        use std::arch::x86_64::*;
        // the lanes of each vector that are places of the tile
        let mask: [__mmask16; 3] = std::array::from_fn(|v| {
            let n = self.lanes.saturating_sub(16 * v).min(16);
            ((1u32 << n) - 1) as __mmask16
        });
        let load = |p: *const f32, v: usize| match FULL {
            true => _mm512_loadu_ps(p),
            false => _mm512_maskz_loadu_ps(mask[v], p),
        };
        let mut acc: [[__m512; 3]; R] =
            std::array::from_fn(|r| [_mm512_set1_ps(self.bias.map_or(0.0, |b| b[r])); 3]);
        let mut w = self.weights;
        for &start in self.starts {
            let mut s = self.src.add(start);
            for _ in 0..self.k {
                let x: [__m512; 3] = std::array::from_fn(|v| load(s.add(16 * v), v));
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
            let o = self.out.add(r * self.out_stride) as *mut f32;
            for (v, a) in acc.iter().enumerate() {
                match FULL {
                    true => _mm512_storeu_ps(o.add(16 * v), *a),
                    false => _mm512_mask_storeu_ps(o.add(16 * v), mask[v], *a),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::slots;

    /// The kernel's sums (plus the bias) equal the definition's (to rounding), for row counts
    /// that take every block size and places that end in a partial tile.
    #[test]
    fn products_are_the_sums_over_taps_and_channels() {
        if !available() {
            return;
        }
        let (k, places, stride) = (5, 2 * TILE + 21, 2 * TILE + 61);
        let starts = [0, 1, 2, 17, 39];
        let src: Vec<f32> = (0..k * stride)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.01)
            .collect();
        for m in [1, 3, 8, 15] {
            let weight = |r: usize, kk: usize, t: usize| (r * 7 + kk * 3 + t) as f32 * 0.1 - 1.0;
            let w = Packed::new(m, k, starts.len(), weight);
            let bias: Vec<f32> = (0..m).map(|r| r as f32 * 0.5 - 1.0).collect();
            let mut out = vec![f32::NAN; m * places];
            products(
                slots(&mut out),
                places,
                &src,
                stride,
                &starts,
                &w,
                Some(&bias),
            );
            for r in 0..m {
                for q in 0..places {
                    let want: f64 = bias[r] as f64
                        + (0..starts.len())
                            .flat_map(|t| (0..k).map(move |kk| (t, kk)))
                            .map(|(t, kk)| {
                                weight(r, kk, t) as f64 * src[kk * stride + starts[t] + q] as f64
                            })
                            .sum::<f64>();
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
