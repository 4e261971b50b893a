//! Training a DDPM through the driver: for each digit x_0 of a batch, a step t ~ U{1..T} and
//! noise ε ~ N(0, I), x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, and the loss
//! L_simple = E ‖target − net(x_t, t)‖² / D with target ε (or v = √ᾱ_t ε − √(1 − ᾱ_t) x_0),
//! Ho et al. (2020)'s reweighting of the bound's terms. Adam with gradient-norm clipping at 1.

use crate::predictor::Prediction;
use crate::process::{diffuse, MarginalTables};
use crate::schedule::{NoiseSchedule, ScheduleKind};
use crate::unet::{UNet, UNetConfig};
use burn::config::Config;
use burn::grad_clipping::GradientClippingConfig;
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{Adam, AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Distribution, Tensor};
use gdl_core::ema::{ema_update, warmed_decay};
use gdl_core::run::{load_module, load_trained, save_module, save_trained};
use gdl_core::run_dir::RunDir;
use gdl_core::train::{fit, EpochReport, Figures, FitOptions, StepInfo, TrainStep};
use gdl_mnist::{MnistBatch, MnistLoader, TrainTest, Transform};
use std::path::Path;

/// How a DDPM is trained (saved as `config.json`).
#[derive(Config, Debug)]
pub struct DiffusionTraining {
    /// The noise-predicting network.
    pub model: UNetConfig,
    /// β_t.
    #[config(default = "ScheduleKind::Linear")]
    pub schedule: ScheduleKind,
    /// T.
    #[config(default = 1000)]
    pub steps: usize,
    /// What the network outputs.
    #[config(default = "Prediction::Epsilon")]
    pub prediction: Prediction,
    /// Epochs.
    #[config(default = 10)]
    pub epochs: usize,
    /// Digits per step.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Adam's η.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Decay of the exponential moving average of the weights that samples are drawn with
    /// (warmed up as min(d, (1 + k)/(10 + k)) at step k).
    #[config(default = 0.995)]
    pub ema_decay: f64,
    /// Seed of the shuffles and of each epoch's backend RNG (t, ε).
    #[config(default = 0)]
    pub seed: u64,
}

impl DiffusionTraining {
    /// The noise schedule.
    pub fn noise_schedule(&self) -> gdl_core::Result<NoiseSchedule> {
        self.schedule.build(self.steps)
    }
}

/// The optimiser of the U-Net.
pub type UNetOptimizer<B> = OptimizerAdaptor<Adam, UNet<B>, B>;

/// A DDPM in training: the network, its weights' moving average, its optimiser, the schedule's
/// tables.
pub struct DdpmTrainer<B: AutodiffBackend> {
    /// The network.
    pub unet: UNet<B>,
    /// The exponential moving average of its weights (what samples are drawn with).
    pub ema: UNet<B::InnerBackend>,
    ema_decay: f64,
    optim: UNetOptimizer<B>,
    tables: MarginalTables<B>,
    prediction: Prediction,
    learning_rate: f64,
}

impl<B: AutodiffBackend> DdpmTrainer<B> {
    /// A new network from `cfg` (weights from the seeded backend RNG) and a fresh optimiser.
    pub fn new(cfg: &DiffusionTraining, device: &B::Device) -> gdl_core::Result<Self> {
        if cfg.batch_size == 0 {
            return Err(gdl_core::Error::invalid("batch_size", "must be at least 1"));
        }
        let schedule = cfg.noise_schedule()?;
        if !(0.0..1.0).contains(&cfg.ema_decay) {
            return Err(gdl_core::Error::invalid(
                "ema_decay",
                format!("{} is not in [0, 1)", cfg.ema_decay),
            ));
        }
        let unet: UNet<B> = gdl_core::run::materialize(cfg.model.init(device)?);
        Ok(DdpmTrainer {
            ema: unet.valid(),
            ema_decay: cfg.ema_decay,
            unet,
            optim: AdamConfig::new()
                .with_grad_clipping(Some(GradientClippingConfig::Norm(1.0)))
                .init(),
            tables: MarginalTables::new(&schedule, device),
            prediction: cfg.prediction,
            learning_rate: cfg.learning_rate,
        })
    }

    /// L_simple on a batch of clean images [N, 1, 28, 28] in [−1, 1], with steps and noise
    /// from the backend RNG.
    pub fn loss(&self, x0: Tensor<B, 4>) -> Tensor<B, 1> {
        let n = x0.dims()[0];
        let t = self.tables.random_steps(n);
        let (a, b) = self.tables.gather(t.clone());
        let eps = Tensor::random(x0.dims(), Distribution::Normal(0.0, 1.0), &x0.device());
        let x_t = diffuse(x0.clone(), eps.clone(), a.clone(), b.clone());
        let output = self.unet.forward(x_t, t.float());
        let target = self.prediction.target(eps, x0, a, b);
        (output - target).powi_scalar(2).mean()
    }
}

impl<B: AutodiffBackend> TrainStep<B> for DdpmTrainer<B> {
    /// Digits [N, 1, 28, 28] in [−1, 1].
    type Batch = MnistBatch<B>;
    /// The network's gradients.
    type Update = GradientsParams;

    fn forward(&mut self, batch: MnistBatch<B>, _at: StepInfo) -> (Figures, GradientsParams) {
        let loss = self.loss(batch.images);
        let value = gdl_core::tensor::to_f64(loss.clone().detach())[0];
        let grads = GradientsParams::from_grads(loss.backward(), &self.unet);
        (Figures::new([("loss", value)]), grads)
    }

    /// The Adam step, then θ̄ ← d_k θ̄ + (1 − d_k) θ.
    fn apply(mut self, grads: GradientsParams, at: StepInfo) -> Self {
        self.unet = self.optim.step(self.learning_rate, self.unet, grads);
        let decay = warmed_decay(self.ema_decay, at.step);
        self.ema = ema_update(self.ema, &self.unet.valid(), decay);
        self
    }

    fn save(&self, dir: &Path) -> gdl_core::Result<()> {
        save_trained(dir, &self.unet, &self.optim)?;
        save_module(&self.ema, &dir.join("ema.mpk"))
    }

    fn load(mut self, dir: &Path, device: &B::Device) -> gdl_core::Result<Self> {
        (self.unet, self.optim) = load_trained(dir, self.unet, self.optim, device)?;
        self.ema = load_module(self.ema, &dir.join("ema.mpk"), device)?;
        Ok(self)
    }
}

/// Trains a new network from `cfg` on `data.train` through the driver, recording into `run`
/// when given (resuming it when it was opened so); `on_epoch` sees each report and the trainer.
/// Returns the trainer (network and moving average) and the history.
pub fn train_ddpm<B: AutodiffBackend>(
    cfg: &DiffusionTraining,
    data: &TrainTest,
    run: Option<&RunDir>,
    device: &B::Device,
    on_epoch: impl FnMut(&EpochReport, &DdpmTrainer<B>) -> gdl_core::Result<()>,
) -> gdl_core::Result<(DdpmTrainer<B>, Vec<EpochReport>)> {
    let trainer = DdpmTrainer::new(cfg, device)?;
    let loader = MnistLoader::new(&data.train, cfg.batch_size)
        .shuffle(cfg.seed)
        .transform(Transform::symmetric());
    let opts = FitOptions {
        epochs: cfg.epochs,
        seed: cfg.seed,
        run,
        progress: true,
    };
    fit(trainer, &loader, &opts, device, on_epoch)
}
