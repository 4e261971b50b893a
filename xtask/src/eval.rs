//! `cargo xtask eval`: one table that scores every generative model on the same digits with the
//! same yardstick. Each model is trained (or, when its run directory already holds its
//! samples and summary, loaded) by its own program at a stated budget, writing
//! `samples-idx3-ubyte` and `summary.json`; the scorer CNN (`gdl_ffnn::score`, trained once
//! and cached) then scores every sample file against the held-out digits, beside two
//! reference rows: real training digits, and uniform noise.

use anyhow::Context;
use gdl::burn::tensor::backend::AutodiffBackend;
use gdl::burn::tensor::{Tensor, TensorData};
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::core::image::{save_grid, GridOptions};
use gdl::core::run_dir::{copy_resumable, RunSummary};
use gdl::ffnn::score::{
    first_images, scorer_training, train_scorer, uniform_noise, Scores, SCORER_EPOCHS,
};
use gdl::mnist::idx::{read_images, IdxImages};
use gdl::mnist::samples::SAMPLES_FILE;
use gdl::mnist::{DataSource, DatasetKind, TrainTest, SIDE};
use std::path::{Path, PathBuf};

/// How `eval` runs.
pub struct Eval {
    /// The backend every program and the scorer run on.
    pub backend: BackendKind,
    /// MNIST or Fashion-MNIST.
    pub dataset: DatasetKind,
    /// Where the images are (default: as the programs find them).
    pub data_dir: Option<PathBuf>,
    /// The table's file.
    pub out: PathBuf,
    /// Run directories: one per model, and the scorer's cache.
    pub root: PathBuf,
    /// Samples per model.
    pub n_samples: usize,
    /// A smoke run: one epoch each, short likelihood estimates.
    pub quick: bool,
    /// Train again even where a run directory holds samples.
    pub retrain: bool,
    /// Only these models, separated by spaces or commas (vae, vae_conv, rbm, rbm_pcd, dbn, ebm,
    /// gan, gan_rejection, gan_langevin, ddpm, ddpm_ddim50, ddpm_ancestral, vdm; default: all but
    /// ddpm_ancestral, about 50 min of sampling on 2 CPU cores); the other models keep their
    /// rows of the existing table.
    pub only: Vec<String>,
}

/// The table's default file: each data set has its own, so that a Fashion-MNIST table never
/// overwrites the MNIST one.
pub fn default_out(dataset: DatasetKind) -> PathBuf {
    match dataset {
        DatasetKind::Mnist => "docs/results.md".into(),
        other => format!("docs/results-{}.md", other.name()).into(),
    }
}

/// The default root of the run directories: one per data set, so that no model's samples are
/// scored against another data set's images.
pub fn default_root(dataset: DatasetKind) -> PathBuf {
    match dataset {
        DatasetKind::Mnist => "target/gdl/eval".into(),
        other => format!("target/gdl/eval-{}", other.name()).into(),
    }
}

/// A generative program and the budget it trains at.
struct Entry {
    name: &'static str,
    example: &'static str,
    flags: Vec<&'static str>,
    quick_flags: Vec<&'static str>,
    /// At the full budget, the entry whose trained model this one samples (its checkpoint,
    /// continued with `--resume` and no epochs left), instead of training the same model again.
    trained_by: Option<&'static str>,
}

/// Entries that run only when `--only` names them: DDPM's ancestral sampler draws 2,000 digits
/// in 1,000 network evaluations each (about 50 min on 2 CPU cores).
const OPT_IN: &[&str] = &["ddpm_ancestral"];

