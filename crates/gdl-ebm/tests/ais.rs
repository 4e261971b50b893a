//! Annealed importance sampling against the exact log Z of small RBMs (enumeration).

use gdl_core::sample::Sample;
use gdl_core::seed::seed_all;
use gdl_core::tensor::{from_f64, to_f64};
use gdl_core::testing::TestBackend as B;
use gdl_ebm::rbm::ais::{ais_log_z, base_rate_biases, pixel_means, rbm_log_likelihood, AisConfig};
use gdl_ebm::rbm::dbn::{stack, Dbn, DbnSampler};
use gdl_ebm::rbm::exact::BinaryRbm;
use gdl_ebm::rbm::sample::GibbsSampler;
use gdl_ebm::rbm::train::RbmTraining;
use gdl_ebm::rbm::{Rbm, RbmConfig, Visible};
use gdl_mnist::{Binarization, DatasetKind, MnistData, TrainTest, Transform, PIXELS};

/// An RBM with n_v = 12, n_h = 10 and weights of a partly trained model's size.
fn rbm(seed: u64) -> (Rbm<B>, BinaryRbm) {
    let (nv, nh) = (12, 10);
    let mut rng = gdl_core::seed::host_rng(seed);
    let mut normal = |s: f64, n: usize| -> Vec<f64> {
        (0..n)
            .map(|_| s * gdl_core::seed::standard_normal(&mut rng))
            .collect()
    };
    let exact = BinaryRbm::new(normal(0.5, nv), normal(0.5, nh), normal(0.8, nv * nh)).unwrap();
    let d = Default::default();
    let tensors = Rbm::from_parameters(
        from_f64(exact.w.clone(), [nv, nh], &d),
        from_f64(exact.a.clone(), [nv], &d),
        from_f64(exact.b.clone(), [nh], &d),
        Visible::Binary,
    );
    // The tensors are f32: the exact model uses the same rounded values.
    let exact = BinaryRbm::new(
        to_f64(tensors.a.val()),
        to_f64(tensors.b.val()),
        to_f64(tensors.w.val()),
    )
    .unwrap();
    (tensors, exact)
}

#[test]
fn ais_matches_exact_log_z_and_more_temperatures_narrow_the_spread() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<B>(&d, 4);
    let base = base_rate_biases(
        &[0.2, 0.5, 0.7, 0.1, 0.4, 0.9, 0.3, 0.5, 0.6, 0.2, 0.8, 0.5],
        100,
    );
    for seed in [1, 2, 3] {
        let (model, exact) = rbm(seed);
        let log_z = exact.log_z_by_enumeration().unwrap();
        let coarse = ais_log_z(
            &model,
            &base,
            &AisConfig {
                runs: 100,
                temperatures: 30,
            },
            &d,
        )
        .unwrap();
        let fine = ais_log_z(
            &model,
            &base,
            &AisConfig {
                runs: 100,
                temperatures: 3_000,
            },
            &d,
        )
        .unwrap();
        println!(
            "seed {seed}: exact {log_z:.4}; K=30 {:.4} [{:.4}, {:.4}]; K=3000 {:.4} [{:.4}, {:.4}]",
            coarse.log_z,
            coarse.log_z_low,
            coarse.log_z_high,
            fine.log_z,
            fine.log_z_low,
            fine.log_z_high
        );
        assert!(
            (fine.log_z - log_z).abs() < 0.1,
            "AIS {} vs exact {log_z}",
            fine.log_z
        );
        assert!(fine.log_z_low <= log_z + 0.02 && log_z - 0.02 <= fine.log_z_high);
        // The fine run's interval is finite (Ẑ − 3σ̂ > 0) and narrower than the coarse run's
        // on the side that is always finite, log(Ẑ + 3σ̂) − log Ẑ (the coarse run's lower end
        // may be −∞, which would make a comparison of whole widths trivially true).
        assert!(fine.log_z_low.is_finite(), "{}", fine.log_z_low);
        let upper = |e: &gdl_ebm::rbm::ais::AisEstimate| e.log_z_high - e.log_z;
        assert!(
            upper(&fine) < upper(&coarse),
            "{} vs {}",
            upper(&fine),
            upper(&coarse)
        );
    }
}

