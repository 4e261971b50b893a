//! Workload `ddpm`: one training step of the default U-Net (about 0.8 M parameters) at batch 64
//! (L_simple with ε-prediction, Adam, gradient-norm clipping at 1) on a fixed batch of random
//! images: the library's step, `DdpmTrainer`'s `TrainStep::step`. Also reported: milliseconds
//! of one U-Net evaluation on 100 digits (no autodiff), from which DDIM-50 and ancestral-1000
//! sampling of 100 digits take 50 and 1,000 times as long. `bench/ddpm_torch.py` runs the same
//! step and evaluation in PyTorch.

use super::{median_step_ms, median_train_step_ms, Report};
use gdl::burn::module::AutodiffModule;
use gdl::burn::tensor::backend::{AutodiffBackend, Backend};
use gdl::burn::tensor::{Distribution, Int, Tensor};
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::core::seed::seed_all;
use gdl::diffusion::train::{DdpmTrainer, DiffusionTraining};
use gdl::diffusion::unet::UNetConfig;
use gdl::mnist::MnistBatch;

const BATCH: usize = 64;
const WARMUP: usize = 3;
const STEPS: usize = 10;

struct Step;

impl BackendTask for Step {
    type Output = anyhow::Result<Report>;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<Report> {
        seed_all::<B>(device, 0);
        let cfg = DiffusionTraining::new(UNetConfig::small());
        let trainer = DdpmTrainer::<B>::new(&cfg, device)?;
        let unet = trainer.model.valid();
        let batch = MnistBatch {
            images: Tensor::random([BATCH, 1, 28, 28], Distribution::Uniform(-1.0, 1.0), device),
            labels: Tensor::<B, 1, Int>::zeros([BATCH], device),
        };
        let (ms_per_step, last) = median_train_step_ms(trainer, batch, WARMUP, STEPS, device)?;
        // One evaluation of ε̂ on 100 digits: one step of a sampler.
        let x: Tensor<B::InnerBackend, 4> =
            Tensor::random([100, 1, 28, 28], Distribution::Normal(0.0, 1.0), device);
        let t = Tensor::full([100], 500.0, device);
        let eval_ms = median_step_ms(2, 5, |_| {
            let _ = unet.forward(x.clone(), t.clone());
            let _ = B::InnerBackend::sync(device);
        });
        Ok(Report {
            ms_per_step,
            steps: STEPS,
            metrics: vec![
                ("batch", BATCH as f64),
                ("loss", last.get("loss").unwrap_or(f64::NAN)),
                ("eval_100_ms", eval_ms),
                ("ddim50_100_s", 50.0 * eval_ms / 1e3),
                ("ancestral1000_100_s", 1000.0 * eval_ms / 1e3),
            ],
        })
    }
}

pub fn run(backend: BackendKind) -> anyhow::Result<Report> {
    run_on(backend, Step)?
}
