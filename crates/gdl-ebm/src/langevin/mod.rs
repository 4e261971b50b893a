//! An energy-based model E_θ(x) on 32 x 32 images in [−1, 1], sampled by stochastic gradient
//! Langevin dynamics with a replay buffer and trained by contrastive divergence (Du and
//! Mordatch 2019).
//!
//! | symbol | meaning |
//! |---|---|
//! | E_θ(x) | the energy network's scalar output; p_θ(x) ∝ e^(−E_θ(x)) |
//! | x⁺, x⁻ | data and model samples |
//! | λ, σ, c | SGLD step size, noise scale, gradient clip |
//! | α | weight of the energy regulariser |
//!
//! SGLD, K steps from x⁻₀ (95% from the replay buffer, 5% fresh uniform noise):
//!
//! ```text
//! x ← x + σ ε,  ε ~ N(0, I)
//! x ← clamp(x − λ · clip(∇_x E_θ(x), −c, c), −1, 1)
//! ```
//!
//! Loss: L = mean E_θ(x⁺) − mean E_θ(x⁻) + α mean(E_θ(x⁺)² + E_θ(x⁻)²); its gradient
//! follows ∇_θ log p_θ(x⁺) ≈ −∇E(x⁺) + E_p[∇E(x)], with the negative phase from SGLD.

pub mod train;

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, Tensor};
use gdl_core::activation::silu;
use gdl_core::conv::Convolution;
use gdl_core::linear::Affine;
use gdl_core::sample::Sample;
use gdl_core::tensor::{from_f64, to_f64};
use rand::Rng;
use std::collections::VecDeque;

/// Side of the images the energy network takes (MNIST padded by 2 pixels a side).
pub const SIDE: usize = 32;
const PIXELS: usize = SIDE * SIDE;

/// The convolutional energy network (the layout of Lippe's UvA tutorial on Du and Mordatch):
///
/// ```text
/// x [N,1,32,32] → conv 16 (5x5, stride 2, pad 4) [18x18] → SiLU
///   → conv 32 (3x3, stride 2, pad 1) [9x9] → SiLU → conv 64 (3x3, s 2, p 1) [5x5] → SiLU
///   → conv 64 (3x3, s 2, p 1) [3x3] → SiLU → flatten 576 → fc 64 → SiLU → fc 1 → E(x)
/// ```
#[derive(Module, Debug)]
pub struct EnergyNet<B: Backend> {
    convs: Vec<Conv2d<B>>,
    fc: Linear<B>,
    out: Linear<B>,
}

/// Sizes of the energy network.
#[derive(Config, Debug)]
pub struct EnergyNetConfig {
    /// Channels of the first convolution (then 2x, 4x, 4x).
    #[config(default = 16)]
    pub channels: usize,
    /// Units of the hidden dense layer before the scalar energy.
    #[config(default = 64)]
    pub d_hidden: usize,
}

impl EnergyNetConfig {
    /// The network, weights from the seeded backend RNG.
    pub fn init<B: Backend>(&self, device: &B::Device) -> EnergyNet<B> {
        let c = self.channels;
        let conv = |i: usize, o: usize, k: usize, p: usize| {
            Conv2dConfig::new([i, o], [k, k])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .init(device)
        };
        // Initialised now: `Sgld::sample` samples under a frozen clone of the network.
        gdl_core::run::materialize(EnergyNet {
            convs: vec![
                conv(1, c, 5, 4),
                conv(c, 2 * c, 3, 1),
                conv(2 * c, 4 * c, 3, 1),
                conv(4 * c, 4 * c, 3, 1),
            ],
            fc: LinearConfig::new(4 * c * 9, self.d_hidden).init(device),
            out: LinearConfig::new(self.d_hidden, 1).init(device),
        })
    }
}

impl<B: Backend> EnergyNet<B> {
    /// E_θ(x) [N] for images x [N, 1, 32, 32].
    pub fn energy(&self, x: Tensor<B, 4>) -> Tensor<B, 1> {
        let n = x.dims()[0];
        let a = self.convs.iter().fold(x, |a, conv| silu(conv.apply(a))); // [N, 4c, 3, 3]
        let a = silu(self.fc.apply(a.reshape([n as i32, -1])));
        self.out.apply(a).reshape([n])
    }
}

