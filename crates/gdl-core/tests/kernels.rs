//! gdl's own Flex kernels against Burn's generic ones on NdArray, outputs and gradients to
//! 1e-5: the convolutions, im2col's and the grid's (x, w and b, for the shapes gdl's models use
//! and some awkward ones), the affine map (x, W and b), the fused group norm with and without SiLU (x, γ and β),
//! SiLU, the Bernoulli negative log-likelihood, and the concatenation and upsampling of feature
//! maps.

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Tensor, TensorData};
use gdl_core::backend::{Flex, FlexAutodiff, NdArray, NdArrayAutodiff};
use gdl_core::conv::{conv2d, conv_transpose2d};
use gdl_core::norm::{group_norm, group_norm_silu};

fn ramp(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

fn tensor<B: Backend, const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(ramp(n, seed), shape), &Default::default())
}

fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().convert::<f32>().into_vec().unwrap()
}

/// |a − b| ≤ 1e-5 · (1 + max |b|) elementwise: 1e-5 of the tensor's scale.
fn close(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = 1.0 + b.iter().fold(0.0f32, |m, y| m.max(y.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 * scale,
            "{what}[{i}]: {x} vs {y} (scale {scale})"
        );
    }
}

/// Output and the gradients of Σ y·r (r fixed) with respect to x, w, b.
#[derive(Debug)]
struct Run {
    y: Vec<f32>,
    grads: [Vec<f32>; 3],
}

enum Case {
    Conv([usize; 4], [usize; 4], ConvOptions<2>),
    ConvT([usize; 4], [usize; 4], ConvTransposeOptions<2>),
}

fn run<B: AutodiffBackend>(case: &Case) -> Run {
    let (xs, ws) = match case {
        Case::Conv(x, w, _) | Case::ConvT(x, w, _) => (*x, *w),
    };
    let bias_len = match case {
        Case::Conv(..) => ws[0],
        Case::ConvT(..) => ws[1],
    };
    let x = tensor::<B, 4>(xs, 1).require_grad();
    let w = tensor::<B, 4>(ws, 2).require_grad();
    let b = tensor::<B, 1>([bias_len], 3).require_grad();
    let y = match case {
        Case::Conv(_, _, o) => conv2d(x.clone(), w.clone(), Some(b.clone()), o.clone()),
        Case::ConvT(_, _, o) => conv_transpose2d(x.clone(), w.clone(), Some(b.clone()), o.clone()),
    };
    let r = tensor::<B, 4>(y.dims(), 4);
    let grads = (y.clone() * r).sum().backward();
    let g = |t: &Tensor<B, 4>| host(t.grad(&grads).unwrap());
    Run {
        y: host(y),
        grads: [g(&x), g(&w), host(b.grad(&grads).unwrap())],
    }
}

fn cases() -> Vec<(&'static str, Case)> {
    vec![
        (
            "DCGAN D conv 64→128 5×5 s2 p2",
            Case::Conv(
                [4, 64, 14, 14],
                [128, 64, 5, 5],
                ConvOptions::new([2, 2], [2, 2], [1, 1], 1),
            ),
        ),
        (
            "DCGAN D conv 1→64 5×5 s2 p2",
            Case::Conv(
                [3, 1, 28, 28],
                [64, 1, 5, 5],
                ConvOptions::new([2, 2], [2, 2], [1, 1], 1),
            ),
        ),
        (
            "U-Net 3×3 p1",
            Case::Conv(
                [2, 16, 14, 14],
                [32, 16, 3, 3],
                ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
            ),
        ),
        (
            "U-Net output 32→1 3×3 p1 (the grid)",
            Case::Conv(
                [2, 32, 28, 28],
                [1, 32, 3, 3],
                ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
            ),
        ),
        (
            "dilated, no padding, odd sizes",
            Case::Conv(
                [2, 3, 11, 9],
                [5, 3, 3, 2],
                ConvOptions::new([2, 1], [0, 0], [2, 3], 1),
            ),
        ),
        (
            "1×1",
            Case::Conv(
                [2, 8, 5, 5],
                [4, 8, 1, 1],
                ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
            ),
        ),
        (
            "DCGAN G convT 256→128 5×5 s1 p2",
            Case::ConvT(
                [2, 256, 7, 7],
                [256, 128, 5, 5],
                ConvTransposeOptions::new([1, 1], [2, 2], [0, 0], [1, 1], 1),
            ),
        ),
        (
            "DCGAN G convT 128→64 5×5 s2 p2 out1",
            Case::ConvT(
                [3, 128, 7, 7],
                [128, 64, 5, 5],
                ConvTransposeOptions::new([2, 2], [2, 2], [1, 1], [1, 1], 1),
            ),
        ),
        (
            "VAE convT 4×4 s2 p1",
            Case::ConvT(
                [2, 32, 7, 7],
                [32, 16, 4, 4],
                ConvTransposeOptions::new([2, 2], [1, 1], [0, 0], [1, 1], 1),
            ),
        ),
        (
            "convT dilated, odd",
            Case::ConvT(
                [2, 3, 5, 4],
                [3, 2, 3, 2],
                ConvTransposeOptions::new([3, 2], [1, 0], [2, 1], [2, 1], 1),
            ),
        ),
    ]
}

