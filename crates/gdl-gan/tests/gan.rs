//! GANs: a discriminator trained on samples approaches D* = p/(p + q); on a ring of 8
//! Gaussians the non-saturating game covers the modes and a collapsed generator is caught by
//! the same count; the trainer's steps on tiny digits for every objective (figures, the WGAN
//! clip, spectral normalisation), its checkpoint, the networks' shapes, the batch norms'
//! recalibration, and discriminator rejection sampling with the optimal D.

use burn::module::{AutodiffModule, Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::activation::leaky_relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use gdl_core::seed::seed_all;
use gdl_core::tensor::to_f64;
use gdl_core::testing::{TestAutodiffBackend as AD, TestBackend as B};
use gdl_core::train::{StepInfo, TrainStep};
use gdl_gan::game::optimal_discriminator;
use gdl_gan::loss::Objective;
use gdl_gan::model::{Architecture, GanConfig, Generator};
use gdl_gan::train::{GanTrainer, GanTraining};
use gdl_mnist::{MnistBatch, PIXELS};

/// n indices into the weights `w` (summing to 1): the backend's uniform noise through their
/// inverse CDF.
fn categorical(w: &[f64], n: usize, device: &burn::tensor::Device<B>) -> Vec<usize> {
    let u = to_f64(Tensor::<B, 1>::random(
        [n],
        Distribution::Uniform(0.0, 1.0),
        device,
    ));
    u.iter()
        .map(|&u| {
            let mut cdf = 0.0;
            w.iter()
                .position(|&wi| {
                    cdf += wi;
                    u < cdf
                })
                .unwrap_or(w.len() - 1)
        })
        .collect()
}

/// A table discriminator (one logit per point) trained by Adam on samples of p and q with the
/// GAN discriminator loss approaches D*(x) = p(x)/(p(x) + q(x)).
#[test]
fn a_trained_discriminator_approaches_the_optimal_one() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<AD>(&d, 1);
    let (p, q) = ([0.1, 0.4, 0.3, 0.2], [0.25, 0.05, 0.3, 0.4]);
    let n = 20_000;
    let draw = |w: &[f64; 4]| -> Tensor<AD, 1, Int> {
        let idx: Vec<i64> = categorical(w, n, &d)
            .into_iter()
            .map(|i| i as i64)
            .collect();
        Tensor::from_data(TensorData::new(idx, [n]), &d)
    };
    let (real, fake) = (draw(&p), draw(&q));
    #[derive(Module, Debug)]
    struct Table<B: Backend> {
        logits: Param<Tensor<B, 1>>,
    }
    let mut table = Table::<AD> {
        logits: Param::from_tensor(Tensor::zeros([4], &d)),
    };
    let mut optim = AdamConfig::new().init();
    for _ in 0..1500 {
        let l = table.logits.val();
        let loss = Objective::NonSaturating
            .discriminator_loss(l.clone().select(0, real.clone()), l.select(0, fake.clone()));
        let grads = GradientsParams::from_grads(loss.backward(), &table);
        table = optim.step(0.05, table, grads);
    }
    let learned: Vec<f64> = to_f64(table.logits.val().inner())
        .iter()
        .map(|l| 1.0 / (1.0 + (-l).exp()))
        .collect();
    let best = optimal_discriminator(&p, &q).unwrap();
    for (k, (a, b)) in learned.iter().zip(&best).enumerate() {
        // 20,000 samples each: the empirical D* is within ~0.01 of the true one.
        assert!((a - b).abs() < 0.03, "point {k}: learned {a:.4}, D* {b:.4}");
    }
}

/// The 8 centres (cos 2πk/8, sin 2πk/8)·2 and σ = 0.05.
const RING: f64 = 2.0;
const SIGMA: f64 = 0.05;

fn ring_samples(n: usize, device: &burn::tensor::Device<AD>) -> Tensor<AD, 2> {
    let k = Tensor::<AD, 1>::random([n], Distribution::Uniform(0.0, 8.0), device).floor();
    let angle = k.mul_scalar(std::f64::consts::TAU / 8.0);
    let centres = Tensor::stack::<2>(
        vec![
            angle.clone().cos().mul_scalar(RING),
            angle.sin().mul_scalar(RING),
        ],
        1,
    );
    centres + Tensor::random([n, 2], Distribution::Normal(0.0, SIGMA), device)
}

