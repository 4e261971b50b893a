//! The negative ELBO, in nats per image, as its two terms.

use burn::tensor::{activation::relu, backend::Backend, Tensor};
use gdl_core::divergence::kl_diag_gaussian_std_normal;

/// Bernoulli decoder: −log p(x|h) = −Σ_i [x_i log π_i + (1 − x_i) log(1 − π_i)] with
/// π = sigmoid(logits). Since log σ(l) = l − softplus(l) and log σ(−l) = −softplus(l), this is
/// Σ_i [softplus(l_i) − x_i l_i] with softplus(l) = max(l, 0) + log(1 + e^(−|l|)): one
/// exponential and one logarithm per pixel, and no log 0 for large |l|. Pixels x_i may be
/// binary or grey levels in [0, 1].
///
/// # Shapes
/// `logits`, `x`: [batch, pixels]; returns [batch].
pub fn bernoulli_nll<B: Backend>(logits: Tensor<B, 2>, x: Tensor<B, 2>) -> Tensor<B, 1> {
    // softplus(l) = max(l, 0) + log1p(e^(−|l|))
    let softplus = relu(logits.clone()) + logits.clone().abs().neg().exp().log1p();
    (softplus - x * logits).sum_dim(1).squeeze_dim::<1>(1)
}

/// The two terms of the negative ELBO, each [batch]: reconstruction −log p(x|h) and
/// D_KL(q(h|x) || N(0, I)).
#[derive(Clone, Debug)]
pub struct NegativeElbo<B: Backend> {
    pub reconstruction: Tensor<B, 1>,
    pub kl: Tensor<B, 1>,
}

impl<B: Backend> NegativeElbo<B> {
    /// −ELBO = reconstruction + β · KL, averaged over the batch (β = 1 is the true bound).
    pub fn mean(&self, beta: f64) -> Tensor<B, 1> {
        (self.reconstruction.clone() + self.kl.clone().mul_scalar(beta)).mean()
    }
}

/// −ELBO of a Bernoulli decoder: reconstruction from `logits` of x, KL from (μ, log σ²).
pub fn negative_elbo_bernoulli<B: Backend>(
    logits: Tensor<B, 2>,
    x: Tensor<B, 2>,
    mu: Tensor<B, 2>,
    log_var: Tensor<B, 2>,
) -> NegativeElbo<B> {
    NegativeElbo {
        reconstruction: bernoulli_nll(logits, x),
        kl: kl_diag_gaussian_std_normal(mu, log_var),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::testing::TestBackend as B;

    fn t(v: [[f32; 3]; 2]) -> Tensor<B, 2> {
        Tensor::from_floats(v, &Default::default())
    }

    #[test]
    fn matches_direct_binary_cross_entropy() {
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
    fn stable_for_saturated_logits() {
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
    fn elbo_combines_terms_with_beta() {
        let d = Default::default();
        let x = Tensor::<B, 2>::ones([2, 4], &d);
        let logits = Tensor::<B, 2>::zeros([2, 4], &d);
        let mu = Tensor::<B, 2>::ones([2, 1], &d);
        let log_var = Tensor::<B, 2>::zeros([2, 1], &d);
        let e = negative_elbo_bernoulli(logits, x, mu, log_var);
        // Reconstruction 4 ln 2; KL(N(1, 1) || N(0, 1)) = ½.
        let full: f32 = e.mean(1.0).into_scalar();
        let half: f32 = e.mean(0.5).into_scalar();
        assert!((full - (4.0 * 2f32.ln() + 0.5)).abs() < 1e-5);
        assert!((half - (4.0 * 2f32.ln() + 0.25)).abs() < 1e-5);
    }
}
