//! The diffusion maths against independent computations: the forward process against its
//! one-step definition, the posterior against the product of Gaussians, the samplers and the
//! bound against the closed-form optimal noise predictor of Gaussian data (the U-Net's
//! training step on Wgpu is in the workspace's `tests/backend_parity.rs`).

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use gdl_core::seed::seed_all;
use gdl_core::tensor::to_f64;
use gdl_core::testing::{TestAutodiffBackend as AD, TestBackend as B};
use gdl_diffusion::bound::{bound_per_image, HALF_BIN};
use gdl_diffusion::predictor::{NoisePredictor, Prediction};
use gdl_diffusion::process::{diffuse_at, MarginalTables};
use gdl_diffusion::sampler::{ReverseVariance, SamplerConfig, SamplerKind};
use gdl_diffusion::schedule::{NoiseSchedule, ScheduleKind};
use gdl_diffusion::train::{DdpmTrainer, DiffusionTraining, Process, VdmTrainer};
use gdl_diffusion::unet::{sinusoidal_embedding, UNetConfig};
use gdl_diffusion::vdm::{alpha_sigma, antithetic_times, GammaConfig};

fn moments(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    (mean, x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n)
}

fn normal(n: usize, device: &burn::tensor::Device<B>) -> Tensor<B, 4> {
    Tensor::random([n, 1, 1, 1], Distribution::Normal(0.0, 1.0), device)
}

/// x_t drawn in one step from q(x_t | x_0) and by t steps of q(x_s | x_{s−1}) =
/// N(√(1 − β_s) x_{s−1}, β_s) have the same moments: √ᾱ_t x_0 and 1 − ᾱ_t.
#[test]
fn the_closed_form_marginal_equals_t_steps_of_the_forward_process() {
    let _serial = gdl_core::seed::serial();
    let device = Default::default();
    seed_all::<B>(&device, 1);
    let s = ScheduleKind::Cosine.build(200).unwrap();
    let (n, x0, t) = (40_000, 0.7, 120);
    let start = Tensor::<B, 4>::full([n, 1, 1, 1], x0, &device);
    let mut x = start.clone();
    for step in 1..=t {
        let beta = s.beta_at(step);
        x = x.mul_scalar((1.0 - beta).sqrt()) + normal(n, &device).mul_scalar(beta.sqrt());
    }
    let (a, b) = s.marginal(t);
    let se_mean = b / (n as f64).sqrt();
    for (what, draws) in [
        ("stepwise", to_f64(x)),
        ("closed form", to_f64(diffuse_at(&s, start, t))),
    ] {
        let (mean, var) = moments(&draws);
        assert!(
            (mean - a * x0).abs() < 4.0 * se_mean,
            "{what}: mean {mean} vs {}",
            a * x0
        );
        assert!(
            (var / (b * b) - 1.0).abs() < 0.03,
            "{what}: variance {var} vs {}",
            b * b
        );
    }
}

/// q(x_{t−1} | x_t, x_0) ∝ N(x_t; √α_t x_{t−1}, β_t) N(x_{t−1}; √ᾱ_{t−1} x_0, 1 − ᾱ_{t−1}):
/// precision α_t/β_t + 1/(1 − ᾱ_{t−1}), mean = variance · (√α_t x_t/β_t + √ᾱ_{t−1} x_0/(1 − ᾱ_{t−1})).
#[test]
fn the_posterior_is_the_product_of_gaussians() {
    for s in [
        NoiseSchedule::linear(1000, 1e-4, 0.02).unwrap(),
        NoiseSchedule::cosine(1000, 0.008).unwrap(),
    ] {
        for t in [2, 10, 500, 999, 1000] {
            let (beta, ab_prev) = (s.beta_at(t), s.alpha_bar_at(t - 1));
            let precision = (1.0 - beta) / beta + 1.0 / (1.0 - ab_prev);
            let var = 1.0 / precision;
            let (c0, ct, beta_tilde) = s.posterior(t);
            assert!((beta_tilde / var - 1.0).abs() < 1e-10, "t = {t}: variance");
            assert!(
                (ct / (var * (1.0 - beta).sqrt() / beta) - 1.0).abs() < 1e-10,
                "t = {t}: c_t"
            );
            assert!(
                (c0 / (var * ab_prev.sqrt() / (1.0 - ab_prev)) - 1.0).abs() < 1e-10,
                "t = {t}: c_0"
            );
        }
    }
}

