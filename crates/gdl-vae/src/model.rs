//! The autoencoder, deterministic or variational, over an MLP or convolutional encoder and
//! decoder (see [`crate::arch`]) and a Bernoulli or Gaussian decoder distribution.
//!
//! ```text
//! deterministic (the lecture's starting point):  h = μ_φ(x),                 loss −log p(x|h)
//! variational:   q_φ(h|x) = N(μ_φ(x), diag σ²_φ(x)),  h = μ + σ ⊙ ε, ε ~ N(0, I)  (reparameterisation)
//!                loss −ELBO = E_q[−log p_θ(x|h)] + D_KL(q_φ(h|x) || N(0, I))
//! ```

use crate::arch::{Architecture, Decoder, Encoder, SIDE};
use crate::likelihood::Likelihood;
use crate::loss::NegativeElbo;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{activation::sigmoid, backend::Backend, Distribution, Tensor};
use gdl_core::divergence::kl_diag_gaussian_std_normal;
use gdl_core::linear::Affine;
use gdl_core::Error;

/// What autoencoder to build (defaults: the lecture's 784-400-20 MLP VAE, Bernoulli decoder).
#[derive(Config, Debug)]
pub struct AutoencoderConfig {
    /// Pixels per image.
    #[config(default = 784)]
    pub d_input: usize,
    /// Hidden units of encoder and decoder.
    #[config(default = 400)]
    pub d_hidden: usize,
    /// d: dimension of the latent h.
    #[config(default = 20)]
    pub d_latent: usize,
    /// The encoder and decoder networks.
    #[config(default = "Architecture::Mlp")]
    pub arch: Architecture,
    /// The decoder distribution p(x|h).
    #[config(default = "Likelihood::Bernoulli")]
    pub likelihood: Likelihood,
    /// true: the VAE; false: the deterministic autoencoder (no σ head, no KL term).
    #[config(default = true)]
    pub variational: bool,
}

/// The configuration of the variational autoencoder (`variational` defaults to true).
pub type VaeConfig = AutoencoderConfig;
/// An autoencoder built with `variational = true`.
pub type Vae<B> = Autoencoder<B>;

impl AutoencoderConfig {
    /// The model, initialised from the seeded backend RNG (Burn's PyTorch-like defaults; a
    /// learned decoder log σ² starts at 0). Errors name the field that is out of range.
    pub fn init<B: Backend>(&self, device: &B::Device) -> gdl_core::Result<Autoencoder<B>> {
        for (what, v) in [
            ("d_input", self.d_input),
            ("d_hidden", self.d_hidden),
            ("d_latent", self.d_latent),
        ] {
            if v == 0 {
                return Err(Error::invalid(what, "must be at least 1"));
            }
        }
        if self.arch == Architecture::Conv && self.d_input != SIDE * SIDE {
            return Err(Error::invalid(
                "d_input",
                format!(
                    "the convolutional networks take 28 x 28 images, not {}",
                    self.d_input
                ),
            ));
        }
        if let Likelihood::Gaussian { sigma } = self.likelihood {
            if !(sigma > 0.0 && sigma.is_finite()) {
                return Err(Error::invalid("Gaussian σ", format!("{sigma} is not > 0")));
            }
        }
        let head = || LinearConfig::new(self.d_hidden, self.d_latent).init(device);
        Ok(Autoencoder {
            encoder: Encoder::new(self.arch, self.d_input, self.d_hidden, device),
            to_mu: head(),
            to_log_var: self.variational.then(head),
            decoder: Decoder::new(
                self.arch,
                self.d_latent,
                self.d_hidden,
                self.d_input,
                device,
            ),
            decoder_log_var: self.likelihood.learns_variance().then(|| {
                let log_var = 2.0 * crate::likelihood::INITIAL_SIGMA.ln();
                Param::from_tensor(Tensor::full([self.d_input], log_var, device))
            }),
            likelihood: self.likelihood.clone(),
        })
    }
}

