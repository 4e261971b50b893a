//! Training a GAN through the driver: each step is one discriminator (critic) update on a
//! batch of real digits and as many generated ones, then, every `n_critic` steps (every step
//! but for WGAN), one generator update against the updated discriminator (Goodfellow et al.'s
//! alternating algorithm). Figures per step: `d_loss`, `d_real` and `d_fake` (the mean of
//! D(x) = sigmoid(l) on real and generated images, or of the raw scores for LSGAN and WGAN),
//! `wasserstein` (WGAN: E f(x) − E f(G(z)), the critic's estimate of W₁) and `g_loss`.
//! Samples come from an exponential moving average of the generator's weights
//! (θ̄ ← d θ̄ + (1 − d) θ after every generator update; Yazıcı et al. 2019), which smooths the
//! oscillation of the game; the live generator is kept beside it.

use crate::loss::Objective;
use crate::model::{Discriminator, GanConfig, Generator};
use burn::config::Config;
use burn::module::{AutodiffModule, Module};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamConfig, GradientsParams, Optimizer, RmsProp, RmsPropConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Distribution, Tensor};
use gdl_core::adam::{adam, Adam};
use gdl_core::ema::{ema_update, warmed_decay};
use gdl_core::optim::LrDecay;
use gdl_core::run::{load_module, load_record, save_module, save_record};
use gdl_core::run_dir::RunDir;
use gdl_core::train::{fit, EpochReport, FitOptions, StepFigures, StepInfo, TrainStep};
use gdl_mnist::{MnistBatch, MnistLoader, TrainTest, Transform};
use std::path::Path;

/// How a GAN is trained (saved as `config.json`).
#[derive(Config, Debug)]
pub struct GanTraining {
    /// The two networks.
    pub model: GanConfig,
    /// The game.
    #[config(default = "Objective::NonSaturating")]
    pub objective: Objective,
    /// Epochs.
    #[config(default = 10)]
    pub epochs: usize,
    /// Real digits per discriminator step (and as many generated). 8 (10,000 steps in 10
    /// epochs of 8,000 digits) rather than DCGAN's 64 or 128: at the table's budget (DCGAN, 10
    /// epochs, seed 0, Flex) batch 64 scored MNIST-FID 417, confidence 0.832; 32: 305, 0.858;
    /// 16: 242, 0.884, in about the same time (more, smaller steps); with the scorer of
    /// 2026-11-28 and batch-norm recalibration, 16: 158.9, 0.881; 8: 137.1, 0.886, in about 1.6
    /// times the time. With 2026-12-03's kernels 8 scored 124.59, 0.893 and 4 119.11, 0.893
    /// (seeds 1 and 2 at 8: 138.84, 0.886 and 136.26, 0.891).
    #[config(default = 8)]
    pub batch_size: usize,
    /// η of both optimisers: Adam, or RMSprop for WGAN (whose paper uses 5e-5). At the table's
    /// budget (DCGAN, batch 8, 10 epochs, seed 0, Flex) 1e-4 scored MNIST-FID 160.69,
    /// confidence 0.878 and 3e-4 150.22, 0.888, against 124.59, 0.893 with 2e-4.
    #[config(default = 2e-4)]
    pub learning_rate: f64,
    /// The discriminator's own η (the two-time-scale update rule of Heusel et al. 2017: a
    /// faster discriminator); `None`: `learning_rate`. At the table's budget (DCGAN, batch 8,
    /// 10 epochs, seed 0) D at 4e-4 and G at 2e-4 scored MNIST-FID 154.72, confidence 0.883,
    /// against 137.10, 0.886 with one η for both; a slower D, 1e-4, 130.41, 0.884 against
    /// 124.59, 0.893 (this week's kernels).
    #[config(default = "None")]
    pub discriminator_learning_rate: Option<f64>,
    /// How both η change over the run's epochs: constant by default. At the table's budget
    /// (DCGAN, batch 8, 10 epochs, seed 0, Flex) cosine annealing to 0 scored MNIST-FID 158.55,
    /// confidence 0.874, against 124.59, 0.893 with constant rates (the DDPM's FID fell from
    /// 134.83 to 115.10 with it).
    #[config(default = "LrDecay::Constant")]
    pub lr_decay: LrDecay,
    /// Adam's β₁ (0.5, Radford et al.; Burn's default is 0.9).
    #[config(default = 0.5)]
    pub beta1: f64,
    /// WGAN: critic steps per generator step.
    #[config(default = 5)]
    pub n_critic: usize,
    /// WGAN: every critic weight is clipped to [−c, c] after each update.
    #[config(default = 0.01)]
    pub clip: f64,
    /// Decay d of the generator's weight average (warmed up as `gdl_core::ema::warmed_decay`;
    /// 0 keeps a copy of the live generator). Samples come from the average: at the table's
    /// budget (batch 16) it scored MNIST-FID 221, confidence 0.896 against the live
    /// generator's 242, 0.884 (with spectral normalisation 219, 0.884 against 279, 0.871).
    /// In those 5,000 steps the warm-up's (1 + k)/(10 + k) ≤ 0.998 sets the decay: 0.999 and
    /// 0.9995 gave the same samples.
    #[config(default = 0.999)]
    pub ema_decay: f64,
    /// The real images' label in the discriminator's loss: 1, or 0.9 for one-sided label
    /// smoothing (Salimans et al. 2016), the default: at the table's budget the average scored
    /// MNIST-FID 205, confidence 0.889, label entropy 2.278 (live generator 194, 0.887); at
    /// batch 8, 1 scored 134.20, 0.889 against 0.9's 124.59, 0.893.
    #[config(default = 0.9)]
    pub real_label: f64,
    /// Seed of the shuffles and of each epoch's backend RNG (noise, dropout).
    #[config(default = 0)]
    pub seed: u64,
    /// Pixels in [−1, 1], the generator's tanh range.
    #[config(default = "Transform::symmetric()")]
    pub transform: Transform,
}

