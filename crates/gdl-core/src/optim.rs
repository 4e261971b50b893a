//! The gradient-descent family for explicit gradients: the lecture's update rules applied to
//! parameter tensors whose gradient the caller computed itself (normal-equation costs, the
//! hand-written back-propagation of `gdl-ffnn`, the contrastive-divergence gradient of an RBM).
//!
//! Notation: θ the parameters, g = ∇C(θ) the gradient at step t = 1, 2, ..., η_t the learning
//! rate at that step (from a [`Schedule`]), ⊙ the elementwise product; square roots and
//! divisions of vectors are elementwise.
//!
//! | method     | state update                                   | parameter update                      |
//! |------------|------------------------------------------------|---------------------------------------|
//! | GD         |                                                | θ ← θ − η_t g                         |
//! | momentum   | v ← γ v + η_t g                                | θ ← θ − v                             |
//! | ADAGRAD    | r ← r + g ⊙ g                                  | θ ← θ − η_t g / (δ + √r)              |
//! | RMSprop    | r ← ρ r + (1 − ρ) g ⊙ g                        | θ ← θ − η_t g / (δ + √r)              |
//! | ADAM       | m ← β₁ m + (1 − β₁) g,  s ← β₂ s + (1 − β₂) g ⊙ g | θ ← θ − η_t m̂ / (δ + √ŝ), m̂ = m/(1 − β₁ᵗ), ŝ = s/(1 − β₂ᵗ) |
//!
//! Mini-batch SGD is any of these fed with the gradient of a random mini-batch; the epochs and
//! their shuffles belong to the driver, [`crate::train::fit`] (see `gdl-regression`'s solver).
//!
//! One [`UpdateRule`] serves many parameter tensors: each is a *slot* (0, 1, ...) with its own
//! state and step counter, so a network's weights and biases share one optimiser.

use crate::combine::{axpby, difference};
use crate::train::StepInfo;
use crate::{Error, Result};
use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

/// The update rule and its hyper-parameters (defaults as in the lecture and PyTorch).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Method {
    /// Plain gradient descent: θ ← θ − η g.
    Gd,
    /// Momentum: v ← γ v + η g, θ ← θ − v.
    Momentum {
        /// γ, the weight of the previous velocity.
        gamma: f64,
    },
    /// ADAGRAD (Duchi et al. 2011): r ← r + g², θ ← θ − η g / (δ + √r).
    Adagrad {
        /// δ, keeps the division finite.
        delta: f64,
    },
    /// RMSprop (Hinton 2012): r ← ρ r + (1 − ρ) g², θ ← θ − η g / (δ + √r).
    RmsProp {
        /// ρ, the decay of the squared-gradient average.
        rho: f64,
        /// δ, keeps the division finite.
        delta: f64,
    },
    /// ADAM (Kingma and Ba 2015) with bias-corrected moments.
    Adam {
        /// β₁, the decay of the first moment.
        beta1: f64,
        /// β₂, the decay of the second moment.
        beta2: f64,
        /// δ, keeps the division finite.
        delta: f64,
    },
}

impl Method {
    /// Momentum with γ = 0.9.
    pub fn momentum() -> Self {
        Method::Momentum { gamma: 0.9 }
    }
    /// ADAGRAD with δ = 1e-8.
    pub fn adagrad() -> Self {
        Method::Adagrad { delta: 1e-8 }
    }
    /// RMSprop with ρ = 0.99, δ = 1e-8.
    pub fn rmsprop() -> Self {
        Method::RmsProp {
            rho: 0.99,
            delta: 1e-8,
        }
    }
    /// ADAM with β₁ = 0.9, β₂ = 0.999, δ = 1e-8.
    pub fn adam() -> Self {
        Method::Adam {
            beta1: 0.9,
            beta2: 0.999,
            delta: 1e-8,
        }
    }
    /// The lecture's name of the method.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Gd => "GD",
            Method::Momentum { .. } => "momentum",
            Method::Adagrad { .. } => "ADAGRAD",
            Method::RmsProp { .. } => "RMSprop",
            Method::Adam { .. } => "ADAM",
        }
    }
}

