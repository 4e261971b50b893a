//! Train a denoising diffusion model (DDPM, Ho et al. 2020; `--model vdm` for a variational
//! diffusion model with a learned schedule, Kingma et al. 2021) on MNIST (or Fashion-MNIST) and
//! sample it with DDIM (`--sampler ancestral` for DDPM's own 1,000-step sampler). Writes
//! `samples.png`, `progression.png` (the same noise sampled after every epoch), `forward.png`
//! (digits noised across t), `reverse.png` (samples denoised across t), `losses.png`,
//! `metrics.csv`, the test digits' variational bound in bits/dim, `samples-idx3-ubyte` for the
//! scorer, and a checkpoint that `--resume` continues.
//!
//! ```text
//! cargo run --release --example diffusion_mnist
//! cargo run --release --example diffusion_mnist -- --sampler ancestral --schedule linear
//! cargo run --release --example diffusion_mnist -- --model vdm
//! cargo run --release --features wgpu --example diffusion_mnist -- --preset wide --backend wgpu --epochs 30
//! ```

mod common;

use clap::Parser;
use gdl::burn::module::AutodiffModule;
use gdl::burn::tensor::backend::{AutodiffBackend, Backend};
use gdl::burn::tensor::{Distribution, Tensor};
use gdl::core::backend::{run_on, BackendTask};
use gdl::core::image::{save_grid, GridOptions};
use gdl::core::optim::LrDecay;
use gdl::core::plot::LinePlot;
use gdl::core::run_dir::{metric_log, RunDir, RunSummary};
use gdl::core::sample::save_samples;
use gdl::core::seed::seed_all;
use gdl::diffusion::predictor::Prediction;
use gdl::diffusion::process::diffuse_at;
use gdl::diffusion::sample::{to_unit as unit, DiffusionSampler, Trained};
use gdl::diffusion::sampler::{SamplerConfig, SamplerKind};
use gdl::diffusion::schedule::ScheduleKind;
use gdl::diffusion::train::{
    train_diffusion, DdpmTrainer, DiffusionTrainer, DiffusionTraining, Objective, Process,
    VdmTrainer,
};
use gdl::diffusion::unet::UNetConfig;
use gdl::mnist::{MnistLoader, Transform};
use std::path::PathBuf;

/// The network's size.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Preset {
    /// About 0.8 M parameters: a laptop CPU.
    Small,
    /// About 6 M parameters: a GPU.
    Wide,
}

