//! Group normalisation (Wu & He 2018) and batch normalisation (Ioffe & Szegedy 2015) with the
//! parameters of Burn's `GroupNorm` and `BatchNorm` modules, computed so that every full-size
//! operation is an element-wise pass against one scalar per (image, channel) row:
//!
//!   y_{n,c} = γ_c (x_{n,c} − μ) / √(σ² + ε) + β_c = (x_{n,c} − μ) s + β_c,  s = γ_c / √(σ² + ε),
//!
//! with μ, σ² those of the image's group of channels (group norm) or of the channel over the
//! batch (batch norm). Burn's own forwards subtract, divide, multiply and add tensors broadcast
//! from [1, C, 1, 1], a pattern the CPU backends walk element by element (on Flex about a tenth
//! of the U-Net's and of the DCGAN's training step); here the [N, C, H·W] passes meet [N, C, 1]
//! tensors: one scalar per row.
//!
//! On Flex (and `Autodiff<Flex>`), group norm, alone or followed by SiLU as in every
//! residual block of a U-Net, is one fused kernel with its own backward ([`kernel`]),
//! instead of a dozen element-wise operations and their gradients.

#[cfg(feature = "flex")]
mod flex;
pub mod kernel;

use burn::nn::{BatchNorm, GroupNorm};
use burn::tensor::activation::silu;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// `norm`'s group normalisation of x [N, C, H, W] (the same function as `norm.forward(x)`).
pub fn group_norm<B: Backend>(norm: &GroupNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    match fused(norm, &x, false) {
        Some(y) => y,
        None => composed(norm, x),
    }
}

/// SiLU(GroupNorm(x)): the same function as `silu(norm.forward(x))`.
pub fn group_norm_silu<B: Backend>(norm: &GroupNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    match fused(norm, &x, true) {
        Some(y) => y,
        None => silu(composed(norm, x)),
    }
}

/// The fused kernel where there is one: Flex, f32, with the affine map.
#[allow(unused_variables)]
fn fused<B: Backend>(norm: &GroupNorm<B>, x: &Tensor<B, 4>, silu: bool) -> Option<Tensor<B, 4>> {
    #[cfg(feature = "flex")]
    if let (Some(gamma), Some(beta)) = (&norm.gamma, &norm.beta) {
        let [batch, channels, h, w] = x.dims();
        if norm.num_groups > 0 && channels == norm.num_channels && channels % norm.num_groups == 0 {
            let shape = kernel::GroupShape {
                batch,
                channels,
                groups: norm.num_groups,
                pixels: h * w,
                epsilon: norm.epsilon,
                silu,
            };
            return flex::try_group_norm(x, &gamma.val(), &beta.val(), shape);
        }
    }
    None
}

