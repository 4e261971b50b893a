//! Training an RBM by CD-k or PCD, with momentum and weight decay, and the figures that tell
//! how it goes: the reconstruction error of one Gibbs step, and the mean free energies of
//! training and test digits (a growing gap means over-fitting; Hinton's guide §6). The step is
//! [`RbmTrainer`]'s [`TrainStep`], on any data: MNIST digits, a DBN's hidden units, Ising
//! samples; the epochs are `gdl_core::train::fit`'s.

use crate::rbm::cd::{ContrastiveDivergence, RbmGradient};
use crate::rbm::{Rbm, RbmConfig};
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};
use gdl_core::batches::{Mapped, TensorBatches};
use gdl_core::optim::SlotState;
use gdl_core::run::{load_module, load_record, save_module, save_record};
use gdl_core::run_dir::RunDir;
use gdl_core::tensor::to_f64;
use gdl_core::train::{fit, EpochReport, Figures, FitOptions, StepFigures, StepInfo, TrainStep};

use gdl_mnist::{MnistData, MnistLoader, TrainTest, Transform};
use std::path::Path;

/// How the RBM is trained (saved as `config.json`).
#[derive(Config, Debug)]
pub struct RbmTraining {
    /// The RBM.
    pub model: RbmConfig,
    /// Epochs.
    #[config(default = 10)]
    pub epochs: usize,
    /// Mini-batch size.
    #[config(default = 100)]
    pub batch_size: usize,
    /// k, Gibbs steps of the negative phase per update.
    #[config(default = 1)]
    pub k: usize,
    /// PCD (true) or CD-k (false).
    #[config(default = false)]
    pub persistent: bool,
    /// η.
    #[config(default = 0.01)]
    pub learning_rate: f64,
    /// μ after `momentum_switch` epochs.
    #[config(default = 0.9)]
    pub momentum: f64,
    /// μ in the first `momentum_switch` epochs.
    #[config(default = 0.5)]
    pub initial_momentum: f64,
    /// Epochs at `initial_momentum`.
    #[config(default = 5)]
    pub momentum_switch: usize,
    /// λ of the L2 penalty on the weights.
    #[config(default = 1e-4)]
    pub weight_decay: f64,
    /// Seed of the shuffles and of each epoch's backend RNG.
    #[config(default = 0)]
    pub seed: u64,
    /// How bytes become visible units (binarised for the binary RBM).
    #[config(default = "Transform::unit()")]
    pub transform: Transform,
}

impl RbmTraining {
    /// μ in epoch `epoch` (1-based).
    pub fn momentum_at(&self, epoch: usize) -> f64 {
        if epoch <= self.momentum_switch {
            self.initial_momentum
        } else {
            self.momentum
        }
    }
}

/// Mean free energy of `data` (pixels by `transform`, epoch 0, mapped to the RBM's visible
/// layer by `input`).
pub fn mean_free_energy<B: Backend>(
    rbm: &Rbm<B>,
    data: &MnistData,
    transform: Transform,
    input: &impl Fn(Tensor<B, 2>) -> Tensor<B, 2>,
    device: &B::Device,
) -> f64 {
    let sum: f64 = MnistLoader::new(data, 1000)
        .transform(transform)
        .epoch::<B>(0, device)
        .map(|b| to_f64(rbm.free_energy(input(b.flat())).sum())[0])
        .sum();
    sum / data.len().max(1) as f64
}

/// The digits whose mean free energies are compared after each epoch: as many training digits
/// as there are test digits, and the test digits.
pub struct FreeEnergyGap<'a> {
    train: MnistData,
    test: &'a MnistData,
}

impl<'a> FreeEnergyGap<'a> {
    /// The first `data.test.len()` training digits and the test digits.
    pub fn new(data: &'a TrainTest) -> gdl_core::Result<Self> {
        let n = data.test.len().min(data.train.len());
        let train = data
            .train
            .select(&(0..n).collect::<Vec<_>>())
            .map_err(|e| gdl_core::Error::invalid("training data", e.to_string()))?;
        Ok(FreeEnergyGap {
            train,
            test: &data.test,
        })
    }
}

/// An RBM in training: the machine, the CD state (chains and velocity), the config, and how a
/// batch of digits becomes visible units (`input`) for the free-energy evaluation.
pub struct RbmTrainer<'a, B: Backend, F> {
    /// The machine.
    pub rbm: Rbm<B>,
    /// The negative-phase chains and the momentum method.
    pub cd: ContrastiveDivergence<B>,
    /// The config.
    pub cfg: &'a RbmTraining,
    gap: Option<FreeEnergyGap<'a>>,
    input: F,
    device: B::Device,
}

impl<'a, B: Backend, F: Fn(Tensor<B, 2>) -> Tensor<B, 2>> RbmTrainer<'a, B, F> {
    /// Trains `rbm` by `cfg`; `gap` names the digits of the free-energy evaluation (none: no
    /// evaluation), `input` maps their pixels to the visible layer.
    pub fn new(
        rbm: Rbm<B>,
        cfg: &'a RbmTraining,
        gap: Option<FreeEnergyGap<'a>>,
        input: F,
        device: &B::Device,
    ) -> gdl_core::Result<Self> {
        Ok(RbmTrainer {
            rbm,
            cd: ContrastiveDivergence::new(
                cfg.k,
                cfg.persistent,
                cfg.learning_rate,
                cfg.momentum_at(1),
                cfg.weight_decay,
            )?,
            cfg,
            gap,
            input,
            device: device.clone(),
        })
    }
}