/// The optimal noise predictor for x_0 ~ N(m, s²): with x_t = a x_0 + b ε,
/// E[ε | x_t] = b (x_t − a m)/(a² s² + b²).
struct GaussianOptimal<'a> {
    m: f64,
    s: f64,
    schedule: &'a NoiseSchedule,
}

impl<Q: Backend> NoisePredictor<Q> for GaussianOptimal<'_> {
    fn predict_noise(&self, x_t: Tensor<Q, 4>, t: usize) -> Tensor<Q, 4> {
        let (a, b) = self.schedule.marginal(t);
        x_t.sub_scalar(a * self.m)
            .mul_scalar(b / (a * a * self.s * self.s + b * b))
    }
}

const M: f64 = 0.2;
const S: f64 = 0.3;

#[test]
fn ancestral_and_ddim_samplers_driven_by_the_optimal_predictor_reproduce_the_gaussian() {
    let _serial = gdl_core::seed::serial();
    let device = Default::default();
    let schedule = NoiseSchedule::linear(1000, 1e-4, 0.02).unwrap();
    let model = GaussianOptimal {
        m: M,
        s: S,
        schedule: &schedule,
    };
    let n = 20_000;
    for (name, cfg) in [
        (
            "ancestral β",
            SamplerConfig::new().with_kind(SamplerKind::Ancestral),
        ),
        (
            "ancestral β̃",
            SamplerConfig::new()
                .with_kind(SamplerKind::Ancestral)
                .with_variance(ReverseVariance::PosteriorBeta),
        ),
        ("DDIM 1000, η = 0", SamplerConfig::new().with_steps(1000)),
        (
            "DDIM 1000, η = 1",
            SamplerConfig::new().with_steps(1000).with_eta(1.0),
        ),
    ] {
        seed_all::<B>(&device, 2);
        let cfg = cfg.with_clip(false);
        let x = cfg
            .sample(&model, &schedule, normal(n, &device), |_, _| {})
            .unwrap();
        let (mean, var) = moments(&to_f64(x));
        assert!((mean - M).abs() < 0.01, "{name}: mean {mean}");
        assert!((var / (S * S) - 1.0).abs() < 0.05, "{name}: variance {var}");
    }
}

/// DDIM with η = 0 maps x_T to x_0 deterministically, and running it forwards recovers x_T up
/// to a discretisation error that halves when the steps double (first order).
#[test]
fn deterministic_ddim_is_reproducible_and_its_inversion_recovers_the_noise() {
    let _serial = gdl_core::seed::serial();
    let device = Default::default();
    seed_all::<B>(&device, 3);
    let schedule = NoiseSchedule::linear(1000, 1e-4, 0.02).unwrap();
    let model = GaussianOptimal {
        m: M,
        s: S,
        schedule: &schedule,
    };
    let x_t = normal(5_000, &device);
    let mut errors = Vec::new();
    for steps in [250, 500, 1000] {
        let cfg = SamplerConfig::new().with_steps(steps).with_clip(false);
        let x0 = cfg
            .sample(&model, &schedule, x_t.clone(), |_, _| {})
            .unwrap();
        let again = cfg
            .sample(&model, &schedule, x_t.clone(), |_, _| {})
            .unwrap();
        assert_eq!(
            to_f64(x0.clone()),
            to_f64(again),
            "{steps} steps: not deterministic"
        );
        let back = cfg.invert(&model, &schedule, x0).unwrap();
        let error = to_f64((back - x_t.clone()).abs().mean())[0];
        errors.push(error);
    }
    assert!(errors[2] < 0.01, "mean |x_T − inverted| = {errors:?}");
    for w in errors.windows(2) {
        let ratio = w[0] / w[1];
        assert!(
            (1.7..2.3).contains(&ratio),
            "first-order convergence: errors {errors:?}"
        );
    }
}

