//! Discriminator-driven latent sampling (Che et al. 2020): the discriminator's density ratio
//! turns the generator's noise distribution into an energy-based model in z, sampled by
//! Langevin dynamics.
//!
//! G pushes z ~ p₀ = N(0, I) forward to q. Reweighting p₀ by the density ratio at G(z),
//!
//!   p_t(z) ∝ p₀(z) (p/q)(G(z)),
//!
//! gives a noise distribution whose pushforward is p: ∫ p₀(z) δ(x − G(z)) (p/q)(x) dz =
//! q(x) p(x)/q(x) = p(x) (where D is optimal, as for rejection sampling; p/q from D's logit l
//! as in [`crate::rejection`]). Its energy is E(z) = ½|z|² − ln (p/q)(G(z)), and Langevin
//! dynamics (the lecture's sampler for energy-based models) draws from it:
//!
//!   z ← z − (ε/2) ∇_z E(z) + √ε ξ,   ξ ~ N(0, I).
//!
//! Unlike rejection sampling it moves every candidate instead of discarding most of them.

use crate::model::{Discriminator, Generator};
use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Distribution, Tensor};
use gdl_core::sample::Sample;

/// ln (p/q) from D's logit l for real label α: l − ln(α − (1 − α) e^l), with l held below
/// ln(α/(2(1 − α))), where the correction reaches ln 2 (p/q is unbounded at D*'s ceiling
/// α/(1 − α), and so would its gradient be).
pub fn log_density_ratio<B: burn::tensor::backend::Backend>(
    logit: Tensor<B, 1>,
    real_label: f64,
) -> Tensor<B, 1> {
    if real_label >= 1.0 {
        return logit;
    }
    let l = logit.clamp_max((real_label / (2.0 * (1.0 - real_label))).ln());
    l.clone()
        - l.exp()
            .mul_scalar(-(1.0 - real_label))
            .add_scalar(real_label)
            .log()
}

/// Langevin chains in z under E(z) = ½|z|² − w(z) from starts z [N, latent]: `steps` steps
/// of size ε; `log_weight` gives w(z_i) [N] for each chain, differentiable in z.
pub fn latent_chains<B: AutodiffBackend>(
    z: Tensor<B::InnerBackend, 2>,
    log_weight: impl Fn(Tensor<B, 2>) -> Tensor<B, 1>,
    steps: usize,
    step_size: f64,
) -> Tensor<B::InnerBackend, 2> {
    (0..steps).fold(z, |z, _| {
        let tracked = Tensor::<B, 2>::from_inner(z.clone()).require_grad();
        // Σ_i E(z_i): each z_i's gradient is its own chain's.
        let energy =
            tracked.clone().square().sum().mul_scalar(0.5) - log_weight(tracked.clone()).sum();
        let grad = tracked.grad(&energy.backward()).expect("∇_z E exists");
        // z ← z − (ε/2) ∇E + √ε ξ
        let noise = gdl_core::random::random_like(&z, Distribution::Normal(0.0, step_size.sqrt()));
        z - grad.mul_scalar(step_size / 2.0) + noise
    })
}

/// A trained GAN's samples by discriminator-driven latent sampling: Langevin chains in z
/// under E_β(z) = ½|z|² − β ln (p/q)(G(z)) from z_0 ~ N(0, I), decoded by G (batch norm with
/// its running statistics, D without dropout). β = 1 targets p itself; β > 1 sharpens the
/// target towards what D rates most real, p_β ∝ q (p/q)^β, trading diversity for fidelity as
/// the truncation trick does in z.
pub struct LatentLangevin<'a, B: AutodiffBackend> {
    /// G.
    pub generator: &'a Generator<B>,
    /// D, trained with real label `real_label`.
    pub discriminator: &'a Discriminator<B>,
    /// Dimension of z.
    pub latent: usize,
    /// α, the real images' label D was trained with.
    pub real_label: f64,
    /// β, the weight of the density ratio's log in the energy.
    pub beta: f64,
    /// Langevin steps per chain.
    pub steps: usize,
    /// ε.
    pub step_size: f64,
    /// Chains run at a time.
    pub batch: usize,
}

impl<B: AutodiffBackend> Sample<B::InnerBackend> for LatentLangevin<'_, B> {
    /// Pixels in [0, 1]: (G(z_K) + 1)/2.
    fn sample(&self, n: usize, device: &B::Device) -> Tensor<B::InnerBackend, 4> {
        let generator = self.generator.clone().no_grad();
        let discriminator = self.discriminator.clone().no_grad();
        // β ln (p/q)(G(z))
        let log_weight = |z: Tensor<B, 2>| {
            let logits = discriminator.forward_inference(generator.forward_inference(z));
            log_density_ratio(logits, self.real_label).mul_scalar(self.beta)
        };
        let batch = self.batch.max(1);
        let parts: Vec<_> = (0..n)
            .step_by(batch)
            .map(|start| {
                let z0 = Tensor::random(
                    [batch.min(n - start), self.latent],
                    Distribution::Normal(0.0, 1.0),
                    device,
                );
                let z = latent_chains::<B>(z0, log_weight, self.steps, self.step_size);
                generator
                    .forward_inference(Tensor::from_inner(z))
                    .inner()
                    .add_scalar(1.0)
                    .div_scalar(2.0)
            })
            .collect();
        Tensor::cat(parts, 0)
    }
}
