//! The normal equations XᵀXθ = Xᵀy: the products on the Burn backend, the small p x p solve on
//! the host with nalgebra.
//!
//! With an intercept, X and y are centred first (x̃ = x − x̄, ỹ = y − ȳ), the slope θ is found
//! from the centred system and the intercept is θ₀ = ȳ − x̄ᵀθ. This is the same as a column of
//! ones in X that is left out of the penalty.

use crate::design::Matrix;
use burn::tensor::backend::Backend;
use gdl_core::tensor::{from_f64_precise, to_f64};
use gdl_core::{Error, Result};
use nalgebra::{DMatrix, DVector};

/// The sufficient statistics of least squares: G = X̃ᵀX̃, c = X̃ᵀỹ, ỹᵀỹ, and the means that
/// were removed (zeros without an intercept).
#[derive(Clone, Debug)]
pub struct NormalEquations {
    /// n: data points.
    pub n: usize,
    /// G = X̃ᵀX̃ (p x p).
    pub gram: DMatrix<f64>,
    /// c = X̃ᵀỹ.
    pub xty: DVector<f64>,
    /// ỹᵀỹ.
    pub yty: f64,
    /// x̄ (per column).
    pub x_mean: Vec<f64>,
    /// ȳ.
    pub y_mean: f64,
}

/// How a linear system was solved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Solver {
    /// Cholesky factorisation A = LLᵀ: A was positive definite and well conditioned.
    Cholesky,
    /// SVD pseudo-inverse A⁺ = VΣ⁺Uᵀ: A was singular or ill-conditioned; gives the
    /// minimum-norm solution.
    SvdPseudoInverse,
}

/// An error unless X (n x p) and y (n) are finite, non-empty and of matching length.
pub fn check_data(x: &Matrix, y: &[f64]) -> Result<()> {
    if x.rows == 0 || x.cols == 0 {
        return Err(Error::invalid(
            "design matrix X",
            format!("{} x {} is empty", x.rows, x.cols),
        ));
    }
    if x.rows != y.len() {
        return Err(Error::invalid(
            "targets y",
            format!("{} targets for {} rows of X", y.len(), x.rows),
        ));
    }
    x.check_finite("design matrix X")?;
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "targets y",
            format!("entry {i} holds {}", y[i]),
        ));
    }
    Ok(())
}

impl NormalEquations {
    /// G, c and ỹᵀỹ of (X, y), centred when `center`, computed on backend `B`.
    ///
    /// All three come from one product: with A = [X̃ | ỹ] (n x (p+1)),
    /// AᵀA = [[X̃ᵀX̃, X̃ᵀỹ], [ỹᵀX̃, ỹᵀỹ]]. The n rows are split into chunks multiplied as one
    /// batch and summed, AᵀA = Σₖ AₖᵀAₖ, so the cores share the long dimension n.
    pub fn compute<B: Backend>(
        x: &Matrix,
        y: &[f64],
        center: bool,
        device: &B::Device,
    ) -> Result<Self> {
        check_data(x, y)?;
        let (n, p) = (x.rows, x.cols);
        let chunks = if n >= CHUNK_MIN_ROWS * GRAM_CHUNKS {
            GRAM_CHUNKS
        } else {
            1
        };
        let m = n.div_ceil(chunks); // rows per chunk; the last is padded with zero rows
        let q = p + 1;
        // Means x̄, ȳ (one pass on the host, needed to centre).
        let mut means = vec![0.0; q];
        if center {
            for (i, &yi) in y.iter().enumerate() {
                for (mj, v) in means.iter_mut().zip(x.row(i)) {
                    *mj += v;
                }
                means[p] += yi;
            }
            means.iter_mut().for_each(|v| *v /= n as f64);
        }
        // A = [X̃ | ỹ] as chunks [m, q]; zero rows pad the last chunk (they add nothing).
        let mut a = vec![0.0; chunks * m * q];
        for (i, row) in a.chunks_exact_mut(q).take(n).enumerate() {
            row[..p].copy_from_slice(x.row(i));
            row[p] = y[i];
            for (v, mean) in row.iter_mut().zip(&means) {
                *v -= mean;
            }
        }
        // f64 where the backend supports it (NdArray, Flex), else its float type (Wgpu: f32).
        let a = from_f64_precise::<B, 3>(a, [chunks, m, q], device);
        let ata = a.clone().swap_dims(1, 2).matmul(a).sum_dim(0); // Σₖ AₖᵀAₖ: [1, q, q]
        let ata = to_f64(ata);
        let at = |i: usize, j: usize| ata[i * (p + 1) + j];
        Ok(NormalEquations {
            n,
            gram: DMatrix::from_fn(p, p, at),
            xty: DVector::from_fn(p, |i, _| at(i, p)),
            yty: at(p, p),
            x_mean: means[..p].to_vec(),
            y_mean: means[p],
        })
    }

    /// p: the number of coefficients.
    pub fn p(&self) -> usize {
        self.xty.len()
    }

    /// The intercept θ₀ = ȳ − x̄ᵀθ that goes with slope `theta`.
    pub fn intercept(&self, theta: &[f64]) -> f64 {
        self.y_mean
            - self
                .x_mean
                .iter()
                .zip(theta)
                .map(|(m, t)| m * t)
                .sum::<f64>()
    }
}

/// Row chunks of the Gram product (see [`NormalEquations::compute`]).
const GRAM_CHUNKS: usize = 8;
/// Fewest rows per chunk worth a separate product.
const CHUNK_MIN_ROWS: usize = 256;

/// Condition-number bound above which Cholesky is not trusted: the relative error of the
/// solution is about κ·ε, so κ <= 1e10 keeps six correct digits in f64.
const MAX_CONDITION: f64 = 1e10;

