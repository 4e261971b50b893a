//! The two-dimensional Ising model on an L x L periodic lattice, sampled by Metropolis.
//!
//! E(s) = −J Σ_⟨ij⟩ s_i s_j over nearest-neighbour pairs, s_i ∈ {−1, +1}, p(s) ∝ e^(−E(s)/T).
//! Flipping spin i changes the energy by ΔE = 2 J s_i Σ_{j ∈ nbr(i)} s_j. Onsager's critical
//! temperature is T_c = 2J / ln(1 + √2) ≈ 2.269 J: below it the lattice orders (|m| → 1),
//! above it the magnetisation m = (1/L²) Σ s_i vanishes.

use crate::metropolis::{Metropolis, MetropolisTarget};
use rand::Rng;

/// T_c = 2 / ln(1 + √2) for J = 1.
pub fn critical_temperature() -> f64 {
    2.0 / (1.0 + 2f64.sqrt()).ln()
}

/// An L x L periodic lattice with coupling J.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ising {
    pub side: usize,
    pub coupling: f64,
}

/// Spins ±1, row-major.
pub type Spins = Vec<i8>;

impl Ising {
    pub fn new(side: usize) -> Self {
        Ising {
            side,
            coupling: 1.0,
        }
    }

    /// Sum of the four neighbours of site i (periodic).
    fn neighbour_sum(&self, s: &[i8], i: usize) -> i32 {
        let l = self.side;
        let (r, c) = (i / l, i % l);
        let at = |r: usize, c: usize| s[r * l + c] as i32;
        at((r + 1) % l, c) + at((r + l - 1) % l, c) + at(r, (c + 1) % l) + at(r, (c + l - 1) % l)
    }

    /// m = (1/L²) Σ s_i.
    pub fn magnetisation(&self, s: &[i8]) -> f64 {
        s.iter().map(|&x| x as f64).sum::<f64>() / s.len() as f64
    }

    /// A random configuration (the hot start).
    pub fn random_spins(&self, rng: &mut impl Rng) -> Spins {
        (0..self.side * self.side)
            .map(|_| if rng.random::<bool>() { 1 } else { -1 })
            .collect()
    }

    /// A Metropolis chain at temperature T from `spins`.
    pub fn chain(self, spins: Spins, temperature: f64) -> Metropolis<Ising> {
        Metropolis::new(self, spins, temperature)
    }

    /// Draws `n` configurations at temperature T: `burn_in` sweeps, then one sample every
    /// `thin` sweeps (a sweep is L² proposals), from a random start.
    pub fn sample(
        self,
        temperature: f64,
        n: usize,
        burn_in: usize,
        thin: usize,
        rng: &mut impl Rng,
    ) -> (Vec<Spins>, f64) {
        let sweep = self.side * self.side;
        let mut chain = self.chain(self.random_spins(rng), temperature);
        chain.run(burn_in * sweep, rng);
        let samples = (0..n)
            .map(|_| {
                chain.run(thin.max(1) * sweep, rng);
                chain.state.clone()
            })
            .collect();
        (samples, chain.acceptance_rate())
    }
}

impl MetropolisTarget for Ising {
    type State = Spins;
    /// The site whose spin flips.
    type Move = usize;

    /// E = −J Σ_⟨ij⟩ s_i s_j, each bond counted once (right and down neighbours).
    fn energy(&self, s: &Spins) -> f64 {
        let l = self.side;
        let mut sum = 0i64;
        for r in 0..l {
            for c in 0..l {
                let x = s[r * l + c] as i64;
                sum += x * (s[r * l + (c + 1) % l] as i64 + s[((r + 1) % l) * l + c] as i64);
            }
        }
        -self.coupling * sum as f64
    }

    fn propose(&self, s: &Spins, rng: &mut impl Rng) -> usize {
        rng.random_range(0..s.len())
    }

    fn apply(&self, s: &mut Spins, i: &usize) {
        s[*i] = -s[*i];
    }

    /// ΔE = 2 J s_i Σ_nbr s_j.
    fn delta_energy(&self, s: &Spins, i: &usize) -> f64 {
        2.0 * self.coupling * (s[*i] as i32 * self.neighbour_sum(s, *i)) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_energy_change_equals_the_difference_of_energies() {
        let ising = Ising::new(5);
        let mut rng = gdl_core::seed::host_rng(1);
        let s = ising.random_spins(&mut rng);
        for i in 0..25 {
            let mut t = s.clone();
            t[i] = -t[i];
            assert_eq!(
                ising.delta_energy(&s, &i),
                ising.energy(&t) - ising.energy(&s)
            );
        }
        // All up: 2L² bonds of −1.
        assert_eq!(ising.energy(&vec![1; 25]), -50.0);
    }

    #[test]
    fn metropolis_reproduces_the_exact_3x3_distribution() {
        // Exact: p(E) = Σ_{s: E(s) = E} e^(−E/T) / Z over all 2^9 states.
        let (ising, t) = (Ising::new(3), 2.5);
        let states: Vec<Spins> = (0..512u32)
            .map(|k| {
                (0..9)
                    .map(|i| if k >> i & 1 == 1 { 1 } else { -1 })
                    .collect()
            })
            .collect();
        let mut exact = std::collections::BTreeMap::<i64, f64>::new();
        for s in &states {
            let e = ising.energy(s);
            *exact.entry(e as i64).or_default() += (-e / t).exp();
        }
        let z: f64 = exact.values().sum();
        let mut rng = gdl_core::seed::host_rng(8);
        let mut chain = ising.chain(ising.random_spins(&mut rng), t);
        chain.run(10_000, &mut rng);
        let n = 400_000;
        let mut counts = std::collections::BTreeMap::<i64, f64>::new();
        let mut abs_m = 0.0;
        for _ in 0..n {
            chain.run(9, &mut rng);
            *counts.entry(ising.energy(&chain.state) as i64).or_default() += 1.0 / n as f64;
            abs_m += ising.magnetisation(&chain.state).abs() / n as f64;
        }
        for (e, w) in &exact {
            let p = w / z;
            let got = counts.get(e).copied().unwrap_or(0.0);
            assert!(
                (got - p).abs() < 0.01 + 0.03 * p,
                "p(E = {e}): {got} vs exact {p}"
            );
        }
        let exact_abs_m: f64 = states
            .iter()
            .map(|s| ising.magnetisation(s).abs() * (-ising.energy(s) / t).exp() / z)
            .sum();
        assert!(
            (abs_m - exact_abs_m).abs() < 0.01,
            "⟨|m|⟩ {abs_m} vs {exact_abs_m}"
        );
    }

    #[test]
    fn orders_below_the_critical_temperature_and_not_above() {
        let ising = Ising::new(16);
        let mut rng = gdl_core::seed::host_rng(2);
        let mean_abs_m = |t: f64, rng: &mut rand::rngs::StdRng| {
            let (samples, _) = ising.sample(t, 50, 300, 5, rng);
            samples
                .iter()
                .map(|s| ising.magnetisation(s).abs())
                .sum::<f64>()
                / 50.0
        };
        let (cold, hot) = (mean_abs_m(1.5, &mut rng), mean_abs_m(4.0, &mut rng));
        assert!(cold > 0.9, "T = 1.5: ⟨|m|⟩ = {cold}");
        assert!(hot < 0.2, "T = 4: ⟨|m|⟩ = {hot}");
        assert!((critical_temperature() - 2.269185).abs() < 1e-6);
    }
}
