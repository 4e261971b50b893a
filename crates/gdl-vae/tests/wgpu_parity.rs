//! The VAE on Wgpu (lavapipe in CI) against NdArray from identical weights, for the MLP and
//! the convolutional networks: encoder outputs, the negative ELBO at a fixed ε, its gradient
//! with respect to the input, and the model after one ADAM step. Runs when `GDL_TEST_WGPU=1`.
//! Tolerance: |a − b| <= 1e-4 + 1e-3·|b| (f32 on both, different summation orders).

use burn::module::AutodiffModule;
use burn::optim::AdamConfig;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Distribution, Tensor};
use gdl_core::backend::{NdArrayAutodiff, WgpuAutodiff};
use gdl_core::divergence::kl_diag_gaussian_std_normal;
use gdl_core::run::copy_weights;
use gdl_core::seed::seed_all;
use gdl_core::tensor::{float_options, to_f64};
use gdl_vae::arch::Architecture;
use gdl_vae::model::{reparameterize, Autoencoder, VaeConfig};

fn close(what: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-4 + 1e-3 * y.abs(),
            "{what}[{i}]: wgpu {x} vs ndarray {y}"
        );
    }
}

/// What is compared: μ, log σ², −ELBO at ε, ∂(−ELBO)/∂x, decoder output after one ADAM step.
struct Figures {
    mu: Vec<f64>,
    log_var: Vec<f64>,
    loss: Vec<f64>,
    grad_x: Vec<f64>,
    after_step: Vec<f64>,
}

fn figures<B: AutodiffBackend>(
    model: Autoencoder<B>,
    x: &[f32],
    eps: &[f32],
    device: &B::Device,
) -> Figures {
    let n = x.len() / 784;
    let tensor = |v: &[f32], d: usize| {
        Tensor::<B, 1>::from_data(v, float_options::<B>(device)).reshape([v.len() / d, d])
    };
    let x = tensor(x, 784).require_grad();
    let eps = tensor(eps, eps.len() / n);
    let (mu, log_var) = model.encode(x.clone());
    let log_var = log_var.unwrap();
    // −ELBO = −log p(x|h) + KL with h = μ + σ ⊙ ε at the given ε
    let h = reparameterize(mu.clone(), log_var.clone(), eps.clone());
    let loss = (model.reconstruction_nll(model.decode(h), x.clone())
        + kl_diag_gaussian_std_normal(mu.clone(), log_var.clone()))
    .mean();
    let grads = loss.backward();
    let grad_x = to_f64(x.grad(&grads).unwrap());
    let params = GradientsParams::from_grads(grads, &model);
    let model = AdamConfig::new().init().step(1e-3, model, params);
    let after_step = to_f64(model.valid().decode(eps.inner()));
    Figures {
        mu: to_f64(mu),
        log_var: to_f64(log_var),
        loss: to_f64(loss),
        grad_x,
        after_step,
    }
}

#[test]
fn vae_matches_ndarray_on_wgpu() {
    let _serial = gdl_core::seed::serial();
    if std::env::var("GDL_TEST_WGPU").as_deref() != Ok("1") {
        eprintln!("skipped: set GDL_TEST_WGPU=1 to run the Wgpu parity test");
        return;
    }
    let (cpu, gpu) = (Default::default(), Default::default());
    seed_all::<NdArrayAutodiff>(&cpu, 2);
    let n = 4;
    let x: Vec<f32> =
        Tensor::<NdArrayAutodiff, 1>::random([n * 784], Distribution::Uniform(0.0, 1.0), &cpu)
            .into_data()
            .to_vec()
            .unwrap();
    let eps: Vec<f32> = (0..n * 3)
        .map(|i| ((i * 7) % 5) as f32 / 2.0 - 1.0)
        .collect();
    for arch in [Architecture::Mlp, Architecture::Conv] {
        let cfg = VaeConfig::new()
            .with_d_hidden(32)
            .with_d_latent(3)
            .with_arch(arch);
        let model = cfg.init::<NdArrayAutodiff>(&cpu).unwrap();
        let on_gpu = copy_weights(&model, cfg.init::<WgpuAutodiff>(&gpu).unwrap(), &gpu).unwrap();
        let a = figures(on_gpu, &x, &eps, &gpu);
        let b = figures(model, &x, &eps, &cpu);
        let tag = |w: &str| format!("{arch:?} {w}");
        close(&tag("μ"), &a.mu, &b.mu);
        close(&tag("log σ²"), &a.log_var, &b.log_var);
        close(&tag("−ELBO"), &a.loss, &b.loss);
        close(&tag("∂/∂x"), &a.grad_x, &b.grad_x);
        close(&tag("after ADAM"), &a.after_step, &b.after_step);
    }
}
