//! A binary RBM on binarised MNIST (784 x 256 hidden units, `--hidden 500` for the published
//! size), trained by CD-k or persistent CD with momentum and weight decay. Prints the test
//! log-likelihood in nats per digit from an AIS estimate of log Z (Salakhutdinov and Murray
//! 2008); writes samples from long Gibbs chains, reconstructions, the learned filters and the
//! training curves as PNG, the metrics as CSV and the weights as a checkpoint.
//!
//! ```text
//! cargo run --release --example rbm_mnist
//! cargo run --release --example rbm_mnist -- --hidden 500 --k 25 --epochs 30
//! cargo run --release --example rbm_mnist -- --pcd
//! cargo run --release --example rbm_mnist -- --dbn-hidden 256   # + a second layer (DBN)
//! ```

mod common;

use anyhow::Context;
use clap::Parser;
use gdl::burn::tensor::backend::{AutodiffBackend, Backend};
use gdl::core::backend::{run_on, BackendTask};
use gdl::core::image::{save_grid, GridOptions};
use gdl::core::plot::LinePlot;
use gdl::core::run::{save_module, MetricLog};
use gdl::core::run_dir::{metric_log, RunDir, RunSummary};
use gdl::core::sample::save_samples;
use gdl::core::seed::seed_all;
use gdl::core::train::EpochReport;
use gdl::ebm::rbm::ais::{rbm_log_likelihood, AisConfig};
use gdl::ebm::rbm::dbn::{stack, DbnSampler};
use gdl::ebm::rbm::sample::{filters, gibbs_chain, reconstruct, GibbsSampler};
use gdl::ebm::rbm::train::{train_rbm, RbmTraining};
use gdl::ebm::rbm::{Rbm, RbmConfig};
use gdl::mnist::{Binarization, MnistData, MnistLoader, TrainTest, Transform};
use std::path::{Path, PathBuf};

/// Train a restricted Boltzmann machine on binarised MNIST and estimate its log-likelihood.
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    run: common::RunFlags,
    #[command(flatten)]
    samples: common::SampleFlags,
    /// Hidden units n_h.
    #[arg(long, default_value_t = 256)]
    hidden: usize,
    /// Gibbs steps k of the negative phase.
    #[arg(long, default_value_t = 1)]
    k: usize,
    /// Persistent contrastive divergence (chains kept across updates) instead of CD-k.
    #[arg(long)]
    pcd: bool,
    /// Epochs.
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Learning rate η (with momentum 0.9 the step is about 10η; η = 0.05 gave −211 nats
    /// instead of −118 on the 8,000-digit split: the weights grew too fast for CD-1).
    #[arg(long, default_value_t = 0.01)]
    lr: f64,
    /// Momentum after the first 5 epochs (0.5 before).
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    /// Weight decay λ (L2 on W).
    #[arg(long, default_value_t = 2e-4)]
    weight_decay: f64,
    /// AIS runs M (0 skips the likelihood estimate).
    #[arg(long, default_value_t = 100)]
    ais_runs: usize,
    /// AIS intermediate temperatures K.
    #[arg(long, default_value_t = 14_500)]
    ais_temperatures: usize,
    /// Hidden units of a second RBM stacked greedily on the first one's hidden units (a deep
    /// belief network, sampled top-down into `dbn_samples.png` from the test digits' codes and
    /// into `dbn_samples_from_noise.png` from noise); 0 trains no second layer.
    #[arg(long, default_value_t = 0)]
    dbn_hidden: usize,
    /// Gibbs steps of the sample chains.
    #[arg(long, default_value_t = 1000)]
    gibbs_steps: usize,
    /// Where the checkpoint, metrics and PNG files go.
    #[arg(long, default_value = "target/gdl/rbm_mnist")]
    output_dir: PathBuf,
    /// Continue from the last checkpoint in the output directory (with the same flags but
    /// --epochs, which may grow).
    #[arg(long)]
    resume: bool,
}

struct Run(Args);

impl BackendTask for Run {
    type Output = anyhow::Result<()>;
    fn run<AD: AutodiffBackend>(self, device: &AD::Device) -> anyhow::Result<()> {
        // Contrastive divergence needs no autodiff: the inner backend does the work.
        train_and_report::<AD::InnerBackend>(self.0, device)
    }
}

