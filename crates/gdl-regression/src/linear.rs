//! Ordinary least squares and Ridge regression by the normal equations.
//!
//! * OLS minimises C(θ) = (1/n)||y − Xθ||²; the minimiser solves XᵀXθ = Xᵀy.
//! * Ridge minimises C(θ) = (1/n)||y − Xθ||² + λ||θ||²; setting the gradient
//!   (2/n)Xᵀ(Xθ − y) + 2λθ to zero gives θ = (XᵀX + nλI)⁻¹Xᵀy.
//!
//! scikit-learn's `Ridge(alpha)` minimises ||y − Xθ||² + alpha·||θ||², the lecture's cost
//! times n, so **alpha = nλ** (n the number of training points). In both the intercept is not
//! penalised: with `fit_intercept` the data are centred first (see [`crate::normal`]).

use crate::design::Matrix;
use crate::fit::Fit;
use crate::normal::{solve_normal, NormalEquations, Solver};
use gdl_core::{Error, Result};
use nalgebra::DMatrix;

/// A fitted linear model ŷ = θ₀ + xᵀθ.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    /// θ: one coefficient per column of X.
    pub coef: Vec<f64>,
    /// θ₀ (0 without an intercept).
    pub intercept: f64,
    /// How the normal equations were solved (`None` for iterative fits such as Lasso).
    pub solver: Option<Solver>,
}

impl LinearModel {
    /// ŷ = θ₀ + Xθ for every row of `x`.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>> {
        if x.cols != self.coef.len() {
            return Err(Error::invalid(
                "design matrix X",
                format!(
                    "{} columns, the model has {} coefficients",
                    x.cols,
                    self.coef.len()
                ),
            ));
        }
        Ok((0..x.rows)
            .map(|i| {
                self.intercept
                    + x.row(i)
                        .iter()
                        .zip(&self.coef)
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
            })
            .collect())
    }
}

/// Ordinary least squares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ols {
    /// Fit an unpenalised intercept θ₀ (centre X and y). Default true.
    pub fit_intercept: bool,
}

impl Default for Ols {
    fn default() -> Self {
        Ols {
            fit_intercept: true,
        }
    }
}

impl Fit for Ols {
    type Output = LinearModel;

    fn fit_intercept(&self) -> bool {
        self.fit_intercept
    }

    fn check(&self) -> Result<()> {
        Ok(())
    }

    /// θ = G⁻¹c (a pseudo-inverse when G is singular; see [`Solver`]).
    fn solve(&self, ne: &NormalEquations) -> LinearModel {
        Ridge {
            lambda: 0.0,
            fit_intercept: self.fit_intercept,
        }
        .solve(ne)
    }
}

/// Ridge regression in the lecture's scaling (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ridge {
    /// λ >= 0, the weight of ||θ||² next to the mean squared error.
    pub lambda: f64,
    /// Fit an unpenalised intercept θ₀. Default true.
    pub fit_intercept: bool,
}

impl Ridge {
    /// Ridge with penalty λ and an intercept.
    pub fn new(lambda: f64) -> Self {
        Ridge {
            lambda,
            fit_intercept: true,
        }
    }

    /// The λ equivalent to scikit-learn's `alpha` for `n` training points: λ = alpha / n.
    pub fn lambda_from_sklearn_alpha(alpha: f64, n: usize) -> f64 {
        alpha / n as f64
    }
}

impl Fit for Ridge {
    type Output = LinearModel;

    fn fit_intercept(&self) -> bool {
        self.fit_intercept
    }

    fn check(&self) -> Result<()> {
        check_lambda(self.lambda)
    }

    /// θ = (G + nλI)⁻¹c.
    fn solve(&self, ne: &NormalEquations) -> LinearModel {
        let p = ne.p();
        let a = &ne.gram + DMatrix::identity(p, p) * (ne.n as f64 * self.lambda);
        let (theta, solver) = solve_normal(&a, &ne.xty, ne.n);
        let coef: Vec<f64> = theta.iter().copied().collect();
        LinearModel {
            intercept: ne.intercept(&coef),
            coef,
            solver: Some(solver),
        }
    }
}

