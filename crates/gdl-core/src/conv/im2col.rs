//! A 2-D convolution as one matrix product over the whole batch (f32 host slices).
//!
//! For images x [N, C, H, W] and a kernel of kh × kw taps at stride s, padding p and
//! dilation d, the patch matrix has one row per tap (c, a, b) and one column per output
//! position (n, i, j) of the batch:
//!
//!   cols[(c, a, b), (n, i, j)] = x[n, c, i·s − p + a·d, j·s − p + b·d]   (0 outside the image)
//!
//! so that a convolution with weights W [O, C·kh·kw] is the product Y = W · cols, an
//! [O, N·Ho·Wo] matrix (`im2col`). `col2im` is the adjoint of `im2col`: it adds every entry
//! of a patch matrix back into the pixel it was read from. Then, with G the upstream
//! gradient written as [O, N·Ho·Wo]:
//!
//! * conv2d:            Y = W · cols(x),      ∂x = col2im(Wᵀ · G),   ∂W = G · cols(x)ᵀ
//! * conv_transpose2d:  Y = col2im(Wᵀ · X),   ∂X = W · cols(G),      ∂W = X · cols(G)ᵀ
//!
//! (for the transposed convolution W is [C_in, O·kh·kw], X the input as [C_in, N·H·W] and the
//! "image" side of the geometry is the output). The batch is cut into chunks of a few images
//! (at least eight chunks, each patch matrix small enough to stay in a core's cache), one
//! chunk per task of the thread pool: one product per chunk instead of one per image keeps
//! the matrices wide enough for the GEMM kernel, and one task per chunk keeps each core on
//! its own chunk instead of waking the other for every product and copy.

use crate::buffer::zeroed;
use rayon::prelude::*;

use crate::matmul::{matmul_into, Mat};
use crate::simd::lane_sum;

/// The shapes of one convolution: the image side (`channels` × `image`), the kernel, and
/// the grid of kernel positions `out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// N, the number of images.
    pub batch: usize,
    /// C, the channels of the image side (a conv's input, a transposed conv's output).
    pub channels: usize,
    /// [H, W] of the image side.
    pub image: [usize; 2],
    /// [kh, kw].
    pub kernel: [usize; 2],
    /// [s_h, s_w].
    pub stride: [usize; 2],
    /// [p_h, p_w], the same on both sides.
    pub padding: [usize; 2],
    /// [d_h, d_w].
    pub dilation: [usize; 2],
    /// [Ho, Wo], the kernel positions (a conv's output, a transposed conv's input).
    pub out: [usize; 2],
}

impl Geometry {
    /// C·kh·kw, the rows of the patch matrix.
    pub fn taps(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }

    /// N·Ho·Wo, the columns of the patch matrix.
    pub fn positions(&self) -> usize {
        self.batch * self.out[0] * self.out[1]
    }

    /// The kernel positions of a convolution of `image` (⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1).
    pub fn conv_out(
        image: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
    ) -> usize {
        (image + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    }

    /// The output columns j whose tap b lands inside a row of width w, and the first pixel.
    fn span(&self, axis: usize, tap: usize) -> (usize, usize, isize) {
        let (len, size) = (self.out[axis], self.image[axis]);
        let (s, p, d) = (self.stride[axis], self.padding[axis], self.dilation[axis]);
        let first = (tap * d) as isize - p as isize; // pixel of position 0
                                                     // j ≥ lo ⟺ j·s + first ≥ 0;  j < hi ⟺ j·s + first < size
        let lo = if first >= 0 {
            0
        } else {
            ((-first) as usize).div_ceil(s)
        };
        let hi = if first >= size as isize {
            0
        } else {
            (((size as isize - first) as usize).div_ceil(s)).min(len)
        };
        (lo.min(hi), hi, first)
    }
}

/// Where each entry of one image's patch rows reads its zero-padded plane: tap (a, b) at
/// position (i, j) reads padded pixel (i·s + a·d, j·s + b·d) of the plane padded by p on
/// every side, [H + 2p, W + 2p]. One flat loop per tap over the table replaces a loop per row
/// of positions, whose bookkeeping cost more than the copies on small images (a 3×3 output
/// has rows of three). At stride 1 with rows as wide as the image's and at least
/// [`SHIFTED_ROWS`] long there is none: each tap is then one shifted copy of the image
/// (im2col) and each of its rows one vectorised add (col2im). Built once per convolution and
/// shared by its chunks (it does not depend on the batch).
struct Gather {
    /// [H + 2p_h, W + 2p_w].
    padded: [usize; 2],
    /// index[(a·kw + b)·Ho·Wo + i·Wo + j]: the padded pixel's place, row-major.
    index: Vec<u32>,
}

/// Stride-1 rows at least this long (as wide as the image's) are copied and added row by row
/// without the table; shorter ones (the DCGAN generator's 7 × 7 maps) take it.
const SHIFTED_ROWS: usize = 16;

impl Gather {
    fn of(g: &Geometry) -> Option<Gather> {
        if g.stride == [1, 1] && g.out[1] == g.image[1] && g.out[1] >= SHIFTED_ROWS {
            return None;
        }
        let padded = [0, 1].map(|d| g.image[d] + 2 * g.padding[d]);
        let ([kh, kw], [oh, ow], [sh, sw], [dh, dw]) = (g.kernel, g.out, g.stride, g.dilation);
        let mut index = Vec::with_capacity(kh * kw * oh * ow);
        for a in 0..kh {
            for b in 0..kw {
                for i in 0..oh {
                    for j in 0..ow {
                        let (y, x) = (i * sh + a * dh, j * sw + b * dw);
                        index.push((y * padded[1] + x) as u32);
                    }
                }
            }
        }
        Some(Gather { padded, index })
    }