fn train_and_report<B: Backend>(args: Args, device: &B::Device) -> anyhow::Result<()> {
    anyhow::ensure!(args.hidden > 0, "--hidden must be >= 1");
    anyhow::ensure!(args.k > 0, "--k must be >= 1");
    let dir = args.output_dir.clone();
    seed_all::<B>(device, args.run.seed);
    let data = args.run.data_source().train_test()?;
    println!("{}", data.description);
    // Stochastic binarisation: a fresh draw every training epoch, one fixed draw of the test set.
    let transform = Transform::unit().binarized(Binarization::Dynamic, args.run.seed);
    let cfg = RbmTraining::new(RbmConfig::new(784, args.hidden))
        .with_epochs(args.epochs)
        .with_batch_size(args.batch_size)
        .with_k(args.k)
        .with_persistent(args.pcd)
        .with_learning_rate(args.lr)
        .with_momentum(args.momentum)
        .with_weight_decay(args.weight_decay)
        .with_seed(args.run.seed)
        .with_transform(transform);
    let rbm = cfg.model.init::<B>(device)?;
    let run = RunDir::open(&dir, &cfg, args.resume)?;
    let (rbm, history) = train_rbm(
        rbm,
        &data,
        &cfg,
        Some(&run),
        device,
        |x| x,
        |r, _| {
            print_epoch("", r);
            Ok(())
        },
    )?;
    let log = metric_log(run.metrics_path(), &history)?;
    write_pictures(&rbm, &data.test, &log, &args, transform, &dir, device)?;
    let mut nll = None;
    if args.ais_runs > 0 {
        let ais = AisConfig {
            runs: args.ais_runs,
            temperatures: args.ais_temperatures,
        };
        let ll = rbm_log_likelihood(&rbm, &data.train, &data.test, transform, &ais, device)
            .context("AIS")?;
        let est = ll.log_z;
        println!(
            "AIS ({} runs, {} temperatures): log Z = {:.2} (3σ interval [{:.2}, {:.2}])",
            ais.runs, ais.temperatures, est.log_z, est.log_z_low, est.log_z_high
        );
        println!(
            "test log-likelihood {:.2} nats per digit (interval [{:.2}, {:.2}]; {} hidden, {}{}, {} epochs)",
            ll.mean,
            ll.low,
            ll.high,
            args.hidden,
            if args.pcd { "PCD-" } else { "CD-" },
            args.k,
            args.epochs
        );
        nll = Some(-ll.mean);
    }
    let method = if args.pcd { "PCD-" } else { "CD-" };
    let mut summary = RunSummary {
        model: format!("RBM ({} hidden, {method}{})", args.hidden, args.k),
        backend: B::name(device),
        epochs: history.len(),
        train_seconds: RunSummary::seconds(&history),
        test_nll_nats: nll,
        nll_method: nll.map(|_| {
            format!(
                "AIS, {} runs x {} temperatures",
                args.ais_runs, args.ais_temperatures
            )
        }),
    };
    if args.dbn_hidden == 0 {
        let sampler = GibbsSampler {
            rbm: &rbm,
            steps: args.gibbs_steps,
        };
        args.samples.write(&sampler, &dir, device)?;
    } else {
        // The table's row is the DBN's: its samples and training time (the RBM's likelihood
        // is not the DBN's).
        let upper_seconds = stack_and_sample(rbm, &data, &cfg, &args, &dir, device)?;
        summary.model = format!(
            "DBN (784-{}-{}, {method}{})",
            args.hidden, args.dbn_hidden, args.k
        );
        summary.train_seconds += upper_seconds;
        summary.test_nll_nats = None;
        summary.nll_method = None;
    }
    summary.write(&dir)?;
    println!("wrote {}", dir.display());
    Ok(())
}

fn print_epoch(layer: &str, r: &EpochReport) {
    let get = |name| r.get(name).unwrap_or(f64::NAN);
    println!(
        "{layer}epoch {:>2}: reconstruction error {:.2}, free energy train {:.2} / test {:.2} ({:.1} s)",
        r.epoch,
        get("train_reconstruction_error"),
        get("train_free_energy"),
        get("test_free_energy"),
        r.seconds
    );
}

