//! Noise schedules: β_t for t = 1..T and the derived tables, in f64 (index t − 1 holds step t).
//!
//! | table | definition |
//! |---|---|
//! | `beta` | β_t |
//! | `alpha` | α_t = 1 − β_t |
//! | `alpha_bar` | ᾱ_t = Π_{s=1}^{t} α_s (DDIM writes this α_t: mind the clash) |
//! | `posterior_variance` | β̃_t = (1 − ᾱ_{t−1}) / (1 − ᾱ_t) · β_t, with ᾱ_0 = 1 |

use gdl_core::{Error, Result};

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
    pub fn from_betas(beta: Vec<f64>) -> Result<Self> {
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

    /// Ho et al. (2020)'s linear schedule: β_t evenly spaced from `beta_1` to `beta_t` over `steps`.
    pub fn linear(steps: usize, beta_1: f64, beta_t: f64) -> Result<Self> {
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

    /// Number of steps T.
    pub fn steps(&self) -> usize {
        self.beta.len()
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
