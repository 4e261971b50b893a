//! Training the VAE: ADAM on the negative ELBO (grey-level Bernoulli likelihood), with a β
//! weight on the KL term and a linear KL warm-up from 0 to β.

use crate::loss::negative_elbo_bernoulli;
use crate::model::Vae;
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use gdl_core::run::{check_finite, Progress};
use gdl_core::tensor::to_f64;
use gdl_core::Result;
use gdl_mnist::{MnistData, MnistLoader, TrainTest};

/// How the VAE is trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VaeTraining {
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
}

impl VaeTraining {
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
pub struct VaeEpoch {
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

impl VaeEpoch {
    /// The test negative ELBO.
    pub fn test_negative_elbo(&self) -> f64 {
        self.test_reconstruction + self.test_kl
    }
}

/// The mean −ELBO terms (reconstruction, KL) of `vae` on `data`, one h sample per image.
pub fn evaluate_elbo<B: Backend>(vae: &Vae<B>, data: &MnistData, device: &B::Device) -> (f64, f64) {
    let (mut rec, mut kl) = (0.0, 0.0);
    for batch in MnistLoader::new(data, 500).epoch::<B>(0, device) {
        let x = batch.flat();
        let out = vae.forward(x.clone());
        let elbo = negative_elbo_bernoulli(out.logits, x, out.mu, out.log_var);
        rec += to_f64(elbo.reconstruction.sum())[0];
        kl += to_f64(elbo.kl.sum())[0];
    }
    let n = data.len().max(1) as f64;
    (rec / n, kl / n)
}

/// Trains epochs `first_epoch..=cfg.epochs` (1-based; > 1 when resuming) on `data.train`,
/// evaluating on `data.test`, with optimiser
/// `optim`; `on_epoch` sees each report, the model and the optimiser (to log and checkpoint).
pub fn train_vae<B, O>(
    mut vae: Vae<B>,
    optim: &mut O,
    data: &TrainTest,
    cfg: &VaeTraining,
    first_epoch: usize,
    device: &B::Device,
    mut on_epoch: impl FnMut(&VaeEpoch, &Vae<B>, &O) -> Result<()>,
) -> Result<Vae<B>>
where
    B: AutodiffBackend,
    O: Optimizer<Vae<B>, B>,
{
    let (train, test) = (&data.train, &data.test);
    let loader = MnistLoader::new(train, cfg.batch_size).shuffle(cfg.seed);
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
            let x = batch.flat(); // [N, 784] grey levels in [0, 1]
                                  // 1. encode, sample h = μ + σ ⊙ ε, decode
            let out = vae.forward(x.clone());
            // 2. −ELBO = E_q[−log p(x|h)] + w · KL(q(h|x) || p(h)), w warming up to β
            let elbo = negative_elbo_bernoulli(out.logits, x, out.mu, out.log_var);
            let (r, k) = (
                to_f64(elbo.reconstruction.clone().mean())[0],
                to_f64(elbo.kl.clone().mean())[0],
            );
            check_finite("negative ELBO", r + k, step + 1)?;
            rec += r;
            kl += k;
            let loss = elbo.mean(cfg.kl_weight(step, steps_per_epoch));
            // 3. backward and ADAM step
            let grads = GradientsParams::from_grads(loss.backward(), &vae);
            vae = optim.step(cfg.learning_rate, vae, grads);
            progress.inc(1);
            progress.message(format!("−ELBO {:.1}", r + k));
        }
        progress.finish();
        let (test_reconstruction, test_kl) = evaluate_elbo(&vae.valid(), test, device);
        let report = VaeEpoch {
            epoch,
            train_reconstruction: rec / steps_per_epoch as f64,
            train_kl: kl / steps_per_epoch as f64,
            test_reconstruction,
            test_kl,
            seconds: start.elapsed().as_secs_f64(),
        };
        on_epoch(&report, &vae, optim)?;
    }
    Ok(vae)
}

/// ADAM with Burn's defaults (β₁ 0.9, β₂ 0.999, ε 1e-5) for the VAE.
pub fn adam<B: AutodiffBackend>() -> impl Optimizer<Vae<B>, B> {
    AdamConfig::new().init::<B, Vae<B>>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kl_weight_rises_linearly_to_beta() {
        let mut cfg = VaeTraining {
            epochs: 5,
            batch_size: 10,
            learning_rate: 1e-3,
            beta: 2.0,
            warmup_epochs: 2,
            seed: 0,
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
