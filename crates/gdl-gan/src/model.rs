//! The generator and discriminator networks: the lecture's MLP GAN and a DCGAN for 28 x 28
//! digits, both from one config (Burn's `Config::init`), generic over the backend.
//!
//! | | generator G: z → image in [−1, 1] | discriminator D: image → score |
//! |---|---|---|
//! | MLP | z → 256 → 512 → 784, leaky ReLU, tanh | 784 → 512 → 256 → 1, leaky ReLU |
//! | DCGAN | z → fc 7·7·256 → convT 128 (5×5, stride 1) → convT 64 (stride 2) → convT 1 (stride 2, tanh), batch norm + leaky ReLU | conv 64 → conv 128 (5×5, stride 2), leaky ReLU + dropout 0.3 → linear 1 |
//!
//! Widths and channels are config fields; the discriminator's weights can be spectrally
//! normalised ([`crate::spectral`]).

use crate::spectral::SpectralNorm;
use burn::config::Config;
use burn::module::{AutodiffModule, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::activation::tanh;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor};
use gdl_core::activation::leaky_relu;
use gdl_core::conv::Convolution;
use gdl_core::linear::{linear, Affine};
use gdl_core::norm::{batch_norm, batch_norm_inference};
use gdl_core::Error;

/// Side of the images.
pub const SIDE: usize = 28;
/// The negative slope of every leaky ReLU.
const SLOPE: f64 = 0.2;

/// Which networks.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Architecture {
    /// Fully connected networks.
    Mlp,
    /// Convolutional networks (Radford et al. 2016).
    Dcgan,
}

/// The two networks' shapes.
#[derive(Config, Debug)]
pub struct GanConfig {
    /// MLP or DCGAN.
    #[config(default = "Architecture::Dcgan")]
    pub architecture: Architecture,
    /// Dimension of the noise z ~ N(0, I).
    #[config(default = 100)]
    pub latent: usize,
    /// The MLP generator's hidden widths (the discriminator's, reversed).
    #[config(default = "vec![256, 512]")]
    pub mlp_widths: Vec<usize>,
    /// The DCGAN generator's channels: the 7 x 7 grid's, then the two inner transposed
    /// convolutions' (three numbers).
    #[config(default = "vec![256, 128, 64]")]
    pub generator_channels: Vec<usize>,
    /// The DCGAN discriminator's two convolutions' channels.
    #[config(default = "vec![64, 128]")]
    pub discriminator_channels: Vec<usize>,
    /// The DCGAN discriminator's dropout rate.
    #[config(default = 0.3)]
    pub dropout: f64,
    /// Spectral normalisation of the discriminator's weights.
    #[config(default = false)]
    pub spectral_norm: bool,
}

