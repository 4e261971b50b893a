//! Affine maps y = x W + b (Burn's `Linear` layout: W [d_in, d_out]) for every backend,
//! with gdl's GEMM on Flex.
//!
//! On `Flex` and `Autodiff<Flex>` the products run [`crate::matmul`]: cut over the thread
//! pool (Flex, built without its `rayon` feature, runs every product on one core, and with
//! it runs the dense models' steps slower), the bias written into the product's destination
//! instead of a broadcast add, and the backward's products
//!
//!   ∂x = ∂y Wᵀ,   ∂W = xᵀ ∂y,   ∂b = Σ_rows ∂y
//!
//! on transposed views without a copy. Every other backend runs Burn's `linear`. The two
//! agree to 1e-5 (tests in `tests/kernels.rs` of this crate, values and gradients against
//! NdArray).

#[cfg(feature = "flex")]
mod flex;

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// y = x W (+ b): x [N, d_in], W [d_in, d_out], b [d_out] → [N, d_out].
pub fn linear<B: Backend>(
    x: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, 2> {
    #[cfg(feature = "flex")]
    if x.dims()[1] == weight.dims()[0]
        && bias
            .as_ref()
            .is_none_or(|b| b.dims()[0] == weight.dims()[1])
    {
        if let Some(y) = flex::try_linear(&x, &weight, bias.as_ref()) {
            return y;
        }
    }
    burn::tensor::module::linear(x, weight, bias)
}

/// The matrix product a · b of [m, k] and [k, n] (a [`linear`] map without bias).
pub fn matmul<B: Backend>(a: Tensor<B, 2>, b: Tensor<B, 2>) -> Tensor<B, 2> {
    linear(a, b, None)
}

/// A dense layer applied through [`linear`].
pub trait Affine<B: Backend>: Module<B> {
    /// The layer's output for x [N, d_in].
    fn apply(&self, x: Tensor<B, 2>) -> Tensor<B, 2>;
}

impl<B: Backend> Affine<B> for Linear<B> {
    fn apply(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        linear(x, self.weight.val(), self.bias.as_ref().map(|b| b.val()))
    }
}
