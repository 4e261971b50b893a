//! Annealed importance sampling of log Z for a binary RBM (Salakhutdinov and Murray 2008).
//!
//! | symbol | meaning |
//! |---|---|
//! | p_A | the base-rate model: W = 0, visible biases a_A from the data's pixel means |
//! | p_B | the RBM (W, a, b) whose log Z_B is wanted |
//! | β_k | inverse temperatures 0 = β_0 < β_1 < ... < β_K = 1 |
//! | c(x) | b + xᵀW, the hidden input of p_B |
//!
//! The intermediate distributions, with the hidden units summed out:
//!
//! ```text
//! log p*_β(x) = (1 − β) a_Aᵀx + β a_Bᵀx + Σ_j softplus(β c_j(x))
//! log Z_0     = Σ_i softplus(a_A,i) + n_h log 2
//! ```
//!
//! (at β = 0 each hidden unit contributes softplus(0) = log 2 whatever x is).
//!
//! 1. x_1 ~ p_A (independent Bernoulli(sigmoid(a_A))).
//! 2. For k = 1..K: log w += log p*_{β_k}(x_k) − log p*_{β_{k−1}}(x_k); then x_{k+1} ~ T_k(x_k),
//!    one Gibbs step that leaves p_{β_k} invariant: h ~ sigmoid(β_k c(x)),
//!    x ~ sigmoid((1 − β_k) a_A + β_k (a_B + W h)).
//! 3. Ẑ_B = Z_A · mean(w) over M independent runs; the spread reported is
//!    log(Ẑ ± 3σ̂) with σ̂ the standard error of mean(w).

use crate::rbm::train::mean_free_energy;
use crate::rbm::{bernoulli, Rbm, Visible};
use burn::tensor::{backend::Backend, Tensor};
use gdl_core::functions::{sigmoid, softplus};
use gdl_core::run::Progress;
use gdl_core::tensor::{from_f64, to_f64};
use gdl_core::{Error, Result};
use gdl_mnist::{MnistData, Transform, PIXELS};

/// How many runs and temperatures (defaults: S&M's 100 runs and 14,500 temperatures).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AisConfig {
    /// M, independent annealing runs.
    pub runs: usize,
    /// K, intermediate distributions.
    pub temperatures: usize,
}

impl Default for AisConfig {
    fn default() -> Self {
        AisConfig {
            runs: 100,
            temperatures: 14_500,
        }
    }
}

/// An AIS estimate of log Z with its spread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AisEstimate {
    /// log Ẑ_B.
    pub log_z: f64,
    /// log(Ẑ_B − 3σ̂) (−∞ when the interval reaches 0) and log(Ẑ_B + 3σ̂).
    pub log_z_low: f64,
    /// log(Ẑ_B + 3σ̂).
    pub log_z_high: f64,
    /// log Z_0 of the start distribution (the base-rate model with the n_h hidden units).
    pub log_z_base: f64,
}

/// S&M's schedule shape for any K: β rises linearly to 0.5 over the first 1/29 of the steps,
/// to 0.9 over the next 8/29, to 1 over the last 20/29 (500, 4,000, 10,000 steps of 14,500).
pub fn beta_schedule(k: usize) -> Vec<f64> {
    let k = k.max(1);
    let knots = [(0.0, 0.0), (1.0 / 29.0, 0.5), (9.0 / 29.0, 0.9), (1.0, 1.0)];
    (0..=k)
        .map(|i| {
            let t = i as f64 / k as f64;
            let s = knots
                .windows(2)
                .find(|w| t <= w[1].0)
                .unwrap_or(&knots[2..4]);
            let ((t0, b0), (t1, b1)) = (s[0], s[1]);
            b0 + (b1 - b0) * (t - t0) / (t1 - t0)
        })
        .collect()
}

/// The base-rate visible biases a_A,i = log(p̄_i / (1 − p̄_i)) from pixel means p̄, smoothed as
/// (p̄·n + 1)/(n + 2) so that pixels never seen on (or off) stay finite.
pub fn base_rate_biases(pixel_means: &[f64], n: usize) -> Vec<f64> {
    pixel_means
        .iter()
        .map(|&p| {
            let q = (p * n as f64 + 1.0) / (n as f64 + 2.0);
            (q / (1.0 - q)).ln()
        })
        .collect()
}

