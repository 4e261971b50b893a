//! Mini-batch training of the explicit network with the gradient-descent family of
//! `gdl-core` (GD, momentum, ADAGRAD, RMSprop, ADAM; a batch size of n is plain GD).

use crate::cost::{Cost, Penalty};
use crate::network::Network;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use gdl_core::optim::OptimizerConfig;
use gdl_core::run::check_finite;
use gdl_core::seed::{derive_seed, host_rng};
use gdl_core::{Error, Result};
use rand::seq::SliceRandom;

/// How the explicit network is trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExplicitTraining {
    /// Update rule, η and its schedule.
    pub optimizer: OptimizerConfig,
    pub cost: Cost,
    pub penalty: Penalty,
    /// Passes over the data.
    pub epochs: usize,
    /// Rows per mini-batch (the last may be smaller).
    pub batch_size: usize,
    /// Seed of the per-epoch shuffles.
    pub seed: u64,
}

/// Trains `net` on (X, Y) in place; returns the mean mini-batch cost of each epoch. A cost
/// that becomes NaN or infinite stops with an error naming the step.
pub fn train_explicit<B: Backend>(
    net: &mut Network<B>,
    x: &Tensor<B, 2>,
    y: &Tensor<B, 2>,
    cfg: &ExplicitTraining,
) -> Result<Vec<f64>> {
    let n = x.dims()[0];
    if y.dims()[0] != n {
        return Err(Error::invalid(
            "targets",
            format!("{} target rows for {n} input rows", y.dims()[0]),
        ));
    }
    if cfg.batch_size == 0 {
        return Err(Error::invalid("batch size", "must be at least 1"));
    }
    let mut optimizer = cfg.optimizer.init::<B>()?;
    let device = x.device();
    let mut history = Vec::with_capacity(cfg.epochs);
    let mut step = 0;
    let mut order: Vec<usize> = (0..n).collect();
    for epoch in 0..cfg.epochs {
        order.shuffle(&mut host_rng(derive_seed(cfg.seed, epoch as u64)));
        let mut total = 0.0;
        let batches = order.chunks(cfg.batch_size);
        let count = batches.len();
        for batch in batches {
            let idx = Tensor::<B, 1, Int>::from_data(
                TensorData::new(batch.iter().map(|&i| i as i64).collect(), [batch.len()]),
                &device,
            );
            let (xb, yb) = (x.clone().select(0, idx.clone()), y.clone().select(0, idx));
            let (c, grads) = net.backward(xb, yb, cfg.cost, cfg.penalty);
            step += 1;
            total += check_finite("cost", c, step)?;
            net.apply(&mut optimizer, grads);
        }
        history.push(total / count as f64);
    }
    Ok(history)
}
