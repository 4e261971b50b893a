//! The Fréchet distance between two Gaussians fitted to feature sets (the FID of Heusel et al.
//! 2017 when the features are a classifier's):
//!
//! ```text
//! d² = |μ₁ − μ₂|² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^{1/2}),
//! tr (Σ₁Σ₂)^{1/2} = tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}
//! ```
//!
//! The second line holds because Σ₁Σ₂ and Σ₁^{1/2} Σ₂ Σ₁^{1/2} are similar (conjugate by
//! Σ₁^{1/2} where it is invertible, and by continuity otherwise), so only symmetric
//! eigendecompositions are needed: no general matrix square root, no complex round-off.
//! Eigenvalues below zero (round-off of singular covariances, e.g. fewer samples than
//! dimensions) are taken as zero. All in f64.

use crate::{Error, Result};
use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// A Gaussian N(μ, Σ) fitted to feature vectors.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianFit {
    /// μ, the sample mean [d].
    pub mean: DVector<f64>,
    /// Σ, the sample covariance with the unbiased 1/(n − 1) (numpy's `cov`) [d, d].
    pub cov: DMatrix<f64>,
    /// n, the number of feature vectors.
    pub n: usize,
}

impl GaussianFit {
    /// Fits the rows of `features` (n rows of `dim` values, row-major): μ = (1/n) Σ_i f_i,
    /// Σ = (1/(n − 1)) Σ_i (f_i − μ)(f_i − μ)ᵀ. Needs n ≥ 2 finite rows.
    pub fn from_rows(features: &[f64], dim: usize) -> Result<Self> {
        if dim == 0 || !features.len().is_multiple_of(dim) {
            return Err(Error::invalid(
                "features",
                format!("{} values are not rows of {dim}", features.len()),
            ));
        }
        let n = features.len() / dim;
        if n < 2 {
            return Err(Error::invalid(
                "features",
                format!("{n} rows; need at least 2"),
            ));
        }
        if let Some(i) = features.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(
                "features",
                format!("value {} of row {} is not finite", i % dim, i / dim),
            ));
        }
        let x = DMatrix::from_row_slice(n, dim, features);
        let mean = DVector::from_iterator(dim, x.column_iter().map(|c| c.mean()));
        let mut centred = x;
        for mut row in centred.row_iter_mut() {
            row -= mean.transpose();
        }
        let cov = centred.transpose() * &centred / (n as f64 - 1.0);
        Ok(GaussianFit { mean, cov, n })
    }
}

/// The symmetric positive semi-definite square root of the symmetric matrix `a`: V √Λ Vᵀ with
/// negative eigenvalues (round-off) set to zero.
fn sqrt_psd(a: &DMatrix<f64>) -> DMatrix<f64> {
    let eig = SymmetricEigen::new(symmetrize(a));
    let root = eig.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eig.eigenvectors * DMatrix::from_diagonal(&root) * eig.eigenvectors.transpose()
}

fn symmetrize(a: &DMatrix<f64>) -> DMatrix<f64> {
    (a + a.transpose()) * 0.5
}

/// tr (Σ₁Σ₂)^{1/2} = Σ_i √λ_i(Σ₁^{1/2} Σ₂ Σ₁^{1/2}).
pub fn trace_sqrt_product(s1: &DMatrix<f64>, s2: &DMatrix<f64>) -> f64 {
    let r = sqrt_psd(s1);
    let m = &r * s2 * &r;
    SymmetricEigen::new(symmetrize(&m))
        .eigenvalues
        .iter()
        .map(|l| l.max(0.0).sqrt())
        .sum()
}

/// d²(N(μ₁, Σ₁), N(μ₂, Σ₂)) = |μ₁ − μ₂|² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^{1/2} (≥ 0; round-off
/// below zero is returned as 0). Errors name the mismatched or non-square argument.
pub fn frechet_distance(
    mu1: &DVector<f64>,
    s1: &DMatrix<f64>,
    mu2: &DVector<f64>,
    s2: &DMatrix<f64>,
) -> Result<f64> {
    let d = mu1.len();
    for (name, rows, cols) in [
        ("Σ₁", s1.nrows(), s1.ncols()),
        ("Σ₂", s2.nrows(), s2.ncols()),
        ("μ₂", mu2.len(), d),
    ] {
        if rows != d || cols != d {
            return Err(Error::invalid(
                name,
                format!("{rows} x {cols}, but μ₁ has dimension {d}"),
            ));
        }
    }
    let mean_term = (mu1 - mu2).norm_squared();
    let d2 = mean_term + s1.trace() + s2.trace() - 2.0 * trace_sqrt_product(s1, s2);
    Ok(d2.max(0.0))
}

