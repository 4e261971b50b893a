//! The restricted Boltzmann machine on tensors, binary-binary or Gaussian-binary.
//!
//! | symbol | meaning | shape |
//! |---|---|---|
//! | x | visible units: {0,1} (binary) or real (Gaussian) | [N, n_v] |
//! | h | hidden units in {0,1} | [N, n_h] |
//! | a, b | visible and hidden biases | n_v, n_h |
//! | W | weights, W_ij couples x_i and h_j | [n_v, n_h] |
//! | σ | standard deviations of Gaussian visibles (fixed, 1 for binary) | n_v |
//!
//! Energies, as the lecture writes them:
//!
//! ```text
//! binary-binary    E(x, h) = −aᵀx − bᵀh − xᵀWh
//! Gaussian-binary  E(x, h) = Σ_i (x_i − a_i)²/(2σ_i²) − bᵀh − Σ_ij x_i W_ij h_j / σ_i²
//! ```
//!
//! With the hidden input c_j(x) = b_j + Σ_i (x_i/σ_i²) W_ij the conditionals factorise:
//! p(h_j = 1|x) = sigmoid(c_j(x)); binary p(x_i = 1|h) = sigmoid(a_i + Σ_j W_ij h_j);
//! Gaussian p(x_i|h) = N(a_i + Σ_j W_ij h_j, σ_i²). Summing h out gives the free energy
//! F(x) = −log Σ_h e^(−E(x,h)) = [−aᵀx | Σ_i (x_i − a_i)²/(2σ_i²)] − Σ_j softplus(c_j(x)).

pub mod ais;
pub mod cd;
pub mod dbn;
pub mod exact;
pub mod sample;
pub mod train;

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{backend::Backend, Distribution, Tensor};
use gdl_core::functions::{sigmoid, softplus};
use gdl_core::linear::linear;
use gdl_core::Error;

/// The kind of visible units.
#[derive(Config, Debug, Copy, PartialEq)]
pub enum Visible {
    /// x_i ∈ {0, 1}.
    Binary,
    /// x_i ∈ ℝ with p(x_i|h) Gaussian of standard deviation σ (the same for every unit).
    Gaussian {
        /// σ.
        sigma: f64,
    },
}

/// An RBM's sizes and initialisation.
#[derive(Config, Debug)]
pub struct RbmConfig {
    /// n_v.
    pub n_visible: usize,
    /// n_h.
    pub n_hidden: usize,
    /// Binary or Gaussian visibles.
    #[config(default = "Visible::Binary")]
    pub visible: Visible,
    /// W_ij ~ N(0, init_std²) (Hinton's guide: 0.01); biases start at 0.
    #[config(default = 0.01)]
    pub init_std: f64,
}

impl RbmConfig {
    /// The RBM, with weights from the seeded backend RNG. Errors name the field.
    pub fn init<B: Backend>(&self, device: &B::Device) -> gdl_core::Result<Rbm<B>> {
        if self.n_visible == 0 || self.n_hidden == 0 {
            return Err(Error::invalid(
                "RBM size",
                format!(
                    "{} visible x {} hidden units",
                    self.n_visible, self.n_hidden
                ),
            ));
        }
        let sigma = match self.visible {
            Visible::Binary => 1.0,
            Visible::Gaussian { sigma } if sigma > 0.0 && sigma.is_finite() => sigma,
            Visible::Gaussian { sigma } => {
                return Err(Error::invalid("Gaussian σ", format!("{sigma} is not > 0")))
            }
        };
        let (nv, nh) = (self.n_visible, self.n_hidden);
        Ok(Rbm {
            w: Param::from_tensor(Tensor::random(
                [nv, nh],
                Distribution::Normal(0.0, self.init_std),
                device,
            )),
            a: Param::from_tensor(Tensor::zeros([nv], device)),
            b: Param::from_tensor(Tensor::zeros([nh], device)),
            sigma: Param::from_tensor(Tensor::full([nv], sigma, device)),
            visible: self.visible,
        })
    }
}

