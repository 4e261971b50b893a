//! Noise schedules: β_t for t = 1..T and the derived tables, in f64 (index t − 1 holds step t;
//! the accessors take t itself, with ᾱ_0 = 1). Samplers and networks live elsewhere.
//!
//! | table | definition |
//! |---|---|
//! | `beta` | β_t |
//! | `alpha` | α_t = 1 − β_t |
//! | `alpha_bar` | ᾱ_t = Π_{s=1}^{t} α_s (DDIM writes this α_t: mind the clash) |
//! | `posterior_variance` | β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t, with ᾱ_0 = 1 |

use burn::config::Config;
use gdl_core::Error;

/// Which β_t.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ScheduleKind {
    /// β_t from 1e−4 to 0.02, evenly spaced (Ho et al. 2020).
    Linear,
    /// ᾱ_t = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2), s = 0.008, β_t ≤ 0.999
    /// (Nichol & Dhariwal 2021).
    Cosine,
}

impl ScheduleKind {
    /// The schedule of `steps` steps with the published constants.
    pub fn build(self, steps: usize) -> gdl_core::Result<NoiseSchedule> {
        match self {
            ScheduleKind::Linear => NoiseSchedule::linear(steps, 1e-4, 0.02),
            ScheduleKind::Cosine => NoiseSchedule::cosine(steps, 0.008),
        }
    }
}

/// A noise schedule and its derived tables.
#[derive(Clone, Debug, PartialEq)]
pub struct NoiseSchedule {
    /// β_t, the noise added at step t.
    pub beta: Vec<f64>,
    /// α_t = 1 − β_t.
    pub alpha: Vec<f64>,
    /// ᾱ_t = Π_{s≤t} α_s.
    pub alpha_bar: Vec<f64>,
    /// β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t), the variance of q(x_{t−1} | x_t, x_0).
    pub posterior_variance: Vec<f64>,
}

impl NoiseSchedule {
    /// The schedule of the given β_1..β_T, each in (0, 1).
    pub fn from_betas(beta: Vec<f64>) -> gdl_core::Result<Self> {
        if beta.is_empty() {
            return Err(Error::invalid("noise schedule", "needs at least one step"));
        }
        if let Some((t, b)) = beta
            .iter()
            .enumerate()
            .find(|(_, b)| !(**b > 0.0 && **b < 1.0))
        {
            return Err(Error::invalid(
                "noise schedule",
                format!("beta_{} = {b} is not in (0, 1)", t + 1),
            ));
        }
        let alpha: Vec<f64> = beta.iter().map(|b| 1.0 - b).collect();
        // ᾱ_t = ᾱ_{t−1} α_t
        let alpha_bar: Vec<f64> = alpha
            .iter()
            .scan(1.0, |acc, a| {
                *acc *= a;
                Some(*acc)
            })
            .collect();
        // β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) β_t
        let posterior_variance = (0..beta.len())
            .map(|i| {
                let prev = if i == 0 { 1.0 } else { alpha_bar[i - 1] };
                (1.0 - prev) / (1.0 - alpha_bar[i]) * beta[i]
            })
            .collect();
        Ok(NoiseSchedule {
            beta,
            alpha,
            alpha_bar,
            posterior_variance,
        })
    }

    /// The schedule with the given ᾱ_1 > … > ᾱ_T in (0, 1): β_t = 1 − ᾱ_t/ᾱ_{t−1}, ᾱ_0 = 1.
    pub fn from_alpha_bars(alpha_bar: &[f64]) -> gdl_core::Result<Self> {
        let beta = alpha_bar
            .iter()
            .enumerate()
            .map(|(i, ab)| 1.0 - ab / if i == 0 { 1.0 } else { alpha_bar[i - 1] })
            .collect();
        Self::from_betas(beta)
    }

    /// Ho et al. (2020)'s linear schedule: β_t evenly spaced from `beta_1` to `beta_t` over `steps`.
    pub fn linear(steps: usize, beta_1: f64, beta_t: f64) -> gdl_core::Result<Self> {
        if steps < 2 {
            return Err(Error::invalid(
                "steps",
                format!("{steps}; a linear schedule needs at least 2"),
            ));
        }
        let beta = (0..steps)
            .map(|i| beta_1 + (beta_t - beta_1) * i as f64 / (steps - 1) as f64)
            .collect();
        Self::from_betas(beta)
    }

    /// Nichol & Dhariwal (2021)'s cosine schedule: ᾱ_t = f(t)/f(0) with
    /// f(t) = cos²((t/T + s)/(1 + s) · π/2), so β_t = 1 − ᾱ_t/ᾱ_{t−1}, clipped at 0.999.
    pub fn cosine(steps: usize, s: f64) -> gdl_core::Result<Self> {
        if steps < 2 || s.is_nan() || s <= 0.0 {
            return Err(Error::invalid(
                "cosine schedule",
                format!("{steps} steps, offset {s}: needs at least 2 steps and s > 0"),
            ));
        }
        let f = |t: usize| {
            ((t as f64 / steps as f64 + s) / (1.0 + s) * std::f64::consts::FRAC_PI_2)
                .cos()
                .powi(2)
        };
        let beta = (1..=steps)
            .map(|t| (1.0 - f(t) / f(t - 1)).min(0.999))
            .collect();
        Self::from_betas(beta)
    }

