//! Train a denoising diffusion model (DDPM, Ho et al. 2020) on MNIST (or Fashion-MNIST) and
//! sample it with DDIM (`--sampler ancestral` for DDPM's own 1,000-step sampler). Writes
//! `samples.png`, `progression.png` (the same noise sampled after every epoch), `forward.png`
//! (digits noised across t), `reverse.png` (samples denoised across t), `losses.png`,
//! `metrics.csv`, the test digits' variational bound in bits/dim, `samples-idx3-ubyte` for the
//! scorer, and a checkpoint that `--resume` continues.
//!
//! ```text
//! cargo run --release --example diffusion_mnist
//! cargo run --release --example diffusion_mnist -- --sampler ancestral --schedule cosine
//! cargo run --release --example diffusion_mnist -- --preset wide --backend wgpu --epochs 30
//! ```

mod common;

use clap::Parser;
use gdl::burn::tensor::backend::{AutodiffBackend, Backend};
use gdl::burn::tensor::{Distribution, Tensor};
use gdl::core::backend::{run_on, BackendTask};
use gdl::core::image::{save_grid, GridOptions};
use gdl::core::plot::LinePlot;
use gdl::core::run_dir::{metric_log, RunDir, RunSummary};
use gdl::core::sample::save_samples;
use gdl::core::seed::seed_all;
use gdl::diffusion::bound::data_bound;
use gdl::diffusion::predictor::{Denoiser, Prediction};
use gdl::diffusion::process::diffuse_at;
use gdl::diffusion::sample::DiffusionSampler;
use gdl::diffusion::sampler::{SamplerConfig, SamplerKind};
use gdl::diffusion::schedule::{NoiseSchedule, ScheduleKind};
use gdl::diffusion::train::{train_ddpm, DiffusionTraining};
use gdl::diffusion::unet::{UNet, UNetConfig};
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
    /// The U-Net's size.
    #[arg(long, value_enum, default_value = "small")]
    preset: Preset,
    /// The noise schedule β_t.
    #[arg(long, value_enum, default_value = "linear")]
    schedule: ScheduleKind,
    /// Diffusion steps T.
    #[arg(long, default_value_t = 1000)]
    timesteps: usize,
    /// What the network predicts.
    #[arg(long, value_enum, default_value = "epsilon")]
    prediction: Prediction,
    /// The sampler of samples.png and the IDX samples.
    #[arg(long, value_enum, default_value = "ddim")]
    sampler: SamplerKind,
    /// DDIM's steps.
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// DDIM's η (0: deterministic).
    #[arg(long, default_value_t = 0.0)]
    eta: f64,
    /// Total epochs (with --resume: train until this many are done).
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
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