fn entries() -> Vec<Entry> {
    let vae = |arch: &'static str, epochs: &'static str, k: &'static str| {
        vec![
            "--arch",
            arch,
            "--binarize",
            "--epochs",
            epochs,
            "--iwae-k",
            k,
        ]
    };
    let rbm_quick = vec![
        "--epochs",
        "1",
        "--ais-runs",
        "10",
        "--ais-temperatures",
        "500",
        "--gibbs-steps",
        "100",
    ];
    let with = |mut v: Vec<&'static str>, more: &[&'static str]| {
        v.extend(more);
        v
    };
    vec![
        Entry {
            name: "vae",
            example: "vae_mnist",
            flags: vae("mlp", "10", "1000"),
            quick_flags: vae("mlp", "1", "10"),
            trained_by: None,
        },
        Entry {
            name: "vae_conv",
            example: "vae_mnist",
            flags: vae("conv", "10", "100"),
            quick_flags: vae("conv", "1", "10"),
            trained_by: None,
        },
        Entry {
            name: "rbm",
            example: "rbm_mnist",
            flags: vec!["--epochs", "20"],
            quick_flags: rbm_quick.clone(),
            trained_by: None,
        },
        Entry {
            name: "rbm_pcd",
            example: "rbm_mnist",
            flags: vec!["--epochs", "20", "--pcd"],
            quick_flags: with(rbm_quick.clone(), &["--pcd"]),
            trained_by: None,
        },
        Entry {
            name: "dbn",
            example: "rbm_mnist",
            flags: vec!["--epochs", "20", "--dbn-hidden", "256", "--ais-runs", "0"],
            quick_flags: with(rbm_quick, &["--dbn-hidden", "64"]),
            trained_by: None,
        },
        Entry {
            name: "ebm",
            example: "ebm_langevin_mnist",
            flags: vec!["--epochs", "1"],
            quick_flags: vec!["--epochs", "1", "--sgld-steps", "10", "--final-steps", "20"],
            trained_by: None,
        },
        Entry {
            name: "gan",
            example: "gan_mnist",
            flags: vec!["--epochs", "10"],
            quick_flags: vec!["--epochs", "1", "--arch", "mlp"],
            trained_by: None,
        },
        Entry {
            name: "gan_rejection",
            example: "gan_mnist",
            flags: vec!["--epochs", "10", "--rejection"],
            quick_flags: vec!["--epochs", "1", "--arch", "mlp", "--rejection"],
            trained_by: Some("gan"),
        },
        Entry {
            name: "gan_langevin",
            example: "gan_mnist",
            flags: vec!["--epochs", "10", "--langevin"],
            quick_flags: vec!["--epochs", "1", "--arch", "mlp", "--langevin"],
            trained_by: Some("gan"),
        },
        Entry {
            name: "ddpm",
            example: "diffusion_mnist",
            flags: vec!["--epochs", "10", "--bound-draws", "8"],
            quick_flags: vec!["--epochs", "1", "--steps", "5", "--bound-draws", "1"],
            trained_by: None,
        },
        Entry {
            name: "ddpm_ddim50",
            example: "diffusion_mnist",
            flags: vec!["--epochs", "10", "--steps", "50", "--bound-draws", "0"],
            quick_flags: vec!["--epochs", "1", "--steps", "2", "--bound-draws", "0"],
            trained_by: Some("ddpm"),
        },
        Entry {
            name: "ddpm_ancestral",
            example: "diffusion_mnist",
            flags: vec![
                "--epochs",
                "10",
                "--sampler",
                "ancestral",
                "--bound-draws",
                "0",
            ],
            quick_flags: vec![
                "--epochs",
                "1",
                "--timesteps",
                "20",
                "--sampler",
                "ancestral",
                "--bound-draws",
                "0",
            ],
            trained_by: Some("ddpm"),
        },
        Entry {
            name: "vdm",
            example: "diffusion_mnist",
            flags: vec!["--model", "vdm", "--epochs", "10", "--bound-draws", "8"],
            quick_flags: vec![
                "--model",
                "vdm",
                "--epochs",
                "1",
                "--steps",
                "5",
                "--bound-draws",
                "1",
            ],
            trained_by: None,
        },
    ]
}

/// One table row's inputs.
struct Row {
    /// The file name of its grid under `docs/results/`.
    key: String,
    name: String,
    summary: Option<RunSummary>,
    images: IdxImages,
}

