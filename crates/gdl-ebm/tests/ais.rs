//! Annealed importance sampling against the exact log Z of small RBMs (enumeration).

use gdl_core::seed::seed_all;
use gdl_core::tensor::{from_f64, to_f64};
use gdl_core::testing::TestBackend as B;
use gdl_ebm::ais::{ais_log_z, base_rate_biases, AisConfig};
use gdl_ebm::rbm::{Rbm, Visible};
use gdl_ebm::rbm_exact::BinaryRbm;

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
    let _serial = gdl_core::seed::serial(); // the backend RNG is one per process
    let d = Default::default();
    seed_all::<B>(&d, 4);
    let base = base_rate_biases(
        &[0.2, 0.5, 0.7, 0.1, 0.4, 0.9, 0.3, 0.5, 0.6, 0.2, 0.8, 0.5],
        100,
    );
    for seed in [1, 2, 3] {
        let (model, exact) = rbm(seed);
        let log_z = exact.log_z_by_enumeration();
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
        let width = |e: &gdl_ebm::ais::AisEstimate| e.log_z_high - e.log_z_low;
        assert!(
            width(&fine) < width(&coarse),
            "{} vs {}",
            width(&fine),
            width(&coarse)
        );
    }
}

#[test]
fn ais_rejects_what_it_cannot_estimate() {
    let _serial = gdl_core::seed::serial(); // the backend RNG is one per process
    let d = Default::default();
    let (model, _) = rbm(1);
    let err = ais_log_z(&model, &[0.0; 3], &AisConfig::default(), &d).unwrap_err();
    assert!(
        err.to_string().contains("3 base biases for 12 visible"),
        "{err}"
    );
}