/// The SGLD sampler's settings (defaults: 60 steps, λ = 10, σ = 0.005, c = 0.03).
#[derive(Config, Debug, Copy, PartialEq)]
pub struct Sgld {
    /// Langevin steps per chain.
    #[config(default = 60)]
    pub steps: usize,
    /// λ.
    #[config(default = 10.0)]
    pub step_size: f64,
    /// σ.
    #[config(default = 0.005)]
    pub noise: f64,
    /// c.
    #[config(default = 0.03)]
    pub clip: f64,
}

impl Sgld {
    /// Runs the Langevin chain from x [N, 1, 32, 32] under `net` (its parameters frozen: only
    /// ∇_x is computed) and returns the final samples, detached.
    pub fn sample<B: AutodiffBackend>(
        &self,
        net: &EnergyNet<B>,
        x: Tensor<B::InnerBackend, 4>,
    ) -> Tensor<B::InnerBackend, 4> {
        let frozen = net.clone().no_grad();
        (0..self.steps).fold(x, |x, _| {
            // x ← x + σ ε
            let x = match self.noise > 0.0 {
                true => {
                    x.clone()
                        + gdl_core::random::random_like(&x, Distribution::Normal(0.0, self.noise))
                }
                false => x,
            };
            let tracked = Tensor::<B, 4>::from_inner(x.clone()).require_grad();
            let grads = frozen.energy(tracked.clone()).sum().backward();
            let grad = tracked.grad(&grads).expect("∇_x E exists");
            // x ← clamp(x − λ clip(∇_x E), −1, 1)
            (x - grad.clamp(-self.clip, self.clip).mul_scalar(self.step_size)).clamp(-1.0, 1.0)
        })
    }
}

/// The EBM as a generator: SGLD chains from uniform noise on [−1, 1], cropped from 32 x 32 back
/// to the 28 x 28 digit and mapped to [0, 1].
#[derive(Clone, Copy, Debug)]
pub struct LangevinSampler<'a, B: AutodiffBackend> {
    /// The energy network E_θ.
    pub net: &'a EnergyNet<B>,
    /// The sampler's settings.
    pub sgld: Sgld,
}

impl<B: AutodiffBackend> Sample<B::InnerBackend> for LangevinSampler<'_, B> {
    fn sample(&self, n: usize, device: &B::Device) -> Tensor<B::InnerBackend, 4> {
        let start =
            gdl_core::random::random([n, 1, SIDE, SIDE], Distribution::Uniform(-1.0, 1.0), device);
        let x = self.sgld.sample::<B>(self.net, start); // [n, 1, 32, 32] in [−1, 1]
        let pad = (SIDE - 28) / 2;
        x.narrow(2, pad, 28)
            .narrow(3, pad, 28)
            .add_scalar(1.0)
            .div_scalar(2.0)
    }
}

/// The replay buffer of past SGLD samples (Du and Mordatch): a chain starts from a stored
/// sample with probability 1 − `fresh`, else from uniform noise on [−1, 1]; the newest samples
/// go in front and the oldest fall out beyond `capacity`.
#[derive(Clone, Debug)]
pub struct ReplayBuffer {
    images: VecDeque<Vec<f32>>,
    /// Most samples kept.
    pub capacity: usize,
    /// Fraction of chains started from fresh noise (0.05).
    pub fresh: f64,
}

impl ReplayBuffer {
    /// An empty buffer.
    pub fn new(capacity: usize, fresh: f64) -> Self {
        ReplayBuffer {
            images: VecDeque::with_capacity(capacity),
            capacity,
            fresh,
        }
    }

    /// Samples stored.
    pub fn len(&self) -> usize {
        self.images.len()
    }

