//! Training an autoencoder: ADAM on the negative ELBO, with a β weight on the KL term and a
//! linear KL warm-up from 0 to β (the deterministic autoencoder has no KL term: its loss is
//! the reconstruction term alone). The step is [`AutoencoderTrainer`]'s
//! [`TrainStep`]; the epochs are `gdl_core::train::fit`'s.

use crate::model::{Autoencoder, AutoencoderConfig};
use burn::config::Config;
use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use gdl_core::adam::{adam, Adam};
use gdl_core::run::{load_trained, save_trained};
use gdl_core::run_dir::RunDir;
use gdl_core::tensor::to_f64;
use gdl_core::train::{fit, EpochReport, Figures, FitOptions, StepFigures, StepInfo, TrainStep};

use gdl_mnist::{MnistBatch, MnistData, MnistLoader, TrainTest, Transform};
use std::path::Path;

/// How the model is trained: the model, the optimiser and the schedule (saved as
/// `config.json`; `--resume` requires the same).
#[derive(Config, Debug)]
pub struct AutoencoderTraining {
    /// The model.
    pub model: AutoencoderConfig,
    /// ADAM (Burn's defaults β₁ 0.9, β₂ 0.999, ε 1e-5).
    #[config(default = "AdamConfig::new()")]
    pub optimizer: AdamConfig,
    /// Epochs.
    #[config(default = 10)]
    pub epochs: usize,
    /// Mini-batch size.
    #[config(default = 128)]
    pub batch_size: usize,
    /// ADAM's η.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// β, the weight of the KL term (1 gives the ELBO).
    #[config(default = 1.0)]
    pub beta: f64,
    /// Epochs over which the KL weight rises linearly from 0 to β (0: no warm-up).
    #[config(default = 0)]
    pub warmup_epochs: usize,
    /// Seed of the shuffles and of each epoch's backend RNG.
    #[config(default = 0)]
    pub seed: u64,
    /// How image bytes become pixels: grey levels in [0, 1] or binarised (dynamic
    /// binarisation draws afresh each training epoch; the test set is drawn once, at epoch 0).
    #[config(default = "Transform::unit()")]
    pub transform: Transform,
}

impl AutoencoderTraining {
    /// The KL weight at global step `step` (0-based) with `steps_per_epoch` steps an epoch.
    pub fn kl_weight(&self, step: usize, steps_per_epoch: usize) -> f64 {
        let warmup_steps = self.warmup_epochs * steps_per_epoch;
        if warmup_steps == 0 {
            self.beta
        } else {
            self.beta * ((step + 1) as f64 / warmup_steps as f64).min(1.0)
        }
    }
}

/// The optimiser of [`AutoencoderTraining`].
pub type AutoencoderOptimizer<B> = OptimizerAdaptor<Adam, Autoencoder<B>, B>;

/// An autoencoder in training: the model, its optimiser, the config and the test digits it is
/// evaluated on after each epoch.
pub struct AutoencoderTrainer<'a, B: AutodiffBackend> {
    /// The model.
    pub model: Autoencoder<B>,
    /// ADAM's state.
    pub optim: AutoencoderOptimizer<B>,
    /// The config.
    pub cfg: &'a AutoencoderTraining,
    /// Held-out digits for the evaluation (none: no evaluation).
    pub test: Option<&'a MnistData>,
    device: B::Device,
}

impl<'a, B: AutodiffBackend> AutoencoderTrainer<'a, B> {
    /// A new model from `cfg.model` (drawn from the backend RNG) and a fresh optimiser.
    pub fn new(
        cfg: &'a AutoencoderTraining,
        test: Option<&'a MnistData>,
        device: &B::Device,
    ) -> gdl_core::Result<Self> {
        Ok(AutoencoderTrainer {
            model: gdl_core::run::materialize(cfg.model.init::<B>(device)?),
            optim: adam(&cfg.optimizer),
            cfg,
            test,
            device: device.clone(),
        })
    }
}

/// The mean −ELBO terms (reconstruction, KL) of `model` on `data` (pixels by `transform`,
/// epoch 0), one h sample per image.
pub fn evaluate_elbo<B: Backend>(
    model: &Autoencoder<B>,
    data: &MnistData,
    transform: Transform,
    device: &B::Device,
) -> (f64, f64) {
    let (mut rec, mut kl) = (0.0, 0.0);
    for batch in MnistLoader::new(data, 500)
        .transform(transform)
        .epoch::<B>(0, device)
    {
        let sums = to_f64(model.negative_elbo(batch.flat()).sums());
        rec += sums[0];
        kl += sums[1];
    }
    let n = data.len().max(1) as f64;
    (rec / n, kl / n)
}

