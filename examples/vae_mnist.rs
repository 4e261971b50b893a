//! The project's front door: train the MLP variational autoencoder (784-400-20, Bernoulli
//! decoder on grey levels, ADAM 1e-3, batch 128) on MNIST; write samples from the prior,
//! reconstructions and the loss curves as PNG; print the test negative ELBO and the
//! importance-weighted estimate of log p(x) on the test digits; save a checkpoint that
//! `--resume` continues. Also writes `interpolation.png` (rows that walk in latent space
//! between test digits) and, with `--latent 2`, `manifold.png` and `latent_scatter.png`.
//! `--model ae` trains the deterministic autoencoder instead, `--arch conv` the
//! convolutional networks, `--likelihood gaussian[-learned]` a Gaussian decoder, and
//! `--binarize` works on binarised digits (as the published likelihoods do).
//!
//! ```text
//! cargo run --release --example vae_mnist
//! cargo run --release --example vae_mnist -- --epochs 20 --resume
//! cargo run --release --example vae_mnist -- --arch conv --binarize --output-dir target/gdl/conv
//! ```

mod common;

use clap::Parser;
use gdl::burn::module::AutodiffModule;
use gdl::burn::tensor::backend::AutodiffBackend;
use gdl::core::backend::{run_on, BackendTask};
use gdl::core::image::{save_grid, GridOptions};
use gdl::core::plot::LinePlot;
use gdl::core::run::MetricLog;
use gdl::core::run_dir::{metric_log, RunDir, RunSummary};
use gdl::core::sample::save_samples;
use gdl::core::seed::seed_all;
use gdl::mnist::{Binarization, MnistData, MnistLoader, Transform};
use gdl::vae::arch::Architecture;
use gdl::vae::iwae::iwae_on;
use gdl::vae::likelihood::Likelihood;
use gdl::vae::model::{Autoencoder, AutoencoderConfig};
use gdl::vae::sample::{codes_by_label, interpolate, latent_manifold, reconstruct};
use gdl::vae::train::{test_negative_elbo, train_autoencoder, AutoencoderTraining};
use std::path::{Path, PathBuf};

/// Train a variational (or deterministic) autoencoder on MNIST and write samples.
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    run: common::RunFlags,
    #[command(flatten)]
    samples: common::SampleFlags,
    /// Total epochs (with --resume: train until this many are done).
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// `vae`, or `ae` for the deterministic autoencoder.
    #[arg(long, value_enum, default_value_t = ModelFlag::Vae)]
    model: ModelFlag,
    /// Latent dimension d.
    #[arg(long, default_value_t = 20)]
    latent: usize,
    /// Hidden units of encoder and decoder.
    #[arg(long, default_value_t = 400)]
    hidden: usize,
    /// Encoder/decoder architecture: mlp or conv.
    #[arg(long, value_enum, default_value = "mlp")]
    arch: Architecture,
    /// Decoder distribution: bernoulli, gaussian (fixed --sigma) or gaussian-learned.
    #[arg(long, value_enum, default_value_t = LikelihoodFlag::Bernoulli)]
    likelihood: LikelihoodFlag,
    /// σ of the fixed-variance Gaussian decoder.
    #[arg(long, default_value_t = 0.1)]
    sigma: f64,
    /// Binarise the digits: a fresh Bernoulli(grey level) draw each training epoch, one fixed
    /// draw of the test set (grey levels in [0, 1] otherwise).
    #[arg(long)]
    binarize: bool,
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
    /// Test digits the IWAE estimate covers (0: all of them).
    #[arg(long, default_value_t = 0)]
    iwae_digits: usize,
    /// Where the checkpoint, metrics and PNG files go.
    #[arg(long, default_value = "target/gdl/vae_mnist")]
    output_dir: PathBuf,
    /// Continue from the last checkpoint in the output directory (with the same flags but
    /// --epochs, which may grow).
    #[arg(long)]
    resume: bool,
}

/// Which autoencoder.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ModelFlag {
    /// The variational autoencoder.
    Vae,
    /// The deterministic autoencoder.
    Ae,
}