impl GanConfig {
    fn check(&self) -> gdl_core::Result<()> {
        let positive = |name: &str, v: &[usize], len: Option<usize>| -> gdl_core::Result<()> {
            if v.contains(&0) || v.is_empty() || len.is_some_and(|l| v.len() != l) {
                return Err(Error::invalid(
                    name,
                    format!(
                        "{v:?}: need {} positive numbers",
                        len.map_or("one or more".into(), |l| l.to_string())
                    ),
                ));
            }
            Ok(())
        };
        positive("latent", &[self.latent], None)?;
        positive("mlp_widths", &self.mlp_widths, None)?;
        positive("generator_channels", &self.generator_channels, Some(3))?;
        positive(
            "discriminator_channels",
            &self.discriminator_channels,
            Some(2),
        )?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::invalid(
                "dropout",
                format!("{} is not in [0, 1)", self.dropout),
            ));
        }
        Ok(())
    }

    /// The generator, weights from the seeded backend RNG.
    pub fn init_generator<B: Backend>(&self, device: &B::Device) -> gdl_core::Result<Generator<B>> {
        self.check()?;
        Ok(match self.architecture {
            Architecture::Mlp => {
                let mut sizes = vec![self.latent];
                sizes.extend(&self.mlp_widths);
                sizes.push(SIDE * SIDE);
                Generator::Mlp(MlpGenerator {
                    layers: sizes
                        .windows(2)
                        .map(|w| LinearConfig::new(w[0], w[1]).init(device))
                        .collect(),
                })
            }
            Architecture::Dcgan => {
                let c = &self.generator_channels;
                let deconv = |i: usize, o: usize, stride: usize| {
                    ConvTranspose2dConfig::new([i, o], [5, 5])
                        .with_stride([stride, stride])
                        .with_padding([2, 2])
                        .with_padding_out([stride - 1, stride - 1])
                        .with_bias(o == 1)
                        .init(device)
                };
                Generator::Dcgan(DcganGenerator {
                    fc: LinearConfig::new(self.latent, c[0] * 49)
                        .with_bias(false)
                        .init(device),
                    norms: [c[0], c[1], c[2]]
                        .iter()
                        .map(|&k| BatchNormConfig::new(k).init(device))
                        .collect(),
                    deconvs: vec![
                        deconv(c[0], c[1], 1),
                        deconv(c[1], c[2], 2),
                        deconv(c[2], 1, 2),
                    ],
                    grid: c[0],
                })
            }
        })
    }

    /// The discriminator, weights from the seeded backend RNG.
    pub fn init_discriminator<B: Backend>(
        &self,
        device: &B::Device,
    ) -> gdl_core::Result<Discriminator<B>> {
        self.check()?;
        let sn = |rows: usize| self.spectral_norm.then(|| SpectralNorm::new(rows, device));
        Ok(match self.architecture {
            Architecture::Mlp => {
                let mut sizes = vec![SIDE * SIDE];
                sizes.extend(self.mlp_widths.iter().rev());
                sizes.push(1);
                Discriminator::Mlp(MlpDiscriminator {
                    layers: sizes
                        .windows(2)
                        .map(|w| SnLinear {
                            linear: LinearConfig::new(w[0], w[1]).init(device),
                            sn: sn(w[0]),
                        })
                        .collect(),
                })
            }
            Architecture::Dcgan => {
                let c = &self.discriminator_channels;
                let conv = |i: usize, o: usize| SnConv2d {
                    conv: Conv2dConfig::new([i, o], [5, 5])
                        .with_stride([2, 2])
                        .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                        .init(device),
                    sn: sn(o),
                };
                Discriminator::Dcgan(DcganDiscriminator {
                    convs: vec![conv(1, c[0]), conv(c[0], c[1])],
                    dropout: DropoutConfig::new(self.dropout).init(),
                    head: SnLinear {
                        linear: LinearConfig::new(c[1] * 49, 1).init(device),
                        sn: sn(c[1] * 49),
                    },
                })
            }
        })
    }
}

/// A linear layer whose weight may be spectrally normalised.
#[derive(Module, Debug)]
pub struct SnLinear<B: Backend> {
    /// The layer (weight [d_in, d_out]).
    pub linear: Linear<B>,
    /// Power-iteration state, when normalised.
    pub sn: Option<SpectralNorm<B>>,
}

impl<B: Backend> SnLinear<B> {
    /// x W/σ(W) + b, or x W + b.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        match &self.sn {
            None => self.linear.apply(x),
            Some(sn) => {
                let w = self.linear.weight.val();
                let w = w.clone() / sn.sigma(w).unsqueeze_dim::<2>(0);
                linear(x, w, self.linear.bias.as_ref().map(|b| b.val()))
            }
        }
    }

    fn next(mut self) -> Self {
        let w = self.linear.weight.val();
        self.sn = self.sn.map(|sn| sn.next(&w));
        self
    }

    fn clip(mut self, c: f64) -> Self {
        self.linear.weight = self.linear.weight.map(|w| w.clamp(-c, c).detach());
        self.linear.bias = self.linear.bias.map(|b| b.map(|b| b.clamp(-c, c).detach()));
        self
    }
}

/// A convolution whose weight may be spectrally normalised (as the matrix [out, in·k·k]).
#[derive(Module, Debug)]
pub struct SnConv2d<B: Backend> {
    /// The layer.
    pub conv: Conv2d<B>,
    /// Power-iteration state, when normalised.
    pub sn: Option<SpectralNorm<B>>,
}

impl<B: Backend> SnConv2d<B> {
    fn matrix(&self) -> Tensor<B, 2> {
        let w = self.conv.weight.val();
        let [o, i, h, k] = w.dims();
        w.reshape([o, i * h * k])
    }

