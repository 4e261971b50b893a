//! Mini-batch training of the explicit network with the gradient-descent family of
//! `gdl-core` (GD, momentum, ADAGRAD, RMSprop, ADAM; a batch size of n is plain GD). The step
//! is [`ExplicitTrainer`]'s [`TrainStep`]; the epochs are `gdl_core::train::fit`'s.

use crate::cost::{Cost, Penalty};
use crate::network::{Gradients, Network};
use burn::tensor::{backend::Backend, Tensor};
use gdl_core::batches::TensorBatches;
use gdl_core::optim::{UpdateRule, UpdateRuleConfig};
use gdl_core::train::{fit, FitOptions, StepFigures, StepInfo, TrainStep};
use gdl_core::{Error, Result};
use std::path::Path;

/// How the explicit network is trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExplicitTraining {
    /// Update rule, η and its schedule.
    pub optimizer: UpdateRuleConfig,
    /// The cost C.
    pub cost: Cost,
    /// The L1 or L2 penalty on the weights.
    pub penalty: Penalty,
    /// Passes over the data.
    pub epochs: usize,
    /// Rows per mini-batch (the last may be smaller).
    pub batch_size: usize,
    /// Seed of the per-epoch shuffles.
    pub seed: u64,
}

/// The explicit network in training: the network, the optimiser's state and the config.
pub struct ExplicitTrainer<'a, B: Backend> {
    /// The network.
    pub net: Network<B>,
    /// The update rule's state.
    pub optimizer: UpdateRule<B>,
    /// The config.
    pub cfg: &'a ExplicitTraining,
}

impl<B: Backend> TrainStep<B> for ExplicitTrainer<'_, B> {
    /// Inputs X and targets Y, one example per row.
    type Batch = (Tensor<B, 2>, Tensor<B, 2>);
    type Update = Gradients<B>;

    /// Figure `cost`: the batch's cost with the penalty.
    fn forward(&mut self, (x, y): Self::Batch, _at: StepInfo) -> (StepFigures<B>, Gradients<B>) {
        // 1. forward, 2. back-propagation of the cost
        let (c, grads) = self.net.backward(x, y, self.cfg.cost, self.cfg.penalty);
        (StepFigures::on_host([("cost", c)]), grads)
    }

    /// 3. the update rule's step.
    fn apply(mut self, grads: Gradients<B>, _at: StepInfo) -> Self {
        self.net.apply(&mut self.optimizer, grads);
        self
    }

    /// The explicit network is small and trains in seconds: it keeps no checkpoint.
    fn save(&self, _dir: &Path) -> Result<()> {
        Err(Error::invalid(
            "checkpoint",
            "the explicit network keeps none",
        ))
    }

    fn load(self, _dir: &Path, _device: &B::Device) -> Result<Self> {
        Err(Error::invalid(
            "checkpoint",
            "the explicit network keeps none",
        ))
    }
}

/// Trains `net` on (X, Y) in place through the driver; returns the mean mini-batch cost of
/// each epoch. A cost that becomes NaN or infinite stops with an error naming the step, before
/// the epoch ends.
pub fn train_explicit<B: Backend>(
    net: &mut Network<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 2>,
    cfg: &ExplicitTraining,
) -> Result<Vec<f64>> {
    if cfg.batch_size == 0 {
        return Err(Error::invalid("batch size", "must be at least 1"));
    }
    let batches = TensorBatches::new(x.clone(), cfg.batch_size)
        .with_targets(y.clone())?
        .shuffle(cfg.seed);
    let trainer = ExplicitTrainer {
        net: net.clone(),
        optimizer: cfg.optimizer.init::<B>()?,
        cfg,
    };
    let opts = FitOptions {
        epochs: cfg.epochs,
        seed: cfg.seed,
        run: None,
        progress: true,
    };
    let (trainer, history) = fit(trainer, &batches, &opts, &x.device(), |_, _| Ok(()))?;
    *net = trainer.net;
    Ok(history
        .iter()
        .map(|r| r.train.get("cost").unwrap_or(f64::NAN))
        .collect())
}
