//! The project's front door: train the MLP variational autoencoder (784-400-20, Bernoulli
//! decoder on grey levels, ADAM 1e-3, batch 128) on MNIST; write samples from the prior,
//! reconstructions and the loss curves as PNG; print the test negative ELBO and the
//! importance-weighted estimate of log p(x); save a checkpoint that `--resume` continues.
//! Also writes `interpolation.png` (rows that walk in latent space between test digits) and,
//! with `--latent 2`, `manifold.png` and `latent_scatter.png`.
//!
//! ```text
//! cargo run --release --example vae_mnist
//! cargo run --release --example vae_mnist -- --epochs 20 --resume
//! ```

use anyhow::Context;
use clap::Parser;
use gdl::burn::module::AutodiffModule;
use gdl::burn::optim::Optimizer;
use gdl::burn::tensor::backend::AutodiffBackend;
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::core::image::{save_grid, GridOptions};
use gdl::core::plot::LinePlot;
use gdl::core::run::{load_module, load_record, save_module, save_record, MetricLog};
use gdl::core::seed::seed_all;
use gdl::mnist::{DataSource, DatasetKind, MnistLoader};
use gdl::vae::iwae::iwae_bound;
use gdl::vae::model::VaeConfig;
use gdl::vae::sample::{interpolate, reconstruct, sample_prior};
use gdl::vae::train::{adam, train_vae, VaeTraining};
use std::path::{Path, PathBuf};

/// Train a variational autoencoder on MNIST and write samples.
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
struct Args {
    /// Total epochs (with --resume: train until this many are done).
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Latent dimension d.
    #[arg(long, default_value_t = 20)]
    latent: usize,
    /// Encoder/decoder architecture (only `mlp` so far).
    #[arg(long, default_value = "mlp", value_parser = ["mlp"])]
    arch: String,
    /// Mini-batch size.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// ADAM learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// β, the weight of the KL term.
    #[arg(long, default_value_t = 1.0)]
    beta: f64,
    /// Epochs of linear KL warm-up from 0 to β.
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    /// Importance samples k of the test log-likelihood estimate (0 skips it).
    #[arg(long, default_value_t = 500)]
    iwae_k: usize,
    /// Burn backend: flex, ndarray or wgpu (default: GDL_BACKEND, else flex).
    #[arg(long)]
    backend: Option<BackendKind>,
    /// Seed of the weights, the samples and the shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Directory with the MNIST IDX files (default: GDL_DATA_DIR, a system copy, or the cache).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Do not download missing files.
    #[arg(long)]
    no_download: bool,
    /// Where the checkpoint, metrics and PNG files go.
    #[arg(long, default_value = "target/gdl/vae_mnist")]
    output_dir: PathBuf,
    /// Continue from the checkpoint in the output directory.
    #[arg(long)]
    resume: bool,
}

struct Run(Args);

const COLUMNS: [&str; 6] = [
    "epoch",
    "train_reconstruction",
    "train_kl",
    "test_reconstruction",
    "test_kl",
    "seconds",
];

