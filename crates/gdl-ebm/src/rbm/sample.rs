//! Pictures of an RBM: samples from long Gibbs chains, reconstructions, and the learned
//! filters (the columns of W as images).

use crate::rbm::Rbm;
use burn::tensor::{backend::Backend, Distribution, Tensor};
use gdl_core::sample::Sample;

/// Runs `steps` block-Gibbs steps from x [N, n_v] and returns E[x | h] of the last step
/// (the pixel probabilities, smoother to look at than the binary sample) [N, n_v].
pub fn gibbs_chain<B: Backend>(rbm: &Rbm<B>, x: Tensor<B, 2>, steps: usize) -> Tensor<B, 2> {
    let x = (0..steps.saturating_sub(1)).fold(x, |x, _| rbm.gibbs_step(x));
    rbm.visible_mean(rbm.sample_h(x))
}

/// An RBM as a generator: `steps` block-Gibbs steps from x ~ Bernoulli(½), then E[x | h].
#[derive(Clone, Copy, Debug)]
pub struct GibbsSampler<'a, B: Backend> {
    /// The RBM.
    pub rbm: &'a Rbm<B>,
    /// Block-Gibbs steps per sample.
    pub steps: usize,
}

impl<B: Backend> Sample<B> for GibbsSampler<'_, B> {
    /// [n, 1, side, side] with side = √n_v.
    fn sample(&self, n: usize, device: &B::Device) -> Tensor<B, 4> {
        let (nv, _) = self.rbm.dims();
        let side = (nv as f64).sqrt().round() as usize;
        let start = gdl_core::random::random([n, nv], Distribution::Bernoulli(0.5), device);
        gibbs_chain(self.rbm, start, self.steps).reshape([n, 1, side, side])
    }
}

/// E[x | h] with h ~ p(h|x): one up-down pass [N, n_v].
pub fn reconstruct<B: Backend>(rbm: &Rbm<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    rbm.visible_mean(rbm.sample_h(x))
}

/// Column j of W as a side x side image, each scaled to [0, 1] by its own min and max
/// [n_h, 1, side, side].
pub fn filters<B: Backend>(rbm: &Rbm<B>, side: usize) -> Tensor<B, 4> {
    let (_, nh) = rbm.dims();
    let w = rbm.w.val().transpose(); // [n_h, n_v]
    let (lo, hi) = (w.clone().min_dim(1), w.clone().max_dim(1)); // [n_h, 1]
    let range = (hi - lo.clone()).clamp_min(1e-12);
    ((w - lo) / range).reshape([nh, 1, side, side])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbm::Visible;
    use gdl_core::tensor::{from_f64, to_f64};
    use gdl_core::testing::TestBackendF64 as B;

    #[test]
    fn filters_are_scaled_columns_of_w() {
        let d = Default::default();
        // W [4, 2]: column 0 = (0, 1, 2, 3), column 1 = (5, 5, 5, 7).
        let rbm = Rbm::<B>::from_parameters(
            from_f64(vec![0.0, 5.0, 1.0, 5.0, 2.0, 5.0, 3.0, 7.0], [4, 2], &d),
            from_f64(vec![0.0; 4], [4], &d),
            from_f64(vec![0.0; 2], [2], &d),
            Visible::Binary,
        );
        let f = to_f64(filters(&rbm, 2));
        assert_eq!(f, vec![0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    }
}
