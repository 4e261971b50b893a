//! The decoder's distribution p_θ(x|h) over pixels, given the decoder output `out` [N, 784]
//! (one pre-sigmoid value per pixel; the pixel mean is sigmoid(out) for every likelihood).

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};
use gdl_core::functions::sigmoid;
use std::f64::consts::PI;

/// Which p_θ(x|h) the decoder parameterises.
#[derive(Config, Debug, PartialEq)]
pub enum Likelihood {
    /// Independent Bernoulli pixels with probabilities π = sigmoid(out) (binary or grey x).
    Bernoulli,
    /// N(sigmoid(out), σ² I) with a fixed σ.
    Gaussian {
        /// σ.
        sigma: f64,
    },
    /// N(sigmoid(out), diag σ²) with one learned log σ² per pixel, kept within
    /// [`LOG_VAR_RANGE`] so that constant pixels cannot drive the density to infinity.
    GaussianLearned,
}

/// The bounds of a learned per-pixel log σ² (σ from 0.03 to 33).
pub const LOG_VAR_RANGE: (f64, f64) = (-7.0, 7.0);

/// The starting σ of a learned per-pixel variance: 0.1, on the scale of pixels in [0, 1]
/// (from σ = 1 the reconstruction term is too weak against the KL term for the decoder to
/// learn from its code before the posterior collapses onto the prior).
pub const INITIAL_SIGMA: f64 = 0.1;

/// Bernoulli: −log p(x|h) = −Σ_i [x_i log π_i + (1 − x_i) log(1 − π_i)] with π = sigmoid(l).
/// Since log σ(l) = l − softplus(l) and log σ(−l) = −softplus(l), this is
/// Σ_i [softplus(l_i) − x_i l_i] with softplus(l) = max(l, 0) + log(1 + e^(−|l|)): one
/// exponential and one logarithm per pixel, and no log 0 for large |l|. Pixels x_i may be
/// binary or grey levels in [0, 1].
///
/// On Flex, one fused kernel with its own backward (`gdl_core::likelihood`).
///
/// # Shapes
/// `logits`, `x`: [batch, pixels]; returns [batch].
pub fn bernoulli_nll<B: Backend>(logits: Tensor<B, 2>, x: Tensor<B, 2>) -> Tensor<B, 1> {
    gdl_core::likelihood::bernoulli_nll(logits, x)
}

/// log N(h; μ, diag σ²) summed over the last axis: −½ Σ [log 2π + log σ² + (h − μ)²/σ²].
pub fn log_normal<B: Backend>(
    h: Tensor<B, 2>,
    mu: Tensor<B, 2>,
    log_var: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let sq = (h - mu).powi_scalar(2) / log_var.clone().exp();
    (sq + log_var)
        .add_scalar((2.0 * PI).ln())
        .sum_dim(1)
        .squeeze_dim::<1>(1)
        .mul_scalar(-0.5)
}

/// Gaussian: −log N(x; μ, diag σ²) = ½ Σ_i [log 2π + log σ²_i + (x_i − μ_i)² / σ²_i].
///
/// # Shapes
/// `mean`, `x`: [batch, pixels]; `log_var`: [1, pixels] (broadcast) or [batch, pixels];
/// returns [batch].
pub fn gaussian_nll<B: Backend>(
    mean: Tensor<B, 2>,
    x: Tensor<B, 2>,
    log_var: Tensor<B, 2>,
) -> Tensor<B, 1> {
    // −log N(x; mean, diag σ²), the density the IWAE weights use too
    log_normal(x, mean, log_var).neg()
}

impl Likelihood {
    /// −log p(x|h) [N] from the decoder output `out` [N, 784]; `learned_log_var` [784] is the
    /// learned per-pixel log σ² (used by [`Likelihood::GaussianLearned`] only).
    pub fn nll<B: Backend>(
        &self,
        out: Tensor<B, 2>,
        x: Tensor<B, 2>,
        learned_log_var: Option<Tensor<B, 1>>,
    ) -> Tensor<B, 1> {
        match self {
            Likelihood::Bernoulli => bernoulli_nll(out, x),
            Likelihood::Gaussian { sigma } => {
                let log_var = out.full_like(2.0 * sigma.ln()); // in out's dtype
                gaussian_nll(sigmoid(out), x, log_var)
            }
            Likelihood::GaussianLearned => {
                let log_var = learned_log_var
                    .expect("GaussianLearned needs the learned log variance")
                    .clamp(LOG_VAR_RANGE.0, LOG_VAR_RANGE.1)
                    .unsqueeze_dim::<2>(0);
                gaussian_nll(sigmoid(out), x, log_var)
            }
        }
    }

    /// Whether the decoder carries a learned log σ² per pixel.
    pub fn learns_variance(&self) -> bool {
        matches!(self, Likelihood::GaussianLearned)
    }

