//! 1 × 1 convolutions (stride 1, no padding) image by image: y[n] = W x[n] + b, the product of
//! W [O, C] with the image's planes [C, H·W], read and written in place by [`taps`]' kernel.
//! The grid would copy the planes onto itself and back: at 28 × 28 with 96 channels the copies
//! cost more than the product.

use rayon::prelude::*;

use super::im2col::{channel_sums, each_chunk, parts, sum_parts, Geometry};
use super::taps::{self, Packed};
use crate::buffer::written;
use crate::matmul::{matmul_into, Mat};

/// Whether `g` is a 1 × 1 convolution this module runs (where the CPU has the tap kernel).
pub(super) fn applies(g: &Geometry) -> bool {
    g.kernel == [1, 1] && g.stride == [1, 1] && g.padding == [0, 0] && taps::available()
}

/// y [N, O, H, W] = W x + b per pixel, x [N, C, H, W], w [O, C, 1, 1].
pub(super) fn conv2d(x: &[f32], w: &[f32], b: Option<&[f32]>, o: usize, g: &Geometry) -> Vec<f32> {
    per_image(x, g.spatial(), &Packed::filters(w, o, g.channels, 1), b)
}

/// out[n] = W src[n] (+ b) for the images src [N, k, hw] → [N, rows, hw] of `w`'s shape, one
/// image per task: the image read once in order, then its product.
fn per_image(src: &[f32], hw: usize, w: &Packed, b: Option<&[f32]>) -> Vec<f32> {
    let (per_src, per_out) = ((w.inputs() * hw).max(1), (w.rows() * hw).max(1));
    // SAFETY: each image's product writes all of its rows·hw outputs.
    unsafe {
        written(src.len() / per_src * per_out, |out| {
            out.par_chunks_mut(per_out)
                .zip(src.par_chunks(per_src))
                .for_each(|(out, src)| {
                    warm(src);
                    taps::products(out, hw, src, hw, &[0], w, b)
                })
        })
    }
}

/// The gradients [∂x, ∂w, ∂b] of [`conv2d`] for the upstream gradient dy [N, O, H, W]:
/// ∂x[n] = Wᵀ dy[n], ∂W = Σ_n dy[n] x[n]ᵀ (summed in chunk order), ∂b = Σ dy per channel.
pub(super) fn conv2d_backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    o: usize,
    g: &Geometry,
    want: [bool; 3],
) -> [Option<Vec<f32>>; 3] {
    let (c, hw, image) = (g.channels, g.spatial(), g.image_len());
    let dx = want[0].then(|| per_image(dy, hw, &Packed::transposed(w, o, c, 1), None));
    let dw = want[1]
        .then(|| {
            sum_parts(each_chunk(g, parts::<f32>(None, g, image), |r, _, par| {
                let mut dw = vec![0.0f32; o * c];
                for (i, n) in r.enumerate() {
                    let (dy_n, x_n) = (&dy[n * o * hw..][..o * hw], &x[n * image..][..image]);
                    warm(dy_n);
                    warm(x_n);
                    let (dy_n, x_n) = (Mat::new(dy_n, o, hw), Mat::new(x_n, c, hw).t());
                    matmul_into(&mut dw, i > 0, dy_n, x_n, par);
                }
                Some(dw)
            }))
        })
        .flatten();
    let db = want[2].then(|| channel_sums(dy, g.batch, o, hw));
    [dx, dw, db]
}

/// Reads `v` once in order, a value per cache line, so that the hardware prefetcher brings it
/// into the core's cache as one stream: the product then reads its C rows at once, C streams
/// that the prefetcher does not follow.
fn warm(v: &[f32]) {
    let touched = v.iter().step_by(16).fold(0.0f32, |s, x| s + x);
    std::hint::black_box(touched);
}