/// The decoder's distribution.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LikelihoodFlag {
    /// Bernoulli on each pixel.
    Bernoulli,
    /// Gaussian with fixed --sigma.
    Gaussian,
    /// Gaussian with a learned σ.
    GaussianLearned,
}

struct Run(Args);

impl Args {
    /// The training config the flags describe; errors name the flag.
    fn training(&self) -> anyhow::Result<AutoencoderTraining> {
        let likelihood = match self.likelihood {
            LikelihoodFlag::Gaussian => {
                anyhow::ensure!(
                    self.sigma > 0.0 && self.sigma.is_finite(),
                    "--sigma must be > 0, not {}",
                    self.sigma
                );
                Likelihood::Gaussian { sigma: self.sigma }
            }
            LikelihoodFlag::GaussianLearned => Likelihood::GaussianLearned,
            LikelihoodFlag::Bernoulli => Likelihood::Bernoulli,
        };
        anyhow::ensure!(
            self.latent > 0 && self.hidden > 0,
            "--latent and --hidden must be >= 1"
        );
        anyhow::ensure!(self.beta >= 0.0, "--beta must be >= 0, not {}", self.beta);
        let model = AutoencoderConfig::new()
            .with_d_hidden(self.hidden)
            .with_d_latent(self.latent)
            .with_arch(self.arch)
            .with_likelihood(likelihood)
            .with_variational(self.model == ModelFlag::Vae);
        let transform = if self.binarize {
            Transform::unit().binarized(Binarization::Dynamic, self.run.seed)
        } else {
            Transform::unit()
        };
        Ok(AutoencoderTraining::new(model)
            .with_epochs(self.epochs)
            .with_batch_size(self.batch_size)
            .with_learning_rate(self.lr)
            .with_beta(self.beta)
            .with_warmup_epochs(self.warmup)
            .with_seed(self.run.seed)
            .with_transform(transform))
    }
}

impl BackendTask for Run {
    type Output = anyhow::Result<()>;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<()> {
        let args = self.0;
        let dir = args.output_dir.clone();
        let cfg = args.training()?;
        seed_all::<B>(device, args.run.seed);
        let data = args.run.data_source().train_test()?;
        println!("{}", data.description);
        let run = RunDir::open(&dir, &cfg, args.resume)?;
        let (model, history) = train_autoencoder::<B>(&cfg, &data, Some(&run), device, |r, _| {
            println!(
                "epoch {:>2}: train −ELBO {:.2} (rec {:.2} + KL {:.2}), test −ELBO {:.2} nats ({:.1} s)",
                r.epoch,
                r.get("train_reconstruction").unwrap_or(f64::NAN) + r.get("train_kl").unwrap_or(0.0),
                r.get("train_reconstruction").unwrap_or(f64::NAN),
                r.get("train_kl").unwrap_or(f64::NAN),
                test_negative_elbo(r),
                r.seconds
            );
            Ok(())
        })?;
        let model = model.valid();
        let log = metric_log(run.metrics_path(), &history)?;
        write_pictures(&model, &data.test, &log, &dir, device)?;
        let pixels = if args.binarize {
            "binarised"
        } else {
            "grey-level"
        };
        let mut nll = None;
        if let Some(last) = history.last() {
            println!(
                "test negative ELBO {:.2} nats per digit ({} likelihood, {pixels} digits)",
                test_negative_elbo(last),
                model.likelihood().describe()
            );
            nll = Some((test_negative_elbo(last), "−ELBO (upper bound)".to_string()));
        }
        if args.iwae_k > 0 && model.is_variational() {
            let iwae = report_iwae(&model, &data.test, &args, cfg.transform, device)?;
            if args.iwae_digits == 0 {
                nll = Some((-iwae, format!("−IWAE, k = {} (upper bound)", args.iwae_k)));
            }
        }
        args.samples.write(&model, &dir, device)?;
        RunSummary {
            model: format!(
                "{} ({:?}, d = {})",
                if model.is_variational() { "VAE" } else { "AE" },
                args.arch,
                args.latent
            ),
            backend: B::name(device),
            epochs: history.len(),
            train_seconds: RunSummary::seconds(&history),
            test_nll_nats: nll.as_ref().map(|n| n.0),
            nll_method: nll.map(|n| n.1),
        }
        .write(&dir)?;
        println!("wrote {}", dir.display());
        Ok(())
    }
}

