//! # gdl-ffnn: feed-forward networks, explicit back-propagation next to autodiff
//!
//! A layer computes z^l = W^l a^(l−1) + b^l and a^l = σ(z^l). Back-propagation (the lecture's
//! four equations):
//!
//! * δ^L = σ'(z^L) ∘ ∂C/∂a^L (for softmax + cross-entropy and sigmoid + binary
//!   cross-entropy this is simply a^L − y, divided by the batch size)
//! * δ^l = ((W^(l+1))ᵀ δ^(l+1)) ∘ σ'(z^l)
//! * ∂C/∂W^l = δ^l (a^(l−1))ᵀ,  ∂C/∂b^l = δ^l
//!
//! [`network`] implements them by hand on any Burn backend; [`twin`] is the same network as a
//! Burn `Module` differentiated by autodiff; the tests prove the two agree and match finite
//! differences. [`classifier`] holds the MNIST classifiers (MLP and CNN).
//!
//! ```
//! use gdl_ffnn::{activation::Activation, cost::{Cost, Penalty}, network::{Init, NetworkConfig}};
//! use gdl_core::backend::NdArray;
//! use burn::tensor::Tensor;
//! let device = Default::default();
//! let net = NetworkConfig::new(&[2, 3, 1], Activation::Sigmoid, Activation::Identity, Init::Xavier)
//!     .init::<NdArray>(&device)
//!     .unwrap();
//! let x = Tensor::<NdArray, 2>::from_floats([[0.5, -1.0]], &device);
//! let y = Tensor::<NdArray, 2>::from_floats([[2.0]], &device);
//! let (cost, grads) = net.backward(x, y, Cost::Mse, Penalty::default());
//! assert!(cost > 0.0);
//! assert_eq!(grads.layers[0].weight.dims(), [2, 3]);
//! ```

#![warn(missing_docs)]

pub mod activation;
pub mod classifier;
pub mod cost;
pub mod network;
pub mod score;
pub mod train;
pub mod twin;
