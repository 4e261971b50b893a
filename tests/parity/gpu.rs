// One GPU backend against NdArray, from identical weights: included by
// `tests/backend_parity.rs` once per GPU feature, with `Gpu`, `GpuAutodiff`, `GPU` (its name)
// and `present()` (whether this machine can run it) in scope.

use super::{assert_close, forward_backward, reference};
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer, SgdConfig};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Distribution, Tensor};
use gdl::core::backend::{NdArray, NdArrayAutodiff};
use gdl::core::run::copy_weights;
use gdl::core::seed::{seed_all, serial};
use gdl::core::tensor::{float_options, to_f64};

/// |a − b| <= atol + rtol·|b| element-wise, and equal lengths.
fn close(what: &str, a: &[f64], b: &[f64], (atol, rtol): (f64, f64)) {
    assert_eq!(a.len(), b.len(), "{what}: {GPU} and ndarray lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= atol + rtol * y.abs(),
            "{what}[{i}]: {GPU} {x} vs ndarray {y}"
        );
    }
}

/// [`close`] for each named figure of two runs; the names and both runs agree in number.
fn close_each(prefix: &str, names: &[&str], a: &[Vec<f64>], b: &[Vec<f64>], tol: (f64, f64)) {
    assert_eq!(
        (a.len(), b.len()),
        (names.len(), names.len()),
        "{prefix}: figures"
    );
    for (what, (a, b)) in names.iter().zip(a.iter().zip(b)) {
        close(&format!("{prefix}{what}"), a, b, tol);
    }
}

/// Models with a few layers: 1e-4 + 1e-3·|b|.
const MODEL: (f64, f64) = (1e-4, 1e-3);

/// Draws `n` values on NdArray (seeded by the caller) and returns them on the host.
fn draw(n: usize, distribution: Distribution) -> Vec<f32> {
    Tensor::<NdArrayAutodiff, 1>::random([n], distribution, &Default::default())
        .into_data()
        .to_vec()
        .unwrap()
}

#[test]
fn conv_net_matches_ndarray() {
    if !present() {
        return;
    }
    let _serial = serial();
    let gpu = forward_backward::<GpuAutodiff>(&Default::default());
    assert_close(GPU, &reference(), &gpu);
}

/// Explicit back-propagation and the autodiff twin. Tolerance 1e-5 + 1e-4·|b|.
#[test]
fn ffnn_explicit_and_autodiff_gradients_match_ndarray() {
    use gdl::ffnn::activation::Activation;
    use gdl::ffnn::cost::{Cost, Penalty};
    use gdl::ffnn::network::{Init, NetworkConfig};
    use gdl::ffnn::twin::MlpModule;
    const TOL: (f64, f64) = (1e-5, 1e-4);
    if !present() {
        return;
    }
    let _serial = serial();
    let cpu = Default::default();
    seed_all::<NdArray>(&cpu, 4);
    let net = NetworkConfig::new(
        &[6, 16, 8, 4],
        Activation::Tanh,
        Activation::Softmax,
        Init::Xavier,
    )
    .init::<NdArray>(&cpu)
    .unwrap();
    let x: Vec<f32> = (0..60)
        .map(|i| ((i * 37) % 17) as f32 / 8.0 - 1.0)
        .collect();
    let y: Vec<f32> = (0..40)
        .map(|i| if i % 4 == (i / 4) % 4 { 1.0 } else { 0.0 })
        .collect();
    let (cost, penalty) = (Cost::CrossEntropy, Penalty { l1: 0.0, l2: 0.01 });
    let xc = Tensor::<NdArray, 1>::from_floats(x.as_slice(), &cpu).reshape([10, 6]);
    let yc = Tensor::<NdArray, 1>::from_floats(y.as_slice(), &cpu).reshape([10, 4]);
    let (c_cpu, g_cpu) = net.backward(xc.clone(), yc.clone(), cost, penalty);

    let gpu = Default::default();
    let net_gpu = net.to_backend::<Gpu>(&gpu);
    let xg = Tensor::<Gpu, 2>::from_data(xc.to_data(), float_options::<Gpu>(&gpu));
    let yg = Tensor::<Gpu, 2>::from_data(yc.to_data(), float_options::<Gpu>(&gpu));
    let (c_gpu, g_gpu) = net_gpu.backward(xg, yg, cost, penalty);
    close("cost", &[c_gpu], &[c_cpu], TOL);
    assert_eq!(g_gpu.layers.len(), g_cpu.layers.len());
    for (l, (a, b)) in g_gpu.layers.iter().zip(&g_cpu.layers).enumerate() {
        let (aw, bw) = (to_f64(a.weight.clone()), to_f64(b.weight.clone()));
        close(&format!("dW{l}"), &aw, &bw, TOL);
        let (ab, bb) = (to_f64(a.bias.clone()), to_f64(b.bias.clone()));
        close(&format!("db{l}"), &ab, &bb, TOL);
    }

    // The autodiff twin on the GPU gives the same gradients.
    let twin = MlpModule::<GpuAutodiff>::from_network(&net, &gpu);
    let opts = float_options::<GpuAutodiff>(&gpu);
    let xa = Tensor::<GpuAutodiff, 2>::from_data(xc.to_data(), opts.clone());
    let ya = Tensor::<GpuAutodiff, 2>::from_data(yc.to_data(), opts);
    let grads = twin.cost(xa, ya, cost, penalty).backward();
    for (l, (linear, b)) in twin.layers.iter().zip(&g_cpu.layers).enumerate() {
        let a = to_f64(linear.weight.grad(&grads).unwrap());
        close(
            &format!("autodiff dW{l}"),
            &a,
            &to_f64(b.weight.clone()),
            TOL,
        );
    }
}

