//! Explicit back-propagation against autodiff and central finite differences, in f64, for
//! every activation and cost; ten training steps of both; the lecture's scalar examples.

use burn::module::{AutodiffModule, Module};
use burn::optim::{GradientsParams, Optimizer, SgdConfig};
use burn::tensor::Tensor;
use gdl_core::optim::{Method, UpdateRuleConfig};
use gdl_core::seed::seed_all;
use gdl_core::tensor::{float_options, from_f64, to_f64};
use gdl_core::testing::{TestAutodiffBackendF64 as AD, TestBackendF64 as B};
use gdl_ffnn::activation::Activation;
use gdl_ffnn::cost::{Cost, Penalty};
use gdl_ffnn::network::{Init, Network, NetworkConfig};
use gdl_ffnn::twin::MlpModule;

const HIDDEN: [Activation; 6] = [
    Activation::Identity,
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Relu,
    Activation::LeakyRelu(0.1),
    Activation::Elu(1.0),
];

/// Every (output activation, cost) pair worth training.
const HEADS: [(Activation, Cost); 6] = [
    (Activation::Identity, Cost::Mse),
    (Activation::Sigmoid, Cost::Mse),
    (Activation::Tanh, Cost::Mse),
    (Activation::Softmax, Cost::Mse),
    (Activation::Sigmoid, Cost::BinaryCrossEntropy),
    (Activation::Softmax, Cost::CrossEntropy),
];

/// 6 examples of 3 inputs, and targets in (0, 1) whose rows sum to one (valid for every cost).
fn batch() -> (Tensor<B, 2>, Tensor<B, 2>) {
    let x: Vec<f64> = (0..18).map(|i| ((i * 7) % 11) as f64 / 5.0 - 1.0).collect();
    let y: Vec<f64> = (0..6)
        .flat_map(|i| {
            let a = 0.1 + 0.1 * (i % 3) as f64;
            [a, 0.6 - a, 0.4]
        })
        .collect();
    let d = Default::default();
    (from_f64(x, [6, 3], &d), from_f64(y, [6, 3], &d))
}

