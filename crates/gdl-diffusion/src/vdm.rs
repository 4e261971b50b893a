//! Variational diffusion models (Kingma, Salimans, Poole, Ho 2021): continuous time t ∈ [0, 1],
//! z_t = α_t x + σ_t ε with α_t² = sigmoid(−γ(t)) and σ_t² = sigmoid(γ(t)), so that the
//! signal-to-noise ratio is SNR(t) = α_t²/σ_t² = exp(−γ(t)). The log-SNR schedule γ_η is learned:
//! a monotone network whose endpoints γ_0 = γ(0) and γ_1 = γ(1) are parameters.
//!
//! The bound on −log p(x), per image, in nats:
//!
//! - diffusion loss (continuous time): L_∞ = ½ E_{t ~ U(0, 1), ε} [γ'(t) ‖ε − ε̂(z_t; t)‖²],
//!   estimated with antithetic (low-discrepancy) times t_i = (u + i/N) mod 1 over a batch;
//! - prior: KL(q(z_1 | x) ‖ N(0, I)) = ½ Σ_i (σ_1² + α_1² x_i² − ln σ_1² − 1);
//! - reconstruction: −ln p(x | z_0), each pixel's grey-level bin under N(z_0/α_0, σ_0²/α_0²).
//!
//! Written with x̂ = (z_t − σ_t ε̂)/α_t, L_∞ = −½ E_t [SNR'(t) ‖x − x̂‖²]: for a denoiser that is a
//! function of z and SNR alone, a change of variables v = SNR(t) shows that L_∞ depends on the
//! schedule only through SNR(0) and SNR(1) (the paper's §5; tested).

use crate::bound::{bound_over_data, discretized_gaussian_nll, per_image, Bound};
use crate::schedule::NoiseSchedule;
use crate::unet::{UNet, UNetConfig};
use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};

/// The learned log-SNR schedule's shape.
#[derive(Config, Debug)]
pub struct GammaConfig {
    /// γ_0 = γ(0) at initialisation (the paper's −13.3).
    #[config(default = -13.3)]
    pub gamma_0: f64,
    /// γ_1 = γ(1) at initialisation (the paper's 5.0).
    #[config(default = 5.0)]
    pub gamma_1: f64,
    /// Width of the monotone network's sigmoid layer (the paper's 1024).
    #[config(default = 1024)]
    pub hidden: usize,
}

impl GammaConfig {
    /// The schedule network; its interior weights from the seeded backend RNG.
    pub fn init<B: Backend>(&self, device: &B::Device) -> gdl_core::Result<Gamma<B>> {
        if self.gamma_0.is_nan()
            || self.gamma_1.is_nan()
            || self.gamma_0 >= self.gamma_1
            || self.hidden == 0
        {
            return Err(gdl_core::Error::invalid(
                "gamma",
                format!(
                    "γ_0 = {} must be below γ_1 = {} and hidden ({}) positive",
                    self.gamma_0, self.gamma_1, self.hidden
                ),
            ));
        }
        let k = self.hidden;
        let uniform = |shape: [usize; 2]| {
            Param::from_tensor(Tensor::random(
                shape,
                Distribution::Uniform(0.0, 1.0),
                device,
            ))
        };
        let scalar = |v: f64| Param::from_tensor(Tensor::from_floats([v as f32], device));
        Ok(Gamma {
            a: uniform([1, 1]),
            b: scalar(0.0),
            u: uniform([1, k]),
            c: Param::from_tensor(Tensor::random(
                [1, k],
                Distribution::Uniform(-1.0, 1.0),
                device,
            )),
            v: Param::from_tensor(
                Tensor::random([k, 1], Distribution::Uniform(0.0, 1.0), device)
                    .div_scalar(k as f64),
            ),
            gamma_0: scalar(self.gamma_0),
            gamma_1: scalar(self.gamma_1),
        })
    }
}

/// γ_η(t) = γ_0 + (γ_1 − γ_0) (γ̃(t) − γ̃(0))/(γ̃(1) − γ̃(0)) with the monotone
/// γ̃(t) = l(t) + Σ_k |v_k| sigmoid(|u_k| l(t) + c_k), l(t) = |a| t + b: every weight on a path
/// from t to the output is positive, so γ̃ (and γ) increases with t.
#[derive(Module, Debug)]
pub struct Gamma<B: Backend> {
    a: Param<Tensor<B, 2>>,
    b: Param<Tensor<B, 1>>,
    u: Param<Tensor<B, 2>>,
    c: Param<Tensor<B, 2>>,
    v: Param<Tensor<B, 2>>,
    gamma_0: Param<Tensor<B, 1>>,
    gamma_1: Param<Tensor<B, 1>>,
}