/// Solves the symmetric positive semi-definite system Aθ = b: Cholesky when A is positive
/// definite with an estimated condition number (max Lᵢᵢ / min Lᵢᵢ)² <= 1e10, else the SVD
/// pseudo-inverse with singular values below max(n, p)·ε·σ_max treated as zero (the rounding
/// level of a Gram matrix summed over n rows), which gives the minimum-norm solution.
pub fn solve_normal(a: &DMatrix<f64>, b: &DVector<f64>, n: usize) -> (DVector<f64>, Solver) {
    if let Some(chol) = a.clone().cholesky() {
        let d = chol.l_dirty().diagonal();
        let (lo, hi) = d.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v.abs()), hi.max(v.abs()))
        });
        if lo > 0.0 && (hi / lo).powi(2) <= MAX_CONDITION {
            return (chol.solve(b), Solver::Cholesky);
        }
    }
    let svd = a.clone().svd(true, true);
    let sigma_max = svd.singular_values.max();
    if sigma_max <= 0.0 {
        return (DVector::zeros(a.ncols()), Solver::SvdPseudoInverse);
    }
    let cutoff = n.max(a.nrows()) as f64 * f64::EPSILON * sigma_max;
    let theta = svd
        .solve(b, cutoff)
        .unwrap_or_else(|_| DVector::zeros(a.ncols()));
    (theta, Solver::SvdPseudoInverse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::testing::TestBackendF64 as B;

    #[test]
    fn products_match_a_host_computation() {
        let x = Matrix::from_rows("X", &[vec![1.0, 2.0], vec![3.0, 5.0], vec![4.0, -1.0]]).unwrap();
        let y = [1.0, 2.0, 6.0];
        let ne = NormalEquations::compute::<B>(&x, &y, false, &Default::default()).unwrap();
        assert_eq!(ne.gram.as_slice(), &[26.0, 13.0, 13.0, 30.0]);
        assert_eq!(ne.xty.as_slice(), &[31.0, 6.0]);
        assert_eq!(ne.yty, 41.0);
        let c = NormalEquations::compute::<B>(&x, &y, true, &Default::default()).unwrap();
        // Centred: x̄ = (8/3, 2), ȳ = 3; G₀₀ = Σ(x − x̄)² = 26 − 3·(8/3)² = 14/3.
        assert!((c.gram[(0, 0)] - 14.0 / 3.0).abs() < 1e-12);
        assert!((c.y_mean - 3.0).abs() < 1e-15);
        assert!((c.intercept(&[0.0, 0.0]) - 3.0).abs() < 1e-15);
    }

    #[test]
    fn chunked_product_with_padding_matches_the_host() {
        // n = 2100 rows: 8 chunks of 263 with 4 zero padding rows.
        let n = 2100;
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|i| vec![(i as f64 * 0.37).sin(), (i as f64 * 0.11).cos() + 2.0])
            .collect();
        let y: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
        let x = Matrix::from_rows("X", &rows).unwrap();
        let ne = NormalEquations::compute::<B>(&x, &y, true, &Default::default()).unwrap();
        let mean = |f: &dyn Fn(usize) -> f64| (0..n).map(f).sum::<f64>() / n as f64;
        let (m0, m1, my) = (
            mean(&|i| rows[i][0]),
            mean(&|i| rows[i][1]),
            mean(&|i| y[i]),
        );
        let g01: f64 = (0..n).map(|i| (rows[i][0] - m0) * (rows[i][1] - m1)).sum();
        let c1: f64 = (0..n).map(|i| (rows[i][1] - m1) * (y[i] - my)).sum();
        let yy: f64 = (0..n).map(|i| (y[i] - my).powi(2)).sum();
        assert!((ne.gram[(0, 1)] - g01).abs() < 1e-9 * g01.abs().max(1.0));
        assert!((ne.gram[(1, 0)] - g01).abs() < 1e-9 * g01.abs().max(1.0));
        assert!((ne.xty[1] - c1).abs() < 1e-9 * c1.abs().max(1.0));
        assert!((ne.yty - yy).abs() < 1e-9 * yy);
        assert!((ne.x_mean[1] - m1).abs() < 1e-12 && (ne.y_mean - my).abs() < 1e-12);
    }

    #[test]
    fn cholesky_for_well_posed_svd_for_singular() {
        let a = DMatrix::from_row_slice(2, 2, &[4.0, 2.0, 2.0, 3.0]);
        let b = DVector::from_vec(vec![2.0, 1.0]);
        let (theta, solver) = solve_normal(&a, &b, 2);
        assert_eq!(solver, Solver::Cholesky);
        assert!(((&a * &theta) - &b).norm() < 1e-14);
        // Rank one: [[1, 1], [1, 1]] θ = [2, 2]; minimum norm θ = (1, 1).
        let s = DMatrix::from_row_slice(2, 2, &[1.0, 1.0, 1.0, 1.0]);
        let (theta, solver) = solve_normal(&s, &DVector::from_vec(vec![2.0, 2.0]), 2);
        assert_eq!(solver, Solver::SvdPseudoInverse);
        assert!((theta[0] - 1.0).abs() < 1e-12 && (theta[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_data_is_named() {
        let x = Matrix::from_rows("X", &[vec![1.0], vec![2.0]]).unwrap();
        let e = NormalEquations::compute::<B>(&x, &[1.0], false, &Default::default()).unwrap_err();
        assert!(e.to_string().contains("1 targets for 2 rows"), "{e}");
        let e = NormalEquations::compute::<B>(&x, &[1.0, f64::NAN], false, &Default::default())
            .unwrap_err();
        assert!(
            e.to_string().contains("targets y") && e.to_string().contains("entry 1"),
            "{e}"
        );
    }
}