    /// The name programs print.
    pub fn describe(&self) -> String {
        match self {
            Likelihood::Bernoulli => "Bernoulli".into(),
            Likelihood::Gaussian { sigma } => format!("Gaussian (σ = {sigma})"),
            Likelihood::GaussianLearned => "Gaussian (learned σ per pixel)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::tensor::{from_f64, to_f64};
    use gdl_core::testing::{TestBackend as B, TestBackendF64 as B64};
    use std::f64::consts::PI;

    fn t(v: [[f32; 3]; 2]) -> Tensor<B, 2> {
        Tensor::from_floats(v, &Default::default())
    }

    #[test]
    fn bernoulli_matches_direct_binary_cross_entropy() {
        let (l, x) = (
            [[0.3f32, -1.2, 2.0], [-0.5, 0.0, 4.0]],
            [[1.0f32, 0.0, 0.25], [0.0, 1.0, 1.0]],
        );
        let out: Vec<f32> = bernoulli_nll(t(l), t(x)).into_data().to_vec().unwrap();
        for n in 0..2 {
            let direct: f64 = (0..3)
                .map(|i| {
                    let p = 1.0 / (1.0 + (-(l[n][i] as f64)).exp());
                    let xi = x[n][i] as f64;
                    -(xi * p.ln() + (1.0 - xi) * (1.0 - p).ln())
                })
                .sum();
            assert!((out[n] as f64 - direct).abs() < 1e-5, "{} {direct}", out[n]);
        }
    }

    #[test]
    fn bernoulli_stable_for_saturated_logits() {
        // Confidently right: loss ~ 0. Confidently wrong by 100: loss ~ 100 per pixel, finite.
        let out: Vec<f32> = bernoulli_nll(
            t([[100.0, -100.0, 100.0], [100.0, 0.0, 0.0]]),
            t([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]),
        )
        .into_data()
        .to_vec()
        .unwrap();
        assert!(out[0].abs() < 1e-6);
        assert!(
            (out[1] - (100.0 + 2.0 * 2f32.ln())).abs() < 1e-3,
            "{}",
            out[1]
        );
    }

    #[test]
    fn gaussian_matches_the_scalar_density() {
        // Fixed σ = 0.5 and a learned log σ² per pixel, against the scalar normal density.
        let d = Default::default();
        let (out, x) = (vec![0.4, -2.0, 1.0], vec![0.3, 0.9, 0.5]);
        let mean: Vec<f64> = out.iter().map(|o: &f64| 1.0 / (1.0 + (-o).exp())).collect();
        let density =
            |x: f64, m: f64, v: f64| (-(x - m).powi(2) / (2.0 * v)).exp() / (2.0 * PI * v).sqrt();
        let nll =
            |vars: &[f64]| -> f64 { (0..3).map(|i| -density(x[i], mean[i], vars[i]).ln()).sum() };
        let o = || from_f64::<B64, 2>(out.clone(), [1, 3], &d);
        let xs = || from_f64::<B64, 2>(x.clone(), [1, 3], &d);
        let fixed = to_f64(Likelihood::Gaussian { sigma: 0.5 }.nll(o(), xs(), None))[0];
        assert!((fixed - nll(&[0.25; 3])).abs() < 1e-12, "{fixed}");
        // log σ² = 9 is clamped to 7.
        let lv = vec![-1.0, 0.5, 9.0];
        let learned = to_f64(Likelihood::GaussianLearned.nll(
            o(),
            xs(),
            Some(from_f64::<B64, 1>(lv, [3], &d)),
        ))[0];
        let vars = [(-1.0f64).exp(), 0.5f64.exp(), 7.0f64.exp()];
        assert!((learned - nll(&vars)).abs() < 1e-12, "{learned}");
    }

    #[test]
    fn config_round_trips_through_json() {
        let l = Likelihood::Gaussian { sigma: 0.1 };
        let json = l.to_string();
        assert_eq!(Likelihood::load_binary(json.as_bytes()).ok(), Some(l));
    }

    #[test]
    fn log_normal_matches_the_scalar_density() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        let h = from_f64::<B64, 2>(vec![0.3, -1.0], [1, 2], &d);
        let mu = from_f64::<B64, 2>(vec![0.1, 0.5], [1, 2], &d);
        let lv = from_f64::<B64, 2>(vec![0.2, -0.7], [1, 2], &d);
        let got = to_f64(log_normal(h, mu, lv))[0];
        let density =
            |x: f64, m: f64, v: f64| (-(x - m).powi(2) / (2.0 * v)).exp() / (2.0 * PI * v).sqrt();
        let expected =
            density(0.3, 0.1, 0.2f64.exp()).ln() + density(-1.0, 0.5, (-0.7f64).exp()).ln();
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    }
}
