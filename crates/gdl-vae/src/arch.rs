//! Encoder and decoder networks, MLP or convolutional. The encoder maps x [N, 784] to
//! features [N, d_hidden] (the heads for μ and log σ² live in the model); the decoder maps
//! h [N, d] to one output per pixel [N, 784], the pre-sigmoid pixel mean.
//!
//! ```text
//! MLP   encoder: x → fc d_hidden, ReLU
//!       decoder: h → fc d_hidden, ReLU → fc 784
//! Conv  encoder: x [N,1,28,28] → conv 32 (4x4, stride 2) ReLU [14x14]
//!                → conv 64 (4x4, stride 2) ReLU [7x7] → flatten 3136 → fc d_hidden, ReLU
//!       decoder: h → fc d_hidden, ReLU → fc 3136, ReLU → [64,7,7]
//!                → transposed conv 32 (4x4, stride 2) ReLU [14x14]
//!                → transposed conv 1 (4x4, stride 2) [28x28] → flatten 784
//! ```

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{activation::relu, backend::Backend, Tensor};
use gdl_core::conv::Convolution;
use gdl_core::linear::Affine;

/// Side of the square images the convolutional networks take.
pub const SIDE: usize = 28;
const C1: usize = 32;
const C2: usize = 64;
const SIDE2: usize = SIDE / 4; // 7 after two stride-2 convolutions

/// Which networks encode and decode.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Architecture {
    /// Fully connected layers.
    Mlp,
    /// Strided convolutions and transposed convolutions (28 x 28 images only).
    Conv,
}

impl std::str::FromStr for Architecture {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mlp" => Ok(Architecture::Mlp),
            "conv" => Ok(Architecture::Conv),
            _ => Err(format!("unknown architecture `{s}` (expected mlp or conv)")),
        }
    }
}

/// x [N, d_input] → features [N, d_hidden].
// One per model, built once: the size gap between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Encoder<B: Backend> {
    /// Fully connected.
    Mlp(MlpEncoder<B>),
    /// Convolutional.
    Conv(ConvEncoder<B>),
}

/// h [N, d] → pre-sigmoid pixel means [N, d_input].
// One per model, built once: the size gap between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Decoder<B: Backend> {
    /// Fully connected.
    Mlp(MlpDecoder<B>),
    /// Convolutional.
    Conv(ConvDecoder<B>),
}

impl<B: Backend> Encoder<B> {
    /// The encoder trunk for `arch`, input d_input, output d_hidden features.
    pub fn new(arch: Architecture, d_input: usize, d_hidden: usize, device: &B::Device) -> Self {
        match arch {
            Architecture::Mlp => Encoder::Mlp(MlpEncoder {
                fc: LinearConfig::new(d_input, d_hidden).init(device),
            }),
            Architecture::Conv => Encoder::Conv(ConvEncoder {
                conv1: stride2_conv(1, C1, device),
                conv2: stride2_conv(C1, C2, device),
                fc: LinearConfig::new(C2 * SIDE2 * SIDE2, d_hidden).init(device),
            }),
        }
    }

    /// x [N, d_input] → features [N, d_hidden].
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Encoder::Mlp(m) => relu(m.fc.apply(x)),
            Encoder::Conv(m) => {
                let n = x.dims()[0];
                let a = relu(m.conv1.apply(x.reshape([n, 1, SIDE, SIDE]))); // [N, 32, 14, 14]
                let a = relu(m.conv2.apply(a)); // [N, 64, 7, 7]
                relu(m.fc.apply(a.reshape([n, C2 * SIDE2 * SIDE2])))
            }
        }
    }
}

impl<B: Backend> Decoder<B> {
    /// The decoder for `arch`: h [N, d_latent] → pre-sigmoid pixel means [N, d_input].
    pub fn new(
        arch: Architecture,
        d_latent: usize,
        d_hidden: usize,
        d_input: usize,
        device: &B::Device,
    ) -> Self {
        match arch {
            Architecture::Mlp => Decoder::Mlp(MlpDecoder {
                fc: LinearConfig::new(d_latent, d_hidden).init(device),
                out: LinearConfig::new(d_hidden, d_input).init(device),
            }),
            Architecture::Conv => Decoder::Conv(ConvDecoder {
                fc: LinearConfig::new(d_latent, d_hidden).init(device),
                fc_grid: LinearConfig::new(d_hidden, C2 * SIDE2 * SIDE2).init(device),
                deconv1: stride2_deconv(C2, C1, device),
                deconv2: stride2_deconv(C1, 1, device),
            }),
        }
    }

    /// h [N, d] → pre-sigmoid pixel means [N, d_input].
    pub fn forward(&self, h: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Decoder::Mlp(m) => m.out.apply(relu(m.fc.apply(h))),
            Decoder::Conv(m) => {
                let n = h.dims()[0];
                let a = relu(m.fc_grid.apply(relu(m.fc.apply(h))));
                let a = relu(m.deconv1.apply(a.reshape([n, C2, SIDE2, SIDE2]))); // [N, 32, 14, 14]
                m.deconv2.apply(a).reshape([n, SIDE * SIDE]) // [N, 1, 28, 28] → [N, 784]
            }
        }
    }
}

/// x → ReLU(W x + b).
#[derive(Module, Debug)]
pub struct MlpEncoder<B: Backend> {
    fc: Linear<B>,
}

/// h → W₂ ReLU(W₁ h + b₁) + b₂.
#[derive(Module, Debug)]
pub struct MlpDecoder<B: Backend> {
    fc: Linear<B>,
    out: Linear<B>,
}

/// Two stride-2 convolutions (32, 64 channels) and a dense layer.
#[derive(Module, Debug)]
pub struct ConvEncoder<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
    fc: Linear<B>,
}

/// A dense layer to a 7 x 7 x 64 grid and two stride-2 transposed convolutions.
#[derive(Module, Debug)]
pub struct ConvDecoder<B: Backend> {
    fc: Linear<B>,
    fc_grid: Linear<B>,
    deconv1: ConvTranspose2d<B>,
    deconv2: ConvTranspose2d<B>,
}

/// 4x4 kernel, stride 2, padding 1: halves the side (28 → 14 → 7).
fn stride2_conv<B: Backend>(c_in: usize, c_out: usize, device: &B::Device) -> Conv2d<B> {
    Conv2dConfig::new([c_in, c_out], [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

/// The transpose of [`stride2_conv`]: side (s − 1)·2 − 2 + 4 = 2s (7 → 14 → 28).
fn stride2_deconv<B: Backend>(c_in: usize, c_out: usize, device: &B::Device) -> ConvTranspose2d<B> {
    ConvTranspose2dConfig::new([c_in, c_out], [4, 4])
        .with_stride([2, 2])
        .with_padding([1, 1])
        .init(device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::testing::TestBackend as B;

    #[test]
    fn shapes_of_both_architectures() {
        let d = Default::default();
        for arch in [Architecture::Mlp, Architecture::Conv] {
            let enc = Encoder::<B>::new(arch, 784, 16, &d);
            let dec = Decoder::<B>::new(arch, 3, 16, 784, &d);
            assert_eq!(enc.forward(Tensor::zeros([2, 784], &d)).dims(), [2, 16]);
            assert_eq!(dec.forward(Tensor::zeros([2, 3], &d)).dims(), [2, 784]);
        }
        assert_eq!("conv".parse::<Architecture>(), Ok(Architecture::Conv));
        assert!("rnn".parse::<Architecture>().unwrap_err().contains("rnn"));
    }
}