/// log(mean(exp(v))) and the log of its 3σ interval, in f64.
fn log_mean_exp_with_spread(v: &[f64]) -> (f64, f64, f64) {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = v.iter().map(|x| (x - m).exp()).collect(); // w / e^m
    let n = w.len() as f64;
    let mean = w.iter().sum::<f64>() / n;
    let sd = (w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let se = sd / n.sqrt();
    let low = if mean > 3.0 * se {
        m + (mean - 3.0 * se).ln()
    } else {
        f64::NEG_INFINITY
    };
    (m + mean.ln(), low, m + (mean + 3.0 * se).ln())
}

/// Estimates log Z of a binary RBM by AIS from the base-rate model with visible biases
/// `base_biases` [n_v], with progress.
pub fn ais_log_z<B: Backend>(
    rbm: &Rbm<B>,
    base_biases: &[f64],
    cfg: &AisConfig,
    device: &B::Device,
) -> Result<AisEstimate> {
    let (nv, nh) = rbm.dims();
    if rbm.visible != Visible::Binary {
        return Err(Error::invalid("RBM", "AIS here needs binary visible units"));
    }
    if base_biases.len() != nv || cfg.runs == 0 || cfg.temperatures == 0 {
        return Err(Error::invalid(
            "AIS",
            format!(
                "{} base biases for {nv} visible units, {} runs, {} temperatures",
                base_biases.len(),
                cfg.runs,
                cfg.temperatures
            ),
        ));
    }
    let a_base = from_f64::<B, 1>(base_biases.to_vec(), [nv], device).unsqueeze_dim::<2>(0);
    let (a, b, w) = (rbm.a.val().unsqueeze_dim::<2>(0), rbm.b.val(), rbm.w.val());
    let betas = beta_schedule(cfg.temperatures);
    // log p*_β(x) from x and c(x) = b + xW
    let log_p_star = |x: &Tensor<B, 2>, c: &Tensor<B, 2>, beta: f64| -> Tensor<B, 1> {
        let visible =
            x.clone() * (a_base.clone().mul_scalar(1.0 - beta) + a.clone().mul_scalar(beta));
        (visible.sum_dim(1) + softplus(c.clone().mul_scalar(beta)).sum_dim(1)).squeeze_dim::<1>(1)
    };
    // 1. x ~ p_A
    let mut x = bernoulli(sigmoid(a_base.clone()).repeat_dim(0, cfg.runs));
    let mut log_w = vec![0.0; cfg.runs];
    let mut pending = Tensor::<B, 1>::zeros([cfg.runs], device);
    let progress = Progress::new(cfg.temperatures as u64, "AIS");
    let mut reported = 0;
    for k in 1..=cfg.temperatures {
        // c(x) = b + xW [M, n_h]
        let c = x.clone().matmul(w.clone()) + b.clone().unsqueeze_dim(0);
        // 2. log w += log p*_k(x) − log p*_{k−1}(x)
        pending = pending + log_p_star(&x, &c, betas[k]) - log_p_star(&x, &c, betas[k - 1]);
        // then one Gibbs step at β_k
        let h = bernoulli(sigmoid(c.mul_scalar(betas[k])));
        let input = a_base.clone().mul_scalar(1.0 - betas[k])
            + (h.matmul(w.clone().transpose()) + a.clone()).mul_scalar(betas[k]);
        x = bernoulli(sigmoid(input));
        // Accumulate on the host in f64 every 100 steps (f32 sums of 14,500 terms drift).
        if k % 100 == 0 || k == cfg.temperatures {
            for (lw, p) in log_w.iter_mut().zip(to_f64(pending)) {
                *lw += p;
            }
            pending = Tensor::zeros([cfg.runs], device);
            progress.inc((k - reported) as u64);
            reported = k;
        }
    }
    progress.finish();
    // 3. log Ẑ_B = log Z_0 + log mean w
    let log_z_base: f64 = base_biases
        .iter()
        .map(|&t| crate::rbm::exact::softplus(t))
        .sum::<f64>()
        + nh as f64 * std::f64::consts::LN_2;
    let (lm, low, high) = log_mean_exp_with_spread(&log_w);
    Ok(AisEstimate {
        log_z: log_z_base + lm,
        log_z_low: log_z_base + low,
        log_z_high: log_z_base + high,
        log_z_base,
    })
}

/// p̄_i, the mean grey level of pixel i over `data`: the probability that its binarised value
/// is 1 (the base-rate model's data).
pub fn pixel_means(data: &MnistData) -> Vec<f64> {
    let mut sum = vec![0.0; PIXELS];
    for i in 0..data.len() {
        for (s, &p) in sum.iter_mut().zip(data.image(i)) {
            *s += p as f64 / 255.0;
        }
    }
    sum.iter().map(|s| s / data.len().max(1) as f64).collect()
}

/// The mean log-likelihood of digits under a binary RBM, in nats per digit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogLikelihood {
    /// mean −F(x) − log Ẑ.
    pub mean: f64,
    /// The same with log(Ẑ + 3σ̂) and log(Ẑ − 3σ̂): the interval from AIS's spread.
    pub low: f64,
    /// The upper end of the interval.
    pub high: f64,
    /// The AIS estimate used.
    pub log_z: AisEstimate,
}

/// log p(x) = −F(x) − log Z averaged over `test` (pixels by `transform`), with log Z by AIS
/// from the base-rate model of `train`'s pixel means (Salakhutdinov and Murray 2008).
pub fn rbm_log_likelihood<B: Backend>(
    rbm: &Rbm<B>,
    train: &MnistData,
    test: &MnistData,
    transform: Transform,
    cfg: &AisConfig,
    device: &B::Device,
) -> Result<LogLikelihood> {
    let base = base_rate_biases(&pixel_means(train), train.len());
    let log_z = ais_log_z(rbm, &base, cfg, device)?;
    let free = mean_free_energy(rbm, test, transform, &|x| x, device);
    Ok(LogLikelihood {
        mean: -free - log_z.log_z,
        low: -free - log_z.log_z_high,
        high: -free - log_z.log_z_low,
        log_z,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_has_the_published_shape() {
        let b = beta_schedule(14_500);
        assert_eq!((b.len(), b[0], b[14_500]), (14_501, 0.0, 1.0));
        assert!((b[500] - 0.5).abs() < 1e-12 && (b[4_500] - 0.9).abs() < 1e-12);
        assert!(b.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(beta_schedule(1), vec![0.0, 1.0]);
    }

    #[test]
    fn log_mean_exp_is_stable_and_brackets() {
        let (m, lo, hi) = log_mean_exp_with_spread(&[1000.0, 1000.0 + 2f64.ln()]);
        assert!((m - (1000.0 + 1.5f64.ln())).abs() < 1e-12);
        assert!(lo < m && m < hi);
    }

    #[test]
    fn base_rates_are_finite_log_odds() {
        let a = base_rate_biases(&[0.0, 0.5, 1.0], 98);
        assert!((a[1]).abs() < 1e-12 && a[0] < -4.0 && a[2] > 4.0);
        assert!((a[0] + a[2]).abs() < 1e-12 && (a[2] - 99f64.ln()).abs() < 1e-12);
    }
}
