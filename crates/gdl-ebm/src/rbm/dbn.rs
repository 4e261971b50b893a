//! A deep belief network of two RBMs, trained greedily and sampled top-down.
//!
//! 1. Train RBM 1 on the pixels x.
//! 2. Train RBM 2 on h₁ ~ p₁(h₁|x), the lower RBM's hidden states for the data.
//! 3. Sample: run block Gibbs in the top RBM (h₁ ↔ h₂) until it forgets its start, then go
//!    down once, x ~ p₁(x|h₁) (shown as its mean E[x|h₁]).

use crate::rbm::sample::gibbs_chain;
use crate::rbm::train::{train_rbm, RbmTraining};
use crate::rbm::Rbm;
use burn::module::Module;
use burn::tensor::{backend::Backend, Distribution, Tensor};
use gdl_core::sample::Sample;
use gdl_core::train::EpochReport;
use gdl_mnist::TrainTest;

/// Two stacked RBMs: `lower` on the pixels, `upper` on the lower one's hidden units.
#[derive(Module, Debug)]
pub struct Dbn<B: Backend> {
    /// The RBM on the pixels.
    pub lower: Rbm<B>,
    /// The RBM on the lower one's hidden units.
    pub upper: Rbm<B>,
}

impl<B: Backend> Dbn<B> {
    /// h₁ ~ p₁(h₁|x): the upper RBM's data for pixels x [N, n_v].
    pub fn lift(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.lower.sample_h(x)
    }

    /// Top-down samples: `steps` Gibbs steps of the top RBM from h₁ = `start` [N, n_h1], then
    /// E[x | h₁] [N, n_v].
    pub fn sample_from(&self, start: Tensor<B, 2>, steps: usize) -> Tensor<B, 2> {
        // gibbs_chain ends with E[h₁ | h₂]; the top layer's last state is sampled from it.
        let h1 = crate::rbm::bernoulli(gibbs_chain(&self.upper, start, steps));
        self.lower.visible_mean(h1)
    }
}

/// A DBN as a generator: `steps` Gibbs steps of the top RBM from h₁ ~ Bernoulli(½), then
/// E[x | h₁] through the lower RBM, as square images.
#[derive(Clone, Copy, Debug)]
pub struct DbnSampler<'a, B: Backend> {
    /// The DBN.
    pub dbn: &'a Dbn<B>,
    /// Gibbs steps of the top RBM.
    pub steps: usize,
}

impl<B: Backend> Sample<B> for DbnSampler<'_, B> {
    /// [n, 1, side, side] with side = √n_v.
    fn sample(&self, n: usize, device: &B::Device) -> Tensor<B, 4> {
        let (nv, nh1) = self.dbn.lower.dims();
        let side = (nv as f64).sqrt().round() as usize;
        let start = gdl_core::random::random([n, nh1], Distribution::Bernoulli(0.5), device);
        self.dbn
            .sample_from(start, self.steps)
            .reshape([n, 1, side, side])
    }
}

/// Greedy layer-wise training, step 2: an RBM `upper` trained by `cfg` through the driver on
/// h₁ ~ p₁(h₁|x) of the trained `lower` RBM for `data`'s digits; returns the two as a DBN with
/// the upper layer's history. `on_epoch` sees each report and the upper RBM.
pub fn stack<B: Backend>(
    lower: Rbm<B>,
    upper: Rbm<B>,
    data: &TrainTest,
    cfg: &RbmTraining,
    device: &B::Device,
    on_epoch: impl FnMut(&EpochReport, &Rbm<B>) -> gdl_core::Result<()>,
) -> gdl_core::Result<(Dbn<B>, Vec<EpochReport>)> {
    let (n_h1, n_v2) = (lower.dims().1, upper.dims().0);
    if n_h1 != n_v2 {
        return Err(gdl_core::Error::invalid(
            "DBN",
            format!("the upper RBM has {n_v2} visible units for {n_h1} hidden units below"),
        ));
    }
    let lift = |x| lower.sample_h(x);
    let (upper, history) = train_rbm(upper, data, cfg, None, device, lift, on_epoch)?;
    Ok((Dbn { lower, upper }, history))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbm::Visible;
    use gdl_core::tensor::{from_f64, to_f64};
    // f32: Burn 0.21 keeps one float type per NdArray device and process, and this test
    // draws random numbers (the Bernoulli samples) beside the crate's f32 tests.
    use gdl_core::testing::TestBackend as B;

    #[test]
    fn top_down_pass_decodes_through_the_lower_rbm() {
        let _serial = gdl_core::seed::serial();
        // An upper RBM with huge biases pins h₁ = (1, 0) whatever the start; the sample is
        // then E[x | h₁ = (1, 0)] = sigmoid(a + W[:, 0]).
        let d = Default::default();
        let lower = Rbm::<B>::from_parameters(
            from_f64(vec![2.0, -1.0, -3.0, 0.5], [2, 2], &d),
            from_f64(vec![0.5, 0.25], [2], &d),
            from_f64(vec![0.0, 0.0], [2], &d),
            Visible::Binary,
        );
        let upper = Rbm::<B>::from_parameters(
            from_f64(vec![0.0; 2], [2, 1], &d),
            from_f64(vec![50.0, -50.0], [2], &d),
            from_f64(vec![0.0], [1], &d),
            Visible::Binary,
        );
        let dbn = Dbn { lower, upper };
        let x = to_f64(dbn.sample_from(from_f64(vec![0.0, 1.0], [1, 2], &d), 5));
        let sig = |t: f64| 1.0 / (1.0 + (-t).exp());
        assert!(
            (x[0] - sig(2.5)).abs() < 1e-6 && (x[1] - sig(-2.75)).abs() < 1e-6,
            "{x:?}"
        );
    }
}
