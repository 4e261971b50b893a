//! Training the Langevin-sampled EBM on MNIST: each step draws x⁻ by SGLD from the replay
//! buffer and takes one ADAM step on the contrastive loss (see [`crate::langevin`]).

use crate::langevin::{contrastive_loss, EnergyNet, EnergyNetConfig, ReplayBuffer, Sgld, SIDE};
use burn::config::Config;
use burn::module::Module;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ops::PadMode, Distribution, Tensor};
use gdl_core::adam::{adam, Adam};
use gdl_core::batches::Mapped;
use gdl_core::run::{load_record, load_trained, save_record, save_trained};
use gdl_core::run_dir::RunDir;
use gdl_core::seed::derive_seed;
use gdl_core::train::{fit, Batches, EpochReport, FitOptions, StepFigures, StepInfo, TrainStep};

use gdl_mnist::{MnistBatch, MnistLoader, TrainTest, Transform};
use rand::rngs::StdRng;
use std::path::Path;

/// How the EBM is trained (defaults of Du and Mordatch / Lippe's tutorial; saved as
/// `config.json`).
#[derive(Config, Debug)]
pub struct LangevinTraining {
    /// The energy network.
    #[config(default = "EnergyNetConfig::new()")]
    pub model: EnergyNetConfig,
    /// Epochs.
    #[config(default = 5)]
    pub epochs: usize,
    /// Mini-batch size.
    #[config(default = 64)]
    pub batch_size: usize,
    /// ADAM's η (β₁ = 0, β₂ = 0.999).
    #[config(default = 1e-4)]
    pub learning_rate: f64,
    /// α, the weight of the energy regulariser.
    #[config(default = 0.1)]
    pub alpha: f64,
    /// The Langevin sampler of x⁻.
    #[config(default = "Sgld::new()")]
    pub sgld: Sgld,
    /// Samples the replay buffer keeps.
    #[config(default = 8192)]
    pub buffer_capacity: usize,
    /// Fraction of chains started from fresh noise.
    #[config(default = 0.05)]
    pub fresh: f64,
    /// σ of the noise added to the data x⁺ (keeps the data off the pixel grid).
    #[config(default = 0.005)]
    pub data_noise: f64,
    /// Seed of the shuffles, the chain starts and each epoch's backend RNG.
    #[config(default = 0)]
    pub seed: u64,
}

impl Default for LangevinTraining {
    fn default() -> Self {
        LangevinTraining::new()
    }
}

/// MNIST digits x [N, 784] in [−1, 1] as 32 x 32 images, padded with −1 (black).
pub fn pad_to_32<B: burn::tensor::backend::Backend>(x: Tensor<B, 2>) -> Tensor<B, 4> {
    let n = x.dims()[0];
    let pad = (SIDE - 28) / 2;
    x.reshape([n, 1, 28, 28])
        .pad((pad, pad, pad, pad), PadMode::Constant(-1.0))
}

/// The Langevin EBM in training: the network, ADAM's state, the replay buffer and the host
/// RNG of the chain starts (re-seeded from (seed, epoch) at each epoch's first step, so a
/// resumed run draws what an uninterrupted one does).
pub struct LangevinTrainer<'a, B: AutodiffBackend> {
    /// The energy network.
    pub net: EnergyNet<B>,
    /// ADAM's state.
    pub optim: OptimizerAdaptor<Adam, EnergyNet<B>, B>,
    /// Past SGLD samples.
    pub buffer: ReplayBuffer,
    /// The config.
    pub cfg: &'a LangevinTraining,
    rng: StdRng,
}

impl<'a, B: AutodiffBackend> LangevinTrainer<'a, B> {
    /// Trains `net` by `cfg` with a fresh optimiser and an empty buffer.
    pub fn new(net: EnergyNet<B>, cfg: &'a LangevinTraining) -> Self {
        LangevinTrainer {
            net: gdl_core::run::materialize(net),
            optim: adam(&ebm_adam_config()),
            buffer: ReplayBuffer::new(cfg.buffer_capacity, cfg.fresh),
            cfg,
            rng: gdl_core::seed::host_rng(cfg.seed),
        }
    }
}

/// ADAM with β₁ = 0 (no momentum: the loss moves with the sampler), β₂ = 0.999.
pub fn ebm_adam_config() -> AdamConfig {
    AdamConfig::new().with_beta_1(0.0)
}

