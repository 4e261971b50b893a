//! Stride-1 convolutions without a patch matrix: each tap is one matrix product with a
//! shifted view of the padded images.
//!
//! A chunk's images are laid out, channel by channel, on one zero-padded grid: rows of
//! width W + p_w (the W pixels of an image row, then p_w zeros that are the right padding of
//! that row and the left padding of the next), and the images stacked with p_h zero rows
//! between them (the bottom padding of one, the top padding of the next). Output (n, i, j) is
//! the grid's place q = (n·(H + p_h) + i)·(W + p_w) + j, and tap (a, b) reads place q + δ_ab,
//!
//!   δ_ab = (a·d_h − p_h)·(W + p_w) + b·d_w − p_w,
//!
//! the same shift for every output: the tap's patch row is the grid itself, read from δ_ab on.
//! With W_ab = W[:, :, a, b] (O × C), X̃ the input grid, G̃ the upstream gradient on the
//! output places (zero elsewhere):
//!
//!   Ỹ[:, q]   = b + Σ_ab W_ab · X̃[:, q + δ_ab]
//!   ∂W_ab     = Σ_q G̃[:, q] · X̃[:, q + δ_ab]ᵀ
//!   ∂X̃[:, r]  = Σ_ab W_abᵀ · G̃[:, r − δ_ab]
//!
//! Every place is computed, outputs or not (the wrap-around columns j ≥ Wo and the gap rows
//! i ≥ Ho are dropped afterwards: 7% more places than outputs at 28 × 28 with p = 1, 15% at
//! 14 × 14), and the products read the shifted views in place (gemm takes any row stride):
//! nothing is copied but the grids, where im2col writes kh·kw copies of the images and col2im
//! reads them back. Where the CPU has AVX-512, Ỹ and ∂X̃ are [`taps`]' one pass over all the
//! taps instead of one product per tap (each output written once, nothing packed: the DDPM
//! U-Net's forward convolutions went from about 250 to 340 GFLOP/s on 2 cores); ∂W stays
//! gemm's, whose inner side (the places) is long. Two alternatives were measured on the DDPM's step (2026-12-03) and not
//! kept: running every tap on one L2-sized block of columns before the next block (the same
//! numbers; no faster: the chunks of images already fit the cache), and grids with the
//! channels last, where a row of kw taps is one product of inner size kw·C (its products
//! took 52% of the step against 66%, but moving the channels to the last axis and back took
//! 16% against 8%: within the run-to-run noise overall). Taps only read the zero padding or
//! their own image when p ≤ d·(k − 1) on both axes (the output then fits the grid's rows);
//! other geometries, strides above 1 and layers with few input channels take im2col.

use super::im2col::{channel_sums, each_chunk, parts, sized, sum_parts, with_scratch, Geometry};
use super::taps::{self, Packed};
use crate::buffer::{slots, written};
use crate::matmul::{matmul_into, Mat};
use std::mem::MaybeUninit;

/// Layers with fewer input channels than this take im2col (whose single product has an
/// inner size of C·kh·kw where the grid's have C).
const MIN_CHANNELS: usize = 8;

/// The grid of one chunk of images.
#[derive(Clone, Copy, Debug)]
pub(super) struct Grid {
    /// W + p_w, the places per row.
    width: usize,
    /// H + p_h, the rows per image.
    rows: usize,
    /// p_h·(W + p_w) + p_w = −min δ: zero places before the first image's first pixel.
    lead: usize,
    /// max δ = (d_h(kh − 1) − p_h)·(W + p_w) + d_w(kw − 1) − p_w: zero places after the last.
    reach: usize,
    /// Whether the products run as [`taps`]' one pass over all taps (where the CPU has it),
    /// else as one matrix product per tap.
    tiled: bool,
}

impl Grid {
    /// The grid of `g`, when its taps read only their own image or the padding.
    pub(super) fn of(g: &Geometry) -> Option<Grid> {
        let fits = (0..2).all(|a| g.padding[a] <= g.dilation[a] * (g.kernel[a] - 1));
        if g.stride != [1, 1] || !fits {
            return None;
        }
        let ([h, w], [p_h, p_w]) = (g.image, g.padding);
        let width = w + p_w;
        let reach_rows = g.dilation[0] * (g.kernel[0] - 1) - p_h;
        let reach_cols = g.dilation[1] * (g.kernel[1] - 1) - p_w;
        Some(Grid {
            width,
            rows: h + p_h,
            lead: p_h * width + p_w,
            reach: reach_rows * width + reach_cols,
            tiled: taps::available(),
        })
    }

