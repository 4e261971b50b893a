//! The ELBO's pieces against independent computations: the analytic KL against a Monte Carlo
//! estimate; the importance-weighted bound's k = 1 case, its growth with k, and its
//! convergence to the exact log p(x) of a linear-Gaussian model.

use burn::tensor::{Distribution, Tensor};
use gdl_core::divergence::kl_diag_gaussian_std_normal;
use gdl_core::seed::seed_all;
use gdl_core::tensor::{from_f64, to_f64};
use gdl_core::testing::TestBackendF64 as B;
use gdl_core::Result;
use gdl_vae::iwae::{iwae_bound, LatentVariableModel};
use gdl_vae::likelihood::log_normal;
use gdl_vae::model::{reparameterize, VaeConfig};
use std::f64::consts::PI;

#[test]
fn analytic_kl_matches_monte_carlo() {
    let _serial = gdl_core::seed::serial();
    // KL(q || p) = E_q[log q(h) − log p(h)], estimated with 200,000 draws h = μ + σε.
    let d = Default::default();
    seed_all::<B>(&d, 3);
    let (mu, lv) = (vec![0.5, -1.2, 0.0], vec![-0.3, 0.4, -1.5]);
    let n = 200_000;
    let rep = |v: &Vec<f64>| from_f64::<B, 2>(v.repeat(n), [n, 3], &d);
    let (m, l) = (rep(&mu), rep(&lv));
    let eps = Tensor::<B, 2>::random([n, 3], Distribution::Normal(0.0, 1.0), &d);
    let h = reparameterize(m.clone(), l.clone(), eps);
    let log_q = log_normal(h.clone(), m, l);
    let log_p = log_normal(h.clone(), h.zeros_like(), h.zeros_like());
    let samples = to_f64(log_q - log_p);
    let mc = samples.iter().sum::<f64>() / n as f64;
    let sd = (samples.iter().map(|s| (s - mc).powi(2)).sum::<f64>() / n as f64).sqrt()
        / (n as f64).sqrt();
    let analytic = to_f64(kl_diag_gaussian_std_normal(
        from_f64::<B, 2>(mu, [1, 3], &d),
        from_f64::<B, 2>(lv, [1, 3], &d),
    ))[0];
    assert!(
        (mc - analytic).abs() < 4.0 * sd,
        "MC {mc} ± {sd} vs analytic {analytic}"
    );
}

#[test]
fn iwae_with_one_sample_is_the_elbo_and_grows_with_k() {
    let _serial = gdl_core::seed::serial();
    // An untrained VAE on fixed binary-ish images; averages over repeats remove the noise.
    let d = Default::default();
    seed_all::<B>(&d, 5);
    let vae = VaeConfig::new()
        .with_d_hidden(32)
        .with_d_latent(4)
        .init::<B>(&d)
        .unwrap();
    let x: Vec<f64> = (0..4 * 784)
        .map(|i| if (i * 7919) % 13 < 4 { 1.0 } else { 0.0 })
        .collect();
    let x = from_f64::<B, 2>(x, [4, 784], &d);
    let mean_bound = |k: usize, repeats: usize, chunk: usize| {
        (0..repeats)
            .map(|_| {
                iwae_bound(&vae, x.clone(), k, chunk)
                    .unwrap()
                    .iter()
                    .sum::<f64>()
                    / 4.0
            })
            .sum::<f64>()
            / repeats as f64
    };
    // ELBO with the analytic KL, averaged over many single-sample reconstructions.
    let elbo = -(0..400)
        .map(|_| to_f64(vae.negative_elbo(x.clone()).mean(1.0))[0])
        .sum::<f64>()
        / 400.0;
    let l1 = mean_bound(1, 400, 1);
    // Chunks of 3 samples (the last one short) and of all samples at once.
    let (l10, l100) = (mean_bound(10, 40, 3), mean_bound(100, 4, 100));
    println!("ELBO {elbo:.3}, L1 {l1:.3}, L10 {l10:.3}, L100 {l100:.3}");
    assert!(
        (l1 - elbo).abs() < 0.005 * elbo.abs().max(1.0),
        "L1 {l1} vs ELBO {elbo}"
    );
    assert!(l10 > l1 && l100 > l10, "{l1} {l10} {l100}");
}

/// p(h) = N(0, 1), p(x|h) = N(w h + b, s² I) in two dimensions, so that
/// p(x) = N(b, C) with C = w wᵀ + s² I exactly; q(h|x) is a Gaussian chosen by the test.
struct LinearGaussian {
    w: [f64; 2],
    b: [f64; 2],
    s2: f64,
    /// q(h|x) = N(posterior mean + shift, posterior variance · e^widen).
    shift: f64,
    widen: f64,
}