#[test]
fn flex_im2col_convolutions_match_burns_kernels_and_their_gradients() {
    assert!(gdl_core::conv::uses_im2col::<FlexAutodiff>() && gdl_core::conv::uses_im2col::<Flex>());
    assert!(!gdl_core::conv::uses_im2col::<NdArrayAutodiff>());
    for (name, case) in cases() {
        let want = run::<NdArrayAutodiff>(&case);
        let got = run::<FlexAutodiff>(&case);
        close(&format!("{name}: y"), &got.y, &want.y);
        for (i, what) in ["∂x", "∂w", "∂b"].iter().enumerate() {
            close(&format!("{name}: {what}"), &got.grads[i], &want.grads[i]);
        }
    }
}

#[test]
fn flex_inference_convolutions_match_burns_kernels() {
    for (name, case) in cases() {
        let (got, want) = match &case {
            Case::Conv(x, w, o) => (
                host(conv2d(
                    tensor::<Flex, 4>(*x, 1),
                    tensor(*w, 2),
                    None,
                    o.clone(),
                )),
                host(conv2d(
                    tensor::<NdArray, 4>(*x, 1),
                    tensor(*w, 2),
                    None,
                    o.clone(),
                )),
            ),
            Case::ConvT(x, w, o) => (
                host(conv_transpose2d(
                    tensor::<Flex, 4>(*x, 1),
                    tensor(*w, 2),
                    None,
                    o.clone(),
                )),
                host(conv_transpose2d(
                    tensor::<NdArray, 4>(*x, 1),
                    tensor(*w, 2),
                    None,
                    o.clone(),
                )),
            ),
        };
        close(name, &got, &want);
    }
}

#[test]
fn only_the_inputs_that_need_a_gradient_get_one() {
    // x without grad (as a detached fake batch in a GAN's D step): w still gets its gradient.
    let x = tensor::<FlexAutodiff, 4>([2, 4, 8, 8], 1);
    let w = tensor::<FlexAutodiff, 4>([3, 4, 3, 3], 2).require_grad();
    let y = conv2d(
        x.clone(),
        w.clone(),
        None,
        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
    );
    let grads = y.sum().backward();
    assert!(x.grad(&grads).is_none());
    let dw = host(w.grad(&grads).unwrap());
    let want = {
        let x = tensor::<NdArrayAutodiff, 4>([2, 4, 8, 8], 1);
        let w = tensor::<NdArrayAutodiff, 4>([3, 4, 3, 3], 2).require_grad();
        let y = conv2d(
            x,
            w.clone(),
            None,
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        );
        host(w.grad(&y.sum().backward()).unwrap())
    };
    close("∂w", &dw, &want);
}

