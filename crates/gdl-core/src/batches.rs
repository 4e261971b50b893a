//! [`Batches`] sources that are not MNIST: the rows of tensors (Ising samples, regression
//! data), shuffled per epoch, and a source whose batches are mapped by a function.

use crate::seed::{derive_seed, host_rng};
use crate::train::Batches;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use rand::seq::SliceRandom;

/// Mini-batches of the rows of `x` (and of the matching rows of `y`, when there is one), in an
/// order drawn afresh each epoch from (seed, epoch), or in the stored order without a seed.
#[derive(Clone, Debug)]
pub struct TensorBatches<B: Backend> {
    x: Tensor<B, 2>,
    y: Option<Tensor<B, 2>>,
    batch_size: usize,
    shuffle_seed: Option<u64>,
}

impl<B: Backend> TensorBatches<B> {
    /// Batches of `batch_size` rows of `x` (the last may be smaller), in the stored order.
    pub fn new(x: Tensor<B, 2>, batch_size: usize) -> Self {
        TensorBatches {
            x,
            y: None,
            batch_size: batch_size.max(1),
            shuffle_seed: None,
        }
    }

    /// With targets `y`, whose rows travel with those of `x`; an error when the counts differ.
    pub fn with_targets(mut self, y: Tensor<B, 2>) -> crate::Result<Self> {
        let (n, m) = (self.x.dims()[0], y.dims()[0]);
        if n != m {
            return Err(crate::Error::invalid(
                "targets",
                format!("{m} target rows for {n} input rows"),
            ));
        }
        self.y = Some(y);
        Ok(self)
    }

    /// Shuffled each epoch by a permutation drawn from (`seed`, epoch).
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.shuffle_seed = Some(seed);
        self
    }
}

impl<B: Backend> Batches<B> for TensorBatches<B> {
    /// The rows of x, and those of y (or an empty tensor without targets).
    type Batch = (Tensor<B, 2>, Tensor<B, 2>);

    fn num_batches(&self) -> usize {
        self.x.dims()[0].div_ceil(self.batch_size)
    }

    fn epoch(&self, epoch: u64, device: &B::Device) -> impl Iterator<Item = Self::Batch> {
        let mut order: Vec<usize> = (0..self.x.dims()[0]).collect();
        if let Some(seed) = self.shuffle_seed {
            order.shuffle(&mut host_rng(derive_seed(seed, epoch)));
        }
        let chunks: Vec<Vec<usize>> = order.chunks(self.batch_size).map(<[_]>::to_vec).collect();
        let device = device.clone();
        chunks.into_iter().map(move |rows| {
            let n = rows.len();
            let idx = Tensor::<B, 1, Int>::from_data(
                TensorData::new(rows.into_iter().map(|i| i as i64).collect(), [n]),
                &device,
            );
            let xb = self.x.clone().select(0, idx.clone());
            let yb = match &self.y {
                Some(y) => y.clone().select(0, idx),
                None => Tensor::empty([n, 0], &device),
            };
            (xb, yb)
        })
    }
}

/// The batches of `inner`, each passed through `f` (e.g. MNIST batches to visible units).
#[derive(Clone, Debug)]
pub struct Mapped<D, F> {
    inner: D,
    f: F,
}

impl<D, F> Mapped<D, F> {
    /// The batches of `inner` mapped by `f`.
    pub fn new(inner: D, f: F) -> Self {
        Mapped { inner, f }
    }
}

impl<B: Backend, D: Batches<B>, T, F: Fn(D::Batch) -> T> Batches<B> for Mapped<D, F> {
    type Batch = T;

    fn num_batches(&self) -> usize {
        self.inner.num_batches()
    }

    fn epoch(&self, epoch: u64, device: &B::Device) -> impl Iterator<Item = T> {
        self.inner.epoch(epoch, device).map(&self.f)
    }
}

#[cfg(all(test, feature = "ndarray"))]
mod tests {
    use super::*;
    type B = crate::backend::NdArray;

    #[test]
    fn rows_and_targets_travel_together_and_shuffle_per_epoch() {
        let _serial = crate::seed::serial();
        let device = Default::default();
        let x = Tensor::<B, 1, burn::tensor::Int>::arange(0..7, &device).float();
        let x: Tensor<B, 2> = x.reshape([7, 1]);
        let y = x.clone().mul_scalar(10.0);
        let batches = TensorBatches::new(x.clone(), 3)
            .with_targets(y)
            .unwrap()
            .shuffle(5);
        assert_eq!(Batches::<B>::num_batches(&batches), 3);
        let epoch = |e| -> Vec<(f32, f32)> {
            batches
                .epoch(e, &device)
                .flat_map(|(xb, yb)| {
                    let xs: Vec<f32> = xb.into_data().to_vec().unwrap();
                    let ys: Vec<f32> = yb.into_data().to_vec().unwrap();
                    xs.into_iter().zip(ys).collect::<Vec<_>>()
                })
                .collect()
        };
        let (one, two) = (epoch(1), epoch(2));
        assert!(one.iter().all(|(a, b)| *b == 10.0 * a));
        assert_ne!(one, two, "each epoch draws its own order");
        assert_eq!(one, epoch(1), "seeded");
        let mut seen: Vec<f32> = one.iter().map(|p| p.0).collect();
        seen.sort_by(f32::total_cmp);
        assert_eq!(seen, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let err = TensorBatches::new(x, 3)
            .with_targets(Tensor::zeros([2, 1], &device))
            .unwrap_err();
        assert!(err.to_string().contains("2 target rows for 7"), "{err}");
    }
}
