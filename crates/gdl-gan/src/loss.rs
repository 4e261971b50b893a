//! Adversarial losses from discriminator outputs: logits l with D = sigmoid(l) for the
//! minimax game and its non-saturating variant, raw scores for least squares (LSGAN) and the
//! Wasserstein critic.

use burn::config::Config;
use burn::tensor::{activation::log_sigmoid, backend::Backend, Tensor};

/// The game the two networks play.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Objective {
    /// D maximises V; G minimises E_z[log(1 − D(G(z)))] (saturates when D wins).
    Minimax,
    /// D maximises V; G minimises −E_z[log D(G(z))] (Goodfellow et al.'s practical choice).
    NonSaturating,
    /// Least squares (Mao et al. 2017): D minimises ½E(D(x) − 1)² + ½E D(G(z))², G minimises
    /// ½E(D(G(z)) − 1)², D a raw score.
    Lsgan,
    /// Wasserstein GAN (Arjovsky et al. 2017): the critic f maximises E f(x) − E f(G(z)) with
    /// its weights clipped; G minimises −E f(G(z)).
    Wgan,
}

impl Objective {
    /// The discriminator's (critic's) loss from its outputs on real and generated images.
    pub fn discriminator_loss<B: Backend>(
        self,
        real: Tensor<B, 1>,
        fake: Tensor<B, 1>,
    ) -> Tensor<B, 1> {
        self.smoothed_discriminator_loss(real, fake, 1.0)
    }

    /// The discriminator's loss with real images labelled `real_label` = s instead of 1
    /// (one-sided label smoothing, Salimans et al. 2016: generated images keep label 0):
    /// −E_x[s log D(x) + (1 − s) log(1 − D(x))] − E_z[log(1 − D(G(z)))] for logits,
    /// ½E(D(x) − s)² + ½E D(G(z))² for LSGAN. The critic's loss (WGAN) has no labels and
    /// ignores s.
    pub fn smoothed_discriminator_loss<B: Backend>(
        self,
        real: Tensor<B, 1>,
        fake: Tensor<B, 1>,
        real_label: f64,
    ) -> Tensor<B, 1> {
        match self {
            Objective::Minimax | Objective::NonSaturating => {
                smoothed_discriminator_loss(real, fake, real_label)
            }
            // ½ E(D(x) − s)² + ½ E D(G(z))²
            Objective::Lsgan => (real.sub_scalar(real_label).powi_scalar(2).mean()
                + fake.powi_scalar(2).mean())
            .mul_scalar(0.5),
            // −(E f(x) − E f(G(z)))
            Objective::Wgan => fake.mean() - real.mean(),
        }
    }

    /// The generator's loss from the discriminator's outputs on generated images.
    pub fn generator_loss<B: Backend>(self, fake: Tensor<B, 1>) -> Tensor<B, 1> {
        match self {
            Objective::Minimax => generator_loss_minimax(fake),
            Objective::NonSaturating => generator_loss(fake),
            // ½ E(D(G(z)) − 1)²
            Objective::Lsgan => fake.sub_scalar(1.0).powi_scalar(2).mean().mul_scalar(0.5),
            // −E f(G(z))
            Objective::Wgan => fake.mean().neg(),
        }
    }

    /// Whether the discriminator's output is a logit (D = sigmoid(l)).
    pub fn is_logit(self) -> bool {
        matches!(self, Objective::Minimax | Objective::NonSaturating)
    }

    /// The name programs print.
    pub fn name(self) -> &'static str {
        match self {
            Objective::Minimax => "minimax",
            Objective::NonSaturating => "non-saturating",
            Objective::Lsgan => "lsgan",
            Objective::Wgan => "wgan",
        }
    }
}

/// The discriminator maximises V, so it minimises
/// −E_x[log D(x)] − E_z[log(1 − D(G(z)))] = mean(−log σ(l_real)) + mean(−log σ(−l_fake)).
///
/// # Shapes
/// `real_logits`: [batch_real], `fake_logits`: [batch_fake]; returns [1].
pub fn discriminator_loss<B: Backend>(
    real_logits: Tensor<B, 1>,
    fake_logits: Tensor<B, 1>,
) -> Tensor<B, 1> {
    smoothed_discriminator_loss(real_logits, fake_logits, 1.0)
}