/// How many of the 8 modes hold at least 2% of the points within 3σ of their centre.
fn modes_covered(points: &[f64]) -> usize {
    let mut counts = [0usize; 8];
    for xy in points.chunks(2) {
        for (k, c) in counts.iter_mut().enumerate() {
            let a = std::f64::consts::TAU * k as f64 / 8.0;
            let (dx, dy) = (xy[0] - RING * a.cos(), xy[1] - RING * a.sin());
            if (dx * dx + dy * dy).sqrt() < 3.0 * SIGMA {
                *c += 1;
            }
        }
    }
    let n = points.len() / 2;
    counts
        .iter()
        .filter(|&&c| c as f64 >= 0.02 * n as f64)
        .count()
}

#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    layers: Vec<Linear<B>>,
}

impl<B: Backend> Mlp<B> {
    fn new(sizes: &[usize], device: &B::Device) -> Self {
        Mlp {
            layers: sizes
                .windows(2)
                .map(|w| LinearConfig::new(w[0], w[1]).init(device))
                .collect(),
        }
    }
    fn forward(&self, mut x: Tensor<B, 2>) -> Tensor<B, 2> {
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            x = l.forward(x);
            if i < last {
                x = leaky_relu(x, 0.2);
            }
        }
        x
    }
}

/// The non-saturating game on the ring of 8 Gaussians, alternating D and G steps with Adam
/// (β₁ = 0.5): the generator covers at least 7 of the 8 modes; a generator collapsed onto one
/// centre covers 1 by the same count.
#[test]
fn the_non_saturating_game_covers_the_ring_of_gaussians() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<AD>(&d, 0);
    let (mut g, mut disc) = (
        Mlp::<AD>::new(&[2, 128, 128, 2], &d),
        Mlp::<AD>::new(&[2, 128, 128, 1], &d),
    );
    let adam = AdamConfig::new().with_beta_1(0.5);
    let (mut g_opt, mut d_opt) = (adam.init(), adam.init());
    let objective = Objective::NonSaturating;
    let batch = 256;
    for _ in 0..3000 {
        let z = Tensor::<AD, 2>::random([batch, 2], Distribution::Normal(0.0, 1.0), &d);
        let fake = g.forward(z).detach();
        let real = ring_samples(batch, &d);
        let loss = objective.discriminator_loss(
            disc.forward(real).reshape([batch]),
            disc.forward(fake).reshape([batch]),
        );
        let grads = GradientsParams::from_grads(loss.backward(), &disc);
        disc = d_opt.step(1e-3, disc, grads);
        let z = Tensor::<AD, 2>::random([batch, 2], Distribution::Normal(0.0, 1.0), &d);
        let loss = objective.generator_loss(disc.forward(g.forward(z)).reshape([batch]));
        let grads = GradientsParams::from_grads(loss.backward(), &g);
        g = g_opt.step(1e-3, g, grads);
    }
    let z = Tensor::<B, 2>::random([2000, 2], Distribution::Normal(0.0, 1.0), &d);
    let samples = to_f64(g.valid().forward(z));
    let covered = modes_covered(&samples);
    println!("modes covered: {covered} of 8");
    assert!(covered >= 7, "{covered} modes covered");
    // A collapsed generator: every sample at the first centre (plus the data's noise).
    let collapsed: Vec<f64> = (0..2000).flat_map(|_| [RING, 0.0]).collect();
    assert_eq!(modes_covered(&collapsed), 1);
    // The data itself covers all 8.
    assert_eq!(modes_covered(&to_f64(ring_samples(2000, &d).inner())), 8);
}

/// A batch of tiny synthetic digits in [−1, 1]: a bright bar at a row set by the item.
fn bars(n: usize, device: &burn::tensor::Device<AD>) -> MnistBatch<AD> {
    let mut pixels = vec![-1.0f32; n * PIXELS];
    for i in 0..n {
        let row = 4 + 2 * (i % 10);
        for c in 4..24 {
            pixels[i * PIXELS + row * 28 + c] = 1.0;
        }
    }
    MnistBatch {
        images: Tensor::from_data(TensorData::new(pixels, [n, 1, 28, 28]), device),
        labels: Tensor::zeros([n], device),
    }
}

fn at(step: usize) -> StepInfo {
    StepInfo {
        epoch: 1,
        step,
        steps_per_epoch: 100,
    }
}

