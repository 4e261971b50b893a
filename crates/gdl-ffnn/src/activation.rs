//! Activation functions σ and their derivatives σ', element-wise on tensors of any rank.
//!
//! | name | σ(z) | σ'(z) |
//! |---|---|---|
//! | identity | z | 1 |
//! | sigmoid | 1 / (1 + e^(−z)) | σ(z)(1 − σ(z)) |
//! | tanh | tanh z | 1 − tanh² z |
//! | ReLU | max(0, z) | 1[z > 0] |
//! | leaky ReLU | z if z > 0 else αz | 1 if z > 0 else α |
//! | ELU | z if z > 0 else α(e^z − 1) | 1 if z > 0 else αe^z |
//!
//! | softmax (output) | e^(z_k) / Σ_j e^(z_j) over the last axis | ∂a_k/∂z_j = a_k(1[k = j] − a_j) |
//!
//! At z = 0 ReLU-type derivatives take the left value (0, α), as PyTorch's autograd does.
//! Softmax is not element-wise: back-propagation uses [`Activation::backprop`], the
//! vector-Jacobian product δ = (∂a/∂z)ᵀ g, which for the element-wise functions is g ∘ σ'(z).

use burn::tensor::{activation, backend::Backend, Tensor};

/// σ(z) = 1 / (1 + e^(−z)) in the tensor's own precision (see `gdl_core::functions`).
pub use gdl_core::functions::sigmoid;

/// An element-wise activation function.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// σ(z) = z.
    Identity,
    /// σ(z) = 1/(1 + e^(−z)).
    Sigmoid,
    /// σ(z) = tanh z.
    Tanh,
    /// σ(z) = max(0, z).
    Relu,
    /// Leaky ReLU with negative slope α.
    LeakyRelu(f64),
    /// ELU with scale α.
    Elu(f64),
    /// Softmax over the last axis (an output layer for classes).
    Softmax,
}

