//! Lasso regression by cyclic coordinate descent with soft-thresholding.
//!
//! The lecture's cost is C(θ) = (1/n)||y − Xθ||² + λ||θ||₁. scikit-learn's `Lasso(alpha)`
//! minimises (1/(2n))||y − Xθ||² + alpha·||θ||₁, which is the lecture's cost divided by 2
//! with alpha = λ/2; so **alpha = λ / 2** (and λ = 2·alpha), whatever n is.
//!
//! Coordinate descent works on the Gram matrix G = X̃ᵀX̃ and c = X̃ᵀỹ (computed once on the
//! Burn backend), so a sweep over the p coordinates costs O(p²) whatever n is. For coordinate
//! j, with ρⱼ = cⱼ − Σ_{k≠j} Gⱼₖθₖ, the exact minimiser of the cost along θⱼ is
//!
//!   θⱼ = S(ρⱼ, nλ/2) / Gⱼⱼ,   S(z, γ) = sign(z)·max(|z| − γ, 0)   (soft-thresholding).
//!
//! Convergence is declared, as in scikit-learn, when after a sweep the largest coefficient
//! change relative to the largest coefficient is below `tol` and the duality gap of
//! P(θ) = ½||ỹ − X̃θ||² + nα||θ||₁ is below tol·ỹᵀỹ.

use crate::design::Matrix;
use crate::fit::Fit;
use crate::linear::{check_lambda, LinearModel};
use crate::normal::NormalEquations;
use burn::tensor::backend::Backend;
use gdl_core::backend::LinalgCpu;
use gdl_core::{Error, Result};

/// Lasso in the lecture's scaling (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lasso {
    /// λ >= 0, the weight of ||θ||₁ next to the mean squared error.
    pub lambda: f64,
    /// Fit an unpenalised intercept θ₀. Default true.
    pub fit_intercept: bool,
    /// Tolerance on the relative coefficient change and the relative duality gap (1e-4, as
    /// scikit-learn).
    pub tol: f64,
    /// Maximum number of sweeps over the coordinates (1000, as scikit-learn).
    pub max_iter: usize,
}

/// A Lasso fit and how its coordinate descent ended.
#[derive(Clone, Debug, PartialEq)]
pub struct LassoFit {
    /// The coefficients and intercept.
    pub model: LinearModel,
    /// Sweeps over the coordinates.
    pub sweeps: usize,
    /// The final duality gap divided by ỹᵀỹ.
    pub relative_gap: f64,
    /// Whether the tolerance was met before `max_iter`.
    pub converged: bool,
}

impl Lasso {
    /// Lasso with penalty λ, an intercept and scikit-learn's defaults otherwise.
    pub fn new(lambda: f64) -> Self {
        Lasso {
            lambda,
            fit_intercept: true,
            tol: 1e-4,
            max_iter: 1000,
        }
    }

    /// The λ equivalent to scikit-learn's `alpha`: λ = 2·alpha.
    pub fn lambda_from_sklearn_alpha(alpha: f64) -> f64 {
        2.0 * alpha
    }

    /// Coordinate descent from the normal equations, starting from `warm_start` (or zeros).
    pub fn solve_from(&self, ne: &NormalEquations, warm_start: Option<&[f64]>) -> LassoFit {
        let p = ne.p();
        let g = &ne.gram;
        let c = &ne.xty;
        // γ = nλ/2 = nα: the soft threshold.
        let gamma = ne.n as f64 * self.lambda / 2.0;
        let mut theta: Vec<f64> = warm_start.map_or(vec![0.0; p], |w| w.to_vec());
        // q = Gθ, kept up to date so ρⱼ = cⱼ − qⱼ + Gⱼⱼθⱼ costs O(1).
        let mut q: Vec<f64> = (0..p)
            .map(|i| (0..p).map(|k| g[(i, k)] * theta[k]).sum())
            .collect();
        let mut relative_gap = f64::INFINITY;
        let mut sweeps = 0;
        let mut converged = false;
        while sweeps < self.max_iter {
            sweeps += 1;
            let (mut d_max, mut w_max) = (0.0f64, 0.0f64);
            for j in 0..p {
                let g_jj = g[(j, j)];
                if g_jj <= 0.0 {
                    continue; // a constant column carries no information
                }
                let old = theta[j];
                // ρⱼ = cⱼ − Σ_{k≠j} Gⱼₖθₖ
                let rho = c[j] - q[j] + g_jj * old;
                // θⱼ = S(ρⱼ, γ) / Gⱼⱼ
                let new = rho.signum() * (rho.abs() - gamma).max(0.0) / g_jj;
                if new != old {
                    let delta = new - old;
                    for (i, qi) in q.iter_mut().enumerate() {
                        *qi += delta * g[(i, j)];
                    }
                    theta[j] = new;
                }
                d_max = d_max.max((new - old).abs());
                w_max = w_max.max(new.abs());
            }
            if w_max == 0.0 || d_max / w_max < self.tol || sweeps == self.max_iter {
                relative_gap = duality_gap(ne, &theta, &q, gamma) / ne.yty.max(f64::MIN_POSITIVE);
                if relative_gap < self.tol {
                    converged = true;
                    break;
                }
            }
        }
        LassoFit {
            model: LinearModel {
                intercept: ne.intercept(&theta),
                coef: theta,
                solver: None,
            },
            sweeps,
            relative_gap,
            converged,
        }
    }
}