/// Train a diffusion model on MNIST and write samples.
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    run: common::RunFlags,
    #[command(flatten)]
    samples: common::SampleFlags,
    /// DDPM (fixed schedule, L_simple) or VDM (learned schedule, the bound).
    #[arg(long, value_enum, default_value = "ddpm")]
    model: Process,
    /// The U-Net's size.
    #[arg(long, value_enum, default_value = "small")]
    preset: Preset,
    /// The noise schedule β_t (cosine: at the default budget MNIST-FID 148.35 and 1.441 bits/dim,
    /// against linear's 160.32 and 1.624).
    #[arg(long, value_enum, default_value = "cosine")]
    schedule: ScheduleKind,
    /// Diffusion steps T.
    #[arg(long, default_value_t = 1000)]
    timesteps: usize,
    /// What the network predicts.
    #[arg(long, value_enum, default_value = "epsilon")]
    prediction: Prediction,
    /// Min-SNR-γ loss weighting of DDPM: each image's error weighted by min(SNR, γ)/SNR
    /// (ε-prediction) or min(SNR, γ)/(SNR + 1) (v-prediction); `none`: L_simple. 5 by default
    /// (at the default budget MNIST-FID 140.42 against L_simple's 148.35, and a test bound of
    /// 1.885 bits/dim against 1.441). Not for VDM.
    #[arg(long, value_parser = parse_snr_gamma)]
    snr_gamma: Option<SnrGamma>,
    /// The sampler of samples.png and the IDX samples.
    #[arg(long, value_enum, default_value = "ddim")]
    sampler: SamplerKind,
    /// DDIM's steps.
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// DDIM's η (0: deterministic; 1: fresh noise at every step, ancestral sampling on the
    /// subsequence). 1 by default: on the default run's model η = 0 leaves a grey haze on the
    /// background (a fifth of the pixels between 8 and 31 of 255, against 1.5% of a real
    /// digit's and 2.7% with η = 1), and 500 DDIM-100 samples scored MNIST-FID 218.3 with
    /// η = 0, 152.0 with η = 1.
    #[arg(long, default_value_t = 1.0)]
    eta: f64,
    /// Total epochs (with --resume: train until this many are done).
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// How Adam's learning rate changes: cosine annealing to 0 over --epochs (MNIST-FID 115.10
    /// against 134.83 at the default budget), or constant. A run resumed with more epochs
    /// continues on the longer schedule.
    #[arg(long, value_enum, default_value = "cosine")]
    lr_decay: LrDecay,
    /// Decay of the moving average of the weights that samples are drawn with.
    #[arg(long, default_value_t = 0.995)]
    ema_decay: f64,
    /// Steps t drawn per batch of test digits for the bound's sum over t (0: no bound).
    #[arg(long, default_value_t = 4)]
    bound_draws: usize,
    /// Where the checkpoint, metrics and PNG files go.
    #[arg(long, default_value = "target/gdl/diffusion_mnist")]
    output_dir: PathBuf,
    /// Continue from the last checkpoint in the output directory (with the same flags but
    /// --epochs, which may grow).
    #[arg(long)]
    resume: bool,
}

/// `--snr-gamma`: γ, or none for L_simple.
#[derive(Clone, Copy, Debug)]
struct SnrGamma(Option<f64>);

fn parse_snr_gamma(s: &str) -> Result<SnrGamma, String> {
    match s {
        "none" => Ok(SnrGamma(None)),
        _ => s
            .parse()
            .map(|g| SnrGamma(Some(g)))
            .map_err(|_| format!("{s} is neither a number nor `none`")),
    }
}

impl Args {
    fn training(&self) -> DiffusionTraining {
        let model = match self.preset {
            Preset::Small => UNetConfig::small(),
            Preset::Wide => UNetConfig::wide(),
        };
        // VDM's recipe for fine detail: Fourier features sin, cos(2^k π x), k = 6, 7.
        let model = match self.model {
            Process::Ddpm => model,
            Process::Vdm => model.with_fourier(vec![6, 7]),
        };
        let cfg = DiffusionTraining::new(model)
            .with_process(self.model)
            .with_schedule(self.schedule)
            .with_steps(self.timesteps)
            .with_prediction(self.prediction)
            .with_epochs(self.epochs)
            .with_batch_size(self.batch_size)
            .with_learning_rate(self.lr)
            .with_lr_decay(self.lr_decay)
            .with_ema_decay(self.ema_decay)
            .with_seed(self.run.seed);
        // γ: the flag's, else the trainer's default; a VDM has none.
        match (self.model, self.snr_gamma) {
            (Process::Vdm, _) => cfg.with_snr_gamma(None),
            (Process::Ddpm, Some(SnrGamma(g))) => cfg.with_snr_gamma(g),
            (Process::Ddpm, None) => cfg,
        }
    }

    fn sampler(&self) -> SamplerConfig {
        SamplerConfig::new()
            .with_kind(self.sampler)
            .with_steps(self.steps)
            .with_eta(self.eta)
    }
}

struct Run(Args);

/// Frames (each [n, 1, 28, 28]) side by side: row i shows image i across the frames.
fn strip<B: Backend>(frames: &[Tensor<B, 4>]) -> Tensor<B, 4> {
    let [n, c, h, w] = frames[0].dims();
    let k = frames.len();
    // [k, n, ...] → [n, k, ...]: row i holds image i at every frame.
    Tensor::stack::<5>(frames.to_vec(), 1).reshape([n * k, c, h, w])
}

