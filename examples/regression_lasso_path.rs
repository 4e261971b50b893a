//! Lasso coefficient paths: every coefficient of a standardised polynomial fit of the lecture's
//! f(x0, x1) against λ, from λ_max (all zero) down, with warm starts; and the k-fold
//! cross-validated MSE against λ, which picks λ.
//!
//! ```text
//! cargo run --release --example regression_lasso_path
//! cargo run --release --example regression_lasso_path -- --degree 6 --folds 10
//! ```

use clap::Parser;
use gdl::core::backend::LinalgCpu;
use gdl::core::plot::{LinePlot, Scale};
use gdl::regression::data::sample_lecture_function;
use gdl::regression::design::monomial_names;
use gdl::regression::lasso::lambda_grid;
use gdl::regression::validation::cross_validate;
use gdl::regression::{polynomial_features, Fit, Lasso, NormalEquations, Standardizer};
use std::path::PathBuf;

/// Lasso coefficient paths and cross-validated MSE against λ (PNG plots).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Number of data points.
    #[arg(long, default_value_t = 200)]
    n: usize,
    /// Standard deviation σ of the noise.
    #[arg(long, default_value_t = 0.2)]
    noise: f64,
    /// Polynomial degree of the design.
    #[arg(long, default_value_t = 4)]
    degree: usize,
    /// Number of λ values on the path.
    #[arg(long, default_value_t = 60)]
    lambdas: usize,
    /// Smallest λ as a fraction of λ_max.
    #[arg(long, default_value_t = 1e-4)]
    ratio: f64,
    /// Folds of the cross-validation.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Seed of the data and the folds.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where the PNG files go.
    #[arg(long, default_value = "target/gdl/regression_lasso_path")]
    output_dir: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.lambdas >= 2, "--lambdas must be at least 2");
    anyhow::ensure!(
        args.ratio > 0.0 && args.ratio < 1.0,
        "--ratio must lie in (0, 1)"
    );
    let (inputs, y) = sample_lecture_function(args.n, args.noise, args.seed);
    let features = polynomial_features(&inputs, args.degree, false)?;
    let x = Standardizer::fit(&features)?.transform(&features)?;

    // The path, warm-started from λ_max down.
    let ne = NormalEquations::compute::<LinalgCpu>(&x, &y, true, &Default::default())?;
    let lambdas = lambda_grid(&ne, args.lambdas, args.ratio);
    let mut lasso = Lasso::new(0.0);
    lasso.tol = 1e-8;
    lasso.max_iter = 100_000;
    let path = lasso.path_normal(&ne, &lambdas)?;
    let mut plot = LinePlot::new(
        &format!("Lasso paths, degree {} (n = {})", args.degree, args.n),
        "λ",
        "coefficient θj",
    )
    .scales(Scale::Log, Scale::Linear);
    for (j, name) in monomial_names(2, args.degree).iter().enumerate() {
        plot = plot.series(
            name,
            lambdas
                .iter()
                .zip(&path.fits)
                .map(|(l, f)| (*l, f.model.coef[j])),
        );
    }
    let path_png = args.output_dir.join("lasso_path.png");
    plot.save(&path_png)?;

    // k-fold cross-validation of λ.
    let mut cv = Vec::new();
    for &lambda in &lambdas {
        let cfg = Lasso { lambda, ..lasso };
        let score = cross_validate(&x, &y, args.folds, args.seed, |x, y| {
            Ok(cfg.fit(x, y)?.model)
        })?;
        cv.push((lambda, score));
    }
    let (best_lambda, best_mse) = cv
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("at least two λ values");
    let best = path
        .lambdas
        .iter()
        .position(|&l| l == best_lambda)
        .unwrap_or(0);
    println!(
        "λ_max = {:.4e}; best λ by {}-fold CV = {best_lambda:.4e} (CV MSE {best_mse:.5}, {} of {} coefficients non-zero)",
        lambdas[0],
        args.folds,
        path.active_sets()[best].len(),
        x.cols
    );
    let cv_png = args.output_dir.join("lasso_cv.png");
    LinePlot::new(
        &format!("{}-fold cross-validated MSE", args.folds),
        "λ",
        "CV MSE",
    )
    .scales(Scale::Log, Scale::Log)
    .series("Lasso", cv)
    .save(&cv_png)?;
    println!("wrote {} and {}", path_png.display(), cv_png.display());
    Ok(())
}
