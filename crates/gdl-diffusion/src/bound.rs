//! The variational bound on −log p(x_0) (Sohl-Dickstein et al. 2015; Ho et al. 2020, eq. 5):
//!
//! −log p(x_0) ≤ L_T + Σ_{t=2}^{T} L_{t−1} + L_0, per image, in nats, with
//!
//! - L_T = KL(q(x_T | x_0) ‖ N(0, I)) = ½ Σ_i (ᾱ_T x_{0,i}² + (1 − ᾱ_T) − 1 − ln(1 − ᾱ_T));
//! - L_{t−1} = KL(q(x_{t−1} | x_t, x_0) ‖ p(x_{t−1} | x_t))
//!   = Σ_i [ln(σ_t/√β̃_t) + (β̃_t + (μ̃_t − μ_θ)²)/(2σ_t²) − ½], where for x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε,
//!   μ̃_t − μ_θ = β_t/(√α_t √(1 − ᾱ_t)) (ε̂ − ε);
//! - L_0 = −ln p(x_0 | x_1), the discretised decoder: each pixel's bin of width 2/255 around its
//!   grey level in [−1, 1] (the outer bins reach ±∞) under N(μ_θ(x_1, 1), σ_1² = β_1).
//!
//! The sum over t is estimated by (T − 1) times the mean of L_{t−1} at steps drawn
//! stratified from 2..=T (all of them for the exact bound). Bits per dimension: nats / (D ln 2).

use crate::predictor::NoisePredictor;
use crate::sampler::ReverseVariance;
use crate::schedule::NoiseSchedule;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use gdl_mnist::{MnistData, MnistLoader, Transform};
use rand::Rng;

/// Half the width of a grey level's bin in [−1, 1]: 1/255.
pub const HALF_BIN: f64 = 1.0 / 255.0;

/// Per-pixel sums over an image [N, C, H, W] → [N].
pub(crate) fn per_image<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 1> {
    let n = x.dims()[0];
    x.reshape([n as i32, -1]).sum_dim(1).reshape([n])
}

/// L_T for each image [N], in nats.
pub fn prior_term<B: Backend>(schedule: &NoiseSchedule, x0: Tensor<B, 4>) -> Tensor<B, 1> {
    let ab = schedule.alpha_bar_at(schedule.steps());
    // ½ (ᾱ_T x₀² + (1 − ᾱ_T) − 1 − ln(1 − ᾱ_T)) per pixel
    let constant = 0.5 * ((1.0 - ab) - 1.0 - (1.0 - ab).ln());
    per_image(x0.powi_scalar(2).mul_scalar(0.5 * ab).add_scalar(constant))
}

/// Φ(z), the standard normal CDF.
fn normal_cdf<B: Backend>(z: Tensor<B, 4>) -> Tensor<B, 4> {
    z.div_scalar(std::f64::consts::SQRT_2)
        .erf()
        .add_scalar(1.0)
        .mul_scalar(0.5)
}

/// −ln P(x) per image [N], in nats, for grey levels x in [−1, 1] whose bins of width 2/255
/// (the outer ones reaching ±∞) are weighed by N(mean, sigma²); `sigma` broadcasts
/// ([1, 1, 1, 1] for one value).
pub fn discretized_gaussian_nll<B: Backend>(
    x: Tensor<B, 4>,
    mean: Tensor<B, 4>,
    sigma: Tensor<B, 4>,
) -> Tensor<B, 1> {
    let centred = x.clone() - mean;
    let upper = normal_cdf(centred.clone().add_scalar(HALF_BIN).div(sigma.clone()));
    let lower = normal_cdf(centred.sub_scalar(HALF_BIN).div(sigma));
    // The outer bins: Φ(upper) for x = −1, 1 − Φ(lower) for x = 1.
    let ones = upper.ones_like();
    let bottom = x.clone().lower_elem(-1.0 + HALF_BIN);
    let top = x.greater_elem(1.0 - HALF_BIN);
    let upper = upper.mask_where(top, ones);
    let lower = lower.mask_fill(bottom, 0.0);
    per_image((upper - lower).clamp_min(1e-12).log().neg())
}

/// L_0 = −ln p(x_0 | x_1) for each image [N], in nats, with fresh noise for x_1.
pub fn reconstruction_term<B: Backend>(
    model: &impl NoisePredictor<B>,
    schedule: &NoiseSchedule,
    x0: Tensor<B, 4>,
) -> Tensor<B, 1> {
    let eps = gdl_core::random::random(x0.dims(), Distribution::Normal(0.0, 1.0), &x0.device());
    let (a, b) = schedule.marginal(1);
    let x1 = x0.clone().mul_scalar(a) + eps.mul_scalar(b);
    let eps_hat = model.predict_noise(x1.clone(), 1);
    // μ_θ(x_1, 1) = (x_1 − β_1/√(1 − ᾱ_1) ε̂)/√α_1, σ_1 = √β_1
    let beta = schedule.beta_at(1);
    let mean = (x1 - eps_hat.mul_scalar(beta / b)).div_scalar((1.0 - beta).sqrt());
    let sigma = Tensor::full([1, 1, 1, 1], beta.sqrt(), &x0.device());
    discretized_gaussian_nll(x0, mean, sigma)
}

