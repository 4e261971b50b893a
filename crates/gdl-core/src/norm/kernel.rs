//! Group normalisation, optionally followed by SiLU, as one pass over each (image, group)
//! block of a contiguous [N, C, H, W] tensor, forward and backward; the blocks run in
//! parallel. With x̂ = (x − μ)/√(σ² + ε) over the block's C/G channels and H·W pixels,
//!
//!   z = γ_c x̂ + β_c,   y = z σ(z) (SiLU) or y = z,
//!
//! and for an upstream gradient ∂y:
//!
//!   ∂z = ∂y σ(z) (1 + z (1 − σ(z)))  (SiLU's derivative; ∂z = ∂y without it),
//!   ∂β_c = Σ_{n,pixels} ∂z,   ∂γ_c = Σ_{n,pixels} ∂z x̂,   ∂x̂ = γ_c ∂z,
//!   ∂x = (∂x̂ − mean(∂x̂) − x̂ mean(∂x̂ x̂)) / √(σ² + ε)   (means over the block).
//!
//! Sums are accumulated in f64.

use crate::activation::kernel::sigmoid;
use crate::buffer::{written, zeroed};
use rayon::prelude::*;
use std::mem::MaybeUninit;

use crate::simd::wide;

/// The shape of a group normalisation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupShape {
    /// N.
    pub batch: usize,
    /// C.
    pub channels: usize,
    /// G (divides C).
    pub groups: usize,
    /// H · W.
    pub pixels: usize,
    /// ε.
    pub epsilon: f64,
    /// Whether SiLU follows.
    pub silu: bool,
}

impl GroupShape {
    fn per_group(&self) -> usize {
        self.channels / self.groups
    }

    fn block(&self) -> usize {
        self.per_group() * self.pixels
    }
}

/// Σ f(a_i, b_i) in f64, from f32 partial sums in eight lanes over runs of 256 elements
/// (which the compiler vectorises; an f64 sum element by element is one long dependency
/// chain).
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    const LANES: usize = 8;
    let mut total = 0.0f64;
    for (a, b) in a.chunks(256).zip(b.chunks(256)) {
        let mut acc = [0.0f32; LANES];
        let (mut ia, mut ib) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        for (a, b) in (&mut ia).zip(&mut ib) {
            for i in 0..LANES {
                acc[i] += f(a[i], b[i]);
            }
        }
        let rest: f32 = ia
            .remainder()
            .iter()
            .zip(ib.remainder())
            .map(|(&a, &b)| f(a, b))
            .sum();
        total += acc.iter().sum::<f32>() as f64 + rest as f64;
    }
    total
}

/// μ and 1/√(σ² + ε) of a block (the biased variance, two passes).
#[inline(always)]
fn statistics(x: &[f32], epsilon: f64) -> [f32; 2] {
    let m = x.len() as f64;
    let mean = lane_sum(x, x, |v, _| v) / m;
    let mean32 = mean as f32;
    // Σ (x − μ)² with μ rounded to f32, corrected by the rounding: Σ (x − μ)² =
    // Σ (x − μ₃₂)² − m (μ − μ₃₂)².
    let shifted = lane_sum(x, x, |v, _| (v - mean32) * (v - mean32));
    let variance = (shifted / m - (mean - mean32 as f64).powi(2)).max(0.0);
    [mean32, (1.0 / (variance + epsilon).sqrt()) as f32]
}

/// y and, per (image, group), [μ, 1/√(σ² + ε)].
pub fn forward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    s: &GroupShape,
) -> (Vec<f32>, Vec<[f32; 2]>) {
    let block = s.block();
    let mut stats = Vec::new();
    // SAFETY: the blocks cover y, and forward_block writes every element of its block.
    let y = unsafe {
        written(x.len(), |y| {
            stats = y
                .par_chunks_mut(block)
                .zip(x.par_chunks(block))
                .enumerate()
                .map(|(k, (y, x))| {
                    wide(
                        #[inline(always)]
                        || forward_block(k, y, x, gamma, beta, s),
                    )
                })
                .collect();
        })
    };
    (y, stats)
}

