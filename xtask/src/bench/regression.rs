//! Workload `regression`: n = 20,000 noisy points of the lecture's f(x0, x1), polynomial
//! degree 12 (90 standardised features + intercept = 91 columns); fits OLS, Ridge (sklearn
//! alpha = 1e-3, λ = alpha/n) and Lasso (alpha = 1e-3, λ = 2·alpha, tol 1e-6). A step is the
//! three fits; each fit's median ms and R² are reported. `bench/regression_sklearn.py` runs
//! the same fits in scikit-learn.

use super::{median, time_ms, Report};
use gdl::burn::tensor::backend::Backend;
use gdl::core::backend::BackendKind;
use gdl::regression::data::sample_lecture_function;
use gdl::regression::metrics::r2;
use gdl::regression::{
    polynomial_features, Fit, Lasso, LinearModel, Matrix, Ols, Ridge, Standardizer,
};

const N: usize = 20_000;
const DEGREE: usize = 12;
const ALPHA: f64 = 1e-3;
const REPEATS: usize = 5;

fn fits<B: Backend>(
    x: &Matrix,
    y: &[f64],
    device: &B::Device,
) -> anyhow::Result<[(f64, LinearModel, usize); 3]> {
    let (ols, ols_ms) = time_ms(|| Ols::default().fit_on::<B>(x, y, device));
    let ridge_cfg = Ridge::new(Ridge::lambda_from_sklearn_alpha(ALPHA, x.rows));
    let (ridge, ridge_ms) = time_ms(|| ridge_cfg.fit_on::<B>(x, y, device));
    let mut lasso_cfg = Lasso::new(Lasso::lambda_from_sklearn_alpha(ALPHA));
    lasso_cfg.tol = 1e-6;
    lasso_cfg.max_iter = 100_000;
    let (lasso, lasso_ms) = time_ms(|| lasso_cfg.fit_on::<B>(x, y, device));
    let lasso = lasso?;
    Ok([
        (ols_ms, ols?, 0),
        (ridge_ms, ridge?, 0),
        (lasso_ms, lasso.model, lasso.sweeps),
    ])
}

fn bench<B: Backend>(device: &B::Device) -> anyhow::Result<Report> {
    let (inputs, y) = sample_lecture_function(N, 0.1, 0);
    let features = polynomial_features(&inputs, DEGREE, false)?;
    let x = Standardizer::fit(&features)?.transform(&features)?;
    fits::<B>(&x, &y, device)?; // warm-up
    let mut ms = [Vec::new(), Vec::new(), Vec::new()];
    let mut last = None;
    for _ in 0..REPEATS {
        let out = fits::<B>(&x, &y, device)?;
        for k in 0..3 {
            ms[k].push(out[k].0);
        }
        last = Some(out);
    }
    let last = last.expect("REPEATS > 0");
    let totals: Vec<f64> = (0..REPEATS)
        .map(|i| ms[0][i] + ms[1][i] + ms[2][i])
        .collect();
    let mut metrics = Vec::new();
    for (k, name) in ["ols", "ridge", "lasso"].iter().enumerate() {
        let score = r2(&y, &last[k].1.predict(&x)?)?;
        let (ms_key, r2_key) = match *name {
            "ols" => ("ols_ms", "ols_r2"),
            "ridge" => ("ridge_ms", "ridge_r2"),
            _ => ("lasso_ms", "lasso_r2"),
        };
        metrics.push((ms_key, median(ms[k].clone())));
        metrics.push((r2_key, score));
    }
    metrics.push(("lasso_sweeps", last[2].2 as f64));
    Ok(Report {
        ms_per_step: median(totals),
        steps: REPEATS,
        metrics,
    })
}

pub fn run(backend: BackendKind) -> anyhow::Result<Report> {
    match backend {
        // The products run in f64 where the backend has it (NdArray, Flex), else in f32 (GPUs).
        BackendKind::NdArray => bench::<gdl::core::backend::NdArrayF64>(&Default::default()),
        BackendKind::Flex => bench::<gdl::core::backend::Flex>(&Default::default()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => bench::<gdl::core::backend::Wgpu>(&Default::default()),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => bench::<gdl::core::backend::Cuda>(&Default::default()),
        #[allow(unreachable_patterns)]
        other => Err(other.not_compiled().into()),
    }
}