/// Adam, or RMSprop (WGAN), over one network.
pub enum Optim<M: AutodiffModule<B>, B: AutodiffBackend> {
    /// Adam with β₁ from the config.
    Adam(OptimizerAdaptor<Adam, M, B>),
    /// RMSprop without momentum.
    RmsProp(OptimizerAdaptor<RmsProp, M, B>),
}

impl<M: AutodiffModule<B>, B: AutodiffBackend> Optim<M, B> {
    fn new(cfg: &GanTraining) -> Self {
        if cfg.objective == Objective::Wgan {
            Optim::RmsProp(RmsPropConfig::new().with_momentum(0.0).init())
        } else {
            Optim::Adam(adam(&AdamConfig::new().with_beta_1(cfg.beta1 as f32)))
        }
    }

    fn step(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        match self {
            Optim::Adam(o) => o.step(lr, module, grads),
            Optim::RmsProp(o) => o.step(lr, module, grads),
        }
    }

    fn save(&self, path: &Path) -> gdl_core::Result<()> {
        match self {
            Optim::Adam(o) => save_record::<B, _>(o.to_record(), path),
            Optim::RmsProp(o) => save_record::<B, _>(o.to_record(), path),
        }
    }

    fn load(self, path: &Path, device: &B::Device) -> gdl_core::Result<Self> {
        Ok(match self {
            Optim::Adam(o) => Optim::Adam(o.load_record(load_record::<B, _>(path, device)?)),
            Optim::RmsProp(o) => Optim::RmsProp(o.load_record(load_record::<B, _>(path, device)?)),
        })
    }
}

/// A GAN in training: both networks, both optimisers, the config.
pub struct GanTrainer<'a, B: AutodiffBackend> {
    /// G.
    pub generator: Generator<B>,
    /// The moving average of G's weights, the generator samples are drawn from.
    pub ema: Generator<B::InnerBackend>,
    /// D (the critic for WGAN).
    pub discriminator: Discriminator<B>,
    g_optim: Optim<Generator<B>, B>,
    d_optim: Optim<Discriminator<B>, B>,
    /// The config.
    pub cfg: &'a GanTraining,
    /// The last generator loss (reported on the steps without a generator update).
    g_loss: Tensor<B, 1>,
    device: B::Device,
}