/// Group norm from Burn's tensor operations (every backend).
fn composed<B: Backend>(norm: &GroupNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
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

/// `norm`'s batch normalisation of x [N, C, H, W] (the same function as `norm.forward(x)`):
/// with autodiff, the batch's statistics (biased variance), and the running statistics updated
/// as r ← (1 − m) r + m stat; without, the running statistics.
pub fn batch_norm<B: Backend>(norm: &BatchNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let training = B::ad_enabled(&x.device());
    normalise(norm, x, training)
}

/// `norm`'s batch normalisation of x [N, C, H, W] with its running statistics on every
/// backend: the inference function, differentiable in x under autodiff (the running
/// statistics stay as they are).
pub fn batch_norm_inference<B: Backend>(norm: &BatchNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    normalise(norm, x, false)
}

/// Batch norm with the batch's statistics (`training`, updating the running ones) or the
/// running statistics.
fn normalise<B: Backend>(norm: &BatchNorm<B>, x: Tensor<B, 4>, training: bool) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let x = x.reshape([n, c, h * w]);
    let device = x.device();
    // μ_c, σ²_c as [1, C, 1].
    let (mean, variance) = if training {
        let count = (n * h * w) as f64;
        let mean = x.clone().sum_dim(2).sum_dim(0).div_scalar(count);
        let variance = (x.clone() - mean.clone().repeat_dim(0, n))
            .square()
            .sum_dim(2)
            .sum_dim(0)
            .div_scalar(count);
        let m = norm.momentum;
        let running = |r: &burn::module::RunningState<Tensor<B, 1>>, stat: &Tensor<B, 3>| {
            let updated = r.value_sync().to_device(&device).mul_scalar(1.0 - m)
                + stat.clone().detach().reshape([c]).mul_scalar(m);
            r.update(updated.detach());
        };
        running(&norm.running_mean, &mean);
        running(&norm.running_var, &variance);
        (mean, variance)
    } else {
        let stat = |r: &burn::module::RunningState<Tensor<B, 1>>| {
            r.value().to_device(&device).reshape([1, c, 1])
        };
        (stat(&norm.running_mean), stat(&norm.running_var))
    };
    // s_c = γ_c / √(σ²_c + ε) and t_c = β_c − μ_c s_c, repeated to [N, C, 1]: y = x s + t.
    let scale = norm.gamma.val().reshape([1, c, 1]) / variance.add_scalar(norm.epsilon).sqrt();
    let shift = norm.beta.val().reshape([1, c, 1]) - mean * scale.clone();
    let y = x * scale.repeat_dim(0, n) + shift.repeat_dim(0, n);
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

    fn max_diff<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> f64 {
        to_f64(a)
            .iter()
            .zip(to_f64(b))
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    /// Values, the gradients of x, γ and β, and the running statistics equal Burn's
    /// `BatchNorm::forward` (to 1e-5), in training (autodiff) and in inference, over two
    /// steps so that the running statistics are used after an update.
    #[test]
    fn matches_burn_batch_norm_its_gradients_and_running_statistics() {
        use burn::module::AutodiffModule;
        use burn::nn::BatchNormConfig;
        let device = Default::default();
        let uniform = |lo, hi| Tensor::random([6], Distribution::Uniform(lo, hi), &device);
        // Two modules with equal γ, β and their own running statistics (a clone would share
        // them).
        let (gamma, beta) = (uniform(0.5, 1.5), uniform(-0.5, 0.5));
        let init = || {
            let mut norm: BatchNorm<Ad> = BatchNormConfig::new(6).init(&device);
            let copy =
                |t: &Tensor<Ad, 1>| Param::from_tensor(Tensor::from_data(t.to_data(), &device));
            norm.gamma = copy(&gamma);
            norm.beta = copy(&beta);
            norm
        };
        let (norm, twin) = (init(), init());
        for step in 0..2 {
            // One input per graph (both from the same numbers).
            let x: Tensor<Ad, 4> = Tensor::random(
                [4, 6, 3, 5],
                Distribution::Normal(0.5 * step as f64, 2.0),
                &device,
            );
            let (x, x_twin) = (
                Tensor::<Ad, 4>::from_data(x.to_data(), &device).require_grad(),
                Tensor::<Ad, 4>::from_data(x.to_data(), &device).require_grad(),
            );
            let weights: Tensor<Ad, 4> =
                Tensor::random([4, 6, 3, 5], Distribution::Normal(0.0, 1.0), &device);
            let ours = batch_norm(&norm, x.clone());
            let burns = twin.forward(x_twin.clone());
            assert!(max_diff(ours.clone(), burns.clone()) < 1e-5);
            let g_ours = (ours * weights.clone()).sum().backward();
            let g_burn = (burns * weights).sum().backward();
            let dx = |x: &Tensor<Ad, 4>, g| Tensor::<Ad, 4>::from_inner(x.grad(g).unwrap());
            assert!(max_diff(dx(&x, &g_ours), dx(&x_twin, &g_burn)) < 1e-5);
            for (p, q) in [(&norm.gamma, &twin.gamma), (&norm.beta, &twin.beta)] {
                let dp = |g, p: &Param<Tensor<Ad, 1>>| {
                    Tensor::<Ad, 1>::from_inner(p.val().grad(g).unwrap())
                };
                assert!(max_diff(dp(&g_ours, p), dp(&g_burn, q)) < 1e-4);
            }
            for (r, s) in [
                (&norm.running_mean, &twin.running_mean),
                (&norm.running_var, &twin.running_var),
            ] {
                assert!(max_diff(r.value(), s.value()) < 1e-6);
            }
        }
        // Inference: the running statistics.
        let (valid, twin) = (norm.valid(), twin.valid());
        let x = Tensor::random([4, 6, 3, 5], Distribution::Normal(1.0, 2.0), &device);
        let diff = max_diff(batch_norm(&valid, x.clone()), twin.forward(x));
        assert!(diff < 1e-5, "{diff}");
    }

    /// Values and the gradients of x, γ and β equal Burn's `GroupNorm::forward` (to 1e-5),
    /// with γ and β away from their initial 1 and 0, and without the affine map.
    #[test]
    fn matches_burn_group_norm_and_its_gradients() {
        let device = Default::default();
        for affine in [true, false] {
            let mut norm: GroupNorm<Ad> =
                GroupNormConfig::new(4, 8).with_affine(affine).init(&device);
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