/// One (image, group) block of [`forward`]: y, and [μ, 1/√(σ² + ε)].
#[inline(always)]
fn forward_block(
    k: usize,
    y: &mut [MaybeUninit<f32>],
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    s: &GroupShape,
) -> [f32; 2] {
    let (per_group, pixels) = (s.per_group(), s.pixels);
    let [mean, inv_std] = statistics(x, s.epsilon);
    let first = (k % s.groups) * per_group;
    for (c, (y, x)) in y.chunks_mut(pixels).zip(x.chunks(pixels)).enumerate() {
        // z = a x + b with a = γ_c / √(σ² + ε), b = β_c − μ a.
        let a = gamma[first + c] * inv_std;
        let b = beta[first + c] - mean * a;
        let pairs = y.iter_mut().zip(x);
        if s.silu {
            pairs.for_each(|(y, &x)| {
                let z = a * x + b;
                y.write(z * sigmoid(z));
            });
        } else {
            pairs.for_each(|(y, &x)| {
                y.write(a * x + b);
            });
        }
    }
    [mean, inv_std]
}

/// [∂x, ∂γ, ∂β] for the upstream gradient `dy`, from the forward's input and statistics.
pub fn backward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    stats: &[[f32; 2]],
    dy: &[f32],
    s: &GroupShape,
) -> [Vec<f32>; 3] {
    let (block, per_group) = (s.block(), s.per_group());
    let mut dx = zeroed(x.len());
    // Per (image, channel): Σ ∂z x̂ and Σ ∂z.
    let mut sums = vec![[0.0f64; 2]; s.batch * s.channels];
    dx.par_chunks_mut(block)
        .zip(x.par_chunks(block))
        .zip(dy.par_chunks(block))
        .zip(sums.par_chunks_mut(per_group))
        .enumerate()
        .for_each(|(k, (((dz, x), dy), sums))| {
            wide(
                #[inline(always)]
                || backward_block(k, dz, x, dy, sums, gamma, beta, stats[k], s),
            )
        });
    let mut dgamma = vec![0.0f64; s.channels];
    let mut dbeta = vec![0.0f64; s.channels];
    for row in sums.chunks(s.channels) {
        for (c, [dz_xhat, dz]) in row.iter().enumerate() {
            dgamma[c] += dz_xhat;
            dbeta[c] += dz;
        }
    }
    let f32s = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
    [dx, f32s(dgamma), f32s(dbeta)]
}