    /// Whether no sample is stored.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// n chain starts [n, 1, 32, 32].
    pub fn starts<B: Backend>(
        &self,
        n: usize,
        rng: &mut impl Rng,
        device: &B::Device,
    ) -> Tensor<B, 4> {
        let mut values = Vec::with_capacity(n * PIXELS);
        for _ in 0..n {
            if self.images.is_empty() || rng.random::<f64>() < self.fresh {
                values.extend((0..PIXELS).map(|_| rng.random_range(-1.0f32..1.0)));
            } else {
                values.extend_from_slice(&self.images[rng.random_range(0..self.images.len())]);
            }
        }
        from_f64(
            values.into_iter().map(f64::from).collect(),
            [n, 1, SIDE, SIDE],
            device,
        )
    }

    /// The n most recently stored samples [min(n, len), 1, 32, 32] (for pictures).
    pub fn newest<B: Backend>(&self, n: usize, device: &B::Device) -> Tensor<B, 4> {
        let k = n.min(self.images.len());
        let values = self
            .images
            .iter()
            .take(k)
            .flatten()
            .map(|&v| f64::from(v))
            .collect();
        from_f64(values, [k, 1, SIDE, SIDE], device)
    }

    /// Stores the samples x [n, 1, 32, 32] in front.
    pub fn push<B: Backend>(&mut self, x: Tensor<B, 4>) {
        let values = to_f64(x);
        for image in values.chunks(PIXELS) {
            self.images
                .push_front(image.iter().map(|&v| v as f32).collect());
        }
        self.images.truncate(self.capacity);
    }
}

