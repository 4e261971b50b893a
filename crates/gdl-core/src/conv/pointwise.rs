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
    let (c, hw) = (g.channels, g.spatial());
    let packed = Packed::new(o, c, 1, |r, k, _| w[r * c + k]);
    // SAFETY: each image's product writes all of its O·H·W outputs.
    unsafe {
        written(g.batch * o * hw, |y| {
            y.par_chunks_mut((o * hw).max(1))
                .zip(x.par_chunks((c * hw).max(1)))
                .for_each(|(y, x)| {
                    warm(x);
                    taps::products(y, hw, x, hw, &[0], &packed, b)
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
    let dx = want[0].then(|| {
        let packed = Packed::new(c, o, 1, |r, k, _| w[k * c + r]);
        // SAFETY: each image's product writes all of its C·H·W elements.
        unsafe {
            written(x.len(), |dx| {
                dx.par_chunks_mut(image.max(1))
                    .zip(dy.par_chunks((o * hw).max(1)))
                    .for_each(|(dx, dy)| {
                        warm(dy);
                        taps::products(dx, hw, dy, hw, &[0], &packed, None)
                    })
            })
        }
    });
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