    fn padded_len(&self) -> usize {
        self.padded[0] * self.padded[1]
    }

    /// Writes `plane` [H, W] into the middle of `padded`, zeros around it.
    fn pad(&self, padded: &mut [f32], plane: &[f32], g: &Geometry) {
        let ([ph, pw], wp, w) = (g.padding, self.padded[1], g.image[1]);
        padded[..ph * wp].fill(0.0);
        padded[(ph + g.image[0]) * wp..].fill(0.0);
        for (dst, src) in padded[ph * wp..]
            .chunks_exact_mut(wp)
            .zip(plane.chunks_exact(w))
        {
            dst[..pw].fill(0.0);
            dst[pw..pw + w].copy_from_slice(src);
            dst[pw + w..].fill(0.0);
        }
    }

    /// Copies the middle of `padded` into `plane` [H, W]: the adjoint of `pad`.
    fn unpad(&self, plane: &mut [f32], padded: &[f32], g: &Geometry) {
        let ([ph, pw], wp, w) = (g.padding, self.padded[1], g.image[1]);
        for (dst, src) in plane
            .chunks_exact_mut(w)
            .zip(padded[ph * wp..].chunks_exact(wp))
        {
            dst.copy_from_slice(&src[pw..pw + w]);
        }
    }
}

/// Writes the patch matrix [C·kh·kw, N·Ho·Wo] of images x [N, C, H, W] into `cols`: every
/// element, zeros where a tap falls outside the image (so `cols` need not be cleared first).
/// Spread over the thread pool when `par`.
fn im2col_into(cols: &mut [f32], x: &[f32], g: &Geometry, table: Option<&Gather>, par: bool) {
    let [h, w] = g.image;
    let [kh, kw] = g.kernel;
    let [oh, ow] = g.out;
    assert_eq!(x.len(), g.batch * g.channels * h * w, "im2col: image size");
    let n_pos = g.positions();
    assert_eq!(cols.len(), g.taps() * n_pos, "im2col: patch matrix size");
    let channel = |(c, block): (usize, &mut [f32])| {
        if let Some(table) = table {
            // Every entry of an image's patch rows is read through the table.
            let mut padded = vec![0.0f32; table.padded_len()];
            for n in 0..g.batch {
                table.pad(&mut padded, &x[(n * g.channels + c) * h * w..][..h * w], g);
                for (t, from) in table.index.chunks_exact(oh * ow).enumerate() {
                    let row = &mut block[t * n_pos + n * oh * ow..][..oh * ow];
                    row.iter_mut()
                        .zip(from)
                        .for_each(|(d, &k)| *d = padded[k as usize]);
                }
            }
            return;
        }
        // At stride 1 with rows as wide as the image's, position (i, j) of tap (a, b) reads
        // pixel (i + y0, j + x0): element d of the tap's block is pixel d + y0·w + x0, one
        // copy for all the rows, then zeros where the tap falls outside the image.
        for a in 0..kh {
            let (i_lo, i_hi, y0) = g.span(0, a);
            for b in 0..kw {
                let (j_lo, j_hi, x0) = g.span(1, b);
                let row = &mut block[(a * kw + b) * n_pos..][..n_pos];
                for (n, positions) in row.chunks_exact_mut(oh * ow).enumerate() {
                    let plane = &x[(n * g.channels + c) * h * w..][..h * w];
                    if i_lo == i_hi || j_lo == j_hi {
                        positions.fill(0.0);
                        continue;
                    }
                    let (lo, hi) = (i_lo * ow + j_lo, (i_hi - 1) * ow + j_hi);
                    let shift = y0 * w as isize + x0;
                    let src = (lo as isize + shift) as usize..(hi as isize + shift) as usize;
                    positions[lo..hi].copy_from_slice(&plane[src]);
                    positions[..lo].fill(0.0);
                    positions[hi..].fill(0.0);
                    for i in i_lo..i_hi {
                        let dst = &mut positions[i * ow..][..ow];
                        dst[..j_lo].iter_mut().for_each(|v| *v = 0.0);
                        dst[j_hi..].iter_mut().for_each(|v| *v = 0.0);
                    }
                }
            }
        }
    };
    if par {
        cols.par_chunks_mut(kh * kw * n_pos)
            .enumerate()
            .for_each(channel);
    } else {
        cols.chunks_mut(kh * kw * n_pos)
            .enumerate()
            .for_each(channel);
    }
}

/// The patch matrix [C·kh·kw, N·Ho·Wo] of images x [N, C, H, W].
pub fn im2col(x: &[f32], g: &Geometry) -> Vec<f32> {
    let mut cols = zeroed(g.taps() * g.positions());
    im2col_into(&mut cols, x, g, Gather::of(g).as_ref(), true);
    cols
}

/// The adjoint of [`im2col_into`]: writes images [N, C, H, W] into `img` where each pixel is
/// the sum of the patch-matrix entries read from it (plus `bias[c]` when given). One plane
/// (n, c) per task when `par`.
fn col2im_into(
    img: &mut [f32],
    cols: &[f32],
    g: &Geometry,
    table: Option<&Gather>,
    bias: Option<&[f32]>,
    par: bool,
) {
    let [h, w] = g.image;
    let [kh, kw] = g.kernel;
    let [oh, ow] = g.out;
    let n_pos = g.positions();
    assert_eq!(cols.len(), g.taps() * n_pos, "col2im: patch matrix size");
    assert_eq!(
        img.len(),
        g.batch * g.channels * h * w,
        "col2im: image size"
    );
    let plane = |(k, plane): (usize, &mut [f32])| {
        let (n, c) = (k / g.channels, k % g.channels);
        let start = bias.map_or(0.0, |b| b[c]);
        let block = &cols[c * kh * kw * n_pos..][..kh * kw * n_pos];
        if let Some(table) = table {
            // Each tap's entries add into the padded plane (from the bias) through the table,
            // in tap order; then every image pixel is copied out of it.
            let mut padded = vec![start; table.padded_len()];
            for (t, to) in table.index.chunks_exact(oh * ow).enumerate() {
                let row = &block[t * n_pos + n * oh * ow..][..oh * ow];
                row.iter()
                    .zip(to)
                    .for_each(|(s, &k)| padded[k as usize] += s);
            }
            table.unpad(plane, &padded, g);
            return;
        }
        // Stride 1, rows as wide as the image's: each row of a tap adds to a run of an image
        // row.
        plane.fill(start);
        for a in 0..kh {
            let (i_lo, i_hi, y0) = g.span(0, a);
            for b in 0..kw {
                let (j_lo, j_hi, x0) = g.span(1, b);
                let first = (x0 + j_lo as isize) as usize;
                let row = &block[(a * kw + b) * n_pos..][..n_pos];
                for i in i_lo..i_hi {
                    // stride 1: row i of the tap adds to row i + y0 from column x0 + j_lo
                    let y = (y0 + i as isize) as usize;
                    let src = &row[(n * oh + i) * ow..][j_lo..j_hi];
                    let dst = &mut plane[y * w + first..][..src.len()];
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                }
            }
        }
    };
    if par {
        img.par_chunks_mut(h * w).enumerate().for_each(plane);
    } else {
        img.chunks_mut(h * w).enumerate().for_each(plane);
    }
}

/// The adjoint of [`im2col`]: images [N, C, H, W] where each pixel is the sum of the
/// patch-matrix entries read from it (plus `bias[c]` when given).
pub fn col2im(cols: &[f32], g: &Geometry, bias: Option<&[f32]>) -> Vec<f32> {
    let mut img = zeroed(g.batch * g.image_len());
    col2im_into(&mut img, cols, g, Gather::of(g).as_ref(), bias, true);
    img
}

/// out = x [a, b, inner] as [b, a, inner].
pub fn swap_leading_into(out: &mut [f32], x: &[f32], a: usize, b: usize, inner: usize, par: bool) {
    assert_eq!(x.len(), a * b * inner, "swap_leading: size");
    assert_eq!(out.len(), x.len(), "swap_leading: destination size");
    let row = |(j, dst): (usize, &mut [f32])| {
        for i in 0..a {
            dst[i * inner..][..inner].copy_from_slice(&x[(i * b + j) * inner..][..inner]);
        }
    };
    if par {
        out.par_chunks_mut(a * inner).enumerate().for_each(row);
    } else {
        out.chunks_mut(a * inner).enumerate().for_each(row);
    }
}

/// At most this many patch-matrix elements (2 MiB) are built at a time: the batch is cut into
/// chunks of images whose patch matrix stays in a core's cache instead of streaming through
/// memory (a 64-image patch matrix of a 3 × 3 conv at 24 × 24 is 42 MB).
const CHUNK_ELEMENTS: usize = 1 << 19;

/// The batch is cut into at least this many chunks (when it has that many images), so that
/// every core has work until the end. Chunks depend on the shapes only, never on the number
/// of threads: the sums over chunks (∂W) add up in the same order on every machine.
const MIN_CHUNKS: usize = 8;

impl Geometry {
    /// C·H·W, the elements of one image.
    pub(super) fn image_len(&self) -> usize {
        self.channels * self.image[0] * self.image[1]
    }