impl LinearGaussian {
    /// The exact posterior p(h|x) = N(m, v): v = 1 / (1 + wᵀw/s²), m = v wᵀ(x − b)/s².
    fn posterior(&self, x: [f64; 2]) -> (f64, f64) {
        let v = 1.0 / (1.0 + (self.w[0].powi(2) + self.w[1].powi(2)) / self.s2);
        let m = v * (self.w[0] * (x[0] - self.b[0]) + self.w[1] * (x[1] - self.b[1])) / self.s2;
        (m, v)
    }

    /// log N(x; b, C) with the 2 x 2 determinant and inverse written out.
    fn exact_log_px(&self, x: [f64; 2]) -> f64 {
        let (c00, c01, c11) = (
            self.w[0] * self.w[0] + self.s2,
            self.w[0] * self.w[1],
            self.w[1] * self.w[1] + self.s2,
        );
        let det = c00 * c11 - c01 * c01;
        let (r0, r1) = (x[0] - self.b[0], x[1] - self.b[1]);
        let quad = (c11 * r0 * r0 - 2.0 * c01 * r0 * r1 + c00 * r1 * r1) / det;
        -0.5 * (2.0 * (2.0 * PI).ln() + det.ln() + quad)
    }
}

impl LatentVariableModel<B> for LinearGaussian {
    fn proposal(&self, x: Tensor<B, 2>) -> Result<(Tensor<B, 2>, Tensor<B, 2>)> {
        let rows = to_f64(x.clone());
        let (mu, lv): (Vec<f64>, Vec<f64>) = rows
            .chunks(2)
            .map(|r| {
                let (m, v) = self.posterior([r[0], r[1]]);
                (m + self.shift, v.ln() + self.widen)
            })
            .unzip();
        let n = mu.len();
        let d = x.device();
        Ok((from_f64(mu, [n, 1], &d), from_f64(lv, [n, 1], &d)))
    }

    fn log_likelihood(&self, x: Tensor<B, 2>, h: Tensor<B, 2>) -> Tensor<B, 1> {
        let d = x.device();
        let w = from_f64::<B, 2>(self.w.to_vec(), [1, 2], &d);
        let b = from_f64::<B, 2>(self.b.to_vec(), [1, 2], &d);
        let mean = h.matmul(w) + b; // [N, 2]
        let log_var = mean.zeros_like().add_scalar(self.s2.ln());
        log_normal(x, mean, log_var)
    }
}

#[test]
fn iwae_converges_to_the_exact_log_likelihood_of_a_linear_gaussian_model() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<B>(&d, 11);
    let points = [[0.3, -0.8], [1.5, 0.4], [-1.0, 2.0]];
    let x = from_f64::<B, 2>(points.concat(), [3, 2], &d);
    let mut model = LinearGaussian {
        w: [1.2, -0.7],
        b: [0.1, 0.3],
        s2: 0.25,
        shift: 0.0,
        widen: 0.0,
    };
    let exact: Vec<f64> = points.iter().map(|p| model.exact_log_px(*p)).collect();
    // With the exact posterior as q every weight equals p(x): already L_1 = log p(x).
    let l1_exact_q = iwae_bound(&model, x.clone(), 1, 1).unwrap();
    for (l, e) in l1_exact_q.iter().zip(&exact) {
        assert!((l - e).abs() < 1e-10, "{l} vs exact {e}");
    }
    // A shifted, wider q: the bound rises with k towards log p(x) (averages over repeats).
    model.shift = 0.6;
    model.widen = 0.8;
    let gap = |k: usize, repeats: usize| -> Vec<f64> {
        let mut g = vec![0.0; 3];
        for _ in 0..repeats {
            let b = iwae_bound(&model, x.clone(), k, 256).unwrap();
            for i in 0..3 {
                g[i] += (exact[i] - b[i]) / repeats as f64;
            }
        }
        g
    };
    // The spread of one L_5000 is about sqrt(Var w / k) ≈ 0.014 nats here (Var w ≈ 1 for this
    // q), so 40 repeats put the mean within ±0.01 with a margin of 4.5 standard errors.
    let (g1, g10, g5000) = (gap(1, 4000), gap(10, 400), gap(5000, 40));
    println!("log p(x) − L_k: k=1 {g1:.4?}, k=10 {g10:.4?}, k=5000 {g5000:.5?}");
    for i in 0..3 {
        assert!(g1[i] > g10[i] && g10[i] > g5000[i], "point {i}");
        assert!(
            g1[i] > 0.05,
            "the shifted q should leave a visible gap: {}",
            g1[i]
        );
        assert!(
            g5000[i].abs() < 0.01,
            "point {i}: gap {} at k = 5000",
            g5000[i]
        );
    }
}

#[test]
fn the_deterministic_autoencoder_has_no_importance_weighted_bound() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    let ae = VaeConfig::new()
        .with_d_hidden(4)
        .with_variational(false)
        .init::<B>(&d)
        .unwrap();
    let err = iwae_bound(&ae, Tensor::zeros([1, 784], &d), 5, 5).unwrap_err();
    assert!(err.to_string().contains("deterministic"), "{err}");
}