impl GanTraining {
    /// Checks the fields a trainer cannot run with; the error names the field.
    pub fn validate(&self) -> gdl_core::Result<()> {
        for (what, value) in [("n_critic", self.n_critic), ("batch_size", self.batch_size)] {
            if value == 0 {
                return Err(gdl_core::Error::invalid(what, "must be at least 1, not 0"));
            }
        }
        if !(self.real_label > 0.5 && self.real_label <= 1.0) {
            return Err(gdl_core::Error::invalid(
                "real_label",
                format!("must be in (0.5, 1], not {}", self.real_label),
            ));
        }
        if !(0.0..1.0).contains(&self.ema_decay) {
            return Err(gdl_core::Error::invalid(
                "ema_decay",
                format!("must be in [0, 1), not {}", self.ema_decay),
            ));
        }
        for (what, lr) in [
            ("learning_rate", self.learning_rate),
            ("discriminator_learning_rate", self.discriminator_lr()),
        ] {
            if !(lr.is_finite() && lr > 0.0) {
                return Err(gdl_core::Error::invalid(
                    what,
                    format!("must be positive, not {lr}"),
                ));
            }
        }
        Ok(())
    }

    /// Base rate `eta` at step `at` of this run, as `lr_decay` changes it.
    pub fn rate(&self, eta: f64, at: StepInfo) -> f64 {
        self.lr_decay.rate(eta, at, self.epochs)
    }

    /// The discriminator's η: its own, or the generator's.
    pub fn discriminator_lr(&self) -> f64 {
        self.discriminator_learning_rate
            .unwrap_or(self.learning_rate)
    }
}

impl<'a, B: AutodiffBackend> GanTrainer<'a, B> {
    /// New networks from `cfg` (weights from the seeded backend RNG) and fresh optimisers.
    pub fn new(cfg: &'a GanTraining, device: &B::Device) -> gdl_core::Result<Self> {
        cfg.validate()?;
        let generator = gdl_core::run::materialize(cfg.model.init_generator(device)?);
        Ok(GanTrainer {
            ema: generator.valid(),
            generator,
            discriminator: gdl_core::run::materialize(cfg.model.init_discriminator(device)?),
            g_optim: Optim::new(cfg),
            d_optim: Optim::new(cfg),
            cfg,
            g_loss: Tensor::from_floats([f32::NAN], device),
            device: device.clone(),
        })
    }

    /// The generator samples are drawn from: the weight average with its batch norms
    /// recalibrated on 50 batches of 100 noise vectors ([`Generator::recalibrated`]).
    pub fn sampling_generator(&self) -> Generator<B::InnerBackend> {
        Generator::<B>::recalibrated(
            self.ema.clone(),
            self.cfg.model.latent,
            50,
            100,
            &self.device,
        )
    }

    /// D trained on with the generator fixed: one pass over `data`'s real digits, each batch
    /// against as many images from `sample(n)` (in [−1, 1]; the sampling generator's, whose
    /// density ratio p/q rejection sampling reads from D: during training D saw only the live
    /// generator's samples, and D* = α p / (p + q) holds for the q it is trained against).
    /// D's loss, η and optimiser as in training, the next epoch's shuffle; also returns the
    /// loss's mean over the pass's last tenth.
    pub fn calibrate_discriminator(
        mut self,
        sample: impl Fn(usize) -> Tensor<B::InnerBackend, 4>,
        data: &TrainTest,
    ) -> (Self, f64) {
        let loader = loader(self.cfg, data);
        let steps_per_epoch = loader.num_batches();
        // η at the first step: the base rate, whatever the decay.
        let at = StepInfo {
            epoch: 1,
            step: 1,
            steps_per_epoch,
        };
        let mut tail = Vec::new();
        for (i, batch) in loader
            .epoch(self.cfg.epochs as u64, &self.device)
            .enumerate()
        {
            let fake = Tensor::<B, 4>::from_inner(sample(batch.images.dims()[0]));
            let (loss, _, _) = self.discriminator_loss(batch.images, fake);
            if 10 * i >= 9 * steps_per_epoch {
                tail.push(loss.clone().detach());
            }
            let grads = GradientsParams::from_grads(loss.backward(), &self.discriminator);
            self = self.apply(grads, at);
        }
        let mean = gdl_core::tensor::to_f64(Tensor::cat(tail, 0).mean())[0];
        (self, mean)
    }

