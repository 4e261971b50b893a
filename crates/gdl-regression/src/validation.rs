//! Choosing and judging a model: k-fold cross-validation and the bias-variance decomposition
//! by bootstrap.
//!
//! Bias-variance (the lecture's form): with B models f̂_b fitted on bootstrap resamples of the
//! training data and the test targets y, at each test point
//!   E[(y − f̂)²] = (y − E[f̂])² + Var[f̂],
//! averaged over the test points: error = bias² + variance, exactly, the expectations taken
//! over the B fits. (The noise σ² of the data is inside the "bias²" term here, since y is
//! the noisy target.)

use crate::design::Matrix;
use crate::linear::LinearModel;
use crate::metrics::mse;
use crate::normal::check_data;
use gdl_core::seed::host_rng;
use gdl_core::{Error, Result};
use rand::seq::SliceRandom;
use rand::Rng;

/// k (train, test) index pairs of a seeded shuffle of 0..n; the folds differ in size by at
/// most one and together cover every index once as test data.
pub fn k_fold(n: usize, k: usize, seed: u64) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    if k < 2 || k > n {
        return Err(Error::invalid(
            "k (folds)",
            format!("{k} folds for {n} data points: need 2 <= k <= n"),
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut host_rng(seed));
    Ok((0..k)
        .map(|f| {
            let (lo, hi) = (f * n / k, (f + 1) * n / k);
            let test = order[lo..hi].to_vec();
            let train = order[..lo].iter().chain(&order[hi..]).copied().collect();
            (train, test)
        })
        .collect())
}

/// The mean test MSE over k folds of the model that `fit` returns for each training part.
pub fn cross_validate(
    x: &Matrix,
    y: &[f64],
    k: usize,
    seed: u64,
    mut fit: impl FnMut(&Matrix, &[f64]) -> Result<LinearModel>,
) -> Result<f64> {
    check_data(x, y)?;
    let mut total = 0.0;
    for (train, test) in k_fold(x.rows, k, seed)? {
        let pick = |idx: &[usize]| idx.iter().map(|&i| y[i]).collect::<Vec<_>>();
        let model = fit(&x.select_rows(&train), &pick(&train))?;
        total += mse(&pick(&test), &model.predict(&x.select_rows(&test))?)?;
    }
    Ok(total / k as f64)
}

/// Test error split into bias² and variance over bootstrap fits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BiasVariance {
    /// mean over test points of E_b[(y − f̂_b)²]
    pub error: f64,
    /// mean over test points of (y − E_b[f̂_b])²
    pub bias2: f64,
    /// mean over test points of Var_b[f̂_b]
    pub variance: f64,
}

