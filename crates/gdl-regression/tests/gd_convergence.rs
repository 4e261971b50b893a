//! Every gradient-descent variant, run long enough on the OLS and Ridge costs, reaches the
//! closed-form solution (normal equations) to 1e-6 relative, in f64.

use gdl_core::optim::{Method, Schedule, UpdateRuleConfig};
use gdl_core::tensor::{to_f64, zeros};
use gdl_core::testing::TestBackendF64 as B;
use gdl_regression::{
    polynomial_features, Batching, Fit, GradientDescent, LeastSquaresCost, Matrix, Ols, Ridge,
    Standardizer,
};

/// The lecture's f(x0, x1) = x0² + 3x0x1 + x1² + 5 with noise on a symmetric 8 x 8 grid in
/// [-1, 1]², as [1, standardised degree-2 features]: 64 points, 6 nearly orthogonal columns.
fn data() -> (Matrix, Vec<f64>) {
    let inputs: Vec<Vec<f64>> = (0..64)
        .map(|i| {
            let (a, b) = ((i % 8) as f64 / 3.5 - 1.0, (i / 8) as f64 / 3.5 - 1.0);
            vec![a + 0.01 * (i as f64).sin(), b]
        })
        .collect();
    let y = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            x[0] * x[0] + 3.0 * x[0] * x[1] + x[1] * x[1] + 5.0 + 0.1 * (3.7 * i as f64).cos()
        })
        .collect();
    let features = polynomial_features(&inputs, 2, false).unwrap();
    let xs = Standardizer::fit(&features)
        .unwrap()
        .transform(&features)
        .unwrap();
    let rows: Vec<Vec<f64>> = (0..xs.rows)
        .map(|i| {
            std::iter::once(1.0)
                .chain(xs.row(i).iter().copied())
                .collect()
        })
        .collect();
    (Matrix::from_rows("X", &rows).unwrap(), y)
}

fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    let num = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    num / b.iter().map(|y| y * y).sum::<f64>().sqrt()
}

fn variants() -> Vec<(&'static str, GradientDescent)> {
    let full = |method, eta, schedule, iterations| GradientDescent {
        optimizer: UpdateRuleConfig::new(method, eta).with_schedule(schedule),
        batching: Batching::Full {
            iterations,
            tol: 1e-12,
        },
        seed: 1,
    };
    let decay = |every| Schedule::Exponential { rate: 0.5, every };
    vec![
        ("GD", full(Method::Gd, 0.1, Schedule::Constant, 20_000)),
        (
            "momentum",
            full(Method::momentum(), 0.02, Schedule::Constant, 20_000),
        ),
        (
            "ADAGRAD",
            full(Method::adagrad(), 1.0, Schedule::Constant, 20_000),
        ),
        (
            "RMSprop",
            full(Method::rmsprop(), 0.01, decay(1000), 20_000),
        ),
        ("ADAM", full(Method::adam(), 0.05, decay(1000), 20_000)),
        (
            "SGD",
            GradientDescent {
                // η shrinks by 0.7 every 1000 steps: fast early progress, then a shrinking
                // noise floor of the mini-batch gradients.
                optimizer: UpdateRuleConfig::new(Method::Gd, 0.1).with_schedule(
                    Schedule::Exponential {
                        rate: 0.7,
                        every: 1000,
                    },
                ),
                batching: Batching::MiniBatch {
                    batch_size: 32,
                    epochs: 10_000,
                },
                seed: 1,
            },
        ),
    ]
}

fn check(lambda: f64) {
    let (x, y) = data();
    let closed = if lambda == 0.0 {
        Ols {
            fit_intercept: false,
        }
        .fit(&x, &y)
        .unwrap()
    } else {
        Ridge {
            lambda,
            fit_intercept: false,
        }
        .fit(&x, &y)
        .unwrap()
    };
    let device = Default::default();
    let cost = LeastSquaresCost::<B>::new(&x, &y, lambda, &device).unwrap();
    for (name, gd) in variants() {
        let run = gd.minimize(&cost, zeros([x.cols], &device)).unwrap();
        let err = relative_error(&to_f64(run.theta), &closed.coef);
        println!(
            "λ={lambda} {name}: relative error {err:.3e} after {} steps",
            run.steps
        );
        assert!(err < 1e-6, "λ={lambda} {name}: relative error {err:e}");
        assert!(
            run.costs.last() < run.costs.first(),
            "{name}: cost did not decrease"
        );
    }
}

#[test]
fn every_variant_reaches_the_ols_solution() {
    let _serial = gdl_core::seed::serial();
    check(0.0);
}

#[test]
fn every_variant_reaches_the_ridge_solution() {
    let _serial = gdl_core::seed::serial();
    check(0.01);
}