/// How the learning rate η_t changes with the step t = 0, 1, 2, ... of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// η_t = η.
    Constant,
    /// η_t = η / (1 + t / τ): the lecture's t₀ / (t + t₁) with t₀ = ητ, t₁ = τ.
    InverseTime {
        /// τ: η_t = η / (1 + t/τ).
        tau: f64,
    },
    /// η_t = η · rate^⌊t / every⌋.
    Exponential {
        /// The factor applied every `every` steps.
        rate: f64,
        /// Steps between two reductions.
        every: usize,
    },
    /// η_t = η · ½ (1 + cos(π min(t, T)/T)): from η at t = 0 down to 0 at t = T (Loshchilov &
    /// Hutter 2017's cosine annealing without restarts).
    Cosine {
        /// T: the steps the rate takes to reach 0.
        steps: usize,
    },
}

impl Schedule {
    /// The learning rate at step `t` for base rate `eta`.
    pub fn rate(&self, eta: f64, t: usize) -> f64 {
        match *self {
            Schedule::Constant => eta,
            Schedule::InverseTime { tau } => eta / (1.0 + t as f64 / tau),
            Schedule::Exponential { rate, every } => eta * rate.powi((t / every.max(1)) as i32),
            Schedule::Cosine { steps } => {
                let progress = t.min(steps) as f64 / steps.max(1) as f64;
                eta * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

/// How a training run's learning rate changes over its steps (a flag of the programs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LrDecay {
    /// η throughout.
    Constant,
    /// Cosine annealing from η to 0 over the run ([`Schedule::Cosine`]).
    Cosine,
}

impl LrDecay {
    /// η at step `at` of a run of `epochs` epochs.
    pub fn rate(self, eta: f64, at: StepInfo, epochs: usize) -> f64 {
        match self {
            LrDecay::Constant => eta,
            LrDecay::Cosine => Schedule::Cosine {
                steps: epochs * at.steps_per_epoch,
            }
            .rate(eta, at.step - 1),
        }
    }
}

/// An update rule with its learning rate and schedule.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateRuleConfig {
    /// η: the base learning rate.
    pub learning_rate: f64,
    /// The update rule.
    pub method: Method,
    /// How η changes with the step.
    pub schedule: Schedule,
}

impl UpdateRuleConfig {
    /// `method` with learning rate `eta` and a constant schedule.
    pub fn new(method: Method, eta: f64) -> Self {
        UpdateRuleConfig {
            learning_rate: eta,
            method,
            schedule: Schedule::Constant,
        }
    }

    /// The same with `schedule`.
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Checks every hyper-parameter, naming the one out of range.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, v: f64, ok: bool| -> Result<()> {
            if ok && v.is_finite() {
                Ok(())
            } else {
                Err(Error::invalid(what, format!("{v} is out of range")))
            }
        };
        bad(
            "learning rate η",
            self.learning_rate,
            self.learning_rate > 0.0,
        )?;
        match self.method {
            Method::Gd => {}
            Method::Momentum { gamma } => bad("momentum γ", gamma, (0.0..1.0).contains(&gamma))?,
            Method::Adagrad { delta } => bad("ADAGRAD δ", delta, delta >= 0.0)?,
            Method::RmsProp { rho, delta } => {
                bad("RMSprop ρ", rho, (0.0..1.0).contains(&rho))?;
                bad("RMSprop δ", delta, delta >= 0.0)?;
            }
            Method::Adam {
                beta1,
                beta2,
                delta,
            } => {
                bad("ADAM β₁", beta1, (0.0..1.0).contains(&beta1))?;
                bad("ADAM β₂", beta2, (0.0..1.0).contains(&beta2))?;
                bad("ADAM δ", delta, delta >= 0.0)?;
            }
        }
        match self.schedule {
            Schedule::Constant => Ok(()),
            Schedule::InverseTime { tau } => bad("schedule τ", tau, tau > 0.0),
            Schedule::Exponential { rate, .. } => bad("schedule rate", rate, rate > 0.0),
            Schedule::Cosine { steps } => bad("schedule steps", steps as f64, steps >= 1),
        }
    }

    /// An optimiser in its initial state (no slot has stepped yet).
    pub fn init<B: Backend>(&self) -> Result<UpdateRule<B>> {
        self.validate()?;
        Ok(UpdateRule {
            config: *self,
            slots: Vec::new(),
        })
    }
}

/// The state of one parameter tensor, flattened to a vector.
#[derive(Clone, Debug)]
struct Slot<B: Backend> {
    /// Steps taken so far.
    t: usize,
    /// v (momentum), r (ADAGRAD, RMSprop) or m (ADAM).
    first: Option<Tensor<B, 1>>,
    /// s (ADAM).
    second: Option<Tensor<B, 1>>,
}

/// An optimiser with per-slot state; see the module documentation for the rules.
#[derive(Clone, Debug)]
pub struct UpdateRule<B: Backend> {
    config: UpdateRuleConfig,
    slots: Vec<Slot<B>>,
}

/// The state of one slot, as a Burn record: steps taken, then v, r or m, then s (see the
/// module table).
pub type SlotState<B> = (usize, Option<Tensor<B, 1>>, Option<Tensor<B, 1>>);

impl<B: Backend> UpdateRule<B> {
    /// The configuration.
    pub fn config(&self) -> &UpdateRuleConfig {
        &self.config
    }

