//! Gradient descent for any differentiable cost given by its gradient, with the update rules
//! of [`gdl_core::optim`] (GD, momentum, ADAGRAD, RMSprop, ADAM) and either full-batch
//! iterations or mini-batch SGD (epochs of shuffled mini-batches, a learning-rate schedule).
//!
//! For mini-batch B of size m the least-squares gradient is
//!   ∇C_B(θ) = (2/m) X_Bᵀ(X_Bθ − y_B) + 2λθ,
//! an unbiased estimate of the full gradient (2/n)Xᵀ(Xθ − y) + 2λθ.

use crate::design::Matrix;
use crate::linear::check_lambda;
use crate::normal::check_data;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use gdl_core::optim::{UpdateRule, UpdateRuleConfig};
use gdl_core::run::check_finite;
use gdl_core::seed::{derive_seed, host_rng};
use gdl_core::tensor::{from_f64, to_f64};
use gdl_core::train::{fit, Batches, FitOptions, StepFigures, StepInfo, TrainStep};
use gdl_core::{Error, Result};
use rand::seq::SliceRandom;
use std::path::Path;

/// A cost C(θ) over n data points with its gradient, on backend `B`.
pub trait DifferentiableCost<B: Backend> {
    /// n: data points (mini-batches index 0..n).
    fn n(&self) -> usize;
    /// The number of parameters.
    fn dim(&self) -> usize;
    /// C(θ) on all data.
    fn cost(&self, theta: Tensor<B, 1>) -> f64;
    /// ∇C(θ) on all data (`None`) or on the data points `batch`.
    fn gradient(&self, theta: Tensor<B, 1>, batch: Option<&[usize]>) -> Tensor<B, 1>;
}

/// The least-squares cost C(θ) = (1/n)||y − Xθ||² + λ||θ||² (OLS for λ = 0, Ridge otherwise),
/// with X used as given (add an intercept column to the design to get one; it is penalised).
#[derive(Clone, Debug)]
pub struct LeastSquaresCost<B: Backend> {
    x: Tensor<B, 2>, // [n, p]
    y: Tensor<B, 2>, // [n, 1]
    lambda: f64,
    device: B::Device,
}

impl<B: Backend> LeastSquaresCost<B> {
    /// The cost of (X, y) with penalty λ on `device`.
    pub fn new(x: &Matrix, y: &[f64], lambda: f64, device: &B::Device) -> Result<Self> {
        check_data(x, y)?;
        check_lambda(lambda)?;
        Ok(LeastSquaresCost {
            x: from_f64(x.data.clone(), [x.rows, x.cols], device),
            y: from_f64(y.to_vec(), [y.len(), 1], device),
            lambda,
            device: device.clone(),
        })
    }
}

impl<B: Backend> DifferentiableCost<B> for LeastSquaresCost<B> {
    fn n(&self) -> usize {
        self.x.dims()[0]
    }

    fn dim(&self) -> usize {
        self.x.dims()[1]
    }

    fn cost(&self, theta: Tensor<B, 1>) -> f64 {
        let p = self.dim();
        // (1/n)||y − Xθ||² + λ||θ||²
        let r = self.y.clone() - self.x.clone().matmul(theta.clone().reshape([p, 1]));
        let mse = to_f64(r.powi_scalar(2).mean())[0];
        mse + self.lambda * to_f64(theta.powi_scalar(2).sum())[0]
    }

    fn gradient(&self, theta: Tensor<B, 1>, batch: Option<&[usize]>) -> Tensor<B, 1> {
        let p = self.dim();
        let (x, y) = match batch {
            None => (self.x.clone(), self.y.clone()),
            Some(rows) => {
                let idx = Tensor::<B, 1, Int>::from_data(
                    TensorData::new(rows.iter().map(|&i| i as i64).collect(), [rows.len()]),
                    &self.device,
                );
                (
                    self.x.clone().select(0, idx.clone()),
                    self.y.clone().select(0, idx),
                )
            }
        };
        let m = x.dims()[0] as f64;
        // (2/m) Xᵀ(Xθ − y) + 2λθ
        let residual = x.clone().matmul(theta.clone().reshape([p, 1])) - y; // [m, 1]
        let grad = x
            .transpose()
            .matmul(residual)
            .reshape([p])
            .mul_scalar(2.0 / m);
        grad + theta.mul_scalar(2.0 * self.lambda)
    }
}

