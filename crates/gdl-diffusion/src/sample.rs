//! A trained denoiser as a [`Sample`] source: x_T ~ N(0, I), the reverse process, then
//! (x̂_0 + 1)/2 in [0, 1].

use crate::bound::{data_bound, Bound};
use crate::predictor::{Denoiser, NoisePredictor};
use crate::sampler::SamplerConfig;
use crate::schedule::NoiseSchedule;
use crate::train::DiffusionTraining;
use crate::unet::UNet;
use crate::vdm::{vdm_data_bound, Vdm, VdmDenoiser};
use burn::module::Module;
use burn::tensor::{backend::Backend, Distribution, Tensor};
use gdl_core::sample::Sample;
use gdl_mnist::MnistData;

/// The noise predictor of a trained DDPM or VDM.
#[derive(Clone, Debug)]
pub enum TrainedDenoiser<'a, B: Backend> {
    /// A DDPM's U-Net.
    Ddpm(Denoiser<'a, B>),
    /// A VDM's U-Net on its discretised schedule.
    Vdm(VdmDenoiser<'a, B>),
}

impl<B: Backend> NoisePredictor<B> for TrainedDenoiser<'_, B> {
    fn predict_noise(&self, x_t: Tensor<B, 4>, t: usize) -> Tensor<B, 4> {
        match self {
            TrainedDenoiser::Ddpm(d) => d.predict_noise(x_t, t),
            TrainedDenoiser::Vdm(d) => d.predict_noise(x_t, t),
        }
    }
}

/// A trained diffusion model (a DDPM's U-Net, a VDM): what sampling and scoring need.
pub trait Trained<B: Backend> {
    /// The discrete schedule of `cfg.steps` steps that the samplers walk and the noise
    /// predictor on it.
    fn reverse_process(
        &self,
        cfg: &DiffusionTraining,
    ) -> gdl_core::Result<(NoiseSchedule, TrainedDenoiser<'_, B>)>;

    /// The variational bound on the digits of `data`, `draws` Monte Carlo draws per batch.
    fn data_bound(
        &self,
        cfg: &DiffusionTraining,
        data: &MnistData,
        draws: usize,
        seed: u64,
        device: &B::Device,
    ) -> gdl_core::Result<Bound>;
}

impl<B: Backend> Trained<B> for UNet<B> {
    fn reverse_process(
        &self,
        cfg: &DiffusionTraining,
    ) -> gdl_core::Result<(NoiseSchedule, TrainedDenoiser<'_, B>)> {
        let schedule = cfg.noise_schedule()?;
        let denoiser = Denoiser {
            unet: self,
            prediction: cfg.prediction,
            schedule: schedule.clone(),
        };
        Ok((schedule, TrainedDenoiser::Ddpm(denoiser)))
    }

    fn data_bound(
        &self,
        cfg: &DiffusionTraining,
        data: &MnistData,
        draws: usize,
        seed: u64,
        device: &B::Device,
    ) -> gdl_core::Result<Bound> {
        let (schedule, model) = self.reverse_process(cfg)?;
        Ok(data_bound(
            &model, &schedule, data, 250, draws, seed, device,
        ))
    }
}

impl<B: Backend> Trained<B> for Vdm<B> {
    fn reverse_process(
        &self,
        cfg: &DiffusionTraining,
    ) -> gdl_core::Result<(NoiseSchedule, TrainedDenoiser<'_, B>)> {
        let device = self.devices().first().cloned().unwrap_or_default();
        let (schedule, gammas) = self.gamma.discretize(cfg.steps, &device)?;
        let denoiser = VdmDenoiser {
            unet: &self.unet,
            gammas,
        };
        Ok((schedule, TrainedDenoiser::Vdm(denoiser)))
    }

    fn data_bound(
        &self,
        _cfg: &DiffusionTraining,
        data: &MnistData,
        draws: usize,
        _seed: u64,
        device: &B::Device,
    ) -> gdl_core::Result<Bound> {
        Ok(vdm_data_bound(self, data, 250, draws, device))
    }
}

/// Samples of a noise predictor through a sampler (use it on the inner backend).
pub struct DiffusionSampler<'a, P> {
    model: &'a P,
    schedule: &'a NoiseSchedule,
    sampler: &'a SamplerConfig,
}

/// Images in [−1, 1] as grey levels in [0, 1]: (x + 1)/2, clamped.
pub fn to_unit<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    x.add_scalar(1.0).div_scalar(2.0).clamp(0.0, 1.0)
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
}

impl<B: Backend, P: NoisePredictor<B>> Sample<B> for DiffusionSampler<'_, P> {
    fn sample(&self, n: usize, device: &B::Device) -> Tensor<B, 4> {
        let x_t = gdl_core::random::random([n, 1, 28, 28], Distribution::Normal(0.0, 1.0), device);
        let steps = self.sampler.timesteps(self.schedule).map_or(0, |s| s.len());
        let progress = gdl_core::run::Progress::new(steps as u64, &format!("sampling {n}"));
        let x0 = self
            .sampler
            .sample(self.model, self.schedule, x_t, |_, _| progress.inc(1))
            .expect("checked by DiffusionSampler::new");
        progress.finish();
        to_unit(x0)
    }
}
