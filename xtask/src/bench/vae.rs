//! Workload `vae`: one ADAM training step of the MLP VAE 784-400-20 (Bernoulli decoder,
//! grey levels) at batch 128 on a fixed batch of random images. `bench/vae_torch.py` runs the
//! same step in PyTorch.

use super::{median_step_ms, Report};
use gdl::burn::optim::{GradientsParams, Optimizer};
use gdl::burn::tensor::backend::AutodiffBackend;
use gdl::burn::tensor::{Distribution, ElementConversion, Tensor};
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::core::seed::seed_all;
use gdl::vae::model::VaeConfig;
use gdl::vae::train::adam;

const BATCH: usize = 128;
const WARMUP: usize = 10;
const STEPS: usize = 50;

struct Step;

impl BackendTask for Step {
    type Output = anyhow::Result<Report>;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<Report> {
        seed_all::<B>(device, 0);
        let mut vae = VaeConfig::new().init::<B>(device)?;
        let mut optim = adam::<B>();
        let x = Tensor::<B, 2>::random([BATCH, 784], Distribution::Uniform(0.0, 1.0), device);
        let mut last = 0.0;
        let ms_per_step = median_step_ms(WARMUP, STEPS, |is_last| {
            let loss = vae.negative_elbo(x.clone()).mean(1.0);
            let grads = GradientsParams::from_grads(loss.backward(), &vae);
            vae = optim.step(1e-3, vae.clone(), grads);
            let _ = B::sync(device);
            if is_last {
                last = loss.into_scalar().elem::<f64>();
            }
        });
        Ok(Report {
            ms_per_step,
            steps: STEPS,
            metrics: vec![("batch", BATCH as f64), ("final_negative_elbo", last)],
        })
    }
}

pub fn run(backend: BackendKind) -> anyhow::Result<Report> {
    run_on(backend, Step)?
}