    /// The same grid with one matrix product per tap (what CPUs without the tap kernel run).
    #[cfg(test)]
    pub(super) fn per_tap(self) -> Grid {
        Grid {
            tiled: false,
            ..self
        }
    }

    /// The grid of `g` when it is also faster than im2col: enough input channels.
    pub(super) fn faster(g: &Geometry) -> Option<Grid> {
        Grid::of(g).filter(|_| g.channels >= MIN_CHANNELS)
    }

    /// Places of `n` images: the columns of every product.
    fn places(&self, n: usize) -> usize {
        n * self.rows * self.width
    }

    /// Elements of one channel's grid of `n` images: the places, with `lead` zeros before them
    /// and `reach` after (an input grid) or `reach` before and `lead` after (the upstream
    /// gradient's, read at r − δ_ab).
    fn len(&self, n: usize) -> usize {
        self.lead + self.places(n) + self.reach
    }

    /// δ_ab + lead ≥ 0: where tap (a, b)'s view of an input grid starts.
    fn tap_start(&self, g: &Geometry, a: usize, b: usize) -> usize {
        (a * g.dilation[0]) * self.width + b * g.dilation[1]
    }

    /// Each tap's view start, in the order of W's last two axes.
    fn starts(&self, g: &Geometry) -> Vec<usize> {
        self.taps(g).collect()
    }

    /// Taps in the order of W's last two axes, with their view's start.
    fn taps(&self, g: &Geometry) -> impl Iterator<Item = usize> + '_ {
        let [kh, kw] = g.kernel;
        let g = *g;
        (0..kh * kw).map(move |t| self.tap_start(&g, t / kw, t % kw))
    }

    /// Writes `m` channels of `n` images [n, m, h, w] onto grids [m, len] (each one's place 0
    /// at `start`), zeros everywhere else: every element written once.
    #[allow(clippy::too_many_arguments)]
    fn spread(
        &self,
        grids: &mut [f32],
        len: usize,
        start: usize,
        x: &[f32],
        n: usize,
        m: usize,
        [h, w]: [usize; 2],
    ) {
        let image_places = self.rows * self.width;
        for (c, grid) in grids.chunks_exact_mut(len).take(m).enumerate() {
            let (lead, rest) = grid.split_at_mut(start);
            lead.fill(0.0);
            let (images, tail) = rest.split_at_mut(n * image_places);
            tail.fill(0.0);
            for (k, places) in images.chunks_exact_mut(image_places).enumerate() {
                let plane = &x[(k * m + c) * h * w..][..h * w];
                let (rows, gap) = places.split_at_mut(h * self.width);
                for (row, pixels) in rows.chunks_exact_mut(self.width).zip(plane.chunks_exact(w)) {
                    // the row's pixels, then its zeros (the padding between it and the next)
                    copy_short(row, pixels);
                    row[w..].iter_mut().for_each(|z| *z = 0.0);
                }
                gap.fill(0.0);
            }
        }
    }

    /// gt [places, m] = grids [m, len]ᵀ on the first `places` places of each channel.
    fn transpose(&self, gt: &mut [f32], grids: &[f32], len: usize, places: usize, m: usize) {
        const B: usize = 16;
        for q0 in (0..places).step_by(B) {
            let qn = B.min(places - q0);
            for ch in 0..m {
                let src = &grids[ch * len + q0..][..qn];
                for (k, v) in src.iter().enumerate() {
                    gt[(q0 + k) * m + ch] = *v;
                }
            }
        }
    }

    /// The adjoint of `spread` restricted to the pixels: copies the [h, w] pixels of each
    /// image from grids [m, len] (place 0 at index 0 of each) into out [n, m, h, w], adding
    /// `bias[c]` to channel c's when given.
    #[allow(clippy::too_many_arguments)]
    fn gather(
        &self,
        out: &mut [MaybeUninit<f32>],
        grids: &[f32],
        len: usize,
        m: usize,
        [h, w]: [usize; 2],
        bias: Option<&[f32]>,
    ) {
        for (k, image) in out.chunks_exact_mut(m * h * w).enumerate() {
            for (c, plane) in image.chunks_exact_mut(h * w).enumerate() {
                let base = c * len + k * self.rows * self.width;
                let rows = plane.chunks_exact_mut(w).enumerate();
                match bias {
                    Some(b) => rows.for_each(|(y, row)| {
                        add_short(row, &grids[base + y * self.width..][..w], b[c])
                    }),
                    None => rows
                        .for_each(|(y, row)| copy_short(row, &grids[base + y * self.width..][..w])),
                }
            }
        }
    }
}

