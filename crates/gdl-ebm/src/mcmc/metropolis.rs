//! The Metropolis-Hastings sampler for any energy function: p(s) ∝ exp(−E(s)/T).
//!
//! From state s, propose a move s → s' with a symmetric proposal q(s'|s) = q(s|s') and accept
//! it with probability min(1, exp(−(E(s') − E(s))/T)); otherwise stay. The chain's stationary
//! distribution is the Boltzmann distribution (detailed balance). A target supplies the energy
//! change of a move directly when it is cheaper than two energies (the Ising model's local flip).

use rand::Rng;

/// What Metropolis-Hastings needs of a target distribution.
pub trait MetropolisTarget {
    /// A configuration s.
    type State: Clone;
    /// A proposed change of s.
    type Move;
    /// E(s).
    fn energy(&self, s: &Self::State) -> f64;
    /// A move drawn from a symmetric proposal.
    fn propose(&self, s: &Self::State, rng: &mut impl Rng) -> Self::Move;
    /// s → s'.
    fn apply(&self, s: &mut Self::State, mv: &Self::Move);
    /// E(s') − E(s); by default computed from two energies.
    fn delta_energy(&self, s: &Self::State, mv: &Self::Move) -> f64 {
        let mut next = s.clone();
        self.apply(&mut next, mv);
        self.energy(&next) - self.energy(s)
    }
}

/// A Metropolis-Hastings chain at temperature T, counting its acceptances.
#[derive(Clone, Debug)]
pub struct Metropolis<T: MetropolisTarget> {
    /// The distribution sampled.
    pub target: T,
    /// The chain's current state.
    pub state: T::State,
    /// T.
    pub temperature: f64,
    accepted: u64,
    proposed: u64,
}

impl<T: MetropolisTarget> Metropolis<T> {
    /// A chain at `state` with temperature T.
    pub fn new(target: T, state: T::State, temperature: f64) -> Self {
        Metropolis {
            target,
            state,
            temperature,
            accepted: 0,
            proposed: 0,
        }
    }

    /// One proposal; returns whether it was accepted.
    pub fn step(&mut self, rng: &mut impl Rng) -> bool {
        let mv = self.target.propose(&self.state, rng);
        let delta = self.target.delta_energy(&self.state, &mv);
        // accept with probability min(1, e^(−ΔE/T))
        let accept = delta <= 0.0 || rng.random::<f64>() < (-delta / self.temperature).exp();
        if accept {
            self.target.apply(&mut self.state, &mv);
            self.accepted += 1;
        }
        self.proposed += 1;
        accept
    }

    /// `n` proposals.
    pub fn run(&mut self, n: usize, rng: &mut impl Rng) {
        for _ in 0..n {
            self.step(rng);
        }
    }

    /// Accepted / proposed moves so far (0 before the first proposal).
    pub fn acceptance_rate(&self) -> f64 {
        if self.proposed == 0 {
            0.0
        } else {
            self.accepted as f64 / self.proposed as f64
        }
    }
}

/// A Gaussian random walk x' = x + δ·ε, ε ~ N(0, I), over any energy of a real vector.
pub struct RandomWalk<F: Fn(&[f64]) -> f64> {
    /// E(x).
    pub energy: F,
    /// δ, the step size.
    pub step: f64,
}

impl<F: Fn(&[f64]) -> f64> MetropolisTarget for RandomWalk<F> {
    type State = Vec<f64>;
    type Move = Vec<f64>;
    fn energy(&self, s: &Vec<f64>) -> f64 {
        (self.energy)(s)
    }
    fn propose(&self, s: &Vec<f64>, rng: &mut impl Rng) -> Vec<f64> {
        s.iter()
            .map(|x| x + self.step * gdl_core::seed::standard_normal(rng))
            .collect()
    }
    fn apply(&self, s: &mut Vec<f64>, mv: &Vec<f64>) {
        s.clone_from(mv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_walk_samples_a_correlated_gaussian() {
        let _serial = gdl_core::seed::serial();
        // E(x) = ½ xᵀ Σ⁻¹ x with Σ = [[1, 0.6], [0.6, 2]]: the chain's moments match Σ.
        let (s00, s01, s11) = (1.0, 0.6, 2.0);
        let det = s00 * s11 - s01 * s01;
        let energy = move |x: &[f64]| {
            0.5 * (s11 * x[0] * x[0] - 2.0 * s01 * x[0] * x[1] + s00 * x[1] * x[1]) / det
        };
        let mut chain = Metropolis::new(RandomWalk { energy, step: 1.5 }, vec![0.0, 0.0], 1.0);
        let mut rng = gdl_core::seed::host_rng(3);
        chain.run(1_000, &mut rng);
        let n = 400_000;
        let (mut m, mut c) = ([0.0; 2], [0.0; 3]);
        for _ in 0..n {
            chain.step(&mut rng);
            let x = &chain.state;
            m[0] += x[0];
            m[1] += x[1];
            c[0] += x[0] * x[0];
            c[1] += x[0] * x[1];
            c[2] += x[1] * x[1];
        }
        let n = n as f64;
        let (m0, m1) = (m[0] / n, m[1] / n);
        let cov = [c[0] / n - m0 * m0, c[1] / n - m0 * m1, c[2] / n - m1 * m1];
        // Correlated samples: tolerances of a few effective standard errors.
        assert!(m0.abs() < 0.03 && m1.abs() < 0.04, "mean {m0} {m1}");
        for (got, want) in cov.iter().zip([s00, s01, s11]) {
            assert!(
                (got - want).abs() < 0.05 * want.max(1.0),
                "cov {got} vs {want}"
            );
        }
        let rate = chain.acceptance_rate();
        assert!(rate > 0.2 && rate < 0.9, "acceptance {rate}");
    }

    #[test]
    fn temperature_flattens_the_distribution() {
        let _serial = gdl_core::seed::serial();
        // At T = 4 the variance of E(x) = x²/2 is 4.
        let mut chain = Metropolis::new(
            RandomWalk {
                energy: |x: &[f64]| 0.5 * x[0] * x[0],
                step: 3.0,
            },
            vec![0.0],
            4.0,
        );
        let mut rng = gdl_core::seed::host_rng(5);
        let n = 200_000;
        let var = (0..n)
            .map(|_| {
                chain.step(&mut rng);
                chain.state[0].powi(2)
            })
            .sum::<f64>()
            / n as f64;
        assert!((var - 4.0).abs() < 0.25, "variance {var}");
    }
}
