//! The one epoch driver every model family trains through.
//!
//! A family supplies a [`TrainStep`]: the forward pass, loss and gradients of one mini-batch
//! ([`TrainStep::forward`], returning its named [`Figures`] and the update it would apply), the
//! update itself ([`TrainStep::apply`]: the optimiser step), an evaluation after each epoch,
//! and how its state is checkpointed. [`fit`] owns the rest:
//!
//! 1. epochs over a [`Batches`] source whose shuffle of epoch e is seeded by (seed, e), with the
//!    backend RNG re-seeded by (seed, e) at the start of every epoch, so a resumed run draws the
//!    same numbers as an uninterrupted one;
//! 2. the NaN/Inf guard on every figure, checked *before* the update is applied, so a
//!    non-finite loss never reaches the weights or a checkpoint;
//! 3. the progress bar with the running figures, step and epoch numbering, wall-clock timing;
//! 4. the history (epoch means of the step figures, the evaluation, seconds), and with a
//!    [`RunDir`] the checkpoint and then the metrics CSV after every epoch;
//! 5. a callback at the end of each epoch (sample grids, printed lines).

use crate::run::{check_finite, Progress};
use crate::run_dir::RunDir;
use crate::seed::derive_seed;
use crate::Result;
use burn::tensor::backend::Backend;
use std::path::Path;

/// The step of `GDL_INJECT_NAN_AT_STEP` (read once), if set.
fn injected_nan_step() -> Option<usize> {
    static STEP: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *STEP.get_or_init(|| {
        std::env::var("GDL_INJECT_NAN_AT_STEP")
            .ok()
            .and_then(|v| v.parse().ok())
    })
}

/// Named figures of a step or an evaluation, in a fixed order: e.g. `[("loss", 0.31)]`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Figures(#[serde(with = "exact")] pub Vec<(String, f64)>);

/// Figures in JSON with each value as its shortest round-trip decimal string: serde_json's
/// default number parser may miss the last bit, and a resumed run's history must equal the
/// uninterrupted one's.
mod exact {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(pairs: &[(String, f64)], s: S) -> Result<S::Ok, S::Error> {
        let text: Vec<(&str, String)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_string()))
            .collect();
        text.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, f64)>, D::Error> {
        let text = Vec::<(String, String)>::deserialize(d)?;
        text.into_iter()
            .map(|(n, v)| match v.parse() {
                Ok(x) => Ok((n, x)),
                Err(_) => Err(serde::de::Error::custom(format!(
                    "{n}: `{v}` is not a number"
                ))),
            })
            .collect()
    }
}

impl Figures {
    /// Figures from (name, value) pairs.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, f64)>) -> Self {
        Figures(pairs.into_iter().map(|(n, v)| (n.to_string(), v)).collect())
    }

    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|(n, _)| n.as_str())
    }

    /// The values, in order.
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.0.iter().map(|&(_, v)| v)
    }

    /// Every figure finite, else [`crate::Error::NonFinite`] naming the first that is not.
    /// With `GDL_INJECT_NAN_AT_STEP=n` in the environment, the figures of global step `n`
    /// read as NaN, as a diverging loss's would: the programs' tests exercise the guard's path
    /// (error, update skipped, last good checkpoint kept) end to end through it.
    pub fn check_finite(&self, step: usize) -> Result<()> {
        let injected = injected_nan_step() == Some(step);
        for (name, value) in &self.0 {
            check_finite(name, if injected { f64::NAN } else { *value }, step)?;
        }
        Ok(())
    }

    /// `name value` pairs for a progress message.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self.0.iter().map(|(n, v)| format!("{n} {v:.4}")).collect();
        parts.join(" ")
    }
}

/// A source of mini-batches, one epoch at a time.
pub trait Batches<B: Backend> {
    /// What one step consumes.
    type Batch;
    /// Batches per epoch.
    fn num_batches(&self) -> usize;
    /// The batches of epoch `epoch` (1-based in training), on `device`; a shuffling source
    /// draws epoch e's order from (its seed, e).
    fn epoch(&self, epoch: u64, device: &B::Device) -> impl Iterator<Item = Self::Batch>;
}

/// Where a step stands: its epoch (1-based), its global step number (1-based) and how many
/// steps an epoch has (for schedules such as a KL warm-up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepInfo {
    /// The epoch, 1-based.
    pub epoch: usize,
    /// The global step number, 1-based.
    pub step: usize,
    /// Steps in one epoch.
    pub steps_per_epoch: usize,
}

/// One model family's training: its step, its evaluation and its checkpoint.
pub trait TrainStep<B: Backend>: Sized {
    /// What one step consumes (e.g. an MNIST batch, or a tensor of visible units).
    type Batch;
    /// What [`TrainStep::forward`] computes and [`TrainStep::apply`] applies (gradients).
    type Update;