/// An error unless λ is finite and >= 0.
pub(crate) fn check_lambda(lambda: f64) -> Result<()> {
    if lambda.is_finite() && lambda >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            "λ",
            format!("{lambda}: the penalty must be finite and >= 0"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ols_recovers_an_exact_line_with_cholesky() {
        // y = 1 + 2x exactly.
        let x = Matrix::from_rows("X", &[vec![0.0], vec![1.0], vec![2.0], vec![5.0]]).unwrap();
        let y = [1.0, 3.0, 5.0, 11.0];
        let m = Ols::default().fit(&x, &y).unwrap();
        assert!((m.coef[0] - 2.0).abs() < 1e-12 && (m.intercept - 1.0).abs() < 1e-12);
        assert_eq!(m.solver, Some(Solver::Cholesky));
        let pred = m
            .predict(&Matrix::from_rows("X", &[vec![10.0]]).unwrap())
            .unwrap();
        assert!((pred[0] - 21.0).abs() < 1e-10);
    }

    #[test]
    fn ridge_one_variable_closed_form() {
        // Centred single column: θ = Σx̃ỹ / (Σx̃² + nλ).
        let x = Matrix::from_rows("X", &[vec![-1.0], vec![0.0], vec![1.0]]).unwrap();
        let y = [0.0, 1.0, 4.0];
        let lambda = 0.5;
        let m = Ridge::new(lambda).fit(&x, &y).unwrap();
        let expected = 4.0 / (2.0 + 3.0 * lambda);
        assert!((m.coef[0] - expected).abs() < 1e-14);
        assert!((m.intercept - 5.0 / 3.0).abs() < 1e-14);
    }

    #[test]
    fn duplicated_column_gives_the_minimum_norm_solution() {
        // Columns x and x: any θ₁ + θ₂ = 2 fits y = 2x; the minimum-norm one is (1, 1).
        let rows: Vec<Vec<f64>> = (0..6).map(|i| vec![i as f64, i as f64]).collect();
        let x = Matrix::from_rows("X", &rows).unwrap();
        let y: Vec<f64> = (0..6).map(|i| 2.0 * i as f64 + 0.5).collect();
        let m = Ols::default().fit(&x, &y).unwrap();
        assert_eq!(m.solver, Some(Solver::SvdPseudoInverse));
        assert!(
            (m.coef[0] - 1.0).abs() < 1e-10 && (m.coef[1] - 1.0).abs() < 1e-10,
            "{m:?}"
        );
        assert!((m.intercept - 0.5).abs() < 1e-10);
    }

    #[test]
    fn more_columns_than_rows_is_handled() {
        let x = Matrix::from_rows("X", &[vec![1.0, 2.0, 3.0], vec![0.0, 1.0, -1.0]]).unwrap();
        let y = [1.0, 2.0];
        let m = Ols {
            fit_intercept: false,
        }
        .fit(&x, &y)
        .unwrap();
        assert_eq!(m.solver, Some(Solver::SvdPseudoInverse));
        // It interpolates, and θ lies in the row space (minimum norm): θ = Xᵀ(XXᵀ)⁻¹y.
        let pred = m.predict(&x).unwrap();
        assert!((pred[0] - 1.0).abs() < 1e-10 && (pred[1] - 2.0).abs() < 1e-10);
        // XXᵀ = [[14, -1], [-1, 2]], (XXᵀ)⁻¹y = [4, 29]/27, θ = Xᵀ that.
        let a = [4.0 / 27.0, 29.0 / 27.0];
        let expected = [a[0], 2.0 * a[0] + a[1], 3.0 * a[0] - a[1]];
        for (g, e) in m.coef.iter().zip(expected) {
            assert!((g - e).abs() < 1e-10, "{:?} vs {expected:?}", m.coef);
        }
    }

    #[test]
    fn negative_lambda_is_an_error() {
        let x = Matrix::from_rows("X", &[vec![1.0]]).unwrap();
        let e = Ridge::new(-1.0).fit(&x, &[1.0]).unwrap_err();
        assert!(e.to_string().contains("λ"), "{e}");
    }
}