impl<B: AutodiffBackend> TrainStep<B> for LangevinTrainer<'_, B> {
    /// Data x⁺ [N, 1, 32, 32] in [−1, 1].
    type Batch = Tensor<B::InnerBackend, 4>;
    type Update = GradientsParams;

    /// Figures `loss`, `energy_data` (mean E(x⁺)) and `energy_samples` (mean E(x⁻)).
    fn forward(&mut self, x_pos: Self::Batch, at: StepInfo) -> (StepFigures<B>, GradientsParams) {
        if (at.step - 1).is_multiple_of(at.steps_per_epoch.max(1)) {
            self.rng = gdl_core::seed::host_rng(derive_seed(self.cfg.seed, 17 + at.epoch as u64));
        }
        let (cfg, n) = (self.cfg, x_pos.dims()[0]);
        let device = x_pos.device();
        // 1. x⁺ with a little noise; x⁻ by SGLD from the replay buffer, which keeps the result
        let x_pos = (x_pos.clone()
            + gdl_core::random::random_like(&x_pos, Distribution::Normal(0.0, cfg.data_noise)))
        .clamp(-1.0, 1.0);
        let starts = self
            .buffer
            .starts::<B::InnerBackend>(n, &mut self.rng, &device);
        let x_neg = cfg.sgld.sample::<B>(&self.net, starts);
        self.buffer.push(x_neg.clone());
        // 2. L = mean E(x⁺) − mean E(x⁻) + α mean(E(x⁺)² + E(x⁻)²), both halves in one pass
        let energies = self
            .net
            .energy(Tensor::from_inner(Tensor::cat(vec![x_pos, x_neg], 0)));
        let (e_pos, e_neg) = (energies.clone().narrow(0, 0, n), energies.narrow(0, n, n));
        let loss = contrastive_loss(e_pos.clone(), e_neg.clone(), cfg.alpha);
        let figures = StepFigures::on_device([
            ("loss", loss.clone().detach()),
            ("energy_data", e_pos.mean().detach()),
            ("energy_samples", e_neg.mean().detach()),
        ]);
        // 3. backward
        let grads = GradientsParams::from_grads(loss.backward(), &self.net);
        (figures, grads)
    }

    /// 4. the ADAM step.
    fn apply(mut self, grads: GradientsParams, _at: StepInfo) -> Self {
        self.net = self.optim.step(self.cfg.learning_rate, self.net, grads);
        self
    }

    fn save(&self, dir: &Path) -> gdl_core::Result<()> {
        save_trained(dir, &self.net, &self.optim)?;
        let device = self.net.devices().into_iter().next().unwrap_or_default();
        let buffer = self.buffer.newest::<B>(self.buffer.len(), &device);
        save_record::<B, _>(buffer, &dir.join("buffer.mpk"))
    }

    fn load(mut self, dir: &Path, device: &B::Device) -> gdl_core::Result<Self> {
        (self.net, self.optim) = load_trained(dir, self.net, self.optim, device)?;
        let buffer: Tensor<B, 4> = load_record::<B, _>(&dir.join("buffer.mpk"), device)?;
        self.buffer = ReplayBuffer::new(self.cfg.buffer_capacity, self.cfg.fresh);
        // `newest` lists the front first and `push` puts each image in front in turn: pushing
        // the saved images in reverse order rebuilds the same queue.
        self.buffer.push(buffer.flip([0]));
        Ok(self)
    }
}

/// The MNIST digits as x⁺: grey levels scaled to [−1, 1], padded to 32 x 32.
pub fn langevin_batches<'a, B: AutodiffBackend>(
    data: &'a TrainTest,
    cfg: &LangevinTraining,
) -> impl Batches<B, Batch = Tensor<B::InnerBackend, 4>> + 'a {
    let loader = MnistLoader::new(&data.train, cfg.batch_size)
        .shuffle(cfg.seed)
        .transform(Transform::symmetric());
    Mapped::new(loader, |b: MnistBatch<B>| pad_to_32(b.flat().inner()))
}

