//! Divergences between probability distributions.
//!
//! * Kullback-Leibler: D_KL(p || q) = Σ_i p_i ln(p_i / q_i), with 0 ln(0/q) = 0 and
//!   p_i ln(p_i / 0) = +∞. D_KL >= 0 (Gibbs' inequality), = 0 iff p = q, and not symmetric.
//! * Jensen-Shannon: JS(p, q) = ½ D_KL(p || m) + ½ D_KL(q || m), m = ½(p + q); symmetric and
//!   bounded by ln 2 (reached for disjoint supports).
//! * Diagonal Gaussians q = N(μ_q, diag σ_q²), p = N(μ_p, diag σ_p²):
//!   D_KL(q || p) = ½ Σ_j [ ln σ_p,j² − ln σ_q,j² + (σ_q,j² + (μ_q,j − μ_p,j)²) / σ_p,j² − 1 ].
//!   Against the standard normal prior this is the VAE's −½ Σ_j (1 + ln σ_j² − μ_j² − σ_j²).
//!
//! All values are in nats.

use crate::{Error, Result};
use burn::tensor::{backend::Backend, Tensor};

/// Tolerance on Σ p_i = 1 for discrete distributions.
const SUM_TOL: f64 = 1e-6;

fn check_distribution(name: &str, p: &[f64]) -> Result<()> {
    if p.is_empty() {
        return Err(Error::invalid(name, "empty distribution"));
    }
    if let Some((i, v)) = p
        .iter()
        .enumerate()
        .find(|(_, v)| !v.is_finite() || **v < 0.0)
    {
        return Err(Error::invalid(
            name,
            format!("p[{i}] = {v} is not a probability"),
        ));
    }
    let sum: f64 = p.iter().sum();
    if (sum - 1.0).abs() > SUM_TOL {
        return Err(Error::invalid(name, format!("sums to {sum}, not 1")));
    }
    Ok(())
}

fn check_pair(p: &[f64], q: &[f64]) -> Result<()> {
    check_distribution("p", p)?;
    check_distribution("q", q)?;
    if p.len() != q.len() {
        return Err(Error::invalid(
            "distributions",
            format!("p has {} outcomes, q has {}", p.len(), q.len()),
        ));
    }
    Ok(())
}

/// D_KL(p || q) = Σ p_i ln(p_i / q_i) for discrete distributions over the same outcomes.
pub fn kl(p: &[f64], q: &[f64]) -> Result<f64> {
    check_pair(p, q)?;
    Ok(kl_unchecked(p, q))
}

fn kl_unchecked(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .map(|(&pi, &qi)| {
            if pi == 0.0 {
                0.0 // 0 ln(0/q) = 0
            } else if qi == 0.0 {
                f64::INFINITY // p ln(p/0) = +∞
            } else {
                pi * (pi / qi).ln()
            }
        })
        .sum()
}

/// JS(p, q) = ½ D_KL(p || m) + ½ D_KL(q || m) with m = ½(p + q).
pub fn js(p: &[f64], q: &[f64]) -> Result<f64> {
    check_pair(p, q)?;
    let m: Vec<f64> = p.iter().zip(q).map(|(a, b)| 0.5 * (a + b)).collect();
    Ok(0.5 * kl_unchecked(p, &m) + 0.5 * kl_unchecked(q, &m))
}

/// D_KL(N(μ_q, diag σ_q²) || N(μ_p, diag σ_p²)) from means and log-variances (host f64).
pub fn kl_diag_gaussians(
    mu_q: &[f64],
    log_var_q: &[f64],
    mu_p: &[f64],
    log_var_p: &[f64],
) -> Result<f64> {
    let d = mu_q.len();
    if [log_var_q.len(), mu_p.len(), log_var_p.len()] != [d; 3] {
        return Err(Error::invalid(
            "Gaussian parameters",
            format!(
                "lengths differ: mu_q {d}, log_var_q {}, mu_p {}, log_var_p {}",
                log_var_q.len(),
                mu_p.len(),
                log_var_p.len()
            ),
        ));
    }
    Ok((0..d)
        .map(|j| {
            let (sigma2_q, sigma2_p) = (log_var_q[j].exp(), log_var_p[j].exp());
            // ½ [ln σ_p² − ln σ_q² + (σ_q² + (μ_q − μ_p)²)/σ_p² − 1]
            0.5 * (log_var_p[j] - log_var_q[j]
                + (sigma2_q + (mu_q[j] - mu_p[j]).powi(2)) / sigma2_p
                - 1.0)
        })
        .sum())
}