impl Eval {
    /// Trains or loads every model, scores them, prints the table and writes it.
    pub fn run(self) -> anyhow::Result<()> {
        check_only(&self.only)?;
        let source = DataSource::new(self.dataset).with_dir(self.data_dir.clone());
        let data = source.train_test()?;
        println!("{}", data.description);
        let mut rows = Vec::new();
        for entry in entries() {
            let chosen = if self.only.is_empty() {
                !OPT_IN.contains(&entry.name)
            } else {
                self.only.iter().any(|o| o == entry.name)
            };
            if !chosen {
                continue;
            }
            let dir = self.root.join(entry.name);
            let ready = dir.join(SAMPLES_FILE).is_file() && dir.join("summary.json").is_file();
            if self.retrain || !ready {
                self.train(&entry, &dir)?;
            } else {
                println!(
                    "{}: samples and summary found in {}",
                    entry.name,
                    dir.display()
                );
            }
            let summary = RunSummary::read(&dir)?;
            let images = read_images(&dir.join(SAMPLES_FILE), Some((SIDE, SIDE)))
                .with_context(|| format!("the samples of {}", entry.name))?;
            rows.push(Row {
                key: entry.name.to_string(),
                name: summary.model.clone(),
                summary: Some(summary),
                images,
            });
        }
        let n = self.n_samples.max(2);
        let references = [
            Row {
                key: "real".into(),
                name: format!(
                    "reference: {} real training images",
                    n.min(data.train.len())
                ),
                summary: None,
                images: first_images(&data.train, n),
            },
            Row {
                key: "noise".into(),
                name: format!("reference: {n} images of uniform noise"),
                summary: None,
                images: uniform_noise(n, 0),
            },
        ];
        let scorer_root = self.root.join("scorer");
        let grids = self.out.with_extension("");
        let all: Vec<&Row> = references.iter().chain(&rows).collect();
        let (accuracy, scores) = run_on(
            self.backend,
            ScoreAll {
                data: &data,
                root: &scorer_root,
                images: all.iter().map(|r| &r.images).collect(),
                grids: all
                    .iter()
                    .map(|r| grids.join(format!("{}.png", r.key)))
                    .collect(),
            },
        )??;
        let mut table = self.table(&data, accuracy, references.iter().chain(&rows), &scores);
        if !self.only.is_empty() {
            // The models not chosen keep their rows of the existing table.
            if let Ok(old) = std::fs::read_to_string(&self.out) {
                let order: Vec<&str> = ["real", "noise"]
                    .into_iter()
                    .chain(entries().iter().map(|e| e.name))
                    .collect();
                table = merge_rows(&table, &old, &order);
            }
        }
        println!("\n{table}");
        gdl::core::fs::atomic_write(&self.out, table.as_bytes())?;
        println!("wrote {}", self.out.display());
        Ok(())
    }

    /// Runs the entry's program in release mode into `dir`; at the full budget, an entry
    /// `trained_by` another starts from a copy of that one's checkpoint and only samples.
    fn train(&self, entry: &Entry, dir: &Path) -> anyhow::Result<()> {
        let source = entry.trained_by.filter(|_| !self.quick);
        if let Some(source) = source {
            copy_resumable(&self.root.join(source), dir)
                .with_context(|| format!("{} samples the model trained by {source}", entry.name))?;
        }
        let n = self.n_samples.to_string();
        let out = dir.display().to_string();
        let mut args = vec![
            "run",
            "--release",
            "--quiet",
            "--example",
            entry.example,
            "--",
            "--backend",
            self.backend.name(),
            "--seed",
            "0",
            "--output-dir",
            &out,
            "--n-samples",
            &n,
            "--dataset",
            self.dataset.name(),
        ];
        let data_dir = self.data_dir.as_ref().map(|d| d.display().to_string());
        if let Some(d) = &data_dir {
            args.extend(["--data-dir", d.as_str()]);
        }
        args.extend(if self.quick {
            &entry.quick_flags
        } else {
            &entry.flags
        });
        if source.is_some() {
            args.push("--resume");
        }
        crate::cargo(&args)
    }