/// The CD state as a Burn record: the momentum method's slots (the velocity of W, a, b) and
/// the PCD particles.
type CdRecord<B> = (Vec<SlotState<B>>, Option<Tensor<B, 2>>);

impl<B: Backend, F: Fn(Tensor<B, 2>) -> Tensor<B, 2>> TrainStep<B> for RbmTrainer<'_, B, F> {
    /// Visible units x [N, n_v].
    type Batch = Tensor<B, 2>;
    /// The CD estimate of ∂ log p / ∂(W, a, b).
    type Update = RbmGradient<B>;

    /// Figure `reconstruction_error`: ‖x − E[x|h]‖² per item with h ~ p(h|x), before the update.
    fn forward(&mut self, x: Tensor<B, 2>, _at: StepInfo) -> (StepFigures<B>, RbmGradient<B>) {
        let n = x.dims()[0].max(1) as f32;
        // 1. negative phase: k Gibbs steps from the data (CD) or the particles (PCD);
        // 2. gradient = positive phase − negative phase
        let estimate = self.cd.estimate(&self.rbm, x.clone());
        // monitor: ‖x − E[x|h]‖² with h ~ p(h|x)
        let error = (x - estimate.reconstruction)
            .powi_scalar(2)
            .sum()
            .div_scalar(n);
        (
            StepFigures::on_device([("reconstruction_error", error)]),
            estimate.gradient,
        )
    }

    /// 3. the momentum step with weight decay, μ by the epoch.
    fn apply(mut self, grad: RbmGradient<B>, at: StepInfo) -> Self {
        self.cd.set_momentum(self.cfg.momentum_at(at.epoch));
        self.rbm = self.cd.apply(self.rbm, grad);
        self
    }

    /// `train_free_energy` and `test_free_energy`: mean F(x) of the two sets of digits.
    fn evaluate(&self, _epoch: usize) -> gdl_core::Result<Figures> {
        let Some(gap) = &self.gap else {
            return Ok(Figures::default());
        };
        let free = |data: &MnistData| {
            mean_free_energy(
                &self.rbm,
                data,
                self.cfg.transform,
                &self.input,
                &self.device,
            )
        };
        Ok(Figures::new([
            ("train_free_energy", free(&gap.train)),
            ("test_free_energy", free(gap.test)),
        ]))
    }

    fn save(&self, dir: &Path) -> gdl_core::Result<()> {
        save_module(&self.rbm, &dir.join("model.mpk"))?;
        let record: CdRecord<B> = (self.cd.momentum.state(), self.cd.chains.particles());
        save_record::<B, _>(record, &dir.join("cd.mpk"))
    }

    fn load(mut self, dir: &Path, device: &B::Device) -> gdl_core::Result<Self> {
        self.rbm = load_module(self.rbm, &dir.join("model.mpk"), device)?;
        let (slots, particles): CdRecord<B> = load_record::<B, _>(&dir.join("cd.mpk"), device)?;
        self.cd.momentum = self.cd.momentum.clone().with_state(slots);
        self.cd.chains.set_particles(particles);
        Ok(self)
    }
}

/// Trains `rbm` on `data.train` through the driver (digits mapped to its visible layer by
/// `input`: the identity for an RBM on pixels, the lower RBM's hidden units for the upper RBM
/// of a DBN), with the free-energy gap after each epoch, recording into `run` when given.
pub fn train_rbm<B: Backend>(
    rbm: Rbm<B>,
    data: &TrainTest,
    cfg: &RbmTraining,
    run: Option<&RunDir>,
    device: &B::Device,
    input: impl Fn(Tensor<B, 2>) -> Tensor<B, 2> + Clone,
    mut on_epoch: impl FnMut(&EpochReport, &Rbm<B>) -> gdl_core::Result<()>,
) -> gdl_core::Result<(Rbm<B>, Vec<EpochReport>)> {
    let gap = FreeEnergyGap::new(data)?;
    let trainer = RbmTrainer::new(rbm, cfg, Some(gap), input.clone(), device)?;
    let loader = MnistLoader::new(&data.train, cfg.batch_size)
        .shuffle(cfg.seed)
        .transform(cfg.transform);
    let batches = Mapped::new(loader, move |b: gdl_mnist::MnistBatch<B>| input(b.flat()));
    let opts = FitOptions {
        epochs: cfg.epochs,
        seed: cfg.seed,
        run,
        progress: true,
    };
    let (trainer, history) = fit(trainer, &batches, &opts, device, |r, t| on_epoch(r, &t.rbm))?;
    Ok((trainer.rbm, history))
}

/// Trains `rbm` on the rows of `units` [N, n_v] (e.g. Ising configurations as 0/1 units)
/// through the driver, shuffled per epoch by `cfg.seed`; no evaluation.
pub fn train_rbm_on_units<B: Backend>(
    rbm: Rbm<B>,
    units: Tensor<B, 2>,
    cfg: &RbmTraining,
    device: &B::Device,
) -> gdl_core::Result<(Rbm<B>, Vec<EpochReport>)> {
    let trainer = RbmTrainer::new(rbm, cfg, None, |x| x, device)?;
    let rows = TensorBatches::new(units, cfg.batch_size).shuffle(cfg.seed);
    let batches = Mapped::new(rows, |(x, _): (Tensor<B, 2>, Tensor<B, 2>)| x);
    let opts = FitOptions {
        epochs: cfg.epochs,
        seed: cfg.seed,
        run: None,
        progress: true,
    };
    let (trainer, history) = fit(trainer, &batches, &opts, device, |_, _| Ok(()))?;
    Ok((trainer.rbm, history))
}