/// Every objective and architecture trains a few steps on tiny digits with finite figures; the
/// WGAN critic's weights stay within the clip; a checkpoint reads back to the same networks.
#[test]
fn the_trainer_steps_every_objective_and_keeps_its_constraints() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    for (arch, objective, spectral) in [
        (Architecture::Mlp, Objective::Minimax, false),
        (Architecture::Mlp, Objective::Lsgan, true),
        (Architecture::Dcgan, Objective::NonSaturating, false),
        (Architecture::Dcgan, Objective::Wgan, true),
    ] {
        seed_all::<AD>(&d, 5);
        let model = GanConfig::new()
            .with_architecture(arch)
            .with_latent(8)
            .with_mlp_widths(vec![16, 32])
            .with_generator_channels(vec![8, 8, 4])
            .with_discriminator_channels(vec![4, 8])
            .with_spectral_norm(spectral);
        let cfg = GanTraining::new(model)
            .with_objective(objective)
            .with_n_critic(2);
        let mut trainer = GanTrainer::<AD>::new(&cfg, &d).unwrap();
        let mut names = Vec::new();
        for step in 1..=3 {
            let (next, figures) = trainer.step(bars(8, &d), at(step)).unwrap();
            trainer = next;
            let figures = figures.read();
            assert!(
                figures.values().all(f64::is_finite),
                "{objective:?}: {figures:?}"
            );
            names = figures.names().map(str::to_string).collect::<Vec<_>>();
        }
        let mut want = vec!["d_loss", "d_real", "d_fake"];
        if objective == Objective::Wgan {
            want.push("wasserstein");
        }
        want.push("g_loss");
        assert_eq!(names, want, "{objective:?}");
        let images = trainer.generator.forward(Tensor::zeros([3, 8], &d));
        assert_eq!(images.dims(), [3, 1, 28, 28]);
        let range = to_f64(images.inner());
        assert!(range.iter().all(|v| (-1.0..=1.0).contains(v)));
        if objective == Objective::Wgan {
            let gdl_gan::model::Discriminator::Dcgan(m) = &trainer.discriminator else {
                panic!("a DCGAN critic");
            };
            let mut weights = Vec::new();
            for c in &m.convs {
                weights.extend(to_f64(c.conv.weight.val().inner()));
            }
            weights.extend(to_f64(m.head.linear.weight.val().inner()));
            assert!(
                weights.iter().all(|w| w.abs() <= cfg.clip + 1e-7),
                "a weight beyond the clip"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        trainer.save(dir.path()).unwrap();
        let fresh = GanTrainer::<AD>::new(&cfg, &d).unwrap();
        let loaded = fresh.load(dir.path(), &d).unwrap();
        let z = Tensor::<AD, 2>::random([2, 8], Distribution::Normal(0.0, 1.0), &d);
        let (a, b) = (
            to_f64(trainer.generator.valid().forward(z.clone().inner())),
            to_f64(loaded.generator.valid().forward(z.inner())),
        );
        assert_eq!(a, b, "{objective:?}: the checkpoint's generator differs");
    }
}

/// A trainer refuses the fields it cannot run with, naming each (programs reword the name as
/// the flag: `real_label` → `--real-label`).
#[test]
fn out_of_range_fields_are_refused_naming_the_field() {
    let base = || GanTraining::new(GanConfig::new());
    assert!(base().validate().is_ok());
    for (cfg, field) in [
        (base().with_n_critic(0), "n_critic"),
        (base().with_batch_size(0), "batch_size"),
        (base().with_real_label(0.5), "real_label"),
        (base().with_real_label(1.1), "real_label"),
        (base().with_ema_decay(1.0), "ema_decay"),
        (base().with_ema_decay(-0.1), "ema_decay"),
    ] {
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
        let refused = GanTrainer::<AD>::new(&cfg, &Default::default()).is_err();
        assert!(refused, "the trainer accepted {field}");
    }
}

/// Batch-norm recalibration: after K batches of noise, the first batch norm's running mean
/// and variance are the means over the batches of each batch's per-channel mean and biased
/// variance of the grid fc(z), computed here from the same noise; the momentum is restored.
#[test]
fn recalibration_averages_the_batches_statistics() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    let latent = 6;
    let cfg = GanConfig::new()
        .with_latent(latent)
        .with_generator_channels(vec![4, 3, 2]);
    seed_all::<AD>(&d, 3);
    let g = gdl_core::run::materialize(cfg.init_generator::<B>(&d).unwrap());
    let (k, n) = (3, 5);
    seed_all::<AD>(&d, 4);
    let out = Generator::<AD>::recalibrated(g.clone(), latent, k, n, &d);
    seed_all::<AD>(&d, 4);
    let (Generator::Dcgan(g), Generator::Dcgan(out)) = (g, out) else {
        panic!("a DCGAN generator");
    };
    let (mut mean, mut var) = (vec![0.0; 4], vec![0.0; 4]);
    for _ in 0..k {
        let z = Tensor::<B, 2>::random([n, latent], Distribution::Normal(0.0, 1.0), &d);
        let grid = to_f64(g.fc.forward(z));
        for c in 0..4 {
            let values: Vec<f64> = (0..n)
                .flat_map(|i| {
                    let start = (i * 4 + c) * 49;
                    grid[start..start + 49].to_vec()
                })
                .collect();
            let m = values.iter().sum::<f64>() / values.len() as f64;
            let v = values.iter().map(|x| (x - m).powi(2)).sum::<f64>() / values.len() as f64;
            mean[c] += m / k as f64;
            var[c] += v / k as f64;
        }
    }
    let norm = &out.norms[0];
    let got_mean = to_f64(norm.running_mean.value());
    let got_var = to_f64(norm.running_var.value());
    for c in 0..4 {
        assert!(
            (got_mean[c] - mean[c]).abs() < 1e-5,
            "mean {c}: {got_mean:?} {mean:?}"
        );
        assert!(
            (got_var[c] - var[c]).abs() < 1e-5,
            "variance {c}: {got_var:?} {var:?}"
        );
    }
    assert!(
        out.norms.iter().all(|b| b.momentum == 0.1),
        "momentum not restored"
    );
}

