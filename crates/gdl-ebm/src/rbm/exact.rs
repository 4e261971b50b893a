//! The binary-binary RBM in f64 on the host, for exact computations on small models.
//!
//! | symbol | meaning | shape |
//! |---|---|---|
//! | x | visible units in {0,1} | n_v |
//! | h | hidden units in {0,1} | n_h |
//! | a, b | visible and hidden biases | n_v, n_h |
//! | W | weights, W[i][j] couples x_i and h_j | n_v x n_h |
//!
//! E(x, h) = −aᵀx − bᵀh − xᵀWh. Summing h out gives the free energy
//! F(x) = −aᵀx − Σ_j ln(1 + exp(b_j + Σ_i x_i W_ij)), with p(x) = exp(−F(x)) / Z.

use gdl_core::{Error, Result};

/// A binary-binary RBM with explicit parameters (W row-major, n_v x n_h).
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryRbm {
    /// a [n_v].
    pub a: Vec<f64>,
    /// b [n_h].
    pub b: Vec<f64>,
    /// W, row-major [n_v x n_h].
    pub w: Vec<f64>,
}

/// ln(1 + e^t) without overflow.
pub(crate) fn softplus(t: f64) -> f64 {
    if t > 0.0 {
        t + (-t).exp().ln_1p()
    } else {
        t.exp().ln_1p()
    }
}

/// The bits of `state` as a vector of n {0,1} values.
fn bits(state: u64, n: usize) -> Vec<f64> {
    (0..n).map(|i| ((state >> i) & 1) as f64).collect()
}