/// The VAE, MLP and convolutional: μ, log σ², the negative ELBO at a fixed ε, its gradient
/// with respect to the input, and the decoder after one ADAM step.
#[test]
fn vae_matches_ndarray() {
    use gdl::core::divergence::kl_diag_gaussian_std_normal;
    use gdl::vae::arch::Architecture;
    use gdl::vae::model::{reparameterize, Autoencoder, VaeConfig};
    fn figures<B: AutodiffBackend>(
        model: Autoencoder<B>,
        x: &[f32],
        eps: &[f32],
        device: &B::Device,
    ) -> Vec<Vec<f64>> {
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
        vec![
            to_f64(mu),
            to_f64(log_var),
            to_f64(loss),
            grad_x,
            after_step,
        ]
    }
    if !present() {
        return;
    }
    let _serial = serial();
    let (cpu, gpu) = (Default::default(), Default::default());
    seed_all::<NdArrayAutodiff>(&cpu, 2);
    let n = 4;
    let x = draw(n * 784, Distribution::Uniform(0.0, 1.0));
    let eps: Vec<f32> = (0..n * 3)
        .map(|i| ((i * 7) % 5) as f32 / 2.0 - 1.0)
        .collect();
    for arch in [Architecture::Mlp, Architecture::Conv] {
        let cfg = VaeConfig::new()
            .with_d_hidden(32)
            .with_d_latent(3)
            .with_arch(arch);
        let model = cfg.init::<NdArrayAutodiff>(&cpu).unwrap();
        let on_gpu = copy_weights(&model, cfg.init::<GpuAutodiff>(&gpu).unwrap(), &gpu).unwrap();
        let a = figures(on_gpu, &x, &eps, &gpu);
        let b = figures(model, &x, &eps, &cpu);
        let names = ["μ", "log σ²", "−ELBO", "∂/∂x", "after ADAM"];
        close_each(&format!("{arch:?} "), &names, &a, &b, MODEL);
    }
}