/// A restricted Boltzmann machine. Trained with explicit gradients (contrastive divergence),
/// so the parameters are plain tensors updated in place by [`Rbm::update`].
#[derive(Module, Debug)]
pub struct Rbm<B: Backend> {
    /// W [n_v, n_h].
    pub w: Param<Tensor<B, 2>>,
    /// a [n_v].
    pub a: Param<Tensor<B, 1>>,
    /// b [n_h].
    pub b: Param<Tensor<B, 1>>,
    /// σ [n_v] (ones for binary visibles; never trained).
    pub sigma: Param<Tensor<B, 1>>,
    /// Binary or Gaussian visibles.
    #[module(skip)]
    pub visible: Visible,
}

/// A Bernoulli draw with probabilities p: 1[u < p], u ~ U(0, 1).
pub use gdl_core::random::bernoulli;

impl<B: Backend> Rbm<B> {
    /// An RBM from explicit parameters (w [n_v, n_h], a [n_v], b [n_h]).
    pub fn from_parameters(
        w: Tensor<B, 2>,
        a: Tensor<B, 1>,
        b: Tensor<B, 1>,
        visible: Visible,
    ) -> Self {
        let sigma = match visible {
            Visible::Binary => 1.0,
            Visible::Gaussian { sigma } => sigma,
        };
        let sigma = a.ones_like().mul_scalar(sigma);
        Rbm {
            w: Param::from_tensor(w),
            a: Param::from_tensor(a),
            b: Param::from_tensor(b),
            sigma: Param::from_tensor(sigma),
            visible,
        }
    }

    /// (n_v, n_h).
    pub fn dims(&self) -> (usize, usize) {
        let [nv, nh] = self.w.dims();
        (nv, nh)
    }

    /// x_i / σ_i² [N, n_v]: the visible units as the energy couples them (x for binary).
    pub fn scaled_visible(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        match self.visible {
            Visible::Binary => x,
            Visible::Gaussian { .. } => x / self.sigma.val().powi_scalar(2).unsqueeze_dim(0),
        }
    }

    /// c(x) = b + (x/σ²) W [N, n_h], the input of the hidden units.
    pub fn hidden_input(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        linear(self.scaled_visible(x), self.w.val(), Some(self.b.val()))
    }

    /// p(h_j = 1 | x) = sigmoid(c_j(x)) [N, n_h].
    pub fn p_h_given_x(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        sigmoid(self.hidden_input(x))
    }

    /// a + W h [N, n_v]: the input of the visible units.
    pub fn visible_input(&self, h: Tensor<B, 2>) -> Tensor<B, 2> {
        linear(h, self.w.val().transpose(), Some(self.a.val()))
    }

    /// E[x | h] [N, n_v]: sigmoid(a + W h) for binary visibles, a + W h for Gaussian ones.
    pub fn visible_mean(&self, h: Tensor<B, 2>) -> Tensor<B, 2> {
        match self.visible {
            Visible::Binary => sigmoid(self.visible_input(h)),
            Visible::Gaussian { .. } => self.visible_input(h),
        }
    }

    /// h ~ p(h|x).
    pub fn sample_h(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        bernoulli(self.p_h_given_x(x))
    }

    /// x ~ p(x|h): Bernoulli(sigmoid(a + W h)), or a + W h + σ ⊙ ε with ε ~ N(0, I).
    pub fn sample_x(&self, h: Tensor<B, 2>) -> Tensor<B, 2> {
        self.sample_x_given_mean(self.visible_mean(h))
    }

    /// x ~ p(x|h) from its mean E[x|h] (`visible_mean`), when the mean is already computed.
    pub fn sample_x_given_mean(&self, mean: Tensor<B, 2>) -> Tensor<B, 2> {
        match self.visible {
            Visible::Binary => bernoulli(mean),
            Visible::Gaussian { .. } => {
                let eps = gdl_core::random::random_like(&mean, Distribution::Normal(0.0, 1.0));
                mean + eps * self.sigma.val().unsqueeze_dim(0)
            }
        }
    }