    /// D's loss on `real` and `fake` images (with the real label α), and its outputs on each.
    fn discriminator_loss(
        &self,
        real: Tensor<B, 4>,
        fake: Tensor<B, 4>,
    ) -> (Tensor<B, 1>, Tensor<B, 1>, Tensor<B, 1>) {
        let real_out = self.discriminator.forward(real);
        let fake_out = self.discriminator.forward(fake);
        let loss = self.cfg.objective.smoothed_discriminator_loss(
            real_out.clone(),
            fake_out.clone(),
            self.cfg.real_label,
        );
        (loss, real_out, fake_out)
    }

    fn noise(&self, n: usize) -> Tensor<B, 2> {
        Tensor::random(
            [n, self.cfg.model.latent],
            Distribution::Normal(0.0, 1.0),
            &self.device,
        )
    }

    /// Whether step `step` (1-based) updates the generator: every step, or for WGAN the first
    /// of every `n_critic`.
    fn updates_generator(&self, step: usize) -> bool {
        self.cfg.objective != Objective::Wgan || (step - 1).is_multiple_of(self.cfg.n_critic)
    }

    /// The generator's half of a step: its loss against the current discriminator on `n`
    /// fresh samples (kept, unread, as the figure `g_loss`) and its update.
    fn generator_step(mut self, n: usize, at: StepInfo) -> Self {
        // D enters G's loss with its weights untracked: the backward carries ∂L_G/∂G(z)
        // through D without computing ∂L_G/∂θ_D, which this update would discard (half of
        // D's backward here: the weight gradient of every layer).
        let discriminator = self.discriminator.clone().no_grad();
        let out = discriminator.forward(self.generator.forward(self.noise(n)));
        let loss = self.cfg.objective.generator_loss(out);
        self.g_loss = loss.clone().detach().reshape([1]);
        let grads = GradientsParams::from_grads(loss.backward(), &self.generator);
        let lr = self.cfg.rate(self.cfg.learning_rate, at);
        self.generator = self.g_optim.step(lr, self.generator, grads);
        // θ̄ ← d θ̄ + (1 − d) θ
        let decay = warmed_decay(self.cfg.ema_decay, at.step);
        self.ema = ema_update(self.ema, &self.generator.valid(), decay);
        self
    }
}