    /// Changes the method's hyper-parameters from the next step on, keeping the state (e.g. a
    /// momentum γ that rises from 0.5 to 0.9 after the first epochs).
    pub fn set_method(&mut self, method: Method) {
        self.config.method = method;
    }

    /// Every slot's state, for a checkpoint.
    pub fn state(&self) -> Vec<SlotState<B>> {
        self.slots
            .iter()
            .map(|s| (s.t, s.first.clone(), s.second.clone()))
            .collect()
    }

    /// The rule with the slots' state read back from [`UpdateRule::state`].
    pub fn with_state(mut self, state: Vec<SlotState<B>>) -> Self {
        self.slots = state
            .into_iter()
            .map(|(t, first, second)| Slot { t, first, second })
            .collect();
        self
    }

    /// Steps taken by `slot` so far.
    pub fn steps(&self, slot: usize) -> usize {
        self.slots.get(slot).map_or(0, |s| s.t)
    }

    /// The learning rate the next step of `slot` will use.
    pub fn next_rate(&self, slot: usize) -> f64 {
        self.config
            .schedule
            .rate(self.config.learning_rate, self.steps(slot))
    }

    /// One update of the parameters `theta` in `slot` given their gradient `grad` (same shape);
    /// returns the new parameters.
    pub fn step<const D: usize>(
        &mut self,
        slot: usize,
        theta: Tensor<B, D>,
        grad: Tensor<B, D>,
    ) -> Tensor<B, D> {
        let shape = theta.shape();
        let n = shape.num_elements();
        let eta = self.next_rate(slot);
        if self.slots.len() <= slot {
            self.slots.resize_with(slot + 1, || Slot {
                t: 0,
                first: None,
                second: None,
            });
        }
        let state = &mut self.slots[slot];
        state.t += 1;
        let t = state.t as i32;
        let g: Tensor<B, 1> = grad.reshape([n]);
        let delta_theta = match self.config.method {
            // θ ← θ − η g
            Method::Gd => g.mul_scalar(eta),
            // v ← γ v + η g; θ ← θ − v
            Method::Momentum { gamma } => {
                let v = match state.first.take() {
                    Some(v) => axpby(gamma, v, eta, g),
                    None => g.mul_scalar(eta),
                };
                state.first = Some(v.clone());
                v
            }
            // r ← r + g²; θ ← θ − η g / (δ + √r)
            Method::Adagrad { delta } => {
                let g2 = g.clone().powi_scalar(2);
                let r = match state.first.take() {
                    Some(r) => r + g2,
                    None => g2,
                };
                state.first = Some(r.clone());
                g.mul_scalar(eta) / r.sqrt().add_scalar(delta)
            }
            // r ← ρ r + (1 − ρ) g²; θ ← θ − η g / (δ + √r)
            Method::RmsProp { rho, delta } => {
                let g2 = g.clone().powi_scalar(2);
                let r = match state.first.take() {
                    Some(r) => axpby(rho, r, 1.0 - rho, g2),
                    None => g2.mul_scalar(1.0 - rho),
                };
                state.first = Some(r.clone());
                g.mul_scalar(eta) / r.sqrt().add_scalar(delta)
            }
            // m ← β₁ m + (1 − β₁) g; s ← β₂ s + (1 − β₂) g²;
            // θ ← θ − η m̂ / (δ + √ŝ) with m̂ = m / (1 − β₁ᵗ), ŝ = s / (1 − β₂ᵗ)
            Method::Adam {
                beta1,
                beta2,
                delta,
            } => {
                let g2 = g.clone().powi_scalar(2);
                let m = match state.first.take() {
                    Some(m) => axpby(beta1, m, 1.0 - beta1, g),
                    None => g.mul_scalar(1.0 - beta1),
                };
                let s = match state.second.take() {
                    Some(s) => axpby(beta2, s, 1.0 - beta2, g2),
                    None => g2.mul_scalar(1.0 - beta2),
                };
                state.first = Some(m.clone());
                state.second = Some(s.clone());
                let m_hat = m.div_scalar(1.0 - beta1.powi(t));
                let s_hat = s.div_scalar(1.0 - beta2.powi(t));
                m_hat.mul_scalar(eta) / s_hat.sqrt().add_scalar(delta)
            }
        };
        difference(theta, delta_theta.reshape(shape))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::NdArrayF64 as B;

    fn tensor(v: &[f64]) -> Tensor<B, 1> {
        crate::tensor::from_f64(v.to_vec(), [v.len()], &Default::default())
    }

    fn host(t: Tensor<B, 1>) -> Vec<f64> {
        crate::tensor::to_f64(t)
    }

    /// The published rule, written out on host scalars for one coordinate; state (a, b).
    fn reference(method: Method, eta: f64, t: i32, g: f64, a: &mut f64, b: &mut f64) -> f64 {
        match method {
            Method::Gd => eta * g,
            Method::Momentum { gamma } => {
                *a = gamma * *a + eta * g;
                *a
            }
            Method::Adagrad { delta } => {
                *a += g * g;
                eta * g / (delta + a.sqrt())
            }
            Method::RmsProp { rho, delta } => {
                *a = rho * *a + (1.0 - rho) * g * g;
                eta * g / (delta + a.sqrt())
            }
            Method::Adam {
                beta1,
                beta2,
                delta,
            } => {
                *a = beta1 * *a + (1.0 - beta1) * g;
                *b = beta2 * *b + (1.0 - beta2) * g * g;
                let m_hat = *a / (1.0 - beta1.powi(t));
                let s_hat = *b / (1.0 - beta2.powi(t));
                eta * m_hat / (delta + s_hat.sqrt())
            }
        }
    }

    #[test]
    fn every_rule_matches_its_published_update_step_by_step() {
        let _serial = crate::seed::serial();
        // Gradients of a quadratic C(θ) = Σ c_i θ_i² (g = 2cθ) over 20 steps, for every method
        // and schedule, against the scalar rules above.
        let c = [0.5, 2.0, -1.0];
        for method in [
            Method::Gd,
            Method::momentum(),
            Method::adagrad(),
            Method::rmsprop(),
            Method::adam(),
        ] {
            for schedule in [
                Schedule::Constant,
                Schedule::InverseTime { tau: 5.0 },
                Schedule::Exponential {
                    rate: 0.5,
                    every: 4,
                },
                Schedule::Cosine { steps: 12 },
            ] {
                let cfg = UpdateRuleConfig::new(method, 0.1).with_schedule(schedule);
                let mut opt = cfg.init::<B>().unwrap();
                let mut theta = tensor(&[1.0, -2.0, 0.5]);
                let mut expected = [1.0, -2.0, 0.5];
                let mut state = [(0.0, 0.0); 3];
                for t in 0..20 {
                    let grad: Vec<f64> =
                        expected.iter().zip(&c).map(|(x, c)| 2.0 * c * x).collect();
                    theta = opt.step(0, theta, tensor(&grad));
                    let eta = schedule.rate(0.1, t);
                    for i in 0..3 {
                        let (a, b) = &mut state[i];
                        expected[i] -= reference(method, eta, t as i32 + 1, grad[i], a, b);
                    }
                    let got = host(theta.clone());
                    for i in 0..3 {
                        assert!(
                            (got[i] - expected[i]).abs() <= 1e-12 * (1.0 + expected[i].abs()),
                            "{} {schedule:?} step {t} coord {i}: {} vs {}",
                            method.name(),
                            got[i],
                            expected[i]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn cosine_schedule_by_hand() {
        let s = Schedule::Cosine { steps: 8 };
        // ½ (1 + cos(π t/8)) at t = 0, 2, 4, 8, and held at 0 after T
        let want = [
            (0, 1.0),
            (2, 0.5 + 0.25 * 2f64.sqrt()),
            (4, 0.5),
            (8, 0.0),
            (20, 0.0),
        ];
        for (t, w) in want {
            assert!((s.rate(0.1, t) - 0.1 * w).abs() < 1e-15, "t = {t}");
        }
        let e = UpdateRuleConfig::new(Method::Gd, 0.1)
            .with_schedule(Schedule::Cosine { steps: 0 })
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("schedule steps"), "{e}");
    }

    #[test]
    fn adam_first_three_steps_by_hand() {
        let _serial = crate::seed::serial();
        // θ₀ = 1, C = θ² so g = 2θ; η = 0.1, β₁ = 0.9, β₂ = 0.999, δ = 0.
        // Step 1: g = 2, m = 0.2, s = 0.004, m̂ = 2, ŝ = 4, θ = 1 − 0.1·2/2 = 0.9.
        // Step 2: g = 1.8, m = 0.18 + 0.18 = 0.36, s = 0.003996 + 0.00324 = 0.007236,
        //         m̂ = 0.36/0.19 = 1.894736842..., ŝ = 0.007236/0.001999 = 3.619809904...,
        //         θ = 0.9 − 0.1 · 1.894736842 / 1.902579800 = 0.800412228...
        // Step 3 by the same arithmetic: θ = 0.701586271...
        let cfg = UpdateRuleConfig::new(
            Method::Adam {
                beta1: 0.9,
                beta2: 0.999,
                delta: 0.0,
            },
            0.1,
        );
        let mut opt = cfg.init::<B>().unwrap();
        let mut theta = tensor(&[1.0]);
        let mut got = Vec::new();
        for _ in 0..3 {
            let g = theta.clone().mul_scalar(2.0);
            theta = opt.step(0, theta, g);
            got.push(host(theta.clone())[0]);
        }
        // Step 2 from the numbers above.
        let m_hat = 0.36 / 0.19;
        let s_hat = 0.007236 / (1.0 - 0.999f64.powi(2));
        let theta2 = 0.9 - 0.1 * m_hat / s_hat.sqrt();
        // Step 3: g = 2θ₂.
        let g3 = 2.0 * theta2;
        let m3 = 0.9 * 0.36 + 0.1 * g3;
        let s3 = 0.999 * 0.007236 + 0.001 * g3 * g3;
        let theta3 =
            theta2 - 0.1 * (m3 / (1.0 - 0.9f64.powi(3))) / (s3 / (1.0 - 0.999f64.powi(3))).sqrt();
        assert!((got[0] - 0.9).abs() < 1e-12, "{got:?}");
        assert!((got[1] - theta2).abs() < 1e-12, "{got:?}");
        assert!((theta2 - 0.800412228).abs() < 1e-8, "{theta2}");
        assert!((got[2] - theta3).abs() < 1e-12, "{got:?}");
        assert!((theta3 - 0.701586271).abs() < 1e-8, "{theta3}");
    }

    #[test]
    fn slots_keep_separate_state_and_shapes() {
        let _serial = crate::seed::serial();
        let cfg = UpdateRuleConfig::new(Method::adam(), 0.01);
        let mut opt = cfg.init::<B>().unwrap();
        let w: Tensor<B, 2> = Tensor::ones([2, 3], &Default::default());
        let b = tensor(&[0.0, 0.0]);
        let w = opt.step(0, w.clone(), w.ones_like());
        let w = opt.step(0, w.clone(), w.ones_like());
        let _ = opt.step(1, b.clone(), b.ones_like());
        assert_eq!(w.dims(), [2, 3]);
        assert_eq!((opt.steps(0), opt.steps(1), opt.steps(2)), (2, 1, 0));
    }

    #[test]
    fn bad_hyper_parameters_are_named() {
        let _serial = crate::seed::serial();
        let e = UpdateRuleConfig::new(Method::Gd, -1.0)
            .init::<B>()
            .unwrap_err();
        assert!(e.to_string().contains("learning rate"), "{e}");
        let e = UpdateRuleConfig::new(Method::Momentum { gamma: 1.5 }, 0.1)
            .init::<B>()
            .unwrap_err();
        assert!(e.to_string().contains("momentum"), "{e}");
        let e = UpdateRuleConfig::new(Method::adam(), 0.1)
            .with_schedule(Schedule::InverseTime { tau: 0.0 })
            .init::<B>()
            .unwrap_err();
        assert!(e.to_string().contains("τ"), "{e}");
    }
}
