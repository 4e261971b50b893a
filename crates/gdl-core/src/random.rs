//! Random tensors with Burn's distributions, drawn in parallel on Flex.
//!
//! Burn's CPU backends fill a random tensor one element at a time from one ChaCha stream,
//! building a sampler per element: in an RBM's CD-1 update (Bernoulli draws of every unit) or
//! a DCGAN discriminator (dropout masks) that is a tenth of the step or more. Here, on `Flex`
//! and `Autodiff<Flex>` (f32), one 64-bit seed is drawn from the backend's RNG (so `--seed`
//! still fixes everything) and the tensor is filled in chunks of [`CHUNK`] elements, chunk k
//! from its own Xoshiro256++ stream seeded by (seed, k), in parallel: the numbers depend on
//! the seed and the shape only, not on the number of threads. Every other backend and dtype
//! draws through Burn's `Tensor::random`.
//!
//! - Uniform(a, b): a + (b − a) u with u = m / 2²⁴, m a 24-bit integer;
//! - Bernoulli(p): 1[u < p];
//! - Normal(μ, σ): μ + σ z by the Box–Muller transform, z = √(−2 ln u₁) (cos, sin)(2π u₂)
//!   with u₁ in (0, 1].

use burn::nn::Dropout;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

/// Elements per independent stream.
pub const CHUNK: usize = 1 << 14;

/// A tensor of `shape` with elements drawn from `distribution`.
pub fn random<B: Backend, const D: usize>(
    shape: [usize; D],
    distribution: Distribution,
    device: &B::Device,
) -> Tensor<B, D> {
    #[cfg(feature = "flex")]
    if let Some(t) = flex::try_random(shape, distribution, device) {
        return t;
    }
    Tensor::random(shape, distribution, device)
}

/// A tensor of `x`'s shape, device and (f32) kind with elements drawn from `distribution`.
pub fn random_like<B: Backend, const D: usize>(
    x: &Tensor<B, D>,
    distribution: Distribution,
) -> Tensor<B, D> {
    if x.dtype() != burn::tensor::DType::F32 {
        return x.random_like(distribution);
    }
    random(x.dims(), distribution, &x.device())
}

/// 1\[u < p\] for every element of the probabilities `p`, u ~ Uniform(0, 1). On Flex one
/// parallel pass draws u and compares (the numbers of the three passes below, bit for bit).
pub fn bernoulli<B: Backend, const D: usize>(p: Tensor<B, D>) -> Tensor<B, D> {
    #[cfg(feature = "flex")]
    if let Some(x) = flex::try_bernoulli(&p) {
        return x;
    }
    random_like(&p, Distribution::Uniform(0.0, 1.0))
        .lower(p)
        .float()
}

/// Burn's `Dropout::forward` with the mask drawn here: in training (autodiff backends),
/// x ⊙ m / (1 − p) with m_i ~ Bernoulli(1 − p); otherwise x.
pub fn dropout<B: Backend, const D: usize>(dropout: &Dropout, x: Tensor<B, D>) -> Tensor<B, D> {
    if !B::ad_enabled(&x.device()) || dropout.prob == 0.0 {
        return x;
    }
    let keep = 1.0 - dropout.prob;
    let mask = random_like(&x, Distribution::Bernoulli(keep));
    x * mask.div_scalar(keep)
}

/// u in [0, 1) with 24 bits, the resolution of an f32 in [0.5, 1).
fn unit(rng: &mut SmallRng) -> f32 {
    (rng.next_u32() >> 8) as f32 * (1.0 / (1u32 << 24) as f32)
}

/// `draw(rng, k, chunk)` for every chunk k of [`CHUNK`] elements of `out`, in parallel, with
/// rng the stream (seed, k).
fn streams(out: &mut [f32], seed: u64, draw: impl Fn(&mut SmallRng, usize, &mut [f32]) + Sync) {
    use rayon::prelude::*;
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(k, chunk)| {
            let mut rng = SmallRng::seed_from_u64(crate::seed::derive_seed(seed, k as u64));
            draw(&mut rng, k, chunk)
        });
}

/// out_i = 1\[u_i < p_i\] with u the Uniform(0, 1) draws `fill` makes from `seed`.
pub fn fill_bernoulli(out: &mut [f32], p: &[f32], seed: u64) {
    assert_eq!(out.len(), p.len(), "fill_bernoulli: lengths");
    streams(out, seed, |rng, k, chunk| {
        let p = &p[k * CHUNK..k * CHUNK + chunk.len()];
        for (v, &p) in chunk.iter_mut().zip(p) {
            *v = f32::from(unit(rng) < p);
        }
    });
}

/// Fills `out` from `distribution`, stream by stream (chunk k of [`CHUNK`] from (seed, k)).
pub fn fill(out: &mut [f32], distribution: Distribution, seed: u64) {
    streams(out, seed, |rng, _, chunk| {
        match distribution {
            Distribution::Default => chunk.iter_mut().for_each(|v| *v = unit(rng)),
            Distribution::Uniform(a, b) => {
                let (a, w) = (a as f32, (b - a) as f32);
                chunk.iter_mut().for_each(|v| *v = a + w * unit(rng));
            }
            Distribution::Bernoulli(p) => {
                let p = p as f32;
                chunk.iter_mut().for_each(|v| *v = f32::from(unit(rng) < p));
            }
            Distribution::Normal(mean, std) => {
                let (mean, std) = (mean as f32, std as f32);
                for pair in chunk.chunks_mut(2) {
                    // z = √(−2 ln u₁) (cos 2π u₂, sin 2π u₂), u₁ in (0, 1].
                    let r = (-2.0 * (1.0 - unit(rng)).ln()).sqrt();
                    let (sin, cos) = (std::f32::consts::TAU * unit(rng)).sin_cos();
                    pair[0] = mean + std * r * cos;
                    if let Some(second) = pair.get_mut(1) {
                        *second = mean + std * r * sin;
                    }
                }
            }
        }
    });
}

