//! Group normalisation (Wu & He 2018) with the parameters of Burn's `GroupNorm` module,
//! computed so that every full-size operation is an element-wise pass against one scalar per
//! (image, channel) row:
//!
//!   y_{n,c} = γ_c (x_{n,c} − μ_{n,g}) / √(σ²_{n,g} + ε) + β_c = (x_{n,c} − μ_{n,g}) s_{n,c} + β_c,
//!   s_{n,c} = γ_c / √(σ²_{n,g} + ε), with g the group of channel c.
//!
//! Burn's own forward multiplies by γ and adds β broadcast from [1, C, 1, 1], a pattern the
//! CPU backends walk element by element (on Flex, about a tenth of the U-Net's training step);
//! here γ and β meet only [N, C, 1] tensors, and the [N, C, H·W] passes see a scalar per row.

use burn::nn::GroupNorm;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// `norm`'s group normalisation of x [N, C, H, W] (the same function as `norm.forward(x)`).
pub fn group_norm<B: Backend>(norm: &GroupNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let groups = norm.num_groups;
    let per_group = c / groups;
    // μ_{n,g} and σ²_{n,g} over the group's channels and pixels.
    let grouped = x.reshape([n, groups, per_group * h * w]);
    let mean = grouped.clone().mean_dim(2);
    let centred = grouped - mean;
    let variance = centred.clone().square().mean_dim(2);
    // 1/√(σ² + ε), one per (image, channel): [N, G, 1] → [N, G, C/G] → [N, C, 1].
    let inv_std = variance
        .add_scalar(norm.epsilon)
        .sqrt()
        .recip()
        .repeat_dim(2, per_group)
        .reshape([n, c, 1]);
    let centred = centred.reshape([n, c, h * w]);
    let y = match (&norm.gamma, &norm.beta) {
        (Some(gamma), Some(beta)) => {
            // s_{n,c} = γ_c / √(σ²_{n,g} + ε); β repeated to [N, C, 1].
            let scale = inv_std * gamma.val().reshape([1, c, 1]);
            let shift = beta.val().reshape([1, c, 1]).repeat_dim(0, n);
            centred * scale + shift
        }
        _ => centred * inv_std,
    };
    y.reshape([n, c, h, w])
}

#[cfg(all(test, feature = "ndarray"))]
mod tests {
    use super::*;
    use crate::backend::NdArrayAutodiff as Ad;
    use crate::tensor::to_f64;
    use burn::module::Param;
    use burn::nn::GroupNormConfig;
    use burn::tensor::Distribution;

    fn max_diff<const D: usize>(a: Tensor<Ad, D>, b: Tensor<Ad, D>) -> f64 {
        to_f64(a)
            .iter()
            .zip(to_f64(b))
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    /// Values and the gradients of x, γ and β equal Burn's `GroupNorm::forward` (to 1e-5),
    /// with γ and β away from their initial 1 and 0, and without the affine map.
    #[test]
    fn matches_burn_group_norm_and_its_gradients() {
        let device = Default::default();
        for affine in [true, false] {
            let mut norm: GroupNorm<Ad> = GroupNormConfig::new(4, 8)
                .with_affine(affine)
                .init(&device);
            if affine {
                let uniform = |lo, hi| {
                    Param::from_tensor(Tensor::random([8], Distribution::Uniform(lo, hi), &device))
                };
                norm.gamma = Some(uniform(0.5, 1.5));
                norm.beta = Some(uniform(-0.5, 0.5));
            }
            let x: Tensor<Ad, 4> =
                Tensor::random([3, 8, 5, 6], Distribution::Normal(0.3, 2.0), &device)
                    .require_grad();
            // A weighted sum, so that every output's gradient differs.
            let weights: Tensor<Ad, 4> =
                Tensor::random([3, 8, 5, 6], Distribution::Normal(0.0, 1.0), &device);
            let ours = group_norm(&norm, x.clone());
            let burns = norm.forward(x.clone());
            assert_eq!(ours.dims(), burns.dims());
            assert!(max_diff(ours.clone(), burns.clone()) < 1e-5);
            let g_ours = (ours * weights.clone()).sum().backward();
            let g_burn = (burns * weights).sum().backward();
            let dx = |g| Tensor::<Ad, 4>::from_inner(x.grad(g).unwrap());
            assert!(max_diff(dx(&g_ours), dx(&g_burn)) < 1e-5);
            if let (Some(gamma), Some(beta)) = (&norm.gamma, &norm.beta) {
                for p in [gamma.val(), beta.val()] {
                    let dp = |g| Tensor::<Ad, 1>::from_inner(p.grad(g).unwrap());
                    assert!(max_diff(dp(&g_ours), dp(&g_burn)) < 1e-4);
                }
            }
        }
    }
}
