//! Plumbing shared by every training loop: a progress bar, a metric log, atomic checkpoints,
//! and the NaN/Inf guard.

use crate::fs::atomic_write;
use crate::{Error, Result};
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Record, Recorder};
use burn::tensor::backend::Backend;
use std::path::{Path, PathBuf};

/// A progress bar on stderr (drawn only when stderr is a terminal).
pub struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    /// A bar over `len` steps labelled `label`.
    pub fn new(len: u64, label: &str) -> Self {
        let bar = indicatif::ProgressBar::new(len);
        let style = indicatif::ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta}) {msg}",
        )
        .expect("the template is valid");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Progress { bar }
    }

    /// Advances by `n` steps.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Shows `msg` (e.g. the running loss) after the bar.
    pub fn message(&self, msg: impl Into<std::borrow::Cow<'static, str>>) {
        self.bar.set_message(msg);
    }

    /// Prints a line above the bar (or plainly when there is no terminal).
    pub fn println(&self, line: impl AsRef<str>) {
        if self.bar.is_hidden() {
            eprintln!("{}", line.as_ref());
        } else {
            self.bar.println(line);
        }
    }

    /// Removes the bar, leaving its last state.
    pub fn finish(&self) {
        self.bar.finish();
    }
}

/// A metric log: a CSV file with a fixed header and one row per epoch or step, rewritten
/// atomically at each row so a crash never leaves a torn line.
#[derive(Debug)]
pub struct MetricLog {
    path: PathBuf,
    columns: Vec<String>,
    rows: Vec<Vec<f64>>,
}

impl MetricLog {
    /// A new, empty log with `columns` at `path` (any previous file is replaced on the first row).
    pub fn create(path: impl Into<PathBuf>, columns: &[&str]) -> Result<Self> {
        if columns.is_empty() {
            return Err(Error::invalid(
                "metric log columns",
                "need at least one column",
            ));
        }
        Ok(MetricLog {
            path: path.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        })
    }

    /// Continues the log at `path` (when resuming training); it must have exactly `columns`.
    /// A missing file starts an empty log.
    pub fn resume(path: impl Into<PathBuf>, columns: &[&str]) -> Result<Self> {
        let mut log = Self::create(path, columns)?;
        let text = match std::fs::read_to_string(&log.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(log),
            Err(e) => return Err(Error::io(&log.path, e)),
        };
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        if header != log.columns.join(",") {
            return Err(Error::invalid(
                format!("metric log {}", log.path.display()),
                format!("header `{header}` differs from `{}`", log.columns.join(",")),
            ));
        }
        for (i, line) in lines.enumerate() {
            let row: std::result::Result<Vec<f64>, _> = line.split(',').map(str::parse).collect();
            match row {
                Ok(row) if row.len() == log.columns.len() => log.rows.push(row),
                _ => {
                    return Err(Error::invalid(
                        format!("metric log {}", log.path.display()),
                        format!(
                            "line {} is not {} numbers: `{line}`",
                            i + 2,
                            log.columns.len()
                        ),
                    ))
                }
            }
        }
        Ok(log)
    }

    /// Appends a row (one value per column, in order) and rewrites the file.
    pub fn push(&mut self, row: &[f64]) -> Result<()> {
        self.add(row)?;
        self.write()
    }

    /// Appends a row (one value per column, in order) without writing the file.
    pub fn add(&mut self, row: &[f64]) -> Result<()> {
        if row.len() != self.columns.len() {
            return Err(Error::invalid(
                "metric row",
                format!(
                    "{} values for {} columns ({})",
                    row.len(),
                    self.columns.len(),
                    self.columns.join(",")
                ),
            ));
        }
        self.rows.push(row.to_vec());
        Ok(())
    }

    /// Writes the whole log to its file, atomically.
    pub fn write(&self) -> Result<()> {
        atomic_write(&self.path, self.to_csv().as_bytes())
    }

    /// The rows logged so far.
    pub fn rows(&self) -> &[Vec<f64>] {
        &self.rows
    }

    /// The values of one column, e.g. to plot a loss curve.
    pub fn column(&self, name: &str) -> Option<Vec<f64>> {
        let j = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| r[j]).collect())
    }

    /// The points (x, y) of column `y` against column `x`, e.g. a loss against the epoch;
    /// empty when either column is missing.
    pub fn curve(&self, x: &str, y: &str) -> Vec<(f64, f64)> {
        match (self.column(x), self.column(y)) {
            (Some(x), Some(y)) => x.into_iter().zip(y).collect(),
            _ => Vec::new(),
        }
    }

    fn to_csv(&self) -> String {
        let mut out = self.columns.join(",");
        out.push('\n');
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }
}