impl GaussianFit {
    /// The Fréchet distance d² from this fit to `other`.
    pub fn frechet_distance(&self, other: &GaussianFit) -> Result<f64> {
        frechet_distance(&self.mean, &self.cov, &other.mean, &other.cov)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(d: usize, v: &[f64]) -> DMatrix<f64> {
        DMatrix::from_row_slice(d, d, v)
    }

    #[test]
    fn distance_to_itself_is_zero() {
        // A full-rank and a singular covariance.
        for s in [
            matrix(3, &[2.0, 0.5, 0.1, 0.5, 1.0, -0.3, 0.1, -0.3, 0.7]),
            matrix(3, &[1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
        ] {
            let mu = DVector::from_vec(vec![0.3, -1.0, 2.0]);
            let d = frechet_distance(&mu, &s, &mu, &s).unwrap();
            assert!(d.abs() < 1e-12, "{d}");
        }
    }

    #[test]
    fn one_dimension_is_mean_and_std_differences() {
        // d² = (μ₁ − μ₂)² + (σ₁ − σ₂)²
        let (m1, s1, m2, s2) = (0.5, 2.0, -1.0, 0.5);
        let d = frechet_distance(
            &DVector::from_vec(vec![m1]),
            &matrix(1, &[s1 * s1]),
            &DVector::from_vec(vec![m2]),
            &matrix(1, &[s2 * s2]),
        )
        .unwrap();
        let want = (m1 - m2) * (m1 - m2) + (s1 - s2) * (s1 - s2);
        assert!((d - want).abs() < 1e-12, "{d} vs {want}");
    }

    #[test]
    fn two_by_two_matches_the_closed_form() {
        // For 2 x 2 matrices with non-negative eigenvalues λ₁, λ₂ of M = Σ₁Σ₂:
        // tr √M = √λ₁ + √λ₂ = √(tr M + 2 √det M). Σ₁ and Σ₂ do not commute here.
        let s1 = matrix(2, &[2.0, 0.8, 0.8, 1.0]);
        let s2 = matrix(2, &[0.5, -0.2, -0.2, 3.0]);
        let m = &s1 * &s2;
        let closed = (m.trace() + 2.0 * m.determinant().sqrt()).sqrt();
        let got = trace_sqrt_product(&s1, &s2);
        assert!((got - closed).abs() < 1e-12, "{got} vs {closed}");
        let (mu1, mu2) = (
            DVector::from_vec(vec![1.0, 2.0]),
            DVector::from_vec(vec![-1.0, 0.5]),
        );
        let d = frechet_distance(&mu1, &s1, &mu2, &s2).unwrap();
        let want = 4.0 + 2.25 + s1.trace() + s2.trace() - 2.0 * closed;
        assert!((d - want).abs() < 1e-12, "{d} vs {want}");
        // Symmetric in its two arguments.
        let back = frechet_distance(&mu2, &s2, &mu1, &s1).unwrap();
        assert!((d - back).abs() < 1e-12);
    }

    #[test]
    fn fit_is_numpy_mean_and_unbiased_cov() {
        let rows = [1.0, 2.0, 3.0, 5.0, 2.0, 0.0];
        let fit = GaussianFit::from_rows(&rows, 2).unwrap();
        assert_eq!(fit.mean.as_slice(), &[2.0, 7.0 / 3.0]);
        // x: 1, 3, 2 (var 1); y: 2, 5, 0 (var 19/3); cov (x, y) = ((−1)(−1/3) + 1(8/3) + 0)/2 = 1.5
        let want = [1.0, 1.5, 1.5, 19.0 / 3.0];
        for (g, w) in fit.cov.transpose().as_slice().iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{:?}", fit.cov);
        }
    }

    #[test]
    fn bad_input_names_the_argument() {
        let e = GaussianFit::from_rows(&[1.0, 2.0, 3.0], 2).unwrap_err();
        assert!(e.to_string().contains("features"), "{e}");
        let e = GaussianFit::from_rows(&[1.0, 2.0], 2).unwrap_err();
        assert!(e.to_string().contains("at least 2"), "{e}");
        let e = GaussianFit::from_rows(&[1.0, f64::NAN, 1.0, 2.0], 2).unwrap_err();
        assert!(e.to_string().contains("row 0"), "{e}");
        let mu = DVector::from_vec(vec![0.0, 0.0]);
        let e = frechet_distance(
            &mu,
            &matrix(1, &[1.0]),
            &mu,
            &matrix(2, &[1.0, 0.0, 0.0, 1.0]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("Σ₁"), "{e}");
    }

    /// Fixtures from scipy.linalg.sqrtm (`tests/fixtures/make_frechet_fixtures.py`): random
    /// features in 8 and 16 dimensions, the second with fewer samples than dimensions
    /// (singular covariances).
    #[test]
    fn matches_scipy_sqrtm_fixtures() {
        let text = include_str!("../tests/fixtures/frechet.json");
        let cases: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        assert!(cases.len() >= 2);
        for case in cases {
            let dim = case["dim"].as_u64().unwrap() as usize;
            let rows = |k: &str| -> Vec<f64> {
                case[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            };
            let a = GaussianFit::from_rows(&rows("a"), dim).unwrap();
            let b = GaussianFit::from_rows(&rows("b"), dim).unwrap();
            let got = a.frechet_distance(&b).unwrap();
            let want = case["fid"].as_f64().unwrap();
            let tol = case["tol"].as_f64().unwrap();
            assert!(
                (got - want).abs() <= tol * want.abs(),
                "{}: {got} vs scipy {want}",
                case["name"]
            );
        }
    }
}
