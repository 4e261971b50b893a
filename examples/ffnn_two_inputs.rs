//! The lecture's 2-2-1 network on f(x0, x1) = x0² + 3x0x1 + x1² + 5 with n = 100 points:
//! two sigmoid hidden nodes, a linear output, trained by ADAM on the mean squared error with
//! the hand-written back-propagation; the cost curve is written as a PNG.
//!
//! ```text
//! cargo run --release --example ffnn_two_inputs
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
use gdl::regression::data::sample_lecture_function;
use gdl::regression::metrics::r2;
use std::path::PathBuf;

/// Fit the lecture's two-variable function with a 2-2-1 network.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Data points.
    #[arg(long, default_value_t = 100)]
    n: usize,
    /// Hidden nodes.
    #[arg(long, default_value_t = 2)]
    hidden: usize,
    /// ADAM learning rate.
    #[arg(long, default_value_t = 0.02)]
    eta: f64,
    /// Full-batch iterations.
    #[arg(long, default_value_t = 3000)]
    epochs: usize,
    /// Seed of the data and the weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where the PNG goes.
    #[arg(long, default_value = "target/gdl/ffnn_two_inputs")]
    output_dir: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.n > 0 && args.hidden > 0,
        "--n and --hidden must be at least 1"
    );
    let device = Default::default();
    seed_all::<B>(&device, args.seed);
    let (inputs, y) = sample_lecture_function(args.n, 0.0, args.seed);
    let x = from_f64(inputs.concat(), [args.n, 2], &device);
    let yt = from_f64(y.clone(), [args.n, 1], &device);
    let mut net = NetworkConfig::new(
        &[2, args.hidden, 1],
        Activation::Sigmoid,
        Activation::Identity,
        Init::Xavier,
    )
    .init::<B>(&device)?;
    let cfg = ExplicitTraining {
        optimizer: UpdateRuleConfig::new(Method::adam(), args.eta),
        cost: Cost::Mse,
        penalty: Penalty::default(),
        epochs: args.epochs,
        batch_size: args.n,
        seed: args.seed,
    };
    let history = train_explicit(&mut net, &x, &yt, &cfg)?;
    let y_hat = to_f64(net.forward(x));
    println!(
        "2-{}-1 network after {} ADAM iterations: MSE {:.4e}, R² {:.5}",
        args.hidden,
        args.epochs,
        history.last().unwrap_or(&f64::NAN),
        r2(&y, &y_hat)?
    );
    let png = args.output_dir.join("cost.png");
    LinePlot::new("2-2-1 network on f(x0, x1)", "iteration", "MSE")
        .scales(Scale::Linear, Scale::Log)
        .series(
            "train MSE",
            history.iter().enumerate().map(|(t, c)| (t as f64, *c)),
        )
        .save(&png)?;
    println!("wrote {}", png.display());
    Ok(())
}
