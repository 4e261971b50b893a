//! # gdl-ffnn: feed-forward networks and back-propagation
//!
//! A layer computes z^l = W^l a^(l−1) + b^l and a^l = σ(z^l). Back-propagation needs σ'(z):
//! δ^L = σ'(z^L) ∘ ∂C/∂a^L and δ^l = ((W^(l+1))ᵀ δ^(l+1)) ∘ σ'(z^l). This crate starts with
//! the activations and their derivatives, on any Burn backend:
//!
//! ```
//! use gdl_ffnn::activation::Activation;
//! use gdl_core::backend::NdArray;
//! use burn::tensor::Tensor;
//! let z = Tensor::<NdArray, 1>::from_floats([0.0], &Default::default());
//! // σ(0) = 1/2 and σ'(0) = σ(0)(1 − σ(0)) = 1/4.
//! assert_eq!(Activation::Sigmoid.derivative(z).into_data().to_vec::<f32>().unwrap(), vec![0.25]);
//! ```

pub mod activation;
