//! The widest vector instructions of the CPU for our element-wise loops.
//!
//! The workspace is built for baseline x86-64, whose vectors hold four f32 (SSE2): the loops
//! of our kernels (SiLU, group norm, Adam, the Bernoulli likelihood) are vectorised four
//! lanes wide. [`wide`] runs a loop compiled a second and third time for AVX-512 and AVX2
//! (sixteen and eight lanes), chosen once per call by what the CPU reports. The loop is the
//! same code: only the instructions the compiler may use change, and the results are the same
//! bit for bit (Rust never fuses a·b + c into one rounding, and vectorisation never reorders a
//! sum of floats).

/// Runs `f`, compiled for AVX-512 or AVX2 when this x86-64 CPU has them. Pass an
/// `#[inline(always)]` closure (`wide(#[inline(always)] || ...)`): only code inlined into
/// the wide function is compiled for its instructions.
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2")]
        fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { avx512(f) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// Σ v_i with eight partial sums (a vector's lanes, added in order at the end), so that the
/// loop is vectorised.
#[inline(always)]
pub(crate) fn lane_sum(v: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = v.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for i in 0..8 {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::kernel::{sigmoid, softplus};

    #[inline(always)]
    fn terms(out: &mut [f32], x: &[f32]) {
        for (o, &x) in out.iter_mut().zip(x) {
            *o = x * sigmoid(x) + softplus(0.5 * x) / (1.0 + x * x);
        }
    }

    /// The wide loop gives the numbers of the baseline loop, bit for bit.
    #[test]
    fn the_wide_loop_equals_the_baseline_loop() {
        let x: Vec<f32> = (0..10_007).map(|i| (i as f32 - 5_000.0) * 0.0173).collect();
        let (mut narrow, mut wide_out) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        terms(&mut narrow, &x);
        wide(|| terms(&mut wide_out, &x));
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&narrow), bits(&wide_out));
    }
}
