//! The one epoch driver every model family trains through.
//!
//! A family supplies a [`TrainStep`]: the forward pass, loss and gradients of one mini-batch
//! ([`TrainStep::forward`], returning its named [`StepFigures`], still on the device, and the
//! update it would apply), the update itself ([`TrainStep::apply`]: the optimiser step), an
//! evaluation after each epoch, and how its state is checkpointed. [`fit`] owns the rest:
//!
//! 1. epochs over a [`Batches`] source whose shuffle of epoch e is seeded by (seed, e), with the
//!    backend RNG re-seeded by (seed, e) at the start of every epoch, so a resumed run draws the
//!    same numbers as an uninterrupted one;
//! 2. reading the figures: not after every step (a read waits until the device has finished
//!    the step, and a GPU would then idle while the host prepares the next one) but every
//!    [`READ_INTERVAL`] of wall-clock time, at most [`MAX_UNREAD_STEPS`] steps apart, and at the
//!    end of each epoch, all unread steps in one device read;
//! 3. the NaN/Inf guard on every step's figures as they are read, naming the first step that
//!    is not finite: training stops there, *before* the epoch's checkpoint, so a non-finite
//!    loss never reaches a checkpoint (the weights in memory, updated by the steps since the
//!    last read, are dropped);
//! 4. the progress bar with the last read figures, step and epoch numbering, wall-clock timing;
//! 5. the history (epoch means of the step figures, the evaluation, seconds), and with a
//!    [`RunDir`] the checkpoint and then the metrics CSV after every epoch;
//! 6. a callback at the end of each epoch (sample grids, printed lines).

use crate::run::{check_finite, Progress};
use crate::run_dir::RunDir;
use crate::seed::derive_seed;
use crate::Result;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use std::path::Path;
use std::time::{Duration, Instant};

/// How often [`fit`] reads the figures of the steps run since its last read (and refreshes
/// the progress bar with them).
pub const READ_INTERVAL: Duration = Duration::from_millis(500);

/// The most steps [`fit`] runs without reading their figures: a device that computes slower
/// than the host enqueues is not let run far ahead of the NaN guard.
pub const MAX_UNREAD_STEPS: usize = 64;

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

/// A step's named figures as the step left them: on the device (the usual case, so that the
/// step does not wait for the device) or already on the host (a family that computes its
/// cost there). [`StepFigures::read`] and [`read_steps`] bring them to the host.
#[derive(Clone, Debug)]
pub struct StepFigures<B: Backend> {
    names: Vec<&'static str>,
    values: Values<B>,
}

#[derive(Clone, Debug)]
enum Values<B: Backend> {
    Device(Tensor<B, 1>),
    Host(Vec<f64>),
}

