//! The reverse process: from x_T ~ N(0, I) to x_0 with a noise predictor ε̂(x_t, t).
//!
//! Both samplers first estimate the clean image, x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t (optionally
//! clipped to the data range [−1, 1], as Ho et al.'s implementation does), then:
//!
//! - **ancestral** (DDPM, Ho et al. 2020): x_{t−1} = μ̃_t(x_t, x̂_0) + σ_t z with the posterior
//!   mean μ̃_t = c₀ x̂_0 + c_t x_t of q(x_{t−1} | x_t, x_0), σ_t² = β_t or β̃_t, and no noise at
//!   the last step. Unclipped, μ̃_t equals (x_t − β_t/√(1 − ᾱ_t) ε̂)/√α_t.
//! - **DDIM** (Song, Meng, Ermon 2021) on a subsequence τ_1 < … < τ_S = T of the steps:
//!   x_{τ−} = √ᾱ_{τ−} x̂_0 + √(1 − ᾱ_{τ−} − σ²) ε̂ + σ z with
//!   σ = η √((1 − ᾱ_{τ−})/(1 − ᾱ_τ)) √(1 − ᾱ_τ/ᾱ_{τ−}); η = 0 is deterministic, η = 1 is
//!   ancestral sampling on the subsequence. Run forwards with η = 0 it inverts: x_0 → x_T.

use crate::predictor::NoisePredictor;
use crate::schedule::NoiseSchedule;
use burn::config::Config;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use gdl_core::Error;

/// Which reverse process.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum SamplerKind {
    /// DDPM's ancestral sampler over all T steps.
    Ancestral,
    /// DDIM over a subsequence of `steps` steps.
    Ddim,
}

/// The ancestral sampler's σ_t².
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum ReverseVariance {
    /// σ_t² = β_t (optimal for x_0 ~ N(0, I)).
    Beta,
    /// σ_t² = β̃_t (optimal for a deterministic x_0).
    PosteriorBeta,
}

impl ReverseVariance {
    /// σ_t² at step t (1..=T) of `schedule`.
    pub fn at(self, schedule: &NoiseSchedule, t: usize) -> f64 {
        match self {
            ReverseVariance::Beta => schedule.beta_at(t),
            ReverseVariance::PosteriorBeta => schedule.posterior_variance[t - 1],
        }
    }
}

/// How to sample.
#[derive(Config, Debug)]
pub struct SamplerConfig {
    /// Ancestral or DDIM.
    #[config(default = "SamplerKind::Ddim")]
    pub kind: SamplerKind,
    /// DDIM's number of steps S ≤ T (ignored by the ancestral sampler, which takes all T).
    #[config(default = 100)]
    pub steps: usize,
    /// DDIM's η (0: deterministic, as in Song et al.). `diffusion_mnist` samples with η = 1:
    /// its ten-epoch model's deterministic samples keep a grey haze on the background (see
    /// the program's `--eta`).
    #[config(default = 0.0)]
    pub eta: f64,
    /// The ancestral sampler's σ_t².
    #[config(default = "ReverseVariance::Beta")]
    pub variance: ReverseVariance,
    /// Clip x̂_0 to [−1, 1] (images), or not (the Gaussian tests).
    #[config(default = true)]
    pub clip: bool,
}

impl SamplerConfig {
    /// The steps this sampler visits for a schedule of T steps, from T down: all of them, or
    /// DDIM's S steps spread evenly from T to 1, τ_k = 1 + round((k − 1)(T − 1)/(S − 1)) for
    /// k = S..1 (τ_1 = T when S = 1). The last estimate of x̂_0 is made at τ_1 = 1, where the
    /// noise left in x_1 has standard deviation √β_1 (0.01 for the linear schedule): ending at
    /// τ_1 = T/S instead (10 for T = 1000, S = 100; √(1 − ᾱ_10) = 0.044, 5.6 of 255 grey
    /// levels) left that much unremoved noise on the background of every sample.
    pub fn timesteps(&self, schedule: &NoiseSchedule) -> gdl_core::Result<Vec<usize>> {
        let t = schedule.steps();
        match self.kind {
            SamplerKind::Ancestral => Ok((1..=t).rev().collect()),
            SamplerKind::Ddim => {
                if self.steps == 0 || self.steps > t {
                    return Err(Error::invalid(
                        "steps",
                        format!("{}: DDIM takes 1 to T = {t} steps", self.steps),
                    ));
                }
                if !(0.0..=1.0).contains(&self.eta) {
                    return Err(Error::invalid(
                        "eta",
                        format!("{} is not in [0, 1]", self.eta),
                    ));
                }
                let s = self.steps;
                if s == 1 {
                    return Ok(vec![t]);
                }
                // round(i (T − 1)/(S − 1)) in integers: ⌊(2 i (T − 1) + S − 1) / (2 (S − 1))⌋
                let tau = |i: usize| 1 + (2 * i * (t - 1) + s - 1) / (2 * (s - 1));
                Ok((0..s).rev().map(tau).collect())
            }
        }
    }