/// DDIM's subsequence runs evenly from T down to 1 (the last x̂_0 is estimated where the noise
/// is least), strictly decreasing; S = T visits every step, S = 1 only T; out-of-range S and η
/// are errors that name the field.
#[test]
fn ddim_visits_evenly_spaced_steps_from_t_down_to_one() {
    let schedule = NoiseSchedule::linear(1000, 1e-4, 0.02).unwrap();
    let steps = |s: usize| SamplerConfig::new().with_steps(s).timesteps(&schedule);
    let hundred = steps(100).unwrap();
    assert_eq!(hundred.len(), 100);
    assert_eq!((hundred[0], hundred[99]), (1000, 1));
    for w in hundred.windows(2) {
        // (T − 1)/(S − 1) = 10.09: gaps of 10 or 11
        assert!((10..=11).contains(&(w[0] - w[1])), "{w:?}");
    }
    assert_eq!(steps(1000).unwrap(), (1..=1000).rev().collect::<Vec<_>>());
    assert_eq!(steps(2).unwrap(), vec![1000, 1]);
    assert_eq!(steps(1).unwrap(), vec![1000]);
    for bad in [0, 1001] {
        let e = steps(bad).unwrap_err().to_string();
        assert!(e.contains("steps"), "{e}");
    }
    let e = SamplerConfig::new()
        .with_eta(1.5)
        .timesteps(&schedule)
        .unwrap_err()
        .to_string();
    assert!(e.contains("eta"), "{e}");
}

/// Unclipped, the ancestral step's mean through x̂_0 equals Ho et al.'s ε form
/// (x_t − β_t/√(1 − ᾱ_t) ε̂)/√α_t; v-prediction's target turns back into ε.
#[test]
fn the_two_forms_of_the_reverse_mean_and_of_the_prediction_agree() {
    let s = ScheduleKind::Cosine.build(1000).unwrap();
    for t in [2usize, 300, 999] {
        let (x, eps) = (0.37, -1.2);
        let (a, b) = s.marginal(t);
        let x0 = (x - b * eps) / a;
        let (c0, ct, _) = s.posterior(t);
        let beta = s.beta_at(t);
        let ho = (x - beta / b * eps) / (1.0 - beta).sqrt();
        assert!((c0 * x0 + ct * x - ho).abs() < 1e-12, "t = {t}");
    }
    let device = Default::default();
    let _serial = gdl_core::seed::serial();
    seed_all::<B>(&device, 5);
    let (x0, eps) = (normal(64, &device), normal(64, &device));
    let (a, b) = s.marginal(400);
    let full = |v: f64| Tensor::<B, 4>::full([64, 1, 1, 1], v, &device);
    let x_t = x0.clone().mul_scalar(a) + eps.clone().mul_scalar(b);
    let v = Prediction::V.target(eps.clone(), x0, full(a), full(b));
    let back = Prediction::V.to_noise(v, x_t, a, b);
    let err = to_f64((back - eps).abs().max())[0];
    assert!(err < 1e-5, "{err}");
}

/// Min-SNR-γ: the weight times a prediction's squared error equals min(SNR, γ) times the
/// squared error of the clean image x̂_0 recovered from that prediction (computed here in f64
/// from x_t = a x_0 + b ε: x̂_0 = (x_t − b ε̂)/a, or x̂_0 = a x_t − b v̂), at steps whose SNR
/// lies above, near and below γ.
#[test]
fn the_min_snr_weight_turns_a_prediction_error_into_min_snr_gamma_times_the_clean_error() {
    let s = ScheduleKind::Cosine.build(1000).unwrap();
    let device = Default::default();
    let gamma = 5.0;
    let (x0, eps, out) = ([0.3, -0.8, 0.9], [1.1, -0.4, 0.2], [0.7, 0.1, -1.3]);
    for t in [1usize, 100, 250, 500, 900, 1000] {
        let (a, b) = s.marginal(t);
        let snr = a * a / (b * b);
        let one = |v: f64| Tensor::<B, 4>::full([1, 1, 1, 1], v, &device);
        for prediction in [Prediction::Epsilon, Prediction::V] {
            let w = to_f64(prediction.min_snr_weight(one(a), one(b), gamma))[0];
            let (mut pred_err, mut clean_err) = (0.0, 0.0);
            for i in 0..3 {
                let x_t = a * x0[i] + b * eps[i];
                let (target, x0_hat) = match prediction {
                    Prediction::Epsilon => (eps[i], (x_t - b * out[i]) / a),
                    Prediction::V => (a * eps[i] - b * x0[i], a * x_t - b * out[i]),
                };
                pred_err += (out[i] - target) * (out[i] - target);
                clean_err += (x0_hat - x0[i]) * (x0_hat - x0[i]);
            }
            let want = snr.min(gamma) * clean_err;
            assert!(
                (w * pred_err - want).abs() <= 1e-5 * want,
                "{prediction:?} at t = {t} (SNR {snr:.3e}): {} against {want}",
                w * pred_err
            );
        }
    }
    // γ must be a positive number: each refusal names the field.
    for cfg in [
        tiny().with_snr_gamma(Some(0.0)),
        tiny().with_snr_gamma(Some(-1.0)),
        tiny().with_snr_gamma(Some(f64::NAN)),
    ] {
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains("snr_gamma"), "{e}");
    }
}