/// Fits `fit` on `bootstraps` resamples (with replacement) of the training data and splits its
/// test error into bias² and variance.
pub fn bias_variance(
    (x_train, y_train): (&Matrix, &[f64]),
    (x_test, y_test): (&Matrix, &[f64]),
    bootstraps: usize,
    seed: u64,
    mut fit: impl FnMut(&Matrix, &[f64]) -> Result<LinearModel>,
) -> Result<BiasVariance> {
    check_data(x_train, y_train)?;
    check_data(x_test, y_test)?;
    if bootstraps < 2 {
        return Err(Error::invalid("bootstraps", "need at least 2 resamples"));
    }
    let mut rng = host_rng(seed);
    let n = x_train.rows;
    // predictions[b][i] = f̂_b(x_i)
    let mut predictions = Vec::with_capacity(bootstraps);
    for _ in 0..bootstraps {
        let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
        let y_b: Vec<f64> = idx.iter().map(|&i| y_train[i]).collect();
        predictions.push(fit(&x_train.select_rows(&idx), &y_b)?.predict(x_test)?);
    }
    let (m, b) = (y_test.len() as f64, bootstraps as f64);
    let (mut error, mut bias2, mut variance) = (0.0, 0.0, 0.0);
    for (i, &y) in y_test.iter().enumerate() {
        let mean = predictions.iter().map(|p| p[i]).sum::<f64>() / b;
        error += predictions.iter().map(|p| (y - p[i]).powi(2)).sum::<f64>() / b;
        bias2 += (y - mean).powi(2);
        variance += predictions
            .iter()
            .map(|p| (p[i] - mean).powi(2))
            .sum::<f64>()
            / b;
    }
    Ok(BiasVariance {
        error: error / m,
        bias2: bias2 / m,
        variance: variance / m,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::Fit;
    use crate::linear::{Ols, Ridge};

    #[test]
    fn folds_partition_the_data() {
        let _serial = gdl_core::seed::serial();
        let folds = k_fold(10, 3, 7).unwrap();
        let mut seen: Vec<usize> = folds.iter().flat_map(|(_, t)| t.clone()).collect();
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        for (train, test) in &folds {
            assert_eq!(train.len() + test.len(), 10);
            assert!(test.iter().all(|i| !train.contains(i)));
        }
        assert!(k_fold(3, 5, 0).unwrap_err().to_string().contains("folds"));
    }

    #[test]
    fn leave_one_out_of_a_mean_model_by_hand() {
        let _serial = gdl_core::seed::serial();
        // An intercept-only fit (zero column, Ridge λ=0 keeps θ = 0): the prediction for the
        // held-out point is the mean of the other two. y = (0, 3, 6):
        // errors (4.5 − 0)², (3 − 3)², (1.5 − 6)² → mean (20.25 + 0 + 20.25)/3 = 13.5.
        let x = Matrix::from_rows("X", &[vec![0.0], vec![0.0], vec![0.0]]).unwrap();
        let cv =
            cross_validate(&x, &[0.0, 3.0, 6.0], 3, 1, |x, y| Ridge::new(0.0).fit(x, y)).unwrap();
        assert!((cv - 13.5).abs() < 1e-12, "{cv}");
    }

    /// The bootstrap of the sample mean (an intercept-only fit) has a known split: each fit
    /// is the mean of a resample, whose average over resamples is ȳ and whose variance is
    /// σ̂²/n with σ̂² = (1/n) Σ (y_i − ȳ)²; at a test target y_t the bias² is (y_t − ȳ)².
    #[test]
    fn bootstrap_of_the_mean_has_the_known_bias_and_variance() {
        let _serial = gdl_core::seed::serial();
        let y = [1.0, 4.0, -2.0, 7.0, 0.5, 3.0, -1.0, 2.5];
        let n = y.len() as f64;
        let mean = y.iter().sum::<f64>() / n;
        let sigma2 = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let zeros = |k: usize| Matrix::from_rows("X", &vec![vec![0.0]; k]).unwrap();
        let y_test = [mean + 1.0, mean - 2.0];
        let bv = bias_variance((&zeros(8), &y), (&zeros(2), &y_test), 20_000, 5, |x, y| {
            Ridge::new(0.0).fit(x, y)
        })
        .unwrap();
        let (variance, bias2) = (sigma2 / n, (1.0 + 4.0) / 2.0);
        // 20,000 resamples: standard errors about 1% of the variance and 0.007 of the bias²
        // (the resamples' mean is ȳ ± √(σ̂²/(nB))); n − 1 in σ̂² would be 14% off.
        println!("{bv:?}: variance {variance}, bias² {bias2}");
        assert!(
            (bv.variance / variance - 1.0).abs() < 0.03,
            "{bv:?} vs {variance}"
        );
        assert!((bv.bias2 - bias2).abs() < 0.03, "{bv:?} vs {bias2}");
        assert!((bv.error - bv.bias2 - bv.variance).abs() < 1e-12, "{bv:?}");
    }

    #[test]
    fn error_is_bias_plus_variance() {
        let _serial = gdl_core::seed::serial();
        let xs: Vec<Vec<f64>> = (0..30).map(|i| vec![i as f64 / 29.0]).collect();
        let ys: Vec<f64> = xs
            .iter()
            .map(|x| (6.0 * x[0]).sin() + 0.1 * (x[0] * 97.0).cos())
            .collect();
        let x = Matrix::from_rows("X", &xs).unwrap();
        let bv =
            bias_variance((&x, &ys), (&x, &ys), 20, 3, |x, y| Ols::default().fit(x, y)).unwrap();
        assert!((bv.error - bv.bias2 - bv.variance).abs() < 1e-12, "{bv:?}");
        assert!(bv.variance > 0.0 && bv.bias2 > 0.0);
    }
}
