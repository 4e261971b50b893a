//! Pixel transforms: bytes 0..255 to floats, optionally binarised, in [0, 1] or [-1, 1].
//!
//! * Static binarisation: x = 1[b / 255 > 0.5], the same every epoch.
//! * Dynamic binarisation: x ~ Bernoulli(b / 255), a fresh draw each epoch (Salakhutdinov and
//!   Murray 2008), seeded by (seed, epoch, item index) so it is reproducible and does not
//!   depend on batch order.
//! * Scaling: [0, 1] as x, or [-1, 1] as 2x - 1.

use gdl_core::seed::derive_seed;
use rand::{Rng, SeedableRng};

/// The value range of the output pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Scale {
    /// x in [0, 1].
    #[default]
    Unit,
    /// 2x - 1 in [-1, 1].
    Symmetric,
}

/// Whether and how pixels are binarised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Binarization {
    /// Grey levels b / 255.
    #[default]
    None,
    /// 1[b / 255 > 0.5].
    Static,
    /// A fresh Bernoulli(b / 255) draw per epoch.
    Dynamic,
}

/// How item bytes become floats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Transform {
    /// How bytes map to [0, 1] or [−1, 1].
    pub scale: Scale,
    /// Whether and how pixels are binarised.
    pub binarization: Binarization,
    /// Seed of the dynamic binarisation draws.
    pub seed: u64,
}

impl Transform {
    /// Grey levels in [0, 1].
    pub fn unit() -> Self {
        Self::default()
    }

    /// Grey levels in [-1, 1].
    pub fn symmetric() -> Self {
        Transform {
            scale: Scale::Symmetric,
            ..Self::default()
        }
    }

    /// With the given binarisation.
    pub fn binarized(mut self, binarization: Binarization, seed: u64) -> Self {
        self.binarization = binarization;
        self.seed = seed;
        self
    }

    /// Appends the transformed pixels of one image (item `index`, epoch `epoch`) to `out`.
    pub fn apply(&self, image: &[u8], index: usize, epoch: u64, out: &mut Vec<f32>) {
        let scale = |x: f32| match self.scale {
            Scale::Unit => x,
            Scale::Symmetric => 2.0 * x - 1.0,
        };
        match self.binarization {
            Binarization::None => out.extend(image.iter().map(|&b| scale(b as f32 / 255.0))),
            Binarization::Static => out.extend(
                image
                    .iter()
                    .map(|&b| scale(if b as f32 / 255.0 > 0.5 { 1.0 } else { 0.0 })),
            ),
            Binarization::Dynamic => {
                let stream = derive_seed(derive_seed(self.seed, epoch), index as u64);
                let mut rng = rand::rngs::SmallRng::seed_from_u64(stream);
                out.extend(image.iter().map(|&b| {
                    let u: f32 = rng.random();
                    scale(if u < b as f32 / 255.0 { 1.0 } else { 0.0 })
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: Transform, image: &[u8], index: usize, epoch: u64) -> Vec<f32> {
        let mut out = Vec::new();
        t.apply(image, index, epoch, &mut out);
        out
    }

    #[test]
    fn scaling_and_static_threshold() {
        let img = [0u8, 127, 128, 255];
        assert_eq!(
            run(Transform::unit(), &img, 0, 0),
            vec![0.0, 127.0 / 255.0, 128.0 / 255.0, 1.0]
        );
        assert_eq!(
            run(Transform::symmetric(), &[0, 255], 0, 0),
            vec![-1.0, 1.0]
        );
        let t = Transform::unit().binarized(Binarization::Static, 0);
        assert_eq!(run(t, &img, 0, 0), vec![0.0, 0.0, 1.0, 1.0]);
        let t = Transform::symmetric().binarized(Binarization::Static, 0);
        assert_eq!(run(t, &img, 0, 0), vec![-1.0, -1.0, 1.0, 1.0]);
    }

    #[test]
    fn dynamic_binarization_is_bernoulli_seeded_and_fresh_per_epoch() {
        let t = Transform::unit().binarized(Binarization::Dynamic, 9);
        // Pixel 64/255: the mean of many draws approaches p = 0.251.
        let img = vec![64u8; 20_000];
        let a = run(t, &img, 3, 0);
        assert!(a.iter().all(|&v| v == 0.0 || v == 1.0));
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        // Standard error sqrt(p(1-p)/n) = 0.0031; allow 4 of them.
        assert!((mean - 64.0 / 255.0).abs() < 0.0125, "{mean}");
        assert_eq!(
            a,
            run(t, &img, 3, 0),
            "same seed, epoch and item: same draw"
        );
        assert_ne!(a, run(t, &img, 3, 1), "a fresh draw each epoch");
        assert_ne!(a, run(t, &img, 4, 0), "items draw independently");
        // 0 and 255 are deterministic.
        assert_eq!(run(t, &[0, 255], 0, 5), vec![0.0, 1.0]);
    }
}
