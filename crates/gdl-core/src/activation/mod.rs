//! SiLU(x) = x σ(x) (the sigmoid-weighted linear unit, "swish") and the leaky ReLU, with
//! gdl's own kernels on Flex: one vectorised pass forward and one backward ([`kernel`]),
//! spread over the thread pool, instead of Burn's operations and their gradients (for SiLU a
//! sigmoid and a product, each a pass with one libm `expf` call per element: about a third of
//! the Langevin EBM's training step, whose SGLD differentiates the energy network hundreds of
//! times per step; for the leaky ReLU two masked passes on one core). Every other backend
//! takes Burn's functions.

#[cfg(feature = "flex")]
mod flex;
pub mod kernel;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// SiLU(x) = x σ(x) element-wise: the same function as `burn::tensor::activation::silu`.
pub fn silu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    #[cfg(feature = "flex")]
    if let Some(y) = flex::try_activation(flex::Activation::Silu, &x) {
        return y;
    }
    burn::tensor::activation::silu(x)
}

/// σ(x) = 1 / (1 + e^{−x}) by gdl's kernel when `B` is Flex or `Autodiff<Flex>` and x is f32
/// (Burn's exp on Flex is a libm call per element, on one core); `None` otherwise.
/// [`crate::functions::sigmoid`] takes it first.
#[allow(unused_variables)]
pub(crate) fn try_sigmoid<B: Backend, const D: usize>(x: &Tensor<B, D>) -> Option<Tensor<B, D>> {
    #[cfg(feature = "flex")]
    return flex::try_activation(flex::Activation::Sigmoid, x);
    #[cfg(not(feature = "flex"))]
    None
}

/// LeakyReLU(x) = x for x ≥ 0 and `slope`·x below, element-wise: the same function as
/// `burn::tensor::activation::leaky_relu` (whose two masked passes, and theirs backward, run
/// on one core on Flex).
pub fn leaky_relu<B: Backend, const D: usize>(x: Tensor<B, D>, slope: f64) -> Tensor<B, D> {
    #[cfg(feature = "flex")]
    if let Some(y) = flex::try_activation(flex::Activation::LeakyRelu(slope as f32), &x) {
        return y;
    }
    burn::tensor::activation::leaky_relu(x, slope)
}
