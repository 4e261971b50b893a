//! # gdl: discriminative and generative deep learning on Burn
//!
//! The mathematics of deep learning, from least squares to diffusion models, as a library
//! generic over Burn backends (`B: Backend` / `B: AutodiffBackend`), with runnable MNIST
//! programs under `examples/`. This crate re-exports the member crates:
//!
//! | module | crate | lecture topic |
//! |---|---|---|
//! | [`core`] | `gdl-core` | backends, seeding, image grids, divergences, training plumbing |
//! | [`mnist`] | `gdl-mnist` | the MNIST / Fashion-MNIST loader |
//! | [`regression`] | `gdl-regression` | OLS, Ridge, Lasso, gradient descent |
//! | [`ffnn`] | `gdl-ffnn` | feed-forward networks and back-propagation |
//! | [`ebm`] | `gdl-ebm` | Boltzmann machines, MCMC, contrastive divergence |
//! | [`vae`] | `gdl-vae` | autoencoders and variational autoencoders |
//! | [`gan`] | `gdl-gan` | generative adversarial networks |
//! | [`diffusion`] | `gdl-diffusion` | diffusion models |

#![warn(missing_docs)]

pub use gdl_core as core;
pub use gdl_diffusion as diffusion;
pub use gdl_ebm as ebm;
pub use gdl_ffnn as ffnn;
pub use gdl_gan as gan;
pub use gdl_mnist as mnist;
pub use gdl_regression as regression;
pub use gdl_vae as vae;

pub use burn;

/// The README's code, compiled and run by `cargo test` so that it never goes stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