    /// Forward pass, loss and gradients of one mini-batch, nothing applied yet: the step's
    /// named figures (one device read) and the update.
    fn forward(&mut self, batch: Self::Batch, at: StepInfo) -> (Figures, Self::Update);

    /// Applies the update: the optimiser step.
    fn apply(self, update: Self::Update, at: StepInfo) -> Self;

    /// One step: [`TrainStep::forward`], the NaN/Inf guard on its figures, then
    /// [`TrainStep::apply`]. Benchmarks time exactly this.
    fn step(mut self, batch: Self::Batch, at: StepInfo) -> Result<(Self, Figures)> {
        let (figures, update) = self.forward(batch, at);
        figures.check_finite(at.step)?;
        Ok((self.apply(update, at), figures))
    }

    /// Figures on held-out data after epoch `epoch` (none by default).
    fn evaluate(&self, _epoch: usize) -> Result<Figures> {
        Ok(Figures::default())
    }

    /// Writes the training state (model and optimiser records) into the directory `dir`.
    fn save(&self, dir: &Path) -> Result<()>;

    /// The training state read back from `dir`, as [`TrainStep::save`] wrote it.
    fn load(self, dir: &Path, device: &B::Device) -> Result<Self>;
}

/// One epoch of the history.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Epoch means of the step figures.
    pub train: Figures,
    /// The evaluation after the epoch.
    pub eval: Figures,
    /// Wall-clock seconds of the epoch, evaluation included.
    pub seconds: f64,
}

impl EpochReport {
    /// A figure by name: `train_<name>` for a step figure's mean, an evaluation's own name.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name.strip_prefix("train_") {
            Some(n) if self.train.get(n).is_some() => self.train.get(n),
            _ => self.eval.get(name),
        }
    }

    /// The metrics CSV header: `epoch`, `train_<figure>`..., the evaluation's names, `seconds`.
    pub fn columns(&self) -> Vec<String> {
        let mut columns = vec!["epoch".to_string()];
        columns.extend(self.train.names().map(|n| format!("train_{n}")));
        columns.extend(self.eval.names().map(str::to_string));
        columns.push("seconds".into());
        columns
    }

    /// The metrics CSV row, in the order of [`EpochReport::columns`].
    pub fn row(&self) -> Vec<f64> {
        let mut row = vec![self.epoch as f64];
        row.extend(self.train.values());
        row.extend(self.eval.values());
        row.push(self.seconds);
        row
    }
}

/// How [`fit`] runs: the last epoch, the seed, and where (if anywhere) the run is recorded.
#[derive(Clone, Copy, Debug)]
pub struct FitOptions<'a> {
    /// Train until this many epochs are done.
    pub epochs: usize,
    /// Seeds the shuffles and the backend RNG of every epoch.
    pub seed: u64,
    /// The run directory for checkpoints and metrics (none: nothing is written).
    pub run: Option<&'a RunDir>,
    /// Draw a progress bar per epoch (off for runs of many tiny epochs, such as mini-batch
    /// SGD on a regression problem).
    pub progress: bool,
}

/// Trains `trainer` on `data` for epochs `first..=fit.epochs`, where `first` is one past the
/// last checkpoint when `fit.run` resumes (else 1); returns the trainer and the whole history
/// (the resumed epochs' rows included). `on_epoch` sees each epoch's report and the trainer.
pub fn fit<B, T, D>(
    mut trainer: T,
    data: &D,
    fit: &FitOptions,
    device: &B::Device,
    mut on_epoch: impl FnMut(&EpochReport, &T) -> Result<()>,
) -> Result<(T, Vec<EpochReport>)>
where
    B: Backend,
    T: TrainStep<B>,
    D: Batches<B, Batch = T::Batch>,
{
    let mut history = Vec::new();
    if let Some(run) = fit.run {
        (trainer, history) = run.restore(trainer, device)?;
    }
    let steps_per_epoch = data.num_batches();
    for epoch in history.len() + 1..=fit.epochs {
        let start = std::time::Instant::now();
        B::seed(device, epoch_seed(fit.seed, epoch));
        let progress = fit.progress.then(|| {
            Progress::new(
                steps_per_epoch as u64,
                &format!("epoch {epoch}/{}", fit.epochs),
            )
        });
        let mut sums: Option<Figures> = None;
        let mut count = 0usize;
        for (i, batch) in data.epoch(epoch as u64, device).enumerate() {
            let at = StepInfo {
                epoch,
                step: (epoch - 1) * steps_per_epoch + i + 1,
                steps_per_epoch,
            };
            let (next, figures) = trainer.step(batch, at)?;
            trainer = next;
            if let Some(p) = &progress {
                p.inc(1);
                p.message(figures.describe());
            }
            count += 1;
            sums = Some(match sums {
                None => figures,
                Some(s) => Figures(
                    s.0.into_iter()
                        .zip(figures.values())
                        .map(|((n, a), b)| (n, a + b))
                        .collect(),
                ),
            });
        }
        if let Some(p) = &progress {
            p.finish();
        }
        let train = sums.map_or_else(Figures::default, |s| {
            Figures(
                s.0.into_iter()
                    .map(|(n, v)| (n, v / count.max(1) as f64))
                    .collect(),
            )
        });
        let eval = trainer.evaluate(epoch)?;
        let report = EpochReport {
            epoch,
            train,
            eval,
            seconds: start.elapsed().as_secs_f64(),
        };
        history.push(report);
        if let Some(run) = fit.run {
            // The checkpoint first, then the metrics row: a crash between the two resumes
            // from the checkpoint, whose history rewrites the metrics.
            run.save_checkpoint(&trainer, &history)?;
            run.write_metrics(&history)?;
        }
        on_epoch(history.last().expect("just pushed"), &trainer)?;
    }
    Ok((trainer, history))
}