/// Greedy stacking: a second RBM trained on h₁ ~ p₁(h₁|x) of the first, then top-down samples:
/// Gibbs chains in the top RBM started at the test digits' h₁, decoded by E[x|h₁], and from
/// noise (the `--n-samples` written for the scorer); returns the second RBM's training seconds.
fn stack_and_sample<B: Backend>(
    lower: Rbm<B>,
    data: &TrainTest,
    cfg: &RbmTraining,
    args: &Args,
    dir: &Path,
    device: &B::Device,
) -> anyhow::Result<f64> {
    let upper_cfg = RbmTraining {
        model: RbmConfig::new(args.hidden, args.dbn_hidden),
        ..cfg.clone()
    };
    let upper = upper_cfg.model.init::<B>(device)?;
    let upper_path = dir.join("dbn_upper.mpk");
    let (dbn, upper_history) = stack(lower, upper, data, &upper_cfg, device, |r, m| {
        print_epoch("DBN layer 2, ", r);
        save_module(m, &upper_path)
    })?;
    let x = MnistLoader::new(&data.test, 100)
        .transform(cfg.transform)
        .epoch::<B>(0, device)
        .next()
        .context("no test digits")?
        .flat();
    let n = x.dims()[0];
    let samples = dbn.sample_from(dbn.lift(x), args.gibbs_steps);
    save_grid(
        samples.reshape([n, 1, 28, 28]),
        &dir.join("dbn_samples.png"),
        &GridOptions::with_cols(10),
    )?;
    // The DBN as a generator: top-layer chains from noise.
    let sampler = DbnSampler {
        dbn: &dbn,
        steps: args.gibbs_steps,
    };
    save_samples(
        &sampler,
        100,
        10,
        &dir.join("dbn_samples_from_noise.png"),
        device,
    )?;
    args.samples.write(&sampler, dir, device)?;
    Ok(RunSummary::seconds(&upper_history))
}

fn write_pictures<B: Backend>(
    rbm: &Rbm<B>,
    test: &MnistData,
    log: &MetricLog,
    args: &Args,
    transform: Transform,
    dir: &Path,
    device: &B::Device,
) -> anyhow::Result<()> {
    let images = |x: gdl::burn::tensor::Tensor<B, 2>| {
        let n = x.dims()[0];
        x.reshape([n, 1, 28, 28])
    };
    let batch = MnistLoader::new(test, 100)
        .transform(transform)
        .epoch::<B>(0, device)
        .next()
        .context("no test digits")?;
    let x = batch.flat();
    // Samples: 100 chains of `gibbs_steps` steps started at test digits.
    save_grid(
        images(gibbs_chain(rbm, x.clone(), args.gibbs_steps)),
        &dir.join("samples.png"),
        &GridOptions::with_cols(10),
    )?;
    // Reconstructions: rows alternate 10 binarised test digits and their reconstructions (up
    // to 50 digits).
    let digits = x.dims()[0].min(50);
    common::save_reconstructions(
        images(x.clone()).narrow(0, 0, digits),
        images(reconstruct(rbm, x)).narrow(0, 0, digits),
        &dir.join("reconstructions.png"),
    )?;
    let (_, nh) = rbm.dims();
    let shown = nh.min(100);
    save_grid(
        filters(rbm, 28).narrow(0, 0, shown),
        &dir.join("filters.png"),
        &GridOptions::with_cols(10),
    )?;
    LinePlot::new("RBM on MNIST: mean free energy", "epoch", "F(x)")
        .series("train", log.curve("epoch", "train_free_energy"))
        .series("test", log.curve("epoch", "test_free_energy"))
        .save(&dir.join("free_energy.png"))?;
    LinePlot::new(
        "RBM on MNIST: reconstruction error",
        "epoch",
        "squared error per digit",
    )
    .series("train", log.curve("epoch", "train_reconstruction_error"))
    .save(&dir.join("reconstruction_error.png"))?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    common::check_training(args.epochs, args.batch_size, args.lr)?;
    let backend = args.run.backend()?;
    println!(
        "RBM 784 x {} ({}{}) on {backend}, seed {}",
        args.hidden,
        if args.pcd { "PCD-" } else { "CD-" },
        args.k,
        args.run.seed
    );
    run_on(backend, Run(args))?
}