/// The duality gap of P(θ) = ½||ỹ − X̃θ||² + γ||θ||₁ at θ (with q = Gθ), from the dual point
/// ν = s·r, r = ỹ − X̃θ, scaled by s = min(1, γ / ||X̃ᵀr||_∞) to be feasible:
///   gap = ½||r||²(1 + s²) + γ||θ||₁ − s·rᵀỹ.
fn duality_gap(ne: &NormalEquations, theta: &[f64], q: &[f64], gamma: f64) -> f64 {
    let c = &ne.xty;
    let theta_c: f64 = theta.iter().zip(c.iter()).map(|(t, c)| t * c).sum();
    let theta_q: f64 = theta.iter().zip(q).map(|(t, q)| t * q).sum();
    // ||r||² = ỹᵀỹ − 2θᵀc + θᵀGθ;  X̃ᵀr = c − Gθ;  rᵀỹ = ỹᵀỹ − θᵀc
    let r_norm2 = (ne.yty - 2.0 * theta_c + theta_q).max(0.0);
    let dual_norm = c
        .iter()
        .zip(q)
        .map(|(c, q)| (c - q).abs())
        .fold(0.0f64, f64::max);
    let s = if dual_norm > gamma {
        gamma / dual_norm
    } else {
        1.0
    };
    let l1: f64 = theta.iter().map(|t| t.abs()).sum();
    0.5 * r_norm2 * (1.0 + s * s) + gamma * l1 - s * (ne.yty - theta_c)
}

impl Fit for Lasso {
    type Output = LassoFit;

    fn fit_intercept(&self) -> bool {
        self.fit_intercept
    }

    fn check(&self) -> Result<()> {
        check_lambda(self.lambda)?;
        if !(self.tol > 0.0 && self.tol.is_finite()) {
            return Err(Error::invalid("tol", format!("{} must be > 0", self.tol)));
        }
        if self.max_iter == 0 {
            return Err(Error::invalid("max_iter", "must be at least 1"));
        }
        Ok(())
    }

    /// Coordinate descent from θ = 0.
    fn solve(&self, ne: &NormalEquations) -> LassoFit {
        self.solve_from(ne, None)
    }
}

/// Coefficients along a decreasing sequence of λ, each fit warm-started from the previous.
#[derive(Clone, Debug, PartialEq)]
pub struct LassoPath {
    /// λ values, largest first.
    pub lambdas: Vec<f64>,
    /// The fit at each λ.
    pub fits: Vec<LassoFit>,
}

impl LassoPath {
    /// The indices of the non-zero coefficients at each λ.
    pub fn active_sets(&self) -> Vec<Vec<usize>> {
        self.fits
            .iter()
            .map(|f| {
                f.model
                    .coef
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c != 0.0)
                    .map(|(j, _)| j)
                    .collect()
            })
            .collect()
    }
}

/// λ_max = 2·max|cⱼ|/n: the smallest λ at which every coefficient is zero.
pub fn lambda_max(ne: &NormalEquations) -> f64 {
    2.0 * ne.xty.iter().fold(0.0f64, |m, v| m.max(v.abs())) / ne.n as f64
}

/// `count` values from λ_max down to λ_max·`ratio`, evenly spaced in log λ (scikit-learn's
/// `lasso_path` grid with eps = ratio).
pub fn lambda_grid(ne: &NormalEquations, count: usize, ratio: f64) -> Vec<f64> {
    let hi = lambda_max(ne);
    if count <= 1 {
        return vec![hi];
    }
    (0..count)
        .map(|k| hi * ratio.powf(k as f64 / (count - 1) as f64))
        .collect()
}

impl Lasso {
    /// The regularisation path over `lambdas` (sorted here from large to small), warm starts
    /// carrying each solution to the next λ. `self.lambda` is ignored.
    pub fn path_on<B: Backend>(
        &self,
        x: &Matrix,
        y: &[f64],
        lambdas: &[f64],
        device: &B::Device,
    ) -> Result<LassoPath> {
        let ne = NormalEquations::compute::<B>(x, y, self.fit_intercept, device)?;
        self.path_normal(&ne, lambdas)
    }

