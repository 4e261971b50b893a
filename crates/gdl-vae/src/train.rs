//! Training an autoencoder: ADAM on the negative ELBO, with a β weight on the KL term and a
//! linear KL warm-up from 0 to β (the deterministic autoencoder has no KL term: its loss is
//! the reconstruction term alone).

use crate::model::Autoencoder;
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use gdl_core::run::{check_finite, Progress};
use gdl_core::tensor::to_f64;
use gdl_core::Result;
use gdl_mnist::{MnistData, MnistLoader, TrainTest, Transform};

/// How the model is trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AutoencoderTraining {
    pub epochs: usize,
    pub batch_size: usize,
    /// ADAM's η.
    pub learning_rate: f64,
    /// β, the weight of the KL term (1 gives the ELBO).
    pub beta: f64,
    /// Epochs over which the KL weight rises linearly from 0 to β (0: no warm-up).
    pub warmup_epochs: usize,
    /// Seed of the shuffles.
    pub seed: u64,
    /// How image bytes become pixels: grey levels in [0, 1] or binarised (dynamic
    /// binarisation draws afresh each training epoch; the test set is drawn once, at epoch 0).
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

/// One epoch's figures, in nats per image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Training −ELBO terms, averaged over the epoch (the KL unweighted).
    pub train_reconstruction: f64,
    pub train_kl: f64,
    /// Test −ELBO terms after the epoch.
    pub test_reconstruction: f64,
    pub test_kl: f64,
    pub seconds: f64,
}

impl EpochReport {
    /// The test negative ELBO.
    pub fn test_negative_elbo(&self) -> f64 {
        self.test_reconstruction + self.test_kl
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

/// Trains epochs `first_epoch..=cfg.epochs` (1-based; > 1 when resuming) on `data.train`,
/// evaluating on `data.test`, with optimiser
/// `optim`; `on_epoch` sees each report, the model and the optimiser (to log and checkpoint).
pub fn train_autoencoder<B, O>(
    mut model: Autoencoder<B>,
    optim: &mut O,
    data: &TrainTest,
    cfg: &AutoencoderTraining,
    first_epoch: usize,
    device: &B::Device,
    mut on_epoch: impl FnMut(&EpochReport, &Autoencoder<B>, &O) -> Result<()>,
) -> Result<Autoencoder<B>>
where
    B: AutodiffBackend,
    O: Optimizer<Autoencoder<B>, B>,
{
    let (train, test) = (&data.train, &data.test);
    let loader = MnistLoader::new(train, cfg.batch_size)
        .shuffle(cfg.seed)
        .transform(cfg.transform);
    let steps_per_epoch = loader.num_batches();
    for epoch in first_epoch.max(1)..=cfg.epochs {
        let start = std::time::Instant::now();
        let progress = Progress::new(
            steps_per_epoch as u64,
            &format!("epoch {epoch}/{}", cfg.epochs),
        );
        let (mut rec, mut kl) = (0.0, 0.0);
        for (i, batch) in loader.epoch::<B>(epoch as u64, device).enumerate() {
            let step = (epoch - 1) * steps_per_epoch + i;
            // 1. encode, sample h = μ + σ ⊙ ε (h = μ when deterministic), decode;
            // 2. −ELBO = E_q[−log p(x|h)] + w · KL(q(h|x) || p(h)), w warming up to β
            let x = batch.flat(); // [N, 784] in [0, 1]
            let elbo = model.negative_elbo(x);
            let sums = to_f64(elbo.sums());
            let (r, k) = (sums[0] / batch.len() as f64, sums[1] / batch.len() as f64);
            check_finite("negative ELBO", r + k, step + 1)?;
            rec += r;
            kl += k;
            let loss = elbo.mean(cfg.kl_weight(step, steps_per_epoch));
            // 3. backward and ADAM step
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(cfg.learning_rate, model, grads);
            progress.inc(1);
            progress.message(format!("−ELBO {:.1}", r + k));
        }
        progress.finish();
        let (test_reconstruction, test_kl) =
            evaluate_elbo(&model.valid(), test, cfg.transform, device);
        let report = EpochReport {
            epoch,
            train_reconstruction: rec / steps_per_epoch as f64,
            train_kl: kl / steps_per_epoch as f64,
            test_reconstruction,
            test_kl,
            seconds: start.elapsed().as_secs_f64(),
        };
        on_epoch(&report, &model, optim)?;
    }
    Ok(model)
}

/// ADAM with Burn's defaults (β₁ 0.9, β₂ 0.999, ε 1e-5) for the autoencoder.
pub fn adam<B: AutodiffBackend>() -> impl Optimizer<Autoencoder<B>, B> {
    AdamConfig::new().init::<B, Autoencoder<B>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kl_weight_rises_linearly_to_beta() {
        let mut cfg = AutoencoderTraining {
            epochs: 5,
            batch_size: 10,
            learning_rate: 1e-3,
            beta: 2.0,
            warmup_epochs: 2,
            seed: 0,
            transform: Transform::unit(),
        };
        // 10 steps an epoch, 20 warm-up steps: w = β · (step + 1) / 20, then β.
        assert_eq!(cfg.kl_weight(0, 10), 0.1);
        assert_eq!(cfg.kl_weight(9, 10), 1.0);
        assert_eq!(cfg.kl_weight(19, 10), 2.0);
        assert_eq!(cfg.kl_weight(35, 10), 2.0);
        cfg.warmup_epochs = 0;
        assert_eq!(cfg.kl_weight(0, 10), 2.0);
    }
}