    /// One step of block Gibbs sampling: h ~ p(h|x), then x' ~ p(x|h).
    pub fn gibbs_step(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.sample_x(self.sample_h(x))
    }

    /// The visible part of the energy: −aᵀx, or Σ_i (x_i − a_i)²/(2σ_i²); [N].
    fn visible_energy(&self, x: Tensor<B, 2>) -> Tensor<B, 1> {
        let a = self.a.val().unsqueeze_dim(0);
        match self.visible {
            Visible::Binary => (x * a).sum_dim(1).squeeze_dim::<1>(1).neg(),
            Visible::Gaussian { .. } => {
                let two_sigma2 = self.sigma.val().powi_scalar(2).mul_scalar(2.0);
                ((x - a).powi_scalar(2) / two_sigma2.unsqueeze_dim(0))
                    .sum_dim(1)
                    .squeeze_dim::<1>(1)
            }
        }
    }

    /// E(x, h) [N] as in the module doc.
    pub fn energy(&self, x: Tensor<B, 2>, h: Tensor<B, 2>) -> Tensor<B, 1> {
        // −bᵀh − (x/σ²)ᵀ W h = −Σ_j h_j c_j(x)
        let coupling = (self.hidden_input(x.clone()) * h)
            .sum_dim(1)
            .squeeze_dim::<1>(1);
        self.visible_energy(x) - coupling
    }

    /// F(x) = visible energy − Σ_j softplus(c_j(x)) [N].
    pub fn free_energy(&self, x: Tensor<B, 2>) -> Tensor<B, 1> {
        let hidden = softplus(self.hidden_input(x.clone()))
            .sum_dim(1)
            .squeeze_dim::<1>(1);
        self.visible_energy(x) - hidden
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::tensor::{from_f64, to_f64};
    use gdl_core::testing::TestBackendF64 as B;

    /// A tiny RBM with fixed parameters (n_v = 3, n_h = 2).
    pub(crate) fn tiny<B: Backend>(visible: Visible) -> Rbm<B> {
        let d = Default::default();
        let v = |n: usize, p: f64| {
            (0..n)
                .map(|i| (i as f64 * 1.3 + p).sin())
                .collect::<Vec<_>>()
        };
        Rbm::from_parameters(
            from_f64(v(6, 0.4), [3, 2], &d),
            from_f64(v(3, 0.9), [3], &d),
            from_f64(v(2, 2.0), [2], &d),
            visible,
        )
    }

    fn bits(s: usize, n: usize) -> Vec<f64> {
        (0..n).map(|i| ((s >> i) & 1) as f64).collect()
    }

    /// e^(−E(x, h)) for every h of n_h = 2, for one x.
    fn joint_over_h(rbm: &Rbm<B>, x: &[f64]) -> Vec<f64> {
        let d = Default::default();
        (0..4)
            .map(|s| {
                let e = rbm.energy(
                    from_f64(x.to_vec(), [1, x.len()], &d),
                    from_f64(bits(s, 2), [1, 2], &d),
                );
                (-to_f64(e)[0]).exp()
            })
            .collect()
    }

    #[test]
    fn conditionals_equal_ratios_of_joint_probabilities() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        for visible in [Visible::Binary, Visible::Gaussian { sigma: 0.7 }] {
            let rbm = tiny::<B>(visible);
            // p(h_j = 1 | x) = Σ_{h: h_j = 1} e^(−E(x,h)) / Σ_h e^(−E(x,h)), for several x.
            for x in [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [0.3, -1.2, 2.0]] {
                let joint = joint_over_h(&rbm, &x);
                let total: f64 = joint.iter().sum();
                let p = to_f64(rbm.p_h_given_x(from_f64(x.to_vec(), [1, 3], &d)));
                for (j, &pj) in p.iter().enumerate() {
                    let on: f64 = (0..4).filter(|s| s >> j & 1 == 1).map(|s| joint[s]).sum();
                    assert!((pj - on / total).abs() < 1e-12, "{visible:?} x {x:?} h{j}");
                }
                // F(x) = −log Σ_h e^(−E(x,h))
                let f = to_f64(rbm.free_energy(from_f64(x.to_vec(), [1, 3], &d)))[0];
                assert!((f + total.ln()).abs() < 1e-12, "{visible:?} F({x:?})");
            }
        }
        // Binary visibles: p(x_i = 1 | h) from the joint over the 8 states of x.
        let rbm = tiny::<B>(Visible::Binary);
        for hs in 0..4 {
            let h = bits(hs, 2);
            let weight = |x: &[f64]| {
                let e = rbm.energy(
                    from_f64(x.to_vec(), [1, 3], &d),
                    from_f64(h.clone(), [1, 2], &d),
                );
                (-to_f64(e)[0]).exp()
            };
            let all: Vec<(Vec<f64>, f64)> =
                (0..8).map(|s| (bits(s, 3), weight(&bits(s, 3)))).collect();
            let total: f64 = all.iter().map(|(_, w)| w).sum();
            let p = to_f64(rbm.visible_mean(from_f64(h.clone(), [1, 2], &d)));
            for i in 0..3 {
                let on: f64 = all
                    .iter()
                    .filter(|(x, _)| x[i] == 1.0)
                    .map(|(_, w)| w)
                    .sum();
                assert!((p[i] - on / total).abs() < 1e-12, "h {h:?} x{i}");
            }
        }
    }