    /// Ho·Wo, the kernel positions on one image.
    pub(super) fn spatial(&self) -> usize {
        self.out[0] * self.out[1]
    }

    /// The same shapes for `batch` images.
    pub(super) fn with_batch(&self, batch: usize) -> Geometry {
        Geometry { batch, ..*self }
    }

    /// Images per chunk.
    fn chunk_images(&self) -> usize {
        let by_cache = CHUNK_ELEMENTS / (self.taps() * self.spatial()).max(1);
        let by_count = self.batch.div_ceil(MIN_CHUNKS);
        by_cache.min(by_count).max(1)
    }

    /// The image ranges processed together.
    fn chunks(&self) -> Vec<std::ops::Range<usize>> {
        let n = self.chunk_images();
        (0..self.batch)
            .step_by(n)
            .map(|a| a..(a + n).min(self.batch))
            .collect()
    }
}

/// Runs `f(images, part, par)` for each chunk of images with its part of an output (or
/// nothing), one chunk per task of the thread pool, and returns what each call returns, in
/// chunk order. `par` tells `f` whether it runs alone (a one-chunk batch), and may spread
/// its own operations over the pool.
pub(super) fn each_chunk<T: Send, R: Send>(
    g: &Geometry,
    parts: Vec<T>,
    f: impl Fn(std::ops::Range<usize>, T, bool) -> R + Sync + Send,
) -> Vec<R> {
    let chunks = g.chunks();
    assert_eq!(chunks.len(), parts.len(), "one part per chunk");
    let par = chunks.len() == 1;
    chunks
        .into_par_iter()
        .zip(parts)
        .map(|(r, part)| f(r, part, par))
        .collect()
}

/// `out` cut into one part per chunk of images, `per_image` elements each; `None` for every
/// chunk without one.
pub(super) fn parts<'a, T>(
    out: Option<&'a mut [T]>,
    g: &Geometry,
    per_image: usize,
) -> Vec<Option<&'a mut [T]>> {
    let chunks = g.chunks();
    match out {
        Some(out) => out
            .chunks_mut(g.chunk_images() * per_image)
            .map(Some)
            .collect(),
        None => chunks.iter().map(|_| None).collect(),
    }
}

