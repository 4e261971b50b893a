//! Training: every model variant learns synthetic digits; the MLP VAE on the real digits
//! (with `GDL_DATA_DIR`) reaches its test ELBO, and there the importance-weighted bound of
//! the trained model grows with k.

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::backend::Backend;
use gdl_core::backend::FlexAutodiff;
use gdl_core::seed::seed_all;
use gdl_core::tensor::to_f64;
use gdl_core::testing::TestAutodiffBackend as AD;
use gdl_mnist::{DatasetKind, MnistData, MnistLoader, TrainTest, Transform, PIXELS};
use gdl_vae::arch::Arch;
use gdl_vae::iwae::iwae_on;
use gdl_vae::likelihood::Likelihood;
use gdl_vae::model::{Autoencoder, AutoencoderConfig};
use gdl_vae::sample::reconstruct;
use gdl_vae::train::{adam, train_autoencoder, AutoencoderTraining, EpochReport};

/// 96 images of four kinds (a bar in one of four places), grey levels 0 and 200.
fn bars() -> TrainTest {
    let data = |n: usize| {
        let mut images = vec![0u8; n * PIXELS];
        for i in 0..n {
            let band = i % 4;
            for p in 0..PIXELS {
                if (p % 28) / 7 == band {
                    images[i * PIXELS + p] = 200;
                }
            }
        }
        MnistData::new(DatasetKind::Mnist, images, vec![0; n]).unwrap()
    };
    TrainTest {
        train: data(96),
        test: data(32),
        description: "bars".into(),
    }
}

/// Epochs over the 96 bars in batches of 16 (6 steps each).
const EPOCHS: usize = 30;

fn train<A: AutodiffBackend>(
    cfg: &AutoencoderConfig,
    data: &TrainTest,
    epochs: usize,
    seed: u64,
) -> (Autoencoder<A::InnerBackend>, Vec<EpochReport>) {
    let d = Default::default();
    seed_all::<A>(&d, seed);
    let mut reports = Vec::new();
    let training = AutoencoderTraining {
        epochs,
        batch_size: 16,
        learning_rate: 3e-3,
        beta: 1.0,
        warmup_epochs: 0,
        seed,
        transform: Transform::unit(),
    };
    let mut optim = adam::<A>();
    let model = train_autoencoder(
        cfg.init::<A>(&d).unwrap(),
        &mut optim,
        data,
        &training,
        1,
        &d,
        |r, _, _| {
            reports.push(*r);
            Ok(())
        },
    )
    .unwrap();
    (model.valid(), reports)
}

/// Mean squared error per pixel of the mean reconstructions of `data`.
fn reconstruction_mse<B: Backend>(model: &Autoencoder<B>, data: &MnistData) -> f64 {
    let d = Default::default();
    let x = MnistLoader::new(data, data.len())
        .epoch::<B>(0, &d)
        .next()
        .unwrap()
        .flat();
    let r = reconstruct(model, x.clone()).reshape([data.len(), PIXELS]);
    to_f64((r - x).powi_scalar(2).mean())[0]
}

/// Trains `cfg` on the bars; None when it learned them: its loss fell and its reconstructions
/// beat the mean image by 4x. Predicting every pixel by its mean over the data set (a decoder
/// that ignores h) leaves an error of 0.25 · 0.75 · (200/255)² ≈ 0.115 per pixel; a model that
/// uses its latent code tells the four bars apart.
///
/// A 2-D latent trained for 30 epochs can settle in a local optimum that merges two bars (seen
/// once in three CI runs, MLP Bernoulli VAE: MSE 0.040), and the backend RNG is shared with the
/// test running beside this one, so the draw is not fixed: a variant fails when two seeds fail.
fn fails_to_learn_the_bars<A: AutodiffBackend>(cfg: &AutoencoderConfig) -> Option<String> {
    fails_with_seed::<A>(cfg, 1).and_then(|_| fails_with_seed::<A>(cfg, 2))
}

