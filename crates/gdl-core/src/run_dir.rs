//! A run directory: what one training run leaves behind, and what `--resume` continues.
//!
//! ```text
//! <dir>/config.json                     the training config (a Burn Config, JSON)
//! <dir>/metrics.csv                     one row per epoch, columns from the step's figures
//! <dir>/checkpoints/epoch-0007/         the last complete checkpoint:
//!        model.mpk, optim.mpk, ...        the trainer's records (TrainStep::save)
//!        history.json                     every epoch's report up to this one
//! <dir>/summary.json                    a generative program's summary (RunSummary)
//! ```
//!
//! A checkpoint is written into a hidden temporary directory and renamed into place, so it is
//! complete or absent; it is written before the metrics row, and the metrics are rewritten
//! from its history, so a crash anywhere resumes after the last complete epoch.

use crate::fs::atomic_write;
use crate::run::MetricLog;
use crate::train::{EpochReport, TrainStep};
use crate::{Error, Result};
use burn::tensor::backend::Backend;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

const CONFIG: &str = "config.json";
const METRICS: &str = "metrics.csv";
const CHECKPOINTS: &str = "checkpoints";
const HISTORY: &str = "history.json";
const SUMMARY: &str = "summary.json";

/// What a generative program reports of its run, for the cross-family table of
/// `cargo xtask eval`: written as `summary.json` beside the samples.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    /// The model, as the table names it (e.g. `VAE (MLP, d = 20)`).
    pub model: String,
    /// The backend it trained on.
    pub backend: String,
    /// Epochs trained.
    pub epochs: usize,
    /// Wall-clock seconds of training (all epochs, resumed ones included).
    pub train_seconds: f64,
    /// Test negative log-likelihood in nats per digit, where the model has one.
    pub test_nll_nats: Option<f64>,
    /// How the NLL was estimated (e.g. `AIS`, `IWAE k = 5000`, `−ELBO (upper bound)`).
    pub nll_method: Option<String>,
}

impl RunSummary {
    /// Writes `summary.json` into `dir`, atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a summary prints");
        atomic_write(&dir.join(SUMMARY), text.as_bytes())
    }

    /// Reads `summary.json` from `dir`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(SUMMARY);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::invalid(path.display().to_string(), e.to_string()))
    }

    /// Σ of the epochs' seconds.
    pub fn seconds(history: &[EpochReport]) -> f64 {
        history.iter().map(|r| r.seconds).sum()
    }
}

/// A training run's directory (see the module documentation).
#[derive(Clone, Debug)]
pub struct RunDir {
    dir: PathBuf,
    resume: bool,
}

impl RunDir {
    /// Opens `dir` for the run `config` describes. A new run writes `config.json` and removes
    /// the checkpoints of an earlier run there; `resume` requires the saved `config.json` to
    /// equal `config` but for its top-level `epochs` (a resumed run may train to more epochs),
    /// else an error names the first field that differs.
    pub fn open<C: Serialize>(dir: impl Into<PathBuf>, config: &C, resume: bool) -> Result<Self> {
        let run = RunDir {
            dir: dir.into(),
            resume,
        };
        let path = run.dir.join(CONFIG);
        // Through text, as the saved config is read: serde_json's parser may miss a float's
        // last bit, and it misses it the same way for the same digits.
        let now: Value = serde_json::to_string(config)
            .and_then(|text| serde_json::from_str(&text))
            .map_err(|e| Error::invalid("training config", e.to_string()))?;
        if resume {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let saved: Value = serde_json::from_str(&text).map_err(|e| {
                Error::invalid(format!("resumed config {}", path.display()), e.to_string())
            })?;
            let without_epochs = |v: &Value| {
                let mut v = v.clone();
                if let Value::Object(map) = &mut v {
                    map.remove("epochs");
                }
                v
            };
            if let Some(diff) = first_difference("", &without_epochs(&saved), &without_epochs(&now))
            {
                return Err(Error::invalid(
                    format!("--resume with {}", path.display()),
                    format!("the saved run differs from this one in {diff}"),
                ));
            }
        } else {
            let old = run.dir.join(CHECKPOINTS);
            if old.exists() {
                std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
            }
        }
        // Written on resume too: it records the epochs the run now trains to.
        let text = serde_json::to_string_pretty(&now).expect("a JSON value prints");
        atomic_write(&path, text.as_bytes())?;
        Ok(run)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The metrics CSV's path.
    pub fn metrics_path(&self) -> PathBuf {
        self.dir.join(METRICS)
    }

    /// When resuming from a checkpoint: the trainer with its saved state and the history up to
    /// the checkpoint's epoch. Otherwise `trainer` as it is and no history.
    pub fn restore<B: Backend, T: TrainStep<B>>(
        &self,
        trainer: T,
        device: &B::Device,
    ) -> Result<(T, Vec<EpochReport>)> {
        let Some(dir) = self.resume.then(|| self.last_checkpoint()).flatten() else {
            return Ok((trainer, Vec::new()));
        };
        let path = dir.join(HISTORY);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let history: Vec<EpochReport> =
            serde_json::from_str(&text).map_err(|e| Error::Checkpoint {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let trainer = trainer.load(&dir, device)?;
        Ok((trainer, history))
    }

    /// Writes the checkpoint of epoch `history.len()`: the trainer's records and the history,
    /// into a temporary directory renamed into place; then removes older checkpoints.
    pub fn save_checkpoint<B: Backend, T: TrainStep<B>>(
        &self,
        trainer: &T,
        history: &[EpochReport],
    ) -> Result<()> {
        let root = self.dir.join(CHECKPOINTS);
        let name = format!("epoch-{:04}", history.len());
        let tmp = root.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let written = trainer.save(&tmp).and_then(|()| {
            let json = serde_json::to_string(history).expect("reports serialise");
            atomic_write(&tmp.join(HISTORY), json.as_bytes())
        });
        if let Err(e) = written {
            // A failed write (a full disk) leaves no half checkpoint behind.
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        let target = root.join(&name);
        if target.exists() {
            std::fs::remove_dir_all(&target).map_err(|e| Error::io(&target, e))?;
        }
        std::fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e))?;
        for entry in std::fs::read_dir(&root).map_err(|e| Error::io(&root, e))? {
            let path = entry.map_err(|e| Error::io(&root, e))?.path();
            if path != target {
                std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
        Ok(())
    }

    /// Rewrites `metrics.csv` from the history (atomically).
    pub fn write_metrics(&self, history: &[EpochReport]) -> Result<()> {
        metric_log(self.metrics_path(), history)?.write()
    }

    /// The directory of the last complete checkpoint, if any.
    fn last_checkpoint(&self) -> Option<PathBuf> {
        last_checkpoint(&self.dir)
    }
}

/// The last complete checkpoint of the run directory `dir`, if any.
fn last_checkpoint(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir.join(CHECKPOINTS)).ok()?;
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("epoch-"))
        })
        .max()
}