/// The chunks' parts of a sum (∂W), added in chunk order.
pub(super) fn sum_parts(parts: Vec<Option<Vec<f32>>>) -> Option<Vec<f32>> {
    parts.into_iter().flatten().reduce(|mut sum, part| {
        sum.iter_mut().zip(&part).for_each(|(s, p)| *s += p);
        sum
    })
}

/// One thread's buffers for a chunk's intermediates (patch matrix, product, swapped
/// operand), reused from chunk to chunk instead of allocated and zeroed each time: every
/// user writes all of the elements it reads.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) cols: Vec<f32>,
    pub(super) product: Vec<f32>,
    pub(super) swapped: Vec<f32>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

/// Buffers above this many elements (64 MiB) are freed after use instead of kept.
const KEEP_ELEMENTS: usize = 1 << 24;

/// Runs `f` with this thread's scratch buffers (taken out while `f` runs, so that a nested
/// call gets fresh ones).
pub(super) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut s = SCRATCH.take();
    let r = f(&mut s);
    for v in [&mut s.cols, &mut s.product, &mut s.swapped] {
        if v.len() > KEEP_ELEMENTS {
            *v = Vec::new();
        }
    }
    SCRATCH.set(s);
    r
}

/// The first `len` elements of `v`, grown when shorter (stale values: to be overwritten).
pub(super) fn sized(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

/// Σ over the batch and the pixels of x [N, C, inner], per channel: a bias gradient. One
/// channel per task; each plane is summed in a vector's lanes, the planes in batch order.
pub(super) fn channel_sums(x: &[f32], n: usize, c: usize, inner: usize) -> Vec<f32> {
    (0..c)
        .into_par_iter()
        .map(|k| {
            crate::simd::wide(
                #[inline(always)]
                || {
                    x.chunks_exact(c * inner)
                        .take(n)
                        .map(|image| lane_sum(&image[k * inner..][..inner]))
                        .fold(0.0, |s, p| s + p)
                },
            )
        })
        .collect()
}

/// Writes W · cols (+ b 1ᵀ) of one chunk of `gc.batch` images, an [O, n·Ho·Wo] product,
/// into `out` as [n, O, Ho, Wo]: conv2d's output, and a transposed convolution's ∂x.
#[allow(clippy::too_many_arguments)]
fn weights_times_patches(
    out: &mut [f32],
    w: &[f32],
    b: Option<&[f32]>,
    o: usize,
    cols: &[f32],
    gc: &Geometry,
    product: &mut Vec<f32>,
    par: bool,
) {
    let pos = gc.positions();
    let product = sized(product, o * pos);
    if let Some(b) = b {
        for (row, bias) in product.chunks_exact_mut(pos).zip(b) {
            row.fill(*bias);
        }
    }
    matmul_into(
        product,
        b.is_some(),
        Mat::new(w, o, gc.taps()),
        Mat::new(cols, gc.taps(), pos),
        par,
    );
    swap_leading_into(out, product, o, gc.batch, gc.spatial(), par);
}

/// Writes col2im(Wᵀ · G) (+ b) of one chunk, G [O, n·Ho·Wo], into `out` as [n, C, H, W]:
/// conv2d's ∂x, and a transposed convolution's output.
#[allow(clippy::too_many_arguments)]
fn patches_of_weights(
    out: &mut [f32],
    w: &[f32],
    b: Option<&[f32]>,
    o: usize,
    gm: &[f32],
    gc: &Geometry,
    table: Option<&Gather>,
    cols: &mut Vec<f32>,
    par: bool,
) {
    let cols = sized(cols, gc.taps() * gc.positions());
    matmul_into(
        cols,
        false,
        Mat::new(w, o, gc.taps()).t(),
        Mat::new(gm, o, gc.positions()),
        par,
    );
    col2im_into(out, cols, gc, table, b, par);
}

/// conv2d: x [N, C, H, W], w [O, C, kh, kw], b [O] → y [N, O, Ho, Wo].
pub fn conv2d(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    out_channels: usize,
    g: &Geometry,
) -> Vec<f32> {
    let (o, spatial, image) = (out_channels, g.spatial(), g.image_len());
    let table = Gather::of(g);
    let table = table.as_ref();
    let mut y = zeroed(g.batch * o * spatial);
    let ys = parts(Some(&mut y[..]), g, o * spatial);
    each_chunk(g, ys, |r, yc, par| {
        let gc = g.with_batch(r.len());
        with_scratch(|s| {
            let cols = sized(&mut s.cols, gc.taps() * gc.positions());
            im2col_into(cols, &x[r.start * image..r.end * image], &gc, table, par);
            let yc = yc.expect("an output part");
            weights_times_patches(yc, w, b, o, cols, &gc, &mut s.product, par);
        })
    });
    y
}

/// The gradients [∂x, ∂w, ∂b] of conv2d for the upstream gradient dy [N, O, Ho, Wo]; each
/// only when asked for.
pub fn conv2d_backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    out_channels: usize,
    g: &Geometry,
    want: [bool; 3],
) -> [Option<Vec<f32>>; 3] {
    let (o, spatial, image) = (out_channels, g.spatial(), g.image_len());
    let table = Gather::of(g);
    let table = table.as_ref();
    let mut dx = want[0].then(|| zeroed(x.len()));
    let mut dw = None;
    if want[0] || want[1] {
        let dxs = parts(dx.as_deref_mut(), g, image);
        dw = sum_parts(each_chunk(g, dxs, |r, dxc, par| {
            let gc = g.with_batch(r.len());
            let pos = gc.positions();
            with_scratch(|s| {
                // the chunk's upstream gradient as G [O, n·Ho·Wo]
                let gm = sized(&mut s.swapped, o * pos);
                let dyc = &dy[r.start * o * spatial..r.end * o * spatial];
                swap_leading_into(gm, dyc, r.len(), o, spatial, par);
                if let Some(dxc) = dxc {
                    // ∂x = col2im(Wᵀ · G)
                    patches_of_weights(dxc, w, None, o, gm, &gc, table, &mut s.cols, par);
                }
                want[1].then(|| {
                    // ∂W = Σ_chunks G · colsᵀ
                    let cols = sized(&mut s.cols, gc.taps() * pos);
                    im2col_into(cols, &x[r.start * image..r.end * image], &gc, table, par);
                    let mut dw = vec![0.0f32; w.len()];
                    let (gm, cols) = (Mat::new(gm, o, pos), Mat::new(cols, gc.taps(), pos));
                    matmul_into(&mut dw, false, gm, cols.t(), par);
                    dw
                })
            })
        }));
    }
    let db = want[2].then(|| channel_sums(dy, g.batch, o, spatial));
    [dx, dw, db]
}

