//! A U-Net for 28 x 28 images (Ronneberger et al. 2015, in the form of Ho et al. 2020): the
//! noise-predicting network ε_θ(x_t, t).
//!
//! ```text
//! t ─ sinusoidal embedding ─ linear ─ SiLU ─ linear ─────────────── temb (added in every block)
//! x ─ conv 3×3 ─ res(c₀) ─┬─ down ─ res(c₁) ─┬─ down ─ res(c₂) ─┬─ res ─ attention ─ res ─┐
//!                         │                  │                  └──────────── concat ─ res(c₂)
//!                         │                  └──────────── concat ─ res(c₁) ─ up ─────────┘
//!                         └──────────── concat ─ res(c₀) ─ up ─┘
//!                                                 └─ group norm ─ SiLU ─ conv 3×3 ─ ε̂ (or v̂)
//! ```
//!
//! A residual block is h = conv(SiLU(GN(x))) + W temb, out = x' + conv(SiLU(GN(h))) with x' the
//! input (a 1×1 convolution when the channels change). "down" is a 3×3 convolution of stride 2
//! (28 → 14 → 7), "up" nearest-neighbour doubling followed by a 3×3 convolution. The
//! self-attention at the coarsest level is optional; so are Fourier features of the input
//! (sin and cos of 2^k π x for k in a range, VDM's recipe for fine-scale detail).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::ops::ConvOptions;
use burn::tensor::Tensor;
use gdl_core::activation::silu;
use gdl_core::conv::Convolution;
use gdl_core::feature_map::{cat_channels, residual, shift_channels, upsample2};
use gdl_core::linear::Affine;
use gdl_core::norm::{group_norm, group_norm_silu};
use gdl_core::Error;

/// Side of the images.
pub const SIDE: usize = 28;

/// The network's shape.
#[derive(Config, Debug)]
pub struct UNetConfig {
    /// Channels of each resolution level, finest first (28, 14, 7 for three levels).
    #[config(default = "vec![32, 64, 64]")]
    pub channels: Vec<usize>,
    /// Width of the time embedding (the sinusoid's and the MLP's).
    #[config(default = 128)]
    pub time_dim: usize,
    /// Groups of every group norm (each level's channels must be a multiple).
    #[config(default = 8)]
    pub groups: usize,
    /// Self-attention between the two middle residual blocks.
    #[config(default = true)]
    pub attention: bool,
    /// Fourier features of the input: sin and cos of 2^k π x for k = `fourier.0..=fourier.1`
    /// (none when empty).
    #[config(default = "Vec::new()")]
    pub fourier: Vec<i32>,
}

impl UNetConfig {
    /// The default network (about 0.8 M parameters), for training on a laptop CPU.
    pub fn small() -> Self {
        Self::new()
    }

    /// A wider network (about 6 M parameters) for a GPU.
    pub fn wide() -> Self {
        Self::new().with_channels(vec![64, 128, 256])
    }

    fn check(&self) -> gdl_core::Result<()> {
        let c = &self.channels;
        if c.is_empty() || c.len() > 3 || c.contains(&0) {
            return Err(Error::invalid(
                "channels",
                format!("{c:?}: need one to three positive numbers (28 x 28 halves twice)"),
            ));
        }
        if self.groups == 0 || c.iter().any(|k| k % self.groups != 0) {
            return Err(Error::invalid(
                "groups",
                format!("{}: must divide every level's channels {c:?}", self.groups),
            ));
        }
        if self.time_dim < 2 || !self.time_dim.is_multiple_of(2) {
            return Err(Error::invalid(
                "time_dim",
                format!("{}: must be even and at least 2", self.time_dim),
            ));
        }
        if !(self.fourier.is_empty()
            || (self.fourier.len() == 2 && self.fourier[0] <= self.fourier[1]))
        {
            return Err(Error::invalid(
                "fourier",
                format!("{:?}: need [] or [k_min, k_max]", self.fourier),
            ));
        }
        Ok(())
    }

    /// Input channels: the image, and two per Fourier frequency.
    fn input_channels(&self) -> usize {
        match self.fourier.as_slice() {
            [lo, hi] => 1 + 2 * (hi - lo + 1) as usize,
            _ => 1,
        }
    }

