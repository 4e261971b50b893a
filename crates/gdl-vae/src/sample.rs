//! Generation: digits from the prior, reconstructions, and interpolation in latent space.

use crate::model::Vae;
use burn::tensor::{activation::sigmoid, backend::Backend, Distribution, Tensor};

/// Decoded pixel probabilities [N, 784] as images [N, 1, 28, 28].
fn images<B: Backend>(logits: Tensor<B, 2>) -> Tensor<B, 4> {
    let n = logits.dims()[0];
    sigmoid(logits).reshape([n, 1, 28, 28])
}

/// n digits decoded from h ~ p(h) = N(0, I) (the mean image of p(x|h)).
pub fn sample_prior<B: Backend>(vae: &Vae<B>, n: usize, device: &B::Device) -> Tensor<B, 4> {
    let h = Tensor::<B, 2>::random([n, vae.d_latent()], Distribution::Normal(0.0, 1.0), device);
    images(vae.decode(h))
}

/// The mean reconstructions decode(μ(x)) of x [N, 784].
pub fn reconstruct<B: Backend>(vae: &Vae<B>, x: Tensor<B, 2>) -> Tensor<B, 4> {
    let (mu, _) = vae.encode(x);
    images(vae.decode(mu))
}

/// `steps` images along the straight line from μ(a) to μ(b) in latent space (a, b: [1, 784]).
pub fn interpolate<B: Backend>(
    vae: &Vae<B>,
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    steps: usize,
) -> Tensor<B, 4> {
    let (mu_a, _) = vae.encode(a);
    let (mu_b, _) = vae.encode(b);
    let steps = steps.max(2);
    let h = Tensor::cat(
        (0..steps)
            .map(|s| {
                let t = s as f64 / (steps - 1) as f64;
                mu_a.clone().mul_scalar(1.0 - t) + mu_b.clone().mul_scalar(t)
            })
            .collect(),
        0,
    ); // [steps, d]
    images(vae.decode(h))
}