/// The contrastive loss with the energy regulariser, and its two energies (for logging):
/// L = mean E(x⁺) − mean E(x⁻) + α mean(E(x⁺)² + E(x⁻)²).
pub fn contrastive_loss<B: Backend>(
    e_pos: Tensor<B, 1>,
    e_neg: Tensor<B, 1>,
    alpha: f64,
) -> Tensor<B, 1> {
    let reg = (e_pos.clone().powi_scalar(2) + e_neg.clone().powi_scalar(2))
        .mean()
        .mul_scalar(alpha);
    e_pos.mean() - e_neg.mean() + reg
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::AutodiffModule;
    use gdl_core::testing::{TestAutodiffBackend as AD, TestBackend as B};

    #[test]
    fn energy_shape() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        let net = EnergyNetConfig::new().init::<B>(&d);
        assert_eq!(net.energy(Tensor::zeros([3, 1, 32, 32], &d)).dims(), [3]);
    }

    #[test]
    fn one_sgld_step_moves_against_the_clipped_gradient() {
        let _serial = gdl_core::seed::serial();
        // Without noise, one step is x − λ clip(∇E); checked against a direct ∇_x by autodiff.
        let d = Default::default();
        gdl_core::seed::seed_all::<AD>(&d, 3);
        let net = EnergyNetConfig::new()
            .with_channels(4)
            .with_d_hidden(8)
            .init::<AD>(&d);
        let x = Tensor::<B, 4>::random([2, 1, 32, 32], Distribution::Uniform(-0.5, 0.5), &d);
        let sgld = Sgld::new()
            .with_steps(1)
            .with_noise(0.0)
            .with_step_size(10.0)
            .with_clip(1e-4);
        let got = to_f64(sgld.sample::<AD>(&net, x.clone()));
        let tracked = Tensor::<AD, 4>::from_inner(x.clone()).require_grad();
        let grads = net.energy(tracked.clone()).sum().backward();
        let g = to_f64(tracked.grad(&grads).unwrap());
        let x = to_f64(x);
        for i in 0..x.len() {
            let want = (x[i] - 10.0 * g[i].clamp(-1e-4, 1e-4)).clamp(-1.0, 1.0);
            assert!(
                (got[i] - want).abs() < 1e-6,
                "{i}: {} vs {want}; x {} g {}",
                got[i],
                x[i],
                g[i]
            );
        }
    }

    #[test]
    fn the_langevin_sampler_draws_digits_in_the_unit_range() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        gdl_core::seed::seed_all::<AD>(&d, 5);
        let net = EnergyNetConfig::new()
            .with_channels(4)
            .with_d_hidden(8)
            .init::<AD>(&d);
        let sampler = LangevinSampler {
            net: &net,
            sgld: Sgld::new().with_steps(2),
        };
        let x = sampler.sample(2, &d);
        assert_eq!(x.dims(), [2, 1, 28, 28]);
        assert!(to_f64(x).iter().all(|p| (0.0..=1.0).contains(p)));
    }

    #[test]
    fn sgld_lowers_the_energy() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        gdl_core::seed::seed_all::<AD>(&d, 4);
        let net = EnergyNetConfig::new()
            .with_channels(4)
            .with_d_hidden(8)
            .init::<AD>(&d);
        let x = Tensor::<B, 4>::random([8, 1, 32, 32], Distribution::Uniform(-1.0, 1.0), &d);
        let before = to_f64(net.valid().energy(x.clone()).mean())[0];
        let after = to_f64(
            net.valid()
                .energy(Sgld::new().with_steps(20).sample::<AD>(&net, x))
                .mean(),
        )[0];
        assert!(after < before, "E {before} → {after}");
    }

    /// Images of constant value v/8 (exact in f32) for v in `values`, [n, 1, 32, 32].
    fn constant_images(values: std::ops::Range<usize>) -> Tensor<B, 4> {
        let n = values.len();
        let v = values
            .flat_map(|v| std::iter::repeat_n(v as f64 / 8.0, PIXELS))
            .collect();
        from_f64(v, [n, 1, SIDE, SIDE], &Default::default())
    }

    /// The first pixel of each image of x, and whether the image is constant.
    fn first_pixels(x: Tensor<B, 4>) -> Vec<(f64, bool)> {
        to_f64(x)
            .chunks(PIXELS)
            .map(|c| (c[0], c.iter().all(|&v| v == c[0])))
            .collect()
    }

    #[test]
    fn replay_buffer_keeps_the_newest_and_forgets_the_oldest() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        let mut buf = ReplayBuffer::new(10, 0.0);
        buf.push(constant_images(1..5));
        buf.push(constant_images(5..13));
        assert_eq!(buf.len(), 10);
        // Newest first: 12/8, 11/8, ..., 3/8; 1/8 and 2/8, the oldest, fell out.
        let kept: Vec<f64> = first_pixels(buf.newest::<B>(10, &d))
            .iter()
            .map(|&(v, _)| v)
            .collect();
        let expected: Vec<f64> = (3..13).rev().map(|v| v as f64 / 8.0).collect();
        assert_eq!(kept, expected);
        // fresh = 0: every start is a stored image, and every stored image is drawn.
        let mut rng = gdl_core::seed::host_rng(1);
        let starts = first_pixels(buf.starts::<B>(500, &mut rng, &d));
        assert!(starts
            .iter()
            .all(|&(v, constant)| constant && expected.contains(&v)));
        for v in &expected {
            assert!(starts.iter().any(|&(s, _)| s == *v), "{v} never drawn");
        }
        // An empty buffer starts every chain from uniform noise on [−1, 1].
        let noise = to_f64(ReplayBuffer::new(10, 0.0).starts::<B>(2, &mut rng, &d));
        assert!(noise.iter().all(|&x| (-1.0..1.0).contains(&x)));
        assert!(noise.iter().any(|&x| x != noise[0]));
    }

    #[test]
    fn five_percent_of_the_chains_start_from_noise() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        let mut buf = ReplayBuffer::new(10, 0.05);
        buf.push(constant_images(1..11));
        let mut rng = gdl_core::seed::host_rng(2);
        let n = 4000;
        let starts = first_pixels(buf.starts::<B>(n, &mut rng, &d));
        // Noise images are not constant; the fraction is 0.05 within 4 binomial standard
        // errors (4 √(0.05 · 0.95 / 4000) = 0.014).
        let fresh = starts.iter().filter(|&&(_, constant)| !constant).count() as f64 / n as f64;
        assert!((fresh - 0.05).abs() < 0.014, "fraction from noise {fresh}");
    }

    #[test]
    fn loss_is_the_energy_difference_plus_regulariser() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        let l: f32 = contrastive_loss(
            Tensor::<B, 1>::from_floats([1.0, 3.0], &d),
            Tensor::<B, 1>::from_floats([0.0, 2.0], &d),
            0.1,
        )
        .into_scalar();
        // 2 − 1 + 0.1 · mean(1 + 0, 9 + 4) = 1 + 0.7
        assert!((l - 1.7).abs() < 1e-6);
    }
}
