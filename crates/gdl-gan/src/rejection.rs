//! Discriminator rejection sampling (Azadi et al. 2019): the optimal discriminator knows the
//! density ratio, so it can turn the generator's distribution into the data's.
//!
//! For real images labelled α in the discriminator's loss (α = 1, or 0.9 with one-sided label
//! smoothing) the pointwise maximiser of α p log D + (1 − α) p log(1 − D) + q log(1 − D) is
//! D* = α p / (p + q). Its odds r = D*/(1 − D*) = e^l (l the logit) give the ratio
//!
//!   p(x)/q(x) = r / (α − (1 − α) r),
//!
//! and rejection sampling from q, accepting x with probability (p(x)/q(x)) / M for a bound
//! M ≥ max p/q, draws exactly from p. With a trained D the ratio is an estimate and M the
//! largest finite ratio among a burn-in set of candidates (a candidate above it, or with odds
//! at D*'s ceiling α/(1 − α), is always accepted). D* is optimal for the q it was trained
//! against: `GanTrainer::calibrate_discriminator` trains D on against the generator that
//! the candidates come from (the weight average), as Azadi et al. train D on after the game.

use burn::tensor::{backend::Backend, Distribution, Int, Tensor, TensorData};
use gdl_core::sample::Sample;
use gdl_core::tensor::to_f64;
use gdl_core::Error;

/// p/q from the logit l of a discriminator trained with real label α: r / (α − (1 − α) r)
/// with r = e^l; infinite where the odds reach α/(1 − α), D*'s largest.
pub fn density_ratio(logit: f64, real_label: f64) -> f64 {
    let r = logit.exp();
    let denominator = real_label - (1.0 - real_label) * r;
    if denominator > 0.0 {
        r / denominator
    } else {
        f64::INFINITY
    }
}

/// A sampler that draws candidates from `candidates` and keeps each with probability
/// min(1, (p/q)/M), p/q read from the discriminator's logits.
pub struct RejectionSampler<S, F> {
    /// The generator's samples, pixels in [0, 1].
    pub candidates: S,
    /// The discriminator's logits l for images [N, 1, 28, 28] in [0, 1].
    pub logits: F,
    /// α, the real images' label D was trained with.
    pub real_label: f64,
    /// M, the bound on p/q.
    pub bound: f64,
    /// Candidates drawn at a time.
    pub batch: usize,
}

impl<S, F> RejectionSampler<S, F> {
    /// The sampler with M the largest finite ratio among `burn_in` candidates (drawn `batch`
    /// at a time).
    pub fn new<B: Backend>(
        candidates: S,
        logits: F,
        real_label: f64,
        burn_in: usize,
        batch: usize,
        device: &B::Device,
    ) -> Self
    where
        S: Sample<B>,
        F: Fn(Tensor<B, 4>) -> Tensor<B, 1>,
    {
        let mut sampler = RejectionSampler {
            candidates,
            logits,
            real_label,
            bound: 0.0,
            batch: batch.max(1),
        };
        let mut left = burn_in;
        while left > 0 {
            let n = left.min(sampler.batch);
            let (_, ratios) = sampler.draw(n, device);
            let finite = ratios.iter().copied().filter(|r| r.is_finite());
            sampler.bound = finite.fold(sampler.bound, f64::max);
            left -= n;
        }
        sampler
    }

    /// n candidates and their ratios p/q.
    fn draw<B: Backend>(&self, n: usize, device: &B::Device) -> (Tensor<B, 4>, Vec<f64>)
    where
        S: Sample<B>,
        F: Fn(Tensor<B, 4>) -> Tensor<B, 1>,
    {
        let x = self.candidates.sample(n, device);
        let ratios = to_f64((self.logits)(x.clone()))
            .into_iter()
            .map(|l| density_ratio(l, self.real_label))
            .collect();
        (x, ratios)
    }