impl<B: Backend> Gamma<B> {
    /// γ̃(t) and γ̃'(t) for times t [N, 1].
    fn raw(&self, t: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let a = self.a.val().abs();
        let l = t.matmul(a.clone()) + self.b.val().reshape([1, 1]);
        let u = self.u.val().abs();
        let v = self.v.val().abs();
        let s = sigmoid(l.clone().matmul(u.clone()) + self.c.val());
        // γ̃' = |a| (1 + Σ_k |v_k| s_k (1 − s_k) |u_k|)
        let ds = s.clone() * s.clone().neg().add_scalar(1.0) * u;
        let slope = ds.matmul(v.clone()).add_scalar(1.0) * a;
        (l + s.matmul(v), slope)
    }

    /// γ(t) and γ'(t) for times t [N] in [0, 1], each [N].
    pub fn forward(&self, t: Tensor<B, 1>) -> (Tensor<B, 1>, Tensor<B, 1>) {
        let n = t.dims()[0];
        let ends = Tensor::<B, 1>::from_floats([0.0, 1.0], &t.device()).reshape([2, 1]);
        let (g_ends, _) = self.raw(ends);
        let g0 = g_ends.clone().narrow(0, 0, 1);
        let span = g_ends.narrow(0, 1, 1) - g0.clone();
        let (g, slope) = self.raw(t.reshape([n, 1]));
        let width = (self.gamma_1.val() - self.gamma_0.val()).reshape([1, 1]);
        let gamma =
            (g - g0).div(span.clone()).mul(width.clone()) + self.gamma_0.val().reshape([1, 1]);
        let derivative = slope.div(span).mul(width);
        (gamma.reshape([n]), derivative.reshape([n]))
    }

    /// (γ_0, γ_1), the learned endpoints.
    pub fn endpoints(&self) -> (Tensor<B, 1>, Tensor<B, 1>) {
        (self.gamma_0.val(), self.gamma_1.val())
    }

    /// The discrete schedule of T steps at times t/T (t = 1..T), ᾱ_t = sigmoid(−γ(t/T)), for the
    /// DDPM and DDIM samplers, and the γ of each step.
    pub fn discretize(
        &self,
        steps: usize,
        device: &B::Device,
    ) -> gdl_core::Result<(NoiseSchedule, Vec<f64>)> {
        let times: Vec<f64> = (1..=steps).map(|t| t as f64 / steps as f64).collect();
        let (gamma, _) = self.forward(gdl_core::tensor::from_f64(times, [steps], device));
        let gamma = gdl_core::tensor::to_f64(gamma);
        let alpha_bar: Vec<f64> = gamma.iter().map(|g| 1.0 / (1.0 + g.exp())).collect();
        Ok((NoiseSchedule::from_alpha_bars(&alpha_bar)?, gamma))
    }
}

/// α_t and σ_t [N] from γ_t [N]: α² = sigmoid(−γ), σ² = sigmoid(γ).
pub fn alpha_sigma<B: Backend>(gamma: Tensor<B, 1>) -> (Tensor<B, 1>, Tensor<B, 1>) {
    (sigmoid(gamma.clone().neg()).sqrt(), sigmoid(gamma).sqrt())
}

/// Antithetic times for a batch of `n`: t_i = (u + i/n) mod 1 with one u ~ U(0, 1).
pub fn antithetic_times<B: Backend>(n: usize, device: &B::Device) -> Tensor<B, 1> {
    let u = Tensor::<B, 1>::random([1], Distribution::Uniform(0.0, 1.0), device);
    let grid = Tensor::<B, 1, burn::tensor::Int>::arange(0..n as i64, device)
        .float()
        .div_scalar(n as f64);
    let t = grid + u;
    // (u + i/n) mod 1
    t.clone() - t.floor()
}

/// The VDM's networks and config.
#[derive(Config, Debug)]
pub struct VdmConfig {
    /// The noise-predicting network (Fourier features of the input recommended).
    #[config(default = "UNetConfig::small().with_fourier(vec![6, 7])")]
    pub unet: UNetConfig,
    /// The learned schedule.
    #[config(default = "GammaConfig::new()")]
    pub gamma: GammaConfig,
}

/// A variational diffusion model: ε̂(z_t; γ_t) and γ_η.
#[derive(Module, Debug)]
pub struct Vdm<B: Backend> {
    /// The noise-predicting network.
    pub unet: UNet<B>,
    /// The log-SNR schedule.
    pub gamma: Gamma<B>,
}

/// The U-Net's time input for log-SNR γ: 1000 (γ + 13.3)/18.3, the paper's initial endpoints
/// mapped onto DDPM's step range.
pub fn time_input<B: Backend>(gamma: Tensor<B, 1>) -> Tensor<B, 1> {
    gamma.add_scalar(13.3).mul_scalar(1000.0 / 18.3)
}