/// An element of a buffer the grid writes: an f32, or one not yet written (an output).
trait Slot {
    fn put(&mut self, v: f32);
}

impl Slot for f32 {
    #[inline(always)]
    fn put(&mut self, v: f32) {
        *self = v;
    }
}

impl Slot for MaybeUninit<f32> {
    #[inline(always)]
    fn put(&mut self, v: f32) {
        self.write(v);
    }
}

/// Copies `src` into the start of `dst` (a row of a few dozen floats) in moves of a fixed
/// 16 or 4 elements, the last one overlapping the one before: a call of memcpy per row cost
/// more than the copy.
#[inline(always)]
fn copy_short<T: Slot>(dst: &mut [T], src: &[f32]) {
    #[inline(always)]
    fn by<const L: usize, T: Slot>(dst: &mut [T], src: &[f32]) {
        covering::<L>(src.len(), |i| {
            let to: &mut [T; L] = (&mut dst[i..i + L]).try_into().expect("L elements");
            let from: &[f32; L] = src[i..i + L].try_into().expect("L elements");
            to.iter_mut().zip(from).for_each(|(t, f)| t.put(*f));
        });
    }
    match src.len() {
        16.. => by::<16, T>(dst, src),
        4.. => by::<4, T>(dst, src),
        n => dst[..n].iter_mut().zip(src).for_each(|(d, s)| d.put(*s)),
    }
}

/// Writes `src + b` into the start of `dst` the same way.
#[inline(always)]
fn add_short<T: Slot>(dst: &mut [T], src: &[f32], b: f32) {
    #[inline(always)]
    fn by<const L: usize, T: Slot>(dst: &mut [T], src: &[f32], b: f32) {
        covering::<L>(src.len(), |i| {
            let to: &mut [T; L] = (&mut dst[i..i + L]).try_into().expect("L elements");
            let from: &[f32; L] = src[i..i + L].try_into().expect("L elements");
            to.iter_mut().zip(from).for_each(|(t, f)| t.put(*f + b));
        });
    }
    match src.len() {
        16.. => by::<16, T>(dst, src, b),
        4.. => by::<4, T>(dst, src, b),
        n => dst[..n]
            .iter_mut()
            .zip(src)
            .for_each(|(d, s)| d.put(*s + b)),
    }
}

/// Calls `at(i)` at the starts of blocks of L elements that cover 0..n ≥ L, the last block
/// overlapping the one before when L does not divide n.
#[inline(always)]
fn covering<const L: usize>(n: usize, mut at: impl FnMut(usize)) {
    (0..n / L).for_each(|b| at(b * L));
    if !n.is_multiple_of(L) {
        at(n - L);
    }
}

/// W_ab: the O × C matrix of tap t = a·kw + b of w [O, C, kh, kw].
fn tap_weights(w: &[f32], o: usize, c: usize, taps: usize, t: usize) -> Mat<'_> {
    Mat::strided(&w[t..], o, c, c * taps, taps)
}

/// conv2d on the grid: x [N, C, H, W], w [O, C, kh, kw], b [O] → y [N, O, Ho, Wo].
pub(super) fn conv2d(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    o: usize,
    g: &Geometry,
    grid: &Grid,
) -> Vec<f32> {
    let (c, taps, image) = (g.channels, g.kernel[0] * g.kernel[1], g.image_len());
    // W_t[o, c] for the tap kernel, where the CPU has it
    let packed = grid.tiled.then(|| Packed::filters(w, o, c, taps));
    let run = |y: &mut [MaybeUninit<f32>]| {
        each_chunk(g, parts(Some(y), g, o * g.spatial()), |r, yc, par| {
            let n = r.len();
            let (places, len) = (grid.places(n), grid.len(n));
            with_scratch(|s| {
                let xg = sized(&mut s.cols, c * len);
                grid.spread(
                    xg,
                    len,
                    grid.lead,
                    &x[r.start * image..r.end * image],
                    n,
                    c,
                    g.image,
                );
                // Ỹ = Σ_ab W_ab · X̃[:, q + δ_ab], then Y = Ỹ + b on the output places
                let yg = sized(&mut s.product, o * places);
                match &packed {
                    Some(p) => taps::products(slots(yg), places, xg, len, &grid.starts(g), p, None),
                    None => {
                        for (t, start) in grid.taps(g).enumerate() {
                            let view = Mat::strided(&xg[start..], c, places, len, 1);
                            let w_t = tap_weights(w, o, c, taps, t);
                            matmul_into(yg, t > 0, w_t, view, par);
                        }
                    }
                }
                grid.gather(yc.expect("an output part"), yg, places, o, g.out, b);
            })
        });
    };
    // SAFETY: the parts cover y, and each chunk's gather writes every element of its part.
    unsafe { written(g.batch * o * g.spatial(), run) }
}