/// conv_transpose2d: x [N, C_in, Ho, Wo] (the kernel positions), w [C_in, C, kh, kw], b [C]
/// → y [N, C, H, W] (the image side of `g`).
pub fn conv_transpose2d(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    in_channels: usize,
    g: &Geometry,
) -> Vec<f32> {
    let (c_in, spatial, image) = (in_channels, g.spatial(), g.image_len());
    let table = Gather::of(g);
    let table = table.as_ref();
    let mut y = zeroed(g.batch * image);
    let ys = parts(Some(&mut y[..]), g, image);
    each_chunk(g, ys, |r, yc, par| {
        let gc = g.with_batch(r.len());
        with_scratch(|s| {
            // the chunk's input as X [C_in, n·Ho·Wo]
            let xm = sized(&mut s.swapped, c_in * gc.positions());
            let xc = &x[r.start * c_in * spatial..r.end * c_in * spatial];
            swap_leading_into(xm, xc, r.len(), c_in, spatial, par);
            let yc = yc.expect("an output part");
            patches_of_weights(yc, w, b, c_in, xm, &gc, table, &mut s.cols, par);
        })
    });
    y
}

/// The gradients [∂x, ∂w, ∂b] of conv_transpose2d for the upstream gradient dy [N, C, H, W].
pub fn conv_transpose2d_backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    in_channels: usize,
    g: &Geometry,
    want: [bool; 3],
) -> [Option<Vec<f32>>; 3] {
    let (c_in, spatial, image) = (in_channels, g.spatial(), g.image_len());
    let table = Gather::of(g);
    let table = table.as_ref();
    let mut dx = want[0].then(|| zeroed(x.len()));
    let mut dw = None;
    if want[0] || want[1] {
        let dxs = parts(dx.as_deref_mut(), g, c_in * spatial);
        dw = sum_parts(each_chunk(g, dxs, |r, dxc, par| {
            let gc = g.with_batch(r.len());
            let pos = gc.positions();
            with_scratch(|s| {
                // cols(G) [C·kh·kw, n·Ho·Wo]
                let dcols = sized(&mut s.cols, gc.taps() * pos);
                im2col_into(dcols, &dy[r.start * image..r.end * image], &gc, table, par);
                if let Some(dxc) = dxc {
                    // ∂X = W · cols(G)
                    weights_times_patches(dxc, w, None, c_in, dcols, &gc, &mut s.product, par);
                }
                want[1].then(|| {
                    // ∂W = Σ_chunks X · cols(G)ᵀ
                    let xm = sized(&mut s.swapped, c_in * pos);
                    let xc = &x[r.start * c_in * spatial..r.end * c_in * spatial];
                    swap_leading_into(xm, xc, r.len(), c_in, spatial, par);
                    let mut dw = vec![0.0f32; w.len()];
                    let (xm, dcols) = (Mat::new(xm, c_in, pos), Mat::new(dcols, gc.taps(), pos));
                    matmul_into(&mut dw, false, xm, dcols.t(), par);
                    dw
                })
            })
        }));
    }
    let db = want[2].then(|| channel_sums(dy, g.batch, g.channels, g.image[0] * g.image[1]));
    [dx, dw, db]
}