fn network(hidden: Activation, output: Activation, seed: u64) -> Network<B> {
    let device = Default::default();
    seed_all::<B>(&device, seed);
    NetworkConfig::new(&[3, 4, 5, 3], hidden, output, Init::Xavier)
        .init::<B>(&device)
        .unwrap()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn explicit_gradients_equal_autodiff_for_every_activation_and_cost() {
    let _serial = gdl_core::seed::serial();
    let (x, y) = batch();
    let penalty = Penalty { l1: 0.01, l2: 0.02 };
    for hidden in HIDDEN {
        for (output, cost) in HEADS {
            let net = network(hidden, output, 3);
            let (c, grads) = net.backward(x.clone(), y.clone(), cost, penalty);
            let twin = MlpModule::<AD>::from_network(&net, &Default::default());
            let xa =
                Tensor::<AD, 2>::from_data(x.to_data(), float_options::<AD>(&Default::default()));
            let ya =
                Tensor::<AD, 2>::from_data(y.to_data(), float_options::<AD>(&Default::default()));
            let loss = twin.cost(xa, ya, cost, penalty);
            let c_auto = to_f64(loss.clone().inner())[0];
            assert!(
                (c - c_auto).abs() < 1e-12,
                "{hidden:?}/{output:?}/{cost:?}: cost"
            );
            let g = loss.backward();
            for (l, (linear, ours)) in twin.layers.iter().zip(&grads.layers).enumerate() {
                let gw = to_f64(linear.weight.grad(&g).unwrap());
                let gb = to_f64(linear.bias.as_ref().unwrap().grad(&g).unwrap());
                let (dw, db) = (
                    max_diff(&gw, &to_f64(ours.weight.clone())),
                    max_diff(&gb, &to_f64(ours.bias.clone())),
                );
                // Tolerance: 1e-8 absolute in f64. The two differ by rounding, and by Burn
                // NdArray's `recip` (in the backward pass of `log`), which is good to ~1e-9.
                assert!(
                    dw < 1e-8 && db < 1e-8,
                    "{hidden:?}/{output:?}/{cost:?} layer {l}: |ΔW| {dw:e} |Δb| {db:e}"
                );
            }
        }
    }
}

#[test]
fn explicit_gradients_match_central_differences() {
    let _serial = gdl_core::seed::serial();
    // Away from ReLU kinks: perturb every weight and bias of every layer (input, middle and
    // output) by ±h; (C(θ + h) − C(θ − h)) / 2h against the back-propagated gradient.
    let (x, y) = batch();
    let penalty = Penalty { l1: 0.0, l2: 0.05 };
    let h = 1e-6;
    for hidden in HIDDEN {
        for (output, cost) in HEADS {
            let net = network(hidden, output, 11);
            let (_, grads) = net.backward(x.clone(), y.clone(), cost, penalty);
            assert_eq!(net.layers.len(), 3);
            for l in 0..net.layers.len() {
                let w = to_f64(net.layers[l].weight.clone());
                let dims = net.layers[l].weight.dims();
                let analytic = to_f64(grads.layers[l].weight.clone());
                for k in 0..w.len() {
                    let at = |shift: f64| {
                        let mut p = net.clone();
                        let mut v = w.clone();
                        v[k] += shift;
                        p.layers[l].weight = from_f64(v, dims, &Default::default());
                        p.cost(x.clone(), y.clone(), cost, penalty)
                    };
                    let fd = (at(h) - at(-h)) / (2.0 * h);
                    assert!(
                        (fd - analytic[k]).abs() < 1e-6 * (1.0 + fd.abs()),
                        "{hidden:?}/{output:?}/{cost:?} W{l}[{k}]: fd {fd} vs {}",
                        analytic[k]
                    );
                }
                let b = to_f64(net.layers[l].bias.clone());
                let analytic = to_f64(grads.layers[l].bias.clone());
                for k in 0..b.len() {
                    let at = |shift: f64| {
                        let mut p = net.clone();
                        let mut v = b.clone();
                        v[k] += shift;
                        p.layers[l].bias = from_f64(v, [b.len()], &Default::default());
                        p.cost(x.clone(), y.clone(), cost, penalty)
                    };
                    let fd = (at(h) - at(-h)) / (2.0 * h);
                    assert!(
                        (fd - analytic[k]).abs() < 1e-6 * (1.0 + fd.abs()),
                        "b{l}[{k}]"
                    );
                }
            }
        }
    }
}

#[test]
fn ten_training_steps_of_both_versions_agree() {
    let _serial = gdl_core::seed::serial();
    // Plain gradient descent in both: gdl-core's GD on the explicit gradients, Burn's SGD
    // (no momentum, no weight decay) on the autodiff gradients.
    let (x, y) = batch();
    let (cost, penalty, eta) = (Cost::CrossEntropy, Penalty { l1: 0.0, l2: 0.01 }, 0.5);
    let mut net = network(Activation::Tanh, Activation::Softmax, 5);
    let mut twin = MlpModule::<AD>::from_network(&net, &Default::default());
    let mut ours = UpdateRuleConfig::new(Method::Gd, eta).init::<B>().unwrap();
    let mut sgd = SgdConfig::new().init::<AD, MlpModule<AD>>();
    let xa = Tensor::<AD, 2>::from_data(x.to_data(), float_options::<AD>(&Default::default()));
    let ya = Tensor::<AD, 2>::from_data(y.to_data(), float_options::<AD>(&Default::default()));
    let first = net.cost(x.clone(), y.clone(), cost, penalty);
    for _ in 0..10 {
        let (_, grads) = net.backward(x.clone(), y.clone(), cost, penalty);
        net.apply(&mut ours, grads);
        let g = twin.cost(xa.clone(), ya.clone(), cost, penalty).backward();
        let g = GradientsParams::from_grads(g, &twin);
        twin = sgd.step(eta, twin, g);
    }
    let last = net.cost(x.clone(), y.clone(), cost, penalty);
    assert!(last < first, "training lowers the cost: {first} -> {last}");
    let twin = twin.valid();
    for (layer, linear) in net.layers.iter().zip(&twin.layers) {
        let d = max_diff(&to_f64(layer.weight.clone()), &to_f64(linear.weight.val()));
        // 1e-8: see the tolerance of the gradient comparison above.
        assert!(d < 1e-8, "weights drifted apart by {d:e}");
    }
}

/// ŷ = wx + b: one input, one identity output node.
fn perceptron() -> Network<B> {
    NetworkConfig::new(
        &[1, 1],
        Activation::Identity,
        Activation::Identity,
        Init::Xavier,
    )
    .init::<B>(&Default::default())
    .unwrap()
}

#[test]
fn one_perceptron_by_hand() {
    let _serial = gdl_core::seed::serial();
    // ŷ = wx + b, C = (ŷ − y)²: ∂C/∂w = 2(ŷ − y)x, ∂C/∂b = 2(ŷ − y).
    let (w, b, x, y) = (0.7, -0.2, 1.5, 4.0);
    let d = Default::default();
    let mut net = perceptron();
    net.layers[0].weight = from_f64(vec![w], [1, 1], &d);
    net.layers[0].bias = from_f64(vec![b], [1], &d);
    let (c, g) = net.backward(
        from_f64(vec![x], [1, 1], &d),
        from_f64(vec![y], [1, 1], &d),
        Cost::Mse,
        Penalty::default(),
    );
    let r = w * x + b - y;
    assert!((c - r * r).abs() < 1e-14);
    assert!((to_f64(g.layers[0].weight.clone())[0] - 2.0 * r * x).abs() < 1e-14);
    assert!((to_f64(g.layers[0].bias.clone())[0] - 2.0 * r).abs() < 1e-14);
}

#[test]
fn the_perceptron_program_learns_w_2_and_b_1() {
    let _serial = gdl_core::seed::serial();
    // `ffnn_perceptron`'s defaults: y = 2x + 1 at 100 points x ~ U[0, 1], plain gradient
    // descent with η = 0.5 for 1000 full-batch iterations; it prints w = 2.0000, b = 1.0000.
    use gdl_ffnn::train::{train_explicit, ExplicitTraining};
    use rand::Rng;
    let d = Default::default();
    let mut rng = seed_all::<B>(&d, 0);
    let x: Vec<f64> = (0..100).map(|_| rng.random::<f64>()).collect();
    let y: Vec<f64> = x.iter().map(|x| 2.0 * x + 1.0).collect();
    let mut net = perceptron();
    let cfg = ExplicitTraining {
        optimizer: UpdateRuleConfig::new(Method::Gd, 0.5),
        cost: Cost::Mse,
        penalty: Penalty::default(),
        epochs: 1000,
        batch_size: 100,
        seed: 0,
    };
    let history = train_explicit(
        &mut net,
        &from_f64(x, [100, 1], &d),
        &from_f64(y, [100, 1], &d),
        &cfg,
    )
    .unwrap();
    let w = to_f64(net.layers[0].weight.clone())[0];
    let b = to_f64(net.layers[0].bias.clone())[0];
    assert!(
        (w - 2.0).abs() < 1e-3 && (b - 1.0).abs() < 1e-3,
        "w = {w}, b = {b}"
    );
    assert!(*history.last().unwrap() < 1e-6);
}

#[test]
fn one_hidden_node_by_hand() {
    let _serial = gdl_core::seed::serial();
    // x → a₁ = σ(w₁x + b₁) → ŷ = w₂a₁ + b₂, C = (ŷ − y)²:
    // ∂C/∂w₂ = 2(ŷ − y)a₁, ∂C/∂b₂ = 2(ŷ − y), ∂C/∂w₁ = 2(ŷ − y)w₂σ'(z₁)x, ∂C/∂b₁ = 2(ŷ − y)w₂σ'(z₁).
    let (w1, b1, w2, b2, x, y) = (0.8, 0.1, -1.3, 0.4, 0.9, 1.0);
    let d = Default::default();
    let mut net = NetworkConfig::new(
        &[1, 1, 1],
        Activation::Sigmoid,
        Activation::Identity,
        Init::Xavier,
    )
    .init::<B>(&d)
    .unwrap();
    net.layers[0].weight = from_f64(vec![w1], [1, 1], &d);
    net.layers[0].bias = from_f64(vec![b1], [1], &d);
    net.layers[1].weight = from_f64(vec![w2], [1, 1], &d);
    net.layers[1].bias = from_f64(vec![b2], [1], &d);
    let (_, g) = net.backward(
        from_f64(vec![x], [1, 1], &d),
        from_f64(vec![y], [1, 1], &d),
        Cost::Mse,
        Penalty::default(),
    );
    let z1: f64 = w1 * x + b1;
    let a1 = 1.0 / (1.0 + (-z1).exp());
    let s1 = a1 * (1.0 - a1);
    let r = w2 * a1 + b2 - y;
    let expect = [
        2.0 * r * w2 * s1 * x,
        2.0 * r * w2 * s1,
        2.0 * r * a1,
        2.0 * r,
    ];
    let got = [
        to_f64(g.layers[0].weight.clone())[0],
        to_f64(g.layers[0].bias.clone())[0],
        to_f64(g.layers[1].weight.clone())[0],
        to_f64(g.layers[1].bias.clone())[0],
    ];
    assert!(max_diff(&got, &expect) < 1e-14, "{got:?} vs {expect:?}");
}

#[test]
fn bad_shapes_are_named_errors() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    let e = NetworkConfig::new(&[3], Activation::Relu, Activation::Identity, Init::He)
        .init::<B>(&d)
        .unwrap_err();
    assert!(e.to_string().contains("layer sizes"), "{e}");
    let mut cfg = NetworkConfig::new(&[3, 4, 2], Activation::Relu, Activation::Softmax, Init::He);
    cfg.activations[0] = Activation::Softmax;
    assert!(cfg
        .init::<B>(&d)
        .unwrap_err()
        .to_string()
        .contains("hidden layer 1"));
}

#[test]
fn he_and_xavier_have_their_variances() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<B>(&d, 1);
    let he = to_f64(Init::He.weight::<B>(400, 300, &d));
    let xavier = to_f64(Init::Xavier.weight::<B>(400, 300, &d));
    let var = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64;
    // He: 2/n_in = 0.005; Xavier uniform: r²/3 = 2/(n_in + n_out) ≈ 0.002857.
    assert!((var(&he) / 0.005 - 1.0).abs() < 0.02, "{}", var(&he));
    assert!(
        (var(&xavier) / (2.0 / 700.0) - 1.0).abs() < 0.02,
        "{}",
        var(&xavier)
    );
    let _ = MlpModule::<B>::from_network(&network(Activation::Relu, Activation::Identity, 1), &d)
        .num_params();
}