    /// Number of steps T.
    pub fn steps(&self) -> usize {
        self.beta.len()
    }

    /// ᾱ_t for t = 0..=T (ᾱ_0 = 1).
    pub fn alpha_bar_at(&self, t: usize) -> f64 {
        if t == 0 {
            1.0
        } else {
            self.alpha_bar[t - 1]
        }
    }

    /// β_t for t = 1..=T.
    pub fn beta_at(&self, t: usize) -> f64 {
        self.beta[t - 1]
    }

    /// q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I): the pair (√ᾱ_t, √(1 − ᾱ_t)).
    pub fn marginal(&self, t: usize) -> (f64, f64) {
        let ab = self.alpha_bar_at(t);
        (ab.sqrt(), (1.0 - ab).sqrt())
    }

    /// q(x_{t−1} | x_t, x_0) = N(c₀ x_0 + c_t x_t, β̃_t I) for t = 1..=T: (c₀, c_t, β̃_t) with
    /// c₀ = √ᾱ_{t−1} β_t / (1 − ᾱ_t) and c_t = √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t).
    pub fn posterior(&self, t: usize) -> (f64, f64, f64) {
        let (ab, ab_prev, beta) = (
            self.alpha_bar_at(t),
            self.alpha_bar_at(t - 1),
            self.beta_at(t),
        );
        (
            ab_prev.sqrt() * beta / (1.0 - ab),
            (1.0 - beta).sqrt() * (1.0 - ab_prev) / (1.0 - ab),
            self.posterior_variance[t - 1],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_schedule_pinned_values() {
        let s = NoiseSchedule::linear(1000, 1e-4, 0.02).unwrap();
        assert_eq!(s.steps(), 1000);
        assert_eq!(s.beta[0], 1e-4);
        assert!((s.beta[999] - 0.02).abs() < 1e-15);
        assert!((s.alpha_bar[0] - 0.9999).abs() < 1e-15);
        // ᾱ_T = exp(Σ ln(1 − β_t)), summed independently in log space.
        let log_sum: f64 = (0..1000)
            .map(|i| (1.0 - (1e-4 + (0.02 - 1e-4) * i as f64 / 999.0)).ln())
            .sum();
        assert!((s.alpha_bar[999] / log_sum.exp() - 1.0).abs() < 1e-9);
        // The published value for this schedule: ᾱ_1000 ≈ 4.04e−5.
        assert!(
            (s.alpha_bar[999] - 4.04e-5).abs() < 0.01e-5,
            "{}",
            s.alpha_bar[999]
        );
    }

    #[test]
    fn cosine_schedule_pinned_values() {
        let s = NoiseSchedule::cosine(1000, 0.008).unwrap();
        // ᾱ_t = f(t)/f(0) written out at t = 1, 500, 1000 (the clip at 0.999 acts only at the end).
        let f = |t: f64| {
            ((t / 1000.0 + 0.008) / 1.008 * std::f64::consts::PI / 2.0)
                .cos()
                .powi(2)
        };
        for t in [1usize, 500] {
            assert!(
                (s.alpha_bar_at(t) - f(t as f64) / f(0.0)).abs() < 1e-12,
                "t = {t}"
            );
        }
        // Pinned (Python, math.cos): β_1, β_500, β_1000 and ᾱ_500.
        assert!((s.beta_at(1) - 4.128422482196914e-05).abs() < 1e-15);
        assert!((s.beta_at(500) - 0.0031458862304780677).abs() < 1e-15);
        assert_eq!(s.beta_at(1000), 0.999);
        assert!((s.alpha_bar_at(500) - 0.49384359044063775).abs() < 1e-12);
        assert!((s.alpha_bar_at(1000) - 2.4287669070348542e-09).abs() < 1e-15);
    }

    #[test]
    fn linear_schedule_midpoint() {
        let s = NoiseSchedule::linear(1000, 1e-4, 0.02).unwrap();
        // β_500 = 1e−4 + (0.02 − 1e−4) · 499/999.
        assert!((s.beta_at(500) - (1e-4 + 0.0199 * 499.0 / 999.0)).abs() < 1e-15);
        assert_eq!(s.alpha_bar_at(0), 1.0);
    }

    #[test]
    fn two_steps_by_hand() {
        let s = NoiseSchedule::from_betas(vec![0.1, 0.2]).unwrap();
        assert!((s.alpha_bar[1] - 0.9 * 0.8).abs() < 1e-15);
        // β̃_1 = 0 (x_0 is known given x_1 and x_0); β̃_2 = (1 − 0.9)/(1 − 0.72) · 0.2.
        assert_eq!(s.posterior_variance[0], 0.0);
        assert!((s.posterior_variance[1] - 0.1 / 0.28 * 0.2).abs() < 1e-15);
    }

    #[test]
    fn invalid_betas() {
        assert!(NoiseSchedule::from_betas(vec![0.1, 1.0])
            .unwrap_err()
            .to_string()
            .contains("beta_2"));
        assert!(NoiseSchedule::from_betas(vec![]).is_err());
        assert!(NoiseSchedule::linear(1, 0.1, 0.2).is_err());
    }
}