    /// The network, weights from the seeded backend RNG.
    pub fn init<B: Backend>(&self, device: &B::Device) -> gdl_core::Result<UNet<B>> {
        self.check()?;
        let c = &self.channels;
        let levels = c.len();
        let temb = self.time_dim;
        let res = |i: usize, o: usize| ResBlock::new(i, o, temb, self.groups, device);
        let down: Vec<ResBlock<B>> = (0..levels)
            .map(|l| res(if l == 0 { c[0] } else { c[l - 1] }, c[l]))
            .collect();
        // Going up, level l sees the level below's output (or the middle's) and its own skip.
        let up: Vec<ResBlock<B>> = (0..levels)
            .map(|l| {
                let from = if l + 1 == levels { c[l] } else { c[l + 1] };
                res(from + c[l], c[l])
            })
            .collect();
        let deepest = c[levels - 1];
        Ok(UNet {
            time_in: LinearConfig::new(temb, temb).init(device),
            time_out: LinearConfig::new(temb, temb).init(device),
            conv_in: conv3(self.input_channels(), c[0], 1, device),
            down,
            downsample: (0..levels - 1)
                .map(|l| conv3(c[l], c[l], 2, device))
                .collect(),
            middle: [res(deepest, deepest), res(deepest, deepest)],
            attention: self
                .attention
                .then(|| SelfAttention::new(deepest, self.groups, device)),
            up,
            upsample: (1..levels).map(|l| conv3(c[l], c[l], 1, device)).collect(),
            norm_out: GroupNormConfig::new(self.groups, c[0]).init(device),
            conv_out: conv3(c[0], 1, 1, device),
            time_dim: temb,
            fourier: self.fourier.clone(),
        })
    }
}

