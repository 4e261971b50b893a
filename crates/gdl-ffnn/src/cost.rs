//! Costs of a batch of N outputs a (rows) against targets y, with their gradients ∂C/∂a and
//! the output error δ^L = (∂a^L/∂z^L)ᵀ ∂C/∂a^L, and the L1 / L2 weight penalties.
//!
//! | cost | C(a, y) | ∂C/∂a |
//! |---|---|---|
//! | MSE | (1/(NK)) Σ (a − y)² | 2(a − y)/(NK) |
//! | binary cross-entropy | −(1/(NK)) Σ [y ln a + (1 − y) ln(1 − a)] | (a − y)/(a(1 − a)NK) |
//! | categorical cross-entropy | −(1/N) Σ y ln a | −y/(aN) |
//!
//! (K outputs per row.) With a sigmoid output and binary cross-entropy, or a softmax output
//! and categorical cross-entropy, the factors cancel: δ^L = (a − y)/(NK) and (a − y)/N.

use crate::activation::Activation;
use burn::tensor::{backend::Backend, Tensor};

/// Logarithms are taken of max(a, EPS) (and of max(1 − a, EPS)) so a saturated output gives a
/// large finite cost instead of infinity.
const EPS: f64 = 1e-12;

/// The cost function of a network's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// Mean squared error over all N·K entries.
    Mse,
    /// Binary cross-entropy over all N·K entries (outputs in (0, 1)).
    BinaryCrossEntropy,
    /// Categorical cross-entropy, summed over the K classes, averaged over the N rows.
    CrossEntropy,
}

impl Cost {
    /// C(a, y) as a one-element tensor (differentiable on an autodiff backend).
    pub fn value<B: Backend>(self, a: Tensor<B, 2>, y: Tensor<B, 2>) -> Tensor<B, 1> {
        let [n, _] = a.dims();
        match self {
            Cost::Mse => (a - y).powi_scalar(2).mean(),
            Cost::BinaryCrossEntropy => {
                let log_a = a.clone().clamp_min(EPS).log();
                let log_1ma = a.neg().add_scalar(1.0).clamp_min(EPS).log();
                (y.clone() * log_a + y.neg().add_scalar(1.0) * log_1ma)
                    .mean()
                    .neg()
            }
            Cost::CrossEntropy => (y * a.clamp_min(EPS).log())
                .sum()
                .div_scalar(n as f64)
                .neg(),
        }
    }

    /// ∂C/∂a.
    pub fn gradient<B: Backend>(self, a: Tensor<B, 2>, y: Tensor<B, 2>) -> Tensor<B, 2> {
        let [n, k] = a.dims();
        match self {
            // 2(a − y)/(NK)
            Cost::Mse => (a - y).mul_scalar(2.0 / (n * k) as f64),
            // (a − y)/(a(1 − a)NK)
            Cost::BinaryCrossEntropy => {
                let denominator =
                    a.clone().clamp_min(EPS) * a.clone().neg().add_scalar(1.0).clamp_min(EPS);
                (a - y).div(denominator).div_scalar((n * k) as f64)
            }
            // −y/(aN)
            Cost::CrossEntropy => y.div(a.clamp_min(EPS)).div_scalar(n as f64).neg(),
        }
    }

    /// δ^L for output activation `output` at pre-activation z and output a: the cancelled
    /// forms for sigmoid + binary cross-entropy and softmax + cross-entropy, the general
    /// vector-Jacobian product otherwise.
    pub fn output_delta<B: Backend>(
        self,
        output: Activation,
        z: Tensor<B, 2>,
        a: Tensor<B, 2>,
        y: Tensor<B, 2>,
    ) -> Tensor<B, 2> {
        let [n, k] = a.dims();
        match (output, self) {
            // δ^L = (a − y)/(NK)
            (Activation::Sigmoid, Cost::BinaryCrossEntropy) => (a - y).div_scalar((n * k) as f64),
            // δ^L = (a − y)/N
            (Activation::Softmax, Cost::CrossEntropy) => (a - y).div_scalar(n as f64),
            _ => output.backprop(z, a.clone(), self.gradient(a, y)),
        }
    }
}

/// Weight penalties added to the cost: λ₁ Σ|W| + λ₂ Σ W² over every weight matrix (biases are
/// not penalised).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Penalty {
    /// λ₁ (L1, Lasso-like).
    pub l1: f64,
    /// λ₂ (L2, Ridge-like, "weight decay").
    pub l2: f64,
}

impl Penalty {
    /// λ₁ Σ|W| + λ₂ Σ W² for one weight matrix.
    pub fn value<B: Backend>(&self, w: Tensor<B, 2>) -> Tensor<B, 1> {
        w.clone().abs().sum().mul_scalar(self.l1) + w.powi_scalar(2).sum().mul_scalar(self.l2)
    }

    /// ∂/∂W = λ₁ sign(W) + 2λ₂ W.
    pub fn gradient<B: Backend>(&self, w: Tensor<B, 2>) -> Tensor<B, 2> {
        w.clone().sign().mul_scalar(self.l1) + w.mul_scalar(2.0 * self.l2)
    }

    /// Whether both strengths are zero.
    pub fn is_zero(&self) -> bool {
        self.l1 == 0.0 && self.l2 == 0.0
    }
}
