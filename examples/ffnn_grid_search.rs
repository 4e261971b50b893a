//! The lecture's exercise: test MSE of a one-hidden-layer network on the two-variable function
//! over a grid of learning rates η and L2 strengths λ, trained by mini-batch SGD with the
//! hand-written back-propagation; written as a heat map.
//!
//! ```text
//! cargo run --release --example ffnn_grid_search
//! ```

use clap::Parser;
use gdl::core::backend::NdArray as B;
use gdl::core::optim::{Method, UpdateRuleConfig};
use gdl::core::plot::{format_value, Heatmap};
use gdl::core::seed::seed_all;
use gdl::core::tensor::{from_f64, to_f64};
use gdl::ffnn::activation::Activation;
use gdl::ffnn::cost::{Cost, Penalty};
use gdl::ffnn::network::{Init, NetworkConfig};
use gdl::ffnn::train::{train_explicit, ExplicitTraining};
use gdl::regression::data::{sample_lecture_function, train_test_split};
use gdl::regression::metrics::mse;
use std::path::PathBuf;

/// Heat map of test MSE over learning rate and L2 penalty.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Data points (80% train, 20% test).
    #[arg(long, default_value_t = 200)]
    n: usize,
    /// Hidden sigmoid nodes.
    #[arg(long, default_value_t = 20)]
    hidden: usize,
    /// SGD epochs per grid point.
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 10)]
    batch_size: usize,
    /// Seed of the data, weights and shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where the PNG goes.
    #[arg(long, default_value = "target/gdl/ffnn_grid_search")]
    output_dir: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.n >= 10 && args.hidden > 0 && args.batch_size > 0,
        "need --n >= 10, --hidden and --batch-size >= 1"
    );
    let device = Default::default();
    let (inputs, y) = sample_lecture_function(args.n, 0.1, args.seed);
    let (train, test) = train_test_split(args.n, 0.2, args.seed);
    let rows = |idx: &[usize]| {
        (
            idx.iter()
                .flat_map(|&i| inputs[i].clone())
                .collect::<Vec<_>>(),
            idx.iter().map(|&i| y[i]).collect::<Vec<_>>(),
        )
    };
    let ((x_tr, y_tr), (x_te, y_te)) = (rows(&train), rows(&test));
    let x_train = from_f64(x_tr, [train.len(), 2], &device);
    let y_train = from_f64(y_tr, [train.len(), 1], &device);
    let x_test = from_f64(x_te, [test.len(), 2], &device);

    let etas = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1];
    let lambdas = [0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1];
    let mut values = Vec::new();
    for &eta in &etas {
        let mut row = Vec::new();
        for &l2 in &lambdas {
            seed_all::<B>(&device, args.seed);
            let mut net = NetworkConfig::new(
                &[2, args.hidden, 1],
                Activation::Sigmoid,
                Activation::Identity,
                Init::Xavier,
            )
            .init::<B>(&device)?;
            let cfg = ExplicitTraining {
                optimizer: UpdateRuleConfig::new(Method::Gd, eta),
                cost: Cost::Mse,
                penalty: Penalty { l1: 0.0, l2 },
                epochs: args.epochs,
                batch_size: args.batch_size,
                seed: args.seed,
            };
            // A diverging run (NaN) is reported as such in the map, not as an error.
            let test_mse = match train_explicit(&mut net, &x_train, &y_train, &cfg) {
                Ok(_) => mse(&y_te, &to_f64(net.forward(x_test.clone())))?,
                Err(_) => f64::NAN,
            };
            println!("η = {eta:<6} λ = {l2:<6} test MSE {test_mse:.4}");
            row.push(test_mse);
        }
        values.push(row);
    }
    let png = args.output_dir.join("grid_search.png");
    Heatmap {
        title: format!(
            "test MSE, 2-{}-1 sigmoid network, SGD {} epochs",
            args.hidden, args.epochs
        ),
        x_label: "L2 strength λ".into(),
        y_label: "learning rate η".into(),
        col_labels: lambdas.iter().map(|v| format_value(*v)).collect(),
        row_labels: etas.iter().map(|v| format_value(*v)).collect(),
        values,
    }
    .save(&png)?;
    println!("wrote {}", png.display());
    Ok(())
}
