//! Workloads `mlp` and `cnn`: one ADAM training step of the MNIST classifiers of `gdl-ffnn`
//! (MLP 784-512-256-10 at batch 128; PyTorch's MNIST example CNN at batch 64) on a fixed
//! batch of random images and labels: the library's step, `ClassifierTrainer`'s
//! `TrainStep::step`. `bench/ffnn_torch.py` runs the same steps in PyTorch.

use super::{median_train_step_ms, Report};
use gdl::burn::module::AutodiffModule;
use gdl::burn::tensor::backend::AutodiffBackend;
use gdl::burn::tensor::{Distribution, Int, Tensor};
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::core::seed::seed_all;
use gdl::ffnn::classifier::{
    Architecture, Classifier, ClassifierTrainer, ClassifierTraining, CnnClassifier, MlpClassifier,
};
use gdl::mnist::MnistBatch;

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

fn steps<B, M>(model: M, batch: usize, device: &B::Device) -> anyhow::Result<Report>
where
    B: AutodiffBackend,
    M: Classifier<B> + AutodiffModule<B>,
    M::InnerModule: Classifier<B::InnerBackend>,
{
    let images =
        Tensor::<B, 4>::random([batch, 1, 28, 28], Distribution::Uniform(0.0, 1.0), device);
    let labels = Tensor::<B, 1, Int>::random([batch], Distribution::Uniform(0.0, 10.0), device);
    let cfg = ClassifierTraining::new();
    let trainer = ClassifierTrainer::new(model, &cfg, None, device);
    let batch_data = MnistBatch { images, labels };
    let (ms_per_step, last) = median_train_step_ms(trainer, batch_data, WARMUP, STEPS, device)?;
    Ok(Report {
        ms_per_step,
        steps: STEPS,
        metrics: vec![
            ("batch", batch as f64),
            ("final_loss", last.get("loss").unwrap_or(f64::NAN)),
        ],
    })
}

pub fn run_mlp(backend: BackendKind) -> anyhow::Result<Report> {
    run_on(backend, StepTask(Architecture::Mlp))?
}

pub fn run_cnn(backend: BackendKind) -> anyhow::Result<Report> {
    run_on(backend, StepTask(Architecture::Cnn))?
}
