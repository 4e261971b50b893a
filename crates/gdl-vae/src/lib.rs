//! # gdl-vae: autoencoders and variational autoencoders
//!
//! The evidence lower bound: log p(x) >= E_q[log p(x|h)] − D_KL(q(h|x) || p(h)) with
//! q(h|x) = N(μ(x), diag σ²(x)), p(h) = N(0, I). Training minimises the negative ELBO, the sum
//! of a reconstruction term and the analytic KL term; the deterministic autoencoder keeps only
//! the reconstruction term with h = μ(x). The Bernoulli reconstruction term:
//!
//! ```
//! use gdl_vae::likelihood::bernoulli_nll;
//! use gdl_core::backend::NdArray;
//! use burn::tensor::Tensor;
//! let d = Default::default();
//! let x = Tensor::<NdArray, 2>::from_floats([[1.0, 0.0]], &d);
//! let logits = Tensor::<NdArray, 2>::zeros([1, 2], &d);
//! // p = ½ for each pixel: −log p(x|h) = 2 ln 2.
//! let nll: f32 = bernoulli_nll(logits, x).into_scalar();
//! assert!((nll - 2.0 * 2f32.ln()).abs() < 1e-6);
//! ```

#![warn(missing_docs)]

pub mod arch;
pub mod iwae;
pub mod likelihood;
pub mod loss;
pub mod model;
pub mod sample;
pub mod train;