/// The ELBO (k = 1) and the importance-weighted bound L_k on the test digits.
fn report_iwae<B: gdl::burn::tensor::backend::Backend>(
    model: &Autoencoder<B>,
    test: &MnistData,
    args: &Args,
    transform: Transform,
    device: &B::Device,
) -> anyhow::Result<f64> {
    let digits = if args.iwae_digits == 0 {
        test.len()
    } else {
        args.iwae_digits.min(test.len())
    };
    let test = test.select(&(0..digits).collect::<Vec<_>>())?;
    let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let elbo = mean(iwae_on(model, &test, transform, 1, device)?);
    let iwae = mean(iwae_on(model, &test, transform, args.iwae_k, device)?);
    println!(
        "on {digits} test digits: ELBO {elbo:.2}, IWAE (k = {}) {iwae:.2} nats (log p(x) >= IWAE >= ELBO)",
        args.iwae_k
    );
    Ok(iwae)
}

fn write_pictures<B: gdl::burn::tensor::backend::Backend>(
    model: &Autoencoder<B>,
    test: &MnistData,
    log: &MetricLog,
    dir: &Path,
    device: &B::Device,
) -> anyhow::Result<()> {
    save_samples(model, 100, 10, &dir.join("samples.png"), device)?;
    // Reconstructions: rows alternate 10 test digits and their reconstructions.
    if let Some(batch) = MnistLoader::new(test, 50).epoch::<B>(0, device).next() {
        let x = batch.flat();
        let n = x.dims()[0];
        common::save_reconstructions(
            x.clone().reshape([n, 1, 28, 28]),
            reconstruct(model, x).reshape([n, 1, 28, 28]),
            &dir.join("reconstructions.png"),
        )?;
    }
    // Interpolation: each row walks in latent space from one test digit to the next (it
    // needs two).
    let pair = MnistLoader::new(test, 11).epoch::<B>(0, device).next();
    if let Some(batch) = pair.filter(|b| b.len() >= 2) {
        let x = batch.flat();
        let rows: Vec<_> = (0..x.dims()[0] - 1)
            .map(|i| {
                interpolate(
                    model,
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
    if model.d_latent() == 2 {
        write_latent_plane(model, test, dir, device)?;
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
    let title = if model.is_variational() {
        "VAE on MNIST: negative ELBO"
    } else {
        "autoencoder on MNIST: reconstruction loss"
    };
    LinePlot::new(title, "epoch", "nats per digit")
        .series("train", total("train_reconstruction", "train_kl"))
        .series("test", total("test_reconstruction", "test_kl"))
        .save(&dir.join("loss.png"))?;
    Ok(())
}

/// With a 2-D latent: the decoded manifold on a 20 x 20 grid over [−3, 3]² and a scatter of
/// the test codes μ(x) coloured by label.
fn write_latent_plane<B: gdl::burn::tensor::backend::Backend>(
    model: &Autoencoder<B>,
    test: &MnistData,
    dir: &Path,
    device: &B::Device,
) -> anyhow::Result<()> {
    save_grid(
        latent_manifold(model, 20, 3.0, device)?,
        &dir.join("manifold.png"),
        &GridOptions::with_cols(20),
    )?;
    let mut plot = LinePlot::new("test codes μ(x) by digit", "h1", "h2");
    for (digit, points) in codes_by_label(model, test, device).into_iter().enumerate() {
        plot = plot.scatter(&digit.to_string(), points);
    }
    plot.save(&dir.join("latent_scatter.png"))?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    common::check_training(args.epochs, args.batch_size, args.lr)?;
    let backend = args.run.backend()?;
    println!(
        "{} ({:?}, {}-{}-{}) on {backend}, seed {}",
        if args.model == ModelFlag::Vae {
            "VAE"
        } else {
            "autoencoder"
        },
        args.arch,
        784,
        args.hidden,
        args.latent,
        args.run.seed
    );
    run_on(backend, Run(args))?
}