/// One (image, group) block of [`backward`]: ∂x into `dz`, and per channel [Σ ∂z x̂, Σ ∂z].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_block(
    k: usize,
    dz: &mut [f32],
    x: &[f32],
    dy: &[f32],
    sums: &mut [[f64; 2]],
    gamma: &[f32],
    beta: &[f32],
    [mean, inv_std]: [f32; 2],
    s: &GroupShape,
) {
    let (block, per_group, pixels) = (s.block(), s.per_group(), s.pixels);
    let first = (k % s.groups) * per_group;
    // First pass, channel by channel: ∂z into dx, its sums, and the block's
    // mean(∂x̂) = Σ_c γ_c Σ ∂z / m and mean(∂x̂ x̂) = Σ_c γ_c Σ ∂z x̂ / m.
    let (mut m1, mut m2) = (0.0f64, 0.0f64);
    for (c, ((dz, x), dy)) in dz
        .chunks_mut(pixels)
        .zip(x.chunks(pixels))
        .zip(dy.chunks(pixels))
        .enumerate()
    {
        let (g, b) = (gamma[first + c], beta[first + c]);
        let triples = dz.iter_mut().zip(x).zip(dy);
        if s.silu {
            triples.for_each(|((dz, &x), &dy)| {
                let z = g * ((x - mean) * inv_std) + b;
                let sig = sigmoid(z);
                *dz = dy * sig * (1.0 + z * (1.0 - sig));
            });
        } else {
            dz.copy_from_slice(dy);
        }
        let dz_xhat = lane_sum(dz, x, |dz, x| dz * ((x - mean) * inv_std));
        let dz_sum = lane_sum(dz, dz, |dz, _| dz);
        sums[c] = [dz_xhat, dz_sum];
        m1 += g as f64 * dz_sum;
        m2 += g as f64 * dz_xhat;
    }
    // Second pass: ∂x = (γ_c ∂z − mean(∂x̂) − x̂ mean(∂x̂ x̂)) / √(σ² + ε).
    let m = block as f64;
    let (m1, m2) = ((m1 / m) as f32, (m2 / m) as f32);
    for (c, (dx, x)) in dz.chunks_mut(pixels).zip(x.chunks(pixels)).enumerate() {
        let g = gamma[first + c];
        for (dx, &x) in dx.iter_mut().zip(x) {
            let xhat = (x - mean) * inv_std;
            *dx = (g * *dx - m1 - xhat * m2) * inv_std;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The forward in f64 by its definition: y of every element.
    fn reference(x: &[f64], gamma: &[f64], beta: &[f64], s: &GroupShape) -> Vec<f64> {
        let block = s.block();
        let mut y = vec![0.0; x.len()];
        for (k, (y, x)) in y.chunks_mut(block).zip(x.chunks(block)).enumerate() {
            let m = x.len() as f64;
            let mean = x.iter().sum::<f64>() / m;
            let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m;
            for (i, (y, x)) in y.iter_mut().zip(x).enumerate() {
                let c = (k % s.groups) * s.per_group() + i / s.pixels;
                let z = gamma[c] * (x - mean) / (var + s.epsilon).sqrt() + beta[c];
                *y = if s.silu { z / (1.0 + (-z).exp()) } else { z };
            }
        }
        y
    }

    fn numbers(n: usize, seed: u64, scale: f64, offset: f64) -> Vec<f64> {
        // A fixed, irregular sequence (no RNG crate needed).
        (0..n)
            .map(|i| {
                let u = ((i as u64 + 1) * 2654435761 + seed * 40503) % 1000;
                offset + scale * (u as f64 / 1000.0 - 0.5)
            })
            .collect()
    }

    /// Forward against the definition, and every gradient against central differences of
    /// L = Σ w ⊙ y in f64 (the kernel's f32 gradients to 2e-3 relative).
    #[test]
    fn forward_and_gradients_match_the_definition() {
        for silu in [true, false] {
            let s = GroupShape {
                batch: 2,
                channels: 6,
                groups: 3,
                pixels: 5,
                epsilon: 1e-5,
                silu,
            };
            let len = s.batch * s.channels * s.pixels;
            let x = numbers(len, 1, 4.0, 0.3);
            let gamma = numbers(6, 2, 1.0, 1.0);
            let beta = numbers(6, 3, 1.0, 0.0);
            let w = numbers(len, 4, 2.0, 0.0);
            let f32s = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<_>>();
            let (y, stats) = forward(&f32s(&x), &f32s(&gamma), &f32s(&beta), &s);
            for (a, b) in y.iter().zip(reference(&x, &gamma, &beta, &s)) {
                assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
            }
            let [dx, dgamma, dbeta] = backward(
                &f32s(&x),
                &f32s(&gamma),
                &f32s(&beta),
                &stats,
                &f32s(&w),
                &s,
            );
            let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| {
                reference(x, gamma, beta, &s)
                    .iter()
                    .zip(&w)
                    .map(|(y, w)| y * w)
                    .sum::<f64>()
            };
            let h = 1e-6;
            let check = |grad: &[f32], which: usize| {
                let base = [x.clone(), gamma.clone(), beta.clone()];
                for (i, g) in grad.iter().enumerate() {
                    let (mut up, mut down) = (base.clone(), base.clone());
                    up[which][i] += h;
                    down[which][i] -= h;
                    let fd = (loss(&up[0], &up[1], &up[2]) - loss(&down[0], &down[1], &down[2]))
                        / (2.0 * h);
                    assert!(
                        (*g as f64 - fd).abs() < 2e-3 * (1.0 + fd.abs()),
                        "silu {silu}, parameter {which}[{i}]: {g} vs {fd}"
                    );
                }
            };
            check(&dx, 0);
            check(&dgamma, 1);
            check(&dbeta, 2);
        }
    }
}
