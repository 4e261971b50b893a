//! Element-wise kernels on f32 slices, in parallel over runs of 16,384 elements:
//!
//!   e^x by a polynomial (no library call, so loops over it are vectorised),
//!   σ(z) = 1 / (1 + e^{−z}),   SiLU(x) = x σ(x),   SiLU′(x) = σ(x) (1 + x (1 − σ(x))).

use rayon::prelude::*;

/// e^x in f32 (Cephes' expf, to about 2 ulp): x = k ln 2 + r with k = round(x / ln 2) and
/// |r| ≤ ln 2 / 2, e^r by a degree-7 polynomial, 2^k written into the exponent bits. No
/// branch and no library call, so the loops that use it are vectorised.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts, so that k·ln 2 is subtracted without rounding error.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5·2²³ rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let k = (x * LOG2E + ROUND) - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    e_r * f32::from_bits(((k as i32 + 127) as u32) << 23)
}

/// σ(z) = 1 / (1 + e^{−z}).
#[inline(always)]
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + exp(-z))
}

/// Elements per parallel task.
const RUN: usize = 1 << 14;

/// out_i = f(a_i, b_i), in parallel over runs when there are several.
fn map2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "element-wise: lengths");
    let mut out = vec![0.0f32; a.len()];
    let run = |((out, a), b): ((&mut [f32], &[f32]), &[f32])| {
        for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
            *o = f(a, b);
        }
    };
    if a.len() > RUN {
        out.par_chunks_mut(RUN)
            .zip(a.par_chunks(RUN))
            .zip(b.par_chunks(RUN))
            .for_each(run);
    } else {
        run(((&mut out, a), b));
    }
    out
}

/// SiLU(x) = x σ(x).
pub fn silu(x: &[f32]) -> Vec<f32> {
    map2(x, x, |x, _| x * sigmoid(x))
}

/// ∂x = ∂y σ(x) (1 + x (1 − σ(x))), SiLU's gradient for the upstream gradient ∂y.
pub fn silu_backward(x: &[f32], dy: &[f32]) -> Vec<f32> {
    map2(x, dy, |x, dy| {
        let s = sigmoid(x);
        dy * s * (1.0 + x * (1.0 - s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The polynomial e^x against f64's over the range the kernels meet, and its clamping.
    #[test]
    fn exp_is_accurate_to_a_few_ulp() {
        let mut worst = 0.0f64;
        for i in -80_000..=80_000 {
            let x = i as f32 * 1e-3;
            let want = (x as f64).exp();
            worst = worst.max(((exp(x) as f64) - want).abs() / want);
        }
        assert!(worst < 4.0 * f32::EPSILON as f64, "relative error {worst}");
        assert_eq!(exp(-1e4), exp(-87.0));
        assert!(exp(1e4).is_finite() && exp(1e4) > 1e38);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7 && sigmoid(-200.0) < 1e-37);
    }

    /// SiLU against x/(1 + e^{−x}) in f64, and its gradient against central differences, on
    /// a range wider than one parallel run.
    #[test]
    fn silu_and_its_gradient_match_the_definition() {
        let n = 3 * RUN + 7;
        let x: Vec<f32> = (0..n).map(|i| (i as f32 / n as f32 - 0.5) * 40.0).collect();
        let dy: Vec<f32> = (0..n).map(|i| ((i % 13) as f32 - 6.0) / 3.0).collect();
        let f = |x: f64| x / (1.0 + (-x).exp());
        let (y, dx) = (silu(&x), silu_backward(&x, &dy));
        for i in 0..n {
            let (xi, h) = (x[i] as f64, 1e-5);
            let want = f(xi);
            assert!(
                (y[i] as f64 - want).abs() <= 1e-6 * (1.0 + want.abs()),
                "y at {xi}"
            );
            let fd = dy[i] as f64 * (f(xi + h) - f(xi - h)) / (2.0 * h);
            assert!(
                (dx[i] as f64 - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
                "∂x at {xi}: {} vs {fd}",
                dx[i]
            );
        }
    }
}
