//! The data sanity check a user runs first: load MNIST (or Fashion-MNIST) and write a 10 x 10
//! PNG grid, one row per class.
//!
//! ```text
//! cargo run --release --example mnist_grid
//! cargo run --release --example mnist_grid -- --dataset fashion --seed 3
//! ```

use anyhow::Context;
use clap::Parser;
use gdl::core::image::{save_grid_data, GridOptions};
use gdl::mnist::{DataSource, DatasetKind, Split, CLASSES, PIXELS, SIDE};
use rand::seq::SliceRandom;
use std::path::PathBuf;

/// Write a grid of MNIST digits (row k holds ten examples of class k) as a PNG.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Data set: `mnist` or `fashion`.
    #[arg(long, value_enum, default_value = "mnist")]
    dataset: DatasetKind,
    /// Directory holding the IDX files (default: GDL_DATA_DIR for MNIST, GDL_FASHION_DIR for
    /// Fashion-MNIST, else a system copy, else the per-user cache, downloading into it).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Which file pair to show: `test` (t10k, always present) or `train`.
    #[arg(long, value_enum, default_value = "test")]
    split: Split,
    /// Examples per class (one grid row each).
    #[arg(long, default_value_t = 10)]
    per_class: usize,
    /// Seed of the random choice of examples; without it the first examples of each class are shown.
    #[arg(long)]
    seed: Option<u64>,
    /// Do not download missing files; fail with a message saying where to put them.
    #[arg(long)]
    no_download: bool,
    /// Output PNG (default: target/gdl/mnist_grid/<dataset>.png).
    #[arg(long)]
    output: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.per_class > 0, "--per-class must be at least 1");
    let source = DataSource::new(args.dataset)
        .with_dir(args.data_dir.clone())
        .with_download(!args.no_download);
    let data = source.split(args.split)?;
    println!(
        "{}: {} images from {}",
        args.dataset,
        data.len(),
        source.resolve_dir().display()
    );

    // Row k: `per_class` examples of class k (first ones, or a seeded random choice).
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); CLASSES];
    for (i, &l) in data.labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    if let Some(seed) = args.seed {
        let mut rng = gdl::core::seed::host_rng(seed);
        by_class.iter_mut().for_each(|v| v.shuffle(&mut rng));
    }
    let mut pixels = Vec::with_capacity(CLASSES * args.per_class * PIXELS);
    let mut n = 0;
    for (k, members) in by_class.iter().enumerate() {
        anyhow::ensure!(
            members.len() >= args.per_class,
            "class {k} has only {} examples, fewer than --per-class {}",
            members.len(),
            args.per_class
        );
        for &i in &members[..args.per_class] {
            pixels.extend(data.image(i).iter().map(|&b| b as f32 / 255.0));
            n += 1;
        }
    }
    let output = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("target/gdl/mnist_grid/{}.png", args.dataset)));
    save_grid_data(
        &pixels,
        [n, 1, SIDE, SIDE],
        &output,
        &GridOptions::with_cols(args.per_class),
    )
    .with_context(|| format!("writing {}", output.display()))?;
    println!(
        "rows are the classes {}",
        args.dataset.class_names().join(", ")
    );
    println!("wrote {}", output.display());
    Ok(())
}