    fn table<'a>(
        &self,
        data: &TrainTest,
        accuracy: f64,
        rows: impl Iterator<Item = &'a Row>,
        scores: &[Scores],
    ) -> String {
        let mut t = String::new();
        let kind = self.dataset.title();
        t.push_str(&format!("# Generative models on {kind}, one yardstick\n\n"));
        t.push_str(&format!(
            "Written by `cargo xtask eval{}` on {}. Data: {}. Every model trained with seed 0 \
             at the budget below; {} samples each, scored against the {} held-out images by the \
             scorer CNN (PyTorch's MNIST example network, {SCORER_EPOCHS} epochs on the training \
             images, held-out accuracy {:.2}%): FID on its 128-d penultimate features, \
             precision and recall of k = 3 nearest-neighbour manifolds (Kynkäänniemi et al. 2019) and the coverage of the real images' balls (Naeem et al. 2020; precision alone rates uniform noise 1.0, its features falling inside the large balls of a few faint real images), mean confidence, and the \
             entropy of the predicted-label histogram (ln 10 = 2.303 for balanced classes). Test \
             NLL in nats per image where the model has one (binarised images for the RBMs and VAEs, \
             8-bit grey levels for diffusion models).\n\n",
            if self.quick { " --quick" } else { "" },
            self.backend.name(),
            data.description,
            self.n_samples,
            data.test.len(),
            100.0 * accuracy
        ));
        t.push_str("| model | backend | epochs | train time | FID | precision | recall | coverage | confidence | label entropy | test NLL (nats) | labels 0-9 | samples |\n");
        t.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (row, s) in rows.zip(scores) {
            let cells = s.row();
            let (backend, epochs, time, nll) = match &row.summary {
                Some(m) => (
                    m.backend.clone(),
                    m.epochs.to_string(),
                    format!("{:.0} s", m.train_seconds),
                    match (m.test_nll_nats, &m.nll_method) {
                        (Some(v), Some(how)) => format!("{v:.2} ({how})"),
                        (Some(v), None) => format!("{v:.2}"),
                        _ => "—".into(),
                    },
                ),
                None => ("—".into(), "—".into(), "—".into(), "—".into()),
            };
            t.push_str(&format!(
                "| {} | {backend} | {epochs} | {time} | {} | {} | {} | {} | {} | {} | {nll} | {} | [grid]({}/{}.png) |\n",
                row.name, cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6],
                self.out.with_extension("").file_name().map_or("".into(), |f| f.to_string_lossy().into_owned()),
                row.key
            ));
        }
        t
    }
}

/// The key of a table row: `gan` in `... | [grid](results/gan.png) |`.
fn row_key(line: &str) -> Option<&str> {
    let grid = line.rsplit_once("[grid](")?.1;
    let file = grid.split_once(".png)")?.0;
    Some(file.rsplit_once('/').map_or(file, |(_, key)| key))
}

/// The mark of a row kept from an earlier table whose scorer was another.
const EARLIER_SCORER: &str = "†";

/// `new`'s heading and rows, with the rows of `old` for the keys `new` lacks, in `order`. When
/// the two tables' scorers differ (their rows for the real images do), a kept row's FID is on
/// another scale: its model name is marked † and a footnote says so.
fn merge_rows(new: &str, old: &str, order: &[&str]) -> String {
    let rows = |t: &str| -> Vec<(String, String)> {
        t.lines()
            .filter_map(|l| row_key(l).map(|k| (k.to_string(), l.to_string())))
            .collect()
    };
    let (fresh, kept) = (rows(new), rows(old));
    let find = |rows: &[(String, String)], key: &str| {
        rows.iter().find(|(k, _)| k == key).map(|(_, l)| l.clone())
    };
    let other_scorer = find(&fresh, "real") != find(&kept, "real");
    let mark = |line: String| match line.split_once(" |") {
        Some((name, rest)) if other_scorer && !name.ends_with(EARLIER_SCORER) => {
            format!("{name} {EARLIER_SCORER} |{rest}")
        }
        _ => line,
    };
    let mut t: String = new
        .lines()
        .take_while(|l| row_key(l).is_none())
        .map(|l| format!("{l}\n"))
        .collect();
    let mut marked = false;
    for key in order {
        let line = find(&fresh, key).or_else(|| find(&kept, key).map(mark));
        if let Some(line) = line {
            marked |= line
                .split_once(" |")
                .is_some_and(|(n, _)| n.ends_with(EARLIER_SCORER));
            t.push_str(&line);
            t.push('\n');
        }
    }
    if marked {
        t.push_str(&format!(
            "\n{EARLIER_SCORER} Kept from an earlier `cargo xtask eval` whose scorer was another \
             (its reference rows had other figures), so this row's FID, precision, recall and \
             coverage are not on the other rows' scale; `cargo xtask eval --only MODEL` scores \
             it again.\n"
        ));
    }
    t
}

