//! Train a GAN on MNIST (or Fashion-MNIST): the DCGAN by default (`--arch mlp` for the lecture's
//! MLP GAN), with the non-saturating loss (`--loss minimax|lsgan|wgan` for the others,
//! `--spectral-norm` to normalise the discriminator's weights). Writes `samples.png`,
//! `progression.png` (the same noise decoded after every epoch, one row per epoch),
//! `interpolation.png` (straight lines in z between samples), the loss and D-output curves,
//! `metrics.csv`, `samples-idx3-ubyte` for the scorer, and a checkpoint that `--resume`
//! continues. The samples come from the generator's weight average; `--rejection` and
//! `--langevin` draw them through the discriminator instead (rejection sampling, or Langevin
//! chains in z).
//!
//! ```text
//! cargo run --release --example gan_mnist
//! cargo run --release --example gan_mnist -- --arch mlp --loss wgan --epochs 30
//! cargo run --release --example gan_mnist -- --resume --langevin
//! cargo run --release --example gan_mnist -- --dataset fashion --output-dir target/gdl/gan_fashion
//! ```

mod common;

use anyhow::Context;
use clap::Parser;
use gdl::burn::module::AutodiffModule;
use gdl::burn::tensor::backend::AutodiffBackend;
use gdl::burn::tensor::{Distribution, Tensor};
use gdl::core::backend::{run_on, BackendTask};
use gdl::core::image::{save_grid, GridOptions};
use gdl::core::optim::LrDecay;
use gdl::core::plot::LinePlot;
use gdl::core::run_dir::{metric_log, RunDir, RunSummary};
use gdl::core::sample::{save_samples, Sample};
use gdl::core::seed::seed_all;
use gdl::gan::latent_langevin::LatentLangevin;
use gdl::gan::loss::Objective;
use gdl::gan::model::{Architecture, GanConfig, Generator};
use gdl::gan::rejection::RejectionSampler;
use gdl::gan::sample::GeneratorSampler;
use gdl::gan::train::{train_gan, GanTraining};
use std::path::PathBuf;

/// The least fraction of candidates discriminator rejection sampling may keep (below it,
/// drawing the samples would take thousands of generator passes per digit).
const MIN_ACCEPTANCE: f64 = 1e-3;

/// Train a GAN on MNIST and write samples.
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    run: common::RunFlags,
    #[command(flatten)]
    samples: common::SampleFlags,
    /// The networks.
    #[arg(long, value_enum, default_value = "dcgan")]
    arch: Architecture,
    /// The game.
    #[arg(long, value_enum, default_value = "non-saturating")]
    loss: Objective,
    /// Total epochs (with --resume: train until this many are done).
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Dimension of the noise z.
    #[arg(long, default_value_t = 100)]
    latent: usize,
    /// Mini-batch size (8: more steps in the same epochs beat DCGAN's 64 here; see
    /// `GanTraining::batch_size`).
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Learning rate (default: 2e-4 with Adam, 5e-5 with RMSprop for WGAN).
    #[arg(long)]
    lr: Option<f64>,
    /// The discriminator's learning rate (two time scales, Heusel et al. 2017; default: --lr).
    #[arg(long = "discriminator-learning-rate", visible_alias = "d-lr")]
    d_lr: Option<f64>,
    /// How both learning rates change: constant, or cosine annealing to 0 over --epochs
    /// (MNIST-FID 158.55 against 124.59 at the default budget; see `GanTraining::lr_decay`).
    #[arg(long, value_enum, default_value = "constant")]
    lr_decay: LrDecay,
    /// Spectral normalisation of the discriminator's weights.
    #[arg(long)]
    spectral_norm: bool,
    /// Decay of the moving average of the generator's weights that samples are drawn from
    /// (0: the live generator).
    #[arg(long, default_value_t = 0.999)]
    ema_decay: f64,
    /// The real images' label in D's loss (0.9: one-sided label smoothing; 1: none).
    #[arg(long, default_value_t = 0.9)]
    real_label: f64,
    /// Discriminator rejection sampling for samples.png and the IDX samples: keep each
    /// generated digit with probability ∝ p/q, the density ratio read from D's logit
    /// (minimax and non-saturating losses), D first trained one more pass against the
    /// averaged generator the samples come from (`GanTrainer::calibrate_discriminator`).
    #[arg(long)]
    rejection: bool,
    /// Discriminator-driven latent sampling (Che et al. 2020) for samples.png and the IDX
    /// samples: Langevin chains in z under E(z) = ½|z|² − β ln (p/q)(G(z)), p/q read from D's
    /// logit, D first calibrated as for --rejection.
    #[arg(long, conflicts_with = "rejection")]
    langevin: bool,
    /// --langevin's steps per chain.
    #[arg(long, default_value_t = 50)]
    langevin_steps: usize,
    /// --langevin's step size ε.
    #[arg(long, default_value_t = 0.1)]
    langevin_step_size: f64,
    /// --langevin's β: 1 targets the data's distribution where D is optimal, β > 1 what D
    /// rates most real (clearer digits, less variety; see README).
    #[arg(long, default_value_t = 2.0)]
    langevin_beta: f64,
    /// Where the checkpoint, metrics and PNG files go.
    #[arg(long, default_value = "target/gdl/gan_mnist")]
    output_dir: PathBuf,
    /// Continue from the last checkpoint in the output directory (with the same flags but
    /// --epochs, which may grow).
    #[arg(long)]
    resume: bool,
}

