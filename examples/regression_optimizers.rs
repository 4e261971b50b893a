//! The gradient-descent family on one least-squares problem: cost against iteration for plain
//! GD, momentum, ADAGRAD, RMSprop, ADAM and mini-batch SGD, each compared with the closed-form
//! minimum from the normal equations.
//!
//! ```text
//! cargo run --release --example regression_optimizers
//! cargo run --release --example regression_optimizers -- --iterations 2000 --lambda 0.01
//! ```

use clap::Parser;
use gdl::core::backend::NdArrayF64;
use gdl::core::optim::{Method, Schedule, UpdateRuleConfig};
use gdl::core::plot::{LinePlot, Scale};
use gdl::core::tensor::{from_f64, to_f64, zeros};
use gdl::regression::data::sample_lecture_function;
use gdl::regression::{
    polynomial_features, Batching, DifferentiableCost, Fit, GradientDescent, LeastSquaresCost,
    Matrix, Ridge, Standardizer,
};
use std::path::PathBuf;

/// Cost against iteration for the gradient-descent family (PNG plot).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Number of data points.
    #[arg(long, default_value_t = 200)]
    n: usize,
    /// Polynomial degree of the design (standardised, plus an intercept column).
    #[arg(long, default_value_t = 2)]
    degree: usize,
    /// Ridge λ of the cost (0 for OLS).
    #[arg(long, default_value_t = 0.0)]
    lambda: f64,
    /// Iterations (steps) per method; SGD runs the epochs that make as many steps.
    #[arg(long, default_value_t = 500)]
    iterations: usize,
    /// Learning rate η of GD and SGD (the adaptive methods use their own, printed).
    #[arg(long, default_value_t = 0.1)]
    eta: f64,
    /// Mini-batch size of SGD.
    #[arg(long, default_value_t = 20)]
    batch_size: usize,
    /// Seed of the data and the SGD shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where the PNG goes.
    #[arg(long, default_value = "target/gdl/regression_optimizers")]
    output_dir: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.batch_size >= 1, "--batch-size must be at least 1");
    let (inputs, y) = sample_lecture_function(args.n, 0.1, args.seed);
    let features = polynomial_features(&inputs, args.degree, false)?;
    let xs = Standardizer::fit(&features)?.transform(&features)?;
    // X = [1, standardised features]: the intercept is a parameter like the others.
    let rows: Vec<Vec<f64>> = (0..xs.rows)
        .map(|i| {
            std::iter::once(1.0)
                .chain(xs.row(i).iter().copied())
                .collect()
        })
        .collect();
    let x = Matrix::from_rows("X", &rows)?;

    let device = Default::default();
    let cost = LeastSquaresCost::<NdArrayF64>::new(&x, &y, args.lambda, &device)?;
    let closed = Ridge {
        lambda: args.lambda,
        fit_intercept: false,
    }
    .fit(&x, &y)?;
    let c_min = cost.cost(from_f64(closed.coef.clone(), [x.cols], &device));
    println!("closed form: C(θ*) = {c_min:.6}");

    let steps_per_epoch = args.n.div_ceil(args.batch_size);
    let full = |optimizer| GradientDescent {
        optimizer,
        batching: Batching::Full {
            iterations: args.iterations,
            tol: 0.0,
        },
        seed: args.seed,
    };
    let runs = [
        ("GD", full(UpdateRuleConfig::new(Method::Gd, args.eta))),
        (
            "momentum",
            full(UpdateRuleConfig::new(Method::momentum(), args.eta / 5.0)),
        ),
        (
            "ADAGRAD",
            full(UpdateRuleConfig::new(Method::adagrad(), 1.0)),
        ),
        (
            "RMSprop",
            full(UpdateRuleConfig::new(Method::rmsprop(), 0.05)),
        ),
        ("ADAM", full(UpdateRuleConfig::new(Method::adam(), 0.05))),
        (
            "SGD",
            GradientDescent {
                optimizer: UpdateRuleConfig::new(Method::Gd, args.eta).with_schedule(
                    Schedule::InverseTime {
                        tau: 10.0 * steps_per_epoch as f64,
                    },
                ),
                batching: Batching::MiniBatch {
                    batch_size: args.batch_size,
                    epochs: args.iterations.div_ceil(steps_per_epoch),
                },
                seed: args.seed,
            },
        ),
    ];
    let mut plot = LinePlot::new(
        &format!(
            "excess cost C(θt) − C(θ*), n = {}, λ = {}",
            args.n, args.lambda
        ),
        "iteration t",
        "C(θt) − C(θ*)",
    )
    .scales(Scale::Linear, Scale::Log);
    for (name, gd) in runs {
        let run = gd.minimize(&cost, zeros([x.cols], &device))?;
        let theta = to_f64(run.theta);
        let dist = theta
            .iter()
            .zip(&closed.coef)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        println!(
            "{name:>9}: η = {:<6} C = {:.6} after {} steps, ||θ − θ*|| = {dist:.2e}",
            gd.optimizer.learning_rate,
            run.costs.last().unwrap_or(&f64::NAN),
            run.steps
        );
        plot = plot.series(
            name,
            run.costs
                .iter()
                .enumerate()
                .map(|(t, c)| (t as f64, (c - c_min).max(1e-16))),
        );
    }
    let png = args.output_dir.join("optimizers.png");
    plot.save(&png)?;
    println!("wrote {}", png.display());
    Ok(())
}
