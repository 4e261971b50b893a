//! Element-wise functions written so that they keep an f64 backend's precision (Burn 0.21's
//! `sigmoid` computes in f32, and NdArray's SIMD `recip` is approximate) and do not overflow.

use burn::tensor::{activation::relu, backend::Backend, Tensor};

/// σ(z) = 1 / (1 + e^(−z)), by an exact division (on Flex in f32, gdl's vectorised kernel with
/// its own backward: [`crate::activation`]).
pub fn sigmoid<B: Backend, const D: usize>(z: Tensor<B, D>) -> Tensor<B, D> {
    if let Some(s) = crate::activation::try_sigmoid(&z) {
        return s;
    }
    z.ones_like() / z.neg().exp().add_scalar(1.0)
}

/// softplus(z) = ln(1 + e^z) = max(z, 0) + ln(1 + e^(−|z|)): finite for every finite z.
pub fn softplus<B: Backend, const D: usize>(z: Tensor<B, D>) -> Tensor<B, D> {
    relu(z.clone()) + z.abs().neg().exp().log1p()
}

#[cfg(all(test, feature = "ndarray"))]
mod tests {
    use super::*;
    use crate::backend::NdArrayF64 as B;
    use crate::tensor::{from_f64, to_f64};

    #[test]
    fn match_the_scalar_definitions_in_f64() {
        let z = vec![-800.0, -3.0, -1e-3, 0.0, 0.7, 40.0, 800.0];
        let t = || from_f64::<B, 1>(z.clone(), [z.len()], &Default::default());
        for (i, (s, p)) in to_f64(sigmoid(t()))
            .into_iter()
            .zip(to_f64(softplus(t())))
            .enumerate()
        {
            let zi: f64 = z[i];
            assert!((s - 1.0 / (1.0 + (-zi).exp())).abs() < 1e-16, "σ({zi})");
            let exact = if zi > 30.0 { zi } else { zi.exp().ln_1p() };
            assert!(
                (p - exact).abs() <= 1e-15 * exact.abs().max(1e-300),
                "softplus({zi}) = {p}"
            );
        }
    }
}