#[cfg(feature = "flex")]
mod flex {
    use super::*;
    use crate::backend::{Flex, FlexAutodiff};
    use crate::extension::{float, from_float, on_flex, on_plain_flex, slice, tensor};
    use burn::tensor::backend::AutodiffBackend;
    use burn_flex::FlexTensor;

    /// A 48-bit seed from the backend's RNG (two 24-bit uniforms).
    fn seed() -> u64 {
        let u: Vec<f32> =
            Tensor::<Flex, 1>::random([2], Distribution::Default, &Default::default())
                .into_data()
                .into_vec()
                .expect("f32 uniforms");
        let bits = |u: f32| (u * (1u32 << 24) as f32) as u64;
        bits(u[0]) << 24 | bits(u[1])
    }

    fn draw(shape: &[usize], distribution: Distribution) -> FlexTensor {
        let mut data = vec![0.0f32; shape.iter().product()];
        fill(&mut data, distribution, seed());
        tensor(data, shape)
    }

    /// [`bernoulli`] on Flex: u drawn as `draw` would, compared in the same pass.
    pub(super) fn try_bernoulli<B: Backend, const D: usize>(
        p: &Tensor<B, D>,
    ) -> Option<Tensor<B, D>> {
        on_plain_flex::<B>(vec![float(p)], |v| {
            let p = v.into_iter().next().expect("p").to_contiguous();
            let shape = p.layout().shape().to_vec();
            let mut x = vec![0.0f32; shape.iter().product()];
            fill_bernoulli(&mut x, slice(&p), seed());
            tensor(x, &shape)
        })
        .map(from_float)
    }

    pub(super) fn try_random<B: Backend, const D: usize>(
        shape: [usize; D],
        distribution: Distribution,
        _device: &B::Device,
    ) -> Option<Tensor<B, D>> {
        on_flex::<B>(
            Vec::new(),
            |_| draw(&shape, distribution),
            |_| FlexAutodiff::from_inner(draw(&shape, distribution)),
        )
        .map(from_float)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(v: &[f32]) -> (f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        (mean, var)
    }

    /// Mean and variance of 200,000 draws within 5 standard errors of each distribution's,
    /// an odd length (the last Box–Muller pair is cut), and the same seed giving the same
    /// numbers while another seed does not.
    #[test]
    fn draws_have_their_distributions_moments() {
        let n = 200_001;
        for (distribution, mean, var) in [
            (Distribution::Default, 0.5, 1.0 / 12.0),
            (Distribution::Uniform(-2.0, 1.0), -0.5, 9.0 / 12.0),
            (Distribution::Bernoulli(0.3), 0.3, 0.21),
            (Distribution::Normal(1.5, 2.0), 1.5, 4.0),
        ] {
            let mut v = vec![0.0f32; n];
            fill(&mut v, distribution, 7);
            let (m, s2) = moments(&v);
            let se = (var / n as f64).sqrt();
            assert!((m - mean).abs() < 5.0 * se, "{distribution:?}: mean {m}");
            // The variance's standard error: √((μ₄ − σ⁴)/n) ≤ √(3σ⁴/n) for these.
            assert!(
                (s2 - var).abs() < 5.0 * (3.0 / n as f64).sqrt() * var,
                "{distribution:?}: variance {s2}"
            );
            let mut again = vec![0.0f32; n];
            fill(&mut again, distribution, 7);
            assert_eq!(v, again);
            fill(&mut again, distribution, 8);
            assert_ne!(v, again);
        }
    }

    /// The fused Bernoulli draw is `fill`'s Uniform(0, 1) stream compared with p, over several
    /// chunks; on Flex `bernoulli` gives 0 where p = 0, 1 where p = 1, and only 0 or 1.
    #[test]
    fn bernoulli_compares_the_uniform_stream_with_p() {
        let n = 3 * CHUNK + 17;
        let p: Vec<f32> = (0..n).map(|i| (i % 101) as f32 / 100.0).collect();
        let mut u = vec![0.0f32; n];
        fill(&mut u, Distribution::Uniform(0.0, 1.0), 11);
        let mut x = vec![0.0f32; n];
        fill_bernoulli(&mut x, &p, 11);
        let want: Vec<f32> = u.iter().zip(&p).map(|(u, p)| f32::from(u < p)).collect();
        assert_eq!(x, want);
        #[cfg(feature = "flex")]
        {
            use crate::backend::Flex;
            let edges = [0.0f32, 1.0].repeat(n / 2);
            let p = Tensor::<Flex, 1>::from_floats(edges.as_slice(), &Default::default());
            let x = bernoulli(p).into_data().into_vec::<f32>().unwrap();
            assert_eq!(x, edges);
            let p = Tensor::<Flex, 1>::from_floats(&[0.5f32; 1000][..], &Default::default());
            let x = bernoulli(p).into_data().into_vec::<f32>().unwrap();
            assert!(x.iter().all(|&v| v == 0.0 || v == 1.0));
            let ones = x.iter().sum::<f32>();
            assert!((ones - 500.0).abs() < 5.0 * 250f32.sqrt(), "{ones}");
        }
    }

    /// The chunks are independent streams: neighbouring chunks do not repeat each other.
    #[test]
    fn chunks_draw_different_numbers() {
        let mut v = vec![0.0f32; 2 * CHUNK];
        fill(&mut v, Distribution::Default, 1);
        assert_ne!(v[..CHUNK], v[CHUNK..]);
    }
}
