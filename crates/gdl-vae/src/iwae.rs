//! The importance-weighted bound (Burda et al. 2015) on log p(x):
//!
//!   L_k(x) = E[ log (1/k) Σ_{j=1..k} w_j ],  w_j = p(x|h_j) p(h_j) / q(h_j|x),  h_j ~ q(h|x),
//!
//! with L_1 = ELBO <= L_k <= L_{k+1} <= log p(x). The k samples are drawn in chunks and
//! combined by a running log-sum-exp, so large k (500) fits in memory.

use crate::loss::bernoulli_nll;
use crate::model::{reparameterize, Vae};
use burn::tensor::{backend::Backend, Distribution, Tensor};
use gdl_core::tensor::to_f64;
use std::f64::consts::PI;

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

/// log w = log p(x|h) + log N(h; 0, I) − log q(h|x) for one h per image, [N].
fn log_weight<B: Backend>(
    vae: &Vae<B>,
    x: Tensor<B, 2>,
    mu: Tensor<B, 2>,
    log_var: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let eps = mu.random_like(Distribution::Normal(0.0, 1.0));
    let h = reparameterize(mu.clone(), log_var.clone(), eps);
    let log_px_h = bernoulli_nll(vae.decode(h.clone()), x).neg();
    let log_ph = log_normal(h.clone(), h.zeros_like(), h.zeros_like());
    log_px_h + log_ph - log_normal(h, mu, log_var)
}

/// The bound L_k in nats for each image of x [N, 784] (one draw of the k samples).
pub fn iwae_bound<B: Backend>(vae: &Vae<B>, x: Tensor<B, 2>, k: usize) -> Vec<f64> {
    let (mu, log_var) = vae.encode(x.clone());
    let n = x.dims()[0];
    // Running log-sum-exp over the k samples: m = max, s = Σ exp(log w − m).
    let mut m = vec![f64::NEG_INFINITY; n];
    let mut s = vec![0.0; n];
    for _ in 0..k.max(1) {
        let lw = to_f64(log_weight(vae, x.clone(), mu.clone(), log_var.clone()));
        for i in 0..n {
            if lw[i] > m[i] {
                s[i] = s[i] * (m[i] - lw[i]).exp() + 1.0;
                m[i] = lw[i];
            } else {
                s[i] += (lw[i] - m[i]).exp();
            }
        }
    }
    let log_k = (k.max(1) as f64).ln();
    m.iter().zip(&s).map(|(m, s)| m + s.ln() - log_k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::tensor::from_f64;
    use gdl_core::testing::TestBackendF64 as B;

    #[test]
    fn log_normal_matches_the_scalar_density() {
        let d = Default::default();
        let h = from_f64::<B, 2>(vec![0.3, -1.0], [1, 2], &d);
        let mu = from_f64::<B, 2>(vec![0.1, 0.5], [1, 2], &d);
        let lv = from_f64::<B, 2>(vec![0.2, -0.7], [1, 2], &d);
        let got = to_f64(log_normal(h, mu, lv))[0];
        let density =
            |x: f64, m: f64, v: f64| (-(x - m).powi(2) / (2.0 * v)).exp() / (2.0 * PI * v).sqrt();
        let expected =
            density(0.3, 0.1, 0.2f64.exp()).ln() + density(-1.0, 0.5, (-0.7f64).exp()).ln();
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    }
}
