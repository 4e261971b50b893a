//! 2-D convolutions for every backend, with gdl's own CPU kernel on Flex.
//!
//! [`conv2d`] and [`conv_transpose2d`] take the arguments of `burn::tensor::module`'s
//! functions; the [`Convolution`] trait applies Burn's `Conv2d` and `ConvTranspose2d`
//! layers through them. On `Flex` and `Autodiff<Flex>` they run gdl's kernels: [`im2col`]'s,
//! a few images of the batch as one matrix product per operation, forward and backward
//! (Burn's Flex kernels do one product per image, and its generic weight gradient runs a
//! convolution with the batch as channels), for stride-1 convolutions with at least eight
//! input channels `grid`'s, the taps' products with shifted views of the zero-padded images
//! and no patch matrix (one pass over all taps by `taps`' AVX-512 kernel where the CPU has
//! it), and for 1 × 1 convolutions on such CPUs `pointwise`'s, image by image in place.
//! Every other backend, and grouped convolutions, asymmetric padding
//! or other dtypes, use Burn's kernels unchanged. They agree to 1e-5 (the kernels' unit tests
//! against the definitions; `tests/kernels.rs`, forward and gradients against NdArray).

#[cfg(feature = "flex")]
mod flex;
mod grid;
pub mod im2col;
mod pointwise;
mod taps;

use burn::module::Module;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::PaddingConfig2d;
use burn::tensor::backend::Backend;
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::Tensor;

use im2col::Geometry;

/// y = x ⋆ w (+ b): x [N, C, H, W], w [O, C, kh, kw] → [N, O, Ho, Wo].
pub fn conv2d<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    options: ConvOptions<2>,
) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    if options.groups == 1 {
        let [batch, channels, h, w] = x.dims();
        let [out_channels, c, kh, kw] = weight.dims();
        // Shapes Burn's kernel would refuse go to it, for its message.
        let fits = |a: usize| {
            options.stride[a] > 0
                && [h, w][a] + 2 * options.padding[a] > options.dilation[a] * ([kh, kw][a] - 1)
        };
        if c == channels && kh * kw > 0 && fits(0) && fits(1) {
            let image = [h, w];
            let kernel = [kh, kw];
            let out = [0, 1].map(|a| {
                Geometry::conv_out(
                    image[a],
                    kernel[a],
                    options.stride[a],
                    options.padding[a],
                    options.dilation[a],
                )
            });
            let g = Geometry {
                batch,
                channels,
                image,
                kernel,
                stride: options.stride,
                padding: options.padding,
                dilation: options.dilation,
                out,
            };
            let op = flex::Op::Conv { out_channels, g };
            if let Some(y) = flex::try_conv(op, &x, &weight, bias.as_ref()) {
                return y;
            }
        }
    }
    burn::tensor::module::conv2d(x, weight, bias, options)
}

/// The transposed convolution (the adjoint of [`conv2d`] in x, plus b): x [N, C_in, H, W],
/// w [C_in, C, kh, kw] → [N, C, (H − 1)s − 2p + d(k − 1) + p_out + 1, …].
pub fn conv_transpose2d<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    options: ConvTransposeOptions<2>,
) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    if options.groups == 1 {
        let [batch, in_channels, h, w] = x.dims();
        let [c_in, channels, kh, kw] = weight.dims();
        let o = &options;
        // (n − 1)s + d(k − 1) + p_out + 1 − 2p, when that is a size
        let size = |a: usize, n: usize, k: usize| {
            ((n - 1) * o.stride[a] + o.dilation[a] * (k - 1) + o.padding_out[a] + 1)
                .checked_sub(2 * o.padding[a])
                .filter(|&s| s > 0)
        };
        let fits = c_in == in_channels
            && h * w * kh * kw > 0
            && (0..2).all(|a| o.padding_out[a] < o.stride[a]);
        let image = if fits {
            size(0, h, kh).zip(size(1, w, kw))
        } else {
            None
        };
        if let Some((ho, wo)) = image {
            let g = Geometry {
                batch,
                channels,
                image: [ho, wo],
                kernel: [kh, kw],
                stride: o.stride,
                padding: o.padding,
                dilation: o.dilation,
                out: [h, w],
            };
            let op = flex::Op::ConvTranspose { in_channels, g };
            if let Some(y) = flex::try_conv(op, &x, &weight, bias.as_ref()) {
                return y;
            }
        }
    }
    burn::tensor::module::conv_transpose2d(x, weight, bias, options)
}

/// Whether `B`'s convolutions run gdl's im2col kernel (Flex and `Autodiff<Flex>`, f32).
pub fn uses_im2col<B: Backend>() -> bool {
    #[cfg(feature = "flex")]
    {
        crate::extension::is_flex::<B>()
    }
    #[cfg(not(feature = "flex"))]
    {
        false
    }
}

/// A convolution layer applied through [`conv2d`] / [`conv_transpose2d`].
pub trait Convolution<B: Backend>: Module<B> {
    /// The layer's output for x [N, C, H, W].
    fn apply(&self, x: Tensor<B, 4>) -> Tensor<B, 4>;
}

impl<B: Backend> Convolution<B> for Conv2d<B> {
    fn apply(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        // Symmetric padding only; `Same` and asymmetric padding take the layer's own path.
        let padding = match self.padding {
            PaddingConfig2d::Valid => [0, 0],
            PaddingConfig2d::Explicit(top, left, bottom, right)
                if top == bottom && left == right =>
            {
                [top, left]
            }
            _ => return self.forward(x),
        };
        conv2d(
            x,
            self.weight.val(),
            self.bias.as_ref().map(|b| b.val()),
            ConvOptions::new(self.stride, padding, self.dilation, self.groups),
        )
    }
}

impl<B: Backend> Convolution<B> for ConvTranspose2d<B> {
    fn apply(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        conv_transpose2d(
            x,
            self.weight.val(),
            self.bias.as_ref().map(|b| b.val()),
            ConvTransposeOptions::new(
                self.stride,
                self.padding,
                self.padding_out,
                self.dilation,
                self.groups,
            ),
        )
    }
}
