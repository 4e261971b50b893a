//! The universal approximation theorem in practice: one hidden layer of sigmoid units fitting
//! a smooth 1-D function, f(x) = sin(2πx)·e^(−x) + x/2 on [0, 2], with growing width; the
//! error against width and the fits are written as PNG plots.
//!
//! ```text
//! cargo run --release --example ffnn_universal_approximation
//! ```

use clap::Parser;
use gdl::core::backend::NdArray as B;
use gdl::core::optim::{Method, UpdateRuleConfig};
use gdl::core::plot::{LinePlot, Scale};
use gdl::core::seed::seed_all;
use gdl::core::tensor::{from_f64, to_f64};
use gdl::ffnn::activation::Activation;
use gdl::ffnn::cost::{Cost, Penalty};
use gdl::ffnn::network::{Init, NetworkConfig};
use gdl::ffnn::train::{train_explicit, ExplicitTraining};
use gdl::regression::metrics::mse;
use std::path::PathBuf;

/// Approximation error of one hidden sigmoid layer against its width.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Training points on [0, 2].
    #[arg(long, default_value_t = 200)]
    n: usize,
    /// ADAM iterations (full batch) per width.
    #[arg(long, default_value_t = 8000)]
    epochs: usize,
    /// Largest width (widths 1, 2, 4, ... up to it).
    #[arg(long, default_value_t = 32)]
    max_width: usize,
    /// Seed of the initial weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where the PNG files go.
    #[arg(long, default_value = "target/gdl/ffnn_universal_approximation")]
    output_dir: PathBuf,
}

fn target(x: f64) -> f64 {
    (std::f64::consts::TAU * x).sin() * (-x).exp() + 0.5 * x
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.n >= 2 && args.max_width >= 1,
        "need --n >= 2 and --max-width >= 1"
    );
    let device = Default::default();
    let xs: Vec<f64> = (0..args.n)
        .map(|i| 2.0 * i as f64 / (args.n - 1) as f64)
        .collect();
    let ys: Vec<f64> = xs.iter().map(|&x| target(x)).collect();
    // A finer grid between the training points measures the approximation error.
    let grid: Vec<f64> = (0..4 * args.n)
        .map(|i| 2.0 * (i as f64 + 0.5) / (4 * args.n) as f64)
        .collect();
    let truth: Vec<f64> = grid.iter().map(|&x| target(x)).collect();
    let (x, y) = (
        from_f64(xs.clone(), [args.n, 1], &device),
        from_f64(ys, [args.n, 1], &device),
    );
    let xg = from_f64(grid.clone(), [grid.len(), 1], &device);

    let mut errors = Vec::new();
    let mut fits = LinePlot::new("one hidden sigmoid layer", "x", "f(x)")
        .series("target", grid.iter().copied().zip(truth.iter().copied()));
    let mut width = 1;
    while width <= args.max_width {
        seed_all::<B>(&device, args.seed);
        let mut net = NetworkConfig::new(
            &[1, width, 1],
            Activation::Sigmoid,
            Activation::Identity,
            Init::Xavier,
        )
        .init::<B>(&device)?;
        let cfg = ExplicitTraining {
            optimizer: UpdateRuleConfig::new(Method::adam(), 0.01),
            cost: Cost::Mse,
            penalty: Penalty::default(),
            epochs: args.epochs,
            batch_size: args.n,
            seed: args.seed,
        };
        train_explicit(&mut net, &x, &y, &cfg)?;
        let pred = to_f64(net.forward(xg.clone()));
        let err = mse(&truth, &pred)?;
        println!("width {width:>3}: MSE on a fine grid {err:.3e}");
        errors.push((width as f64, err));
        if width.is_power_of_two() && width % 4 == 1 || width == 4 || width == args.max_width {
            fits = fits.series(&format!("width {width}"), grid.iter().copied().zip(pred));
        }
        width *= 2;
    }
    let err_png = args.output_dir.join("error_vs_width.png");
    LinePlot::new("approximation error against width", "hidden units", "MSE")
        .scales(Scale::Log, Scale::Log)
        .series("MSE", errors)
        .save(&err_png)?;
    let fit_png = args.output_dir.join("fits.png");
    fits.save(&fit_png)?;
    println!("wrote {} and {}", err_png.display(), fit_png.display());
    Ok(())
}
