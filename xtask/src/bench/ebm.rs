//! Workloads `rbm` (one CD-1 update of a binary RBM 784 x 256 at batch 64) and `ebm` (one
//! training step of the Langevin EBM: 60 SGLD steps and one ADAM step at batch 64), on fixed
//! random batches. `bench/ebm_torch.py` runs the same steps in PyTorch (and scikit-learn's
//! BernoulliRBM for `rbm`).

use super::{median_train_step_ms, Report};
use gdl::burn::tensor::backend::AutodiffBackend;
use gdl::burn::tensor::{Distribution, Tensor};
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::core::seed::seed_all;
use gdl::ebm::langevin::train::{LangevinTrainer, LangevinTraining};
use gdl::ebm::rbm::train::{RbmTrainer, RbmTraining};
use gdl::ebm::rbm::{bernoulli, RbmConfig};

const BATCH: usize = 64;

struct Rbm;

impl BackendTask for Rbm {
    type Output = anyhow::Result<Report>;
    fn run<AD: AutodiffBackend>(self, device: &AD::Device) -> anyhow::Result<Report> {
        type B<AD> = <AD as AutodiffBackend>::InnerBackend;
        seed_all::<B<AD>>(device, 0);
        let cfg = RbmTraining::new(RbmConfig::new(784, 256))
            .with_learning_rate(0.05)
            .with_weight_decay(2e-4);
        let rbm = cfg.model.init::<B<AD>>(device)?;
        let trainer = RbmTrainer::new(rbm, &cfg, None, |x| x, device)?;
        let x = bernoulli(Tensor::<B<AD>, 2>::random(
            [BATCH, 784],
            Distribution::Uniform(0.0, 0.3),
            device,
        ));
        let steps = 200;
        let (ms_per_step, last) = median_train_step_ms(trainer, x, 20, steps, device)?;
        let free = last.get("reconstruction_error").unwrap_or(f64::NAN);
        Ok(Report {
            ms_per_step,
            steps,
            metrics: vec![
                ("batch", BATCH as f64),
                ("hidden", 256.0),
                ("final_reconstruction_error", free),
            ],
        })
    }
}

struct Ebm;

impl BackendTask for Ebm {
    type Output = anyhow::Result<Report>;
    fn run<AD: AutodiffBackend>(self, device: &AD::Device) -> anyhow::Result<Report> {
        seed_all::<AD>(device, 0);
        let cfg = LangevinTraining::new();
        let trainer = LangevinTrainer::new(cfg.model.init::<AD>(device), &cfg);
        let x = Tensor::<AD::InnerBackend, 4>::random(
            [BATCH, 1, 32, 32],
            Distribution::Uniform(-1.0, 1.0),
            device,
        );
        let steps = 8;
        let (ms_per_step, figures) = median_train_step_ms(trainer, x, 2, steps, device)?;
        let last = figures.get("loss").unwrap_or(f64::NAN);
        Ok(Report {
            ms_per_step,
            steps,
            metrics: vec![
                ("batch", BATCH as f64),
                ("sgld_steps", cfg.sgld.steps as f64),
                ("final_loss", last),
            ],
        })
    }
}

pub fn run_rbm(backend: BackendKind) -> anyhow::Result<Report> {
    run_on(backend, Rbm)?
}

pub fn run_ebm(backend: BackendKind) -> anyhow::Result<Report> {
    run_on(backend, Ebm)?
}