    /// The fraction of candidates kept, estimated on `n` of them.
    pub fn acceptance<B: Backend>(&self, n: usize, device: &B::Device) -> f64
    where
        S: Sample<B>,
        F: Fn(Tensor<B, 4>) -> Tensor<B, 1>,
    {
        let (_, ratios) = self.draw(n, device);
        ratios
            .iter()
            .map(|r| (r / self.bound).min(1.0))
            .sum::<f64>()
            / n.max(1) as f64
    }

    /// [`Self::acceptance`] on `n` candidates, or an error naming `--rejection` when fewer
    /// than `min` of them are kept: sampling draws about 1/acceptance candidates per sample,
    /// and would never end at 0.
    pub fn checked_acceptance<B: Backend>(
        &self,
        n: usize,
        min: f64,
        device: &B::Device,
    ) -> Result<f64, Error>
    where
        S: Sample<B>,
        F: Fn(Tensor<B, 4>) -> Tensor<B, 1>,
    {
        let kept = self.acceptance(n, device);
        if kept >= min {
            return Ok(kept);
        }
        Err(Error::Invalid {
            what: "--rejection".into(),
            reason: format!(
                "the discriminator keeps {:.3}% of the generator's samples (fewer than {}%), \
                 too few to sample from",
                100.0 * kept,
                100.0 * min
            ),
        })
    }
}

impl<B: Backend, S: Sample<B>, F: Fn(Tensor<B, 4>) -> Tensor<B, 1>> Sample<B>
    for RejectionSampler<S, F>
{
    /// `n` ≥ 1 kept candidates, in the order they were drawn.
    fn sample(&self, n: usize, device: &B::Device) -> Tensor<B, 4> {
        let mut kept = Vec::new();
        let mut have = 0;
        while have < n {
            let (x, ratios) = self.draw(self.batch, device);
            // keep x with probability min(1, (p/q)(x) / M): u < ratio / M, u ~ U(0, 1)
            let u = to_f64(Tensor::<B, 1>::random(
                [self.batch],
                Distribution::Uniform(0.0, 1.0),
                device,
            ));
            let keep: Vec<i64> = (0..self.batch)
                .filter(|&i| u[i] * self.bound < ratios[i])
                .take(n - have)
                .map(|i| i as i64)
                .collect();
            if keep.is_empty() {
                continue;
            }
            have += keep.len();
            let len = keep.len();
            let index = Tensor::<B, 1, Int>::from_data(TensorData::new(keep, [len]), device);
            kept.push(x.select(0, index));
        }
        Tensor::cat(kept, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::game::optimal_discriminator;

    #[test]
    fn the_optimal_discriminator_gives_the_density_ratio_and_rejection_gives_p() {
        let (p, q) = ([0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]);
        for alpha in [1.0, 0.9, 0.75] {
            // D* = α p/(p + q) for real label α; its logit l = ln(D*/(1 − D*))
            let d: Vec<f64> = optimal_discriminator(&p, &q)
                .unwrap()
                .iter()
                .map(|d| alpha * d)
                .collect();
            let ratios: Vec<f64> = d
                .iter()
                .map(|&d| density_ratio((d / (1.0 - d)).ln(), alpha))
                .collect();
            for i in 0..4 {
                assert!(
                    (ratios[i] - p[i] / q[i]).abs() < 1e-12,
                    "α = {alpha}: {ratios:?}"
                );
            }
            // keeping x ~ q with probability (p/q)/M: q(x)(p/q)(x)/M normalised is p(x)
            let m = ratios.iter().copied().fold(0.0, f64::max);
            let kept: Vec<f64> = (0..4).map(|i| q[i] * ratios[i] / m).collect();
            let total: f64 = kept.iter().sum();
            for i in 0..4 {
                assert!((kept[i] / total - p[i]).abs() < 1e-12);
            }
        }
        // odds at or past D*'s ceiling α/(1 − α): p/q is unbounded
        assert_eq!(density_ratio(9f64.ln() + 1e-9, 0.9), f64::INFINITY);
    }
}
