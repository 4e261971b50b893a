//! The Bernoulli negative log-likelihood of images under logits, with gdl's own kernel on
//! Flex: one vectorised pass forward and one backward
//! ([`crate::activation::kernel::bernoulli_nll`]), instead of Burn's eight element-wise
//! operations and their gradients, two of them a libm `expf` and `log1pf` call per pixel
//! (a sixth of the VAE's training step in its profile). Every other backend takes the same
//! formula in Burn's operations.

#[cfg(feature = "flex")]
mod flex;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// −log p(x) of each row of x [N, D] under independent Bernoulli pixels with probabilities
/// σ(l), l [N, D] the logits: Σ_j [softplus(l_j) − x_j l_j] (since log σ(l) = l − softplus(l)
/// and log σ(−l) = −softplus(l)), finite for every finite l; x may be grey levels in [0, 1].
/// Returns [N].
pub fn bernoulli_nll<B: Backend>(logits: Tensor<B, 2>, x: Tensor<B, 2>) -> Tensor<B, 1> {
    #[cfg(feature = "flex")]
    if logits.dims() == x.dims() {
        if let Some(nll) = flex::try_bernoulli_nll(&logits, &x) {
            return nll;
        }
    }
    (crate::functions::softplus(logits.clone()) - x * logits)
        .sum_dim(1)
        .squeeze_dim::<1>(1)
}
