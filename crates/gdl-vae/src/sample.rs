//! Generation: digits from the prior, reconstructions, and interpolation in latent space.
//! Every picture is the pixel mean E[x|h] = sigmoid(decoder output) as images [N, 1, 28, 28].

use crate::model::Autoencoder;
use burn::tensor::{backend::Backend, Distribution, Tensor};

/// n digits decoded from h ~ p(h) = N(0, I).
pub fn sample_prior<B: Backend>(
    model: &Autoencoder<B>,
    n: usize,
    device: &B::Device,
) -> Tensor<B, 4> {
    let h = Tensor::<B, 2>::random(
        [n, model.d_latent()],
        Distribution::Normal(0.0, 1.0),
        device,
    );
    model.mean_images(model.decode(h))
}

/// The mean reconstructions decode(μ(x)) of x [N, 784].
pub fn reconstruct<B: Backend>(model: &Autoencoder<B>, x: Tensor<B, 2>) -> Tensor<B, 4> {
    let (mu, _) = model.encode(x);
    model.mean_images(model.decode(mu))
}

/// `steps` images along the straight line from μ(a) to μ(b) in latent space (a, b: [1, 784]).
pub fn interpolate<B: Backend>(
    model: &Autoencoder<B>,
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    steps: usize,
) -> Tensor<B, 4> {
    let (mu_a, _) = model.encode(a);
    let (mu_b, _) = model.encode(b);
    let steps = steps.max(2);
    // h(t) = (1 − t) μ(a) + t μ(b), t = 0, 1/(steps − 1), ..., 1
    let h = Tensor::cat(
        (0..steps)
            .map(|s| {
                let t = s as f64 / (steps - 1) as f64;
                mu_a.clone().mul_scalar(1.0 - t) + mu_b.clone().mul_scalar(t)
            })
            .collect(),
        0,
    ); // [steps, d]
    model.mean_images(model.decode(h))
}
