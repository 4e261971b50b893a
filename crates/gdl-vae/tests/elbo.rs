//! The ELBO's pieces against independent computations: the analytic KL against a Monte Carlo
//! estimate, and the importance-weighted bound's k = 1 case and growth with k.

use burn::module::Module;
use burn::tensor::{Distribution, Tensor};
use gdl_core::divergence::kl_diag_gaussian_std_normal;
use gdl_core::seed::seed_all;
use gdl_core::tensor::{from_f64, to_f64};
use gdl_core::testing::TestBackendF64 as B;
use gdl_vae::iwae::{iwae_bound, log_normal};
use gdl_vae::loss::negative_elbo_bernoulli;
use gdl_vae::model::{reparameterize, VaeConfig};

#[test]
fn analytic_kl_matches_monte_carlo() {
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
    // An untrained VAE on fixed binary-ish images; averages over repeats remove the noise.
    let d = Default::default();
    seed_all::<B>(&d, 5);
    let vae = VaeConfig::new()
        .with_d_hidden(32)
        .with_d_latent(4)
        .init::<B>(&d);
    let x: Vec<f64> = (0..4 * 784)
        .map(|i| if (i * 7919) % 13 < 4 { 1.0 } else { 0.0 })
        .collect();
    let x = from_f64::<B, 2>(x, [4, 784], &d);
    let mean_bound = |k: usize, repeats: usize| {
        (0..repeats)
            .map(|_| iwae_bound(&vae, x.clone(), k).iter().sum::<f64>() / 4.0)
            .sum::<f64>()
            / repeats as f64
    };
    // ELBO with the analytic KL, averaged over many single-sample reconstructions.
    let elbo = (0..400)
        .map(|_| {
            let out = vae.forward(x.clone());
            let e = negative_elbo_bernoulli(out.logits, x.clone(), out.mu, out.log_var);
            -to_f64((e.reconstruction + e.kl).mean())[0]
        })
        .sum::<f64>()
        / 400.0;
    let l1 = mean_bound(1, 400);
    let (l10, l100) = (mean_bound(10, 40), mean_bound(100, 4));
    println!("ELBO {elbo:.3}, L1 {l1:.3}, L10 {l10:.3}, L100 {l100:.3}");
    assert!(
        (l1 - elbo).abs() < 0.05 * elbo.abs().max(1.0) / 10.0,
        "L1 {l1} vs ELBO {elbo}"
    );
    assert!(l10 > l1 && l100 > l10, "{l1} {l10} {l100}");
    assert!(vae.num_params() > 0);
}