/// y = SiLU(GN(x)) (or GN(x)) by gdl and by Burn's module (`silu(norm.forward(x))`), and the
/// gradients of Σ y·r with respect to x, γ, β; γ and β away from their initial 1 and 0.
fn group_norm_run<B: AutodiffBackend>(
    shape: [usize; 4],
    groups: usize,
    fused_silu: bool,
    ours: bool,
) -> Run {
    use burn::module::Param;
    use burn::nn::GroupNormConfig;
    let device = Default::default();
    let mut norm = GroupNormConfig::new(groups, shape[1]).init::<B>(&device);
    norm.gamma = Some(Param::from_tensor(
        tensor::<B, 1>([shape[1]], 5).add_scalar(1.0),
    ));
    norm.beta = Some(Param::from_tensor(tensor::<B, 1>([shape[1]], 6)));
    let x = tensor::<B, 4>(shape, 7)
        .mul_scalar(3.0)
        .add_scalar(0.5)
        .require_grad();
    let y = match (ours, fused_silu) {
        (true, true) => group_norm_silu(&norm, x.clone()),
        (true, false) => group_norm(&norm, x.clone()),
        (false, true) => burn::tensor::activation::silu(norm.forward(x.clone())),
        (false, false) => norm.forward(x.clone()),
    };
    let r = tensor::<B, 4>(y.dims(), 8);
    let grads = (y.clone() * r).sum().backward();
    let p = |p: &Option<Param<Tensor<B, 1>>>| host(p.as_ref().unwrap().val().grad(&grads).unwrap());
    Run {
        y: host(y),
        grads: [host(x.grad(&grads).unwrap()), p(&norm.gamma), p(&norm.beta)],
    }
}

#[test]
fn flex_fused_group_norm_matches_burns_and_its_gradients() {
    // The U-Net's shapes (8 groups of 32 and 64 channels at 28, 14, 7) and odd ones.
    for (shape, groups) in [
        ([4, 32, 28, 28], 8),
        ([3, 64, 7, 7], 8),
        ([2, 6, 5, 3], 3),
        ([1, 4, 1, 1], 1),
    ] {
        for silu in [true, false] {
            let name = format!("{shape:?}, {groups} groups, SiLU {silu}");
            let want = group_norm_run::<NdArrayAutodiff>(shape, groups, silu, false);
            let got = group_norm_run::<FlexAutodiff>(shape, groups, silu, true);
            close(&format!("{name}: y"), &got.y, &want.y);
            for (i, what) in ["∂x", "∂γ", "∂β"].iter().enumerate() {
                close(&format!("{name}: {what}"), &got.grads[i], &want.grads[i]);
            }
        }
    }
    // Inference on Flex.
    let device = Default::default();
    let norm = burn::nn::GroupNormConfig::new(2, 4).init::<Flex>(&device);
    let x = tensor::<Flex, 4>([2, 4, 3, 3], 9);
    let twin = burn::nn::GroupNormConfig::new(2, 4).init::<NdArray>(&Default::default());
    close(
        "inference",
        &host(group_norm_silu(&norm, x)),
        &host(burn::tensor::activation::silu(twin.forward(tensor::<
            NdArray,
            4,
        >(
            [2, 4, 3, 3],
            9,
        )))),
    );
}

/// SiLU, the leaky ReLU and the sigmoid by gdl's kernels on Flex and by Burn on NdArray: y and
/// ∂x of Σ y·r, for a tensor of several parallel runs; and inference on Flex.
#[test]
fn flex_activations_match_burns_and_their_gradients() {
    fn run<B: AutodiffBackend>(f: impl Fn(Tensor<B, 4>) -> Tensor<B, 4>) -> [Vec<f32>; 2] {
        let x = tensor::<B, 4>([5, 16, 18, 18], 11)
            .mul_scalar(12.0)
            .require_grad();
        let y = f(x.clone());
        let r = tensor::<B, 4>(y.dims(), 12);
        let grads = (y.clone() * r).sum().backward();
        [host(y), host(x.grad(&grads).unwrap())]
    }
    for what in ["SiLU", "leaky ReLU", "sigmoid"] {
        let [y, dx] = run::<FlexAutodiff>(|x| match what {
            "SiLU" => gdl_core::activation::silu(x),
            "sigmoid" => gdl_core::functions::sigmoid(x),
            _ => gdl_core::activation::leaky_relu(x, 0.2),
        });
        let [want_y, want_dx] = run::<NdArrayAutodiff>(|x| match what {
            "SiLU" => burn::tensor::activation::silu(x),
            "sigmoid" => burn::tensor::activation::sigmoid(x),
            _ => burn::tensor::activation::leaky_relu(x, 0.2),
        });
        close(&format!("{what}: y"), &y, &want_y);
        close(&format!("{what}: ∂x"), &dx, &want_dx);
    }
    // exactly 0 and the inference path
    let x = Tensor::<Flex, 2>::from_data(
        TensorData::new(vec![0.0f32, -0.0, -3.0, 2.5], [1, 4]),
        &Default::default(),
    );
    assert_eq!(
        host(gdl_core::activation::leaky_relu(x, 0.2)),
        vec![0.0, -0.0, -0.6, 2.5]
    );
    let x = tensor::<Flex, 2>([3, 7], 13).mul_scalar(5.0);
    let twin = tensor::<NdArray, 2>([3, 7], 13).mul_scalar(5.0);
    close(
        "SiLU inference",
        &host(gdl_core::activation::silu(x.clone())),
        &host(burn::tensor::activation::silu(twin.clone())),
    );
    close(
        "sigmoid inference",
        &host(gdl_core::functions::sigmoid(x)),
        &host(burn::tensor::activation::sigmoid(twin)),
    );
}

