//! Adversarial losses from discriminator logits l, with D = sigmoid(l).

use burn::tensor::{activation::log_sigmoid, backend::Backend, Tensor};

/// The discriminator maximises V, so it minimises
/// −E_x[log D(x)] − E_z[log(1 − D(G(z)))] = mean(−log σ(l_real)) + mean(−log σ(−l_fake)).
///
/// # Shapes
/// `real_logits`: [batch_real], `fake_logits`: [batch_fake]; returns [1].
pub fn discriminator_loss<B: Backend>(
    real_logits: Tensor<B, 1>,
    fake_logits: Tensor<B, 1>,
) -> Tensor<B, 1> {
    log_sigmoid(real_logits).mean().neg() + log_sigmoid(fake_logits.neg()).mean().neg()
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