/// Candidates x ∈ {0, ⅓, ⅔, 1} drawn from `Q` as 1 × 1 images (the backend's uniform noise
/// through q's inverse CDF).
struct Points;

const P: [f64; 4] = [0.1, 0.2, 0.3, 0.4];
const Q: [f64; 4] = [0.4, 0.3, 0.2, 0.1];

impl gdl_core::sample::Sample<B> for Points {
    fn sample(&self, n: usize, device: &burn::tensor::Device<B>) -> Tensor<B, 4> {
        let x: Vec<f32> = categorical(&Q, n, device)
            .into_iter()
            .map(|i| i as f32 / 3.0)
            .collect();
        Tensor::from_data(TensorData::new(x, [n, 1, 1, 1]), device)
    }
}

/// Discriminator rejection sampling with D* = α p/(p + q) (real label α = 0.9) turns draws
/// from q into draws from p: the histogram of 20,000 kept points matches p within five
/// standard errors, and about 1/M of the candidates are kept.
#[test]
fn rejection_by_the_optimal_discriminator_draws_from_p() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<AD>(&d, 12);
    let alpha = 0.9;
    let logits = |x: Tensor<B, 4>| {
        let l: Vec<f32> = to_f64(x)
            .iter()
            .map(|&x| {
                let i = (x * 3.0).round() as usize;
                let dstar = alpha * P[i] / (P[i] + Q[i]);
                (dstar / (1.0 - dstar)).ln() as f32
            })
            .collect();
        let n = l.len();
        Tensor::from_data(TensorData::new(l, [n]), &Default::default())
    };
    let drs = gdl_gan::rejection::RejectionSampler::new(Points, logits, alpha, 1000, 250, &d);
    // M: the largest p/q among 1,000 candidates, p/q at x = 1: 0.4/0.1
    assert!((drs.bound - 4.0).abs() < 1e-5, "M = {}", drs.bound);
    let n = 20_000;
    let x = to_f64(gdl_core::sample::Sample::sample(&drs, n, &d));
    assert_eq!(x.len(), n);
    for (i, &p) in P.iter().enumerate() {
        let got = x
            .iter()
            .filter(|&&v| (v * 3.0).round() as usize == i)
            .count() as f64
            / n as f64;
        let se = (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (got - p).abs() < 5.0 * se,
            "x = {i}/3: {got} against p = {p}"
        );
    }
    // Σ_x q(x) (p/q)(x)/M = 1/M
    let kept = drs.acceptance(20_000, &d);
    assert!((kept - 0.25).abs() < 0.02, "kept {kept}");
    // the guard: a quarter kept passes a floor of 0.2 and is refused by one of 0.3
    let kept = drs.checked_acceptance(20_000, 0.2, &d).unwrap();
    assert!((kept - 0.25).abs() < 0.02, "kept {kept}");
    let refused = drs
        .checked_acceptance(20_000, 0.3, &d)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("--rejection") && refused.contains("keeps 2"),
        "{refused}"
    );
}

