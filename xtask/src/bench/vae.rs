//! Workload `vae`: one ADAM training step of the MLP VAE 784-400-20 (Bernoulli decoder,
//! grey levels) at batch 128 on a fixed batch of random images: the library's step,
//! `AutoencoderTrainer`'s `TrainStep::step`. `bench/vae_torch.py` runs the same step in PyTorch.

use super::{median_train_step_ms, Report};
use gdl::burn::tensor::backend::AutodiffBackend;
use gdl::burn::tensor::{Distribution, Int, Tensor};
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::core::seed::seed_all;
use gdl::mnist::MnistBatch;
use gdl::vae::model::VaeConfig;
use gdl::vae::train::{AutoencoderTrainer, AutoencoderTraining};

const BATCH: usize = 128;
const WARMUP: usize = 10;
const STEPS: usize = 50;

struct Step;

impl BackendTask for Step {
    type Output = anyhow::Result<Report>;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<Report> {
        seed_all::<B>(device, 0);
        let cfg = AutoencoderTraining::new(VaeConfig::new());
        let trainer = AutoencoderTrainer::<B>::new(&cfg, None, device)?;
        let batch = MnistBatch {
            images: Tensor::random([BATCH, 1, 28, 28], Distribution::Uniform(0.0, 1.0), device),
            labels: Tensor::<B, 1, Int>::zeros([BATCH], device),
        };
        let (ms_per_step, last) = median_train_step_ms(trainer, batch, WARMUP, STEPS, device)?;
        let elbo = last.values().sum::<f64>();
        Ok(Report {
            ms_per_step,
            steps: STEPS,
            metrics: vec![("batch", BATCH as f64), ("final_negative_elbo", elbo)],
        })
    }
}

pub fn run(backend: BackendKind) -> anyhow::Result<Report> {
    run_on(backend, Step)?
}
