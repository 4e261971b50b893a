//! Element-wise kernels on f32 slices, in parallel over runs of 16,384 elements:
//!
//!   e^x by a polynomial (no library call, so loops over it are vectorised),
//!   σ(z) = 1 / (1 + e^{−z}),   σ′(z) = σ(z) (1 − σ(z)),
//!   SiLU(x) = x σ(x),   SiLU′(x) = σ(x) (1 + x (1 − σ(x))),
//!   LeakyReLU(x) = max(x, a x) (0 < a < 1) and its gradient,
//!   ln(1 + u) by a polynomial, softplus(z) = ln(1 + e^z), and the Bernoulli negative
//!   log-likelihood Σ_j [softplus(l_j) − x_j l_j] of rows with its gradients.

use crate::buffer::{written, zeroed};
use rayon::prelude::*;
use std::mem::MaybeUninit;

use crate::simd::{lane_sum, wide};

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
    // k + 1.5·2²³ holds k in its low mantissa bits: k as an integer without a float-to-int
    // conversion (whose saturating form the compiler does not vectorise).
    let shifted = x * LOG2E + ROUND;
    let k_int = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    let k = shifted - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    e_r * f32::from_bits(((k_int + 127) as u32) << 23)
}

/// σ(z) = 1 / (1 + e^{−z}).
#[inline(always)]
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + exp(-z))
}

/// ln(1 + u) for u in [0, 1] (Cephes' logf, to a few ulp): 1 + u = 2^e m with m in
/// [√½, √2), ln m = z − z²/2 + z³ P(z) for z = m − 1 by a degree-8 polynomial P, and e ln 2
/// added in two parts. z is formed from u without rounding 1 + u (z = u, or (u − 1)/2 above
/// √2 − 1), so tiny u keep every bit. No branch and no library call, so loops over it are
/// vectorised.
#[inline(always)]
pub fn ln_1p_unit(u: f32) -> f32 {
    let high = u > std::f32::consts::SQRT_2 - 1.0;
    let e = if high { 1.0 } else { 0.0 };
    let z = if high { 0.5 * (u - 1.0) } else { u };
    let p = 7.037_683_6e-2;
    let p = p * z - 1.151_461e-1;
    let p = p * z + 1.167_699_9e-1;
    let p = p * z - 1.242_014_1e-1;
    let p = p * z + 1.424_932_3e-1;
    let p = p * z - 1.666_805_8e-1;
    let p = p * z + 2.000_071_5e-1;
    let p = p * z - 2.499_999_4e-1;
    let p = p * z + 3.333_333e-1;
    let z2 = z * z;
    z + (p * z * z2 - 2.121_944_4e-4 * e - 0.5 * z2) + 0.693_359_4 * e
}

/// softplus(z) = ln(1 + e^z) = max(z, 0) + ln(1 + e^{−|z|}).
#[inline(always)]
pub fn softplus(z: f32) -> f32 {
    z.max(0.0) + ln_1p_unit(exp(-z.abs()))
}

/// Elements per parallel task.
const RUN: usize = 1 << 14;

/// out_i = f(a_i, b_i), in parallel over runs when there are several.
pub(crate) fn map2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "element-wise: lengths");
    let run = |out: &mut [MaybeUninit<f32>], a: &[f32], b: &[f32]| {
        wide(
            #[inline(always)]
            || {
                for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
                    o.write(f(a, b));
                }
            },
        )
    };
    // SAFETY: the runs cover the whole output, and each writes every element of its own.
    unsafe {
        written(a.len(), |out| {
            if a.len() > RUN {
                out.par_chunks_mut(RUN)
                    .zip(a.par_chunks(RUN))
                    .zip(b.par_chunks(RUN))
                    .for_each(|((out, a), b)| run(out, a, b));
            } else {
                run(out, a, b);
            }
        })
    }
}

/// σ(x) element-wise.
pub fn sigmoids(x: &[f32]) -> Vec<f32> {
    map2(x, x, |x, _| sigmoid(x))
}