impl Activation {
    /// a = σ(z).
    pub fn forward<B: Backend, const D: usize>(self, z: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Identity => z,
            Activation::Sigmoid => sigmoid(z),
            Activation::Tanh => z.tanh(),
            Activation::Relu => activation::relu(z),
            Activation::LeakyRelu(alpha) => {
                let positive = z.clone().greater_elem(0.0);
                z.clone().mul_scalar(alpha).mask_where(positive, z)
            }
            Activation::Elu(alpha) => {
                let positive = z.clone().greater_elem(0.0);
                z.clone()
                    .exp()
                    .sub_scalar(1.0)
                    .mul_scalar(alpha)
                    .mask_where(positive, z)
            }
            Activation::Softmax => activation::softmax(z, D - 1),
        }
    }

    /// δ = (∂a/∂z)ᵀ g given z, a = σ(z) and g = ∂C/∂a: g ∘ σ'(z) for the element-wise functions,
    /// and a ∘ (g − Σ_k g_k a_k) for softmax (summed over the last axis).
    pub fn backprop<B: Backend, const D: usize>(
        self,
        z: Tensor<B, D>,
        a: Tensor<B, D>,
        g: Tensor<B, D>,
    ) -> Tensor<B, D> {
        match self {
            Activation::Softmax => {
                let dot = (g.clone() * a.clone()).sum_dim(D - 1);
                a * (g - dot)
            }
            other => g * other.derivative(z),
        }
    }

    /// σ'(z), the factor back-propagation multiplies δ by.
    pub fn derivative<B: Backend, const D: usize>(self, z: Tensor<B, D>) -> Tensor<B, D> {
        match self {
            Activation::Identity => z.ones_like(),
            Activation::Sigmoid => {
                // σ'(z) = σ(z)(1 − σ(z))
                let s = sigmoid(z);
                s.clone() * (s.neg().add_scalar(1.0))
            }
            // tanh'(z) = 1 − tanh²(z)
            Activation::Tanh => z.tanh().powi_scalar(2).neg().add_scalar(1.0),
            Activation::Relu => z.greater_elem(0.0).float(),
            Activation::LeakyRelu(alpha) => {
                let positive = z.clone().greater_elem(0.0);
                z.clone()
                    .ones_like()
                    .mul_scalar(alpha)
                    .mask_fill(positive, 1.0)
            }
            Activation::Elu(alpha) => {
                // σ'(z) = αe^z for z <= 0
                let positive = z.clone().greater_elem(0.0);
                z.exp().mul_scalar(alpha).mask_fill(positive, 1.0)
            }
            // The Jacobian's diagonal ∂a_k/∂z_k = a_k(1 − a_k); use `backprop` for δ.
            Activation::Softmax => {
                let a = activation::softmax(z, D - 1);
                a.clone() * a.neg().add_scalar(1.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::testing::{TestAutodiffBackend as AD, TestBackend as B};

    const ALL: [Activation; 6] = [
        Activation::Identity,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu(0.1),
        Activation::Elu(1.3),
    ];

    /// Points away from the kink at 0, where central differences are valid.
    fn points() -> Vec<f32> {
        (0..40).map(|i| -3.9 + 0.2 * i as f32).collect()
    }

    fn host(t: Tensor<B, 1>) -> Vec<f32> {
        t.into_data().to_vec().unwrap()
    }

    #[test]
    fn forward_matches_scalar_definitions() {
        let z = points();
        let reference = |a: Activation, z: f64| match a {
            Activation::Identity => z,
            Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
            Activation::Tanh => z.tanh(),
            Activation::Relu => z.max(0.0),
            Activation::LeakyRelu(al) => {
                if z > 0.0 {
                    z
                } else {
                    al * z
                }
            }
            Activation::Elu(al) => {
                if z > 0.0 {
                    z
                } else {
                    al * (z.exp() - 1.0)
                }
            }
            Activation::Softmax => unreachable!("softmax is tested on its own"),
        };
        for a in ALL {
            let out = host(a.forward(Tensor::<B, 1>::from_floats(
                z.as_slice(),
                &Default::default(),
            )));
            for (zi, oi) in z.iter().zip(out) {
                assert!(
                    (oi as f64 - reference(a, *zi as f64)).abs() < 1e-6,
                    "{a:?} at {zi}"
                );
            }
        }
    }

    #[test]
    fn derivative_matches_central_differences() {
        let (z, h) = (points(), 1e-3f32);
        for a in ALL {
            let at = |shift: f32| {
                let zz: Vec<f32> = z.iter().map(|v| v + shift).collect();
                host(a.forward(Tensor::<B, 1>::from_floats(
                    zz.as_slice(),
                    &Default::default(),
                )))
            };
            let (plus, minus) = (at(h), at(-h));
            let d = host(a.derivative(Tensor::<B, 1>::from_floats(
                z.as_slice(),
                &Default::default(),
            )));
            for i in 0..z.len() {
                let fd = (plus[i] - minus[i]) / (2.0 * h);
                assert!(
                    (d[i] - fd).abs() < 2e-3,
                    "{a:?} at {}: {} vs {fd}",
                    z[i],
                    d[i]
                );
            }
        }
    }

    #[test]
    fn softmax_backprop_matches_autodiff() {
        // δ = (∂a/∂z)ᵀ g for a fixed g, against autodiff of Σ g ∘ softmax(z).
        let z = [[0.3f32, -1.2, 2.0], [0.0, 0.5, -0.5]];
        let g = [[1.0f32, -2.0, 0.5], [0.3, 0.3, -1.0]];
        let zt = Tensor::<AD, 2>::from_floats(z, &Default::default()).require_grad();
        let gt = Tensor::<AD, 2>::from_floats(g, &Default::default());
        let grads = (Activation::Softmax.forward(zt.clone()) * gt)
            .sum()
            .backward();
        let auto: Vec<f32> = zt.grad(&grads).unwrap().into_data().to_vec().unwrap();
        let zb = Tensor::<B, 2>::from_floats(z, &Default::default());
        let a = Activation::Softmax.forward(zb.clone());
        let ours: Vec<f32> = Activation::Softmax
            .backprop(zb, a.clone(), Tensor::from_floats(g, &Default::default()))
            .into_data()
            .to_vec()
            .unwrap();
        for (x, y) in auto.iter().zip(&ours) {
            assert!((x - y).abs() < 1e-6, "{auto:?} vs {ours:?}");
        }
        // Rows of softmax sum to one.
        let sums: Vec<f32> = a.sum_dim(1).into_data().to_vec().unwrap();
        assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-6));
    }

    #[test]
    fn derivative_matches_autodiff_including_zero() {
        let mut z = points();
        z.push(0.0);
        for a in ALL {
            let x = Tensor::<AD, 1>::from_floats(z.as_slice(), &Default::default()).require_grad();
            let grads = a.forward(x.clone()).sum().backward();
            let auto: Vec<f32> = x.grad(&grads).unwrap().into_data().to_vec().unwrap();
            let ours = host(a.derivative(Tensor::<B, 1>::from_floats(
                z.as_slice(),
                &Default::default(),
            )));
            for i in 0..z.len() {
                assert!(
                    (auto[i] - ours[i]).abs() < 1e-6,
                    "{a:?} at {}: autodiff {} ours {}",
                    z[i],
                    auto[i],
                    ours[i]
                );
            }
        }
    }
}
