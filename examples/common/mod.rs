//! The flags every MNIST training program shares: the backend, the seed and where the digits
//! come from (`#[command(flatten)]` them into a program's arguments).

use gdl::core::backend::BackendKind;
use gdl::mnist::{DataSource, DatasetKind};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct RunFlags {
    /// Burn backend: flex, ndarray or wgpu (default: GDL_BACKEND, else flex).
    #[arg(long)]
    pub backend: Option<BackendKind>,
    /// Seed of the weights, the samples and the shuffles: the same seed on the same backend
    /// gives the same numbers.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The data set: `mnist` or `fashion` (Fashion-MNIST).
    #[arg(long, value_enum, default_value = "mnist")]
    pub dataset: DatasetKind,
    /// Directory with the IDX files (default: GDL_DATA_DIR for MNIST, GDL_FASHION_DIR for
    /// Fashion-MNIST, a system copy, or the cache).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Do not download missing files.
    #[arg(long)]
    pub no_download: bool,
}

/// Checks the flags every training program has before anything is read or written: a
/// one-line error naming the flag and its value.
#[allow(dead_code)] // not every program that shares these flags trains
pub fn check_training(epochs: usize, batch_size: usize, lr: f64) -> anyhow::Result<()> {
    anyhow::ensure!(epochs >= 1, "--epochs must be >= 1, not {epochs}");
    anyhow::ensure!(
        batch_size >= 1,
        "--batch-size must be >= 1, not {batch_size}"
    );
    anyhow::ensure!(lr > 0.0 && lr.is_finite(), "--lr must be > 0, not {lr}");
    Ok(())
}

/// A library's [`gdl::core::Error::Invalid`] about the config field `some_field`, reworded
/// for the command line: `--some-field must be ...`. Other errors pass through.
#[allow(dead_code)] // the programs whose library checks its own config
pub fn as_flag(e: gdl::core::Error) -> anyhow::Error {
    match e {
        gdl::core::Error::Invalid { what, reason } => {
            anyhow::anyhow!("--{} {reason}", what.replace('_', "-"))
        }
        other => other.into(),
    }
}

impl RunFlags {
    /// Where the images of `--dataset` come from, as the flags say.
    pub fn data_source(&self) -> DataSource {
        DataSource::new(self.dataset)
            .with_dir(self.data_dir.clone())
            .with_download(!self.no_download)
    }

    /// The backend to run on: --backend, else GDL_BACKEND, else the default.
    pub fn backend(&self) -> gdl::core::Result<BackendKind> {
        BackendKind::resolve(self.backend)
    }
}

/// Saves digits `originals` and their `reconstructions` [N, 1, 28, 28] as one grid whose rows
/// alternate: a row of originals, then their reconstructions. Rows hold 10 digits (fewer when
/// N < 10); digits past the last whole row are left out, and nothing is written for N = 0.
#[allow(dead_code)] // not every program that shares these flags reconstructs digits
pub fn save_reconstructions<B: gdl::burn::tensor::backend::Backend>(
    originals: gdl::burn::tensor::Tensor<B, 4>,
    reconstructions: gdl::burn::tensor::Tensor<B, 4>,
    path: &std::path::Path,
) -> gdl::core::Result<()> {
    use gdl::core::image::{interleave_rows, save_grid, GridOptions};
    let cols = originals.dims()[0].min(10);
    if cols == 0 {
        return Ok(());
    }
    save_grid(
        interleave_rows(originals, reconstructions, cols),
        path,
        &GridOptions::with_cols(cols),
    )
}

/// The flags of the generative programs: how many samples they write as data for the scorer.
#[derive(clap::Args, Debug, Clone)]
#[allow(dead_code)] // not every program that shares this module generates digits
pub struct SampleFlags {
    /// Samples written as `samples-idx3-ubyte` (MNIST's IDX format) for `cargo xtask eval`
    /// and `cargo xtask score` (0: none).
    #[arg(long, default_value_t = 2000)]
    pub n_samples: usize,
}

impl SampleFlags {
    /// Draws the samples of `model` and writes them into `dir`, printing where.
    #[allow(dead_code)]
    pub fn write<B: gdl::burn::tensor::backend::Backend>(
        &self,
        model: &(impl gdl::core::sample::Sample<B> + ?Sized),
        dir: &std::path::Path,
        device: &B::Device,
    ) -> gdl::core::Result<()> {
        self.write_as(model, &dir.join(gdl::mnist::samples::SAMPLES_FILE), device)
    }

    /// Draws the samples of `model` and writes them to `path`, printing where.
    #[allow(dead_code)]
    pub fn write_as<B: gdl::burn::tensor::backend::Backend>(
        &self,
        model: &(impl gdl::core::sample::Sample<B> + ?Sized),
        path: &std::path::Path,
        device: &B::Device,
    ) -> gdl::core::Result<()> {
        if self.n_samples == 0 {
            return Ok(());
        }
        gdl::mnist::samples::save_samples_idx(model, self.n_samples, 500, path, device)?;
        println!("{} samples: {}", self.n_samples, path.display());
        Ok(())
    }
}