#[test]
fn ais_rejects_what_it_cannot_estimate() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    let (model, _) = rbm(1);
    let err = ais_log_z(&model, &[0.0; 3], &AisConfig::default(), &d).unwrap_err();
    assert!(
        err.to_string().contains("3 base biases for 12 visible"),
        "{err}"
    );
}

#[test]
fn log_likelihood_of_the_uniform_rbm_is_784_ln_half() {
    let _serial = gdl_core::seed::serial();
    let device = Default::default();
    gdl_core::seed::seed_all::<B>(&device, 4);
    // W = 0, a = 0, b = 0: every x has p(x) = 2^−784, whatever the data.
    let rbm = RbmConfig::new(PIXELS, 3)
        .with_init_std(0.0)
        .init::<B>(&device)
        .unwrap();
    let images: Vec<u8> = (0..20 * PIXELS).map(|i| ((i * 37) % 256) as u8).collect();
    let data = MnistData::new(DatasetKind::Mnist, images, vec![0; 20]).unwrap();
    let means = pixel_means(&data);
    let worst: f64 = (0..PIXELS)
        .map(|p| {
            (0..20)
                .map(|i| ((i * PIXELS + p) * 37 % 256) as f64 / 255.0)
                .sum::<f64>()
                / 20.0
        })
        .zip(&means)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-12, "pixel means off by {worst}");
    let cfg = AisConfig {
        runs: 16,
        temperatures: 300,
    };
    let ll = rbm_log_likelihood(&rbm, &data, &data, Transform::unit(), &cfg, &device).unwrap();
    let exact = -(PIXELS as f64) * 2f64.ln();
    assert!((ll.mean - exact).abs() < 0.05, "{ll:?} vs {exact}");
    assert!(ll.low <= ll.mean && ll.mean <= ll.high);
}

#[test]
fn the_upper_layer_of_a_dbn_learns_the_lower_layers_codes() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<B>(&d, 5);
    // Two kinds of digit, the left or the right half on; a lower RBM whose even hidden units
    // see the left half and odd ones the right (W = ±0.05: pre-activations ±19.6), so that
    // h₁ ~ p₁(h₁|x) is one of two codes, which the upper RBM learns to reconstruct.
    let left = |p: usize| p % 28 < 14;
    let digits = |n: usize| {
        let images = (0..n * PIXELS).map(|i| {
            if left(i % PIXELS) == (i / PIXELS).is_multiple_of(2) {
                255
            } else {
                0
            }
        });
        MnistData::new(DatasetKind::Mnist, images.collect(), vec![0; n]).unwrap()
    };
    let data = TrainTest {
        train: digits(64),
        test: digits(16),
        description: "halves".into(),
    };
    let w: Vec<f64> = (0..PIXELS * 8)
        .map(|k| {
            if left(k / 8) == (k % 8).is_multiple_of(2) {
                0.05
            } else {
                -0.05
            }
        })
        .collect();
    let lower = Rbm::<B>::from_parameters(
        from_f64(w, [PIXELS, 8], &d),
        from_f64(vec![0.0; PIXELS], [PIXELS], &d),
        from_f64(vec![0.0; 8], [8], &d),
        Visible::Binary,
    );
    let cfg = RbmTraining::new(RbmConfig::new(8, 4).with_init_std(0.1))
        .with_epochs(30)
        .with_batch_size(16)
        .with_learning_rate(1.0)
        .with_transform(Transform::unit().binarized(Binarization::Static, 0));
    let upper = cfg.model.init::<B>(&d).unwrap();
    let wrong = RbmConfig::new(7, 4).init::<B>(&d).unwrap();
    let err = stack(lower.clone(), wrong, &data, &cfg, &d, |_, _| Ok(()))
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("7 visible units for 8 hidden"),
        "{err}"
    );
    let (dbn, history) = stack(lower, upper, &data, &cfg, &d, |_, _| Ok(())).unwrap();
    assert_eq!(dbn.upper.dims(), (8, 4));
    let error = |e: usize| history[e].get("train_reconstruction_error").unwrap();
    let (first, last) = (error(0), error(29));
    println!("upper reconstruction error {first} → {last}");
    assert!(last < 0.5 * first, "{first} → {last}");
}

