//! The two-dimensional Ising model on an L x L periodic lattice, sampled by Metropolis.
//!
//! E(s) = −J Σ_⟨ij⟩ s_i s_j over nearest-neighbour pairs, s_i ∈ {−1, +1}, p(s) ∝ e^(−E(s)/T).
//! Flipping spin i changes the energy by ΔE = 2 J s_i Σ_{j ∈ nbr(i)} s_j. Onsager's critical
//! temperature is T_c = 2J / ln(1 + √2) ≈ 2.269 J: below it the lattice orders (|m| → 1),
//! above it the magnetisation m = (1/L²) Σ s_i vanishes.

use crate::mcmc::metropolis::{Metropolis, MetropolisTarget};
use rand::Rng;

/// T_c = 2 / ln(1 + √2) for J = 1.
pub fn critical_temperature() -> f64 {
    2.0 / (1.0 + 2f64.sqrt()).ln()
}

/// An L x L periodic lattice with coupling J.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ising {
    /// L, spins per side.
    pub side: usize,
    /// J.
    pub coupling: f64,
}

/// Spins ±1, row-major.
pub type Spins = Vec<i8>;

impl Ising {
    /// An L x L lattice with J = 1.
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

/// Energy per spin E/N and magnetisation m of each configuration.
pub fn observables(ising: &Ising, configs: &[Spins]) -> (Vec<f64>, Vec<f64>) {
    let n = (ising.side * ising.side) as f64;
    configs
        .iter()
        .map(|s| (ising.energy(s) / n, ising.magnetisation(s)))
        .unzip()
}

/// The normalised histogram of `v` on `bins` equal bins over [lo, hi] (values outside fall in
/// the end bins), as (bin centre, frequency).
pub fn histogram(v: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<(f64, f64)> {
    let bins = bins.max(1);
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0.0; bins];
    for &x in v {
        let b = ((x - lo) / width).floor().clamp(0.0, (bins - 1) as f64) as usize;
        counts[b] += 1.0 / v.len() as f64;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(b, c)| (lo + (b as f64 + 0.5) * width, c))
        .collect()
}

/// The total-variation distance ½ Σ_b |p_b − q_b| between two histograms on the same bins.
pub fn total_variation(p: &[(f64, f64)], q: &[(f64, f64)]) -> f64 {
    0.5 * p.iter().zip(q).map(|(a, b)| (a.1 - b.1).abs()).sum::<f64>()
}

/// The spins ±1 of `configs` as RBM units (s + 1)/2 ∈ {0, 1}, one row per configuration.
pub fn spins_to_units(configs: &[Spins]) -> Vec<f64> {
    configs
        .iter()
        .flat_map(|s| s.iter().map(|&x| (x as f64 + 1.0) / 2.0))
        .collect()
}

/// RBM units back to spins: s = +1 where the unit is above ½, else −1; `spins` per row.
pub fn units_to_spins(units: &[f64], spins: usize) -> Vec<Spins> {
    units
        .chunks(spins.max(1))
        .map(|c| c.iter().map(|&u| if u > 0.5 { 1 } else { -1 }).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_energy_change_equals_the_difference_of_energies() {
        let _serial = gdl_core::seed::serial();
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
        let _serial = gdl_core::seed::serial();
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
        // 400,000 samples one sweep apart in 100 batches; a level's frequency is compared with
        // its exact probability within 5 standard errors estimated from the spread of the batch
        // frequencies (batch means: the error of correlated Markov-chain samples).
        let (batches, per_batch) = (100, 4_000);
        let mut counts = std::collections::BTreeMap::<i64, Vec<f64>>::new();
        let mut abs_m = 0.0;
        for b in 0..batches {
            for _ in 0..per_batch {
                chain.run(9, &mut rng);
                let level = counts
                    .entry(ising.energy(&chain.state) as i64)
                    .or_insert_with(|| vec![0.0; batches]);
                level[b] += 1.0 / per_batch as f64;
                abs_m += ising.magnetisation(&chain.state).abs() / (batches * per_batch) as f64;
            }
        }
        assert_eq!(
            counts.keys().collect::<Vec<_>>(),
            exact.keys().collect::<Vec<_>>(),
            "the chain visits exactly the possible levels"
        );
        for (e, w) in &exact {
            let p = w / z;
            let f = &counts[e];
            let mean = f.iter().sum::<f64>() / batches as f64;
            let var = f.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (batches - 1) as f64;
            let se = (var / batches as f64).sqrt();
            assert!(
                (mean - p).abs() < 5.0 * se,
                "p(E = {e}): {mean} vs exact {p} (standard error {se})"
            );
            // The error bars are tight: a quarter of the probability of the rarest level
            // (p ≈ 0.002) at most, and far less for the others.
            assert!(5.0 * se < 0.25 * p, "p(E = {e}) = {p}: standard error {se}");
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
        let _serial = gdl_core::seed::serial();
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

    #[test]
    fn observables_histograms_and_their_distance() {
        let _serial = gdl_core::seed::serial();
        let ising = Ising::new(2);
        // Two bonds (right, down) per site, J = 1: all up gives E = −2N, m = 1; the
        // checkerboard, every bond anti-aligned, E = +2N, m = 0.
        let up: Spins = vec![1; 4];
        let board: Spins = vec![1, -1, -1, 1];
        let (e, m) = observables(&ising, &[up.clone(), board.clone()]);
        assert_eq!(e, vec![-2.0, 2.0]);
        assert_eq!(m, vec![1.0, 0.0]);
        // Values outside [lo, hi] fall in the end bins.
        let h = histogram(&[0.1, 0.2, 5.0, -3.0], 0.0, 1.0, 2);
        assert_eq!(h, vec![(0.25, 0.75), (0.75, 0.25)]);
        let g = histogram(&[0.1, 0.9], 0.0, 1.0, 2);
        assert_eq!(g, vec![(0.25, 0.5), (0.75, 0.5)]);
        assert_eq!(total_variation(&h, &g), 0.25);
        assert_eq!(total_variation(&h, &h), 0.0);
        let units = spins_to_units(std::slice::from_ref(&board));
        assert_eq!(units, vec![1.0, 0.0, 0.0, 1.0]);
        assert_eq!(units_to_spins(&units, 4), vec![board]);
    }
}
