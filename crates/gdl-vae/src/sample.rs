//! Generation: digits from the prior, reconstructions, and interpolation in latent space.
//! Every picture is the pixel mean E[x|h] = sigmoid(decoder output) as images [N, 1, 28, 28].

use crate::model::Autoencoder;
use burn::tensor::{backend::Backend, Distribution, Tensor};
use gdl_core::sample::Sample;
use gdl_mnist::{MnistData, MnistLoader, CLASSES, PIXELS};

/// n digits decoded from h ~ p(h) = N(0, I).
pub fn sample_prior<B: Backend>(
    model: &Autoencoder<B>,
    n: usize,
    device: &B::Device,
) -> Tensor<B, 4> {
    let h = Tensor::<B, 2>::random(
        [n, model.d_latent()],
        Distribution::Normal(0.0, 1.0),
        device,
    );
    model.mean_images(model.decode(h))
}

/// Prior samples: the mean images E[x|h] of h ~ N(0, I).
impl<B: Backend> Sample<B> for Autoencoder<B> {
    fn sample(&self, n: usize, device: &B::Device) -> Tensor<B, 4> {
        sample_prior(self, n, device)
    }
}

/// The mean reconstructions E[x | h = μ(x)] of x [N, 784], as [N, 784] (the rank of the RBM's
/// `reconstruct`).
pub fn reconstruct<B: Backend>(model: &Autoencoder<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    let n = x.dims()[0];
    let (mu, _) = model.encode(x);
    model.mean_images(model.decode(mu)).reshape([n, PIXELS])
}

/// `steps` images along the straight line from μ(a) to μ(b) in latent space (a, b: [1, 784]).
pub fn interpolate<B: Backend>(
    model: &Autoencoder<B>,
    a: Tensor<B, 2>,
    b: Tensor<B, 2>,
    steps: usize,
) -> Tensor<B, 4> {
    let (mu_a, _) = model.encode(a);
    let (mu_b, _) = model.encode(b);
    let steps = steps.max(2);
    // h(t) = (1 − t) μ(a) + t μ(b), t = 0, 1/(steps − 1), ..., 1
    let h = Tensor::cat(
        (0..steps)
            .map(|s| {
                let t = s as f64 / (steps - 1) as f64;
                mu_a.clone().mul_scalar(1.0 - t) + mu_b.clone().mul_scalar(t)
            })
            .collect(),
        0,
    ); // [steps, d]
    model.mean_images(model.decode(h))
}

/// For a 2-D latent: the mean images of h on a `side` x `side` grid over [−extent, extent]²,
/// h₁ growing to the right and h₂ upwards [side², 1, 28, 28]; an error for another d.
pub fn latent_manifold<B: Backend>(
    model: &Autoencoder<B>,
    side: usize,
    extent: f64,
    device: &B::Device,
) -> gdl_core::Result<Tensor<B, 4>> {
    if model.d_latent() != 2 {
        return Err(gdl_core::Error::invalid(
            "latent manifold",
            format!("needs a 2-D latent, not d = {}", model.d_latent()),
        ));
    }
    let at = |i: usize| -extent + 2.0 * extent * i as f64 / (side.max(2) - 1) as f64;
    let grid: Vec<f64> = (0..side * side)
        .flat_map(|k| [at(k % side), -at(k / side)])
        .collect();
    let h = gdl_core::tensor::from_f64::<B, 2>(grid, [side * side, 2], device);
    Ok(model.mean_images(model.decode(h)))
}

/// The codes μ(x) of `data`'s digits, grouped by label: `codes[k]` holds the first two
/// coordinates of μ(x) for every digit labelled k (for a scatter plot of a 2-D latent).
pub fn codes_by_label<B: Backend>(
    model: &Autoencoder<B>,
    data: &MnistData,
    device: &B::Device,
) -> Vec<Vec<(f64, f64)>> {
    let d = model.d_latent();
    let mut codes = vec![Vec::new(); CLASSES];
    let mut offset = 0;
    for batch in MnistLoader::new(data, 500).epoch::<B>(0, device) {
        let (mu, _) = model.encode(batch.flat());
        let mu = gdl_core::tensor::to_f64(mu);
        for (i, code) in mu.chunks(d).enumerate() {
            let label = data.labels[offset + i] as usize;
            codes[label].push((code[0], code.get(1).copied().unwrap_or(0.0)));
        }
        offset += mu.len() / d;
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AutoencoderConfig;
    use gdl_core::testing::TestBackend as B;

    #[test]
    fn the_vae_samples_its_prior_as_images() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        let vae = AutoencoderConfig::new()
            .with_d_hidden(8)
            .with_d_latent(2)
            .init::<B>(&d)
            .unwrap();
        let vae = gdl_core::run::materialize(vae); // the weights are drawn now, not in `sample`
        gdl_core::seed::seed_all::<B>(&d, 1);
        let x = vae.sample(3, &d);
        gdl_core::seed::seed_all::<B>(&d, 1);
        let y = sample_prior(&vae, 3, &d);
        assert_eq!(x.dims(), [3, 1, 28, 28]);
        let v = gdl_core::tensor::to_f64(x);
        assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
        assert_eq!(v, gdl_core::tensor::to_f64(y));
    }

    #[test]
    fn the_latent_plane_and_the_codes_by_label() {
        let _serial = gdl_core::seed::serial();
        let d = Default::default();
        let vae = AutoencoderConfig::new()
            .with_d_hidden(8)
            .with_d_latent(2)
            .init::<B>(&d)
            .unwrap();
        let plane = latent_manifold(&vae, 3, 2.0, &d).unwrap();
        assert_eq!(plane.dims(), [9, 1, 28, 28]);
        // The middle of the 3 x 3 grid is h = 0.
        let h0 = gdl_core::tensor::from_f64::<B, 2>(vec![0.0, 0.0], [1, 2], &d);
        let middle = gdl_core::tensor::to_f64(plane.narrow(0, 4, 1));
        let direct = gdl_core::tensor::to_f64(vae.mean_images(vae.decode(h0)));
        assert_eq!(middle, direct);
        let labels: Vec<u8> = (0..12).map(|i| (i % 3) as u8).collect();
        let data =
            MnistData::new(gdl_mnist::DatasetKind::Mnist, vec![7; 12 * 784], labels).unwrap();
        let codes = codes_by_label(&vae, &data, &d);
        let counts: Vec<usize> = codes.iter().map(Vec::len).collect();
        assert_eq!(counts, [4, 4, 4, 0, 0, 0, 0, 0, 0, 0]);
        let wide = AutoencoderConfig::new()
            .with_d_hidden(8)
            .init::<B>(&d)
            .unwrap();
        assert!(latent_manifold(&wide, 3, 2.0, &d).is_err());
    }
}