    /// The energies, free energies and conditionals against hand-written loops over the raw
    /// parameters (no helper of the module), and the binary RBM against the host `BinaryRbm`.
    #[test]
    fn energies_and_conditionals_equal_hand_computed_values() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        let sigma = 0.7;
        let rbm = tiny::<B>(Visible::Gaussian { sigma });
        let (w, a, b) = (
            to_f64(rbm.w.val()),
            to_f64(rbm.a.val()),
            to_f64(rbm.b.val()),
        );
        let (xs, hs) = ([0.3, -1.2, 2.0], [1.0, 0.0]);
        let softplus = |t: f64| (1.0 + t.exp()).ln();
        // E(x, h) = Σ_i (x_i − a_i)²/(2σ²) − Σ_j b_j h_j − Σ_ij (x_i/σ²) W_ij h_j
        let mut e = 0.0;
        for i in 0..3 {
            e += (xs[i] - a[i]).powi(2) / (2.0 * sigma * sigma);
            for j in 0..2 {
                e -= xs[i] / (sigma * sigma) * w[i * 2 + j] * hs[j];
            }
        }
        for j in 0..2 {
            e -= b[j] * hs[j];
        }
        let x = || from_f64::<B, 2>(xs.to_vec(), [1, 3], &d);
        let h = || from_f64::<B, 2>(hs.to_vec(), [1, 2], &d);
        assert!((to_f64(rbm.energy(x(), h()))[0] - e).abs() < 1e-12);
        // F(x) = Σ_i (x_i − a_i)²/(2σ²) − Σ_j softplus(b_j + Σ_i x_i W_ij / σ²)
        let c =
            |j: usize| b[j] + (0..3).map(|i| xs[i] * w[i * 2 + j]).sum::<f64>() / (sigma * sigma);
        let f = (0..3)
            .map(|i| (xs[i] - a[i]).powi(2) / (2.0 * sigma * sigma))
            .sum::<f64>()
            - (0..2).map(|j| softplus(c(j))).sum::<f64>();
        assert!((to_f64(rbm.free_energy(x()))[0] - f).abs() < 1e-12);
        // p(h_j = 1 | x) = sigmoid(c_j(x)); E[x_i | h] = a_i + Σ_j W_ij h_j
        let p = to_f64(rbm.p_h_given_x(x()));
        let mean = to_f64(rbm.visible_mean(h()));
        for (j, pj) in p.iter().enumerate() {
            assert!((pj - 1.0 / (1.0 + (-c(j)).exp())).abs() < 1e-12, "h{j}");
        }
        for i in 0..3 {
            let m = a[i] + (0..2).map(|j| w[i * 2 + j] * hs[j]).sum::<f64>();
            assert!((mean[i] - m).abs() < 1e-12, "x{i}");
        }