impl BackendTask for Run {
    type Output = anyhow::Result<()>;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<()> {
        let args = self.0;
        let cfg = args.training();
        args.sampler().timesteps(&cfg.noise_schedule()?)?;
        seed_all::<B>(device, args.run.seed);
        match args.model {
            Process::Ddpm => {
                train_and_write(&args, &cfg, DdpmTrainer::<B>::new(&cfg, device)?, device)
            }
            Process::Vdm => {
                train_and_write(&args, &cfg, VdmTrainer::<B>::new(&cfg, device)?, device)
            }
        }
    }
}

/// Trains, then writes the pictures, the samples, the bound and the summary.
fn train_and_write<B, M, O>(
    args: &Args,
    cfg: &DiffusionTraining,
    trainer: DiffusionTrainer<B, M, O>,
    device: &B::Device,
) -> anyhow::Result<()>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    M::InnerModule: Trained<B::InnerBackend>,
    O: Objective<B, M>,
{
    let dir = args.output_dir.clone();
    let sampler = args.sampler();
    let data = args.run.data_source().train_test()?;
    println!("{}", data.description);
    let run = RunDir::open(&dir, cfg, args.resume)?;
    // progression.png: the same 10 noises through DDIM-50 after every epoch.
    let fixed: Tensor<B::InnerBackend, 4> =
        Tensor::random([10, 1, 28, 28], Distribution::Normal(0.0, 1.0), device);
    let quick = SamplerConfig::new().with_steps(50.min(cfg.steps));
    let mut rows: Vec<Tensor<B::InnerBackend, 4>> = Vec::new();
    let (trainer, history) = train_diffusion(trainer, cfg, &data, Some(&run), device, |r, t| {
        println!(
            "epoch {:>2}: {} ({:.1} s)",
            r.epoch,
            r.train.describe(),
            r.seconds
        );
        let (schedule, model) = t.ema.reverse_process(cfg)?;
        let x0 = quick.sample(&model, &schedule, fixed.clone(), |_, _| {})?;
        rows.push(unit(x0));
        save_grid(
            Tensor::cat(rows.clone(), 0),
            &dir.join("progression.png"),
            &GridOptions::with_cols(10),
        )
    })?;
    // Samples and the bound use the moving average of the weights.
    let trained = trainer.ema;
    let (schedule, model) = trained.reverse_process(cfg)?;
    let source = DiffusionSampler::new(&model, &schedule, &sampler)?;
    save_samples(&source, 100, 10, &dir.join("samples.png"), device)?;

    // forward.png: 8 test digits at t = 0, T/10, ..., T.
    let digits = MnistLoader::new(&data.test, 8)
        .transform(Transform::symmetric())
        .epoch::<B::InnerBackend>(0, device)
        .next()
        .ok_or_else(|| anyhow::anyhow!("no test digits"))?
        .images;
    let ts: Vec<usize> = (0..=10).map(|k| k * cfg.steps / 10).collect();
    let frames: Vec<_> = ts
        .iter()
        .map(|&t| {
            unit(if t == 0 {
                digits.clone()
            } else {
                diffuse_at(&schedule, digits.clone(), t)
            })
        })
        .collect();
    save_grid(
        strip(&frames),
        &dir.join("forward.png"),
        &GridOptions::with_cols(ts.len()),
    )?;

    // reverse.png: 8 samples from x_T through 10 evenly spaced states to x_0.
    let visited = sampler.timesteps(&schedule)?.len();
    let every = visited.div_ceil(10).max(1);
    let x_t: Tensor<B::InnerBackend, 4> =
        Tensor::random([8, 1, 28, 28], Distribution::Normal(0.0, 1.0), device);
    let mut frames = vec![unit(x_t.clone())];
    let mut k = 0;
    sampler.sample(&model, &schedule, x_t, |_, x| {
        k += 1;
        if k % every == 0 || k == visited {
            frames.push(unit(x.clone()));
        }
    })?;
    save_grid(
        strip(&frames),
        &dir.join("reverse.png"),
        &GridOptions::with_cols(frames.len()),
    )?;

    let log = metric_log(run.metrics_path(), &history)?;
    let first = history
        .first()
        .and_then(|r| r.train.names().next().map(str::to_string))
        .unwrap_or_else(|| "loss".into());
    LinePlot::new("Diffusion on MNIST: training objective", "epoch", &first)
        .series(&first, log.curve("epoch", &format!("train_{first}")))
        .save(&dir.join("losses.png"))?;
    args.samples.write(&source, &dir, device)?;

    let bound = if args.bound_draws > 0 {
        let start = std::time::Instant::now();
        let b = trained.data_bound(cfg, &data.test, args.bound_draws, args.run.seed, device)?;
        println!(
            "test variational bound: {:.1} ± {:.1} nats per digit, {:.4} bits/dim ({} digits, {} draws per batch of 250, {:.0} s)",
            b.nats,
            b.standard_error,
            b.bits_per_dim(),
            data.test.len(),
            args.bound_draws,
            start.elapsed().as_secs_f64()
        );
        Some(b)
    } else {
        None
    };
    RunSummary {
        model: match args.model {
            Process::Ddpm => format!(
                "DDPM ({:?} schedule, {:?} prediction{}, {:?} learning rate, {:?} U-Net; {})",
                args.schedule,
                args.prediction,
                cfg.snr_gamma
                    .map(|g| format!(", Min-SNR-{g}"))
                    .unwrap_or_default(),
                args.lr_decay,
                args.preset,
                sampler_name(args, cfg)
            ),
            Process::Vdm => format!(
                "VDM (learned schedule, {:?} learning rate, {:?} U-Net + Fourier features; {})",
                args.lr_decay,
                args.preset,
                sampler_name(args, cfg)
            ),
        },
        backend: B::name(device),
        epochs: history.len(),
        train_seconds: RunSummary::seconds(&history),
        test_nll_nats: bound.map(|b| b.nats),
        nll_method: bound.map(|b| {
            format!(
                "variational bound, 8-bit digits ({:.3} bits/dim)",
                b.bits_per_dim()
            )
        }),
    }
    .write(&dir)?;
    println!("wrote {}", dir.display());
    Ok(())
}

