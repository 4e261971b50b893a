//! A trained denoiser as a [`Sample`] source: x_T ~ N(0, I), the reverse process, then
//! (x̂_0 + 1)/2 in [0, 1].

use crate::predictor::NoisePredictor;
use crate::sampler::SamplerConfig;
use crate::schedule::NoiseSchedule;
use burn::tensor::{backend::Backend, Distribution, Tensor};
use gdl_core::sample::Sample;

/// Samples of a noise predictor through a sampler (use it on the inner backend).
pub struct DiffusionSampler<'a, P> {
    model: &'a P,
    schedule: &'a NoiseSchedule,
    sampler: &'a SamplerConfig,
}

impl<'a, P> DiffusionSampler<'a, P> {
    /// A sampler whose config is checked against the schedule (DDIM's steps, η).
    pub fn new(
        model: &'a P,
        schedule: &'a NoiseSchedule,
        sampler: &'a SamplerConfig,
    ) -> gdl_core::Result<Self> {
        sampler.timesteps(schedule)?;
        Ok(DiffusionSampler {
            model,
            schedule,
            sampler,
        })
    }

    /// (x + 1)/2 clamped to [0, 1].
    pub fn to_unit<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
        x.add_scalar(1.0).div_scalar(2.0).clamp(0.0, 1.0)
    }
}

impl<B: Backend, P: NoisePredictor<B>> Sample<B> for DiffusionSampler<'_, P> {
    fn sample(&self, n: usize, device: &B::Device) -> Tensor<B, 4> {
        let x_t = Tensor::random([n, 1, 28, 28], Distribution::Normal(0.0, 1.0), device);
        let steps = self.sampler.timesteps(self.schedule).map_or(0, |s| s.len());
        let progress = gdl_core::run::Progress::new(steps as u64, &format!("sampling {n}"));
        let x0 = self
            .sampler
            .sample(self.model, self.schedule, x_t, |_, _| progress.inc(1))
            .expect("checked by DiffusionSampler::new");
        progress.finish();
        Self::to_unit(x0)
    }
}
