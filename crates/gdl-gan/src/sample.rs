//! The generator as a [`Sample`] source: z ~ N(0, I), x = (G(z) + 1)/2 in [0, 1].

use crate::model::Generator;
use burn::tensor::{backend::Backend, Distribution, Tensor};
use gdl_core::sample::Sample;

/// Samples of a trained generator (use it on the inner backend: batch norm then uses its
/// running statistics).
#[derive(Clone, Copy, Debug)]
pub struct GeneratorSampler<'a, B: Backend> {
    /// G.
    pub generator: &'a Generator<B>,
    /// Dimension of z.
    pub latent: usize,
}

impl<B: Backend> GeneratorSampler<'_, B> {
    /// (G(z) + 1)/2 for given noise z [N, latent].
    pub fn decode(&self, z: Tensor<B, 2>) -> Tensor<B, 4> {
        self.generator.forward(z).add_scalar(1.0).div_scalar(2.0)
    }
}

impl<B: Backend> Sample<B> for GeneratorSampler<'_, B> {
    fn sample(&self, n: usize, device: &B::Device) -> Tensor<B, 4> {
        let z = Tensor::random([n, self.latent], Distribution::Normal(0.0, 1.0), device);
        self.decode(z)
    }
}