/// For data on the 256 grey levels of [−1, 1] drawn from a discretised N(m, s²), the bound
/// with the optimal predictor and σ_t² = β_t is at least the data's entropy H (the model's
/// cross-entropy bounds it) and above it by less than 0.03 nats (T = 1000; the gap is the
/// mismatch of the Gaussian reverse kernels, 0.008 ± 0.003 by an independent NumPy run).
#[test]
fn the_variational_bound_of_gaussian_data_is_its_entropy_up_to_the_known_gap() {
    let _serial = gdl_core::seed::serial();
    let device = Default::default();
    seed_all::<B>(&device, 6);
    let schedule = NoiseSchedule::linear(1000, 1e-4, 0.02).unwrap();
    let model = GaussianOptimal {
        m: M,
        s: S,
        schedule: &schedule,
    };
    // The bins' probabilities P_k = Φ(hi_k) − Φ(lo_k) and the entropy −Σ P ln P, from erf in f64.
    let phi = |z: f64| 0.5 * (1.0 + libm_erf(z / std::f64::consts::SQRT_2));
    let levels: Vec<f64> = (0..256).map(|k| -1.0 + 2.0 * k as f64 / 255.0).collect();
    let probs: Vec<f64> = levels
        .iter()
        .enumerate()
        .map(|(k, &x)| {
            let hi = if k == 255 {
                1.0
            } else {
                phi((x + HALF_BIN - M) / S)
            };
            let lo = if k == 0 {
                0.0
            } else {
                phi((x - HALF_BIN - M) / S)
            };
            hi - lo
        })
        .collect();
    let entropy: f64 = -probs
        .iter()
        .filter(|p| **p > 0.0)
        .map(|p| p * p.ln())
        .sum::<f64>();
    // Draw the data by inverting the CDF with a host RNG.
    let mut rng = gdl_core::seed::host_rng(6);
    let n = 40_000;
    let cdf: Vec<f64> = probs
        .iter()
        .scan(0.0, |c, p| {
            *c += p;
            Some(*c)
        })
        .collect();
    let data: Vec<f64> = (0..n)
        .map(|_| {
            let u: f64 = rand::Rng::random(&mut rng);
            levels[cdf.iter().position(|&c| c >= u).unwrap_or(255)]
        })
        .collect();
    let x0 = gdl_core::tensor::from_f64::<B, 4>(data, [n, 1, 1, 1], &device);
    let steps: Vec<usize> = (2..=1000).collect();
    let values = bound_per_image(&model, &schedule, x0, &steps, ReverseVariance::Beta);
    let (mean, var) = moments(&values);
    let se = (var / n as f64).sqrt();
    assert!(
        mean > entropy - 3.0 * se,
        "bound {mean} ± {se} below the entropy {entropy}"
    );
    assert!(
        mean < entropy + 0.03,
        "bound {mean} ± {se} vs entropy {entropy}"
    );
}

