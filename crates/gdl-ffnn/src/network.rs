//! A feed-forward network with explicit back-propagation (no autodiff), in the batched row form
//! of the lecture's equations. With the N examples of a batch as rows:
//!
//! | lecture (one example, columns) | here (a batch, rows) |
//! |---|---|
//! | z^l = W^l a^(l−1) + b^l | Z^l = A^(l−1) W^l + b^l   (W^l is [n_(l−1), n_l]) |
//! | a^l = σ(z^l) | A^l = σ(Z^l) |
//! | δ^L = σ'(z^L) ∘ ∂C/∂a^L | Δ^L = (∂A^L/∂Z^L)ᵀ ∂C/∂A^L |
//! | δ^l = ((W^(l+1))ᵀ δ^(l+1)) ∘ σ'(z^l) | Δ^l = (Δ^(l+1) (W^(l+1))ᵀ) ∘ σ'(Z^l) |
//! | ∂C/∂W^l = δ^l (a^(l−1))ᵀ | ∂C/∂W^l = (A^(l−1))ᵀ Δ^l |
//! | ∂C/∂b^l = δ^l | ∂C/∂b^l = Σ_rows Δ^l |
//!
//! The cost is already averaged over the batch, so the sums over rows give its gradient.

use crate::activation::Activation;
use crate::cost::{Cost, Penalty};
use burn::tensor::{backend::Backend, Distribution, Tensor};
use gdl_core::optim::UpdateRule;
use gdl_core::tensor::{float_options, to_f64};
use gdl_core::{Error, Result};

/// How weights start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Init {
    /// Xavier/Glorot uniform: W ~ U(−r, r), r = √(6 / (n_in + n_out)) (for sigmoid, tanh).
    #[default]
    Xavier,
    /// He normal: W ~ N(0, 2 / n_in) (for ReLU-type layers).
    He,
}

impl Init {
    /// A weight matrix [n_in, n_out] drawn from Burn's (seeded) backend RNG.
    pub fn weight<B: Backend>(self, n_in: usize, n_out: usize, device: &B::Device) -> Tensor<B, 2> {
        let distribution = match self {
            Init::Xavier => {
                let r = (6.0 / (n_in + n_out) as f64).sqrt();
                Distribution::Uniform(-r, r)
            }
            Init::He => Distribution::Normal(0.0, (2.0 / n_in as f64).sqrt()),
        };
        Tensor::random([n_in, n_out], distribution, float_options::<B>(device))
    }
}

/// One layer: weights W [n_in, n_out], biases b [n_out] and its activation σ.
#[derive(Clone, Debug)]
pub struct Dense<B: Backend> {
    /// W [n_in, n_out].
    pub weight: Tensor<B, 2>,
    /// b [n_out].
    pub bias: Tensor<B, 1>,
    /// σ.
    pub activation: Activation,
}

/// What a layer's forward pass keeps for the backward pass.
#[derive(Clone, Debug)]
pub struct DenseCache<B: Backend> {
    /// A^(l−1), the layer's input.
    pub input: Tensor<B, 2>,
    /// Z^l.
    pub z: Tensor<B, 2>,
    /// A^l = σ(Z^l).
    pub a: Tensor<B, 2>,
}

/// The gradients of one layer.
#[derive(Clone, Debug)]
pub struct DenseGrads<B: Backend> {
    /// ∂C/∂W.
    pub weight: Tensor<B, 2>,
    /// ∂C/∂b.
    pub bias: Tensor<B, 1>,
}

impl<B: Backend> Dense<B> {
    /// Z = A W + b, A' = σ(Z); returns A' and the cache.
    pub fn forward(&self, input: Tensor<B, 2>) -> DenseCache<B> {
        let z = input.clone().matmul(self.weight.clone()) + self.bias.clone().unsqueeze_dim(0);
        let a = self.activation.forward(z.clone());
        DenseCache { input, z, a }
    }

    /// Given Δ^l of this layer: ∂C/∂W = Aᵀ Δ, ∂C/∂b = Σ_rows Δ, and the upstream gradient
    /// ∂C/∂A^(l−1) = Δ Wᵀ (the next layer down turns it into its Δ with its σ').
    pub fn backward(
        &self,
        cache: &DenseCache<B>,
        delta: Tensor<B, 2>,
    ) -> (DenseGrads<B>, Tensor<B, 2>) {
        let weight = cache.input.clone().transpose().matmul(delta.clone()); // (A^(l−1))ᵀ Δ^l
        let bias = delta.clone().sum_dim(0).squeeze_dim(0); // Σ_rows Δ^l
        let upstream = delta.matmul(self.weight.clone().transpose()); // Δ^l (W^l)ᵀ
        (DenseGrads { weight, bias }, upstream)
    }
}

/// The shape of a network: layer widths and activations.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkConfig {
    /// n_0 (inputs), n_1, ..., n_L (outputs).
    pub sizes: Vec<usize>,
    /// σ of each of the L layers.
    pub activations: Vec<Activation>,
    /// Weight initialisation (biases start at zero).
    pub init: Init,
}

impl NetworkConfig {
    /// Hidden layers with activation `hidden`, output layer with `output`.
    pub fn new(sizes: &[usize], hidden: Activation, output: Activation, init: Init) -> Self {
        let layers = sizes.len().saturating_sub(1);
        let activations = (0..layers)
            .map(|l| if l + 1 == layers { output } else { hidden })
            .collect();
        NetworkConfig {
            sizes: sizes.to_vec(),
            activations,
            init,
        }
    }