/// Trains `net` on `data.train` through the driver, recording into `run` when given;
/// `on_epoch` sees each report and the trainer (its buffer holds the latest samples).
pub fn train_ebm<B: AutodiffBackend>(
    net: EnergyNet<B>,
    data: &TrainTest,
    cfg: &LangevinTraining,
    run: Option<&RunDir>,
    device: &B::Device,
    on_epoch: impl FnMut(&EpochReport, &LangevinTrainer<'_, B>) -> gdl_core::Result<()>,
) -> gdl_core::Result<(EnergyNet<B>, Vec<EpochReport>)> {
    let trainer = LangevinTrainer::new(net, cfg);
    let opts = FitOptions {
        epochs: cfg.epochs,
        seed: cfg.seed,
        run,
        progress: true,
    };
    let (trainer, history) = fit(
        trainer,
        &langevin_batches::<B>(data, cfg),
        &opts,
        device,
        on_epoch,
    )?;
    Ok((trainer.net, history))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::AutodiffModule;
    use gdl_core::tensor::to_f64;
    use gdl_core::testing::{TestAutodiffBackend as AD, TestBackend as B};

    /// Langevin training on one pattern (a bright square on black, the data noise on top):
    /// the contrastive loss pushes the data's energy below the samples', and SGLD chains from
    /// fresh noise under the trained network move towards the pattern.
    #[test]
    fn langevin_training_lowers_the_energy_of_the_data_and_draws_chains_to_it() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        gdl_core::seed::seed_all::<AD>(&d, 11);
        let cfg = LangevinTraining::new()
            .with_model(EnergyNetConfig::new().with_channels(4).with_d_hidden(16))
            .with_batch_size(16)
            .with_learning_rate(1e-3)
            .with_sgld(Sgld::new().with_steps(10))
            .with_buffer_capacity(256);
        let square = Tensor::<B, 4>::full([1, 1, SIDE, SIDE], -1.0, &d).slice_assign(
            [0..1, 0..1, 8..24, 8..24],
            Tensor::full([1, 1, 16, 16], 1.0, &d),
        );
        let batch = || square.clone().repeat_dim(0, 16);
        let noise =
            || Tensor::<B, 4>::random([16, 1, SIDE, SIDE], Distribution::Uniform(-1.0, 1.0), &d);
        let energy =
            |t: &LangevinTrainer<AD>, x: Tensor<B, 4>| to_f64(t.net.valid().energy(x).mean())[0];
        let distance = |x: Tensor<B, 4>| to_f64((x - batch()).powi_scalar(2).mean())[0];
        let mut trainer = LangevinTrainer::<AD>::new(cfg.model.init(&d), &cfg);
        // SGLD's default 60 steps from fresh noise, before and after training.
        let sampled_before = distance(Sgld::new().sample::<AD>(&trainer.net, noise()));
        let mut figures = Vec::new();
        for step in 1..=40 {
            let at = StepInfo {
                epoch: 1,
                step,
                steps_per_epoch: 40,
            };
            let (t, f) = trainer.step(batch(), at).unwrap();
            trainer = t;
            let f = f.read();
            figures.push(f.get("energy_data").unwrap() - f.get("energy_samples").unwrap());
        }
        // E(x⁺) − E(x⁻) from the figures: from about 0 at the start to clearly negative.
        let (first, last) = (figures[0], figures[figures.len() - 1]);
        assert!(
            first.abs() < 0.5 && last < -0.5,
            "E⁺ − E⁻: {first} → {last}"
        );
        let (e_data, e_noise) = (energy(&trainer, batch()), energy(&trainer, noise()));
        assert!(
            e_data < e_noise - 0.5,
            "E(data) {e_data}, E(noise) {e_noise}"
        );
        let sampled_after = distance(Sgld::new().sample::<AD>(&trainer.net, noise()));
        println!(
            "E⁺ − E⁻ {first:.3} → {last:.3}; E(data) {e_data:.3}, E(noise) {e_noise:.3}; \
             distance of samples {sampled_before:.3} → {sampled_after:.3}"
        );
        assert!(
            sampled_after < 0.7 * sampled_before,
            "mean squared distance of SGLD samples to the data: {sampled_before} → {sampled_after}"
        );
    }

    #[test]
    fn a_checkpoint_restores_the_replay_buffer_in_order() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        gdl_core::seed::seed_all::<AD>(&d, 7);
        let cfg = LangevinTraining::new()
            .with_model(EnergyNetConfig::new().with_channels(4).with_d_hidden(8))
            .with_buffer_capacity(10);
        let mut trainer = LangevinTrainer::<AD>::new(cfg.model.init(&d), &cfg);
        for n in [3, 2] {
            let x =
                Tensor::<B, 4>::random([n, 1, SIDE, SIDE], Distribution::Uniform(-1.0, 1.0), &d);
            trainer.buffer.push(x);
        }
        let dir = tempfile::tempdir().unwrap();
        trainer.save(dir.path()).unwrap();
        let restored = LangevinTrainer::<AD>::new(cfg.model.init(&d), &cfg)
            .load(dir.path(), &d)
            .unwrap();
        assert_eq!(restored.buffer.len(), 5);
        let newest = |t: &LangevinTrainer<AD>| to_f64(t.buffer.newest::<B>(5, &d));
        assert_eq!(newest(&restored), newest(&trainer));
    }
}