/// The autoencoder.
#[derive(Module, Debug)]
pub struct Autoencoder<B: Backend> {
    encoder: Encoder<B>,
    to_mu: Linear<B>,
    /// The log σ² head of q(h|x); None for the deterministic autoencoder.
    to_log_var: Option<Linear<B>>,
    decoder: Decoder<B>,
    /// Learned per-pixel log σ² of a Gaussian decoder.
    decoder_log_var: Option<Param<Tensor<B, 1>>>,
    #[module(skip)]
    likelihood: Likelihood,
}

/// What one pass through the model produces.
#[derive(Clone, Debug)]
pub struct AutoencoderOutput<B: Backend> {
    /// Decoder output [N, 784] at h (pre-sigmoid pixel means).
    pub out: Tensor<B, 2>,
    /// μ [N, d] (the code of the deterministic autoencoder).
    pub mu: Tensor<B, 2>,
    /// log σ² [N, d]; None for the deterministic autoencoder.
    pub log_var: Option<Tensor<B, 2>>,
    /// The h that was decoded [N, d].
    pub h: Tensor<B, 2>,
}

/// h = μ + σ ⊙ ε with σ = exp(½ log σ²), for a given ε of the same shape.
pub fn reparameterize<B: Backend>(
    mu: Tensor<B, 2>,
    log_var: Tensor<B, 2>,
    eps: Tensor<B, 2>,
) -> Tensor<B, 2> {
    mu + log_var.mul_scalar(0.5).exp() * eps
}

impl<B: Backend> Autoencoder<B> {
    /// The latent size d.
    pub fn d_latent(&self) -> usize {
        self.to_mu.weight.dims()[1]
    }

    /// Whether h is sampled from q(h|x) (VAE) or equals μ(x) (deterministic).
    pub fn is_variational(&self) -> bool {
        self.to_log_var.is_some()
    }

    /// The decoder's distribution.
    pub fn likelihood(&self) -> &Likelihood {
        &self.likelihood
    }

    /// (μ, log σ²) of q(h|x) for x [N, 784]; log σ² is None for the deterministic model.
    pub fn encode(&self, x: Tensor<B, 2>) -> (Tensor<B, 2>, Option<Tensor<B, 2>>) {
        let features = self.encoder.forward(x);
        let log_var = self.to_log_var.as_ref().map(|l| l.apply(features.clone()));
        (self.to_mu.apply(features), log_var)
    }

    /// Decoder output [N, 784] (pre-sigmoid pixel means) for latents h [N, d].
    pub fn decode(&self, h: Tensor<B, 2>) -> Tensor<B, 2> {
        self.decoder.forward(h)
    }

    /// The pixel means E[x|h] = sigmoid(out) of a decoder output, as images [N, 1, 28, 28].
    pub fn mean_images(&self, out: Tensor<B, 2>) -> Tensor<B, 4> {
        let [n, p] = out.dims();
        let side = (p as f64).sqrt() as usize;
        sigmoid(out).reshape([n, 1, side, p / side.max(1)])
    }

    /// −log p(x|h) [N] of the decoder output `out` [N, 784].
    pub fn reconstruction_nll(&self, out: Tensor<B, 2>, x: Tensor<B, 2>) -> Tensor<B, 1> {
        let log_var = self.decoder_log_var.as_ref().map(|p| p.val());
        self.likelihood.nll(out, x, log_var)
    }

    /// Encode, take h (sampled by the reparameterisation for the VAE, μ otherwise), decode.
    pub fn forward(&self, x: Tensor<B, 2>) -> AutoencoderOutput<B> {
        let (mu, log_var) = self.encode(x);
        let h = match &log_var {
            Some(lv) => {
                let eps = mu.random_like(Distribution::Normal(0.0, 1.0));
                reparameterize(mu.clone(), lv.clone(), eps)
            }
            None => mu.clone(),
        };
        AutoencoderOutput {
            out: self.decode(h.clone()),
            mu,
            log_var,
            h,
        }
    }