/// Both GAN architectures (the DCGAN with spectral normalisation and no dropout, so that
/// nothing random is drawn): G(z), D on real and generated images, the non-saturating
/// losses, and D's output after one Adam step of its loss.
#[test]
fn one_gan_discriminator_and_generator_step_matches_ndarray() {
    use gdl::gan::loss::Objective;
    use gdl::gan::model::{Architecture, Discriminator, GanConfig, Generator};
    use gdl::mnist::PIXELS;
    fn figures<A: AutodiffBackend>(
        cfg: &GanConfig,
        g: Generator<A>,
        disc: Discriminator<A>,
        z: &[f32],
        x: &[f32],
        device: &A::Device,
    ) -> Vec<Vec<f64>> {
        let opts = float_options::<A>(device);
        let z =
            Tensor::<A, 1>::from_data(z, opts.clone()).reshape([z.len() / cfg.latent, cfg.latent]);
        let n = x.len() / PIXELS;
        let x = Tensor::<A, 1>::from_data(x, opts).reshape([n, 1, 28, 28]);
        let fake = g.forward(z);
        let real_out = disc.forward(x.clone());
        let fake_out = disc.forward(fake.clone().detach());
        let d_loss =
            Objective::NonSaturating.discriminator_loss(real_out.clone(), fake_out.clone());
        let g_loss = Objective::NonSaturating.generator_loss(disc.forward(fake.clone()));
        let grads = GradientsParams::from_grads(d_loss.backward(), &disc);
        let adam = AdamConfig::new().with_beta_1(0.5);
        let disc = adam.init().step(2e-4, disc, grads);
        vec![
            to_f64(fake.inner()),
            to_f64(real_out.inner()),
            to_f64(fake_out.inner()),
            to_f64(d_loss.inner()),
            to_f64(g_loss.inner()),
            to_f64(disc.valid().forward(x.inner())),
        ]
    }
    if !present() {
        return;
    }
    let _serial = serial();
    let (cpu, gpu) = (Default::default(), Default::default());
    seed_all::<NdArrayAutodiff>(&cpu, 4);
    let (n, latent) = (4, 8);
    let z = draw(n * latent, Distribution::Normal(0.0, 1.0));
    let x = draw(n * PIXELS, Distribution::Uniform(-1.0, 1.0));
    for (arch, spectral) in [(Architecture::Mlp, false), (Architecture::Dcgan, true)] {
        let cfg = GanConfig::new()
            .with_architecture(arch)
            .with_latent(latent)
            .with_mlp_widths(vec![16, 32])
            .with_generator_channels(vec![8, 8, 4])
            .with_discriminator_channels(vec![4, 8])
            .with_dropout(0.0)
            .with_spectral_norm(spectral);
        let g = cfg.init_generator::<NdArrayAutodiff>(&cpu).unwrap();
        let disc = cfg.init_discriminator::<NdArrayAutodiff>(&cpu).unwrap();
        let g_gpu = cfg.init_generator::<GpuAutodiff>(&gpu).unwrap();
        let g_gpu = copy_weights(&g, g_gpu, &gpu).unwrap();
        let d_gpu = cfg.init_discriminator::<GpuAutodiff>(&gpu).unwrap();
        let d_gpu = copy_weights(&disc, d_gpu, &gpu).unwrap();
        let a = figures(&cfg, g_gpu, d_gpu, &z, &x, &gpu);
        let b = figures(&cfg, g, disc, &z, &x, &cpu);
        let names = [
            "G(z)",
            "D(x)",
            "D(G(z))",
            "D loss",
            "G loss",
            "D(x) after Adam",
        ];
        close_each(&format!("{arch:?} "), &names, &a, &b, MODEL);
    }
}

/// The U-Net's output at given x_t and t, the L_simple loss against a given target, and
/// the output after one gradient step (plain SGD, so that the comparison sees the gradients
/// themselves: Adam's first step moves every weight by about η whatever its gradient's
/// size, and weights whose gradients are float noise would move in different directions on
/// the two backends).
#[test]
fn one_unet_training_step_matches_ndarray() {
    use gdl::diffusion::unet::{UNet, UNetConfig};
    fn figures<A: AutodiffBackend>(
        unet: UNet<A>,
        x: &[f32],
        target: &[f32],
        device: &A::Device,
    ) -> Vec<Vec<f64>> {
        let opts = float_options::<A>(device);
        let n = x.len() / 784;
        let x = Tensor::<A, 1>::from_data(x, opts.clone()).reshape([n, 1, 28, 28]);
        let target = Tensor::<A, 1>::from_data(target, opts.clone()).reshape([n, 1, 28, 28]);
        let t = Tensor::<A, 1>::from_data(&[1.0f32, 40.0, 99.0][..n], opts);
        let out = unet.forward(x.clone(), t.clone());
        let loss = (out.clone() - target).powi_scalar(2).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &unet);
        let unet = SgdConfig::new().init().step(0.05, unet, grads);
        vec![
            to_f64(out.inner()),
            to_f64(loss.inner()),
            to_f64(unet.valid().forward(x.inner(), t.inner())),
        ]
    }
    if !present() {
        return;
    }
    let _serial = serial();
    let (cpu, gpu) = (Default::default(), Default::default());
    seed_all::<NdArrayAutodiff>(&cpu, 10);
    let x = draw(3 * 784, Distribution::Normal(0.0, 1.0));
    let target = draw(3 * 784, Distribution::Normal(0.0, 1.0));
    let cfg = UNetConfig::new()
        .with_channels(vec![8, 16])
        .with_groups(4)
        .with_time_dim(16);
    let unet = cfg.init::<NdArrayAutodiff>(&cpu).unwrap();
    let unet_gpu = copy_weights(&unet, cfg.init::<GpuAutodiff>(&gpu).unwrap(), &gpu).unwrap();
    let a = figures(unet_gpu, &x, &target, &gpu);
    let b = figures(unet, &x, &target, &cpu);
    let names = ["output", "loss", "output after SGD"];
    close_each("", &names, &a, &b, MODEL);
}