/// Copies what `--resume` continues from, `config.json` and the last checkpoint, from the run
/// directory `from` into `to` (whose own checkpoints are removed first, so that none of an
/// earlier run there is newer than the copy); `from` must hold a checkpoint.
pub fn copy_resumable(from: &Path, to: &Path) -> Result<()> {
    let copy = |a: &Path, b: &Path| std::fs::copy(a, b).map(|_| ()).map_err(|e| Error::io(a, e));
    let last = last_checkpoint(from).ok_or_else(|| {
        Error::invalid(
            format!("run directory {}", from.display()),
            "it holds no checkpoint",
        )
    })?;
    let old = to.join(CHECKPOINTS);
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    let target = old.join(last.file_name().unwrap_or_default());
    std::fs::create_dir_all(&target).map_err(|e| Error::io(&target, e))?;
    copy(&from.join(CONFIG), &to.join(CONFIG))?;
    for file in std::fs::read_dir(&last).map_err(|e| Error::io(&last, e))? {
        let file = file.map_err(|e| Error::io(&last, e))?.path();
        copy(&file, &target.join(file.file_name().unwrap_or_default()))?;
    }
    Ok(())
}

/// The history as a metric log at `path` (columns from the first report).
pub fn metric_log(path: impl Into<PathBuf>, history: &[EpochReport]) -> Result<MetricLog> {
    let columns = history
        .first()
        .map(EpochReport::columns)
        .unwrap_or_default();
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let mut log = MetricLog::create(path, &names)?;
    for report in history {
        log.add(&report.row())?;
    }
    Ok(log)
}

/// The first path (`model.d_latent`) at which `saved` and `now` differ, with both values.
fn first_difference(at: &str, saved: &Value, now: &Value) -> Option<String> {
    let join = |key: &str| {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    };
    match (saved, now) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) => first_difference(&join(k), x, y),
                // An optional field added since the run was saved, left unset.
                (None, Some(Value::Null)) | (Some(Value::Null), None) => None,
                (x, y) => Some(format!(
                    "`{}`: saved {}, now {}",
                    join(k),
                    x.map_or("nothing".into(), Value::to_string),
                    y.map_or("nothing".into(), Value::to_string)
                )),
            })
        }
        _ if saved == now => None,
        _ => Some(format!(
            "`{}`: saved {saved}, now {now}",
            if at.is_empty() { "config" } else { at }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field the saved config lacks is a difference unless it is unset (null) now: an
    /// optional field added to the config since the run was saved.
    #[test]
    fn an_unset_field_added_since_the_save_is_no_difference() {
        let saved = serde_json::json!({"lr": 1.0, "model": {"width": 4}});
        let same = serde_json::json!({"lr": 1.0, "d_lr": null, "model": {"width": 4, "n": null}});
        assert_eq!(first_difference("", &saved, &same), None);
        let set = serde_json::json!({"lr": 1.0, "d_lr": 2.0, "model": {"width": 4}});
        let diff = first_difference("", &saved, &set).unwrap();
        assert!(diff.contains("`d_lr`: saved nothing, now 2.0"), "{diff}");
        let other = serde_json::json!({"lr": 1.0, "model": {"width": 5}});
        let diff = first_difference("", &saved, &other).unwrap();
        assert!(diff.contains("`model.width`"), "{diff}");
    }

    /// The copy holds the source's config and last checkpoint, and none of the target's own
    /// older checkpoints; a source without a checkpoint is an error.
    #[test]
    fn copy_resumable_takes_the_trained_model_only() {
        let root = std::env::temp_dir().join(format!("gdl-run-dir-copy-{}", std::process::id()));
        let (from, to) = (root.join("ddpm"), root.join("ddpm_ddim50"));
        let _ = std::fs::remove_dir_all(&root);
        let write = |path: &Path, text: &str| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        assert!(copy_resumable(&from, &to).is_err());
        write(&from.join("config.json"), "{}");
        write(&from.join("checkpoints/epoch-0010/model.mpk"), "weights");
        write(
            &from.join("checkpoints/.epoch-0011.tmp-7/model.mpk"),
            "half",
        );
        write(&to.join("checkpoints/epoch-0012/model.mpk"), "stale");
        copy_resumable(&from, &to).unwrap();
        let read = |p: &str| std::fs::read_to_string(to.join(p)).unwrap();
        assert_eq!(read("config.json"), "{}");
        assert_eq!(read("checkpoints/epoch-0010/model.mpk"), "weights");
        let names: Vec<_> = std::fs::read_dir(to.join("checkpoints"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["epoch-0010"]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