/// "DDIM 100 steps, η = 1" or "ancestral 1000 steps".
fn sampler_name(args: &Args, cfg: &DiffusionTraining) -> String {
    match args.sampler {
        SamplerKind::Ddim => format!("DDIM {} steps, η = {}", args.steps, args.eta),
        SamplerKind::Ancestral => format!("ancestral {} steps", cfg.steps),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    common::check_training(args.epochs, args.batch_size, args.lr)?;
    anyhow::ensure!(
        args.timesteps >= 2,
        "--timesteps must be >= 2, not {}",
        args.timesteps
    );
    anyhow::ensure!(args.steps >= 1, "--steps must be >= 1, not {}", args.steps);
    anyhow::ensure!(
        !(args.model == Process::Vdm && matches!(args.snr_gamma, Some(SnrGamma(Some(_))))),
        "--snr-gamma weights DDPM's loss; a VDM trains on its bound"
    );
    // --ema-decay, --snr-gamma: the trainer's own checks, named as flags.
    args.training().validate().map_err(common::as_flag)?;
    let backend = args.run.backend()?;
    println!(
        "{:?} ({:?} U-Net, {:?} schedule, T = {}) on {} with {backend}, seed {}",
        args.model, args.preset, args.schedule, args.timesteps, args.run.dataset, args.run.seed
    );
    run_on(backend, Run(args))?
}
