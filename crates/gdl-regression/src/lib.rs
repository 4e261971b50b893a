//! # gdl-regression: least squares, the simplest learning problem
//!
//! The lecture's setting: n data points (x_i, y_i), a design matrix X whose columns are
//! features of x (here monomials up to a degree), parameters θ, and the cost
//! C(θ) = (1/n) ||y − Xθ||². Its minimiser solves the normal equations XᵀXθ = Xᵀy.
//!
//! The crate, in the lecture's order:
//!
//! * [`design`]: polynomial design matrices and standardisation; [`data`]: the lecture's test
//!   function and train/test splits; [`metrics`]: MSE and R²;
//! * [`normal`] and [`linear`]: OLS and Ridge by the normal equations, and [`lasso`]: Lasso by
//!   coordinate descent with its regularisation path, all through one [`Fit`] trait
//!   (check, form XᵀX and Xᵀy on a Burn backend, solve), checked against scikit-learn;
//! * [`gd`]: the same least-squares costs minimised by the gradient-descent family of
//!   `gdl_core::optim` (full batch, or mini-batch SGD through the shared training driver);
//! * [`validation`]: k-fold cross-validation and the bootstrap bias-variance decomposition.
//!
//! A design matrix and the metrics every fit is judged by:
//!
//! ```
//! use gdl_regression::design::polynomial_features;
//! use gdl_regression::metrics::{mse, r2};
//! // Two variables, degree 2: columns 1, x0, x1, x0², x0·x1, x1².
//! let x = polynomial_features(&[vec![2.0, 3.0]], 2, true).unwrap();
//! assert_eq!(x.row(0), &[1.0, 2.0, 3.0, 4.0, 6.0, 9.0]);
//! assert_eq!(mse(&[1.0, 2.0], &[1.0, 4.0]).unwrap(), 2.0);
//! assert_eq!(r2(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).unwrap(), 1.0);
//! ```

#![warn(missing_docs)]

pub mod data;
pub mod design;
pub mod fit;
pub mod gd;
pub mod lasso;
pub mod linear;
pub mod metrics;
pub mod normal;
pub mod validation;

pub use design::{polynomial_features, Matrix, Standardizer};
pub use fit::Fit;
pub use gd::{Batching, DifferentiableCost, GradientDescent, LeastSquaresCost};
pub use lasso::{Lasso, LassoFit, LassoPath};
pub use linear::{LinearModel, Ols, Ridge};
pub use normal::{NormalEquations, Solver};