    /// The loss of x [N, 784] with one sample of h: reconstruction −log p(x|h) and, for the
    /// VAE, the analytic D_KL(q(h|x) || N(0, I)) (zero for the deterministic model).
    pub fn negative_elbo(&self, x: Tensor<B, 2>) -> NegativeElbo<B> {
        let out = self.forward(x.clone());
        let reconstruction = self.reconstruction_nll(out.out, x);
        let kl = match out.log_var {
            Some(lv) => kl_diag_gaussian_std_normal(out.mu, lv),
            None => reconstruction.zeros_like(),
        };
        NegativeElbo { reconstruction, kl }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::testing::TestAutodiffBackend as AD;

    #[test]
    fn gradients_flow_to_mu_and_sigma_through_the_sample() {
        let _serial = gdl_core::seed::serial();
        // L = Σ h² with h = μ + σε: ∂L/∂μ = 2h, ∂L/∂(log σ²) = 2h · ε · σ / 2 = hεσ.
        let d = Default::default();
        let mu = Tensor::<AD, 2>::from_floats([[0.5, -1.0]], &d).require_grad();
        let log_var = Tensor::<AD, 2>::from_floats([[0.2, -0.4]], &d).require_grad();
        let eps = Tensor::<AD, 2>::from_floats([[1.5, -0.3]], &d);
        let h = reparameterize(mu.clone(), log_var.clone(), eps);
        let grads = h.clone().powi_scalar(2).sum().backward();
        let g_mu: Vec<f32> = mu.grad(&grads).unwrap().into_data().to_vec().unwrap();
        let g_lv: Vec<f32> = log_var.grad(&grads).unwrap().into_data().to_vec().unwrap();
        for (k, (m, lv, e)) in [(0.5f32, 0.2f32, 1.5f32), (-1.0, -0.4, -0.3)]
            .into_iter()
            .enumerate()
        {
            let sigma = (0.5 * lv).exp();
            let h = m + sigma * e;
            assert!((g_mu[k] - 2.0 * h).abs() < 1e-5);
            assert!((g_lv[k] - h * e * sigma).abs() < 1e-5);
        }
    }

    #[test]
    fn every_variant_builds_and_has_the_stated_shapes() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        for arch in [Architecture::Mlp, Architecture::Conv] {
            for likelihood in [
                Likelihood::Bernoulli,
                Likelihood::Gaussian { sigma: 0.2 },
                Likelihood::GaussianLearned,
            ] {
                for variational in [true, false] {
                    let m = AutoencoderConfig::new()
                        .with_d_hidden(16)
                        .with_d_latent(2)
                        .with_arch(arch)
                        .with_likelihood(likelihood.clone())
                        .with_variational(variational)
                        .init::<AD>(&d)
                        .unwrap();
                    let x = Tensor::zeros([3, 784], &d);
                    let out = m.forward(x.clone());
                    assert_eq!((out.out.dims(), out.h.dims()), ([3, 784], [3, 2]));
                    assert_eq!(out.log_var.is_some(), variational);
                    let e = m.negative_elbo(x);
                    assert_eq!(e.reconstruction.dims(), [3]);
                    let kl: f32 = e.kl.sum().into_scalar();
                    assert_eq!(kl == 0.0, !variational, "{arch:?} {likelihood:?}");
                    assert_eq!(m.mean_images(out.out).dims(), [3, 1, 28, 28]);
                }
            }
        }
    }

    #[test]
    fn bad_configurations_name_the_field() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        let err = |c: AutoencoderConfig| c.init::<AD>(&d).unwrap_err().to_string();
        assert!(err(VaeConfig::new().with_d_latent(0)).contains("d_latent"));
        assert!(err(VaeConfig::new()
            .with_arch(Architecture::Conv)
            .with_d_input(100))
        .contains("d_input"));
        assert!(
            err(VaeConfig::new().with_likelihood(Likelihood::Gaussian { sigma: 0.0 }))
                .contains("σ")
        );
    }

    #[test]
    fn the_deterministic_code_is_the_encoder_mean() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        let m = VaeConfig::new()
            .with_d_hidden(8)
            .with_variational(false)
            .init::<AD>(&d)
            .unwrap();
        let x = Tensor::<AD, 2>::ones([2, 784], &d);
        let out = m.forward(x.clone());
        let diff: f32 = (out.h - m.encode(x).0).abs().max().into_scalar();
        assert_eq!(diff, 0.0);
    }
}