/// A bar image at `row` with pixels in [0, 255] (the data set's bytes).
fn bar_bytes(row: usize) -> Vec<u8> {
    let mut pixels = vec![0u8; PIXELS];
    pixels[row * 28 + 4..row * 28 + 24].fill(255);
    pixels
}

/// Bar images at `rows` [N, 1, 28, 28] with pixels in [−1, 1] (the GAN's range).
fn bar_images(rows: impl Iterator<Item = usize>, device: &burn::tensor::Device<B>) -> Tensor<B, 4> {
    let x: Vec<f32> = rows
        .flat_map(bar_bytes)
        .map(|v| v as f32 / 127.5 - 1.0)
        .collect();
    let n = x.len() / PIXELS;
    Tensor::from_data(TensorData::new(x, [n, 1, 28, 28]), device)
}

/// Calibrating D against a fixed sampler brings it to D* = α p/(p + q) for that sampler's q:
/// real digits are bars at row 6 (p = 3/4) or row 20 (1/4), the sampler draws them the other
/// way round (q = 1/4, 3/4), and after calibration D's density ratio reads p/q = 3 and 1/3
/// within 25%; the generator is untouched.
#[test]
fn calibration_brings_the_discriminator_to_the_samplers_optimum() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<AD>(&d, 21);
    let (rows, p) = ([6, 20], [0.75, 0.25]);
    let n = 400;
    let labels: Vec<u8> = (0..n).map(|i| u8::from(i % 4 == 3)).collect();
    let images: Vec<u8> = labels
        .iter()
        .flat_map(|&l| bar_bytes(rows[l as usize]))
        .collect();
    let train = gdl_mnist::MnistData::new(gdl_mnist::DatasetKind::Mnist, images, labels).unwrap();
    let data = gdl_mnist::TrainTest {
        test: train.clone(),
        train,
        description: String::new(),
    };
    let model = GanConfig::new()
        .with_architecture(Architecture::Mlp)
        .with_latent(4)
        .with_mlp_widths(vec![8, 16]);
    let cfg = GanTraining::new(model).with_batch_size(16);
    let mut trainer = GanTrainer::<AD>::new(&cfg, &d).unwrap();
    // q: row 20 for 3 of 4 draws
    let sample = |n: usize| {
        let idx = categorical(&[p[1], p[0]], n, &d);
        bar_images(idx.into_iter().map(|i| rows[i]), &d)
    };
    let z = Tensor::<B, 2>::random([3, 4], Distribution::Normal(0.0, 1.0), &d);
    let before = to_f64(trainer.generator.valid().forward(z.clone()));
    for _ in 0..30 {
        trainer = trainer.calibrate_discriminator(sample, &data).0;
    }
    assert_eq!(before, to_f64(trainer.generator.valid().forward(z)));
    let discriminator = trainer.discriminator.valid();
    for (k, &row) in rows.iter().enumerate() {
        let logit = to_f64(discriminator.forward(bar_images([row].into_iter(), &d)))[0];
        let ratio = gdl_gan::rejection::density_ratio(logit, cfg.real_label);
        let want = p[k] / (1.0 - p[k]);
        assert!(
            (ratio / want - 1.0).abs() < 0.25,
            "row {row}: p/q read {ratio}, want {want}"
        );
    }
}

/// ln (p/q) for q = N(0, 1) and p = N(μ, 1): μ x − μ²/2.
fn gaussian_log_ratio(x: f64, mu: f64) -> f64 {
    mu * x - mu * mu / 2.0
}

