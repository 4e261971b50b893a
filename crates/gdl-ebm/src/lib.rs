//! # gdl-ebm: energy-based models
//!
//! A Boltzmann distribution p(x, h; Θ) = exp(−E(x, h; Θ)) / Z(Θ) with partition function
//! Z = Σ_{x,h} exp(−E(x, h)). This crate starts with the binary-binary restricted Boltzmann
//! machine, E(x, h) = −aᵀx − bᵀh − xᵀWh, its free energy and its exact partition function
//! for models small enough to enumerate:
//!
//! ```
//! use gdl_ebm::rbm_exact::BinaryRbm;
//! let rbm = BinaryRbm::new(vec![0.0], vec![0.0], vec![0.0]).unwrap();
//! // All four states have energy 0: Z = 4.
//! assert!((rbm.log_z_by_enumeration() - 4f64.ln()).abs() < 1e-12);
//! ```

pub mod ais;
pub mod cd;
pub mod dbn;
pub mod ising;
pub mod langevin;
pub mod langevin_train;
pub mod metropolis;
pub mod rbm;
pub mod rbm_exact;
pub mod sample;
pub mod train;

pub use metropolis::{Metropolis, MetropolisTarget};
