//! Markov chain Monte Carlo: the Metropolis-Hastings sampler for any energy, and the 2-D Ising
//! model it samples (the lecture's first Boltzmann distribution; its samples train an RBM).

pub mod ising;
pub mod metropolis;