/// ln Σ exp(v) computed stably.
fn log_sum_exp(v: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.collect();
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

impl BinaryRbm {
    /// An RBM from its biases and weights; W must hold n_v x n_h values.
    pub fn new(a: Vec<f64>, b: Vec<f64>, w: Vec<f64>) -> Result<Self> {
        if w.len() != a.len() * b.len() || a.is_empty() || b.is_empty() {
            return Err(Error::invalid(
                "RBM weights",
                format!(
                    "W has {} values for {} visible x {} hidden units",
                    w.len(),
                    a.len(),
                    b.len()
                ),
            ));
        }
        Ok(BinaryRbm { a, b, w })
    }

    /// E(x, h) = −aᵀx − bᵀh − xᵀWh.
    pub fn energy(&self, x: &[f64], h: &[f64]) -> f64 {
        let nh = self.b.len();
        let ax: f64 = self.a.iter().zip(x).map(|(a, x)| a * x).sum();
        let bh: f64 = self.b.iter().zip(h).map(|(b, h)| b * h).sum();
        let xwh: f64 = (0..x.len())
            .flat_map(|i| (0..nh).map(move |j| (i, j)))
            .map(|(i, j)| x[i] * self.w[i * nh + j] * h[j])
            .sum();
        -ax - bh - xwh
    }

    /// F(x) = −aᵀx − Σ_j ln(1 + exp(b_j + Σ_i x_i W_ij)).
    pub fn free_energy(&self, x: &[f64]) -> f64 {
        let nh = self.b.len();
        let ax: f64 = self.a.iter().zip(x).map(|(a, x)| a * x).sum();
        let hidden: f64 = (0..nh)
            .map(|j| {
                softplus(self.b[j] + (0..x.len()).map(|i| x[i] * self.w[i * nh + j]).sum::<f64>())
            })
            .sum();
        -ax - hidden
    }

    /// ln Z = ln Σ exp(−F) over the 2^n states of the smaller layer, with the other layer
    /// summed out in closed form (F(x) over visible states, F(h) over hidden ones); models
    /// whose smaller layer has more than [`MAX_ENUMERATED`] units are refused.
    pub fn log_z_by_enumeration(&self) -> Result<f64> {
        let layer = self.enumerated_layer()?;
        let n = layer.units(self);
        Ok(log_sum_exp(
            (0..1u64 << n).map(|s| -layer.free_energy(self, &bits(s, n))),
        ))
    }

    /// The layer enumeration runs over: the smaller one (visible on a tie), if small enough.
    fn enumerated_layer(&self) -> Result<Layer> {
        let (nv, nh) = (self.a.len(), self.b.len());
        let layer = if nv <= nh {
            Layer::Visible
        } else {
            Layer::Hidden
        };
        let n = layer.units(self);
        if n > MAX_ENUMERATED {
            return Err(Error::invalid(
                "RBM size",
                format!(
                    "exact enumeration of {nv} visible x {nh} hidden units needs 2^{n} states \
                     (at most 2^{MAX_ENUMERATED}): estimate log Z with AIS instead"
                ),
            ));
        }
        Ok(layer)
    }

    /// F(h) = −bᵀh − Σ_i ln(1 + exp(a_i + Σ_j W_ij h_j)): the visible units summed out.
    pub fn hidden_free_energy(&self, h: &[f64]) -> f64 {
        let bh: f64 = self.b.iter().zip(h).map(|(b, h)| b * h).sum();
        let visible: f64 = (0..self.a.len())
            .map(|i| softplus(self.visible_input(i, h)))
            .sum();
        -bh - visible
    }

    /// a_i + Σ_j W_ij h_j, the input of visible unit i.
    fn visible_input(&self, i: usize, h: &[f64]) -> f64 {
        let nh = self.b.len();
        self.a[i] + (0..nh).map(|j| self.w[i * nh + j] * h[j]).sum::<f64>()
    }

    /// ln Z by enumerating every joint state (x, h): the definition, for testing
    /// (n_v + n_h <= [`MAX_ENUMERATED`]).
    pub fn log_z_joint(&self) -> Result<f64> {
        let (nv, nh) = (self.a.len(), self.b.len());
        if nv + nh > MAX_ENUMERATED {
            return Err(Error::invalid(
                "RBM size",
                format!("joint enumeration of 2^{} states is too large", nv + nh),
            ));
        }
        Ok(log_sum_exp(
            (0..1u64 << (nv + nh)).map(|s| -self.energy(&bits(s, nv), &bits(s >> nv, nh))),
        ))
    }

    /// p(h_j = 1 | x) = sigmoid(b_j + Σ_i x_i W_ij).
    pub fn p_h_given_x(&self, x: &[f64]) -> Vec<f64> {
        let nh = self.b.len();
        (0..nh)
            .map(|j| {
                let c = self.b[j] + (0..x.len()).map(|i| x[i] * self.w[i * nh + j]).sum::<f64>();
                1.0 / (1.0 + (-c).exp())
            })
            .collect()
    }

    /// p(x_i = 1 | h) = sigmoid(a_i + Σ_j W_ij h_j).
    pub fn p_x_given_h(&self, h: &[f64]) -> Vec<f64> {
        (0..self.a.len())
            .map(|i| 1.0 / (1.0 + (-self.visible_input(i, h)).exp()))
            .collect()
    }

    /// ⟨−∂E/∂(W, a, b)⟩ under weights p_k over visible states x_k, with h summed out:
    /// −∂E/∂W_ij = x_i h_j → x_i p(h_j|x); −∂E/∂a_i = x_i; −∂E/∂b_j → p(h_j|x).
    fn expected_statistics<'a>(
        &self,
        states: impl Iterator<Item = (f64, &'a [f64])>,
    ) -> ExactGradient {
        let nh = self.b.len();
        let mut g = ExactGradient::zeros(self.a.len(), nh);
        for (p, x) in states {
            let ph = self.p_h_given_x(x);
            for (i, &xi) in x.iter().enumerate() {
                g.a[i] += p * xi;
                for (w, &phj) in g.w[i * nh..(i + 1) * nh].iter_mut().zip(&ph) {
                    *w += p * xi * phj;
                }
            }
            for (b, &phj) in g.b.iter_mut().zip(&ph) {
                *b += p * phj;
            }
        }
        g
    }

    /// ∇_Θ log Z = E_p[−∂E/∂Θ], the model average, by enumerating the smaller layer:
    /// over visible states x with h summed out (x_i p(h_j|x), x_i, p(h_j|x)), or over hidden
    /// states h with x summed out (p(x_i|h) h_j, p(x_i|h), h_j).
    pub fn grad_log_z(&self) -> Result<ExactGradient> {
        let layer = self.enumerated_layer()?;
        let n = layer.units(self);
        let log_z = self.log_z_by_enumeration()?;
        let states = (0..1u64 << n).map(|s| {
            let u = bits(s, n);
            ((-layer.free_energy(self, &u) - log_z).exp(), u)
        });
        Ok(match layer {
            Layer::Visible => {
                let states: Vec<_> = states.collect();
                self.expected_statistics(states.iter().map(|(p, x)| (*p, x.as_slice())))
            }
            Layer::Hidden => {
                let nh = self.b.len();
                let mut g = ExactGradient::zeros(self.a.len(), nh);
                for (p, h) in states {
                    for (i, px) in self.p_x_given_h(&h).into_iter().enumerate() {
                        g.a[i] += p * px;
                        for (w, &hj) in g.w[i * nh..(i + 1) * nh].iter_mut().zip(&h) {
                            *w += p * px * hj;
                        }
                    }
                    for (b, &hj) in g.b.iter_mut().zip(&h) {
                        *b += p * hj;
                    }
                }
                g
            }
        })
    }

    /// The mean log-likelihood of `data`, (1/N) Σ_n [−F(x_n)] − log Z.
    pub fn log_likelihood(&self, data: &[Vec<f64>]) -> Result<f64> {
        let log_z = self.log_z_by_enumeration()?;
        Ok(data.iter().map(|x| -self.free_energy(x)).sum::<f64>() / data.len() as f64 - log_z)
    }

    /// The exact gradient of [`BinaryRbm::log_likelihood`]: positive phase (data average)
    /// minus negative phase ([`BinaryRbm::grad_log_z`]).
    pub fn exact_gradient(&self, data: &[Vec<f64>]) -> Result<ExactGradient> {
        let n = data.len() as f64;
        let pos = self.expected_statistics(data.iter().map(|x| (1.0 / n, x.as_slice())));
        let neg = self.grad_log_z()?;
        let sub = |p: Vec<f64>, q: &[f64]| p.iter().zip(q).map(|(p, q)| p - q).collect();
        Ok(ExactGradient {
            w: sub(pos.w, &neg.w),
            a: sub(pos.a, &neg.a),
            b: sub(pos.b, &neg.b),
        })
    }
}

/// The most units exact enumeration sums over (2^24 ≈ 1.7e7 states).
pub const MAX_ENUMERATED: usize = 24;

/// Which layer exact enumeration runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layer {
    Visible,
    Hidden,
}

