//! Spectral normalisation (Miyato et al. 2018): a layer uses W / σ(W), σ(W) the largest
//! singular value of its weight as a matrix, so the discriminator is about 1-Lipschitz per
//! layer. σ is estimated by power iteration with a vector u kept between steps:
//!
//! ```text
//! v = Wᵀu / |Wᵀu|,   u' = W v / |W v|,   σ(W) ≈ u'ᵀ W v
//! ```
//!
//! u and v are constants to the gradient (no gradient of a gradient is needed); u' replaces u
//! after each discriminator update ([`SpectralNorm::next`]).
//!
//! It is the crate's stabiliser in place of WGAN-GP's gradient penalty
//! λ E(‖∇_x̂ f(x̂)‖ − 1)², which needs the gradient of a gradient: Burn 0.21 cannot take it, as
//! `Tensor::grad` returns the gradient on the inner backend (`Tensor<B::InnerBackend, D>`),
//! outside the autodiff graph, so the penalty would have no gradient with respect to the
//! critic's weights.

use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Distribution, Tensor};

/// The power-iteration state u [rows] of one weight matrix.
#[derive(Module, Debug)]
pub struct SpectralNorm<B: Backend> {
    /// u, a unit vector (not trained).
    pub u: Param<Tensor<B, 1>>,
}

const EPS: f64 = 1e-12;

fn unit<B: Backend>(x: Tensor<B, 1>) -> Tensor<B, 1> {
    let norm = x.clone().powi_scalar(2).sum().sqrt().add_scalar(EPS);
    x / norm
}

impl<B: Backend> SpectralNorm<B> {
    /// A random unit u for a matrix of `rows` rows.
    pub fn new(rows: usize, device: &B::Device) -> Self {
        let u = unit(Tensor::random(
            [rows],
            Distribution::Normal(0.0, 1.0),
            device,
        ));
        SpectralNorm {
            u: Param::from_tensor(u.detach()).set_require_grad(false),
        }
    }

    /// (u', v) from one power iteration on `w` [rows, cols], both detached.
    fn iterate(&self, w: &Tensor<B, 2>) -> (Tensor<B, 1>, Tensor<B, 1>) {
        let w = w.clone().detach();
        let [rows, cols] = w.dims();
        let u = self.u.val().detach().reshape([1, rows]);
        let v = unit(u.matmul(w.clone()).reshape([cols])); // Wᵀu
        let u_next = unit(w.matmul(v.clone().reshape([cols, 1])).reshape([rows])); // W v
        (u_next, v)
    }

    /// σ(W) ≈ u'ᵀ W v [1], differentiable in W.
    pub fn sigma(&self, w: Tensor<B, 2>) -> Tensor<B, 1> {
        let [rows, cols] = w.dims();
        let (u, v) = self.iterate(&w);
        u.reshape([1, rows])
            .matmul(w)
            .matmul(v.reshape([cols, 1]))
            .reshape([1])
    }

    /// The state after one more power iteration on `w` (call after each update of `w`).
    pub fn next(self, w: &Tensor<B, 2>) -> Self {
        let (u, _) = self.iterate(w);
        SpectralNorm {
            u: Param::from_tensor(u.detach()).set_require_grad(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::tensor::{from_f64, to_f64};
    use gdl_core::testing::TestBackend as B;
    use nalgebra::DMatrix;

    /// σ after some iterations equals the largest singular value from nalgebra's SVD.
    #[test]
    fn power_iteration_finds_the_largest_singular_value() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        gdl_core::seed::seed_all::<B>(&d, 3);
        let values = [
            1.0, -2.0, 0.5, 3.0, 0.0, 1.5, -1.0, 2.5, 0.3, 0.7, -0.4, 1.1,
        ];
        let w = from_f64::<B, 2>(values.to_vec(), [3, 4], &d);
        let mut sn = SpectralNorm::<B>::new(3, &d);
        for _ in 0..50 {
            sn = sn.next(&w);
        }
        let sigma = to_f64(sn.sigma(w))[0];
        let svd = DMatrix::from_row_slice(3, 4, &values).singular_values();
        let top = svd.iter().cloned().fold(0.0, f64::max);
        assert!((sigma - top).abs() < 1e-5 * top, "{sigma} vs {top}");
    }
}