impl Args {
    fn training(&self) -> GanTraining {
        let lr = self.lr.unwrap_or(if self.loss == Objective::Wgan {
            5e-5
        } else {
            2e-4
        });
        GanTraining::new(
            GanConfig::new()
                .with_architecture(self.arch)
                .with_latent(self.latent)
                .with_spectral_norm(self.spectral_norm),
        )
        .with_objective(self.loss)
        .with_epochs(self.epochs)
        .with_batch_size(self.batch_size)
        .with_learning_rate(lr)
        .with_discriminator_learning_rate(self.d_lr)
        .with_lr_decay(self.lr_decay)
        .with_ema_decay(self.ema_decay)
        .with_real_label(self.real_label)
        .with_seed(self.run.seed)
    }
}

struct Run(Args);

impl BackendTask for Run {
    type Output = anyhow::Result<()>;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<()> {
        let args = self.0;
        let dir = args.output_dir.clone();
        let cfg = args.training();
        seed_all::<B>(device, args.run.seed);
        let data = args.run.data_source().train_test()?;
        println!("{}", data.description);
        let run = RunDir::open(&dir, &cfg, args.resume)?;
        // The fixed noise of progression.png: 10 z's, decoded after every epoch.
        let fixed: Tensor<B::InnerBackend, 2> =
            Tensor::random([10, args.latent], Distribution::Normal(0.0, 1.0), device);
        let mut rows: Vec<Tensor<B::InnerBackend, 4>> = Vec::new();
        let (trainer, history) = train_gan::<B>(&cfg, &data, Some(&run), device, |r, t| {
            let get = |name| r.get(name).unwrap_or(f64::NAN);
            println!(
                "epoch {:>2}: D loss {:.4}, G loss {:.4}, D(x) {:.3}, D(G(z)) {:.3}{} ({:.1} s)",
                r.epoch,
                get("train_d_loss"),
                get("train_g_loss"),
                get("train_d_real"),
                get("train_d_fake"),
                r.get("train_wasserstein")
                    .map_or(String::new(), |w| format!(", W₁ estimate {w:.4}")),
                r.seconds
            );
            let sampler = GeneratorSampler {
                generator: &t.ema,
                latent: args.latent,
            };
            rows.push(sampler.decode(fixed.clone()));
            save_grid(
                Tensor::cat(rows.clone(), 0),
                &dir.join("progression.png"),
                &GridOptions::with_cols(10),
            )
        })?;
        let ema = trainer.sampling_generator();
        let trainer = if args.rejection || args.langevin {
            let sample = |n| {
                let z = Tensor::random([n, args.latent], Distribution::Normal(0.0, 1.0), device);
                ema.forward(z)
            };
            let (trainer, loss) = trainer.calibrate_discriminator(sample, &data);
            println!("discriminator calibrated against the averaged generator: loss {loss:.4}");
            trainer
        } else {
            trainer
        };
        let sampler = GeneratorSampler {
            generator: &ema,
            latent: args.latent,
        };
        let discriminator = trainer.discriminator.valid();
        let rejection = args.rejection.then(|| {
            // D reads images in [−1, 1]; the sampler's are in [0, 1].
            let logits = |x: Tensor<B::InnerBackend, 4>| {
                discriminator.forward(x.mul_scalar(2.0).sub_scalar(1.0))
            };
            let candidates = GeneratorSampler {
                generator: &ema,
                latent: args.latent,
            };
            RejectionSampler::new(candidates, logits, cfg.real_label, 10_000, 500, device)
        });
        // G and D under autodiff for the chains' ∇_z.
        let tracked = args
            .langevin
            .then(|| Generator::<B>::from_inner(ema.clone()));
        let langevin = tracked.as_ref().map(|generator| LatentLangevin {
            generator,
            discriminator: &trainer.discriminator,
            latent: args.latent,
            real_label: cfg.real_label,
            beta: args.langevin_beta,
            steps: args.langevin_steps,
            step_size: args.langevin_step_size,
            batch: 500,
        });
        let chosen: &dyn Sample<B::InnerBackend> = match (&rejection, &langevin) {
            (Some(drs), _) => {
                let kept = drs
                    .checked_acceptance(2000, MIN_ACCEPTANCE, device)
                    .with_context(|| {
                        format!(
                            "the trained model is saved in {}: run again without --rejection \
                             (add --resume to keep the training)",
                            dir.display()
                        )
                    })?;
                println!(
                    "discriminator rejection sampling: M = {:.3}, {:.1}% of candidates kept",
                    drs.bound,
                    100.0 * kept
                );
                drs
            }
            (None, Some(chains)) => {
                println!(
                    "discriminator-driven latent sampling: {} Langevin steps of ε = {} in z, β = {}",
                    chains.steps, chains.step_size, chains.beta
                );
                chains
            }
            (None, None) => &sampler,
        };
        save_samples(chosen, 100, 10, &dir.join("samples.png"), device)?;
        // Interpolation: each row walks on a straight line in z between two samples.
        let ends: Tensor<B::InnerBackend, 2> =
            Tensor::random([11, args.latent], Distribution::Normal(0.0, 1.0), device);
        let strip: Vec<_> = (0..10)
            .flat_map(|i| {
                let (a, b) = (
                    ends.clone().narrow(0, i, 1),
                    ends.clone().narrow(0, i + 1, 1),
                );
                (0..10).map(move |k| {
                    let t = k as f64 / 9.0;
                    a.clone().mul_scalar(1.0 - t) + b.clone().mul_scalar(t)
                })
            })
            .collect();
        save_grid(
            sampler.decode(Tensor::cat(strip, 0)),
            &dir.join("interpolation.png"),
            &GridOptions::with_cols(10),
        )?;
        let log = metric_log(run.metrics_path(), &history)?;
        let mut losses = LinePlot::new("GAN on MNIST: losses", "epoch", "loss")
            .series("discriminator", log.curve("epoch", "train_d_loss"))
            .series("generator", log.curve("epoch", "train_g_loss"));
        if args.loss == Objective::Wgan {
            losses = losses.series("W₁ estimate", log.curve("epoch", "train_wasserstein"));
        }
        losses.save(&dir.join("losses.png"))?;
        LinePlot::new("GAN on MNIST: discriminator outputs", "epoch", "mean D")
            .series("D(x), real", log.curve("epoch", "train_d_real"))
            .series("D(G(z)), generated", log.curve("epoch", "train_d_fake"))
            .save(&dir.join("d_outputs.png"))?;
        args.samples.write(chosen, &dir, device)?;
        // The live generator's samples beside the average's, for comparison.
        let live = trainer.generator.valid();
        let live = GeneratorSampler {
            generator: &live,
            latent: args.latent,
        };
        args.samples
            .write_as(&live, &dir.join("samples-live-idx3-ubyte"), device)?;
        RunSummary {
            model: format!(
                "GAN ({:?}, {}{}{})",
                args.arch,
                args.loss.name(),
                if args.spectral_norm {
                    ", spectral norm"
                } else {
                    ""
                },
                if args.rejection {
                    "; discriminator rejection sampling".to_string()
                } else if args.langevin {
                    format!(
                        "; discriminator-driven latent sampling, β = {}",
                        args.langevin_beta
                    )
                } else {
                    String::new()
                }
            ),
            backend: B::name(device),
            epochs: history.len(),
            train_seconds: RunSummary::seconds(&history),
            test_nll_nats: None,
            nll_method: None,
        }
        .write(&dir)?;
        println!("wrote {}", dir.display());
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    common::check_training(args.epochs, args.batch_size, args.training().learning_rate)?;
    anyhow::ensure!(
        args.latent >= 1,
        "--latent must be >= 1, not {}",
        args.latent
    );
    anyhow::ensure!(
        args.langevin_step_size > 0.0 && args.langevin_step_size.is_finite(),
        "--langevin-step-size must be positive, not {}",
        args.langevin_step_size
    );
    anyhow::ensure!(
        args.langevin_beta >= 0.0 && args.langevin_beta.is_finite(),
        "--langevin-beta must be a number >= 0, not {}",
        args.langevin_beta
    );
    anyhow::ensure!(
        !(args.rejection || args.langevin)
            || matches!(args.loss, Objective::Minimax | Objective::NonSaturating),
        "--{} reads the density ratio from D's logit: use it with --loss minimax or \
         non-saturating, not {}",
        if args.rejection {
            "rejection"
        } else {
            "langevin"
        },
        args.loss.name()
    );
    // --real-label and --ema-decay: the trainer's own checks, named as flags.
    args.training().validate().map_err(common::as_flag)?;
    let backend = args.run.backend()?;
    println!(
        "GAN ({:?}, {} loss{}) on {} with {backend}, seed {}",
        args.arch,
        args.loss.name(),
        if args.spectral_norm {
            ", spectral norm"
        } else {
            ""
        },
        args.run.dataset,
        args.run.seed
    );
    run_on(backend, Run(args))?
}