/// The three terms of the bound per image [N], in nats.
#[derive(Clone, Debug)]
pub struct VdmTerms<B: Backend> {
    /// L_∞ (one antithetic time per image).
    pub diffusion: Tensor<B, 1>,
    /// KL(q(z_1 | x) ‖ N(0, I)).
    pub prior: Tensor<B, 1>,
    /// −ln p(x | z_0).
    pub reconstruction: Tensor<B, 1>,
}

impl<B: Backend> VdmTerms<B> {
    /// Their sum per image.
    pub fn total(self) -> Tensor<B, 1> {
        self.diffusion + self.prior + self.reconstruction
    }
}

impl VdmConfig {
    /// The model, weights from the seeded backend RNG.
    pub fn init<B: Backend>(&self, device: &B::Device) -> gdl_core::Result<Vdm<B>> {
        Ok(Vdm {
            unet: self.unet.init(device)?,
            gamma: self.gamma.init(device)?,
        })
    }
}

impl<B: Backend> Vdm<B> {
    /// The bound's terms for clean images x [N, 1, 28, 28] in [−1, 1], with antithetic times
    /// and noise from the backend RNG.
    pub fn terms(&self, x: Tensor<B, 4>) -> VdmTerms<B> {
        let [n, ..] = x.dims();
        let device = x.device();
        let normal =
            || gdl_core::random::random::<B, 4>(x.dims(), Distribution::Normal(0.0, 1.0), &device);
        // Diffusion loss: ½ γ'(t) ‖ε − ε̂(z_t; γ_t)‖²
        let (gamma_t, slope) = self.gamma.forward(antithetic_times(n, &device));
        let (alpha, sigma) = alpha_sigma(gamma_t.clone());
        let eps = normal();
        let z = x.clone() * alpha.reshape([n, 1, 1, 1]) + eps.clone() * sigma.reshape([n, 1, 1, 1]);
        let eps_hat = self.unet.forward(z, time_input(gamma_t));
        let diffusion = per_image((eps - eps_hat).powi_scalar(2)) * slope.mul_scalar(0.5);
        let (g0, g1) = self.gamma.endpoints();
        // Prior: ½ Σ (σ_1² + α_1² x² − ln σ_1² − 1)
        let (a1, s1) = alpha_sigma(g1.clone());
        let s1_sq = s1.powi_scalar(2).reshape([1, 1, 1, 1]);
        let prior = per_image(
            x.clone().powi_scalar(2) * a1.powi_scalar(2).reshape([1, 1, 1, 1]) + s1_sq.clone()
                - s1_sq.log().add_scalar(1.0),
        )
        .mul_scalar(0.5);
        // Reconstruction: z_0 = α_0 x + σ_0 ε, x ~ bins of N(z_0/α_0, σ_0²/α_0²), σ_0/α_0 = e^{γ_0/2}
        let (a0, s0) = alpha_sigma(g0.clone());
        let a0 = a0.reshape([1, 1, 1, 1]);
        let z0 = x.clone() * a0.clone() + normal() * s0.reshape([1, 1, 1, 1]);
        let scale = g0.mul_scalar(0.5).exp().reshape([1, 1, 1, 1]);
        let reconstruction = discretized_gaussian_nll(x, z0.div(a0), scale);
        VdmTerms {
            diffusion,
            prior,
            reconstruction,
        }
    }
}

/// A trained VDM as ε̂(x_t, t) on the discrete steps of [`Gamma::discretize`], for the DDPM and
/// DDIM samplers.
#[derive(Clone, Debug)]
pub struct VdmDenoiser<'a, B: Backend> {
    /// The network.
    pub unet: &'a UNet<B>,
    /// γ of each step t = 1..T (index t − 1).
    pub gammas: Vec<f64>,
}

impl<B: Backend> crate::predictor::NoisePredictor<B> for VdmDenoiser<'_, B> {
    fn predict_noise(&self, x_t: Tensor<B, 4>, t: usize) -> Tensor<B, 4> {
        let n = x_t.dims()[0];
        let gamma = Tensor::<B, 1>::full([n], self.gammas[t - 1], &x_t.device());
        self.unet.forward(x_t, time_input(gamma))
    }
}

/// The VDM's bound on the digits of `data` (grey levels mapped to [−1, 1]): `draws` passes of
/// antithetic times and fresh noise per batch of `batch` digits, averaged per digit.
pub fn vdm_data_bound<B: Backend>(
    vdm: &Vdm<B>,
    data: &gdl_mnist::MnistData,
    batch: usize,
    draws: usize,
    device: &B::Device,
) -> Bound {
    let draws = draws.max(1);
    bound_over_data(data, batch, device, |images| {
        let mut sum = Tensor::<B, 1>::zeros([images.dims()[0]], device);
        for _ in 0..draws {
            sum = sum + vdm.terms(images.clone()).total();
        }
        gdl_core::tensor::to_f64(sum.div_scalar(draws as f64))
    })
}
