//! The lecture's first network: one perceptron with identity activation learning y = 2x + 1
//! by gradient descent on the mean squared error, with the hand-written back-propagation.
//!
//! ```text
//! cargo run --release --example ffnn_perceptron
//! cargo run --release --example ffnn_perceptron -- --noise 0.1 --eta 0.5
//! ```

use clap::Parser;
use gdl::core::backend::NdArray as B;
use gdl::core::optim::{Method, UpdateRuleConfig};
use gdl::core::seed::{seed_all, standard_normal};
use gdl::core::tensor::{from_f64, to_f64};
use gdl::ffnn::activation::Activation;
use gdl::ffnn::cost::{Cost, Penalty};
use gdl::ffnn::network::{Init, NetworkConfig};
use gdl::ffnn::train::{train_explicit, ExplicitTraining};
use rand::Rng;

/// Learn w and b of y = wx + b from noisy samples of y = 2x + 1.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Data points (x uniform in [0, 1]).
    #[arg(long, default_value_t = 100)]
    n: usize,
    /// Standard deviation of Gaussian noise on y.
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    /// Learning rate η of plain gradient descent.
    #[arg(long, default_value_t = 0.5)]
    eta: f64,
    /// Full-batch iterations.
    #[arg(long, default_value_t = 1000)]
    epochs: usize,
    /// Seed of the data and the initial weight.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.n > 0, "--n must be at least 1");
    let device = Default::default();
    let mut rng = seed_all::<B>(&device, args.seed);
    let x: Vec<f64> = (0..args.n).map(|_| rng.random::<f64>()).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|x| 2.0 * x + 1.0 + args.noise * standard_normal(&mut rng))
        .collect();
    let mut net = NetworkConfig::new(
        &[1, 1],
        Activation::Identity,
        Activation::Identity,
        Init::Xavier,
    )
    .init::<B>(&device)?;
    let cfg = ExplicitTraining {
        optimizer: UpdateRuleConfig::new(Method::Gd, args.eta),
        cost: Cost::Mse,
        penalty: Penalty::default(),
        epochs: args.epochs,
        batch_size: args.n,
        seed: args.seed,
    };
    let (xt, yt) = (
        from_f64(x, [args.n, 1], &device),
        from_f64(y, [args.n, 1], &device),
    );
    let history = train_explicit(&mut net, &xt, &yt, &cfg)?;
    let (w, b) = (
        to_f64(net.layers[0].weight.clone())[0],
        to_f64(net.layers[0].bias.clone())[0],
    );
    println!(
        "after {} iterations: w = {w:.4}, b = {b:.4} (true 2, 1); MSE {:.3e}",
        args.epochs,
        history.last().unwrap_or(&f64::NAN)
    );
    Ok(())
}
