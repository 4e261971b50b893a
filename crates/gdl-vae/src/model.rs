//! The MLP variational autoencoder: encoder q_φ(h|x) = N(μ_φ(x), diag σ²_φ(x)) and Bernoulli
//! decoder p_θ(x|h) with pixel probabilities sigmoid(logits_θ(h)).
//!
//! ```text
//! x [N, 784] → fc 400, ReLU → (μ [N, d], log σ² [N, d])
//! h = μ + σ ⊙ ε, ε ~ N(0, I)            (the reparameterisation)
//! h [N, d] → fc 400, ReLU → fc 784 → logits
//! ```

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{backend::Backend, Distribution, Tensor};

/// Sizes of the MLP VAE (defaults: the lecture's 784-400-20).
#[derive(Config, Debug)]
pub struct VaeConfig {
    /// Pixels per image.
    #[config(default = 784)]
    pub d_input: usize,
    /// Hidden units of encoder and decoder.
    #[config(default = 400)]
    pub d_hidden: usize,
    /// d: dimension of the latent h.
    #[config(default = 20)]
    pub d_latent: usize,
}

impl VaeConfig {
    /// A VAE with Burn's default (PyTorch-like) initialisation from the seeded backend RNG.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Vae<B> {
        Vae {
            enc: LinearConfig::new(self.d_input, self.d_hidden).init(device),
            enc_mu: LinearConfig::new(self.d_hidden, self.d_latent).init(device),
            enc_log_var: LinearConfig::new(self.d_hidden, self.d_latent).init(device),
            dec: LinearConfig::new(self.d_latent, self.d_hidden).init(device),
            dec_out: LinearConfig::new(self.d_hidden, self.d_input).init(device),
        }
    }
}

/// The MLP VAE.
#[derive(Module, Debug)]
pub struct Vae<B: Backend> {
    enc: Linear<B>,
    enc_mu: Linear<B>,
    enc_log_var: Linear<B>,
    dec: Linear<B>,
    dec_out: Linear<B>,
}

/// What one pass through the VAE produces.
#[derive(Clone, Debug)]
pub struct VaeOutput<B: Backend> {
    /// Decoder logits [N, 784] at the sampled h.
    pub logits: Tensor<B, 2>,
    /// μ [N, d].
    pub mu: Tensor<B, 2>,
    /// log σ² [N, d].
    pub log_var: Tensor<B, 2>,
    /// The sampled h [N, d].
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

impl<B: Backend> Vae<B> {
    /// The latent size d.
    pub fn d_latent(&self) -> usize {
        self.enc_mu.weight.dims()[1]
    }

    /// (μ, log σ²) of q(h|x) for x [N, 784].
    pub fn encode(&self, x: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let hidden = relu(self.enc.forward(x)); // [N, 400]
        (
            self.enc_mu.forward(hidden.clone()),
            self.enc_log_var.forward(hidden),
        )
    }

    /// Decoder logits [N, 784] for latents h [N, d].
    pub fn decode(&self, h: Tensor<B, 2>) -> Tensor<B, 2> {
        self.dec_out.forward(relu(self.dec.forward(h)))
    }

    /// Encode, sample h by the reparameterisation, decode.
    pub fn forward(&self, x: Tensor<B, 2>) -> VaeOutput<B> {
        let (mu, log_var) = self.encode(x);
        let eps = mu.random_like(Distribution::Normal(0.0, 1.0));
        let h = reparameterize(mu.clone(), log_var.clone(), eps);
        VaeOutput {
            logits: self.decode(h.clone()),
            mu,
            log_var,
            h,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::testing::TestAutodiffBackend as AD;

    #[test]
    fn gradients_flow_to_mu_and_sigma_through_the_sample() {
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
    fn shapes() {
        let d = Default::default();
        let vae = VaeConfig::new().with_d_latent(2).init::<AD>(&d);
        let out = vae.forward(Tensor::zeros([3, 784], &d));
        assert_eq!(
            (out.logits.dims(), out.mu.dims(), out.h.dims()),
            ([3, 784], [3, 2], [3, 2])
        );
        assert_eq!(vae.d_latent(), 2);
    }
}