/// `cargo xtask score`: scores IDX files of generated images with the scorer of `dataset`
/// (trained once into `root/scorer`, as `eval` does) and prints one line per file.
pub fn score_files(
    backend: BackendKind,
    dataset: DatasetKind,
    data_dir: Option<PathBuf>,
    root: &Path,
    files: &[PathBuf],
) -> anyhow::Result<()> {
    let data = DataSource::new(dataset).with_dir(data_dir).train_test()?;
    println!("{}", data.description);
    let images = files
        .iter()
        .map(|f| {
            read_images(f, Some((SIDE, SIDE))).with_context(|| format!("reading {}", f.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (accuracy, scores) = run_on(
        backend,
        ScoreAll {
            data: &data,
            root: &root.join("scorer"),
            images: images.iter().collect(),
            grids: files.iter().map(|f| f.with_extension("png")).collect(),
        },
    )??;
    println!(
        "scorer accuracy on the held-out images: {:.2}%",
        100.0 * accuracy
    );
    println!(
        "file | n | FID | precision | recall | coverage | confidence | label entropy | labels 0-9"
    );
    for (file, s) in files.iter().zip(&scores) {
        println!("{} | {} | {}", file.display(), s.n, s.row().join(" | "));
    }
    Ok(())
}

/// Trains or loads the scorer on the backend and scores every image set.
struct ScoreAll<'a> {
    data: &'a TrainTest,
    root: &'a Path,
    images: Vec<&'a IdxImages>,
    /// Where each image set's first 100 go as a 10 x 10 grid.
    grids: Vec<PathBuf>,
}

impl BackendTask for ScoreAll<'_> {
    type Output = anyhow::Result<(f64, Vec<Scores>)>;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> Self::Output {
        let cfg = scorer_training(SCORER_EPOCHS);
        let scorer = train_scorer::<B>(self.data, &cfg, self.root, device)?;
        let scores = self
            .images
            .iter()
            .map(|images| scorer.score(images))
            .collect::<gdl::core::Result<Vec<_>>>()?;
        for (images, path) in self.images.iter().zip(&self.grids) {
            let n = images.n.min(100);
            let pixels: Vec<f32> = images.pixels[..n * SIDE * SIDE]
                .iter()
                .map(|&b| b as f32 / 255.0)
                .collect();
            let grid = Tensor::<B::InnerBackend, 1>::from_data(
                TensorData::new(pixels, [n * SIDE * SIDE]),
                device,
            )
            .reshape([n, 1, SIDE, SIDE]);
            save_grid(grid, path, &GridOptions::with_cols(10))?;
        }
        Ok((scorer.accuracy, scores))
    }
}

/// Every name in `only` is an entry's: a misspelt one is an error, not a run of nothing.
fn check_only(only: &[String]) -> anyhow::Result<()> {
    let known: Vec<&str> = entries().iter().map(|e| e.name).collect();
    match only.iter().find(|o| !known.contains(&o.as_str())) {
        Some(unknown) => anyhow::bail!(
            "--only: no model named {unknown:?} (known: {})",
            known.join(", ")
        ),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_only_rejects_unknown_models() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_only(&names(&["gan", "ddpm_ancestral"])).is_ok());
        let err = check_only(&names(&["gan", "ddpm,ddpm_ddim50"])).unwrap_err();
        assert!(err.to_string().contains("\"ddpm,ddpm_ddim50\""), "{err}");
    }

    #[test]
    fn eval_only_keeps_the_rows_it_did_not_run() {
        let head = "# t\n\n| model | samples |\n|---|---|\n";
        let old = format!(
            "{head}| Real | [grid](results/real.png) |\n| VAE old | [grid](results/vae.png) |\n\
             | GAN old | [grid](results/gan.png) |\n"
        );
        let new = format!(
            "{head}| Real | [grid](results/real.png) |\n| GAN new | [grid](results/gan.png) |\n"
        );
        let merged = merge_rows(&new, &old, &["real", "noise", "vae", "gan"]);
        assert_eq!(
            merged,
            format!(
                "{head}| Real | [grid](results/real.png) |\n| VAE old | [grid](results/vae.png) |\n\
                 | GAN new | [grid](results/gan.png) |\n"
            )
        );
        // Another scorer (the real images' row differs): the kept VAE row is marked, with a
        // footnote, once however often it is kept.
        let rescored = new.replace("| Real |", "| Real, other scorer |");
        let merged = merge_rows(&rescored, &old, &["real", "noise", "vae", "gan"]);
        assert!(
            merged.contains("| VAE old † | [grid](results/vae.png) |\n"),
            "{merged}"
        );
        assert!(merged.contains("| GAN new | [grid]"), "{merged}");
        assert!(merged.ends_with("scores it again.\n"), "{merged}");
        let again = merge_rows(&new, &merged, &["real", "noise", "vae", "gan"]);
        assert_eq!(again.matches('†').count(), 2, "{again}");
    }
}
