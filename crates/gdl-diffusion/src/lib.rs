//! # gdl-diffusion: diffusion models
//!
//! The forward process adds Gaussian noise in T steps: q(x_t | x_{t−1}) = N(√(1 − β_t) x_{t−1}, β_t I),
//! which composes to q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) with α_t = 1 − β_t and
//! ᾱ_t = Π_{s<=t} α_s. A network learns the noise ε in x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε; the
//! reverse process then turns pure noise into data. The pieces are kept apart (the layout of
//! diffusers): the schedule as f64 tables ([`schedule`]), the forward process on tensors
//! ([`process`]), the network ([`unet`]), what a sampler needs from it ([`predictor`]), the
//! samplers ([`sampler`]: DDPM's ancestral one and DDIM), the variational bound ([`bound`]),
//! training ([`train`]) and the [`Sample`](gdl_core::sample::Sample) source ([`sample`]).
//!
//! ```
//! use gdl_diffusion::schedule::NoiseSchedule;
//! let s = NoiseSchedule::linear(1000, 1e-4, 0.02).unwrap();
//! assert!(s.alpha_bar[999] < 1e-4); // x_T is almost pure noise
//! ```

#![warn(missing_docs)]

pub mod bound;
pub mod predictor;
pub mod process;
pub mod sample;
pub mod sampler;
pub mod schedule;
pub mod train;
pub mod unet;
pub mod vdm;