impl Args {
    fn training(&self) -> DiffusionTraining {
        let model = match self.preset {
            Preset::Small => UNetConfig::small(),
            Preset::Wide => UNetConfig::wide(),
        };
        DiffusionTraining::new(model)
            .with_schedule(self.schedule)
            .with_steps(self.timesteps)
            .with_prediction(self.prediction)
            .with_epochs(self.epochs)
            .with_batch_size(self.batch_size)
            .with_learning_rate(self.lr)
            .with_seed(self.run.seed)
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
        anyhow::ensure!(
            args.epochs > 0 && args.batch_size > 0,
            "--epochs and --batch-size must be >= 1"
        );
        let dir = args.output_dir.clone();
        let cfg = args.training();
        let schedule: NoiseSchedule = cfg.noise_schedule()?;
        let sampler = args.sampler();
        sampler.timesteps(&schedule)?;
        seed_all::<B>(device, args.run.seed);
        let data = args.run.data_source().train_test()?;
        println!("{}", data.description);
        let run = RunDir::open(&dir, &cfg, args.resume)?;
        // progression.png: the same 10 noises through DDIM-50 after every epoch.
        let fixed: Tensor<B::InnerBackend, 4> =
            Tensor::random([10, 1, 28, 28], Distribution::Normal(0.0, 1.0), device);
        let quick = SamplerConfig::new().with_steps(50.min(cfg.steps));
        let mut rows: Vec<Tensor<B::InnerBackend, 4>> = Vec::new();
        let (trainer, history) = train_ddpm::<B>(&cfg, &data, Some(&run), device, |r, t| {
            let get = |name| r.get(name).unwrap_or(f64::NAN);
            println!(
                "epoch {:>2}: loss {:.4} ({:.1} s)",
                r.epoch,
                get("train_loss"),
                r.seconds
            );
            let model = denoiser(&t.ema, &cfg, &schedule);
            let x0 = quick.sample(&model, &schedule, fixed.clone(), |_, _| {})?;
            rows.push(DiffusionSampler::<Denoiser<'_, B::InnerBackend>>::to_unit(
                x0,
            ));
            save_grid(
                Tensor::cat(rows.clone(), 0),
                &dir.join("progression.png"),
                &GridOptions::with_cols(10),
            )
        })?;
        // Samples and the bound use the moving average of the weights.
        let unet = trainer.ema;
        let model = denoiser(&unet, &cfg, &schedule);
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
                let x = if t == 0 {
                    digits.clone()
                } else {
                    diffuse_at(&schedule, digits.clone(), t)
                };
                x.add_scalar(1.0).div_scalar(2.0).clamp(0.0, 1.0)
            })
            .collect();
        save_grid(
            strip(&frames),
            &dir.join("forward.png"),
            &GridOptions::with_cols(ts.len()),
        )?;

        // reverse.png: 8 samples from x_T through 10 evenly spaced states to x_0.
        let visited = sampler.timesteps(&schedule)?;
        let every = visited.len().div_ceil(10).max(1);
        let x_t: Tensor<B::InnerBackend, 4> =
            Tensor::random([8, 1, 28, 28], Distribution::Normal(0.0, 1.0), device);
        let mut frames = vec![x_t.clone().add_scalar(1.0).div_scalar(2.0).clamp(0.0, 1.0)];
        let mut k = 0;
        sampler.sample(&model, &schedule, x_t, |_, x| {
            k += 1;
            if k % every == 0 || k == visited.len() {
                frames.push(x.clone().add_scalar(1.0).div_scalar(2.0).clamp(0.0, 1.0));
            }
        })?;
        save_grid(
            strip(&frames),
            &dir.join("reverse.png"),
            &GridOptions::with_cols(frames.len()),
        )?;

        let log = metric_log(run.metrics_path(), &history)?;
        LinePlot::new("DDPM on MNIST: L_simple", "epoch", "loss")
            .series("training loss", log.curve("epoch", "train_loss"))
            .save(&dir.join("losses.png"))?;
        args.samples.write(&source, &dir, device)?;

        let bound = if args.bound_draws > 0 {
            let start = std::time::Instant::now();
            let b = data_bound(
                &model,
                &schedule,
                &data.test,
                250,
                args.bound_draws,
                args.run.seed,
                device,
            );
            println!(
                "test variational bound: {:.1} ± {:.1} nats per digit, {:.4} bits/dim ({} digits, {} steps t per batch of 250, {:.0} s)",
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
            model: format!(
                "DDPM ({:?} schedule, {:?} prediction, {:?} U-Net; {})",
                args.schedule,
                args.prediction,
                args.preset,
                match args.sampler {
                    SamplerKind::Ddim => format!("DDIM {} steps", args.steps),
                    SamplerKind::Ancestral => format!("ancestral {} steps", cfg.steps),
                }
            ),
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
}

/// The trained network as ε̂(x_t, t).
fn denoiser<'a, B: Backend>(
    unet: &'a UNet<B>,
    cfg: &DiffusionTraining,
    schedule: &'a NoiseSchedule,
) -> Denoiser<'a, B> {
    Denoiser {
        unet,
        prediction: cfg.prediction,
        schedule,
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let backend = args.run.backend()?;
    println!(
        "DDPM ({:?} U-Net, {:?} schedule, T = {}) on {} with {backend}, seed {}",
        args.preset, args.schedule, args.timesteps, args.run.dataset, args.run.seed
    );
    run_on(backend, Run(args))?
}
