//! The autodiff twin: the same architecture as [`crate::network::Network`] as a Burn `Module`
//! (one `Linear` per layer, W stored [n_in, n_out] as Burn does), whose gradients come from
//! reverse-mode automatic differentiation instead of the hand-written backward pass.

use crate::activation::Activation;
use crate::cost::{Cost, Penalty};
use crate::network::Network;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{backend::Backend, Tensor};
use gdl_core::tensor::float_options;

/// A feed-forward network as a Burn module.
#[derive(Module, Debug)]
pub struct MlpModule<B: Backend> {
    /// The dense layers, input first.
    pub layers: Vec<Linear<B>>,
    /// One activation per layer.
    #[module(skip)]
    pub activations: Vec<Activation>,
}

impl<B: Backend> MlpModule<B> {
    /// The module holding the same weights as `net` (from any backend), on `device`.
    pub fn from_network<C: Backend>(net: &Network<C>, device: &B::Device) -> Self {
        let layers = net
            .layers
            .iter()
            .map(|l| Linear {
                weight: Param::from_tensor(Tensor::from_data(
                    l.weight.to_data(),
                    float_options::<B>(device),
                )),
                bias: Some(Param::from_tensor(Tensor::from_data(
                    l.bias.to_data(),
                    float_options::<B>(device),
                ))),
            })
            .collect();
        MlpModule {
            layers,
            activations: net.layers.iter().map(|l| l.activation).collect(),
        }
    }

    /// A^L for inputs X (one example per row).
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.layers
            .iter()
            .zip(self.activations.iter())
            .fold(x, |a, (linear, act)| act.forward(linear.forward(a)))
    }

    /// C = cost(A^L, Y) + Σ_l penalty(W^l), as a differentiable one-element tensor.
    pub fn cost(
        &self,
        x: Tensor<B, 2>,
        y: Tensor<B, 2>,
        cost: Cost,
        penalty: Penalty,
    ) -> Tensor<B, 1> {
        let mut c = cost.value(self.forward(x), y);
        if !penalty.is_zero() {
            for linear in &self.layers {
                c = c + penalty.value(linear.weight.val());
            }
        }
        c
    }
}
