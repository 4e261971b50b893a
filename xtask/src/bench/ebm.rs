//! Workloads `rbm` (one CD-1 update of a binary RBM 784 x 256 at batch 64) and `ebm` (one
//! training step of the Langevin EBM: 60 SGLD steps and one ADAM step at batch 64), on fixed
//! random batches. `bench/ebm_torch.py` runs the same steps in PyTorch (and scikit-learn's
//! BernoulliRBM for `rbm`).

use super::{median_step_ms, Report};
use gdl::burn::tensor::backend::{AutodiffBackend, Backend};
use gdl::burn::tensor::{Distribution, Tensor};
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::core::seed::{host_rng, seed_all};
use gdl::core::tensor::to_f64;
use gdl::ebm::cd::{ContrastiveDivergence, UpdateRule};
use gdl::ebm::langevin::{EnergyNetConfig, ReplayBuffer};
use gdl::ebm::langevin_train::{ebm_adam, train_step, LangevinTraining};
use gdl::ebm::rbm::{bernoulli, RbmConfig};

const BATCH: usize = 64;

struct Rbm;

impl BackendTask for Rbm {
    type Output = anyhow::Result<Report>;
    fn run<AD: AutodiffBackend>(self, device: &AD::Device) -> anyhow::Result<Report> {
        type B<AD> = <AD as AutodiffBackend>::InnerBackend;
        seed_all::<B<AD>>(device, 0);
        let mut rbm = RbmConfig::new(784, 256).init::<B<AD>>(device)?;
        let mut cd = ContrastiveDivergence::new(1, false);
        let rule = UpdateRule {
            learning_rate: 0.05,
            momentum: 0.5,
            weight_decay: 2e-4,
        };
        let x = bernoulli(Tensor::<B<AD>, 2>::random(
            [BATCH, 784],
            Distribution::Uniform(0.0, 0.3),
            device,
        ));
        let steps = 200;
        let ms_per_step = median_step_ms(20, steps, |_| {
            rbm = cd.update(rbm.clone(), x.clone(), &rule);
            let _ = B::<AD>::sync(device);
        });
        let free = to_f64(rbm.free_energy(x).mean())[0];
        Ok(Report {
            ms_per_step,
            steps,
            metrics: vec![
                ("batch", BATCH as f64),
                ("hidden", 256.0),
                ("final_mean_free_energy", free),
            ],
        })
    }
}

struct Ebm;

impl BackendTask for Ebm {
    type Output = anyhow::Result<Report>;
    fn run<AD: AutodiffBackend>(self, device: &AD::Device) -> anyhow::Result<Report> {
        seed_all::<AD>(device, 0);
        let mut net = EnergyNetConfig::new().init::<AD>(device);
        let mut optim = ebm_adam::<AD>();
        let cfg = LangevinTraining::default();
        let mut buffer = ReplayBuffer::new(cfg.buffer_capacity, cfg.fresh);
        let mut rng = host_rng(0);
        let x = Tensor::<AD::InnerBackend, 4>::random(
            [BATCH, 1, 32, 32],
            Distribution::Uniform(-1.0, 1.0),
            device,
        );
        let (steps, mut last) = (8, 0.0);
        let ms_per_step = median_step_ms(2, steps, |_| {
            let (next, f) = train_step(
                net.clone(),
                &mut optim,
                x.clone(),
                &mut buffer,
                &mut rng,
                &cfg,
            );
            net = next;
            last = f.loss;
        });
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