    /// conv(x; W/σ(W)) + b, or conv(x; W) + b.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match &self.sn {
            None => self.conv.apply(x),
            Some(sn) => {
                let w = self.conv.weight.val();
                let sigma = sn.sigma(self.matrix()).reshape([1, 1, 1, 1]);
                gdl_core::conv::conv2d(
                    x,
                    w / sigma,
                    self.conv.bias.as_ref().map(|b| b.val()),
                    ConvOptions::new(
                        self.conv.stride,
                        [2, 2],
                        self.conv.dilation,
                        self.conv.groups,
                    ),
                )
            }
        }
    }

    fn next(mut self) -> Self {
        let w = self.matrix();
        self.sn = self.sn.map(|sn| sn.next(&w));
        self
    }

    fn clip(mut self, c: f64) -> Self {
        self.conv.weight = self.conv.weight.map(|w| w.clamp(-c, c).detach());
        self.conv.bias = self.conv.bias.map(|b| b.map(|b| b.clamp(-c, c).detach()));
        self
    }
}

/// The MLP generator.
#[derive(Module, Debug)]
pub struct MlpGenerator<B: Backend> {
    /// z → hidden → ... → 784.
    pub layers: Vec<Linear<B>>,
}

/// The DCGAN generator.
#[derive(Module, Debug)]
pub struct DcganGenerator<B: Backend> {
    /// z → the 7 x 7 grid.
    pub fc: Linear<B>,
    /// Batch norms of the grid and of the two inner transposed convolutions.
    pub norms: Vec<BatchNorm<B>>,
    /// The three transposed convolutions (7 → 7 → 14 → 28).
    pub deconvs: Vec<ConvTranspose2d<B>>,
    /// Channels of the 7 x 7 grid.
    pub grid: usize,
}

/// G: z [N, latent] → images [N, 1, 28, 28] in [−1, 1].
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Generator<B: Backend> {
    /// Fully connected.
    Mlp(MlpGenerator<B>),
    /// Convolutional.
    Dcgan(DcganGenerator<B>),
}

impl<B: Backend> Generator<B> {
    /// G(z) [N, 1, 28, 28] in [−1, 1] (under autodiff, batch norm with the batch's statistics).
    pub fn forward(&self, z: Tensor<B, 2>) -> Tensor<B, 4> {
        self.forward_with(z, batch_norm)
    }

    /// G(z) with the batch norms' running statistics on every backend: the sampling function,
    /// differentiable in z under autodiff.
    pub fn forward_inference(&self, z: Tensor<B, 2>) -> Tensor<B, 4> {
        self.forward_with(z, batch_norm_inference)
    }

    fn forward_with(
        &self,
        z: Tensor<B, 2>,
        batch_norm: fn(&BatchNorm<B>, Tensor<B, 4>) -> Tensor<B, 4>,
    ) -> Tensor<B, 4> {
        let n = z.dims()[0];
        match self {
            Generator::Mlp(m) => {
                let last = m.layers.len() - 1;
                let mut x = z;
                for (i, layer) in m.layers.iter().enumerate() {
                    x = layer.apply(x);
                    x = if i < last {
                        leaky_relu(x, SLOPE)
                    } else {
                        tanh(x)
                    };
                }
                x.reshape([n, 1, SIDE, SIDE])
            }
            Generator::Dcgan(m) => {
                let x = m.fc.apply(z).reshape([n, m.grid, 7, 7]);
                let mut x = leaky_relu(batch_norm(&m.norms[0], x), SLOPE);
                for i in 0..2 {
                    x = leaky_relu(batch_norm(&m.norms[i + 1], m.deconvs[i].apply(x)), SLOPE);
                }
                tanh(m.deconvs[2].apply(x))
            }
        }
    }
}

impl<B: Backend> Generator<B> {
    /// The batch norms (none in the MLP).
    fn norms_mut(&mut self) -> &mut [BatchNorm<B>] {
        match self {
            Generator::Mlp(_) => &mut [],
            Generator::Dcgan(d) => &mut d.norms,
        }
    }
}