impl Layer {
    fn units(self, rbm: &BinaryRbm) -> usize {
        match self {
            Layer::Visible => rbm.a.len(),
            Layer::Hidden => rbm.b.len(),
        }
    }

    /// The free energy of a state of this layer, the other summed out.
    fn free_energy(self, rbm: &BinaryRbm, u: &[f64]) -> f64 {
        match self {
            Layer::Visible => rbm.free_energy(u),
            Layer::Hidden => rbm.hidden_free_energy(u),
        }
    }
}

/// A gradient with respect to (W, a, b), W row-major n_v x n_h.
#[derive(Clone, Debug, PartialEq)]
pub struct ExactGradient {
    /// ∂/∂W, row-major.
    pub w: Vec<f64>,
    /// ∂/∂a.
    pub a: Vec<f64>,
    /// ∂/∂b.
    pub b: Vec<f64>,
}

impl ExactGradient {
    /// The zero gradient of an n_v x n_h RBM.
    pub fn zeros(nv: usize, nh: usize) -> Self {
        ExactGradient {
            w: vec![0.0; nv * nh],
            a: vec![0.0; nv],
            b: vec![0.0; nh],
        }
    }

    /// All components in the order W, a, b.
    pub fn flat(&self) -> Vec<f64> {
        [self.w.as_slice(), &self.a, &self.b].concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> BinaryRbm {
        sized(4, 3)
    }

    fn sized(nv: usize, nh: usize) -> BinaryRbm {
        let v = |n: usize, p: f64| {
            (0..n)
                .map(|i| (i as f64 * 1.7 + p).sin())
                .collect::<Vec<_>>()
        };
        BinaryRbm::new(v(nv, 0.1), v(nh, 0.2), v(nv * nh, 0.3)).unwrap()
    }

    #[test]
    fn energy_hand_computed() {
        // n_v = n_h = 1: E(1, 1) = −a − b − w.
        let r = BinaryRbm::new(vec![0.5], vec![-0.25], vec![2.0]).unwrap();
        assert_eq!(r.energy(&[1.0], &[1.0]), -2.25);
        assert_eq!(r.energy(&[1.0], &[0.0]), -0.5);
        assert_eq!(r.energy(&[0.0], &[0.0]), 0.0);
    }

    #[test]
    fn free_energy_sums_out_the_hidden_units() {
        // exp(−F(x)) = Σ_h exp(−E(x, h)) for every x.
        let r = model();
        for s in 0..16u64 {
            let x = bits(s, 4);
            let direct = log_sum_exp((0..8u64).map(|t| -r.energy(&x, &bits(t, 3))));
            assert!((direct + r.free_energy(&x)).abs() < 1e-12, "x = {x:?}");
        }
    }

    #[test]
    fn log_z_two_ways_agree() {
        // Visible enumeration (n_v ≤ n_h) and hidden enumeration (n_v > n_h) against the joint
        // sum over every (x, h).
        for (nv, nh) in [(3, 4), (4, 3), (7, 2)] {
            let r = sized(nv, nh);
            let joint = r.log_z_joint().unwrap();
            assert!(
                (r.log_z_by_enumeration().unwrap() - joint).abs() < 1e-12,
                "{nv} x {nh}"
            );
        }
    }

    #[test]
    fn hidden_free_energy_sums_out_the_visible_units() {
        let r = model();
        for t in 0..8u64 {
            let h = bits(t, 3);
            let direct = log_sum_exp((0..16u64).map(|s| -r.energy(&bits(s, 4), &h)));
            assert!(
                (direct + r.hidden_free_energy(&h)).abs() < 1e-12,
                "h = {h:?}"
            );
        }
    }

    #[test]
    fn too_large_models_are_refused_with_an_error() {
        // 784 visible x 30 hidden: the smaller layer, 30 units, is too many to enumerate.
        let r = sized(784, 30);
        for err in [
            r.log_z_by_enumeration().unwrap_err(),
            r.log_likelihood(&[vec![0.0; 784]]).unwrap_err(),
            r.grad_log_z().unwrap_err(),
            r.log_z_joint().unwrap_err(),
        ] {
            assert!(err.to_string().contains("RBM size"), "{err}");
        }
        // 784 visible x 10 hidden: enumerated over the 2^10 hidden states.
        let r = sized(784, 10);
        assert!(r.log_z_by_enumeration().unwrap().is_finite());
    }

    #[test]
    fn grad_log_z_is_the_model_average_by_finite_differences() {
        // ∂ log Z/∂θ by central differences of the joint log Z, for every θ in (W, a, b), with
        // the model average over visible states (3 x 4) and over hidden states (4 x 3).
        for (nv, nh) in [(3, 4), (4, 3)] {
            grad_log_z_by_finite_differences(sized(nv, nh));
        }
    }

    fn grad_log_z_by_finite_differences(r: BinaryRbm) {
        let g = r.grad_log_z().unwrap().flat();
        let h = 1e-5;
        let n = r.w.len() + r.a.len() + r.b.len();
        for (k, &gk) in g.iter().enumerate().take(n) {
            let shifted = |d: f64| {
                let mut m = r.clone();
                let (nw, na) = (m.w.len(), m.a.len());
                match k {
                    k if k < nw => m.w[k] += d,
                    k if k < nw + na => m.a[k - nw] += d,
                    k => m.b[k - nw - na] += d,
                }
                m.log_z_joint().unwrap()
            };
            let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
            assert!((fd - gk).abs() < 1e-8, "θ{k}: {fd} vs {gk}");
        }
    }

    #[test]
    fn exact_gradient_is_the_derivative_of_the_log_likelihood() {
        let r = model();
        let data = vec![bits(3, 4), bits(9, 4), bits(14, 4)];
        let g = r.exact_gradient(&data).unwrap();
        let h = 1e-5;
        for (i, gw) in g.w.iter().enumerate() {
            let mut p = r.clone();
            p.w[i] += h;
            let mut m = r.clone();
            m.w[i] -= h;
            let ll = |r: &BinaryRbm| r.log_likelihood(&data).unwrap();
            let fd = (ll(&p) - ll(&m)) / (2.0 * h);
            assert!((fd - gw).abs() < 1e-8, "W{i}: {fd} vs {gw}");
        }
    }

    #[test]
    fn softplus_is_stable() {
        assert!((softplus(0.0) - 2f64.ln()).abs() < 1e-15);
        assert_eq!(softplus(800.0), 800.0);
        assert!(softplus(-800.0) >= 0.0);
    }

    #[test]
    fn bad_shapes() {
        assert!(BinaryRbm::new(vec![0.0; 2], vec![0.0; 3], vec![0.0; 5])
            .unwrap_err()
            .to_string()
            .contains("2 visible x 3 hidden"));
    }
}