impl<B: Backend> StepFigures<B> {
    /// Figures on the device, each a tensor of one element (detach them from any graph).
    pub fn on_device(pairs: impl IntoIterator<Item = (&'static str, Tensor<B, 1>)>) -> Self {
        let (names, values): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
        if values.is_empty() {
            return Self::on_host([]);
        }
        Self::stacked(names, Tensor::cat(values, 0))
    }

    /// Figures named `names`, the elements of `values` in order (on the device). One value
    /// per name: [`read_steps`] splits a read of many steps by the names' counts.
    pub fn stacked(names: Vec<&'static str>, values: Tensor<B, 1>) -> Self {
        assert_eq!(names.len(), values.dims()[0], "one value per figure name");
        StepFigures {
            names,
            values: Values::Device(values),
        }
    }

    /// Figures the step computed on the host.
    pub fn on_host(pairs: impl IntoIterator<Item = (&'static str, f64)>) -> Self {
        let (names, values) = pairs.into_iter().unzip();
        StepFigures {
            names,
            values: Values::Host(values),
        }
    }

    /// These figures and `name` = `value` (a tensor of one element) after them.
    pub fn with(self, name: &'static str, value: Tensor<B, 1>) -> Self {
        let mut names = self.names;
        names.push(name);
        let values = match self.values {
            Values::Device(v) => Values::Device(Tensor::cat(vec![v, value], 0)),
            Values::Host(mut v) => {
                v.extend(crate::tensor::to_f64(value));
                Values::Host(v)
            }
        };
        StepFigures { names, values }
    }

    /// The figures on the host: one device read.
    pub fn read(self) -> Figures {
        read_steps(vec![self]).pop().expect("one step in, one out")
    }
}

/// The figures of many steps, in order, with one device read for all of them.
pub fn read_steps<B: Backend>(steps: Vec<StepFigures<B>>) -> Vec<Figures> {
    let on_device: Vec<Tensor<B, 1>> = steps
        .iter()
        .filter_map(|s| match &s.values {
            Values::Device(v) => Some(v.clone()),
            Values::Host(_) => None,
        })
        .collect();
    let mut read = if on_device.is_empty() {
        Vec::new()
    } else {
        crate::tensor::to_f64(Tensor::cat(on_device, 0))
    }
    .into_iter();
    steps
        .into_iter()
        .map(|s| {
            let values: Vec<f64> = match s.values {
                Values::Device(_) => read.by_ref().take(s.names.len()).collect(),
                Values::Host(v) => v,
            };
            Figures::new(s.names.into_iter().zip(values))
        })
        .collect()
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
    /// named figures (left on the device: no read) and the update.
    fn forward(&mut self, batch: Self::Batch, at: StepInfo) -> (StepFigures<B>, Self::Update);

    /// Applies the update: the optimiser step.
    fn apply(self, update: Self::Update, at: StepInfo) -> Self;

    /// One step: [`TrainStep::forward`], then [`TrainStep::apply`]; the figures are returned
    /// unread (the driver reads and checks them). Benchmarks time exactly this, then wait for
    /// the device.
    fn step(mut self, batch: Self::Batch, at: StepInfo) -> Result<(Self, StepFigures<B>)> {
        let (figures, update) = self.forward(batch, at);
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
        let mut epoch_figures = EpochFigures::default();
        let mut unread = Vec::new();
        let mut last_read = Instant::now();
        for (i, batch) in data.epoch(epoch as u64, device).enumerate() {
            let at = StepInfo {
                epoch,
                step: (epoch - 1) * steps_per_epoch + i + 1,
                steps_per_epoch,
            };
            let (next, figures) = trainer.step(batch, at)?;
            trainer = next;
            unread.push((at.step, figures));
            if unread.len() >= MAX_UNREAD_STEPS || last_read.elapsed() >= READ_INTERVAL {
                epoch_figures.read(std::mem::take(&mut unread))?;
                last_read = Instant::now();
                if let (Some(p), Some(last)) = (&progress, &epoch_figures.last) {
                    p.message(last.describe());
                }
            }
            if let Some(p) = &progress {
                p.inc(1);
            }
        }
        epoch_figures.read(unread)?;
        if let Some(p) = &progress {
            p.finish();
        }
        let train = epoch_figures.means();
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

/// The step figures read so far in an epoch: their sums, their count and the last step's.
#[derive(Default)]
struct EpochFigures {
    sums: Option<Figures>,
    count: usize,
    last: Option<Figures>,
}

impl EpochFigures {
    /// Reads the figures of `steps` (global step numbers with their figures) in one device
    /// read, checks each step's in order and adds them up.
    fn read<B: Backend>(&mut self, steps: Vec<(usize, StepFigures<B>)>) -> Result<()> {
        let (numbers, figures): (Vec<usize>, Vec<_>) = steps.into_iter().unzip();
        for (step, figures) in numbers.into_iter().zip(read_steps(figures)) {
            figures.check_finite(step)?;
            self.count += 1;
            self.sums = Some(match self.sums.take() {
                None => figures.clone(),
                Some(s) => Figures(
                    s.0.into_iter()
                        .zip(figures.values())
                        .map(|((n, a), b)| (n, a + b))
                        .collect(),
                ),
            });
            self.last = Some(figures);
        }
        Ok(())
    }

    /// The epoch means.
    fn means(self) -> Figures {
        let count = self.count.max(1) as f64;
        self.sums.map_or_else(Figures::default, |s| {
            Figures(s.0.into_iter().map(|(n, v)| (n, v / count)).collect())
        })
    }
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

        fn forward(&mut self, (x, y): Self::Batch, at: StepInfo) -> (StepFigures<B>, Tensor<B, 1>) {
            // C = mean (w x − y)², ∂C/∂w = 2 mean((w x − y) x)
            let x = x.flatten::<1>(0, 1);
            let r = x.clone().mul(self.w.clone()) - y.flatten::<1>(0, 1);
            let cost = r.clone().powi_scalar(2).mean();
            let grad = (r * x).mean().mul_scalar(2.0);
            let noise = Tensor::random([1], Distribution::Normal(0.0, 0.01), &grad.device());
            let cost = if self.poison == Some(at.step) {
                cost.mul_scalar(f32::NAN)
            } else {
                cost
            };
            (StepFigures::on_device([("cost", cost)]), grad + noise)
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
    fn a_non_finite_figure_stops_training_before_the_next_checkpoint() {
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
        // The toy's steps take microseconds: epoch 2's four are read together at its end,
        // and the error still names the step whose figure was NaN.
        let err = fit(toy, &data(), &opts, &device, |r, t| {
            last = Some((r.epoch, t.applied));
            Ok(())
        })
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("cost") && err.contains("step 7"), "{err}");
        assert_eq!(last, Some((1, 4)), "epoch 1 ran whole, epoch 2 never ended");
        // The last good checkpoint (epoch 1) is what remains.
        assert!(dir.path().join("checkpoints/epoch-0001/w.txt").exists());
        assert!(!dir.path().join("checkpoints/epoch-0002").exists());
    }

    #[test]
    fn step_figures_from_the_device_and_the_host_read_back_in_order() {
        let device = Default::default();
        let t = |v: f32| Tensor::<B, 1>::from_floats([v], &device);
        let steps = vec![
            StepFigures::on_device([("loss", t(0.5)), ("kl", t(2.0))]),
            StepFigures::on_host([("loss", 0.25), ("kl", 4.0)]),
            StepFigures::stacked(
                vec!["loss", "kl"],
                Tensor::<B, 1>::from_floats([1.5, -3.0], &device),
            ),
            StepFigures::on_device([("d_loss", t(1.0))]).with("g_loss", t(7.0)),
            StepFigures::on_host([("cost", 1.0)]).with("g_loss", t(8.0)),
        ];
        let read = read_steps(steps);
        assert_eq!(
            read,
            vec![
                Figures::new([("loss", 0.5), ("kl", 2.0)]),
                Figures::new([("loss", 0.25), ("kl", 4.0)]),
                Figures::new([("loss", 1.5), ("kl", -3.0)]),
                Figures::new([("d_loss", 1.0), ("g_loss", 7.0)]),
                Figures::new([("cost", 1.0), ("g_loss", 8.0)]),
            ]
        );
        assert_eq!(
            StepFigures::<B>::on_device([("x", t(3.0))]).read(),
            Figures::new([("x", 3.0)])
        );
        assert_eq!(read_steps::<B>(Vec::new()), Vec::<Figures>::new());
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