impl<B: AutodiffBackend> Generator<B> {
    /// `generator` with its batch norms' population statistics recomputed for its own weights
    /// ("batch-norm recalibration"): the running mean and variance of every batch norm become
    /// the means r = (1/K) Σ_k s_k of the statistics s_k of K batches of `n` samples
    /// (momentum 1/k at batch k). A weight average needs it: its running statistics are
    /// averages of the statistics that the live weights produced, not those of its own layers.
    pub fn recalibrated(
        generator: Generator<B::InnerBackend>,
        latent: usize,
        batches: usize,
        n: usize,
        device: &B::Device,
    ) -> Generator<B::InnerBackend> {
        let mut g = Generator::<B>::from_inner(generator);
        if g.norms_mut().is_empty() {
            return g.valid();
        }
        let momenta: Vec<f64> = g.norms_mut().iter().map(|b| b.momentum).collect();
        for k in 1..=batches {
            // r ← (1 − 1/k) r + (1/k) s_k: after K batches, r is the mean of s_1 … s_K.
            for norm in g.norms_mut() {
                norm.momentum = 1.0 / k as f64;
            }
            let z = Tensor::random([n, latent], Distribution::Normal(0.0, 1.0), device);
            let _ = g.forward(z);
        }
        for (norm, m) in g.norms_mut().iter_mut().zip(momenta) {
            norm.momentum = m;
        }
        g.valid()
    }
}

/// The MLP discriminator.
#[derive(Module, Debug)]
pub struct MlpDiscriminator<B: Backend> {
    /// 784 → hidden → ... → 1.
    pub layers: Vec<SnLinear<B>>,
}

/// The DCGAN discriminator.
#[derive(Module, Debug)]
pub struct DcganDiscriminator<B: Backend> {
    /// Two stride-2 convolutions (28 → 14 → 7).
    pub convs: Vec<SnConv2d<B>>,
    /// Dropout after each.
    pub dropout: Dropout,
    /// The flattened 7 x 7 grid → one score.
    pub head: SnLinear<B>,
}

/// D: images [N, 1, 28, 28] in [−1, 1] → scores [N] (logits, or raw scores for LSGAN and WGAN).
// One per model, built once: the size gap between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Discriminator<B: Backend> {
    /// Fully connected.
    Mlp(MlpDiscriminator<B>),
    /// Convolutional.
    Dcgan(DcganDiscriminator<B>),
}

impl<B: Backend> Discriminator<B> {
    /// D(x) [N] (under autodiff, with dropout).
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 1> {
        self.forward_with(images, true)
    }

    /// D(x) [N] without dropout on every backend: the trained function, differentiable in x
    /// under autodiff.
    pub fn forward_inference(&self, images: Tensor<B, 4>) -> Tensor<B, 1> {
        self.forward_with(images, false)
    }

    fn forward_with(&self, images: Tensor<B, 4>, training: bool) -> Tensor<B, 1> {
        let n = images.dims()[0];
        let out = match self {
            Discriminator::Mlp(m) => {
                let last = m.layers.len() - 1;
                let mut x: Tensor<B, 2> = images.reshape([n, SIDE * SIDE]);
                for (i, layer) in m.layers.iter().enumerate() {
                    x = layer.forward(x);
                    if i < last {
                        x = leaky_relu(x, SLOPE);
                    }
                }
                x
            }
            Discriminator::Dcgan(m) => {
                let mut x = images;
                for conv in &m.convs {
                    x = leaky_relu(conv.forward(x), SLOPE);
                    if training {
                        x = gdl_core::random::dropout(&m.dropout, x);
                    }
                }
                m.head.forward(x.flatten(1, 3))
            }
        };
        out.reshape([n])
    }

    /// One more power iteration of every spectrally normalised weight (after each update).
    pub fn next_spectral_state(self) -> Self {
        match self {
            Discriminator::Mlp(m) => Discriminator::Mlp(MlpDiscriminator {
                layers: m.layers.into_iter().map(SnLinear::next).collect(),
            }),
            Discriminator::Dcgan(m) => Discriminator::Dcgan(DcganDiscriminator {
                convs: m.convs.into_iter().map(SnConv2d::next).collect(),
                dropout: m.dropout,
                head: m.head.next(),
            }),
        }
    }

    /// Every weight and bias clipped to [−c, c] (the WGAN critic's Lipschitz constraint).
    pub fn clip(self, c: f64) -> Self {
        match self {
            Discriminator::Mlp(m) => Discriminator::Mlp(MlpDiscriminator {
                layers: m.layers.into_iter().map(|l| l.clip(c)).collect(),
            }),
            Discriminator::Dcgan(m) => Discriminator::Dcgan(DcganDiscriminator {
                convs: m.convs.into_iter().map(|l| l.clip(c)).collect(),
                dropout: m.dropout,
                head: m.head.clip(c),
            }),
        }
    }
}