impl<B: AutodiffBackend> TrainStep<B> for GanTrainer<'_, B> {
    /// Real digits [N, 1, 28, 28] in [−1, 1].
    type Batch = MnistBatch<B>;
    /// The discriminator's gradients.
    type Update = GradientsParams;

    /// The discriminator's half: its loss on the real batch and as many samples of G (held
    /// fixed), and its gradients.
    fn forward(
        &mut self,
        batch: MnistBatch<B>,
        _at: StepInfo,
    ) -> (StepFigures<B>, GradientsParams) {
        let n = batch.images.dims()[0];
        let fake = self.generator.forward(self.noise(n)).detach();
        let (loss, real_out, fake_out) = self.discriminator_loss(batch.images, fake);
        let objective = self.cfg.objective;
        let mean = |t: Tensor<B, 1>| {
            let t = if objective.is_logit() { sigmoid(t) } else { t };
            t.mean()
        };
        // The four figures, left on the device.
        let values = Tensor::cat(
            vec![
                loss.clone().detach(),
                mean(real_out.clone().detach()),
                mean(fake_out.clone().detach()),
                (real_out.detach().mean() - fake_out.detach().mean()),
            ],
            0,
        );
        let figures = if objective == Objective::Wgan {
            StepFigures::stacked(vec!["d_loss", "d_real", "d_fake", "wasserstein"], values)
        } else {
            StepFigures::stacked(vec!["d_loss", "d_real", "d_fake"], values.narrow(0, 0, 3))
        };
        let grads = GradientsParams::from_grads(loss.backward(), &self.discriminator);
        (figures, grads)
    }

    /// The discriminator's update, then (WGAN) the clip of its weights, and one more power
    /// iteration of its spectral norms.
    fn apply(mut self, grads: GradientsParams, at: StepInfo) -> Self {
        let lr = self.cfg.rate(self.cfg.discriminator_lr(), at);
        let d = self.d_optim.step(lr, self.discriminator, grads);
        let d = if self.cfg.objective == Objective::Wgan {
            d.clip(self.cfg.clip)
        } else {
            d
        };
        self.discriminator = if self.cfg.model.spectral_norm {
            d.next_spectral_state()
        } else {
            d
        };
        self
    }

    /// D's half (forward, update), then G's half (forward, update) when this step updates
    /// the generator; the figures end with `g_loss` (the last generator step's).
    fn step(self, batch: MnistBatch<B>, at: StepInfo) -> gdl_core::Result<(Self, StepFigures<B>)> {
        let n = batch.images.dims()[0];
        let mut trainer = self;
        let (figures, grads) = trainer.forward(batch, at);
        trainer = trainer.apply(grads, at);
        if trainer.updates_generator(at.step) {
            trainer = trainer.generator_step(n, at);
        }
        let figures = figures.with("g_loss", trainer.g_loss.clone());
        Ok((trainer, figures))
    }

    fn save(&self, dir: &Path) -> gdl_core::Result<()> {
        save_module(&self.generator, &dir.join("generator.mpk"))?;
        save_module(&self.ema, &dir.join("generator_ema.mpk"))?;
        save_module(&self.discriminator, &dir.join("discriminator.mpk"))?;
        self.g_optim.save(&dir.join("generator_optim.mpk"))?;
        self.d_optim.save(&dir.join("discriminator_optim.mpk"))?;
        let g_loss = gdl_core::tensor::to_f64(self.g_loss.clone())[0];
        save_record::<B, _>(g_loss, &dir.join("g_loss.mpk"))
    }

    fn load(mut self, dir: &Path, device: &B::Device) -> gdl_core::Result<Self> {
        self.generator = load_module(self.generator, &dir.join("generator.mpk"), device)?;
        self.ema = load_module(self.ema, &dir.join("generator_ema.mpk"), device)?;
        self.discriminator =
            load_module(self.discriminator, &dir.join("discriminator.mpk"), device)?;
        self.g_optim = self
            .g_optim
            .load(&dir.join("generator_optim.mpk"), device)?;
        self.d_optim = self
            .d_optim
            .load(&dir.join("discriminator_optim.mpk"), device)?;
        let g_loss = load_record::<B, f64>(&dir.join("g_loss.mpk"), device)?;
        self.g_loss = Tensor::from_floats([g_loss as f32], device);
        Ok(self)
    }
}

/// Trains new networks from `cfg` on `data.train` through the driver, recording into `run`
/// when given (resuming it when it was opened so); `on_epoch` sees each report and the trainer.
/// Returns the trainer (the live networks and the generator's average) and the history.
pub fn train_gan<'a, B: AutodiffBackend>(
    cfg: &'a GanTraining,
    data: &TrainTest,
    run: Option<&RunDir>,
    device: &B::Device,
    on_epoch: impl FnMut(&EpochReport, &GanTrainer<'_, B>) -> gdl_core::Result<()>,
) -> gdl_core::Result<(GanTrainer<'a, B>, Vec<EpochReport>)> {
    let trainer = GanTrainer::new(cfg, device)?;
    let loader = loader(cfg, data);
    let opts = FitOptions {
        epochs: cfg.epochs,
        seed: cfg.seed,
        run,
        progress: true,
    };
    fit(trainer, &loader, &opts, device, on_epoch)
}

/// The training digits in `cfg`'s batches, shuffled by its seed, in its pixel range.
fn loader<'a>(cfg: &GanTraining, data: &'a TrainTest) -> MnistLoader<'a> {
    MnistLoader::new(&data.train, cfg.batch_size)
        .shuffle(cfg.seed)
        .transform(cfg.transform)
}