/// A 3×3 convolution with padding 1.
fn conv3<B: Backend>(i: usize, o: usize, stride: usize, device: &B::Device) -> Conv2d<B> {
    Conv2dConfig::new([i, o], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

/// A residual block with the time embedding added between its two convolutions.
#[derive(Module, Debug)]
pub struct ResBlock<B: Backend> {
    norm1: GroupNorm<B>,
    conv1: Conv2d<B>,
    time: Linear<B>,
    norm2: GroupNorm<B>,
    conv2: Conv2d<B>,
    /// The input's channels mixed to the output's (a 1×1 convolution without bias, applied as
    /// a linear map over the channel axis) when they differ.
    skip: Option<Linear<B>>,
}

impl<B: Backend> ResBlock<B> {
    fn new(i: usize, o: usize, temb: usize, groups: usize, device: &B::Device) -> Self {
        ResBlock {
            norm1: GroupNormConfig::new(groups, i).init(device),
            conv1: conv3(i, o, 1, device),
            time: LinearConfig::new(temb, o).init(device),
            norm2: GroupNormConfig::new(groups, o).init(device),
            conv2: conv3(o, o, 1, device),
            skip: (i != o).then(|| LinearConfig::new(i, o).with_bias(false).init(device)),
        }
    }

    /// x' + conv(SiLU(GN(conv(SiLU(GN(x))) + W SiLU(temb)))).
    fn forward(&self, x: Tensor<B, 4>, temb: Tensor<B, 2>) -> Tensor<B, 4> {
        let h = self.conv1.apply(group_norm_silu(&self.norm1, x.clone()));
        let h = shift_channels(h, self.time.apply(temb));
        let h = self.conv2.apply(group_norm_silu(&self.norm2, h));
        match &self.skip {
            Some(s) => residual(mix_channels(s, x), h),
            None => residual(x, h),
        }
    }
}

/// W x per pixel over the channel axis, x [N, C, H, W] (conv2's bias already adds a constant
/// per output channel, so the map has none). On Flex a 1×1 convolution by gdl's kernel, whose
/// output and gradients are contiguous; elsewhere the linear map over [N, W, H, C] and back
/// (on Wgpu, Burn 0.21's 1×1 Conv2d gave wrong outputs for 24 → 8 channels, and a Linear's
/// bias a wrong gradient here). On Flex the swapped view cost a tenth of the ddpm workload's
/// step: Flex adds a strided view to a tensor element by element, forward and backward.
fn mix_channels<B: Backend>(s: &Linear<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    if !gdl_core::conv::uses_im2col::<B>() {
        return s.forward(x.swap_dims(1, 3)).swap_dims(1, 3);
    }
    let [i, o] = s.weight.dims();
    let w = s.weight.val().transpose().reshape([o, i, 1, 1]);
    gdl_core::conv::conv2d(x, w, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
}

/// Single-head self-attention over the pixels of a feature map, with a residual connection:
/// x + W_o softmax(Q Kᵀ/√C) V with Q, K, V linear maps of GN(x).
#[derive(Module, Debug)]
pub struct SelfAttention<B: Backend> {
    norm: GroupNorm<B>,
    qkv: Linear<B>,
    out: Linear<B>,
}

impl<B: Backend> SelfAttention<B> {
    fn new(c: usize, groups: usize, device: &B::Device) -> Self {
        SelfAttention {
            norm: GroupNormConfig::new(groups, c).init(device),
            qkv: LinearConfig::new(c, 3 * c).init(device),
            out: LinearConfig::new(c, c).init(device),
        }
    }

    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [n, c, h, w] = x.dims();
        // Tokens [N, HW, C].
        let tokens = group_norm(&self.norm, x.clone())
            .reshape([n, c, h * w])
            .swap_dims(1, 2);
        // the projections as [N·HW, C] products (gdl's GEMM on Flex)
        let per_token = |t: Tensor<B, 3>, layer: &Linear<B>| {
            let [n, l, d] = t.dims();
            let y = layer.apply(t.reshape([n * l, d]));
            let e = y.dims()[1];
            y.reshape([n, l, e])
        };
        let qkv = per_token(tokens, &self.qkv);
        let q = qkv.clone().narrow(2, 0, c);
        let k = qkv.clone().narrow(2, c, c);
        let v = qkv.narrow(2, 2 * c, c);
        let weights = softmax(q.matmul(k.swap_dims(1, 2)).div_scalar((c as f64).sqrt()), 2);
        let attended = per_token(weights.matmul(v), &self.out);
        residual(x, attended.swap_dims(1, 2).reshape([n, c, h, w]))
    }
}

/// The noise-predicting U-Net.
#[derive(Module, Debug)]
pub struct UNet<B: Backend> {
    time_in: Linear<B>,
    time_out: Linear<B>,
    conv_in: Conv2d<B>,
    down: Vec<ResBlock<B>>,
    downsample: Vec<Conv2d<B>>,
    middle: [ResBlock<B>; 2],
    attention: Option<SelfAttention<B>>,
    up: Vec<ResBlock<B>>,
    upsample: Vec<Conv2d<B>>,
    norm_out: GroupNorm<B>,
    conv_out: Conv2d<B>,
    time_dim: usize,
    fourier: Vec<i32>,
}

/// The sinusoidal embedding of times t [N]: [sin(t ω_i), cos(t ω_i)] with ω_i = 10000^(−i/half)
/// for i = 0..half (Vaswani et al. 2017; Ho et al. 2020 embed the step t in 1..T this way).
pub fn sinusoidal_embedding<B: Backend>(t: Tensor<B, 1>, dim: usize) -> Tensor<B, 2> {
    let half = dim / 2;
    let omega: Vec<f64> = (0..half)
        .map(|i| (-(10_000f64.ln()) * i as f64 / half as f64).exp())
        .collect();
    let n = t.dims()[0];
    let omega = gdl_core::tensor::from_f64::<B, 2>(omega, [1, half], &t.device());
    let angles = t.reshape([n, 1]).mul(omega);
    Tensor::cat(vec![angles.clone().sin(), angles.cos()], 1)
}

impl<B: Backend> UNet<B> {
    /// The output [N, 1, 28, 28] for noisy images `x` [N, 1, 28, 28] at times `t` [N] (the
    /// step t in 1..T for DDPM, a scaled continuous time for VDM).
    pub fn forward(&self, x: Tensor<B, 4>, t: Tensor<B, 1>) -> Tensor<B, 4> {
        let temb = sinusoidal_embedding(t, self.time_dim);
        // temb = W₂ SiLU(W₁ e(t)); each block applies SiLU before its own projection.
        let temb = silu(self.time_out.apply(silu(self.time_in.apply(temb))));
        let mut h = self.conv_in.apply(self.with_fourier(x));
        let mut skips = Vec::with_capacity(self.down.len());
        for (l, block) in self.down.iter().enumerate() {
            h = block.forward(h, temb.clone());
            skips.push(h.clone());
            if let Some(d) = self.downsample.get(l) {
                h = d.apply(h);
            }
        }
        h = self.middle[0].forward(h, temb.clone());
        if let Some(a) = &self.attention {
            h = a.forward(h);
        }
        h = self.middle[1].forward(h, temb.clone());
        for l in (0..self.up.len()).rev() {
            let skip = skips.pop().expect("one skip per level");
            h = self.up[l].forward(cat_channels(h, skip), temb.clone());
            if l > 0 {
                h = self.upsample[l - 1].apply(upsample2(h));
            }
        }
        self.conv_out.apply(group_norm_silu(&self.norm_out, h))
    }

    /// x, then sin(2^k π x) and cos(2^k π x) for each k of the Fourier range, as channels.
    fn with_fourier(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [lo, hi] = match self.fourier.as_slice() {
            [lo, hi] => [*lo, *hi],
            _ => return x,
        };
        let mut channels = vec![x.clone()];
        for k in lo..=hi {
            let scaled = x.clone().mul_scalar(2f64.powi(k) * std::f64::consts::PI);
            channels.push(scaled.clone().sin());
            channels.push(scaled.cos());
        }
        Tensor::cat(channels, 1)
    }
}
