//! Explicit back-propagation and the autodiff twin on Wgpu (lavapipe in CI) against NdArray,
//! from identical weights. Runs when `GDL_TEST_WGPU=1`. Tolerance: |a − b| <= 1e-5 + 1e-4·|b|
//! (f32 on both, different summation orders).

use burn::tensor::Tensor;
use gdl_core::backend::{NdArray, Wgpu, WgpuAutodiff};
use gdl_core::seed::seed_all;
use gdl_core::tensor::{float_options, to_f64};
use gdl_ffnn::activation::Activation;
use gdl_ffnn::cost::{Cost, Penalty};
use gdl_ffnn::network::{Init, NetworkConfig};
use gdl_ffnn::twin::MlpModule;

fn close(what: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{what}: wgpu and ndarray lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 + 1e-4 * y.abs(),
            "{what}[{i}]: wgpu {x} vs ndarray {y}"
        );
    }
}

#[test]
fn explicit_and_autodiff_gradients_match_ndarray() {
    let _serial = gdl_core::seed::serial();
    if std::env::var("GDL_TEST_WGPU").as_deref() != Ok("1") {
        eprintln!("skipped: set GDL_TEST_WGPU=1 to run the Wgpu parity test");
        return;
    }
    let cpu = Default::default();
    seed_all::<NdArray>(&cpu, 4);
    let net = NetworkConfig::new(
        &[6, 16, 8, 4],
        Activation::Tanh,
        Activation::Softmax,
        Init::Xavier,
    )
    .init::<NdArray>(&cpu)
    .unwrap();
    let x: Vec<f32> = (0..60)
        .map(|i| ((i * 37) % 17) as f32 / 8.0 - 1.0)
        .collect();
    let y: Vec<f32> = (0..40)
        .map(|i| if i % 4 == (i / 4) % 4 { 1.0 } else { 0.0 })
        .collect();
    let (cost, penalty) = (Cost::CrossEntropy, Penalty { l1: 0.0, l2: 0.01 });
    let xc = Tensor::<NdArray, 1>::from_floats(x.as_slice(), &cpu).reshape([10, 6]);
    let yc = Tensor::<NdArray, 1>::from_floats(y.as_slice(), &cpu).reshape([10, 4]);
    let (c_cpu, g_cpu) = net.backward(xc.clone(), yc.clone(), cost, penalty);

    let gpu = Default::default();
    let net_gpu = net.to_backend::<Wgpu>(&gpu);
    let xg = Tensor::<Wgpu, 2>::from_data(xc.to_data(), float_options::<Wgpu>(&gpu));
    let yg = Tensor::<Wgpu, 2>::from_data(yc.to_data(), float_options::<Wgpu>(&gpu));
    let (c_gpu, g_gpu) = net_gpu.backward(xg.clone(), yg.clone(), cost, penalty);
    close("cost", &[c_gpu], &[c_cpu]);
    for (l, (a, b)) in g_gpu.layers.iter().zip(&g_cpu.layers).enumerate() {
        close(
            &format!("dW{l}"),
            &to_f64(a.weight.clone()),
            &to_f64(b.weight.clone()),
        );
        close(
            &format!("db{l}"),
            &to_f64(a.bias.clone()),
            &to_f64(b.bias.clone()),
        );
    }

    // The autodiff twin on Wgpu gives the same gradients.
    let twin = MlpModule::<WgpuAutodiff>::from_network(&net, &gpu);
    let xa =
        Tensor::<WgpuAutodiff, 2>::from_data(xc.to_data(), float_options::<WgpuAutodiff>(&gpu));
    let ya =
        Tensor::<WgpuAutodiff, 2>::from_data(yc.to_data(), float_options::<WgpuAutodiff>(&gpu));
    let grads = twin.cost(xa, ya, cost, penalty).backward();
    for (l, (linear, b)) in twin.layers.iter().zip(&g_cpu.layers).enumerate() {
        close(
            &format!("autodiff dW{l}"),
            &to_f64(linear.weight.grad(&grads).unwrap()),
            &to_f64(b.weight.clone()),
        );
    }
}
