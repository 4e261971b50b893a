//! Training an RBM on MNIST by CD-k or PCD, with momentum and weight decay, and the figures
//! that tell how it goes: the reconstruction error of one Gibbs step, and the mean free
//! energies of training and test digits (a growing gap means over-fitting; Hinton's guide §6).

use crate::cd::{ContrastiveDivergence, UpdateRule};
use crate::rbm::Rbm;
use burn::tensor::{backend::Backend, Tensor};
use gdl_core::run::{check_finite, Progress};
use gdl_core::tensor::to_f64;
use gdl_core::Result;
use gdl_mnist::{MnistData, MnistLoader, TrainTest, Transform};

/// How the RBM is trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RbmTraining {
    pub epochs: usize,
    pub batch_size: usize,
    /// k, Gibbs steps of the negative phase per update.
    pub k: usize,
    /// PCD (true) or CD-k (false).
    pub persistent: bool,
    /// η, μ and λ (μ applies after `momentum_switch` epochs; before, `initial_momentum`).
    pub rule: UpdateRule,
    pub initial_momentum: f64,
    pub momentum_switch: usize,
    /// Seed of the shuffles.
    pub seed: u64,
    /// How bytes become visible units (binarised for the binary RBM).
    pub transform: Transform,
}

/// One epoch's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RbmEpoch {
    /// 1-based.
    pub epoch: usize,
    /// Mean squared error per digit between x and E[x | h ~ p(h|x)], training batches.
    pub reconstruction_error: f64,
    /// Mean F(x) over training and test digits.
    pub train_free_energy: f64,
    pub test_free_energy: f64,
    pub seconds: f64,
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

/// Trains epochs `first_epoch..=cfg.epochs` (1-based) on `data.train`, each batch of digits
/// mapped to the RBM's visible layer by `input` (the identity for an RBM on pixels; the lower
/// RBM's hidden units for the upper RBM of a DBN); `on_epoch` sees each report and the model.
pub fn train_rbm<B: Backend>(
    mut rbm: Rbm<B>,
    data: &TrainTest,
    cfg: &RbmTraining,
    first_epoch: usize,
    device: &B::Device,
    input: impl Fn(Tensor<B, 2>) -> Tensor<B, 2>,
    mut on_epoch: impl FnMut(&RbmEpoch, &Rbm<B>) -> Result<()>,
) -> Result<Rbm<B>> {
    let loader = MnistLoader::new(&data.train, cfg.batch_size)
        .shuffle(cfg.seed)
        .transform(cfg.transform);
    let mut cd = ContrastiveDivergence::new(cfg.k, cfg.persistent);
    // The free-energy gap is measured on equally many training and test digits.
    let probe = data
        .train
        .select(&(0..data.test.len().min(data.train.len())).collect::<Vec<_>>())
        .map_err(|e| gdl_core::Error::invalid("training data", e.to_string()))?;
    for epoch in first_epoch.max(1)..=cfg.epochs {
        let start = std::time::Instant::now();
        let rule = UpdateRule {
            momentum: if epoch <= cfg.momentum_switch {
                cfg.initial_momentum
            } else {
                cfg.rule.momentum
            },
            ..cfg.rule
        };
        let progress = Progress::new(
            loader.num_batches() as u64,
            &format!("epoch {epoch}/{}", cfg.epochs),
        );
        let mut error = 0.0;
        for (i, batch) in loader.epoch::<B>(epoch as u64, device).enumerate() {
            let x = input(batch.flat()); // [N, n_v]
            rbm = cd.update(rbm, x.clone(), &rule);
            // monitor: ‖x − E[x|h]‖² with h ~ p(h|x)
            let recon = rbm.visible_mean(rbm.sample_h(x.clone()));
            let e = to_f64((x - recon).powi_scalar(2).sum())[0] / batch.len() as f64;
            check_finite(
                "reconstruction error",
                e,
                (epoch - 1) * loader.num_batches() + i + 1,
            )?;
            error += e;
            progress.inc(1);
            progress.message(format!("recon {e:.1}"));
        }
        progress.finish();
        let report = RbmEpoch {
            epoch,
            reconstruction_error: error / loader.num_batches() as f64,
            train_free_energy: mean_free_energy(&rbm, &probe, cfg.transform, &input, device),
            test_free_energy: mean_free_energy(&rbm, &data.test, cfg.transform, &input, device),
            seconds: start.elapsed().as_secs_f64(),
        };
        on_epoch(&report, &rbm)?;
    }
    Ok(rbm)
}
