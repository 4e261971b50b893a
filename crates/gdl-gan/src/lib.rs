//! # gdl-gan: generative adversarial networks
//!
//! The minimax game min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))]. For a fixed
//! G the optimal discriminator is D* = p_data / (p_data + p_g), and at p_g = p_data, D* = ½ and
//! V = −log 4. This crate starts with the adversarial losses, computed from discriminator
//! logits so that they never take log 0:
//!
//! ```
//! use gdl_gan::loss::discriminator_loss;
//! use gdl_core::backend::NdArray;
//! use burn::tensor::Tensor;
//! let zeros = Tensor::<NdArray, 1>::zeros([4], &Default::default());
//! // D = ½ everywhere: the discriminator's loss is −V = log 4.
//! let loss: f32 = discriminator_loss(zeros.clone(), zeros).into_scalar();
//! assert!((loss - 4f32.ln()).abs() < 1e-6);
//! ```

#![warn(missing_docs)]

pub mod game;
pub mod latent_langevin;
pub mod loss;
pub mod model;
pub mod rejection;
pub mod sample;
pub mod spectral;
pub mod train;