#[test]
fn flex_feature_map_operations_match_burns_and_their_gradients() {
    use gdl_core::feature_map::{cat_channels, residual, shift_channels, upsample2};
    // y = upsample2([a, b]) + s per plane with b a strided view (swapped axes), then y/2 + y,
    // the gradients of Σ y·r
    fn run<B: AutodiffBackend>() -> [Vec<f32>; 4] {
        let a = tensor::<B, 4>([3, 4, 5, 6], 21).require_grad();
        let b = tensor::<B, 4>([3, 5, 2, 6], 22).require_grad();
        let s = tensor::<B, 2>([3, 6], 25).require_grad();
        let y = shift_channels(
            upsample2(cat_channels(a.clone(), b.clone().swap_dims(1, 2))),
            s.clone(),
        );
        // and a residual connection whose input also feeds the rest (a gradient added up)
        let y = residual(y.clone().mul_scalar(0.5), y);
        assert_eq!(y.dims(), [3, 6, 10, 12]);
        let r = tensor::<B, 4>(y.dims(), 23);
        let grads = (y.clone() * r).sum().backward();
        [
            host(y),
            host(a.grad(&grads).unwrap()),
            host(b.grad(&grads).unwrap()),
            host(s.grad(&grads).unwrap()),
        ]
    }
    let flex = run::<FlexAutodiff>();
    let ndarray = run::<NdArrayAutodiff>();
    for (i, what) in ["y", "∂a", "∂b", "∂s"].iter().enumerate() {
        close(
            &format!("cat + upsample + shift + residual: {what}"),
            &flex[i],
            &ndarray[i],
        );
    }
    // without autodiff, with a narrowed (strided) second term for the residual
    fn inference<B: Backend>() -> Vec<f32> {
        let (x, s) = (tensor::<B, 4>([2, 3, 4, 4], 24), tensor::<B, 2>([2, 6], 26));
        let y = shift_channels(upsample2(cat_channels(x.clone(), x.clone())), s);
        host(residual(
            x,
            y.narrow(1, 0, 3).narrow(2, 0, 4).narrow(3, 0, 4),
        ))
    }
    close(
        "cat + upsample + shift + residual inference",
        &inference::<Flex>(),
        &inference::<NdArray>(),
    );
}

