//! Workloads `mlp` and `cnn`: one ADAM training step of the MNIST classifiers of `gdl-ffnn`
//! (MLP 784-512-256-10 at batch 128; PyTorch's MNIST example CNN at batch 64) on a fixed
//! batch of random images and labels. `bench/ffnn_torch.py` runs the same steps in PyTorch.

use super::{median_step_ms, Report};
use gdl::burn::module::AutodiffModule;
use gdl::burn::optim::{AdamConfig, GradientsParams, Optimizer};
use gdl::burn::tensor::backend::AutodiffBackend;
use gdl::burn::tensor::{Distribution, Int, Tensor};
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::core::seed::seed_all;
use gdl::ffnn::classifier::{
    cross_entropy, Architecture, Classifier, CnnClassifier, MlpClassifier,
};

const WARMUP: usize = 10;
const STEPS: usize = 50;

struct StepTask(Architecture);

impl BackendTask for StepTask {
    type Output = anyhow::Result<Report>;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<Report> {
        seed_all::<B>(device, 0);
        match self.0 {
            Architecture::Mlp => steps::<B, _>(MlpClassifier::new(device), 128, device),
            Architecture::Cnn => steps::<B, _>(CnnClassifier::new(device), 64, device),
        }
    }
}

fn steps<B, M>(mut model: M, batch: usize, device: &B::Device) -> anyhow::Result<Report>
where
    B: AutodiffBackend,
    M: Classifier<B> + AutodiffModule<B>,
{
    let images =
        Tensor::<B, 4>::random([batch, 1, 28, 28], Distribution::Uniform(0.0, 1.0), device);
    let labels = Tensor::<B, 1, Int>::random([batch], Distribution::Uniform(0.0, 10.0), device);
    let mut optim = AdamConfig::new().init::<B, M>();
    let mut loss_value = 0.0;
    let ms_per_step = median_step_ms(WARMUP, STEPS, |is_last| {
        let loss = cross_entropy(model.logits(images.clone()), labels.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model.clone(), grads);
        // Wait for the device so the time is real.
        let _ = B::sync(device);
        if is_last {
            loss_value = loss.into_scalar().elem::<f64>();
        }
    });
    Ok(Report {
        ms_per_step,
        steps: STEPS,
        metrics: vec![("batch", batch as f64), ("final_loss", loss_value)],
    })
}

use gdl::burn::tensor::ElementConversion;

pub fn run_mlp(backend: BackendKind) -> anyhow::Result<Report> {
    run_on(backend, StepTask(Architecture::Mlp))?
}

pub fn run_cnn(backend: BackendKind) -> anyhow::Result<Report> {
    run_on(backend, StepTask(Architecture::Cnn))?
}
