//! What the samplers and the bound need from a network: the noise ε̂(x_t, t) it predicts. The
//! U-Net may be trained to output ε (Ho et al. 2020) or the velocity v = √ᾱ_t ε − √(1 − ᾱ_t) x_0
//! (Salimans & Ho 2022); [`Denoiser`] turns either into ε̂, and any closed-form predictor (the
//! optimal one for Gaussian data in the tests) plugs into the same samplers.

use crate::schedule::NoiseSchedule;
use crate::unet::UNet;
use burn::config::Config;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// A model of the noise in x_t.
pub trait NoisePredictor<B: Backend> {
    /// ε̂(x_t, t) for a batch x_t [N, C, H, W] at step t (1..=T).
    fn predict_noise(&self, x_t: Tensor<B, 4>, t: usize) -> Tensor<B, 4>;
}

/// What the network is trained to output.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Prediction {
    /// The noise ε.
    Epsilon,
    /// The velocity v = √ᾱ_t ε − √(1 − ᾱ_t) x_0.
    V,
}

impl Prediction {
    /// The regression target given the noise, the clean image and (a, b) = (√ᾱ_t, √(1 − ᾱ_t)).
    pub fn target<B: Backend>(
        self,
        eps: Tensor<B, 4>,
        x0: Tensor<B, 4>,
        a: Tensor<B, 4>,
        b: Tensor<B, 4>,
    ) -> Tensor<B, 4> {
        match self {
            Prediction::Epsilon => eps,
            // v = a ε − b x_0
            Prediction::V => eps * a - x0 * b,
        }
    }

    /// The Min-SNR-γ weight of each image's squared error (Hang et al. 2023), for steps with
    /// coefficients (a, b) [N, 1, 1, 1]: the clean-image error's weight min(SNR, γ), with
    /// SNR = a²/b², carried over to this prediction's error. Since x̂_0 − x_0 = −(b/a)(ε̂ − ε)
    /// and x̂_0 − x_0 = −b (v̂ − v), ‖ε̂ − ε‖² = SNR ‖x̂_0 − x_0‖² and
    /// ‖v̂ − v‖² = (SNR + 1) ‖x̂_0 − x_0‖², so the weights are min(SNR, γ)/SNR = γ/max(SNR, γ)
    /// and min(SNR, γ)/(SNR + 1). High-SNR (nearly clean) steps, whose small errors dominate
    /// little of what a sample looks like, stop pulling the network's capacity their way.
    pub fn min_snr_weight<B: Backend>(
        self,
        a: Tensor<B, 4>,
        b: Tensor<B, 4>,
        gamma: f64,
    ) -> Tensor<B, 4> {
        let snr = a.powi_scalar(2) / b.powi_scalar(2);
        match self {
            // γ / max(SNR, γ): finite even where ᾱ_t underflows to SNR = 0.
            Prediction::Epsilon => snr.clamp_min(gamma).recip().mul_scalar(gamma),
            Prediction::V => snr.clone().clamp_max(gamma) / snr.add_scalar(1.0),
        }
    }

    /// ε̂ from the network's output at a step with coefficients (a, b): ε̂ = output, or for
    /// v-prediction ε̂ = a v̂ + b x_t (since a v + b x_t = (a² + b²) ε = ε).
    pub fn to_noise<B: Backend>(
        self,
        output: Tensor<B, 4>,
        x_t: Tensor<B, 4>,
        a: f64,
        b: f64,
    ) -> Tensor<B, 4> {
        match self {
            Prediction::Epsilon => output,
            Prediction::V => output.mul_scalar(a) + x_t.mul_scalar(b),
        }
    }
}

/// A trained U-Net as a noise predictor.
#[derive(Clone, Debug)]
pub struct Denoiser<'a, B: Backend> {
    /// The network.
    pub unet: &'a UNet<B>,
    /// What it outputs.
    pub prediction: Prediction,
    /// The schedule it was trained with.
    pub schedule: NoiseSchedule,
}

impl<B: Backend> NoisePredictor<B> for Denoiser<'_, B> {
    fn predict_noise(&self, x_t: Tensor<B, 4>, t: usize) -> Tensor<B, 4> {
        let n = x_t.dims()[0];
        let steps = Tensor::<B, 1>::full([n], t as f64, &x_t.device());
        let output = self.unet.forward(x_t.clone(), steps);
        let (a, b) = self.schedule.marginal(t);
        self.prediction.to_noise(output, x_t, a, b)
    }
}
