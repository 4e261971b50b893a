//! An energy-based model of MNIST sampled by Langevin dynamics (Du and Mordatch 2019): a
//! convolutional energy network on 32 x 32 digits in [−1, 1], trained by contrastive
//! divergence with SGLD samples from a replay buffer. Writes a grid of buffer samples after
//! every epoch, a grid of fresh chains from noise at the end, the energy curves as PNG and
//! the weights as a checkpoint.
//!
//! ```text
//! cargo run --release --example ebm_langevin_mnist
//! cargo run --release --example ebm_langevin_mnist -- --epochs 20 --sgld-steps 60
//! ```

mod common;

use clap::Parser;
use gdl::burn::tensor::backend::AutodiffBackend;
use gdl::core::backend::{run_on, BackendTask};
use gdl::core::image::{save_grid, GridOptions, PixelRange};
use gdl::core::plot::LinePlot;

use gdl::core::run_dir::{metric_log, RunDir, RunSummary};
use gdl::core::sample::save_samples;
use gdl::core::seed::seed_all;
use gdl::ebm::langevin::train::{train_ebm, LangevinTraining};
use gdl::ebm::langevin::{LangevinSampler, Sgld};
use std::path::PathBuf;

/// Train a Langevin-sampled energy-based model on MNIST.
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    run: common::RunFlags,
    #[command(flatten)]
    samples: common::SampleFlags,
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// ADAM's η (β₁ = 0).
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// α, the weight of the energy regulariser.
    #[arg(long, default_value_t = 0.1)]
    alpha: f64,
    /// SGLD steps per training step.
    #[arg(long, default_value_t = 60)]
    sgld_steps: usize,
    /// SGLD step size λ.
    #[arg(long, default_value_t = 10.0)]
    step_size: f64,
    /// SGLD noise σ.
    #[arg(long, default_value_t = 0.005)]
    noise: f64,
    /// Clip c of ∇_x E.
    #[arg(long, default_value_t = 0.03)]
    clip: f64,
    /// Replay buffer size and the fraction of chains restarted from noise.
    #[arg(long, default_value_t = 8192)]
    buffer: usize,
    #[arg(long, default_value_t = 0.05)]
    fresh: f64,
    /// SGLD steps of the final chains from noise.
    #[arg(long, default_value_t = 256)]
    final_steps: usize,
    #[arg(long, default_value = "target/gdl/ebm_langevin_mnist")]
    output_dir: PathBuf,
    /// Continue from the last checkpoint in the output directory (with the same flags but
    /// --epochs, which may grow).
    #[arg(long)]
    resume: bool,
}

struct Run(Args);

impl BackendTask for Run {
    type Output = anyhow::Result<()>;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<()> {
        let args = self.0;
        anyhow::ensure!(args.buffer > 0, "--buffer must be >= 1");
        anyhow::ensure!(
            args.sgld_steps > 0 && args.final_steps > 0,
            "--sgld-steps and --final-steps must be >= 1"
        );
        anyhow::ensure!(
            (0.0..=1.0).contains(&args.fresh),
            "--fresh must be in [0, 1]"
        );
        anyhow::ensure!(
            args.step_size > 0.0 && args.clip > 0.0 && args.noise >= 0.0,
            "--step-size and --clip must be > 0, --noise >= 0"
        );
        let dir = args.output_dir.clone();
        seed_all::<B>(device, args.run.seed);
        let data = args.run.data_source().train_test()?;
        println!("{}", data.description);
        let sgld = Sgld::new()
            .with_steps(args.sgld_steps)
            .with_step_size(args.step_size)
            .with_noise(args.noise)
            .with_clip(args.clip);
        let cfg = LangevinTraining::new()
            .with_epochs(args.epochs)
            .with_batch_size(args.batch_size)
            .with_learning_rate(args.lr)
            .with_alpha(args.alpha)
            .with_sgld(sgld)
            .with_buffer_capacity(args.buffer)
            .with_fresh(args.fresh)
            .with_seed(args.run.seed);
        let net = cfg.model.init::<B>(device);
        let run = RunDir::open(&dir, &cfg, args.resume)?;
        let grid = GridOptions::with_cols(8).range(PixelRange::Symmetric);
        let (net, history) = train_ebm(net, &data, &cfg, Some(&run), device, |r, t| {
            let get = |name| r.get(name).unwrap_or(f64::NAN);
            println!(
                "epoch {:>2}: loss {:.4}, E(data) {:.4}, E(samples) {:.4}",
                r.epoch,
                get("train_loss"),
                get("train_energy_data"),
                get("train_energy_samples")
            );
            save_grid(
                t.buffer.newest::<B::InnerBackend>(64, device),
                &dir.join(format!("samples_epoch_{:02}.png", r.epoch)),
                &grid,
            )
        })?;
        let log = metric_log(run.metrics_path(), &history)?;
        // Fresh chains from uniform noise, run longer than in training.
        let sampler = LangevinSampler {
            net: &net,
            sgld: sgld.with_steps(args.final_steps),
        };
        save_samples(&sampler, 64, 8, &dir.join("samples_from_noise.png"), device)?;
        args.samples.write(&sampler, &dir, device)?;
        RunSummary {
            model: format!("Langevin EBM ({} SGLD steps)", args.final_steps),
            backend: B::name(device),
            epochs: history.len(),
            train_seconds: RunSummary::seconds(&history),
            test_nll_nats: None,
            nll_method: None,
        }
        .write(&dir)?;
        LinePlot::new("Langevin EBM on MNIST: mean energies", "epoch", "E(x)")
            .series("data", log.curve("epoch", "train_energy_data"))
            .series("SGLD samples", log.curve("epoch", "train_energy_samples"))
            .save(&dir.join("energies.png"))?;
        println!("wrote {}", dir.display());
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    common::check_training(args.epochs, args.batch_size, args.lr)?;
    let backend = args.run.backend()?;
    println!("Langevin EBM on {backend}, seed {}", args.run.seed);
    run_on(backend, Run(args))?
}
