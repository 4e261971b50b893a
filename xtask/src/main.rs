//! Project tasks, run as `cargo xtask <task>`:
//!
//! * `ci`: `bash .ci/run`, what CI runs: lavapipe, rustfmt check, clippy with warnings denied,
//!   the README's test command with the real digits required, then the Wgpu parity tests.
//! * `fetch-mnist [--dir D] [--dataset mnist|fashion]`: download and verify the IDX files.
//! * `bench [WORKLOAD...] [--backend B] [--json]`: the reference workloads the issues name
//!   (for `--backend wgpu`: `cargo run --release -p xtask --features wgpu -- bench ...`);
//!   `--compare` runs the PyTorch / scikit-learn scripts in bench/ beside them and prints ratios.
//! * `eval [--quick] [--only M...]`: trains or loads every generative model, scores its samples
//!   and writes `docs/results.md` (`--dataset fashion`: `docs/results-fashion.md`).
//! * `score FILE... [--dataset mnist|fashion]`: scores IDX files of generated images.

mod bench;
mod eval;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use gdl::core::backend::BackendKind;
use gdl::mnist::source::download_files;
use gdl::mnist::{DataSource, DatasetKind};
use std::path::PathBuf;
use std::process::Command;

#[derive(Parser)]
#[command(about = "gdl project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// What CI runs (`bash .ci/run`): lavapipe for the Wgpu tests, format check, clippy
    /// (warnings are errors), `cargo test --release --workspace` with the real digits
    /// required, then the Wgpu parity tests.
    Ci,
    /// Download a data set's four IDX files (SHA-256 checked) into a directory.
    FetchMnist {
        /// Target directory (default: GDL_DATA_DIR / GDL_FASHION_DIR, else the per-user cache).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// `mnist` or `fashion`.
        #[arg(long, default_value = "mnist")]
        dataset: DatasetKind,
    },
    /// Time the reference workloads: `workload backend ms_per_step=<median> metric=value...`.
    Bench {
        /// Workloads to run (default: all). Known: see `cargo xtask bench --list`.
        workloads: Vec<String>,
        /// Backend: flex, ndarray or wgpu (default: GDL_BACKEND, else flex).
        #[arg(long)]
        backend: Option<BackendKind>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// List the workloads and exit.
        #[arg(long)]
        list: bool,
        /// Run the reference scripts in bench/ (PyTorch, scikit-learn) interleaved with gdl
        /// and print a Markdown table of the ratios.
        #[arg(long)]
        compare: bool,
        /// With --compare: interleaved rounds; each side's best median is kept.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Score IDX files of generated images (`samples-idx3-ubyte`) with the scorer CNN; each
    /// file's first 100 images go beside it as a PNG grid.
    Score {
        /// The IDX image files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        scoring: ScoringFlags,
    },
    /// Train (or load) every generative model, score its samples with the scorer CNN, and
    /// write the table to docs/results.md.
    Eval {
        #[command(flatten)]
        scoring: ScoringFlags,
        /// The table's file (the sample grids go beside it, into a folder of its name; default:
        /// docs/results.md for MNIST, docs/results-fashion.md for Fashion-MNIST).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Samples per model.
        #[arg(long, default_value_t = 2000)]
        n_samples: usize,
        /// A smoke run: one epoch each, short likelihood estimates.
        #[arg(long)]
        quick: bool,
        /// Train again even where a run directory holds samples.
        #[arg(long)]
        retrain: bool,
        /// Only these models, separated by spaces or commas (vae, vae_conv, rbm, rbm_pcd, dbn, ebm,
        /// gan, gan_rejection, gan_langevin, ddpm, ddpm_ddim50, ddpm_ancestral, vdm; default: all but
        /// ddpm_ancestral, about 50 min of sampling on 2 CPU cores); the other models keep their
        /// rows of the existing table.
        #[arg(long, num_args = 1.., value_delimiter = ',')]
        only: Vec<String>,
    },
}

/// The flags `eval` and `score` share: where the scorer runs, on which data, and where its
/// run directories are.
#[derive(clap::Args)]
struct ScoringFlags {
    /// Backend: flex, ndarray or wgpu (default: GDL_BACKEND, else flex).
    #[arg(long)]
    backend: Option<BackendKind>,
    /// `mnist` or `fashion`: the data set the models and the scorer are trained on.
    #[arg(long, default_value = "mnist")]
    dataset: DatasetKind,
    /// Directory with the IDX files of the data set (default: as the programs find them).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Run directories of the models and the scorer (default: target/gdl/eval for MNIST,
    /// target/gdl/eval-fashion for Fashion-MNIST).
    #[arg(long)]
    root: Option<PathBuf>,
}

impl ScoringFlags {
    fn root(&self) -> PathBuf {
        self.root
            .clone()
            .unwrap_or_else(|| eval::default_root(self.dataset))
    }
}

/// Runs `program args` in the workspace root and fails if it fails.
fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let line = format!("{program} {}", args.join(" "));
    eprintln!("$ {line}");
    let status = Command::new(program)
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("running `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Runs `cargo <args>` in the workspace root and fails if it fails.
fn cargo(args: &[&str]) -> anyhow::Result<()> {
    run(
        &std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        args,
    )
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        // Exactly what CI runs: one script, so the two never drift apart.
        Task::Ci => run("bash", &[".ci/run"]),
        Task::FetchMnist { dir, dataset } => {
            let source = DataSource::new(dataset).with_dir(dir);
            let dir = source.resolve_dir();
            download_files(
                &dataset.remote_files(),
                &source.resolve_mirrors(),
                &dir,
                dataset,
            )?;
            println!("{dataset}: all four files verified in {}", dir.display());
            println!(
                "use them with: export {}={}",
                dataset.dir_env(),
                dir.display()
            );
            Ok(())
        }
        Task::Bench {
            workloads,
            backend,
            json,
            list,
            compare,
            rounds,
        } => {
            if list {
                for w in bench::WORKLOADS {
                    println!("{:<12} {}", w.name, w.about);
                }
                return Ok(());
            }
            let backend = BackendKind::resolve(backend)?;
            if compare {
                return bench::compare::run(&workloads, backend, rounds);
            }
            bench::run(&workloads, backend, json)
        }
        Task::Score { files, scoring } => {
            let root = scoring.root();
            eval::score_files(
                BackendKind::resolve(scoring.backend)?,
                scoring.dataset,
                scoring.data_dir,
                &root,
                &files,
            )
        }
        Task::Eval {
            scoring,
            out,
            n_samples,
            quick,
            retrain,
            only,
        } => eval::Eval {
            backend: BackendKind::resolve(scoring.backend)?,
            dataset: scoring.dataset,
            out: out.unwrap_or_else(|| eval::default_out(scoring.dataset)),
            root: scoring.root(),
            data_dir: scoring.data_dir,
            n_samples,
            quick,
            retrain,
            only,
        }
        .run(),
    }
}