        // Binary visibles: the tensor RBM and the host RBM agree on every state.
        let rbm = tiny::<B>(Visible::Binary);
        let host = crate::rbm::exact::BinaryRbm::new(
            to_f64(rbm.a.val()),
            to_f64(rbm.b.val()),
            to_f64(rbm.w.val()),
        )
        .unwrap();
        for s in 0..8 {
            let x = bits(s, 3);
            let xt = || from_f64::<B, 2>(x.clone(), [1, 3], &d);
            let f = to_f64(rbm.free_energy(xt()))[0];
            assert!((f - host.free_energy(&x)).abs() < 1e-12, "F({x:?})");
            let p = to_f64(rbm.p_h_given_x(xt()));
            for (j, (p, q)) in p.iter().zip(host.p_h_given_x(&x)).enumerate() {
                assert!((p - q).abs() < 1e-12, "p(h{j} | {x:?})");
            }
            for t in 0..4 {
                let h = bits(t, 2);
                let e = to_f64(rbm.energy(xt(), from_f64(h.clone(), [1, 2], &d)))[0];
                assert!((e - host.energy(&x, &h)).abs() < 1e-12, "E({x:?}, {h:?})");
            }
        }
    }

    #[test]
    fn gaussian_visibles_have_the_stated_mean_and_variance() {
        // f32: Burn 0.21 keeps one float type per NdArray device and process, and this test
        // draws random numbers beside the crate's f32 tests.
        type B = gdl_core::testing::TestBackend;
        let _serial = gdl_core::seed::serial();
        // x | h ~ N(a + W h, σ²): 100,000 draws at h = (1, 0).
        let d = Default::default();
        gdl_core::seed::seed_all::<B>(&d, 9);
        let sigma = 0.7;
        let rbm = tiny::<B>(Visible::Gaussian { sigma });
        let n = 100_000;
        let h = from_f64::<B, 2>([1.0, 0.0].repeat(n), [n, 2], &d);
        let mean = to_f64(rbm.visible_mean(h.clone().narrow(0, 0, 1)));
        let x = to_f64(rbm.sample_x(h));
        for (i, &mean_i) in mean.iter().enumerate() {
            let xi: Vec<f64> = x.iter().skip(i).step_by(3).copied().collect();
            let m = xi.iter().sum::<f64>() / n as f64;
            let v = xi.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
            let se = sigma / (n as f64).sqrt();
            assert!(
                (m - mean_i).abs() < 4.0 * se,
                "mean of x{i}: {m} vs {mean_i}"
            );
            // Var of the sample variance ≈ 2σ⁴/n.
            let se_v = (2.0 * sigma.powi(4) / n as f64).sqrt();
            assert!(
                (v - sigma * sigma).abs() < 4.0 * se_v,
                "variance of x{i}: {v}"
            );
        }
    }

    #[test]
    fn bad_configurations_name_the_field() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        let err = |c: RbmConfig| c.init::<B>(&d).unwrap_err().to_string();
        assert!(err(RbmConfig::new(0, 3)).contains("0 visible x 3 hidden"));
        assert!(
            err(RbmConfig::new(2, 3).with_visible(Visible::Gaussian { sigma: -1.0 })).contains("σ")
        );
    }
}