/// L_{t−1} for each image [N] at step t in 2..=T, in nats, with fresh noise for x_t.
pub fn diffusion_term<B: Backend>(
    model: &impl NoisePredictor<B>,
    schedule: &NoiseSchedule,
    x0: Tensor<B, 4>,
    t: usize,
    variance: ReverseVariance,
) -> Tensor<B, 1> {
    let eps = gdl_core::random::random(x0.dims(), Distribution::Normal(0.0, 1.0), &x0.device());
    let (a, b) = schedule.marginal(t);
    let x_t = x0.mul_scalar(a) + eps.clone().mul_scalar(b);
    let eps_hat = model.predict_noise(x_t, t);
    let (beta, (_, _, beta_tilde)) = (schedule.beta_at(t), schedule.posterior(t));
    let s2 = variance.at(schedule, t);
    // (μ̃ − μ_θ)² = (β_t/(√α_t √(1 − ᾱ_t)))² (ε̂ − ε)²
    let scale = beta / ((1.0 - beta).sqrt() * b);
    let constant = 0.5 * (s2 / beta_tilde).ln() + beta_tilde / (2.0 * s2) - 0.5;
    per_image(
        (eps_hat - eps)
            .powi_scalar(2)
            .mul_scalar(scale * scale / (2.0 * s2))
            .add_scalar(constant),
    )
}

/// The bound for each image of `x0`, in nats: L_T + L_0 + (T − 1) · mean over `steps` of
/// L_{t−1} (each t in 2..=T; all of them give the exact sum).
pub fn bound_per_image<B: Backend>(
    model: &impl NoisePredictor<B>,
    schedule: &NoiseSchedule,
    x0: Tensor<B, 4>,
    steps: &[usize],
    variance: ReverseVariance,
) -> Vec<f64> {
    let mut diffusion = Tensor::<B, 1>::zeros([x0.dims()[0]], &x0.device());
    for &t in steps {
        diffusion = diffusion + diffusion_term(model, schedule, x0.clone(), t, variance);
    }
    let weight = (schedule.steps() - 1) as f64 / steps.len().max(1) as f64;
    let total = prior_term(schedule, x0.clone())
        + reconstruction_term(model, schedule, x0)
        + diffusion.mul_scalar(weight);
    gdl_core::tensor::to_f64(total)
}

/// `k` steps drawn stratified from 2..=T: one uniformly from each of k equal strata.
pub fn stratified_steps(t: usize, k: usize, rng: &mut impl Rng) -> Vec<usize> {
    let span = (t - 1) as f64;
    (0..k)
        .map(|i| {
            let u: f64 = rng.random();
            (2 + ((i as f64 + u) / k as f64 * span) as usize).min(t)
        })
        .collect()
}

/// The bound over a data set: mean and standard error of the per-image values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bound {
    /// Mean over the images of the bound on −log p(x_0), nats per image.
    pub nats: f64,
    /// Its standard error over the images.
    pub standard_error: f64,
    /// Dimensions per image.
    pub dims: usize,
}

impl Bound {
    /// From per-image values of images with `dims` dimensions.
    pub fn from_values(values: &[f64], dims: usize) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        Bound {
            nats: mean,
            standard_error: (var / n).sqrt(),
            dims,
        }
    }

    /// nats / (D ln 2).
    pub fn bits_per_dim(&self) -> f64 {
        self.nats / (self.dims as f64 * std::f64::consts::LN_2)
    }
}

/// The bound on the digits of `data` (grey levels mapped to [−1, 1]), `draws` stratified steps
/// per batch of `batch` digits, steps drawn from `seed`.
pub fn data_bound<B: Backend>(
    model: &impl NoisePredictor<B>,
    schedule: &NoiseSchedule,
    data: &MnistData,
    batch: usize,
    draws: usize,
    seed: u64,
    device: &B::Device,
) -> Bound {
    let mut rng = gdl_core::seed::host_rng(seed);
    bound_over_data(data, batch, device, |images| {
        let steps = stratified_steps(schedule.steps(), draws, &mut rng);
        bound_per_image(model, schedule, images, &steps, ReverseVariance::Beta)
    })
}

/// The bound over the digits of `data` (grey levels mapped to [−1, 1]) in batches of `batch`,
/// from `per_batch`'s per-digit values in nats.
pub(crate) fn bound_over_data<B: Backend>(
    data: &MnistData,
    batch: usize,
    device: &B::Device,
    mut per_batch: impl FnMut(Tensor<B, 4>) -> Vec<f64>,
) -> Bound {
    let loader = MnistLoader::new(data, batch).transform(Transform::symmetric());
    let mut values = Vec::with_capacity(data.len());
    for b in loader.epoch::<B>(0, device) {
        values.extend(per_batch(b.images));
    }
    Bound::from_values(&values, gdl_mnist::PIXELS)
}