/// erf in f64 from Numerical Recipes' Chebyshev fit of erfc (|error| < 1.2e−7), independent of
/// the backend's erf that the bound uses.
fn libm_erf(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807
                                + t * (-1.13520398
                                    + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
            .exp();
    if x >= 0.0 {
        1.0 - r
    } else {
        r - 1.0
    }
}

/// The U-Net maps [N, 1, 28, 28] to [N, 1, 28, 28]; the default has about 0.8 M parameters
/// (the 0.7 M class), the wide preset about 6 M; bad shapes are errors naming the field.
#[test]
fn the_unet_keeps_the_image_shape_and_has_the_stated_size() {
    use burn::module::Module;
    let device = Default::default();
    let unet = UNetConfig::small().init::<B>(&device).unwrap();
    let params = unet.num_params();
    assert!((700_000..900_000).contains(&params), "{params} parameters");
    let wide = UNetConfig::wide().init::<B>(&device).unwrap().num_params();
    assert!(
        (4_000_000..8_000_000).contains(&wide),
        "wide: {wide} parameters"
    );
    let x = Tensor::<B, 4>::zeros([2, 1, 28, 28], &device);
    let t = Tensor::<B, 1>::from_floats([1.0, 500.0], &device);
    assert_eq!(unet.forward(x.clone(), t.clone()).dims(), [2, 1, 28, 28]);
    let fourier = UNetConfig::new()
        .with_channels(vec![8, 16])
        .with_fourier(vec![6, 7]);
    assert_eq!(
        fourier.init::<B>(&device).unwrap().forward(x, t).dims(),
        [2, 1, 28, 28]
    );
    for (cfg, field) in [
        (
            UNetConfig::new().with_channels(vec![8, 8, 8, 8]),
            "channels",
        ),
        (UNetConfig::new().with_channels(vec![12, 16]), "groups"),
        (UNetConfig::new().with_time_dim(7), "time_dim"),
        (UNetConfig::new().with_fourier(vec![3]), "fourier"),
    ] {
        let err = cfg.init::<B>(&device).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }
}

/// e(t) = [sin(t ω_i), cos(t ω_i)] with ω_i = 10000^(−i/half), written out for one t.
#[test]
fn the_sinusoidal_embedding_matches_its_formula() {
    let device = Default::default();
    let t = 37.0;
    let e = to_f64(sinusoidal_embedding(
        Tensor::<B, 1>::from_floats([t as f32], &device),
        8,
    ));
    for i in 0..4 {
        let w = 10_000f64.powf(-(i as f64) / 4.0);
        assert!((e[i] - (t * w).sin()).abs() < 1e-4, "sin {i}");
        assert!((e[4 + i] - (t * w).cos()).abs() < 1e-4, "cos {i}");
    }
}

/// The device tables give the host schedule's coefficients for every drawn step, and the
/// drawn steps cover 1..=T.
#[test]
fn random_steps_and_their_coefficients_come_from_the_schedule() {
    let _serial = gdl_core::seed::serial();
    let device = Default::default();
    seed_all::<B>(&device, 7);
    let s = ScheduleKind::Linear.build(10).unwrap();
    let tables = MarginalTables::<B>::new(&s, &device);
    let t = tables.random_steps(2000);
    let steps: Vec<usize> = t
        .clone()
        .into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .unwrap()
        .into_iter()
        .map(|v| v as usize)
        .collect();
    for k in 1..=10 {
        assert!(steps.contains(&k), "step {k} never drawn");
    }
    assert!(steps.iter().all(|&k| (1..=10).contains(&k)));
    let (a, b) = tables.gather(t);
    for ((k, a), b) in steps.iter().zip(to_f64(a)).zip(to_f64(b)) {
        let (ha, hb) = s.marginal(*k);
        assert!((a - ha).abs() < 1e-6 && (b - hb).abs() < 1e-6, "t = {k}");
    }
}

fn tiny() -> DiffusionTraining {
    DiffusionTraining::new(
        UNetConfig::new()
            .with_channels(vec![8, 16])
            .with_groups(4)
            .with_time_dim(16),
    )
    .with_steps(100)
    .with_batch_size(8)
}

/// Steps of the trainer on a fixed batch lower its loss; a checkpoint restores the network and
/// the moving average of its weights.
#[test]
fn the_trainer_learns_a_fixed_batch_and_checkpoints_its_network() {
    use burn::module::AutodiffModule;
    use gdl_core::train::{StepInfo, TrainStep};
    let _serial = gdl_core::seed::serial();
    let device = Default::default();
    seed_all::<AD>(&device, 8);
    for prediction in [Prediction::Epsilon, Prediction::V] {
        let cfg = tiny().with_prediction(prediction).with_learning_rate(3e-3);
        let mut trainer = DdpmTrainer::<AD>::new(&cfg, &device).unwrap();
        let x0 = Tensor::<AD, 4>::random([8, 1, 28, 28], Distribution::Uniform(-1.0, 1.0), &device);
        let batch = gdl_mnist::MnistBatch {
            images: x0.clone(),
            labels: Tensor::zeros([8], &device),
        };
        let mean_loss = |t: &DdpmTrainer<AD>| {
            seed_all::<AD>(&device, 9);
            (0..8).map(|_| to_f64(t.loss(x0.clone()))[0]).sum::<f64>() / 8.0
        };
        let before = mean_loss(&trainer);
        for step in 1..=30 {
            let at = StepInfo {
                epoch: 1,
                step,
                steps_per_epoch: 30,
            };
            trainer = trainer.step(batch.clone(), at).unwrap().0;
        }
        let after = mean_loss(&trainer);
        assert!(
            after < 0.8 * before,
            "{prediction:?}: loss {before} → {after}"
        );
        let dir = tempfile::tempdir().unwrap();
        trainer.save(dir.path()).unwrap();
        let loaded = DdpmTrainer::<AD>::new(&cfg, &device)
            .unwrap()
            .load(dir.path(), &device)
            .unwrap();
        let t = Tensor::<B, 1>::from_floats([3.0; 8], &device);
        assert_eq!(
            to_f64(trainer.model.valid().forward(x0.clone().inner(), t.clone())),
            to_f64(loaded.model.valid().forward(x0.clone().inner(), t.clone())),
        );
        assert_eq!(
            to_f64(trainer.ema.forward(x0.clone().inner(), t.clone())),
            to_f64(loaded.ema.forward(x0.inner(), t)),
            "the moving average"
        );
    }
}

/// γ_η(0) = γ_0, γ_η(1) = γ_1, γ increases, and γ' (written out through the monotone
/// network) equals central finite differences of γ.
#[test]
fn the_learned_log_snr_schedule_is_monotone_with_its_endpoints_and_derivative() {
    // f32 (NdArray keeps one float type per device and process; the other tests draw in f32).
    type F = B;
    let _serial = gdl_core::seed::serial();
    let device = Default::default();
    seed_all::<F>(&device, 11);
    let gamma = GammaConfig::new()
        .with_hidden(16)
        .init::<F>(&device)
        .unwrap();
    let times: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
    let t = gdl_core::tensor::from_f64::<F, 1>(times.clone(), [101], &device);
    let (g, slope) = gamma.forward(t);
    let (g, slope) = (to_f64(g), to_f64(slope));
    assert!(
        (g[0] + 13.3).abs() < 1e-4 && (g[100] - 5.0).abs() < 1e-4,
        "{} {}",
        g[0],
        g[100]
    );
    assert!(g.windows(2).all(|w| w[1] > w[0]), "not increasing");
    let h = 1e-3;
    for i in [10, 37, 50, 90] {
        let at = |x: f64| {
            to_f64(
                gamma
                    .forward(gdl_core::tensor::from_f64::<F, 1>(vec![x], [1], &device))
                    .0,
            )[0]
        };
        let fd = (at(times[i] + h) - at(times[i] - h)) / (2.0 * h);
        assert!(
            (slope[i] / fd - 1.0).abs() < 1e-3,
            "t = {}: γ' {} vs {fd}",
            times[i],
            slope[i]
        );
    }
    assert!(GammaConfig::new()
        .with_gamma_0(6.0)
        .init::<F>(&device)
        .is_err());
}

/// VDM's §5: with a denoiser x̂(z, v) that sees only the noisy input and v = SNR, the
/// continuous-time loss −½ E_t [SNR'(t) (x − x̂)²] depends on the schedule only through its
/// endpoints. For x ~ N(m, s²) and the optimal x̂, it equals ½ ln((1 + v_max s²)/(1 + v_min s²))
/// per dimension. A linear γ and a random monotone network with the same endpoints both
/// estimate it (antithetic times) within 4 standard errors.
#[test]
fn the_continuous_diffusion_loss_depends_on_the_schedule_only_through_its_endpoints() {
    let _serial = gdl_core::seed::serial();
    let device = Default::default();
    seed_all::<B>(&device, 12);
    let gamma_net = GammaConfig::new()
        .with_hidden(32)
        .init::<B>(&device)
        .unwrap();
    let (g0, g1) = (-13.3, 5.0);
    let (g0_f, g1_f): (f64, f64) = (g0, g1);
    let exact = 0.5 * ((1.0 + (-g0_f).exp() * S * S) / (1.0 + (-g1_f).exp() * S * S)).ln();
    let n = 40_000;
    // x ~ N(m, s²) and ε, shared by both schedules.
    let x = normal(n, &device).mul_scalar(S).add_scalar(M).reshape([n]);
    let eps = normal(n, &device).reshape([n]);
    let t = antithetic_times::<B>(n, &device);
    let linear = (
        t.clone().mul_scalar(g1 - g0).add_scalar(g0),
        t.ones_like().mul_scalar(g1 - g0),
    );
    for (name, (gamma, slope)) in [
        ("linear γ", linear),
        ("monotone network γ", gamma_net.forward(t)),
    ] {
        let (alpha, sigma) = alpha_sigma(gamma.clone());
        let z = x.clone() * alpha.clone() + eps.clone() * sigma.clone();
        // x̂ = m + α s² (z − α m)/(α² s² + σ²), the posterior mean given z at SNR v = α²/σ²
        let x_hat = (z - alpha.clone().mul_scalar(M)) * alpha.clone().mul_scalar(S * S)
            / (alpha.powi_scalar(2).mul_scalar(S * S) + sigma.powi_scalar(2))
            + M;
        // −½ SNR'(t) = ½ γ'(t) e^{−γ(t)}
        let per_draw = to_f64((x.clone() - x_hat).powi_scalar(2) * slope * gamma.neg().exp() * 0.5);
        let (mean, var) = moments(&per_draw);
        let se = (var / n as f64).sqrt();
        assert!(
            (mean - exact).abs() < 4.0 * se + 1e-3,
            "{name}: {mean} ± {se} vs {exact}"
        );
    }
}

/// The VDM trainer steps (finite bits/dim, the endpoints of γ move) and its checkpoint restores
/// the schedule; the prior term equals ½ Σ (σ_1² + α_1² x² − ln σ_1² − 1) written out.
#[test]
fn the_vdm_trains_its_schedule_and_its_prior_term_is_the_closed_form() {
    use gdl_core::train::{StepInfo, TrainStep};
    let _serial = gdl_core::seed::serial();
    let device = Default::default();
    seed_all::<AD>(&device, 13);
    let cfg = tiny()
        .with_process(Process::Vdm)
        .with_gamma(GammaConfig::new().with_hidden(8));
    let mut trainer = VdmTrainer::<AD>::new(&cfg, &device).unwrap();
    let x0 = Tensor::<AD, 4>::random([8, 1, 28, 28], Distribution::Uniform(-1.0, 1.0), &device);
    let terms = trainer.model.terms(x0.clone());
    let (a1, s1) = (1.0 / (1.0 + 5f64.exp()), 1.0 / (1.0 + (-5f64).exp()));
    let x: Vec<f64> = to_f64(x0.clone().inner());
    for (i, prior) in to_f64(terms.prior.inner()).iter().enumerate() {
        let expect: f64 = x[i * 784..(i + 1) * 784]
            .iter()
            .map(|v| 0.5 * (s1 + a1 * v * v - s1.ln() - 1.0))
            .sum();
        assert!(
            (prior / expect - 1.0).abs() < 1e-4,
            "image {i}: {prior} vs {expect}"
        );
    }
    let batch = gdl_mnist::MnistBatch {
        images: x0,
        labels: Tensor::zeros([8], &device),
    };
    let mut last = None;
    for step in 1..=3 {
        let at = StepInfo {
            epoch: 1,
            step,
            steps_per_epoch: 3,
        };
        let (next, figures) = trainer.step(batch.clone(), at).unwrap();
        let figures = figures.read();
        trainer = next;
        assert!(figures.get("bits_per_dim").unwrap().is_finite());
        last = Some(figures);
    }
    let figures = last.unwrap();
    assert_ne!(figures.get("gamma_0"), Some(-13.3), "γ_0 did not move");
    let dir = tempfile::tempdir().unwrap();
    trainer.save(dir.path()).unwrap();
    let loaded = VdmTrainer::<AD>::new(&cfg, &device)
        .unwrap()
        .load(dir.path(), &device)
        .unwrap();
    let t = Tensor::<AD, 1>::from_floats([0.1, 0.7], &device);
    assert_eq!(
        to_f64(trainer.model.gamma.forward(t.clone()).0),
        to_f64(loaded.model.gamma.forward(t).0)
    );
}