/// Full-batch iterations or mini-batch epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Batching {
    /// `iterations` steps on the full gradient; stops early once ||∇C|| < `tol`.
    Full {
        /// The most steps.
        iterations: usize,
        /// Stop once ||∇C|| < tol.
        tol: f64,
    },
    /// `epochs` passes over the data in shuffled mini-batches of `batch_size` (the last one
    /// may be smaller).
    MiniBatch {
        /// Data points per mini-batch.
        batch_size: usize,
        /// Passes over the data.
        epochs: usize,
    },
}

/// A gradient-descent run: update rule, batching and the seed of the shuffles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientDescent {
    /// The update rule (GD, momentum, ADAGRAD, RMSprop, ADAM) and its learning-rate schedule.
    pub optimizer: UpdateRuleConfig,
    /// Full-batch iterations or mini-batch epochs.
    pub batching: Batching,
    /// Seeds the mini-batch shuffles.
    pub seed: u64,
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct GdRun<B: Backend> {
    /// The final θ.
    pub theta: Tensor<B, 1>,
    /// C(θ) before the first step and after every step.
    pub costs: Vec<f64>,
    /// Steps taken.
    pub steps: usize,
}

/// Gradient descent on a cost as a step of the driver ([`TrainStep`]): a batch is the data
/// points of one mini-batch (`None`: all of them), the step's figure `cost` is C(θ) on all
/// data before the step, kept in `costs`.
pub struct Descent<'c, B: Backend, C> {
    cost: &'c C,
    /// θ.
    pub theta: Tensor<B, 1>,
    rule: UpdateRule<B>,
    /// C(θ) before each step taken.
    pub costs: Vec<f64>,
}

impl<B: Backend, C: DifferentiableCost<B>> TrainStep<B> for Descent<'_, B, C> {
    type Batch = Option<Vec<usize>>;
    /// ∇C_B(θ).
    type Update = Tensor<B, 1>;

    fn forward(&mut self, batch: Self::Batch, _at: StepInfo) -> (StepFigures<B>, Tensor<B, 1>) {
        let c = self.cost.cost(self.theta.clone());
        self.costs.push(c);
        let grad = self.cost.gradient(self.theta.clone(), batch.as_deref());
        (StepFigures::on_host([("cost", c)]), grad)
    }

    /// θ ← the update rule's step from θ with ∇C_B(θ).
    fn apply(mut self, grad: Tensor<B, 1>, _at: StepInfo) -> Self {
        self.theta = self.rule.step(0, self.theta, grad);
        self
    }

    fn save(&self, _dir: &Path) -> Result<()> {
        Err(Error::invalid("checkpoint", "gradient descent keeps none"))
    }

    fn load(self, _dir: &Path, _device: &B::Device) -> Result<Self> {
        Err(Error::invalid("checkpoint", "gradient descent keeps none"))
    }
}

/// The n data points in mini-batches of `batch_size`, shuffled afresh each epoch from
/// (seed, epoch).
struct IndexBatches {
    n: usize,
    batch_size: usize,
    seed: u64,
}

impl<B: Backend> Batches<B> for IndexBatches {
    type Batch = Option<Vec<usize>>;

    fn num_batches(&self) -> usize {
        self.n.div_ceil(self.batch_size)
    }

    fn epoch(&self, epoch: u64, _device: &B::Device) -> impl Iterator<Item = Self::Batch> {
        let mut order: Vec<usize> = (0..self.n).collect();
        order.shuffle(&mut host_rng(derive_seed(self.seed, epoch)));
        let chunks: Vec<Option<Vec<usize>>> = order
            .chunks(self.batch_size)
            .map(|c| Some(c.to_vec()))
            .collect();
        chunks.into_iter()
    }
}