    /// Runs the reverse process from `x_t` (x_T) to x̂_0; `on_step(t, x)` sees each state
    /// x_{t−} reached after step t (for pictures of the reverse process).
    pub fn sample<B: Backend>(
        &self,
        model: &impl NoisePredictor<B>,
        schedule: &NoiseSchedule,
        x_t: Tensor<B, 4>,
        mut on_step: impl FnMut(usize, &Tensor<B, 4>),
    ) -> gdl_core::Result<Tensor<B, 4>> {
        let steps = self.timesteps(schedule)?;
        let mut x = x_t;
        for (k, &t) in steps.iter().enumerate() {
            let prev = steps.get(k + 1).copied().unwrap_or(0);
            x = self.step(model, schedule, x, t, prev);
            on_step(t, &x);
        }
        Ok(x)
    }

    /// x̂_0 and ε̂ at step t.
    fn estimate<B: Backend>(
        &self,
        model: &impl NoisePredictor<B>,
        schedule: &NoiseSchedule,
        x: Tensor<B, 4>,
        t: usize,
    ) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let eps = model.predict_noise(x.clone(), t);
        let (a, b) = schedule.marginal(t);
        // x̂_0 = (x_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t
        let x0 = (x.clone() - eps.clone().mul_scalar(b)).div_scalar(a);
        if !self.clip {
            return (x0, eps);
        }
        // Clipping changes x̂_0; ε̂ = (x_t − √ᾱ_t x̂_0)/√(1 − ᾱ_t) then agrees with it.
        let x0 = x0.clamp(-1.0, 1.0);
        let eps = (x - x0.clone().mul_scalar(a)).div_scalar(b);
        (x0, eps)
    }

    /// One step from x_t to x_prev (prev < t; prev = 0 returns x̂_0 or the ancestral mean).
    fn step<B: Backend>(
        &self,
        model: &impl NoisePredictor<B>,
        schedule: &NoiseSchedule,
        x: Tensor<B, 4>,
        t: usize,
        prev: usize,
    ) -> Tensor<B, 4> {
        let (x0, eps) = self.estimate(model, schedule, x.clone(), t);
        let noise = |x: &Tensor<B, 4>| {
            gdl_core::random::random(x.dims(), Distribution::Normal(0.0, 1.0), &x.device())
        };
        match self.kind {
            SamplerKind::Ancestral => {
                // μ̃_t = c₀ x̂_0 + c_t x_t
                let (c0, ct, _) = schedule.posterior(t);
                let mean = x0.mul_scalar(c0) + x.mul_scalar(ct);
                if t == 1 {
                    return mean;
                }
                let var = self.variance.at(schedule, t);
                let z = noise(&mean);
                mean + z.mul_scalar(var.sqrt())
            }
            SamplerKind::Ddim => {
                let (ab, ab_prev) = (schedule.alpha_bar_at(t), schedule.alpha_bar_at(prev));
                // σ = η √((1 − ᾱ_prev)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_prev)
                let sigma = self.eta * ((1.0 - ab_prev) / (1.0 - ab) * (1.0 - ab / ab_prev)).sqrt();
                let direction = (1.0 - ab_prev - sigma * sigma).max(0.0).sqrt();
                let out = x0.mul_scalar(ab_prev.sqrt()) + eps.mul_scalar(direction);
                if sigma > 0.0 {
                    let z = noise(&out);
                    out + z.mul_scalar(sigma)
                } else {
                    out
                }
            }
        }
    }

    /// DDIM inversion (η = 0 run forwards): x_0 → x_T along the same subsequence,
    /// x_{τ+} = √ᾱ_{τ+} x̂_0(x_τ) + √(1 − ᾱ_{τ+}) ε̂(x_τ), with ε̂ evaluated at the step the state
    /// is at (τ_0 = 0 uses ε̂ at τ_1, the first step with a defined noise level).
    pub fn invert<B: Backend>(
        &self,
        model: &impl NoisePredictor<B>,
        schedule: &NoiseSchedule,
        x0: Tensor<B, 4>,
    ) -> gdl_core::Result<Tensor<B, 4>> {
        let mut ladder = self.timesteps(schedule)?;
        ladder.reverse();
        let mut x = x0.clone();
        let mut eps_at = ladder[0];
        let mut current = 0usize;
        for &next in &ladder {
            let eps = model.predict_noise(x.clone(), eps_at);
            let (a, b) = schedule.marginal(current);
            let x0_hat = if current == 0 {
                x.clone()
            } else {
                (x.clone() - eps.clone().mul_scalar(b)).div_scalar(a)
            };
            let (a_next, b_next) = schedule.marginal(next);
            x = x0_hat.mul_scalar(a_next) + eps.mul_scalar(b_next);
            current = next;
            eps_at = next;
        }
        Ok(x)
    }
}
