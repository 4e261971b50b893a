//! The lecture's first learning problem: fit f(x0, x1) = x0² + 3x0x1 + x1² + 5 plus noise with
//! polynomials of growing degree by OLS, Ridge and Lasso, and plot train and test MSE against
//! the degree; then the bias-variance decomposition of OLS by bootstrap.
//!
//! ```text
//! cargo run --release --example regression_polynomial
//! cargo run --release --example regression_polynomial -- --max-degree 15 --noise 0.3 --seed 2
//! ```

use clap::Parser;
use gdl::core::plot::{LinePlot, Scale};
use gdl::regression::data::{sample_lecture_function, train_test_split};
use gdl::regression::metrics::mse;
use gdl::regression::validation::bias_variance;
use gdl::regression::{polynomial_features, Fit, Lasso, Matrix, Ols, Ridge, Standardizer};
use std::path::PathBuf;

/// Train and test MSE against polynomial degree for OLS, Ridge and Lasso (PNG plots).
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Number of data points (x uniform in [0, 1]²).
    #[arg(long, default_value_t = 200)]
    n: usize,
    /// Standard deviation σ of the Gaussian noise added to f.
    #[arg(long, default_value_t = 0.2)]
    noise: f64,
    /// Highest polynomial degree.
    #[arg(long, default_value_t = 12)]
    max_degree: usize,
    /// Ridge λ (lecture scaling: cost (1/n)||y − Xθ||² + λ||θ||²).
    #[arg(long, default_value_t = 1e-4)]
    ridge_lambda: f64,
    /// Lasso λ (lecture scaling: cost (1/n)||y − Xθ||² + λ||θ||₁).
    #[arg(long, default_value_t = 1e-4)]
    lasso_lambda: f64,
    /// Fraction of the points held out as test data.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Bootstrap resamples for the bias-variance decomposition.
    #[arg(long, default_value_t = 100)]
    bootstraps: usize,
    /// Seed of the data, the split and the bootstrap.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where the PNG files go.
    #[arg(long, default_value = "target/gdl/regression_polynomial")]
    output_dir: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.max_degree >= 1, "--max-degree must be at least 1");
    anyhow::ensure!(
        args.test_fraction > 0.0 && args.test_fraction < 1.0,
        "--test-fraction must lie in (0, 1)"
    );
    let (inputs, y) = sample_lecture_function(args.n, args.noise, args.seed);
    let (train, test) = train_test_split(args.n, args.test_fraction, args.seed);
    let pick = |idx: &[usize]| -> (Vec<Vec<f64>>, Vec<f64>) {
        (
            idx.iter().map(|&i| inputs[i].clone()).collect(),
            idx.iter().map(|&i| y[i]).collect(),
        )
    };
    let ((x_train, y_train), (x_test, y_test)) = (pick(&train), pick(&test));

    let names = ["OLS", "Ridge", "Lasso"];
    let mut curves: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 6];
    let (mut bias2, mut variance, mut error) = (Vec::new(), Vec::new(), Vec::new());
    println!(
        "degree  {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "OLS train", "OLS test", "Ridge train", "Ridge test", "Lasso train", "Lasso test"
    );
    for degree in 1..=args.max_degree {
        // Design matrices; the standardiser is fitted on the training part only.
        let f_train = polynomial_features(&x_train, degree, false)?;
        let f_test = polynomial_features(&x_test, degree, false)?;
        let scaler = Standardizer::fit(&f_train)?;
        let (a_train, a_test) = (scaler.transform(&f_train)?, scaler.transform(&f_test)?);
        let models = [
            Ols::default().fit(&a_train, &y_train)?,
            Ridge::new(args.ridge_lambda).fit(&a_train, &y_train)?,
            Lasso::new(args.lasso_lambda).fit(&a_train, &y_train)?.model,
        ];
        let mut row = Vec::new();
        for (k, m) in models.iter().enumerate() {
            let train_mse = mse(&y_train, &m.predict(&a_train)?)?;
            let test_mse = mse(&y_test, &m.predict(&a_test)?)?;
            curves[2 * k].push((degree as f64, train_mse));
            curves[2 * k + 1].push((degree as f64, test_mse));
            row.push(format!("{train_mse:>12.5} {test_mse:>12.5}"));
        }
        println!("{degree:>6}  {}", row.join(" "));
        // Bias-variance of OLS at this degree.
        let bv = bias_variance(
            (&a_train, &y_train),
            (&a_test, &y_test),
            args.bootstraps,
            args.seed,
            |x: &Matrix, y: &[f64]| Ols::default().fit(x, y),
        )?;
        error.push((degree as f64, bv.error));
        bias2.push((degree as f64, bv.bias2));
        variance.push((degree as f64, bv.variance));
    }

    let mut plot = LinePlot::new(
        &format!("MSE against degree (n = {}, σ = {})", args.n, args.noise),
        "polynomial degree",
        "MSE",
    )
    .scales(Scale::Linear, Scale::Log);
    for (k, name) in names.iter().enumerate() {
        plot = plot
            .series(&format!("{name} train"), curves[2 * k].clone())
            .series(&format!("{name} test"), curves[2 * k + 1].clone());
    }
    let mse_path = args.output_dir.join("mse_vs_degree.png");
    plot.save(&mse_path)?;
    let bv_path = args.output_dir.join("bias_variance.png");
    LinePlot::new(
        &format!("OLS bias-variance, {} bootstraps", args.bootstraps),
        "polynomial degree",
        "test error",
    )
    .scales(Scale::Linear, Scale::Log)
    .series("error", error)
    .series("bias²", bias2)
    .series("variance", variance)
    .save(&bv_path)?;
    println!("wrote {} and {}", mse_path.display(), bv_path.display());
    Ok(())
}
