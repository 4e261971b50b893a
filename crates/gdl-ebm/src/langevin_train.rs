//! Training the Langevin-sampled EBM on MNIST: each step draws x⁻ by SGLD from the replay
//! buffer and takes one ADAM step on the contrastive loss (see [`crate::langevin`]).

use crate::langevin::{contrastive_loss, EnergyNet, ReplayBuffer, Sgld, SIDE};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ops::PadMode, Distribution, Tensor};
use gdl_core::run::{check_finite, Progress};
use gdl_core::tensor::to_f64;
use gdl_core::Result;
use gdl_mnist::{MnistLoader, TrainTest, Transform};
use rand::rngs::StdRng;

/// How the EBM is trained (defaults of Du and Mordatch / Lippe's tutorial).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LangevinTraining {
    pub epochs: usize,
    pub batch_size: usize,
    /// ADAM's η (β₁ = 0, β₂ = 0.999).
    pub learning_rate: f64,
    /// α, the weight of the energy regulariser.
    pub alpha: f64,
    pub sgld: Sgld,
    pub buffer_capacity: usize,
    /// Fraction of chains started from fresh noise.
    pub fresh: f64,
    /// σ of the noise added to the data x⁺ (keeps the data off the pixel grid).
    pub data_noise: f64,
    pub seed: u64,
}

impl Default for LangevinTraining {
    fn default() -> Self {
        LangevinTraining {
            epochs: 5,
            batch_size: 64,
            learning_rate: 1e-4,
            alpha: 0.1,
            sgld: Sgld::new(),
            buffer_capacity: 8192,
            fresh: 0.05,
            data_noise: 0.005,
            seed: 0,
        }
    }
}

/// ADAM with β₁ = 0 (no momentum: the loss moves with the sampler), β₂ = 0.999.
pub fn ebm_adam<B: AutodiffBackend>() -> impl Optimizer<EnergyNet<B>, B> {
    AdamConfig::new().with_beta_1(0.0).init::<B, EnergyNet<B>>()
}

/// MNIST digits x [N, 784] in [−1, 1] as 32 x 32 images, padded with −1 (black).
pub fn pad_to_32<B: burn::tensor::backend::Backend>(x: Tensor<B, 2>) -> Tensor<B, 4> {
    let n = x.dims()[0];
    let pad = (SIDE - 28) / 2;
    x.reshape([n, 1, 28, 28])
        .pad((pad, pad, pad, pad), PadMode::Constant(-1.0))
}

/// The figures of one step or an epoch's mean.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LangevinFigures {
    pub loss: f64,
    /// Mean E(x⁺) and E(x⁻).
    pub energy_data: f64,
    pub energy_samples: f64,
}

/// One training step on data x⁺ [N, 1, 32, 32]: SGLD from the buffer, the loss, ADAM.
pub fn train_step<B: AutodiffBackend, O: Optimizer<EnergyNet<B>, B>>(
    net: EnergyNet<B>,
    optim: &mut O,
    x_pos: Tensor<B::InnerBackend, 4>,
    buffer: &mut ReplayBuffer,
    rng: &mut StdRng,
    cfg: &LangevinTraining,
) -> (EnergyNet<B>, LangevinFigures) {
    let n = x_pos.dims()[0];
    let device = x_pos.device();
    // 1. x⁺ with a little noise; x⁻ by SGLD from the replay buffer, which keeps the result
    let x_pos = (x_pos.clone() + x_pos.random_like(Distribution::Normal(0.0, cfg.data_noise)))
        .clamp(-1.0, 1.0);
    let x_neg = cfg
        .sgld
        .sample::<B>(&net, buffer.starts::<B::InnerBackend>(n, rng, &device));
    buffer.push(x_neg.clone());
    // 2. L = mean E(x⁺) − mean E(x⁻) + α mean(E(x⁺)² + E(x⁻)²), both halves in one pass
    let energies = net.energy(Tensor::from_inner(Tensor::cat(vec![x_pos, x_neg], 0)));
    let (e_pos, e_neg) = (energies.clone().narrow(0, 0, n), energies.narrow(0, n, n));
    let loss = contrastive_loss(e_pos.clone(), e_neg.clone(), cfg.alpha);
    let read = to_f64(Tensor::cat(
        vec![
            loss.clone().inner(),
            e_pos.mean().inner(),
            e_neg.mean().inner(),
        ],
        0,
    ));
    // 3. backward and ADAM
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    let net = optim.step(cfg.learning_rate, net, grads);
    let figures = LangevinFigures {
        loss: read[0],
        energy_data: read[1],
        energy_samples: read[2],
    };
    (net, figures)
}

/// Trains on `data.train` (grey levels scaled to [−1, 1] and padded to 32 x 32); `on_epoch`
/// sees the epoch, its mean figures, the network and the buffer (to log and draw samples).
pub fn train_ebm<B: AutodiffBackend, O: Optimizer<EnergyNet<B>, B>>(
    mut net: EnergyNet<B>,
    optim: &mut O,
    data: &TrainTest,
    cfg: &LangevinTraining,
    device: &B::Device,
    mut on_epoch: impl FnMut(usize, &LangevinFigures, &EnergyNet<B>, &ReplayBuffer) -> Result<()>,
) -> Result<EnergyNet<B>> {
    let loader = MnistLoader::new(&data.train, cfg.batch_size)
        .shuffle(cfg.seed)
        .transform(Transform::symmetric());
    let mut buffer = ReplayBuffer::new(cfg.buffer_capacity, cfg.fresh);
    let mut rng = gdl_core::seed::host_rng(gdl_core::seed::derive_seed(cfg.seed, 17));
    let steps = loader.num_batches();
    for epoch in 1..=cfg.epochs {
        let progress = Progress::new(steps as u64, &format!("epoch {epoch}/{}", cfg.epochs));
        let mut mean = LangevinFigures::default();
        for (i, batch) in loader
            .epoch::<B::InnerBackend>(epoch as u64, device)
            .enumerate()
        {
            let (next, f) = train_step(
                net,
                optim,
                pad_to_32(batch.flat()),
                &mut buffer,
                &mut rng,
                cfg,
            );
            net = next;
            check_finite("contrastive loss", f.loss, (epoch - 1) * steps + i + 1)?;
            mean.loss += f.loss / steps as f64;
            mean.energy_data += f.energy_data / steps as f64;
            mean.energy_samples += f.energy_samples / steps as f64;
            progress.inc(1);
            progress.message(format!(
                "E(data) {:.3} E(samples) {:.3}",
                f.energy_data, f.energy_samples
            ));
        }
        progress.finish();
        on_epoch(epoch, &mean, &net, &buffer)?;
    }
    Ok(net)
}