impl GradientDescent {
    /// Minimises `cost` from `theta0`: full-batch iterations here, mini-batch epochs through
    /// the driver ([`fit`]). A cost that becomes NaN or infinite (a learning rate too large)
    /// stops the run with an error naming the step (full-batch: before its update).
    pub fn minimize<B: Backend, C: DifferentiableCost<B>>(
        &self,
        cost: &C,
        theta0: Tensor<B, 1>,
    ) -> Result<GdRun<B>> {
        if theta0.dims()[0] != cost.dim() {
            return Err(Error::invalid(
                "θ₀",
                format!(
                    "{} parameters, the cost has {}",
                    theta0.dims()[0],
                    cost.dim()
                ),
            ));
        }
        let device = theta0.device();
        let mut descent = Descent {
            cost,
            theta: theta0,
            rule: self.optimizer.init::<B>()?,
            costs: Vec::new(),
        };
        match self.batching {
            Batching::Full { iterations, tol } => {
                for i in 0..iterations {
                    let at = StepInfo {
                        epoch: i + 1,
                        step: i + 1,
                        steps_per_epoch: 1,
                    };
                    // One gradient per iteration: checked against tol, then used for the step.
                    let (figures, grad) = descent.forward(None, at);
                    figures.read().check_finite(at.step)?;
                    let norm = to_f64(grad.clone().powi_scalar(2).sum())[0].sqrt();
                    if norm < tol {
                        descent.costs.pop();
                        break;
                    }
                    descent = descent.apply(grad, at);
                }
            }
            Batching::MiniBatch { batch_size, epochs } => {
                if batch_size == 0 {
                    return Err(Error::invalid("batch size", "must be at least 1"));
                }
                let batches = IndexBatches {
                    n: cost.n(),
                    batch_size,
                    seed: self.seed,
                };
                let options = FitOptions {
                    epochs,
                    seed: self.seed,
                    run: None,
                    progress: false,
                };
                (descent, _) = fit(descent, &batches, &options, &device, |_, _| Ok(()))?;
            }
        }
        let steps = descent.costs.len();
        let mut costs = descent.costs;
        costs.push(check_finite(
            "cost",
            cost.cost(descent.theta.clone()),
            steps,
        )?);
        Ok(GdRun {
            theta: descent.theta,
            costs,
            steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::optim::Method;
    use gdl_core::testing::TestBackendF64 as B;

    #[test]
    fn gradient_matches_central_differences() {
        let _serial = gdl_core::seed::serial();
        let x = Matrix::from_rows("X", &[vec![1.0, 0.5], vec![1.0, -2.0], vec![1.0, 3.0]]).unwrap();
        let y = [1.0, -1.0, 4.0];
        let cost = LeastSquaresCost::<B>::new(&x, &y, 0.3, &Default::default()).unwrap();
        let theta = [0.2, -0.7];
        let t = |v: [f64; 2]| from_f64::<B, 1>(v.to_vec(), [2], &Default::default());
        let g = to_f64(cost.gradient(t(theta), None));
        let h = 1e-6;
        for j in 0..2 {
            let (mut up, mut down) = (theta, theta);
            up[j] += h;
            down[j] -= h;
            let fd = (cost.cost(t(up)) - cost.cost(t(down))) / (2.0 * h);
            assert!((g[j] - fd).abs() < 1e-7, "coord {j}: {} vs {fd}", g[j]);
        }
        // A batch of every row in order equals the full gradient.
        let gb = to_f64(cost.gradient(t(theta), Some(&[0, 1, 2])));
        assert!((g[0] - gb[0]).abs() < 1e-14 && (g[1] - gb[1]).abs() < 1e-14);
    }

    #[test]
    fn divergence_is_an_error_naming_the_step() {
        let _serial = gdl_core::seed::serial();
        let x = Matrix::from_rows("X", &[vec![10.0], vec![-10.0]]).unwrap();
        let cost = LeastSquaresCost::<B>::new(&x, &[1.0, 1.0], 0.0, &Default::default()).unwrap();
        let gd = GradientDescent {
            optimizer: UpdateRuleConfig::new(Method::Gd, 10.0),
            batching: Batching::Full {
                iterations: 10_000,
                tol: 0.0,
            },
            seed: 0,
        };
        let e = gd
            .minimize(&cost, from_f64(vec![1.0], [1], &Default::default()))
            .unwrap_err();
        assert!(e.to_string().contains("at step"), "{e}");
    }
}
