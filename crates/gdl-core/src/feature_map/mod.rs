//! Moving feature maps [N, C, H, W] around: the concatenation of two along the channels,
//! nearest-neighbour 2× upsampling (the U-Net's skip connections and its "up" path) and a
//! shift per plane (its time embedding), and their residual connections, with gdl's own
//! kernels on Flex ([`kernel`]).
//!
//! On Flex, Burn's `cat` backward hands each input a strided view of the upstream gradient
//! (a slice along the channels, strided over the batch), which every later operation copies or
//! adds element by element (its strided iterator); its `repeat_dim` copies one element at a
//! time. Both run on the thread that walks the graph while the other core waits. Here the
//! forward and backward passes are contiguous copies and sums spread over the thread pool, and
//! every gradient is contiguous. Every other backend takes Burn's operations.

#[cfg(feature = "flex")]
mod flex;
pub mod kernel;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// [a, b] along the channels: a [N, Ca, H, W], b [N, Cb, H, W] → [N, Ca + Cb, H, W], the same
/// as `Tensor::cat(vec![a, b], 1)`.
pub fn cat_channels<B: Backend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    if let Some(y) = flex::try_cat(&a, &b) {
        return y;
    }
    Tensor::cat(vec![a, b], 1)
}

/// x + h for feature maps of the same shape (a residual connection): on Flex one pass over
/// the thread pool (Flex adds tensors below 4 M elements on one core), Burn's `add` elsewhere.
pub fn residual<B: Backend>(x: Tensor<B, 4>, h: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    if let Some(y) = flex::try_residual(&x, &h) {
        return y;
    }
    x + h
}

/// x [N, C, H, W] + s [N, C], each plane shifted by its value (a residual block's time
/// embedding): the same as `x + s.reshape([N, C, 1, 1])`, whose broadcast add and gradient
/// (a sum over H and W) Flex runs element by element.
pub fn shift_channels<B: Backend>(x: Tensor<B, 4>, s: Tensor<B, 2>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    if let Some(y) = flex::try_shift(&x, &s) {
        return y;
    }
    let [n, c] = s.dims();
    x + s.reshape([n, c, 1, 1])
}

/// 2× nearest-neighbour upsampling: every pixel of x [N, C, H, W] becomes a 2×2 block of
/// [N, C, 2H, 2W].
pub fn upsample2<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    if let Some(y) = flex::try_upsample2(&x) {
        return y;
    }
    // `repeat_dim` copies; an `expand`ed view fed to the next convolution gave wrong numbers
    // on Wgpu in Burn 0.21.
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h, 1, w, 1])
        .repeat_dim(3, 2)
        .repeat_dim(5, 2)
        .reshape([n, c, 2 * h, 2 * w])
}
