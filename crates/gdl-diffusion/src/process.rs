//! The forward process on tensors: x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε with ε ~ N(0, I), a draw of
//! q(x_t | x_0), for one step t for the whole batch or one step per image.

use crate::schedule::NoiseSchedule;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor};

/// The schedule's √ᾱ_t and √(1 − ᾱ_t) as device tensors [T] (index t − 1), so that a batch of
/// random steps gathers its coefficients without a host round trip.
#[derive(Clone, Debug)]
pub struct MarginalTables<B: Backend> {
    /// √ᾱ_t.
    pub signal: Tensor<B, 1>,
    /// √(1 − ᾱ_t).
    pub noise: Tensor<B, 1>,
}

impl<B: Backend> MarginalTables<B> {
    /// The tables of `schedule` on `device`.
    pub fn new(schedule: &NoiseSchedule, device: &B::Device) -> Self {
        let t = schedule.steps();
        let (signal, noise): (Vec<f64>, Vec<f64>) = (1..=t).map(|t| schedule.marginal(t)).unzip();
        MarginalTables {
            signal: gdl_core::tensor::from_f64(signal, [t], device),
            noise: gdl_core::tensor::from_f64(noise, [t], device),
        }
    }

    /// Steps t [N] (Int, 1..=T) drawn uniformly from the backend RNG.
    pub fn random_steps(&self, n: usize) -> Tensor<B, 1, Int> {
        let t = self.signal.dims()[0];
        let u = Tensor::<B, 1>::random([n], Distribution::Uniform(0.0, 1.0), &self.signal.device());
        // ⌊u T⌋ + 1, with u = 1 (if the RNG ever returns it) folded onto T.
        u.mul_scalar(t as f64)
            .int()
            .clamp(0, t as i64 - 1)
            .add_scalar(1)
    }

    /// (√ᾱ_t, √(1 − ᾱ_t)) for each image's step t [N], shaped [N, 1, 1, 1].
    pub fn gather(&self, t: Tensor<B, 1, Int>) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let n = t.dims()[0];
        let index = t.sub_scalar(1);
        (
            self.signal
                .clone()
                .select(0, index.clone())
                .reshape([n, 1, 1, 1]),
            self.noise.clone().select(0, index).reshape([n, 1, 1, 1]),
        )
    }
}

/// x_t = a x_0 + b ε: a draw of q(x_t | x_0) given the noise ε and the coefficients
/// a = √ᾱ_t, b = √(1 − ᾱ_t) (scalars or [N, 1, 1, 1]).
pub fn diffuse<B: Backend>(
    x0: Tensor<B, 4>,
    eps: Tensor<B, 4>,
    a: Tensor<B, 4>,
    b: Tensor<B, 4>,
) -> Tensor<B, 4> {
    x0 * a + eps * b
}

/// x_t for one step t of the whole batch, with fresh noise from the backend RNG.
pub fn diffuse_at<B: Backend>(
    schedule: &NoiseSchedule,
    x0: Tensor<B, 4>,
    t: usize,
) -> Tensor<B, 4> {
    let (a, b) = schedule.marginal(t);
    let eps = gdl_core::random::random(x0.dims(), Distribution::Normal(0.0, 1.0), &x0.device());
    x0.mul_scalar(a) + eps.mul_scalar(b)
}