#[test]
fn a_gibbs_sampler_draws_square_images_in_the_unit_range() {
    let d = Default::default();
    // W = 0, a = (3, −3, 0, 0): E[x | h] = sigmoid(a) whatever the chain did.
    let rbm = Rbm::<B>::from_parameters(
        from_f64(vec![0.0; 8], [4, 2], &d),
        from_f64(vec![3.0, -3.0, 0.0, 0.0], [4], &d),
        from_f64(vec![0.0; 2], [2], &d),
        Visible::Binary,
    );
    let x = GibbsSampler {
        rbm: &rbm,
        steps: 3,
    }
    .sample(2, &d);
    assert_eq!(x.dims(), [2, 1, 2, 2]);
    let sig = |t: f64| 1.0 / (1.0 + (-t).exp());
    let v = to_f64(x);
    for row in v.chunks(4) {
        assert!((row[0] - sig(3.0)).abs() < 1e-6 && (row[1] - sig(-3.0)).abs() < 1e-6);
        assert_eq!((row[2], row[3]), (0.5, 0.5));
    }
}

#[test]
fn a_dbn_sampler_decodes_the_top_layers_state_through_the_lower_rbm() {
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<B>(&d, 6);
    // An upper RBM with huge biases pins h₁ = (1, 0) whatever the start; each sample is then
    // E[x | h₁ = (1, 0)] = sigmoid(a + W[:, 0]), four visible units shown as a 2 x 2 image.
    let lower = Rbm::<B>::from_parameters(
        from_f64(vec![2.0, -1.0, -3.0, 0.5, 0.0, 1.0, 1.0, 1.0], [4, 2], &d),
        from_f64(vec![0.5, 0.25, 0.0, -1.0], [4], &d),
        from_f64(vec![0.0, 0.0], [2], &d),
        Visible::Binary,
    );
    let upper = Rbm::<B>::from_parameters(
        from_f64(vec![0.0; 2], [2, 1], &d),
        from_f64(vec![50.0, -50.0], [2], &d),
        from_f64(vec![0.0], [1], &d),
        Visible::Binary,
    );
    let dbn = Dbn { lower, upper };
    let x = DbnSampler {
        dbn: &dbn,
        steps: 5,
    }
    .sample(3, &d);
    assert_eq!(x.dims(), [3, 1, 2, 2]);
    let sig = |t: f64| 1.0 / (1.0 + (-t).exp());
    let want = [sig(2.5), sig(-2.75), sig(0.0), sig(0.0)];
    for row in to_f64(x).chunks(4) {
        for (got, want) in row.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{row:?} vs {want}");
        }
    }
}

/// The RBM of `rbm_mnist` at the program's defaults (784 x 256, CD-1, 20 epochs of batch 64,
/// η = 0.01, momentum 0.5 then 0.9, weight decay 2e-4, dynamic binarisation, seed 0) on the
/// real 8,000 / 2,000 split, its test log-likelihood by AIS with 100 runs x 14,500
/// temperatures (with `GDL_DATA_DIR`).
#[test]
fn rbm_reaches_its_log_likelihood_on_real_digits() {
    let Some(data) = gdl_mnist::testing::real_train_test("rbm_reaches_its_log_likelihood") else {
        return;
    };
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<B>(&d, 0);
    let transform = Transform::unit().binarized(Binarization::Dynamic, 0);
    let cfg = RbmTraining::new(RbmConfig::new(PIXELS, 256))
        .with_epochs(20)
        .with_batch_size(64)
        .with_learning_rate(0.01)
        .with_momentum(0.9)
        .with_weight_decay(2e-4)
        .with_seed(0)
        .with_transform(transform);
    let rbm = cfg.model.init::<B>(&d).unwrap();
    let (rbm, _) =
        gdl_ebm::rbm::train::train_rbm(rbm, &data, &cfg, None, &d, |x| x, |_, _| Ok(())).unwrap();
    let ais = AisConfig {
        runs: 100,
        temperatures: 14_500,
    };
    let ll = rbm_log_likelihood(&rbm, &data.train, &data.test, transform, &ais, &d).unwrap();
    println!(
        "RBM test log-likelihood {:.2} nats ([{:.2}, {:.2}])",
        ll.mean, ll.low, ll.high
    );
    // The README's claim: ≥ −125 nats (docs/results.md: −116.71 on Flex).
    assert!(ll.mean >= -125.0, "{ll:?}");
}