/// ∂x = ∂y σ(x) (1 − σ(x)), the sigmoid's gradient for the upstream gradient ∂y.
pub fn sigmoid_backward(x: &[f32], dy: &[f32]) -> Vec<f32> {
    map2(x, dy, |x, dy| {
        let s = sigmoid(x);
        dy * s * (1.0 - s)
    })
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

/// LeakyReLU(x) = x for x ≥ 0, a·x below (a: the negative slope).
pub fn leaky_relu(x: &[f32], slope: f32) -> Vec<f32> {
    // a factor chosen and then one product (1·x = x): a select of two constants, which the
    // compiler vectorises, where a branch around the product stayed scalar
    map2(x, x, move |x, _| if x < 0.0 { slope } else { 1.0 } * x)
}

/// ∂x = ∂y for x ≥ 0, a ∂y below: LeakyReLU's gradient for the upstream gradient ∂y.
pub fn leaky_relu_backward(x: &[f32], dy: &[f32], slope: f32) -> Vec<f32> {
    map2(x, dy, move |x, dy| if x < 0.0 { slope } else { 1.0 } * dy)
}

/// The Bernoulli negative log-likelihood of each row of x [n, d] under logits l [n, d]:
/// −log p(x) = Σ_j [softplus(l_j) − x_j l_j] (x may be grey levels in [0, 1]), one pass, in
/// parallel over runs of rows.
pub fn bernoulli_nll(logits: &[f32], x: &[f32], d: usize) -> Vec<f32> {
    assert_eq!(logits.len(), x.len(), "bernoulli_nll: lengths");
    let rows = logits.len().checked_div(d).unwrap_or(0);
    let mut out = zeroed(rows);
    let per = (RUN / d.max(1)).max(1);
    let run = |(k, out): (usize, &mut [f32])| {
        // Each row's terms in one element-wise loop (vectorised), then summed.
        let mut terms = vec![0.0f32; d];
        wide(
            #[inline(always)]
            || {
                for (r, o) in out.iter_mut().enumerate() {
                    let at = (k * per + r) * d;
                    let (l, x) = (&logits[at..at + d], &x[at..at + d]);
                    for ((t, &l), &x) in terms.iter_mut().zip(l).zip(x) {
                        *t = softplus(l) - x * l;
                    }
                    *o = lane_sum(&terms);
                }
            },
        )
    };
    if rows > per {
        out.par_chunks_mut(per).enumerate().for_each(run);
    } else {
        run((0, &mut out));
    }
    out
}

/// The gradients of [`bernoulli_nll`] for the upstream gradient ∂y [n] of its rows:
/// ∂l_j = ∂y (σ(l_j) − x_j) and, when `want_x`, ∂x_j = −∂y l_j.
pub fn bernoulli_nll_backward(
    logits: &[f32],
    x: &[f32],
    dy: &[f32],
    want_x: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    assert_eq!(logits.len(), x.len(), "bernoulli_nll_backward: lengths");
    let d = logits.len().checked_div(dy.len()).unwrap_or(0);
    let mut dl = zeroed(logits.len());
    if d == 0 {
        return (dl, want_x.then(Vec::new));
    }
    let per = (RUN / d).max(1);
    let run = |(k, out): (usize, &mut [f32])| {
        wide(
            #[inline(always)]
            || {
                for (r, out) in out.chunks_mut(d).enumerate() {
                    let (row, at) = (k * per + r, (k * per + r) * d);
                    let g = dy[row];
                    let pairs = out.iter_mut().zip(&logits[at..at + d]).zip(&x[at..at + d]);
                    for ((o, &l), &x) in pairs {
                        *o = g * (sigmoid(l) - x);
                    }
                }
            },
        )
    };
    if dy.len() > per {
        dl.par_chunks_mut(per * d).enumerate().for_each(run);
    } else {
        run((0, &mut dl));
    }
    let dx = want_x.then(|| {
        logits
            .chunks(d)
            .zip(dy)
            .flat_map(|(l, &g)| l.iter().map(move |&l| -g * l))
            .collect()
    });
    (dl, dx)
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

    /// ln(1 + u) and softplus against f64's, over the whole range (relative error a few
    /// ulp; ln(1 + u) ≈ u for u below f32's ε, where 1 + u rounds to 1).
    #[test]
    fn ln_1p_and_softplus_are_accurate_to_a_few_ulp() {
        let mut worst = 0.0f64;
        let mut check = |got: f32, want: f64| {
            worst = worst.max((got as f64 - want).abs() / want.abs().max(f64::MIN_POSITIVE));
        };
        for i in 0..=200_000 {
            let u = i as f32 / 200_000.0;
            check(ln_1p_unit(u), (u as f64).ln_1p());
        }
        for k in 1..=140 {
            let u = 2f32.powi(-k);
            check(ln_1p_unit(u), (u as f64).ln_1p());
            check(ln_1p_unit(3.0 * u), (3.0 * u as f64).ln_1p());
        }
        for i in -80_000..=100_000 {
            let z = i as f32 * 1e-3;
            check(softplus(z), (z as f64).exp().ln_1p());
        }
        assert!(worst < 4.0 * f32::EPSILON as f64, "relative error {worst}");
        // Below −87, e^z is clamped at e^{−87}: an absolute error under 2e-38.
        assert!(softplus(-1e4) < 2e-38);
        assert_eq!(softplus(1e4), 1e4);
        assert_eq!(ln_1p_unit(0.0), 0.0);
    }

    /// The Bernoulli NLL's rows against Σ softplus(l) − x l in f64, and its gradients against
    /// the hand derivatives, on more rows than one parallel run and a row length that is not a
    /// multiple of eight.
    #[test]
    fn bernoulli_nll_and_its_gradients_match_the_definition() {
        let (n, d) = (61, 787);
        let l: Vec<f32> = (0..n * d)
            .map(|i| ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 60.0)
            .collect();
        let x: Vec<f32> = (0..n * d)
            .map(|i| (i * 104_729 % 257) as f32 / 256.0)
            .collect();
        let dy: Vec<f32> = (0..n).map(|i| (i as f32 - 30.0) / 7.0).collect();
        let nll = bernoulli_nll(&l, &x, d);
        let (dl, dx) = bernoulli_nll_backward(&l, &x, &dy, true);
        let dx = dx.expect("∂x was asked for");
        for r in 0..n {
            let row = r * d..(r + 1) * d;
            let want: f64 = row
                .clone()
                .map(|i| (l[i] as f64).exp().ln_1p() - x[i] as f64 * l[i] as f64)
                .sum();
            let scale: f64 = row.clone().map(|i| (l[i] as f64).abs() + 1.0).sum();
            assert!(
                (nll[r] as f64 - want).abs() <= 1e-6 * scale,
                "row {r}: {} vs {want}",
                nll[r]
            );
            for i in row {
                let s = 1.0 / (1.0 + (-(l[i] as f64)).exp());
                let (gl, gx) = (
                    dy[r] as f64 * (s - x[i] as f64),
                    -(dy[r] as f64) * l[i] as f64,
                );
                assert!(
                    (dl[i] as f64 - gl).abs() <= 1e-6 * (1.0 + gl.abs()),
                    "∂l {i}"
                );
                assert!(
                    (dx[i] as f64 - gx).abs() <= 1e-6 * (1.0 + gx.abs()),
                    "∂x {i}"
                );
            }
        }
        assert!(bernoulli_nll_backward(&l, &x, &dy, false).1.is_none());
    }

    /// SiLU against x/(1 + e^{−x}) and σ against 1/(1 + e^{−x}) in f64, and their gradients
    /// against central differences, on a range wider than one parallel run.
    #[test]
    fn silu_sigmoid_and_their_gradients_match_the_definitions() {
        let n = 3 * RUN + 7;
        let x: Vec<f32> = (0..n).map(|i| (i as f32 / n as f32 - 0.5) * 40.0).collect();
        let dy: Vec<f32> = (0..n).map(|i| ((i % 13) as f32 - 6.0) / 3.0).collect();
        let silu_f64 = |x: f64| x / (1.0 + (-x).exp());
        let sigmoid_f64 = |x: f64| 1.0 / (1.0 + (-x).exp());
        check_elementwise(&x, &dy, &silu_f64, &silu(&x), &silu_backward(&x, &dy));
        let (y, dx) = (sigmoids(&x), sigmoid_backward(&x, &dy));
        check_elementwise(&x, &dy, &sigmoid_f64, &y, &dx);
    }

    /// y against f in f64 (1e-6 relative) and ∂x against ∂y times central differences of f.
    fn check_elementwise(x: &[f32], dy: &[f32], f: &dyn Fn(f64) -> f64, y: &[f32], dx: &[f32]) {
        for i in 0..x.len() {
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