    /// The path on the CPU in f64 ([`LinalgCpu`]).
    pub fn path(&self, x: &Matrix, y: &[f64], lambdas: &[f64]) -> Result<LassoPath> {
        self.path_on::<LinalgCpu>(x, y, lambdas, &Default::default())
    }

    /// The path from precomputed normal equations.
    pub fn path_normal(&self, ne: &NormalEquations, lambdas: &[f64]) -> Result<LassoPath> {
        if lambdas.is_empty() {
            return Err(Error::invalid("λ path", "no λ values given"));
        }
        let mut lambdas = lambdas.to_vec();
        for &l in &lambdas {
            check_lambda(l)?;
        }
        lambdas.sort_by(|a, b| b.total_cmp(a));
        let mut fits: Vec<LassoFit> = Vec::with_capacity(lambdas.len());
        for &lambda in &lambdas {
            let cfg = Lasso { lambda, ..*self };
            cfg.check()?;
            let warm = fits.last().map(|f| f.model.coef.clone());
            fits.push(cfg.solve_from(ne, warm.as_deref()));
        }
        Ok(LassoPath { lambdas, fits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::testing::TestBackendF64 as B;

    fn orthogonal_design() -> (Matrix, Vec<f64>) {
        // Two centred orthogonal columns, so the Lasso solution is soft-thresholded OLS.
        let x = Matrix::from_rows(
            "X",
            &[
                vec![1.0, 1.0],
                vec![1.0, -1.0],
                vec![-1.0, 1.0],
                vec![-1.0, -1.0],
            ],
        )
        .unwrap();
        let y = vec![3.0, 1.0, 0.0, -4.0];
        (x, y)
    }

    #[test]
    fn orthogonal_design_is_soft_thresholded_ols() {
        // Gⱼⱼ = 4, c = X̃ᵀỹ = (8, 6) (ȳ = 0); θⱼ = S(cⱼ, nλ/2)/4 with n = 4.
        let (x, y) = orthogonal_design();
        for lambda in [0.0, 0.5, 2.0, 3.5, 5.0] {
            let mut cfg = Lasso::new(lambda);
            cfg.tol = 1e-12;
            let fit = cfg.fit(&x, &y).unwrap();
            let s = |z: f64| z.signum() * (z.abs() - 2.0 * lambda).max(0.0) / 4.0;
            assert!(fit.converged);
            assert!(
                (fit.model.coef[0] - s(8.0)).abs() < 1e-12,
                "λ={lambda} {fit:?}"
            );
            assert!(
                (fit.model.coef[1] - s(6.0)).abs() < 1e-12,
                "λ={lambda} {fit:?}"
            );
        }
    }

    #[test]
    fn lambda_max_zeroes_everything_and_just_below_does_not() {
        let (x, y) = orthogonal_design();
        let ne = NormalEquations::compute::<B>(&x, &y, true, &Default::default()).unwrap();
        let top = lambda_max(&ne);
        assert!((top - 4.0).abs() < 1e-12); // 2·8/4
        let path = Lasso::new(0.0)
            .path_normal(&ne, &[top, 0.99 * top])
            .unwrap();
        assert_eq!(path.active_sets(), vec![vec![], vec![0]]);
        let grid = lambda_grid(&ne, 3, 1e-2);
        assert!((grid[1] - top * 0.1).abs() < 1e-12 && (grid[2] - top * 0.01).abs() < 1e-12);
    }

    #[test]
    fn gap_is_zero_at_the_optimum_and_positive_elsewhere() {
        let (x, y) = orthogonal_design();
        let ne = NormalEquations::compute::<B>(&x, &y, true, &Default::default()).unwrap();
        let gamma = 4.0 * 2.0 / 2.0; // λ = 2
        let at = |theta: [f64; 2]| {
            let q: Vec<f64> = (0..2)
                .map(|i| ne.gram[(i, 0)] * theta[0] + ne.gram[(i, 1)] * theta[1])
                .collect();
            duality_gap(&ne, &theta, &q, gamma)
        };
        assert!(at([1.0, 0.5]).abs() < 1e-12); // S(8, 4)/4, S(6, 4)/4
        assert!(at([1.2, 0.5]) > 1e-3);
    }

    #[test]
    fn bad_settings_are_named() {
        let (x, y) = orthogonal_design();
        assert!(Lasso::new(-0.1)
            .fit(&x, &y)
            .unwrap_err()
            .to_string()
            .contains("λ"));
        let mut cfg = Lasso::new(0.1);
        cfg.tol = 0.0;
        assert!(cfg.fit(&x, &y).unwrap_err().to_string().contains("tol"));
    }
}
