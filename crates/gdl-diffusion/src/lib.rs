//! # gdl-diffusion: diffusion models
//!
//! The forward process adds Gaussian noise in T steps: q(x_t | x_{t−1}) = N(√(1 − β_t) x_{t−1}, β_t I),
//! which composes to q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I) with α_t = 1 − β_t and
//! ᾱ_t = Π_{s<=t} α_s. This crate starts with the noise schedule as precomputed f64 tables:
//!
//! ```
//! use gdl_diffusion::schedule::NoiseSchedule;
//! let s = NoiseSchedule::linear(1000, 1e-4, 0.02).unwrap();
//! assert!(s.alpha_bar[999] < 1e-4); // x_T is almost pure noise
//! ```

#![warn(missing_docs)]

pub mod schedule;
