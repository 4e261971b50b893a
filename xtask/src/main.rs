//! Project tasks, run as `cargo xtask <task>`:
//!
//! * `ci`: `bash .ci/run`, what CI runs: lavapipe, rustfmt check, clippy with warnings denied,
//!   and the README's test command with the real digits and the Wgpu parity tests required.
//! * `fetch-mnist [--dir D] [--dataset mnist|fashion]`: download and verify the IDX files.
//! * `bench [WORKLOAD...] [--backend B] [--json]`: the reference workloads the issues name.
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
    /// (warnings are errors) and `cargo test --workspace` with the real digits required.
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
    },
    /// Score IDX files of generated images (`samples-idx3-ubyte`) with the scorer CNN; each
    /// file's first 100 images go beside it as a PNG grid.
    Score {
        /// The IDX image files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Backend: flex, ndarray or wgpu (default: GDL_BACKEND, else flex).
        #[arg(long)]
        backend: Option<BackendKind>,
        /// `mnist` or `fashion`: the data set the scorer is trained on.
        #[arg(long, default_value = "mnist")]
        dataset: DatasetKind,
        /// Directory with the IDX files of the data set.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Where the scorer is cached (default: eval's run directories).
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Train (or load) every generative model, score its samples with the scorer CNN, and
    /// write the table to docs/results.md.
    Eval {
        /// Backend: flex, ndarray or wgpu (default: GDL_BACKEND, else flex).
        #[arg(long)]
        backend: Option<BackendKind>,
        /// `mnist` or `fashion`.
        #[arg(long, default_value = "mnist")]
        dataset: DatasetKind,
        /// Directory with the IDX files (default: as the programs find them).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The table's file (the sample grids go beside it, into a folder of its name; default:
        /// docs/results.md for MNIST, docs/results-fashion.md for Fashion-MNIST).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run directories of the models and the scorer (default: target/gdl/eval for MNIST,
        /// target/gdl/eval-fashion for Fashion-MNIST).
        #[arg(long)]
        root: Option<PathBuf>,
        /// Samples per model.
        #[arg(long, default_value_t = 2000)]
        n_samples: usize,
        /// A smoke run: one epoch each, short likelihood estimates.
        #[arg(long)]
        quick: bool,
        /// Train again even where a run directory holds samples.
        #[arg(long)]
        retrain: bool,
        /// Only these models (vae, vae_conv, rbm, rbm_pcd, dbn, ebm, gan, ddpm, ddpm_ddim50,
        /// ddpm_ancestral; default: all but ddpm_ancestral, which takes hours on a CPU).
        #[arg(long, num_args = 1..)]
        only: Vec<String>,
    },
}

/// Runs `cargo <args>` in the workspace root and fails if it fails.
fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(root)
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Ci => {
            // Exactly what CI runs: one script, so the two never drift apart.
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let status = Command::new("bash")
                .arg(root.join(".ci/run"))
                .status()
                .context("running .ci/run")?;
            if !status.success() {
                bail!("`bash .ci/run` failed ({status})");
            }
            Ok(())
        }
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
        } => {
            if list {
                for w in bench::WORKLOADS {
                    println!("{:<12} {}", w.name, w.about);
                }
                return Ok(());
            }
            let backend = BackendKind::resolve(backend)?;
            bench::run(&workloads, backend, json)
        }
        Task::Score {
            files,
            backend,
            dataset,
            data_dir,
            root,
        } => eval::score_files(
            BackendKind::resolve(backend)?,
            dataset,
            data_dir,
            &root.unwrap_or_else(|| eval::default_root(dataset)),
            &files,
        ),
        Task::Eval {
            backend,
            dataset,
            data_dir,
            out,
            root,
            n_samples,
            quick,
            retrain,
            only,
        } => eval::Eval {
            backend: BackendKind::resolve(backend)?,
            dataset,
            data_dir,
            out: out.unwrap_or_else(|| eval::default_out(dataset)),
            root: root.unwrap_or_else(|| eval::default_root(dataset)),
            n_samples,
            quick,
            retrain,
            only,
        }
        .run(),
    }
}