#[test]
fn latent_langevin_under_the_optimal_discriminator_draws_from_the_tempered_target() {
    use gdl_gan::latent_langevin::{latent_chains, log_density_ratio};
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<AD>(&d, 13);
    // G(z) = z on one dimension: q = p₀ = N(0, 1); the data p = N(μ, 1). D* = α p/(p + q)
    // has odds r = α ρ/(1 + (1 − α) ρ), ρ = p/q, so its logit is ln α + ln ρ − ln(1 + (1 − α) ρ).
    let (alpha, mu): (f64, f64) = (0.9, 0.5);
    let logit = |x: f64| {
        let rho = gaussian_log_ratio(x, mu).exp();
        alpha.ln() + rho.ln() - (1.0 + (1.0 - alpha) * rho).ln()
    };
    // the logit read back as ln ρ, below the clamp and (α = 1) as the logit itself
    let xs = [-3.0, -1.0, 0.0, 1.0, 2.5, 4.0];
    let logits = Tensor::<B, 1>::from_floats(xs.map(|x| logit(x) as f32), &d);
    let read = to_f64(log_density_ratio(logits.clone(), alpha));
    for (x, got) in xs.iter().zip(read) {
        let want = gaussian_log_ratio(*x, mu);
        assert!(
            (got - want).abs() < 1e-5,
            "x = {x}: ln p/q {got}, want {want}"
        );
        let r = gdl_gan::rejection::density_ratio(logit(*x), alpha).ln();
        assert!(
            (got - r).abs() < 1e-5,
            "x = {x}: {got} against rejection's {r}"
        );
    }
    assert_eq!(
        to_f64(log_density_ratio(logits.clone(), 1.0)),
        to_f64(logits)
    );
    // Langevin on E_β(z) = z²/2 − β ln ρ(z) = (z − βμ)²/2 + const: its stationary law with
    // step ε is N(βμ, 1/(1 − ε/4)) (the unadjusted chain's variance on a unit Gaussian).
    let (n, eps) = (20_000, 0.1);
    for beta in [1.0, 2.0] {
        let log_weight = |z: Tensor<AD, 2>| {
            let l = z.clone().mul_scalar(mu).sub_scalar(mu * mu / 2.0); // ln ρ
                                                                        // the logit of D* from ln ρ, through Burn's operations (so ∇_z flows)
            let logit = l.clone().add_scalar(alpha.ln())
                - l.exp().mul_scalar(1.0 - alpha).add_scalar(1.0).log();
            log_density_ratio(logit.reshape([n]), alpha).mul_scalar(beta)
        };
        let z0 = Tensor::<B, 2>::random([n, 1], Distribution::Normal(0.0, 1.0), &d);
        let z = to_f64(latent_chains::<AD>(z0, log_weight, 200, eps));
        let mean = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        let want_var = 1.0 / (1.0 - eps / 4.0);
        assert!(
            (mean - beta * mu).abs() < 5.0 * (want_var / n as f64).sqrt(),
            "β = {beta}: mean {mean}, want {}",
            beta * mu
        );
        assert!(
            (var / want_var - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
            "β = {beta}: variance {var}, want {want_var}"
        );
    }
}

#[test]
fn the_inference_forwards_under_autodiff_are_the_trained_functions() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<AD>(&d, 14);
    let cfg = GanConfig::new()
        .with_latent(6)
        .with_generator_channels(vec![4, 3, 2])
        .with_discriminator_channels(vec![3, 5]);
    let g = Generator::<AD>::recalibrated(cfg.init_generator::<B>(&d).unwrap(), 6, 3, 5, &d);
    let disc = cfg.init_discriminator::<AD>(&d).unwrap();
    let z = Tensor::<B, 2>::random([4, 6], Distribution::Normal(0.0, 1.0), &d);
    // batch norm with the running statistics, as on the inner backend (not the batch's)
    let want = to_f64(g.forward(z.clone()));
    let tracked = Generator::<AD>::from_inner(g);
    let x = tracked.forward_inference(Tensor::from_inner(z));
    let got = to_f64(x.clone().inner());
    let diff = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(diff < 1e-6, "G: {diff}");
    // D without dropout, as on the inner backend
    let want = to_f64(disc.valid().forward(x.clone().inner()));
    for _ in 0..2 {
        assert_eq!(to_f64(disc.forward_inference(x.clone()).inner()), want);
    }
    assert_ne!(
        to_f64(disc.forward(x).inner()),
        want,
        "dropout under autodiff"
    );
}
