//! Backend parity: the same computation, from identical weights, on NdArray and on the other
//! backends. A small convolutional network's outputs, loss and every gradient on Flex; with
//! `--features wgpu`, the same network and one training step of each model family on Wgpu
//! (lavapipe in CI: `cargo test --release --features wgpu --test backend_parity`); with
//! `--features cuda`, the same tests on CUDA (an NVIDIA GPU: `tests/parity/gpu.rs` holds them).
//!
//! All backends compute in f32; only the order of floating-point reductions differs (matmul
//! and convolution blocking, GPU workgroup sums), which moves results by a few ulps times the
//! reduction length. Tolerances are |a − b| <= atol + rtol·|b| against NdArray, stated per test.

use burn::tensor::activation::{log_softmax, relu, tanh};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::module::{conv2d, conv_transpose2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Tensor, TensorData};

/// The convolutional network's tolerance.
const ATOL: f32 = 1e-5;
const RTOL: f32 = 1e-4;

/// Deterministic weights: 0.5 sin(0.731 i + phase).
fn values(n: usize, phase: f32) -> Vec<f32> {
    (0..n)
        .map(|i| 0.5 * (i as f32 * 0.731 + phase).sin())
        .collect()
}

fn tensor<B: AutodiffBackend, const D: usize>(
    shape: [usize; D],
    phase: f32,
    device: &B::Device,
) -> Tensor<B, D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(values(n, phase), shape), device)
}

/// conv 3x3 -> ReLU -> max-pool 2 -> transposed conv 2x2 stride 2 -> flatten -> linear -> tanh
/// -> linear -> log-softmax -> cross-entropy. Returns named outputs and gradients.
fn forward_backward<B: AutodiffBackend>(device: &B::Device) -> Vec<(&'static str, Vec<f32>)> {
    let x = tensor::<B, 4>([2, 1, 8, 8], 0.1, device);
    let wc = tensor::<B, 4>([3, 1, 3, 3], 0.2, device).require_grad();
    let bc = tensor::<B, 1>([3], 0.3, device).require_grad();
    let wt = tensor::<B, 4>([3, 2, 2, 2], 0.35, device).require_grad();
    let w1 = tensor::<B, 2>([2 * 6 * 6, 5], 0.4, device).require_grad();
    let b1 = tensor::<B, 1>([5], 0.5, device).require_grad();
    let w2 = tensor::<B, 2>([5, 3], 0.6, device).require_grad();
    let b2 = tensor::<B, 1>([3], 0.7, device).require_grad();

    let h = conv2d(
        x,
        wc.clone(),
        Some(bc.clone()),
        ConvOptions::new([1, 1], [0, 0], [1, 1], 1),
    ); // [2, 3, 6, 6]
    let h = max_pool2d(relu(h), [2, 2], [2, 2], [0, 0], [1, 1], false); // [2, 3, 3, 3]
    let h = conv_transpose2d(
        h,
        wt.clone(),
        None,
        ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], 1),
    ); // [2, 2, 6, 6]
    let h = h.flatten::<2>(1, 3); // [2, 72]
    let h = tanh(h.matmul(w1.clone()) + b1.clone().unsqueeze::<2>()); // [2, 5]
    let logits = h.matmul(w2.clone()) + b2.clone().unsqueeze::<2>(); // [2, 3]
    let log_p = log_softmax(logits.clone(), 1);
    // Cross-entropy of targets (0, 2): -(1/N) Σ_n log p(y_n | x_n)
    let onehot = Tensor::<B, 2>::from_data(
        TensorData::new(vec![1.0f32, 0., 0., 0., 0., 1.], [2, 3]),
        device,
    );
    let loss = (log_p * onehot).sum().neg().div_scalar(2.0);
    let grads = loss.backward();

    let host =
        |t: Tensor<B::InnerBackend, 1>| t.into_data().convert::<f32>().to_vec::<f32>().unwrap();
    let g = |p: &Tensor<B, 4>| host(p.grad(&grads).unwrap().flatten(0, 3));
    vec![
        ("logits", host(logits.inner().flatten(0, 1))),
        ("loss", host(loss.inner())),
        ("dL/dW_conv", g(&wc)),
        ("dL/db_conv", host(bc.grad(&grads).unwrap())),
        ("dL/dW_convT", g(&wt)),
        ("dL/dW1", host(w1.grad(&grads).unwrap().flatten(0, 1))),
        ("dL/db1", host(b1.grad(&grads).unwrap())),
        ("dL/dW2", host(w2.grad(&grads).unwrap().flatten(0, 1))),
        ("dL/db2", host(b2.grad(&grads).unwrap())),
    ]
}

