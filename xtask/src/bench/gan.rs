//! Workload `dcgan`: one training step of the DCGAN for 28 x 28 digits at batch 64 (one
//! discriminator update, one generator update, non-saturating loss, Adam β₁ = 0.5) on a fixed
//! batch of random images: the library's step, `GanTrainer`'s `TrainStep::step`.
//! `bench/dcgan_torch.py` runs the same step in PyTorch.

use super::{median_train_step_ms, Report};
use gdl::burn::tensor::backend::AutodiffBackend;
use gdl::burn::tensor::{Distribution, Int, Tensor};
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::core::seed::seed_all;
use gdl::gan::model::GanConfig;
use gdl::gan::train::{GanTrainer, GanTraining};
use gdl::mnist::MnistBatch;

const BATCH: usize = 64;
const WARMUP: usize = 3;
const STEPS: usize = 10;

struct Step;

impl BackendTask for Step {
    type Output = anyhow::Result<Report>;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<Report> {
        seed_all::<B>(device, 0);
        let cfg = GanTraining::new(GanConfig::new());
        let trainer = GanTrainer::<B>::new(&cfg, device)?;
        let batch = MnistBatch {
            images: Tensor::random([BATCH, 1, 28, 28], Distribution::Uniform(-1.0, 1.0), device),
            labels: Tensor::<B, 1, Int>::zeros([BATCH], device),
        };
        let (ms_per_step, last) = median_train_step_ms(trainer, batch, WARMUP, STEPS, device)?;
        Ok(Report {
            ms_per_step,
            steps: STEPS,
            metrics: vec![
                ("batch", BATCH as f64),
                ("d_loss", last.get("d_loss").unwrap_or(f64::NAN)),
                ("g_loss", last.get("g_loss").unwrap_or(f64::NAN)),
            ],
        })
    }
}

pub fn run(backend: BackendKind) -> anyhow::Result<Report> {
    run_on(backend, Step)?
}
