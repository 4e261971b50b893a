//! # gdl-core: the ground every gdl model stands on
//!
//! * [`backend`]: which Burn backend runs a program (NdArray, Flex, Wgpu) and one switch,
//!   `--backend` / `GDL_BACKEND`, that picks it at run time.
//! * [`seed`]: one call that seeds Burn's backend RNG and the host RNG from `--seed`.
//! * [`image`]: N x C x H x W tensors written as a PNG grid of images.
//! * [`run`]: progress bars, metric logs, atomic checkpoints and the NaN/Inf guard shared by
//!   every training loop.
//! * [`train`]: the one epoch driver ([`train::fit`]) every model family trains through, by
//!   its [`train::TrainStep`]; [`run_dir`]: config, checkpoints and metrics of a run, and
//!   `--resume`; [`batches`]: mini-batches of tensors.
//! * [`conv`]: 2-D convolutions and transposed convolutions, with gdl's own im2col kernel on
//!   Flex (forward and backward), Burn's elsewhere.
//! * [`norm`]: group and batch normalisation; on Flex, group norm (+ SiLU) is one fused kernel
//!   with its own backward.
//! * [`linear`]: affine maps y = x W + b and matrix products, on Flex through [`matmul`]'s
//!   GEMMs cut over the thread pool, forward and backward.
//! * [`activation`]: SiLU, one vectorised kernel with its own backward on Flex.
//! * [`likelihood`]: the Bernoulli negative log-likelihood under logits, one kernel on Flex.
//! * [`random`]: random tensors with Burn's distributions, drawn in parallel on Flex; Bernoulli
//!   draws and dropout.
//! * [`sample`]: the `Sample` trait of every generative model, and one grid writer for all.
//! * [`optim`]: the gradient-descent family (GD, momentum, ADAGRAD, RMSprop, ADAM) for
//!   explicitly computed gradients, with learning-rate schedules.
//! * [`plot`]: line plots and heat maps written as PNG.
//! * [`divergence`]: Kullback-Leibler and Jensen-Shannon divergences.
//! * [`tensor`]: host f64 data in and out of tensors at the backend's own precision.
//! * [`buffer`]: the CPU kernels' output buffers, zeroed over the thread pool.
//! * [`pool`]: the thread pool the CPU kernels split their work over, and how a task runs
//!   on it (on a worker, the other workers spinning).
//! * [`fs`]: atomic file writes (temp file + rename), so no output is ever half written.
//!
//! ```
//! use gdl_core::divergence::{kl, js};
//! let p = [0.5, 0.5];
//! let q = [0.9, 0.1];
//! assert!(kl(&p, &q).unwrap() > 0.0);
//! assert!(js(&p, &q).unwrap() <= std::f64::consts::LN_2);
//! ```

#![warn(missing_docs)]

pub mod activation;
pub mod adam;
pub mod backend;
pub mod batches;
pub mod buffer;
pub mod combine;
pub mod conv;
pub mod divergence;
pub mod ema;
pub mod error;
#[cfg(feature = "flex")]
mod extension;
pub mod feature_map;
pub mod frechet;
pub mod fs;
pub mod functions;
pub mod image;
pub mod likelihood;
pub mod linear;
pub mod matmul;
pub mod norm;
pub mod optim;
pub mod plot;
pub mod pool;
pub mod random;
pub mod run;
pub mod run_dir;
pub mod sample;
pub mod seed;
pub mod simd;
pub mod tensor;
pub mod train;

pub use error::{Error, Result};

/// Backends for tests of every gdl crate (feature `test-utils`).
#[cfg(feature = "test-utils")]
pub mod testing {
    /// The backend unit tests run on.
    pub type TestBackend = crate::backend::NdArray;
    /// Its autodiff twin.
    pub type TestAutodiffBackend = crate::backend::NdArrayAutodiff;
    /// The f64 backend for tests that compare against closed forms to many digits.
    pub type TestBackendF64 = crate::backend::NdArrayF64;
    /// Its autodiff twin.
    pub type TestAutodiffBackendF64 = burn_autodiff::Autodiff<crate::backend::NdArrayF64>;
}
