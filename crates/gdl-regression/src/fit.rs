//! The chain every normal-equation fit shares: check the settings, form G = X̃ᵀX̃ and
//! c = X̃ᵀỹ on a backend (X̃, ỹ centred when there is an intercept), then solve. OLS and Ridge
//! solve (G + nλI)θ = c directly; Lasso runs coordinate descent on G and c.

use crate::design::Matrix;
use crate::normal::NormalEquations;
use burn::tensor::backend::Backend;
use gdl_core::backend::LinalgCpu;
use gdl_core::Result;

/// A least-squares estimator fitted through the normal equations.
pub trait Fit {
    /// The fitted model (with solver diagnostics).
    type Output;

    /// Whether an unpenalised intercept θ₀ is fitted (the data are centred first).
    fn fit_intercept(&self) -> bool;

    /// The settings checked before any work, errors naming the field.
    fn check(&self) -> Result<()>;

    /// The fit from precomputed normal equations.
    fn solve(&self, ne: &NormalEquations) -> Self::Output;

    /// Fits (X, y) with the products computed on backend `B`.
    fn fit_on<B: Backend>(
        &self,
        x: &Matrix,
        y: &[f64],
        device: &B::Device,
    ) -> Result<Self::Output> {
        self.check()?;
        let ne = NormalEquations::compute::<B>(x, y, self.fit_intercept(), device)?;
        Ok(self.solve(&ne))
    }

    /// Fits (X, y) on the CPU in f64 ([`LinalgCpu`]).
    fn fit(&self, x: &Matrix, y: &[f64]) -> Result<Self::Output> {
        self.fit_on::<LinalgCpu>(x, y, &Default::default())
    }
}