impl BackendTask for Run {
    type Output = anyhow::Result<()>;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<()> {
        let args = self.0;
        let dir = args.output_dir.clone();
        seed_all::<B>(device, args.seed);
        let data = DataSource::new(DatasetKind::Mnist)
            .with_dir(args.data_dir.clone())
            .with_download(!args.no_download)
            .train_test()?;
        println!("{}", data.description);
        let cfg = VaeTraining {
            epochs: args.epochs,
            batch_size: args.batch_size,
            learning_rate: args.lr,
            beta: args.beta,
            warmup_epochs: args.warmup,
            seed: args.seed,
        };
        anyhow::ensure!(
            cfg.batch_size > 0 && cfg.beta >= 0.0,
            "--batch-size must be >= 1 and --beta >= 0"
        );
        let model_cfg = VaeConfig::new().with_d_latent(args.latent);
        let mut vae = model_cfg.init::<B>(device);
        let mut optim = adam::<B>();
        let (model_path, optim_path, metrics_path) = (
            dir.join("model.mpk"),
            dir.join("optim.mpk"),
            dir.join("metrics.csv"),
        );
        let mut log = if args.resume {
            vae =
                load_module(vae, &model_path, device).context("--resume: no usable checkpoint")?;
            optim = optim.load_record(load_record::<B, _>(&optim_path, device)?);
            MetricLog::resume(&metrics_path, &COLUMNS)?
        } else {
            MetricLog::create(&metrics_path, &COLUMNS)?
        };
        let first_epoch = log.rows().len() + 1;
        if first_epoch > 1 {
            println!("resuming after epoch {}", first_epoch - 1);
        }
        gdl::core::fs::atomic_write(&dir.join("config.json"), model_cfg.to_string().as_bytes())?;
        let vae = train_vae(
            vae,
            &mut optim,
            &data,
            &cfg,
            first_epoch,
            device,
            |r, m, o| {
                println!(
                "epoch {:>2}: train −ELBO {:.2} (rec {:.2} + KL {:.2}), test −ELBO {:.2} nats ({:.1} s)",
                r.epoch,
                r.train_reconstruction + r.train_kl,
                r.train_reconstruction,
                r.train_kl,
                r.test_negative_elbo(),
                r.seconds
            );
                log.push(&[
                    r.epoch as f64,
                    r.train_reconstruction,
                    r.train_kl,
                    r.test_reconstruction,
                    r.test_kl,
                    r.seconds,
                ])?;
                // The optimiser first, then the model: a crash between leaves an older model
                // with a newer optimiser, which resumes safely.
                save_record::<B, _>(o.to_record(), &optim_path)?;
                save_module(m, &model_path)
            },
        )?;
        let vae = vae.valid();
        write_pictures(&vae, &data.test, &log, &dir, device)?;
        if let Some(last) = log.rows().last() {
            println!(
                "test negative ELBO {:.2} nats per digit (grey-level Bernoulli likelihood)",
                last[3] + last[4]
            );
        }
        if args.iwae_k > 0 {
            // A chunk of the test set keeps the k-sample estimate quick; the bound is per image.
            let batch = MnistLoader::new(&data.test, 500)
                .epoch::<B::InnerBackend>(0, device)
                .next();
            if let Some(batch) = batch {
                let bounds = iwae_bound(&vae, batch.flat(), args.iwae_k);
                let mean = bounds.iter().sum::<f64>() / bounds.len() as f64;
                // The ELBO (k = 1 bound) of the same digits, for comparison.
                let ones = iwae_bound(&vae, batch.flat(), 1);
                let elbo = ones.iter().sum::<f64>() / ones.len() as f64;
                println!(
                    "on the first {} test digits: ELBO {elbo:.2}, IWAE (k = {}) {mean:.2} nats (log p(x) >= IWAE >= ELBO)",
                    bounds.len(),
                    args.iwae_k,
                );
            }
        }
        println!("wrote {}", dir.display());
        Ok(())
    }
}

