//! SiLU(x) = x σ(x) (the sigmoid-weighted linear unit, "swish"), with gdl's own kernel on
//! Flex: one vectorised pass forward and one backward ([`kernel`]), instead of Burn's sigmoid
//! and product and their gradients, each a pass with one libm `expf` call per element (about
//! a third of the Langevin EBM's training step, whose SGLD differentiates the energy network
//! hundreds of times per step). Every other backend takes Burn's `silu`.

#[cfg(feature = "flex")]
mod flex;
pub mod kernel;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// SiLU(x) = x σ(x) element-wise: the same function as `burn::tensor::activation::silu`.
pub fn silu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    #[cfg(feature = "flex")]
    if let Some(y) = flex::try_silu(&x) {
        return y;
    }
    burn::tensor::activation::silu(x)
}
