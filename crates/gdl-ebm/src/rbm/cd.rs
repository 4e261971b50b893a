//! Contrastive divergence: the log-likelihood gradient of an RBM is a positive phase (the data)
//! minus a negative phase (the model), ∂ log p(x)/∂Θ = ⟨−∂E/∂Θ⟩_data − ⟨−∂E/∂Θ⟩_model.
//! CD-k estimates the model average with k block-Gibbs steps started at the data; persistent
//! CD (PCD) keeps its chains from one update to the next.
//!
//! With x̃ = x/σ² (x for binary visibles) and p(h|x) in place of sampled h (Rao-Blackwellised):
//!
//! ```text
//! ΔW ∝ ⟨x̃ p(h|x)ᵀ⟩_data − ⟨x̃ p(h|x)ᵀ⟩_model
//! Δa ∝ ⟨x̃⟩_data − ⟨x̃⟩_model            (the −a/σ² of the Gaussian case cancels)
//! Δb ∝ ⟨p(h|x)⟩_data − ⟨p(h|x)⟩_model
//! ```

use crate::rbm::{bernoulli, Rbm};
use burn::tensor::{backend::Backend, Tensor};
use gdl_core::combine::axpby;
use gdl_core::linear::matmul;
use gdl_core::optim::{Method, UpdateRule, UpdateRuleConfig};
use gdl_core::{Error, Result};

/// An estimate of ∂ log p / ∂(W, a, b), averaged over a batch.
#[derive(Clone, Debug)]
pub struct RbmGradient<B: Backend> {
    /// ∂/∂W [n_v, n_h].
    pub w: Tensor<B, 2>,
    /// ∂/∂a [n_v].
    pub a: Tensor<B, 1>,
    /// ∂/∂b [n_h].
    pub b: Tensor<B, 1>,
}

impl<B: Backend> RbmGradient<B> {
    /// The sufficient statistics ⟨x̃ p(h|x)ᵀ⟩, ⟨x̃⟩, ⟨p(h|x)⟩ of the rows of x.
    pub fn statistics(rbm: &Rbm<B>, x: Tensor<B, 2>) -> Self {
        let p_h = rbm.p_h_given_x(x.clone()); // [N, n_h]
        let n = x.dims()[0].max(1) as f64;
        let x_tilde = rbm.scaled_visible(x); // [N, n_v]
        RbmGradient {
            w: matmul(x_tilde.clone().transpose(), p_h.clone()).div_scalar(n),
            a: x_tilde.mean_dim(0).squeeze_dim(0),
            b: p_h.mean_dim(0).squeeze_dim(0),
        }
    }

    /// Positive phase (statistics of the data) minus negative phase (of the model samples).
    pub fn contrast(rbm: &Rbm<B>, data: Tensor<B, 2>, model: Tensor<B, 2>) -> Self {
        let p_h = rbm.p_h_given_x(data.clone());
        Self::contrast_given(rbm, data, p_h, model)
    }

    /// The same contrast when the data's p(h|x) is already computed.
    fn contrast_given(
        rbm: &Rbm<B>,
        data: Tensor<B, 2>,
        p_h: Tensor<B, 2>,
        model: Tensor<B, 2>,
    ) -> Self {
        let p_model = rbm.p_h_given_x(model.clone());
        let rows = |t: &Tensor<B, 2>| t.dims()[0].max(1) as f64;
        let (n_data, n_model) = (rows(&data), rows(&model));
        let (x_data, x_model) = (rbm.scaled_visible(data), rbm.scaled_visible(model));
        // ⟨x̃ pᵀ⟩_data − ⟨x̃ pᵀ⟩_model as one product, [x̃_d; x̃_m]ᵀ [p_d/N_d; −p_m/N_m]: the
        // 1/N scales and the difference on the [N, n_h] factors, not on three [n_v, n_h] passes.
        let w = matmul(
            Tensor::cat(vec![x_data.clone(), x_model.clone()], 0).transpose(),
            Tensor::cat(
                vec![
                    p_h.clone().div_scalar(n_data),
                    p_model.clone().div_scalar(-n_model),
                ],
                0,
            ),
        );
        let mean = |t: Tensor<B, 2>| t.mean_dim(0).squeeze_dim(0);
        RbmGradient {
            w,
            a: mean(x_data) - mean(x_model),
            b: mean(p_h) - mean(p_model),
        }
    }
}

/// A gradient estimate and E[x|h] [N, n_v] for one h ~ p(h|x) of the batch x (the monitor
/// ‖x − E[x|h]‖²).
#[derive(Clone, Debug)]
pub struct Estimate<B: Backend> {
    /// Positive minus negative phase.
    pub gradient: RbmGradient<B>,
    /// E[x|h], h ~ p(h|x).
    pub reconstruction: Tensor<B, 2>,
}

/// The negative-phase chains of CD-k or PCD.
#[derive(Clone, Debug)]
pub enum Chains<B: Backend> {
    /// CD-k: restart at the data every update.
    Contrastive,
    /// PCD: the fantasy particles carried from one update to the next (None until the first).
    Persistent(Option<Tensor<B, 2>>),
}

impl<B: Backend> Chains<B> {
    /// PCD chains when `persistent`, else CD-k.
    pub fn new(persistent: bool) -> Self {
        if persistent {
            Chains::Persistent(None)
        } else {
            Chains::Contrastive
        }
    }

    /// The model samples after k Gibbs steps from the data (CD) or from the particles (PCD;
    /// the first update starts them at the data). The particle count follows the batch.
    pub fn negative_samples(&mut self, rbm: &Rbm<B>, data: Tensor<B, 2>, k: usize) -> Tensor<B, 2> {
        self.advance(rbm, data, None, k)
    }