/// The seed of the backend RNG in epoch `epoch`: a stream of `seed` apart from the shuffles'.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    derive_seed(derive_seed(seed, epoch as u64), 1)
}

#[cfg(all(test, feature = "ndarray"))]
mod tests {
    use super::*;
    use crate::batches::TensorBatches;
    use burn::tensor::{Distribution, Tensor};

    type B = crate::backend::NdArray;

    /// Least squares y ≈ w x by noisy gradient steps: w ← w − η (∂C/∂w + ξ), η = 0.5, ξ drawn from the
    /// backend RNG, so a resumed run agrees only if the driver re-seeds it. `poison` makes the
    /// figures of that step NaN.
    struct Toy {
        w: Tensor<B, 1>,
        applied: usize,
        poison: Option<usize>,
    }

    impl Toy {
        fn new() -> Self {
            Toy {
                w: Tensor::zeros([1], &Default::default()),
                applied: 0,
                poison: None,
            }
        }
        fn w(&self) -> f32 {
            self.w.clone().into_scalar()
        }
    }

    impl TrainStep<B> for Toy {
        type Batch = (Tensor<B, 2>, Tensor<B, 2>);
        type Update = Tensor<B, 1>;

        fn forward(&mut self, (x, y): Self::Batch, at: StepInfo) -> (Figures, Tensor<B, 1>) {
            // C = mean (w x − y)², ∂C/∂w = 2 mean((w x − y) x)
            let x = x.flatten::<1>(0, 1);
            let r = x.clone().mul(self.w.clone()) - y.flatten::<1>(0, 1);
            let cost = r.clone().powi_scalar(2).mean().into_scalar() as f64;
            let grad = (r * x).mean().mul_scalar(2.0);
            let noise = Tensor::random([1], Distribution::Normal(0.0, 0.01), &grad.device());
            let cost = if self.poison == Some(at.step) {
                f64::NAN
            } else {
                cost
            };
            (Figures::new([("cost", cost)]), grad + noise)
        }

        fn apply(mut self, grad: Tensor<B, 1>, _at: StepInfo) -> Self {
            self.w = self.w - grad.mul_scalar(0.5);
            self.applied += 1;
            self
        }

        fn evaluate(&self, _epoch: usize) -> Result<Figures> {
            Ok(Figures::new([("w", self.w() as f64)]))
        }

        fn save(&self, dir: &Path) -> Result<()> {
            crate::fs::atomic_write(&dir.join("w.txt"), self.w().to_string().as_bytes())
        }

        fn load(mut self, dir: &Path, device: &burn::tensor::Device<B>) -> Result<Self> {
            let path = dir.join("w.txt");
            let text = std::fs::read_to_string(&path).map_err(|e| crate::Error::io(&path, e))?;
            let w: f32 = text
                .parse()
                .map_err(|_| crate::Error::invalid("w.txt", text))?;
            self.w = Tensor::from_floats([w], device);
            Ok(self)
        }
    }

    /// y = 3 x on 20 points, in batches of 5 shuffled by seed 1.
    fn data() -> TensorBatches<B> {
        let device = Default::default();
        let x: Tensor<B, 2> = Tensor::<B, 1, burn::tensor::Int>::arange(0..20, &device)
            .float()
            .div_scalar(20.0)
            .reshape([20, 1]);
        TensorBatches::new(x.clone(), 5)
            .with_targets(x.mul_scalar(3.0))
            .unwrap()
            .shuffle(1)
    }