/// Returns `value` if it is finite, else [`Error::NonFinite`] naming the metric and step.
/// Call it on every loss before the optimiser step, so a NaN never reaches the weights or a
/// checkpoint.
pub fn check_finite(metric: &str, value: f64, step: usize) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::NonFinite {
            metric: metric.into(),
            value,
            step,
        })
    }
}

type CheckpointRecorder = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// Saves any Burn record (a module's or an optimiser's) at `path`, atomically, in Burn's named
/// MessagePack format with full precision.
pub fn save_record<B: Backend, R: Record<B>>(record: R, path: &Path) -> Result<()> {
    let bytes = Recorder::<B>::record(&CheckpointRecorder::new(), record, ()).map_err(|e| {
        Error::Checkpoint {
            path: path.into(),
            reason: e.to_string(),
        }
    })?;
    atomic_write(path, &bytes)
}

/// Loads a record written by [`save_record`] onto `device`.
pub fn load_record<B: Backend, R: Record<B>>(path: &Path, device: &B::Device) -> Result<R> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Recorder::<B>::load(&CheckpointRecorder::new(), bytes, device).map_err(|e| Error::Checkpoint {
        path: path.into(),
        reason: e.to_string(),
    })
}

/// `module` with every parameter initialised now. Burn initialises parameters lazily, and a
/// clone of an uninitialised parameter draws its own values: without this, a clone taken
/// before the first forward pass (a frozen copy for sampling, a record to save) would hold
/// different weights from the module itself. `devices` reads each parameter.
pub fn materialize<B: Backend, M: Module<B>>(module: M) -> M {
    let _ = module.devices();
    module
}

/// Saves a module's weights at `path` atomically.
pub fn save_module<B: Backend, M: Module<B>>(module: &M, path: &Path) -> Result<()> {
    let _ = module.devices(); // as `materialize`: the saved weights are those of `module`
    save_record::<B, _>(module.clone().into_record(), path)
}

/// Loads weights from `path` into `module` (whose structure must match).
pub fn load_module<B: Backend, M: Module<B>>(
    module: M,
    path: &Path,
    device: &B::Device,
) -> Result<M> {
    Ok(module.load_record(load_record::<B, M::Record>(path, device)?))
}

/// Saves a module's weights and its optimiser's state as `model.mpk` and `optim.mpk` in the
/// directory `dir` (a checkpoint of any module trained by a Burn optimiser).
pub fn save_trained<B, M, O>(dir: &Path, module: &M, optim: &O) -> Result<()>
where
    B: burn::tensor::backend::AutodiffBackend,
    M: burn::module::AutodiffModule<B>,
    O: burn::optim::Optimizer<M, B>,
{
    save_module(module, &dir.join("model.mpk"))?;
    save_record::<B, _>(optim.to_record(), &dir.join("optim.mpk"))
}

/// Loads what [`save_trained`] wrote in `dir` into `module` and `optim`.
pub fn load_trained<B, M, O>(dir: &Path, module: M, optim: O, device: &B::Device) -> Result<(M, O)>
where
    B: burn::tensor::backend::AutodiffBackend,
    M: burn::module::AutodiffModule<B>,
    O: burn::optim::Optimizer<M, B>,
{
    let module = load_module(module, &dir.join("model.mpk"), device)?;
    let optim = optim.load_record(load_record::<B, _>(&dir.join("optim.mpk"), device)?);
    Ok((module, optim))
}