#[cfg(test)]
mod tests {
    use super::super::grid::{self, Grid};
    use super::*;

    fn geometry(
        n: usize,
        c: usize,
        hw: [usize; 2],
        k: [usize; 2],
        s: usize,
        p: usize,
        d: usize,
    ) -> Geometry {
        let out = [0, 1].map(|a| Geometry::conv_out(hw[a], k[a], s, p, d));
        Geometry {
            batch: n,
            channels: c,
            image: hw,
            kernel: k,
            stride: [s; 2],
            padding: [p; 2],
            dilation: [d; 2],
            out,
        }
    }

    fn ramp(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) % 1000) as f32
                    / 500.0
                    - 1.0
            })
            .collect()
    }

    /// The definition, one output at a time.
    fn naive_conv(x: &[f32], w: &[f32], o: usize, g: &Geometry) -> Vec<f32> {
        let ([h, wd], [kh, kw], [oh, ow]) = (g.image, g.kernel, g.out);
        let mut y = vec![0.0f32; g.batch * o * oh * ow];
        for n in 0..g.batch {
            for q in 0..o {
                for i in 0..oh {
                    for j in 0..ow {
                        let mut acc = 0.0f64;
                        for c in 0..g.channels {
                            for a in 0..kh {
                                for b in 0..kw {
                                    let yy = (i * g.stride[0] + a * g.dilation[0]) as isize
                                        - g.padding[0] as isize;
                                    let xx = (j * g.stride[1] + b * g.dilation[1]) as isize
                                        - g.padding[1] as isize;
                                    if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < wd
                                    {
                                        acc += x[((n * g.channels + c) * h + yy as usize) * wd
                                            + xx as usize]
                                            as f64
                                            * w[((q * g.channels + c) * kh + a) * kw + b] as f64;
                                    }
                                }
                            }
                        }
                        y[((n * o + q) * oh + i) * ow + j] = acc as f32;
                    }
                }
            }
        }
        y
    }

    /// |a − b| ≤ tol · (1 + max |b|): f32 sums of thousands of terms, against f64 ones.
    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        let scale = 1.0 + b.iter().fold(0.0f32, |m, y| m.max(y.abs()));
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * scale,
                "element {i}: {x} vs {y} (scale {scale})"
            );
        }
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    /// (N, C, [H, W], [kh, kw], stride, padding, dilation)
    type Case = (usize, usize, [usize; 2], [usize; 2], usize, usize, usize);

    const CASES: [Case; 9] = [
        (2, 3, [7, 6], [3, 3], 1, 1, 1),
        (3, 2, [9, 9], [5, 5], 2, 2, 1),
        (2, 4, [8, 7], [3, 2], 2, 0, 1),
        (1, 2, [10, 10], [3, 3], 1, 2, 2),
        (2, 1, [5, 5], [5, 5], 3, 4, 1),
        // 144 taps × 784 positions per image: chunks of 18 images
        (40, 16, [28, 28], [3, 3], 1, 1, 1),
        // stride 1 with rows narrower than the image's (the gather table), and dilated
        (2, 3, [6, 7], [3, 3], 1, 0, 1),
        (1, 2, [9, 8], [3, 2], 1, 0, 2),
        // rows of three (the grid's shortest copies)
        (2, 2, [4, 3], [3, 3], 1, 1, 1),
    ];

    /// y [N, O, spatial] + b_o.
    fn with_bias(y: &[f32], b: &[f32], spatial: usize) -> Vec<f32> {
        let o = b.len();
        y.iter()
            .enumerate()
            .map(|(i, v)| v + b[(i / spatial) % o])
            .collect()
    }

    /// ∂b_o = Σ_{n,i,j} gy[n, o, i, j] for gy [N, O, spatial].
    fn bias_gradient(gy: &[f32], n: usize, o: usize, spatial: usize) -> Vec<f32> {
        (0..o)
            .map(|q| {
                (0..n)
                    .map(|m| gy[(m * o + q) * spatial..][..spatial].iter().sum::<f32>())
                    .sum()
            })
            .collect()
    }

    /// The grid of `g`, if it has one, with the tap kernel (where the CPU has it) and with
    /// one product per tap.
    fn grids(g: &Geometry) -> Vec<Grid> {
        Grid::of(g)
            .into_iter()
            .flat_map(|grid| [grid, grid.per_tap()])
            .collect()
    }

    #[test]
    fn the_patch_product_equals_the_convolution_sum() {
        for (n, c, hw, k, s, p, d) in CASES {
            let g = geometry(n, c, hw, k, s, p, d);
            let o = 3;
            let x = ramp(n * c * hw[0] * hw[1], 1);
            let w = ramp(o * g.taps(), 2);
            let want = naive_conv(&x, &w, o, &g);
            close(&conv2d(&x, &w, None, o, &g), &want, 1e-5);
            for grid in grids(&g) {
                close(&grid::conv2d(&x, &w, None, o, &g, &grid), &want, 1e-5);
            }
        }
    }

    #[test]
    fn the_grid_takes_every_stride_1_case_whose_taps_stay_in_the_padding() {
        // p ≤ d(k − 1) on both axes
        let took: Vec<bool> = CASES
            .iter()
            .map(|&(n, c, hw, k, s, p, d)| Grid::of(&geometry(n, c, hw, k, s, p, d)).is_some())
            .collect();
        assert_eq!(
            took,
            [true, false, false, true, false, true, true, true, true]
        );
        assert!(Grid::of(&geometry(1, 1, [5, 5], [3, 3], 1, 3, 1)).is_none());
        // and the bias: y = b + Σ_ab W_ab · x
        let g = geometry(2, 8, [6, 5], [3, 3], 1, 1, 1);
        let (x, w, b) = (ramp(2 * 8 * 30, 1), ramp(8 * g.taps(), 2), ramp(8, 3));
        let want = with_bias(&naive_conv(&x, &w, 8, &g), &b, 30);
        for grid in grids(&g) {
            close(&grid::conv2d(&x, &w, Some(&b), 8, &g, &grid), &want, 1e-5);
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for every x and c
        for (n, c, hw, k, s, p, d) in CASES {
            let g = geometry(n, c, hw, k, s, p, d);
            let x = ramp(n * c * hw[0] * hw[1], 3);
            let cols = ramp(g.taps() * g.positions(), 4);
            let lhs = dot(&im2col(&x, &g), &cols);
            let rhs = dot(&x, &col2im(&cols, &g, None));
            assert!(
                (lhs - rhs).abs() < 1e-6 * (1.0 + lhs.abs()),
                "{lhs} vs {rhs} for {g:?}"
            );
        }
    }

    /// The gradients of Σ conv(x, w) · gy by the definition: every product x · w that made
    /// an output sends gy back to both factors.
    fn naive_grads(
        x: &[f32],
        w: &[f32],
        gy: &[f32],
        o: usize,
        g: &Geometry,
    ) -> (Vec<f32>, Vec<f32>) {
        let ([h, wd], [kh, kw], [oh, ow]) = (g.image, g.kernel, g.out);
        let (mut dx, mut dw) = (vec![0.0f64; x.len()], vec![0.0f64; w.len()]);
        for n in 0..g.batch {
            for q in 0..o {
                for i in 0..oh {
                    for j in 0..ow {
                        let up = gy[((n * o + q) * oh + i) * ow + j] as f64;
                        for c in 0..g.channels {
                            for a in 0..kh {
                                for b in 0..kw {
                                    let yy = (i * g.stride[0] + a * g.dilation[0]) as isize
                                        - g.padding[0] as isize;
                                    let xx = (j * g.stride[1] + b * g.dilation[1]) as isize
                                        - g.padding[1] as isize;
                                    if yy >= 0 && xx >= 0 && (yy as usize) < h && (xx as usize) < wd
                                    {
                                        let xi = ((n * g.channels + c) * h + yy as usize) * wd
                                            + xx as usize;
                                        let wi = ((q * g.channels + c) * kh + a) * kw + b;
                                        dx[xi] += w[wi] as f64 * up;
                                        dw[wi] += x[xi] as f64 * up;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let f = |v: Vec<f64>| v.into_iter().map(|e| e as f32).collect();
        (f(dx), f(dw))
    }

    #[test]
    fn the_gradients_equal_the_definitions() {
        for (n, c, hw, k, s, p, d) in CASES {
            let g = geometry(n, c, hw, k, s, p, d);
            let o = 3;
            let x = ramp(n * c * hw[0] * hw[1], 5);
            let w = ramp(o * g.taps(), 6);
            let gy = ramp(n * o * g.out[0] * g.out[1], 7);
            let (want_dx, want_dw) = naive_grads(&x, &w, &gy, o, &g);
            let [dx, dw, db] = conv2d_backward(&x, &w, &gy, o, &g, [true, true, true]);
            close(&dx.unwrap(), &want_dx, 1e-5);
            close(&dw.unwrap(), &want_dw, 1e-5);
            let want_db = bias_gradient(&gy, n, o, g.out[0] * g.out[1]);
            close(&db.unwrap(), &want_db, 1e-5);
            for grid in grids(&g) {
                let [dx, dw, db] =
                    grid::conv2d_backward(&x, &w, &gy, o, &g, &grid, [true, true, true]);
                close(&dx.unwrap(), &want_dx, 1e-5);
                close(&dw.unwrap(), &want_dw, 1e-5);
                close(&db.unwrap(), &want_db, 1e-5);
            }

            // The transposed convolution of gy with w (w read as [C_in = O, C, kh, kw]) is
            // conv's ∂x; its own gradients for an upstream x: ∂gy = conv(x, w), ∂w as above
            // with the roles of x and gy kept.
            close(&conv_transpose2d(&gy, &w, None, o, &g), &want_dx, 1e-5);
            let [dgy, dw_t, _] = conv_transpose2d_backward(&gy, &w, &x, o, &g, [true, true, false]);
            close(&dgy.unwrap(), &naive_conv(&x, &w, o, &g), 1e-5);
            close(&dw_t.unwrap(), &want_dw, 1e-5);
        }
    }

    #[test]
    fn pointwise_convolutions_equal_the_definitions() {
        use super::super::pointwise;
        for (n, c, hw) in [(3, 5, [4, 7]), (9, 16, [28, 28])] {
            let g = geometry(n, c, hw, [1, 1], 1, 0, 1);
            if !pointwise::applies(&g) {
                // a CPU without the tap kernel: the grid runs these
                return;
            }
            let o = 3;
            let (x, w, b) = (
                ramp(n * c * hw[0] * hw[1], 11),
                ramp(o * c, 12),
                ramp(o, 13),
            );
            let spatial = hw[0] * hw[1];
            let want = with_bias(&naive_conv(&x, &w, o, &g), &b, spatial);
            close(&pointwise::conv2d(&x, &w, Some(&b), o, &g), &want, 1e-5);
            let gy = ramp(n * o * spatial, 14);
            let (want_dx, want_dw) = naive_grads(&x, &w, &gy, o, &g);
            let [dx, dw, db] = pointwise::conv2d_backward(&x, &w, &gy, o, &g, [true; 3]);
            close(&dx.unwrap(), &want_dx, 1e-5);
            close(&dw.unwrap(), &want_dw, 1e-5);
            let want_db = bias_gradient(&gy, n, o, spatial);
            close(&db.unwrap(), &want_db, 1e-5);
        }
    }

    #[test]
    fn large_batches_are_cut_into_chunks() {
        // 144 taps × 784 positions = 112,896 patch elements per image: 4 images per chunk
        let (n, c, hw, k, s, p, d) = CASES[5];
        let g = geometry(n, c, hw, k, s, p, d);
        let want: Vec<_> = (0..10).map(|k| 4 * k..4 * k + 4).collect();
        assert_eq!(g.chunks(), want);
        // small batches: at least 8 chunks while there are images
        let (n, c, hw, k, s, p, d) = CASES[0];
        assert_eq!(geometry(n, c, hw, k, s, p, d).chunks(), vec![0..1, 1..2]);
        assert_eq!(geometry(20, c, hw, k, s, p, d).chunks().len(), 7);
    }

    #[test]
    fn the_numbers_do_not_depend_on_the_thread_count() {
        // ∂W sums its chunks in chunk order, whichever thread computed them.
        let (n, c, hw, k, s, p, d) = CASES[5];
        let g = geometry(n, c, hw, k, s, p, d);
        let x = ramp(n * c * hw[0] * hw[1], 8);
        let w = ramp(3 * g.taps(), 9);
        let gy = ramp(n * 3 * g.out[0] * g.out[1], 10);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            pool.install(|| {
                let [dx, dw, _] = conv2d_backward(&x, &w, &gy, 3, &g, [true, true, false]);
                let [dgy, dwt, _] =
                    conv_transpose2d_backward(&gy, &w, &x, 3, &g, [true, true, false]);
                let y = conv2d(&x, &w, None, 3, &g);
                let mut all = vec![y, dx.unwrap(), dw.unwrap(), dgy.unwrap(), dwt.unwrap()];
                for grid in grids(&g) {
                    let [gdx, gdw, _] =
                        grid::conv2d_backward(&x, &w, &gy, 3, &g, &grid, [true, true, false]);
                    all.extend([grid::conv2d(&x, &w, None, 3, &g, &grid), gdx.unwrap()]);
                    all.push(gdw.unwrap());
                }
                all
            })
        };
        assert_eq!(run(1), run(3));
    }

    #[test]
    fn asked_for_gradients_only() {
        let g = geometry(1, 1, [4, 4], [3, 3], 1, 1, 1);
        let x = ramp(16, 1);
        let w = ramp(9, 2);
        let [dx, dw, db] = conv2d_backward(&x, &w, &x, 1, &g, [false, true, false]);
        assert!(dx.is_none() && dw.is_some() && db.is_none());
    }
}
