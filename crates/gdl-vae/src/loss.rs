//! The negative ELBO, in nats per image, as its two terms.

use burn::tensor::{backend::Backend, Tensor};

/// The two terms of the negative ELBO, each [batch]: reconstruction −log p(x|h) and
/// D_KL(q(h|x) || N(0, I)) (zero for the deterministic autoencoder).
#[derive(Clone, Debug)]
pub struct NegativeElbo<B: Backend> {
    /// −log p(x|h) [batch].
    pub reconstruction: Tensor<B, 1>,
    /// D_KL(q(h|x) || N(0, I)) [batch].
    pub kl: Tensor<B, 1>,
}

impl<B: Backend> NegativeElbo<B> {
    /// −ELBO = reconstruction + β · KL, averaged over the batch (β = 1 is the true bound).
    pub fn mean(&self, beta: f64) -> Tensor<B, 1> {
        (self.reconstruction.clone() + self.kl.clone().mul_scalar(beta)).mean()
    }

    /// The batch sums of (reconstruction, KL), side by side in one tensor [2], so that one
    /// read from the device gives both.
    pub fn sums(&self) -> Tensor<B, 1> {
        Tensor::cat(
            vec![self.reconstruction.clone().sum(), self.kl.clone().sum()],
            0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::testing::TestBackend as B;

    #[test]
    fn combines_terms_with_beta() {
        let d = Default::default();
        let e = NegativeElbo::<B> {
            reconstruction: Tensor::from_floats([2.0, 4.0], &d),
            kl: Tensor::from_floats([1.0, 0.0], &d),
        };
        let full: f32 = e.mean(1.0).into_scalar();
        let half: f32 = e.mean(0.5).into_scalar();
        assert_eq!((full, half), (3.5, 3.25));
        let sums: Vec<f32> = e.sums().into_data().to_vec().unwrap();
        assert_eq!(sums, [6.0, 1.0]);
    }
}