/// The same with the real images' label s (one-sided label smoothing):
/// mean(−s log σ(l_real) − (1 − s) log σ(−l_real)) + mean(−log σ(−l_fake)).
pub fn smoothed_discriminator_loss<B: Backend>(
    real_logits: Tensor<B, 1>,
    fake_logits: Tensor<B, 1>,
    real_label: f64,
) -> Tensor<B, 1> {
    let fake = log_sigmoid(fake_logits.neg()).mean().neg();
    let real = log_sigmoid(real_logits.clone()).mean().neg();
    if real_label == 1.0 {
        return real + fake;
    }
    let wrong = log_sigmoid(real_logits.neg()).mean().neg();
    real.mul_scalar(real_label) + wrong.mul_scalar(1.0 - real_label) + fake
}

/// The minimax generator loss E_z[log(1 − D(G(z)))] = mean(log σ(−l_fake)); its gradient
/// vanishes when D rejects the samples confidently (the lecture's saturation problem).
pub fn generator_loss_minimax<B: Backend>(fake_logits: Tensor<B, 1>) -> Tensor<B, 1> {
    log_sigmoid(fake_logits.neg()).mean()
}

/// The non-saturating generator loss −E_z[log D(G(z))] = mean(−log σ(l_fake)), used in practice.
pub fn generator_loss<B: Backend>(fake_logits: Tensor<B, 1>) -> Tensor<B, 1> {
    log_sigmoid(fake_logits).mean().neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::testing::{TestAutodiffBackend as AD, TestBackend as B};

    fn sigmoid(l: f64) -> f64 {
        1.0 / (1.0 + (-l).exp())
    }

    #[test]
    fn losses_match_their_definitions() {
        let (real, fake) = ([0.5f32, 2.0, -1.0], [-0.3f32, 1.5]);
        let d = Default::default();
        let r = Tensor::<B, 1>::from_floats(real, &d);
        let f = Tensor::<B, 1>::from_floats(fake, &d);
        let d_loss: f32 = discriminator_loss(r, f.clone()).into_scalar();
        let expected = -real.iter().map(|&l| sigmoid(l as f64).ln()).sum::<f64>() / 3.0
            - fake
                .iter()
                .map(|&l| (1.0 - sigmoid(l as f64)).ln())
                .sum::<f64>()
                / 2.0;
        assert!((d_loss as f64 - expected).abs() < 1e-6);
        let g: f32 = generator_loss(f.clone()).into_scalar();
        let g_expected = -fake.iter().map(|&l| sigmoid(l as f64).ln()).sum::<f64>() / 2.0;
        assert!((g as f64 - g_expected).abs() < 1e-6);
        let mm: f32 = generator_loss_minimax(f).into_scalar();
        let mm_expected = fake
            .iter()
            .map(|&l| (1.0 - sigmoid(l as f64)).ln())
            .sum::<f64>()
            / 2.0;
        assert!((mm as f64 - mm_expected).abs() < 1e-6);
    }

    /// Every objective's gradients with respect to the outputs against hand derivatives:
    /// for logits, ∂/∂l of −log σ(l) is σ(l) − 1 and of −log σ(−l) is σ(l); each mean divides
    /// by its batch size.
    #[test]
    fn gradients_match_hand_derivatives() {
        let (real, fake) = ([0.5f64, 2.0, -1.0], [-0.3f64, 1.5]);
        let (nr, nf) = (real.len() as f64, fake.len() as f64);
        let grads = |objective: Objective| {
            let d = Default::default();
            let r = Tensor::<AD, 1>::from_floats(real.map(|v| v as f32), &d).require_grad();
            let f = Tensor::<AD, 1>::from_floats(fake.map(|v| v as f32), &d).require_grad();
            let g = objective
                .discriminator_loss(r.clone(), f.clone())
                .backward();
            let (gr, gf) = (r.grad(&g).unwrap(), f.grad(&g).unwrap());
            let f2 = Tensor::<AD, 1>::from_floats(fake.map(|v| v as f32), &d).require_grad();
            let g2 = objective.generator_loss(f2.clone()).backward();
            let gg = f2.grad(&g2).unwrap();
            let host = |t: Tensor<B, 1>| -> Vec<f64> {
                t.into_data().convert::<f64>().into_vec::<f64>().unwrap()
            };
            (host(gr), host(gf), host(gg))
        };
        type Hand = fn(f64) -> f64;
        let cases: [(Objective, Hand, Hand, Hand); 4] = [
            // D: −log σ(l_r) − log σ(−l_f); G minimax: log σ(−l_f) → −σ(l_f)
            (
                Objective::Minimax,
                |l| sigmoid(l) - 1.0,
                sigmoid,
                |l| -sigmoid(l),
            ),
            // G non-saturating: −log σ(l_f) → σ(l_f) − 1
            (
                Objective::NonSaturating,
                |l| sigmoid(l) - 1.0,
                sigmoid,
                |l| sigmoid(l) - 1.0,
            ),
            // D: ½(D_r − 1)² + ½D_f² → D_r − 1, D_f; G: ½(D_f − 1)² → D_f − 1
            (Objective::Lsgan, |v| v - 1.0, |v| v, |v| v - 1.0),
            // critic: E f_f − E f_r → −1, +1; G: −E f_f → −1
            (Objective::Wgan, |_| -1.0, |_| 1.0, |_| -1.0),
        ];
        for (objective, d_real, d_fake, g_fake) in cases {
            let (gr, gf, gg) = grads(objective);
            for (i, &l) in real.iter().enumerate() {
                assert!(
                    (gr[i] - d_real(l) / nr).abs() < 1e-6,
                    "{objective:?} real {i}"
                );
            }
            for (i, &l) in fake.iter().enumerate() {
                assert!(
                    (gf[i] - d_fake(l) / nf).abs() < 1e-6,
                    "{objective:?} fake {i}"
                );
                assert!((gg[i] - g_fake(l) / nf).abs() < 1e-6, "{objective:?} G {i}");
            }
        }
    }

    /// With real label s the gradient on a real logit is (σ(l) − s)/n (logits) and
    /// (D(x) − s)/n (LSGAN); generated images are unaffected; WGAN ignores s.
    #[test]
    fn label_smoothing_moves_the_real_target_to_s() {
        let (real, fake, s) = ([0.5f64, 2.0, -1.0], [-0.3f64, 1.5], 0.9);
        let d = Default::default();
        for objective in [Objective::NonSaturating, Objective::Lsgan, Objective::Wgan] {
            let r = Tensor::<AD, 1>::from_floats(real.map(|v| v as f32), &d).require_grad();
            let f = Tensor::<AD, 1>::from_floats(fake.map(|v| v as f32), &d).require_grad();
            let g = objective
                .smoothed_discriminator_loss(r.clone(), f.clone(), s)
                .backward();
            let host = |t: Tensor<B, 1>| t.into_data().convert::<f64>().into_vec::<f64>().unwrap();
            let (gr, gf) = (host(r.grad(&g).unwrap()), host(f.grad(&g).unwrap()));
            for (i, &l) in real.iter().enumerate() {
                let hand = match objective {
                    Objective::Lsgan => l - s,
                    Objective::Wgan => -1.0,
                    _ => sigmoid(l) - s,
                } / 3.0;
                assert!((gr[i] - hand).abs() < 1e-6, "{objective:?} real {i}");
            }
            for (i, &l) in fake.iter().enumerate() {
                let hand = match objective {
                    Objective::Lsgan => l,
                    Objective::Wgan => 1.0,
                    _ => sigmoid(l),
                } / 2.0;
                assert!((gf[i] - hand).abs() < 1e-6, "{objective:?} fake {i}");
            }
        }
    }

    #[test]
    fn minimax_saturates_where_non_saturating_does_not() {
        // D confidently rejects a fake (l = −10): d/dl log(1 − σ(l)) = −σ(l) ≈ −4.5e−5, while
        // d/dl −log σ(l) = σ(l) − 1 ≈ −1.
        let grad = |f: fn(Tensor<AD, 1>) -> Tensor<AD, 1>| {
            let l = Tensor::<AD, 1>::from_floats([-10.0], &Default::default()).require_grad();
            let g = f(l.clone()).backward();
            l.grad(&g).unwrap().into_scalar()
        };
        let (mm, ns) = (grad(generator_loss_minimax), grad(generator_loss));
        assert!((mm as f64 / -sigmoid(-10.0) - 1.0).abs() < 1e-3, "{mm}");
        assert!((ns as f64 - (sigmoid(-10.0) - 1.0)).abs() < 1e-6, "{ns}");
    }
}