fn fails_with_seed<A: AutodiffBackend>(cfg: &AutoencoderConfig, seed: u64) -> Option<String> {
    let data = bars();
    let mean_only = 0.25 * 0.75 * (200.0f64 / 255.0).powi(2);
    let (model, r) = train::<A>(cfg, &data, EPOCHS, seed);
    let (first, last) = (
        r[0].test_negative_elbo(),
        r[EPOCHS - 1].test_negative_elbo(),
    );
    let mse = reconstruction_mse(&model, &data.test);
    let name = format!(
        "{:?} {:?} variational {} seed {seed}",
        cfg.arch, cfg.likelihood, cfg.variational
    );
    println!(
        "{name}: −ELBO {first:.1} → {last:.1}, reconstruction MSE {mse:.4} (mean image \
         {mean_only:.4})"
    );
    assert_eq!(r[EPOCHS - 1].test_kl == 0.0, !cfg.variational, "{name}");
    (!(last < first && mse < mean_only / 4.0)).then_some(name)
}

fn variant(arch: Arch, likelihood: Likelihood, variational: bool) -> AutoencoderConfig {
    AutoencoderConfig::new()
        .with_d_hidden(32)
        .with_d_latent(2)
        .with_arch(arch)
        .with_likelihood(likelihood)
        .with_variational(variational)
}

#[test]
fn every_variant_learns_the_bars() {
    // Every likelihood on both architectures: the MLPs on NdArray, the convolutional networks
    // on Flex (Burn's faster CPU backend for convolutions).
    let mut failed = Vec::new();
    for (likelihood, variational) in [
        (Likelihood::Bernoulli, true),
        (Likelihood::Bernoulli, false),
        (Likelihood::Gaussian { sigma: 0.1 }, true),
        (Likelihood::GaussianLearned, true),
    ] {
        let mlp = variant(Arch::Mlp, likelihood.clone(), variational);
        failed.extend(fails_to_learn_the_bars::<AD>(&mlp));
        let conv = variant(Arch::Conv, likelihood, variational);
        failed.extend(fails_to_learn_the_bars::<FlexAutodiff>(&conv));
    }
    assert!(failed.is_empty(), "did not learn the bars: {failed:?}");
}

#[test]
fn vae_reaches_its_elbo_on_real_digits_and_iwae_grows_with_k() {
    let Some(data) = gdl_mnist::testing::real_train_test("vae_reaches_its_elbo_on_real_digits")
    else {
        return;
    };
    let d = Default::default();
    seed_all::<AD>(&d, 0);
    let training = AutoencoderTraining {
        epochs: 5,
        batch_size: 128,
        learning_rate: 1e-3,
        beta: 1.0,
        warmup_epochs: 0,
        seed: 0,
        transform: Transform::unit(),
    };
    let mut last = None;
    let mut optim = adam::<AD>();
    let vae = train_autoencoder(
        AutoencoderConfig::new().init::<AD>(&d).unwrap(),
        &mut optim,
        &data,
        &training,
        1,
        &d,
        |r, _, _| {
            last = Some(*r);
            Ok(())
        },
    )
    .unwrap();
    let elbo = last.unwrap().test_negative_elbo();
    let few = data.test.select(&(0..100).collect::<Vec<_>>()).unwrap();
    let vae = vae.valid();
    let mean = |k| {
        let b = iwae_on(&vae, &few, Transform::unit(), k, &d).unwrap();
        b.iter().sum::<f64>() / b.len() as f64
    };
    let (l1, l50) = (mean(1), mean(50));
    println!("after 5 epochs: test −ELBO {elbo:.2}; first 100 digits L1 {l1:.2}, L50 {l50:.2}");
    assert!(elbo < 150.0, "test −ELBO {elbo}");
    assert!(l50 > l1 + 1.0, "L50 {l50} vs L1 {l1}");
}
