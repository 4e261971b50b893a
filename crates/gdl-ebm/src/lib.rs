//! # gdl-ebm: energy-based models
//!
//! A Boltzmann distribution p(x, h; Θ) = exp(−E(x, h; Θ)) / Z(Θ) with partition function
//! Z = Σ_{x,h} exp(−E(x, h)). Three parts:
//!
//! * [`rbm`]: the restricted Boltzmann machine, E(x, h) = −aᵀx − bᵀh − xᵀWh (binary or
//!   Gaussian visibles), its exact partition function by enumeration for small machines,
//!   training by contrastive divergence (CD-k, PCD), AIS log-likelihoods, deep belief nets;
//! * [`langevin`]: an energy network E_θ(x) sampled by Langevin dynamics and trained by
//!   contrastive divergence with a replay buffer;
//! * [`mcmc`]: Metropolis sampling and the Ising model it is tested on.
//!
//! The exact partition function of a tiny RBM:
//!
//! ```
//! use gdl_ebm::rbm::exact::BinaryRbm;
//! let rbm = BinaryRbm::new(vec![0.0], vec![0.0], vec![0.0]).unwrap();
//! // All four states have energy 0: Z = 4.
//! assert!((rbm.log_z_by_enumeration().unwrap() - 4f64.ln()).abs() < 1e-12);
//! ```

#![warn(missing_docs)]

pub mod langevin;
pub mod mcmc;
pub mod rbm;

pub use mcmc::metropolis::{Metropolis, MetropolisTarget};