fn assert_close(name: &str, reference: &[(&str, Vec<f32>)], other: &[(&str, Vec<f32>)]) {
    assert_eq!(reference.len(), other.len());
    for ((what, a), (_, b)) in other.iter().zip(reference) {
        assert_eq!(a.len(), b.len(), "{name} {what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= ATOL + RTOL * y.abs(),
                "{name} differs from NdArray in {what}[{i}]: {x} vs {y}"
            );
        }
    }
    // The gradients are not trivially zero: the test would notice a dead backward pass.
    assert!(reference
        .iter()
        .skip(2)
        .all(|(_, g)| g.iter().any(|v| v.abs() > 1e-6)));
}

fn reference() -> Vec<(&'static str, Vec<f32>)> {
    forward_backward::<gdl::core::backend::NdArrayAutodiff>(&Default::default())
}

#[test]
fn ndarray_reference_output_gradient_is_softmax_minus_onehot() {
    let _serial = gdl::core::seed::serial();
    // An independent check of the reference itself: for cross-entropy after log-softmax,
    // dL/db2 = (1/N) Σ_n (softmax(logits_n) - onehot(y_n)), computed here in f64.
    let r = reference();
    let logits = &r[0].1;
    let targets = [0usize, 2];
    let mut expected = [0.0f64; 3];
    for n in 0..2 {
        let row: Vec<f64> = logits[n * 3..n * 3 + 3].iter().map(|&v| v as f64).collect();
        let m = row.iter().cloned().fold(f64::MIN, f64::max);
        let z: f64 = row.iter().map(|v| (v - m).exp()).sum();
        for k in 0..3 {
            let p = (row[k] - m).exp() / z;
            expected[k] += (p - if k == targets[n] { 1.0 } else { 0.0 }) / 2.0;
        }
    }
    for (k, (ours, hand)) in r[8].1.iter().zip(expected).enumerate() {
        assert!((*ours as f64 - hand).abs() < 1e-6, "dL/db2[{k}]");
    }
}

#[test]
fn flex_matches_ndarray() {
    let _serial = gdl::core::seed::serial();
    let flex = forward_backward::<gdl::core::backend::FlexAutodiff>(&Default::default());
    assert_close("flex", &reference(), &flex);
}

/// One training step of a small U-Net (a ResBlock that changes the channels, whose 1×1 channel
/// map is a convolution on Flex and a linear map over the swapped axes elsewhere; the skip
/// concatenations; attention) on `A`, from the weights of an NdArray U-Net seeded with 10:
/// the output, the loss, and the output after one SGD step, from fixed inputs.
fn unet_step<A: AutodiffBackend>() -> Vec<(&'static str, Vec<f32>)> {
    use burn::module::AutodiffModule;
    use burn::optim::{GradientsParams, Optimizer, SgdConfig};
    use gdl::core::backend::NdArrayAutodiff;
    use gdl::diffusion::unet::UNetConfig;
    let cfg = UNetConfig::new()
        .with_channels(vec![8, 16])
        .with_groups(4)
        .with_time_dim(16);
    gdl::core::seed::seed_all::<NdArrayAutodiff>(&Default::default(), 10);
    let reference = cfg.init::<NdArrayAutodiff>(&Default::default()).unwrap();
    let device = Default::default();
    let unet =
        gdl::core::run::copy_weights(&reference, cfg.init::<A>(&device).unwrap(), &device).unwrap();
    let x = tensor::<A, 4>([3, 1, 28, 28], 0.3, &device).mul_scalar(2.0);
    let target = tensor::<A, 4>([3, 1, 28, 28], 0.7, &device).mul_scalar(2.0);
    let t = Tensor::<A, 1>::from_data([1.0f32, 40.0, 99.0], &device);
    let out = unet.forward(x.clone(), t.clone());
    let loss = (out.clone() - target).powi_scalar(2).mean();
    let grads = GradientsParams::from_grads(loss.backward(), &unet);
    let unet = SgdConfig::new().init().step(0.05, unet, grads);
    let host = |t: Tensor<A::InnerBackend, 4>| t.into_data().convert::<f32>().to_vec().unwrap();
    vec![
        ("output", host(out.inner())),
        (
            "loss",
            loss.inner().into_data().convert::<f32>().to_vec().unwrap(),
        ),
        (
            "output after SGD",
            host(unet.valid().forward(x.inner(), t.inner())),
        ),
    ]
}