/// Per-row D_KL(N(μ, diag exp(log_var)) || N(0, I)) = −½ Σ_j (1 + log_var_j − μ_j² − exp(log_var_j)).
///
/// # Shapes
/// `mu`, `log_var`: [batch, d]; returns [batch].
pub fn kl_diag_gaussian_std_normal<B: Backend>(
    mu: Tensor<B, 2>,
    log_var: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let terms = log_var.clone().add_scalar(1.0) - mu.powi_scalar(2) - log_var.exp();
    terms.sum_dim(1).squeeze_dim::<1>(1).mul_scalar(-0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::LN_2;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn kl_hand_computed_and_asymmetric() {
        let _serial = crate::seed::serial();
        let (p, q) = ([0.5, 0.5], [0.9, 0.1]);
        // ½ ln(0.5/0.9) + ½ ln(0.5/0.1) = ½(−0.5877866649) + ½(1.6094379124)
        assert!(close(kl(&p, &q).unwrap(), 0.5108256238, 1e-9));
        // 0.9 ln(1.8) + 0.1 ln(0.2) = 0.5290079984 − 0.1609437912
        assert!(close(kl(&q, &p).unwrap(), 0.3680642071, 1e-9));
        assert!(kl(&p, &q).unwrap() != kl(&q, &p).unwrap());
    }

    #[test]
    fn kl_is_zero_iff_equal_and_nonnegative() {
        let _serial = crate::seed::serial();
        let p = [0.2, 0.3, 0.5];
        assert_eq!(kl(&p, &p).unwrap(), 0.0);
        // A small deterministic family of distributions: KL >= 0, > 0 when they differ.
        let family: Vec<[f64; 3]> = (1..8)
            .flat_map(|a| (1..8).map(move |b| (a, b)))
            .filter(|(a, b)| a + b < 10)
            .map(|(a, b)| [a as f64 / 10.0, b as f64 / 10.0, (10 - a - b) as f64 / 10.0])
            .collect();
        for p in &family {
            for q in &family {
                let d = kl(p, q).unwrap();
                if p == q {
                    assert!(d.abs() < 1e-15);
                } else {
                    assert!(d > 0.0, "{p:?} {q:?}");
                }
            }
        }
    }

    #[test]
    fn kl_support_conventions() {
        let _serial = crate::seed::serial();
        assert!(close(kl(&[1.0, 0.0], &[0.5, 0.5]).unwrap(), LN_2, 1e-12));
        assert_eq!(kl(&[0.5, 0.5], &[1.0, 0.0]).unwrap(), f64::INFINITY);
    }

    #[test]
    fn js_symmetric_bounded_by_ln2() {
        let _serial = crate::seed::serial();
        let (p, q) = ([0.5, 0.5], [0.9, 0.1]);
        let (a, b) = (js(&p, &q).unwrap(), js(&q, &p).unwrap());
        assert!(close(a, b, 1e-15));
        assert!(a > 0.0 && a < LN_2);
        // Hand computation: m = (0.7, 0.3).
        let m = [0.7, 0.3];
        let hand = 0.5 * (0.5 * (0.5f64 / 0.7).ln() + 0.5 * (0.5f64 / 0.3).ln())
            + 0.5 * (0.9 * (0.9f64 / 0.7).ln() + 0.1 * (0.1f64 / 0.3).ln());
        assert!(close(a, hand, 1e-12), "{a} {hand} {m:?}");
        // Disjoint supports reach the bound exactly.
        assert!(close(js(&[1.0, 0.0], &[0.0, 1.0]).unwrap(), LN_2, 1e-15));
        assert_eq!(js(&p, &p).unwrap(), 0.0);
    }

    #[test]
    fn invalid_distributions_are_named() {
        let _serial = crate::seed::serial();
        assert!(kl(&[0.5, 0.6], &[0.5, 0.5])
            .unwrap_err()
            .to_string()
            .contains("invalid p"));
        assert!(kl(&[0.5, 0.5], &[-0.5, 1.5])
            .unwrap_err()
            .to_string()
            .contains("invalid q"));
        assert!(kl(&[1.0], &[0.5, 0.5])
            .unwrap_err()
            .to_string()
            .contains("1 outcomes"));
        assert!(js(&[], &[]).is_err());
        assert!(kl_diag_gaussians(&[0.0], &[0.0, 1.0], &[0.0], &[0.0]).is_err());
    }

    #[test]
    fn gaussian_kl_closed_form() {
        let _serial = crate::seed::serial();
        // KL(N(1, 4) || N(0, 1)) = ½ [ln(1/4) + 4 + 1 − 1] = ½ (4 − ln 4)
        let v = kl_diag_gaussians(&[1.0], &[4f64.ln()], &[0.0], &[0.0]).unwrap();
        assert!(close(v, 0.5 * (4.0 - 4f64.ln()), 1e-12));
        // Independent dimensions add; equal Gaussians give 0.
        let two = kl_diag_gaussians(&[1.0, 1.0], &[4f64.ln(); 2], &[0.0; 2], &[0.0; 2]).unwrap();
        assert!(close(two, 2.0 * v, 1e-12));
        assert_eq!(
            kl_diag_gaussians(&[0.3], &[0.2], &[0.3], &[0.2]).unwrap(),
            0.0
        );
        // KL(N(0,1) || N(2, 9)) = ½ [ln 9 − 0 + (1 + 4)/9 − 1]
        let w = kl_diag_gaussians(&[0.0], &[0.0], &[2.0], &[9f64.ln()]).unwrap();
        assert!(close(w, 0.5 * (9f64.ln() + 5.0 / 9.0 - 1.0), 1e-12));
    }

    #[test]
    fn gaussian_kl_matches_monte_carlo() {
        let _serial = crate::seed::serial();
        // E_q[ln q(x) − ln p(x)] by sampling q with a seeded Box-Muller draw.
        use rand::{Rng, SeedableRng};
        let (mu_q, s_q, mu_p, s_p) = (0.7f64, 0.5f64, -0.2f64, 1.3f64);
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let log_n = |x: f64, mu: f64, s: f64| {
            -0.5 * ((x - mu) / s).powi(2) - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
        };
        let n = 400_000;
        let mc: f64 = (0..n)
            .map(|_| {
                let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                let x = mu_q + s_q * z;
                log_n(x, mu_q, s_q) - log_n(x, mu_p, s_p)
            })
            .sum::<f64>()
            / n as f64;
        let exact =
            kl_diag_gaussians(&[mu_q], &[(s_q * s_q).ln()], &[mu_p], &[(s_p * s_p).ln()]).unwrap();
        // Standard error of the estimate is about 3e-4 here.
        assert!(close(mc, exact, 2e-3), "mc {mc} exact {exact}");
    }

    #[cfg(feature = "ndarray")]
    #[test]
    fn tensor_kl_matches_host_formula() {
        let _serial = crate::seed::serial();
        type B = crate::backend::NdArray;
        let device = Default::default();
        let mu = [[0.5f32, -1.0, 0.0], [2.0, 0.1, -0.3]];
        let lv = [[0.0f32, 0.7, -1.2], [0.3, -0.4, 1.1]];
        let out: Vec<f32> = kl_diag_gaussian_std_normal(
            Tensor::<B, 2>::from_floats(mu, &device),
            Tensor::<B, 2>::from_floats(lv, &device),
        )
        .into_data()
        .to_vec()
        .unwrap();
        for r in 0..2 {
            let m: Vec<f64> = mu[r].iter().map(|&v| v as f64).collect();
            let l: Vec<f64> = lv[r].iter().map(|&v| v as f64).collect();
            let host = kl_diag_gaussians(&m, &l, &[0.0; 3], &[0.0; 3]).unwrap();
            assert!(close(out[r] as f64, host, 1e-5), "{} {host}", out[r]);
        }
    }
}