    /// A network with freshly initialised weights (seed Burn's RNG first for repeatability).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Result<Network<B>> {
        if self.sizes.len() < 2 || self.sizes.contains(&0) {
            return Err(Error::invalid(
                "layer sizes",
                format!(
                    "{:?}: need at least an input and an output size, all > 0",
                    self.sizes
                ),
            ));
        }
        if self.activations.len() != self.sizes.len() - 1 {
            return Err(Error::invalid(
                "activations",
                format!(
                    "{} activations for {} layers",
                    self.activations.len(),
                    self.sizes.len() - 1
                ),
            ));
        }
        if let Some(l) = self.activations[..self.activations.len() - 1]
            .iter()
            .position(|a| *a == Activation::Softmax)
        {
            return Err(Error::invalid(
                "activations",
                format!(
                    "softmax is for the output layer, not hidden layer {}",
                    l + 1
                ),
            ));
        }
        let layers = self
            .sizes
            .windows(2)
            .zip(&self.activations)
            .map(|(w, &activation)| Dense {
                weight: self.init.weight(w[0], w[1], device),
                bias: Tensor::zeros([w[1]], float_options::<B>(device)),
                activation,
            })
            .collect();
        Ok(Network { layers })
    }
}

/// A feed-forward network with explicit back-propagation.
#[derive(Clone, Debug)]
pub struct Network<B: Backend> {
    /// The layers, input first.
    pub layers: Vec<Dense<B>>,
}

/// ∂C/∂W^l and ∂C/∂b^l for every layer.
#[derive(Clone, Debug)]
pub struct Gradients<B: Backend> {
    /// One per layer, input first.
    pub layers: Vec<DenseGrads<B>>,
}

impl<B: Backend> Network<B> {
    /// The output A^L for inputs X (one example per row).
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.layers.iter().fold(x, |a, layer| layer.forward(a).a)
    }

    /// The forward pass keeping every layer's cache.
    pub fn forward_cached(&self, x: Tensor<B, 2>) -> Vec<DenseCache<B>> {
        let mut caches: Vec<DenseCache<B>> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let input = caches.last().map_or_else(|| x.clone(), |c| c.a.clone());
            caches.push(layer.forward(input));
        }
        caches
    }

    /// C = cost(A^L, Y) + Σ_l penalty(W^l).
    pub fn cost(&self, x: Tensor<B, 2>, y: Tensor<B, 2>, cost: Cost, penalty: Penalty) -> f64 {
        let mut c = to_f64(cost.value(self.forward(x), y))[0];
        if !penalty.is_zero() {
            c += self
                .layers
                .iter()
                .map(|l| to_f64(penalty.value(l.weight.clone()))[0])
                .sum::<f64>();
        }
        c
    }

    /// Back-propagation: the cost and the gradients of every weight and bias.
    pub fn backward(
        &self,
        x: Tensor<B, 2>,
        y: Tensor<B, 2>,
        cost: Cost,
        penalty: Penalty,
    ) -> (f64, Gradients<B>) {
        let caches = self.forward_cached(x);
        let last = caches.last().expect("a network has at least one layer");
        let output = self.layers.last().expect("at least one layer").activation;
        let mut c = to_f64(cost.value(last.a.clone(), y.clone()))[0];
        // 1. δ^L = (∂a^L/∂z^L)ᵀ ∂C/∂a^L
        let mut delta = cost.output_delta(output, last.z.clone(), last.a.clone(), y);
        let mut grads = Vec::with_capacity(self.layers.len());
        for (l, (layer, cache)) in self.layers.iter().zip(&caches).enumerate().rev() {
            // 2. ∂C/∂W^l = (a^(l−1))ᵀ δ^l, ∂C/∂b^l = Σ δ^l; upstream = δ^l (W^l)ᵀ
            let (mut g, upstream) = layer.backward(cache, delta);
            if !penalty.is_zero() {
                c += to_f64(penalty.value(layer.weight.clone()))[0];
                g.weight = g.weight + penalty.gradient(layer.weight.clone());
            }
            grads.push(g);
            // 3. δ^(l−1) = (δ^l (W^l)ᵀ) ∘ σ'(z^(l−1))
            delta = match l {
                0 => upstream,
                _ => {
                    let below = &caches[l - 1];
                    self.layers[l - 1].activation.backprop(
                        below.z.clone(),
                        below.a.clone(),
                        upstream,
                    )
                }
            };
        }
        grads.reverse();
        (c, Gradients { layers: grads })
    }

    /// The same network on backend `C` and `device` (weights copied through the host).
    pub fn to_backend<C: Backend>(&self, device: &C::Device) -> Network<C> {
        Network {
            layers: self
                .layers
                .iter()
                .map(|l| Dense {
                    weight: Tensor::from_data(l.weight.to_data(), float_options::<C>(device)),
                    bias: Tensor::from_data(l.bias.to_data(), float_options::<C>(device)),
                    activation: l.activation,
                })
                .collect(),
        }
    }

    /// One optimiser update of every weight (slot 2l) and bias (slot 2l + 1).
    pub fn apply(&mut self, optimizer: &mut UpdateRule<B>, grads: Gradients<B>) {
        for (l, (layer, g)) in self.layers.iter_mut().zip(grads.layers).enumerate() {
            layer.weight = optimizer.step(2 * l, layer.weight.clone(), g.weight);
            layer.bias = optimizer.step(2 * l + 1, layer.bias.clone(), g.bias);
        }
    }
}