/// The weights of `from` (on backend A) loaded into `into`, a module of the same structure on
/// backend B: how a parity test runs identical weights on two backends.
pub fn copy_weights<A: Backend, B: Backend, MA: Module<A>, MB: Module<B>>(
    from: &MA,
    into: MB,
    device: &B::Device,
) -> Result<MB> {
    let _ = from.devices(); // as `materialize`: the copied weights are those of `from`
    let fail = |e: burn::record::RecorderError| Error::Checkpoint {
        path: "<memory>".into(),
        reason: e.to_string(),
    };
    let bytes = Recorder::<A>::record(&CheckpointRecorder::new(), from.clone().into_record(), ())
        .map_err(fail)?;
    let record = Recorder::<B>::load(&CheckpointRecorder::new(), bytes, device).map_err(fail)?;
    Ok(into.load_record(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_log_writes_resumes_and_validates() {
        let _serial = crate::seed::serial();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        let mut log = MetricLog::create(&path, &["epoch", "loss"]).unwrap();
        log.push(&[1.0, 0.5]).unwrap();
        log.push(&[2.0, 0.25]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "epoch,loss\n1,0.5\n2,0.25\n"
        );
        assert!(log
            .push(&[3.0])
            .unwrap_err()
            .to_string()
            .contains("1 values for 2 columns"));

        let mut again = MetricLog::resume(&path, &["epoch", "loss"]).unwrap();
        assert_eq!(again.column("loss").unwrap(), vec![0.5, 0.25]);
        assert_eq!(again.curve("epoch", "loss"), vec![(1.0, 0.5), (2.0, 0.25)]);
        assert!(again.curve("epoch", "nope").is_empty());
        again.push(&[3.0, 0.125]).unwrap();
        assert_eq!(again.rows().len(), 3);
        let err = MetricLog::resume(&path, &["epoch", "elbo"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("metrics.csv") && err.contains("header"),
            "{err}"
        );

        std::fs::write(&path, "epoch,loss\n1,abc\n").unwrap();
        let err = MetricLog::resume(&path, &["epoch", "loss"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(MetricLog::resume(dir.path().join("none.csv"), &["a"])
            .unwrap()
            .rows()
            .is_empty());
    }

    #[test]
    fn nan_guard_names_metric_and_step() {
        let _serial = crate::seed::serial();
        assert_eq!(check_finite("loss", 1.5, 3).unwrap(), 1.5);
        let err = check_finite("loss", f64::NAN, 17).unwrap_err().to_string();
        assert!(err.contains("loss") && err.contains("step 17"), "{err}");
        assert!(check_finite("elbo", f64::NEG_INFINITY, 0).is_err());
    }

    #[cfg(feature = "ndarray")]
    #[test]
    fn a_clone_of_a_materialized_module_has_its_weights() {
        let _serial = crate::seed::serial();
        use burn::nn::{Linear, LinearConfig};
        use burn::tensor::Tensor;
        type B = crate::backend::NdArray;
        let device = Default::default();
        let weights = |m: &Linear<B>| {
            m.forward(Tensor::<B, 2>::ones([1, 4], &device))
                .into_data()
                .to_vec::<f32>()
                .unwrap()
        };
        // Lazily initialised: the clone draws its own weights when first used.
        let lazy: Linear<B> = LinearConfig::new(4, 3).init(&device);
        let copy = lazy.clone();
        assert_ne!(weights(&copy), weights(&lazy));
        let eager = materialize::<B, Linear<B>>(LinearConfig::new(4, 3).init(&device));
        assert_eq!(weights(&eager.clone()), weights(&eager));
    }

    #[cfg(all(feature = "ndarray", feature = "flex"))]
    #[test]
    fn weights_copy_across_backends() {
        let _serial = crate::seed::serial();
        use burn::nn::{Linear, LinearConfig};
        use burn::tensor::Tensor;
        let (cpu, flex) = (Default::default(), Default::default());
        let a: Linear<crate::backend::NdArray> = LinearConfig::new(3, 2).init(&cpu);
        let b: Linear<crate::backend::Flex> = LinearConfig::new(3, 2).init(&flex);
        let b = copy_weights(&a, b, &flex).unwrap();
        let ya = a.forward(Tensor::<_, 2>::ones([1, 3], &cpu)).into_data();
        let yb = b.forward(Tensor::<_, 2>::ones([1, 3], &flex)).into_data();
        assert_eq!(ya.to_vec::<f32>().unwrap(), yb.to_vec::<f32>().unwrap());
    }

    #[cfg(feature = "ndarray")]
    #[test]
    fn checkpoint_round_trip_and_bad_file() {
        let _serial = crate::seed::serial();
        use burn::nn::{Linear, LinearConfig};
        type B = crate::backend::NdArray;
        let device = Default::default();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.mpk");
        let a: Linear<B> = LinearConfig::new(3, 2).init(&device);
        save_module(&a, &path).unwrap();
        let b: Linear<B> = LinearConfig::new(3, 2).init(&device);
        assert_ne!(a.weight.val().into_data(), b.weight.val().into_data());
        let b = load_module(b, &path, &device).unwrap();
        assert_eq!(a.weight.val().into_data(), b.weight.val().into_data());
        assert_eq!(
            a.bias.as_ref().unwrap().val().into_data(),
            b.bias.as_ref().unwrap().val().into_data()
        );

        // A corrupt checkpoint is an error naming the file, not a panic.
        std::fs::write(&path, b"not a checkpoint").unwrap();
        let c: Linear<B> = LinearConfig::new(3, 2).init(&device);
        let err = load_module(c, &path, &device).unwrap_err().to_string();
        assert!(err.contains("model.mpk"), "{err}");
        let err = load_module(
            LinearConfig::new(3, 2).init::<B>(&device),
            &dir.path().join("x"),
            &device,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/x"), "{err}");
    }
}