impl<B: AutodiffBackend> TrainStep<B> for AutoencoderTrainer<'_, B> {
    type Batch = MnistBatch<B>;
    type Update = GradientsParams;

    /// Figures `reconstruction` and `kl`, in nats per image (the KL unweighted).
    fn forward(&mut self, batch: MnistBatch<B>, at: StepInfo) -> (StepFigures<B>, GradientsParams) {
        // 1. encode, sample h = μ + σ ⊙ ε (h = μ when deterministic), decode;
        // 2. −ELBO = E_q[−log p(x|h)] + w · KL(q(h|x) || p(h)), w warming up to β
        let n = batch.len() as f32;
        let elbo = self.model.negative_elbo(batch.flat()); // x: [N, 784] in [0, 1]
        let per_image = elbo.sums().detach().div_scalar(n);
        let loss = elbo.mean(self.cfg.kl_weight(at.step - 1, at.steps_per_epoch));
        // 3. backward
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let figures = StepFigures::stacked(vec!["reconstruction", "kl"], per_image);
        (figures, grads)
    }

    /// 4. the ADAM step.
    fn apply(mut self, grads: GradientsParams, _at: StepInfo) -> Self {
        self.model = self.optim.step(self.cfg.learning_rate, self.model, grads);
        self
    }

    /// `test_reconstruction` and `test_kl` on the test digits.
    fn evaluate(&self, _epoch: usize) -> gdl_core::Result<Figures> {
        let Some(test) = self.test else {
            return Ok(Figures::default());
        };
        let (rec, kl) = evaluate_elbo(&self.model.valid(), test, self.cfg.transform, &self.device);
        Ok(Figures::new([
            ("test_reconstruction", rec),
            ("test_kl", kl),
        ]))
    }

    fn save(&self, dir: &Path) -> gdl_core::Result<()> {
        save_trained(dir, &self.model, &self.optim)
    }

    fn load(mut self, dir: &Path, device: &B::Device) -> gdl_core::Result<Self> {
        (self.model, self.optim) = load_trained(dir, self.model, self.optim, device)?;
        Ok(self)
    }
}

/// The test negative ELBO of an epoch report, in nats per image.
pub fn test_negative_elbo(report: &EpochReport) -> f64 {
    report.get("test_reconstruction").unwrap_or(f64::NAN) + report.get("test_kl").unwrap_or(0.0)
}

/// Trains a new model from `cfg` on `data.train` through the driver, evaluating on
/// `data.test`, recording into `run` when given (and resuming it when it was opened so);
/// `on_epoch` sees each report and the trainer.
pub fn train_autoencoder<B: AutodiffBackend>(
    cfg: &AutoencoderTraining,
    data: &TrainTest,
    run: Option<&RunDir>,
    device: &B::Device,
    on_epoch: impl FnMut(&EpochReport, &AutoencoderTrainer<'_, B>) -> gdl_core::Result<()>,
) -> gdl_core::Result<(Autoencoder<B>, Vec<EpochReport>)> {
    let trainer = AutoencoderTrainer::new(cfg, Some(&data.test), device)?;
    let loader = MnistLoader::new(&data.train, cfg.batch_size)
        .shuffle(cfg.seed)
        .transform(cfg.transform);
    let opts = FitOptions {
        epochs: cfg.epochs,
        seed: cfg.seed,
        run,
        progress: true,
    };
    let (trainer, history) = fit(trainer, &loader, &opts, device, on_epoch)?;
    Ok((trainer.model, history))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kl_weight_rises_linearly_to_beta() {
        let mut cfg = AutoencoderTraining::new(AutoencoderConfig::new())
            .with_beta(2.0)
            .with_warmup_epochs(2);
        // 10 steps an epoch, 20 warm-up steps: w = β · (step + 1) / 20, then β.
        assert_eq!(cfg.kl_weight(0, 10), 0.1);
        assert_eq!(cfg.kl_weight(9, 10), 1.0);
        assert_eq!(cfg.kl_weight(19, 10), 2.0);
        assert_eq!(cfg.kl_weight(35, 10), 2.0);
        cfg.warmup_epochs = 0;
        assert_eq!(cfg.kl_weight(0, 10), 2.0);
    }
}