#[test]
fn one_unet_training_step_on_flex_matches_ndarray() {
    let _serial = gdl::core::seed::serial();
    let flex = unet_step::<gdl::core::backend::FlexAutodiff>();
    let ndarray = unet_step::<gdl::core::backend::NdArrayAutodiff>();
    for ((what, a), (_, b)) in flex.iter().zip(&ndarray) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-4 + 1e-3 * y.abs(),
                "Flex differs from NdArray in {what}[{i}]: {x} vs {y}"
            );
        }
    }
    // The step moved the output: the gradients reached the weights.
    let moved = ndarray[0]
        .1
        .iter()
        .zip(&ndarray[2].1)
        .any(|(a, b)| (a - b).abs() > 1e-4);
    assert!(moved, "one SGD step left the output unchanged");
}

/// Wgpu against NdArray, from identical weights. Compiled with `--features wgpu`.
#[cfg(feature = "wgpu")]
mod wgpu {
    use gdl::core::backend::{Wgpu as Gpu, WgpuAutodiff as GpuAutodiff};
    const GPU: &str = "wgpu";
    /// A Vulkan, Metal or DX12 driver is required (lavapipe in CI): no skipping.
    fn present() -> bool {
        true
    }
    include!("parity/gpu.rs");
}

/// CUDA against NdArray, the same tests. Compiled with `--features cuda`; they need an NVIDIA
/// GPU and skip without one (CI), where `--backend cuda` must be a clear error instead.
#[cfg(feature = "cuda")]
mod cuda {
    use gdl::core::backend::{cuda_libraries_present, Cuda as Gpu, CudaAutodiff as GpuAutodiff};
    const GPU: &str = "cuda";
    /// Whether the NVIDIA driver and NVRTC load here.
    fn present() -> bool {
        match cuda_libraries_present() {
            Ok(()) => true,
            Err(e) => {
                eprintln!("skipped, no CUDA here: {e}");
                false
            }
        }
    }
    include!("parity/gpu.rs");

    /// Without the NVIDIA libraries, a program asked for `--backend cuda` gets an error that
    /// names what is missing (not a panic inside the backend); with them, the task runs.
    #[test]
    fn backend_cuda_runs_or_names_the_missing_library() {
        use burn::tensor::ElementConversion;
        use gdl::core::backend::{run_on, BackendKind, BackendTask};
        struct Sum;
        impl BackendTask for Sum {
            type Output = f32;
            fn run<B: AutodiffBackend>(self, device: &B::Device) -> f32 {
                Tensor::<B, 1>::from_floats([1.0, 2.0, 3.0], device)
                    .sum()
                    .into_scalar()
                    .elem()
            }
        }
        match run_on(BackendKind::Cuda, Sum) {
            Ok(sum) => assert_eq!(sum, 6.0),
            Err(e) => {
                assert!(!present());
                let e = e.to_string();
                assert!(e.contains("cuda") && e.contains("LD_LIBRARY_PATH"), "{e}");
            }
        }
    }
}