    /// `negative_samples`, where `first` may hold E[x|h] for one h ~ p(h|data): a chain that
    /// starts at the data then takes that h as its first step's hidden state.
    fn advance(
        &mut self,
        rbm: &Rbm<B>,
        data: Tensor<B, 2>,
        first: Option<Tensor<B, 2>>,
        k: usize,
    ) -> Tensor<B, 2> {
        let (start, k) = match (&*self, first) {
            (Chains::Persistent(Some(p)), _) if p.dims() == data.dims() => (p.clone(), k),
            (_, Some(mean)) if k > 0 => (rbm.sample_x_given_mean(mean), k - 1),
            _ => (data, k),
        };
        let x = (0..k).fold(start, |x, _| rbm.gibbs_step(x));
        if let Chains::Persistent(p) = self {
            *p = Some(x.clone());
        }
        x
    }
}

impl<B: Backend> Chains<B> {
    /// The PCD particles (none for CD-k, or before the first update).
    pub fn particles(&self) -> Option<Tensor<B, 2>> {
        match self {
            Chains::Persistent(p) => p.clone(),
            Chains::Contrastive => None,
        }
    }

    /// Restores the PCD particles (ignored for CD-k).
    pub fn set_particles(&mut self, particles: Option<Tensor<B, 2>>) {
        if let Chains::Persistent(p) = self {
            *p = particles;
        }
    }
}

/// The state of CD-k or PCD training between updates: the chains, and the momentum method of
/// [`gdl_core::optim`] that turns gradient estimates into updates (Hinton's guide: momentum 0.5
/// then 0.9, weight decay 1e-4 on the weights only).
#[derive(Clone, Debug)]
pub struct ContrastiveDivergence<B: Backend> {
    /// k, Gibbs steps of the negative phase.
    pub k: usize,
    /// The negative-phase chains.
    pub chains: Chains<B>,
    /// The momentum method, slots W, a, b (its state is the velocity).
    pub momentum: UpdateRule<B>,
    /// λ of the L2 penalty ½λ‖W‖² on the weights.
    pub weight_decay: f64,
}

impl<B: Backend> ContrastiveDivergence<B> {
    /// CD-k (or PCD when `persistent`) with learning rate η, momentum μ and weight decay λ.
    pub fn new(
        k: usize,
        persistent: bool,
        learning_rate: f64,
        momentum: f64,
        weight_decay: f64,
    ) -> Result<Self> {
        let rule = UpdateRuleConfig::new(Method::Momentum { gamma: momentum }, learning_rate);
        if !(weight_decay >= 0.0 && weight_decay.is_finite()) {
            return Err(Error::invalid(
                "weight decay",
                format!("{weight_decay} must be >= 0"),
            ));
        }
        Ok(ContrastiveDivergence {
            k,
            chains: Chains::new(persistent),
            momentum: rule.init()?,
            weight_decay,
        })
    }

    /// μ from the next update on (the velocity is kept).
    pub fn set_momentum(&mut self, momentum: f64) {
        self.momentum
            .set_method(Method::Momentum { gamma: momentum });
    }

    /// One update on the batch x [N, n_v]:
    /// 1. negative phase: k Gibbs steps from the data (CD) or the particles (PCD);
    /// 2. gradient = positive phase − negative phase; 3. momentum step with weight decay.
    pub fn update(&mut self, rbm: Rbm<B>, x: Tensor<B, 2>) -> Rbm<B> {
        let grad = self.gradient(&rbm, x);
        self.apply(rbm, grad)
    }

    /// Steps 1 and 2 of [`ContrastiveDivergence::update`]: the gradient estimate on x [N, n_v]
    /// (advancing the chains).
    pub fn gradient(&mut self, rbm: &Rbm<B>, x: Tensor<B, 2>) -> RbmGradient<B> {
        self.estimate(rbm, x).gradient
    }

    /// [`ContrastiveDivergence::gradient`] and the reconstruction it passes on the way.
    /// p(h|x) is computed once: for the positive phase, for one h ~ p(h|x) and its
    /// reconstruction E[x|h], and (CD) as the chain's first step, x₁ ~ p(x|h).
    pub fn estimate(&mut self, rbm: &Rbm<B>, x: Tensor<B, 2>) -> Estimate<B> {
        let p_h = rbm.p_h_given_x(x.clone());
        let reconstruction = rbm.visible_mean(bernoulli(p_h.clone()));
        let model = self
            .chains
            .advance(rbm, x.clone(), Some(reconstruction.clone()), self.k);
        Estimate {
            gradient: RbmGradient::contrast_given(rbm, x, p_h, model),
            reconstruction,
        }
    }

    /// Step 3 of [`ContrastiveDivergence::update`]: gradient ascent on log p − ½λ‖W‖² with
    /// momentum, written as descent on its negative: g = −(∂ log p/∂Θ − λW for the weights),
    /// v ← μ v + η g, Θ ← Θ − v.
    pub fn apply(&mut self, rbm: Rbm<B>, grad: RbmGradient<B>) -> Rbm<B> {
        let Rbm {
            w,
            a,
            b,
            sigma,
            visible,
        } = rbm;
        let decay = self.weight_decay;
        let rule = &mut self.momentum;
        Rbm {
            w: w.map(|w| {
                let g = axpby(decay, w.clone(), -1.0, grad.w);
                rule.step(0, w, g)
            }),
            a: a.map(|a| rule.step(1, a, grad.a.neg())),
            b: b.map(|b| rule.step(2, b, grad.b.neg())),
            sigma,
            visible,
        }
    }
}