/// The affine map y = x W + b by gdl's GEMMs on Flex and by Burn's `linear` on NdArray: y
/// and the gradients of Σ y·r with respect to x, W and b, for a product large enough to be
/// cut over the threads and a small one, with W used transposed (a view), without a bias,
/// and with only W tracked; and inference on Flex.
#[test]
fn flex_linear_matches_burns_and_its_gradients() {
    use gdl_core::linear::linear;
    fn run<B: AutodiffBackend>(
        ours: bool,
        [n, d_in, d_out]: [usize; 3],
        transposed: bool,
        bias: bool,
        track_x: bool,
    ) -> [Vec<f32>; 4] {
        let x = tensor::<B, 2>([n, d_in], 31);
        let x = if track_x { x.require_grad() } else { x };
        let w = if transposed {
            tensor::<B, 2>([d_out, d_in], 32).require_grad()
        } else {
            tensor::<B, 2>([d_in, d_out], 32).require_grad()
        };
        let b = bias.then(|| tensor::<B, 1>([d_out], 33).require_grad());
        let w_used = if transposed {
            w.clone().transpose()
        } else {
            w.clone()
        };
        let y = if ours {
            linear(x.clone(), w_used, b.clone())
        } else {
            burn::tensor::module::linear(x.clone(), w_used, b.clone())
        };
        let r = tensor::<B, 2>([n, d_out], 34);
        let grads = (y.clone() * r).sum().backward();
        let grad = |t: Option<Vec<f32>>| t.unwrap_or_default();
        [
            host(y),
            grad(x.grad(&grads).map(host)),
            grad(w.grad(&grads).map(host)),
            grad(b.and_then(|b| b.grad(&grads)).map(host)),
        ]
    }
    for (shape, transposed, bias, track_x) in [
        ([130, 300, 70], false, true, true),
        ([64, 784, 256], true, true, false),
        ([5, 7, 3], false, false, true),
        ([40, 200, 500], true, false, true),
    ] {
        let got = run::<FlexAutodiff>(true, shape, transposed, bias, track_x);
        let want = run::<NdArrayAutodiff>(false, shape, transposed, bias, track_x);
        for (k, what) in ["y", "∂x", "∂W", "∂b"].iter().enumerate() {
            close(&format!("linear {shape:?}: {what}"), &got[k], &want[k]);
        }
        assert_eq!(got[1].is_empty(), !track_x);
        assert_eq!(got[3].is_empty(), !bias);
    }
    let (x, w, b) = (
        tensor::<Flex, 2>([9, 11], 35),
        tensor::<Flex, 2>([11, 4], 36),
        tensor::<Flex, 1>([4], 37),
    );
    let (tx, tw, tb) = (
        tensor::<NdArray, 2>([9, 11], 35),
        tensor::<NdArray, 2>([11, 4], 36),
        tensor::<NdArray, 1>([4], 37),
    );
    close(
        "linear inference",
        &host(linear(x, w, Some(b))),
        &host(burn::tensor::module::linear(tx, tw, Some(tb))),
    );
}

/// The Bernoulli NLL by gdl's kernel on Flex and by Burn's operations on NdArray (the same
/// function's generic path): the rows and the gradients of Σ y·r with respect to the logits
/// and to x, for more rows than one parallel run, and with x untracked (the VAE's case:
/// only ∂l); and inference on Flex.
#[test]
fn flex_bernoulli_nll_matches_burns_and_its_gradients() {
    use gdl_core::likelihood::bernoulli_nll;
    fn run<B: AutodiffBackend>(track_x: bool) -> [Vec<f32>; 3] {
        let l = tensor::<B, 2>([53, 784], 21)
            .mul_scalar(30.0)
            .require_grad();
        let x = tensor::<B, 2>([53, 784], 22)
            .add_scalar(1.0)
            .div_scalar(2.0);
        let x = if track_x { x.require_grad() } else { x };
        let y = bernoulli_nll(l.clone(), x.clone());
        let r = tensor::<B, 1>([53], 23);
        let grads = (y.clone() * r).sum().backward();
        let dx = x.grad(&grads).map(host).unwrap_or_default();
        [host(y), host(l.grad(&grads).unwrap()), dx]
    }
    for track_x in [true, false] {
        let [y, dl, dx] = run::<FlexAutodiff>(track_x);
        let [want_y, want_dl, want_dx] = run::<NdArrayAutodiff>(track_x);
        close("Bernoulli NLL: y", &y, &want_y);
        close("Bernoulli NLL: ∂l", &dl, &want_dl);
        close("Bernoulli NLL: ∂x", &dx, &want_dx);
        assert_eq!(dx.is_empty(), !track_x);
    }
    let (l, x) = (tensor::<Flex, 2>([3, 9], 24), tensor::<Flex, 2>([3, 9], 25));
    let (tl, tx) = (
        tensor::<NdArray, 2>([3, 9], 24),
        tensor::<NdArray, 2>([3, 9], 25),
    );
    close(
        "Bernoulli NLL inference",
        &host(bernoulli_nll(l, x.abs())),
        &host(bernoulli_nll(tl, tx.abs())),
    );
}