/// The gradients [∂x, ∂w, ∂b] of [`conv2d`] for the upstream gradient dy [N, O, Ho, Wo]; each
/// only when asked for.
pub(super) fn conv2d_backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    o: usize,
    g: &Geometry,
    grid: &Grid,
    want: [bool; 3],
) -> [Option<Vec<f32>>; 3] {
    let (c, taps, image, spatial) = (
        g.channels,
        g.kernel[0] * g.kernel[1],
        g.image_len(),
        g.spatial(),
    );
    let (mut dx, mut dw) = (None, None);
    // W_tᵀ[c, o] for the tap kernel, where the CPU has it and ∂x is asked for
    let packed = (want[0] && grid.tiled).then(|| Packed::transposed(w, o, c, taps));
    let run = |dxs: Vec<Option<&mut [MaybeUninit<f32>]>>| {
        sum_parts(each_chunk(g, dxs, |r, dxc, par| {
            let n = r.len();
            let (places, len) = (grid.places(n), grid.len(n));
            with_scratch(|s| {
                // G̃: place q at index reach + q, so that every r − δ_ab is an index
                let gg = sized(&mut s.swapped, o * len);
                let dyc = &dy[r.start * o * spatial..r.end * o * spatial];
                grid.spread(gg, len, grid.reach, dyc, n, o, g.out);
                if let Some(dxc) = dxc {
                    // ∂X̃[:, r] = Σ_ab W_abᵀ · G̃[:, r − δ_ab]
                    // index of G̃[:, r − δ_ab] = reach + r − (start − lead)
                    let from = |start: usize| grid.reach + grid.lead - start;
                    let dxg = sized(&mut s.product, c * places);
                    match &packed {
                        Some(p) => {
                            let starts: Vec<usize> = grid.taps(g).map(from).collect();
                            taps::products(slots(dxg), places, gg, len, &starts, p, None);
                        }
                        None => {
                            for (t, start) in grid.taps(g).enumerate() {
                                let view = Mat::strided(&gg[from(start)..], o, places, len, 1);
                                let w_t = tap_weights(w, o, c, taps, t).t();
                                matmul_into(dxg, t > 0, w_t, view, par);
                            }
                        }
                    }
                    grid.gather(dxc, dxg, places, c, g.image, None);
                }
                want[1].then(|| {
                    // ∂W_abᵀ = Σ_q X̃[:, q + δ_ab] · G̃ᵀ[q, :], tap by tap into [kh·kw, C, O],
                    // with G̃ᵀ [places, O] channels-last: the product's vectorised side is
                    // then contiguous in both operands, and nothing is packed per tap
                    let gt = sized(&mut s.product, places * o);
                    grid.transpose(gt, &gg[grid.reach..], len, places, o);
                    let xg = sized(&mut s.cols, c * len);
                    let xc = &x[r.start * image..r.end * image];
                    grid.spread(xg, len, grid.lead, xc, n, c, g.image);
                    let upstream = Mat::new(gt, places, o);
                    let mut by_tap = vec![0.0f32; taps * o * c];
                    for (dw_t, start) in by_tap.chunks_exact_mut(o * c).zip(grid.taps(g)) {
                        let view = Mat::strided(&xg[start..], c, places, len, 1);
                        matmul_into(dw_t, false, view, upstream, par);
                    }
                    by_tap
                })
            })
        }))
        .map(|by_tap| {
            // the chunks' sum [kh·kw, C, O] → [O, C, kh·kw]
            let mut dw = vec![0.0f32; w.len()];
            for (oc, dw_oc) in dw.chunks_exact_mut(taps).enumerate() {
                let (oi, ci) = (oc / c, oc % c);
                for (t, d) in dw_oc.iter_mut().enumerate() {
                    *d = by_tap[(t * c + ci) * o + oi];
                }
            }
            dw
        })
    };
    if want[0] {
        // SAFETY: the parts cover ∂x, and each chunk's gather writes every element of its part.
        dx = Some(unsafe { written(x.len(), |d| dw = run(parts(Some(d), g, image))) });
    } else if want[1] {
        dw = run(parts(None, g, image));
    }
    let db = want[2].then(|| channel_sums(dy, g.batch, o, spatial));
    [dx, dw, db]
}