    fn without_seconds(history: &[EpochReport]) -> Vec<EpochReport> {
        history
            .iter()
            .map(|r| EpochReport {
                seconds: 0.0,
                ..r.clone()
            })
            .collect()
    }

    #[test]
    fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
        let _serial = crate::seed::serial();
        let device = Default::default();
        let dir = tempfile::tempdir().unwrap();
        let config = serde_json::json!({"lr": 0.1, "model": {"width": 1}});
        let plain = FitOptions {
            epochs: 4,
            seed: 9,
            run: None,
            progress: true,
        };
        let (whole, whole_history) =
            fit(Toy::new(), &data(), &plain, &device, |_, _| Ok(())).unwrap();
        assert!((whole.w() - 3.0).abs() < 0.1, "w = {} learns 3", whole.w());

        // Two epochs, then a new process (a fresh trainer) resumes to four.
        let run = RunDir::open(dir.path(), &config, false).unwrap();
        let first = FitOptions {
            epochs: 2,
            run: Some(&run),
            ..plain
        };
        let mut seen = Vec::new();
        fit(Toy::new(), &data(), &first, &device, |r, _| {
            seen.push(r.epoch);
            Ok(())
        })
        .unwrap();
        let run = RunDir::open(dir.path(), &config, true).unwrap();
        let rest = FitOptions {
            epochs: 4,
            run: Some(&run),
            ..plain
        };
        fit(Toy::new(), &data(), &rest, &device, |r, _| {
            seen.push(r.epoch);
            Ok(())
        })
        .map(|(resumed, history)| {
            assert_eq!(resumed.w(), whole.w());
            assert_eq!(without_seconds(&history), without_seconds(&whole_history));
        })
        .unwrap();
        assert_eq!(seen, vec![1, 2, 3, 4]);

        // The metrics: columns from the figures, one row per epoch; one checkpoint is kept.
        let csv = std::fs::read_to_string(run.metrics_path()).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("epoch,train_cost,w,seconds"));
        assert_eq!(lines.count(), 4);
        let kept: Vec<_> = std::fs::read_dir(dir.path().join("checkpoints"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(kept, vec!["epoch-0004"]);

        // A different config is an error naming the field; a new run clears the checkpoints.
        let other = serde_json::json!({"lr": 0.1, "model": {"width": 2}});
        let err = RunDir::open(dir.path(), &other, true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`model.width`: saved 1, now 2"), "{err}");
        RunDir::open(dir.path(), &other, false).unwrap();
        assert!(!dir.path().join("checkpoints").exists());
    }

    #[test]
    fn a_non_finite_figure_stops_before_its_update_is_applied() {
        let _serial = crate::seed::serial();
        let device = Default::default();
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path(), &serde_json::json!({}), false).unwrap();
        let toy = Toy {
            poison: Some(7), // the third step of epoch 2 (4 steps an epoch)
            ..Toy::new()
        };
        let opts = FitOptions {
            epochs: 3,
            seed: 0,
            run: Some(&run),
            progress: true,
        };
        let mut last = None;
        let err = fit(toy, &data(), &opts, &device, |r, t| {
            last = Some((r.epoch, t.applied));
            Ok(())
        })
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("cost") && err.contains("step 7"), "{err}");
        assert_eq!(last, Some((1, 4)), "epoch 1 ran whole");
        // The last good checkpoint (epoch 1) is what remains.
        assert!(dir.path().join("checkpoints/epoch-0001/w.txt").exists());
        // Without the driver: the step refuses the NaN before `apply`.
        let toy = Toy {
            poison: Some(1),
            ..Toy::new()
        };
        let batch = data().epoch(1, &device).next().unwrap();
        let at = StepInfo {
            epoch: 1,
            step: 1,
            steps_per_epoch: 4,
        };
        assert!(toy.step(batch, at).is_err());
    }

    #[test]
    fn figures_average_over_the_epoch_and_name_their_columns() {
        let report = EpochReport {
            epoch: 2,
            train: Figures::new([("loss", 0.5), ("kl", 2.0)]),
            eval: Figures::new([("test_loss", 0.75)]),
            seconds: 1.5,
        };
        assert_eq!(
            report.columns(),
            ["epoch", "train_loss", "train_kl", "test_loss", "seconds"]
        );
        assert_eq!(report.row(), vec![2.0, 0.5, 2.0, 0.75, 1.5]);
        assert_eq!(report.get("train_kl"), Some(2.0));
        assert_eq!(report.get("test_loss"), Some(0.75));
        assert_eq!(report.get("nope"), None);
        assert_eq!(report.train.describe(), "loss 0.5000 kl 2.0000");
    }
}