/// Flex's random tensors follow the backend seed (the same seed, the same numbers; on
/// `Autodiff<Flex>` too) and their distribution (moments of a large draw).
#[test]
fn flex_random_tensors_follow_the_backend_seed() {
    use burn::tensor::Distribution;
    use gdl_core::random::random;
    let _serial = gdl_core::seed::serial();
    let device = Default::default();
    let draw = |seed| {
        gdl_core::seed::seed_all::<Flex>(&device, seed);
        host(random::<Flex, 2>(
            [300, 401],
            Distribution::Normal(1.0, 2.0),
            &device,
        ))
    };
    let (a, b, c) = (draw(3), draw(3), draw(4));
    assert_eq!(a, b);
    assert_ne!(a, c);
    let n = a.len() as f64;
    let mean = a.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = a.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    assert!((mean - 1.0).abs() < 5.0 * 2.0 / n.sqrt(), "mean {mean}");
    assert!(
        (var - 4.0).abs() < 5.0 * 4.0 * (2.0 / n).sqrt(),
        "variance {var}"
    );
    gdl_core::seed::seed_all::<FlexAutodiff>(&device, 3);
    let d = host(random::<FlexAutodiff, 2>(
        [300, 401],
        Distribution::Normal(1.0, 2.0),
        &device,
    ));
    assert_eq!(a, d);
}

/// Adam's fused Flex pass against Burn's Adam on Flex, to the bit: five steps on a tensor large
/// enough for the parallel chunks and on a small one, the fused optimiser taking over Burn's
/// state after two steps (the states are the same type); and both against Adam written out on
/// host numbers, θ ← θ − η m̂/(√v̂ + ε) with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), to 1e-5.
/// AMSGrad takes Burn's Adam.
#[test]
fn fused_adam_matches_burns_adam_and_the_written_out_rule() {
    use burn::optim::{AdamConfig, SimpleOptimizer};
    use gdl_core::adam::Adam;
    let (lr, b1, b2, eps) = (0.01, 0.5f32, 0.999f32, 1e-5f32);
    let cfg = AdamConfig::new().with_beta_1(b1);
    for shape in [[300, 200], [1, 7]] {
        let n = shape[0] * shape[1];
        let grad = |k: u64| tensor::<Flex, 2>(shape, 100 + k);
        let theta0 = tensor::<Flex, 2>(shape, 1);
        let burn = cfg.build();
        let fused = Adam::new(&cfg);
        assert!(fused.is_fused::<Flex>() && !fused.is_fused::<NdArray>());
        let (mut a, mut sa) = (theta0.clone(), None);
        let (mut b, mut sb) = (theta0.clone(), None);
        for k in 0..5 {
            (a, sa) = SimpleOptimizer::<Flex>::step(&burn, lr, a, grad(k), sa);
            (b, sb) = if k < 2 {
                SimpleOptimizer::<Flex>::step(&burn, lr, b, grad(k), sb)
            } else {
                SimpleOptimizer::<Flex>::step(&fused, lr, b, grad(k), sb)
            };
        }
        let (a, b) = (host(a), host(b));
        assert_eq!(a, b, "fused Adam differs from Burn's on {shape:?}");

        // The textbook rule in f64.
        let mut theta: Vec<f64> = host(theta0).iter().map(|&x| x as f64).collect();
        let (mut m, mut v) = (vec![0.0f64; n], vec![0.0f64; n]);
        let (b1, b2, eps) = (b1 as f64, b2 as f64, eps as f64);
        for k in 0..5 {
            let g = host(grad(k));
            let t = (k + 1) as i32;
            for i in 0..n {
                let gi = g[i] as f64;
                m[i] = b1 * m[i] + (1.0 - b1) * gi;
                v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
                let (mh, vh) = (m[i] / (1.0 - b1.powi(t)), v[i] / (1.0 - b2.powi(t)));
                theta[i] -= lr * mh / (vh.sqrt() + eps);
            }
        }
        let want: Vec<f32> = theta.iter().map(|&x| x as f32).collect();
        close("Adam against the written-out rule", &b, &want);
    }
    // AMSGrad is not fused: the same numbers as Burn's.
    let ams = AdamConfig::new().with_amsgrad(true);
    let (burn, ours) = (ams.build(), Adam::new(&ams));
    assert!(!ours.is_fused::<Flex>());
    let x = tensor::<Flex, 2>([4, 5], 2);
    let (mut a, mut sa, mut b, mut sb) = (x.clone(), None, x, None);
    for k in 0..3 {
        let g = tensor::<Flex, 2>([4, 5], 50 + k);
        (a, sa) = SimpleOptimizer::<Flex>::step(&burn, 0.1, a, g.clone(), sa);
        (b, sb) = SimpleOptimizer::<Flex>::step(&ours, 0.1, b, g, sb);
    }
    assert_eq!(host(a), host(b));
}
