//! The benchmark harness: each workload times `steps` repetitions of one step after warm-up
//! and reports the median, plus its quality figures.

mod classifier;
pub mod compare;
mod diffusion;
mod ebm;
mod gan;
mod mnist_load;
mod regression;
mod vae;

use gdl::core::backend::BackendKind;
use std::time::Instant;

/// What a workload measured.
pub struct Report {
    /// Median milliseconds of one step.
    pub ms_per_step: f64,
    /// Timed steps.
    pub steps: usize,
    /// Named figures (throughput, quality).
    pub metrics: Vec<(&'static str, f64)>,
}

/// A named workload.
pub struct Workload {
    pub name: &'static str,
    pub about: &'static str,
    pub run: fn(BackendKind) -> anyhow::Result<Report>,
}

/// Every workload, in the order `bench` runs them.
pub const WORKLOADS: &[Workload] = &[Workload {
    name: "mnist-load",
    about: "decode the 10,000 t10k IDX digits and batch one epoch (batch 128) onto the device; a step is one batch",
    run: mnist_load::run,
}, Workload {
    name: "regression",
    about: "OLS, Ridge and Lasso (sklearn alpha 1e-3) on 20,000 points, degree-12 polynomial (91 columns); a step is the three fits",
    run: regression::run,
}, Workload {
    name: "mlp",
    about: "one ADAM step of the MLP 784-512-256-10 (ReLU, cross-entropy) at batch 128",
    run: classifier::run_mlp,
}, Workload {
    name: "cnn",
    about: "one ADAM step of PyTorch's MNIST example CNN at batch 64",
    run: classifier::run_cnn,
}, Workload {
    name: "vae",
    about: "one ADAM step of the MLP VAE 784-400-20 (Bernoulli decoder) at batch 128",
    run: vae::run,
}, Workload {
    name: "rbm",
    about: "one CD-1 update of a binary RBM 784 x 256 (momentum, weight decay) at batch 64",
    run: ebm::run_rbm,
}, Workload {
    name: "ebm",
    about: "one training step of the Langevin EBM (60 SGLD steps, contrastive loss, ADAM) at batch 64",
    run: ebm::run_ebm,
}, Workload {
    name: "dcgan",
    about: "one D step + one G step of the DCGAN (non-saturating loss, Adam β₁ = 0.5) at batch 64",
    run: gan::run,
}, Workload {
    name: "ddpm",
    about: "one ADAM step of the DDPM U-Net (0.8 M parameters, L_simple) at batch 64; sampling cost per 100 digits",
    run: diffusion::run,
}];

/// Runs the named workloads (all when empty) on `backend` and prints one line each.
pub fn run(names: &[String], backend: BackendKind, json: bool) -> anyhow::Result<()> {
    for n in names {
        if !WORKLOADS.iter().any(|w| w.name == n) {
            let known: Vec<_> = WORKLOADS.iter().map(|w| w.name).collect();
            anyhow::bail!("unknown workload `{n}`; known: {}", known.join(", "));
        }
    }
    for w in WORKLOADS
        .iter()
        .filter(|w| names.is_empty() || names.iter().any(|n| n == w.name))
    {
        let r = (w.run)(backend)?;
        if json {
            let metrics: serde_json::Map<String, serde_json::Value> = r
                .metrics
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                .collect();
            println!(
                "{}",
                serde_json::json!({"workload": w.name, "backend": backend.name(), "ms_per_step": r.ms_per_step, "steps": r.steps, "metrics": metrics})
            );
        } else {
            let metrics: Vec<String> = r
                .metrics
                .iter()
                .map(|(k, v)| format!("{k}={v:.4}"))
                .collect();
            println!(
                "{} {} ms_per_step={:.4} {}",
                w.name,
                backend.name(),
                r.ms_per_step,
                metrics.join(" ")
            );
        }
    }
    Ok(())
}

/// Median of a non-empty sample.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        0.5 * (xs[n / 2 - 1] + xs[n / 2])
    }
}

/// Median milliseconds per call of `step` over `steps` timed calls after `warmup` untimed
/// ones; `step` is told whether its call is the final one (to read a metric off it once).
pub fn median_step_ms(warmup: usize, steps: usize, mut step: impl FnMut(bool)) -> f64 {
    let total = warmup + steps;
    let ms = (0..total)
        .map(|i| time_ms(|| step(i + 1 == total)).1)
        .skip(warmup)
        .collect();
    median(ms)
}

/// Milliseconds `f` takes.
pub fn time_ms<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed().as_secs_f64() * 1e3)
}

/// Median milliseconds of the library's own training step, `TrainStep::step` (forward and
/// update, its figures left unread), on one fixed batch, waiting for the device after each;
/// returns the last step's figures too, read and checked to be finite.
pub fn median_train_step_ms<B, T>(
    trainer: T,
    batch: T::Batch,
    warmup: usize,
    steps: usize,
    device: &B::Device,
) -> anyhow::Result<(f64, gdl::core::train::Figures)>
where
    B: gdl::burn::tensor::backend::Backend,
    T: gdl::core::train::TrainStep<B>,
    T::Batch: Clone,
{
    let mut slot = Some(trainer);
    let (mut last, mut error) = (None, None);
    let at = gdl::core::train::StepInfo {
        epoch: 1,
        step: 1,
        steps_per_epoch: 1,
    };
    let ms = median_step_ms(warmup, steps, |_| {
        let Some(trainer) = slot.take() else { return };
        match trainer.step(batch.clone(), at) {
            Ok((next, f)) => {
                slot = Some(next);
                last = Some(f);
            }
            Err(e) => error = Some(e),
        }
        let _ = B::sync(device);
    });
    if let Some(e) = error {
        return Err(e.into());
    }
    let figures = last.map(|f| f.read()).unwrap_or_default();
    figures.check_finite(at.step)?;
    Ok((ms, figures))
}