fn write_pictures<B: gdl::burn::tensor::backend::Backend>(
    vae: &gdl::vae::model::Vae<B>,
    test: &gdl::mnist::MnistData,
    log: &MetricLog,
    dir: &Path,
    device: &B::Device,
) -> anyhow::Result<()> {
    save_grid(
        sample_prior(vae, 100, device),
        &dir.join("samples.png"),
        &GridOptions::with_cols(10),
    )?;
    // Reconstructions: rows alternate 10 test digits and their reconstructions.
    if let Some(batch) = MnistLoader::new(test, 50).epoch::<B>(0, device).next() {
        let x = batch.flat();
        let recon = reconstruct(vae, x.clone());
        let n = x.dims()[0];
        let originals = x.reshape([n, 1, 28, 28]);
        let rows: Vec<_> = (0..n / 10)
            .flat_map(|r| {
                [
                    originals.clone().narrow(0, r * 10, 10),
                    recon.clone().narrow(0, r * 10, 10),
                ]
            })
            .collect();
        save_grid(
            gdl::burn::tensor::Tensor::cat(rows, 0),
            &dir.join("reconstructions.png"),
            &GridOptions::with_cols(10),
        )?;
    }
    // Interpolation: each row walks in latent space from one test digit to the next.
    if let Some(batch) = MnistLoader::new(test, 11).epoch::<B>(0, device).next() {
        let x = batch.flat();
        let rows: Vec<_> = (0..x.dims()[0] - 1)
            .map(|i| {
                interpolate(
                    vae,
                    x.clone().narrow(0, i, 1),
                    x.clone().narrow(0, i + 1, 1),
                    10,
                )
            })
            .collect();
        save_grid(
            gdl::burn::tensor::Tensor::cat(rows, 0),
            &dir.join("interpolation.png"),
            &GridOptions::with_cols(10),
        )?;
    }
    if vae.d_latent() == 2 {
        write_latent_plane(vae, test, dir, device)?;
    }
    let col = |name: &str| log.column(name).unwrap_or_default();
    let epochs = col("epoch");
    let total = |a: &str, b: &str| {
        epochs
            .iter()
            .zip(col(a).iter().zip(col(b)))
            .map(|(e, (x, y))| (*e, x + y))
            .collect::<Vec<_>>()
    };
    LinePlot::new("VAE on MNIST: negative ELBO", "epoch", "nats per digit")
        .series("train", total("train_reconstruction", "train_kl"))
        .series("test", total("test_reconstruction", "test_kl"))
        .save(&dir.join("loss.png"))?;
    Ok(())
}

/// With a 2-D latent: the decoded manifold on a 20 x 20 grid over [−3, 3]² and a scatter of
/// the test codes μ(x) coloured by label.
fn write_latent_plane<B: gdl::burn::tensor::backend::Backend>(
    vae: &gdl::vae::model::Vae<B>,
    test: &gdl::mnist::MnistData,
    dir: &Path,
    device: &B::Device,
) -> anyhow::Result<()> {
    let side = 20;
    let grid: Vec<f64> = (0..side * side)
        .flat_map(|k| {
            let (row, col) = (k / side, k % side);
            let at = |i: usize| -3.0 + 6.0 * i as f64 / (side - 1) as f64;
            [at(col), -at(row)] // h₁ grows to the right, h₂ upwards
        })
        .collect();
    let h = gdl::core::tensor::from_f64::<B, 2>(grid, [side * side, 2], device);
    let logits = vae.decode(h);
    let images = gdl::burn::tensor::activation::sigmoid(logits).reshape([side * side, 1, 28, 28]);
    save_grid(
        images,
        &dir.join("manifold.png"),
        &GridOptions::with_cols(side),
    )?;
    let mut codes: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 10];
    let mut offset = 0;
    for batch in MnistLoader::new(test, 500).epoch::<B>(0, device) {
        let (mu, _) = vae.encode(batch.flat());
        let mu = gdl::core::tensor::to_f64(mu);
        for (i, pair) in mu.chunks(2).enumerate() {
            codes[test.labels[offset + i] as usize].push((pair[0], pair[1]));
        }
        offset += mu.len() / 2;
    }
    let mut plot = LinePlot::new("test codes μ(x) by digit", "h1", "h2");
    for (digit, points) in codes.into_iter().enumerate() {
        plot = plot.scatter(&digit.to_string(), points);
    }
    plot.save(&dir.join("latent_scatter.png"))?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let backend = match args.backend {
        Some(b) => b,
        None => BackendKind::from_env()?,
    };
    println!(
        "VAE 784-400-{} on {backend}, seed {}",
        args.latent, args.seed
    );
    run_on(backend, Run(args))?
}
