//! The importance-weighted bound (Burda et al. 2015) on log p(x):
//!
//!   L_k(x) = E[ log (1/k) Σ_{j=1..k} w_j ],  w_j = p(x|h_j) p(h_j) / q(h_j|x),  h_j ~ q(h|x),
//!
//! with L_1 = ELBO <= L_k <= L_{k+1} <= log p(x). The k samples are drawn in chunks and
//! combined by a running log-sum-exp, so large k (500) fits in memory. Any
//! [`LatentVariableModel`] can be bounded: the VAE, or in the tests a linear-Gaussian model
//! whose log p(x) is exact.

use crate::likelihood::log_normal;
use crate::model::{reparameterize, Autoencoder};
use burn::tensor::{backend::Backend, Distribution, Tensor};
use gdl_core::run::Progress;
use gdl_core::tensor::to_f64;
use gdl_core::{Error, Result};
use gdl_mnist::{MnistData, MnistLoader, Transform};

/// A latent-variable model p(x, h) = p(x|h) N(h; 0, I) with a Gaussian proposal q(h|x), the
/// two things the importance-weighted bound needs.
pub trait LatentVariableModel<B: Backend> {
    /// (μ, log σ²) of q(h|x) for x [N, D], each [N, d].
    fn proposal(&self, x: Tensor<B, 2>) -> Result<(Tensor<B, 2>, Tensor<B, 2>)>;
    /// log p(x|h) [N] for x [N, D] and h [N, d].
    fn log_likelihood(&self, x: Tensor<B, 2>, h: Tensor<B, 2>) -> Tensor<B, 1>;
}

impl<B: Backend> LatentVariableModel<B> for Autoencoder<B> {
    fn proposal(&self, x: Tensor<B, 2>) -> Result<(Tensor<B, 2>, Tensor<B, 2>)> {
        match self.encode(x) {
            (mu, Some(log_var)) => Ok((mu, log_var)),
            (_, None) => Err(Error::invalid(
                "model",
                "the deterministic autoencoder has no q(h|x); the importance-weighted bound needs a VAE",
            )),
        }
    }

    fn log_likelihood(&self, x: Tensor<B, 2>, h: Tensor<B, 2>) -> Tensor<B, 1> {
        self.reconstruction_nll(self.decode(h), x).neg()
    }
}

/// log w = log p(x|h) + log N(h; 0, I) − log q(h|x) for one h ~ q(h|x) per row, [rows].
fn log_weight<B: Backend, M: LatentVariableModel<B>>(
    model: &M,
    x: Tensor<B, 2>,
    mu: Tensor<B, 2>,
    log_var: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let eps = mu.random_like(Distribution::Normal(0.0, 1.0));
    let h = reparameterize(mu.clone(), log_var.clone(), eps);
    let log_ph = log_normal(h.clone(), h.zeros_like(), h.zeros_like());
    model.log_likelihood(x, h.clone()) + log_ph - log_normal(h, mu, log_var)
}

/// The bound L_k in nats for each image of x [N, D] (one draw of the k samples), drawing
/// `chunk` samples per pass: each pass decodes chunk·N rows, so memory does not grow with k.
pub fn iwae_bound<B: Backend, M: LatentVariableModel<B>>(
    model: &M,
    x: Tensor<B, 2>,
    k: usize,
    chunk: usize,
) -> Result<Vec<f64>> {
    if k == 0 || chunk == 0 {
        return Err(Error::invalid(
            "k",
            "the bound needs k >= 1 and chunks of >= 1 sample",
        ));
    }
    let (mu, log_var) = model.proposal(x.clone())?;
    let n = x.dims()[0];
    // Running log-sum-exp over the samples: m = max log w, s = Σ exp(log w − m).
    let mut m = vec![f64::NEG_INFINITY; n];
    let mut s = vec![0.0; n];
    let mut done = 0;
    while done < k {
        let c = chunk.min(k - done);
        // Rows j·N + i hold image i for sample j.
        let lw = log_weight(
            model,
            x.clone().repeat_dim(0, c),
            mu.clone().repeat_dim(0, c),
            log_var.clone().repeat_dim(0, c),
        )
        .reshape([c, n]);
        let chunk_max = lw.clone().max_dim(0); // [1, N]
        let chunk_sum = (lw - chunk_max.clone()).exp().sum_dim(0); // [1, N]
        let both = to_f64(Tensor::cat(vec![chunk_max, chunk_sum], 0));
        for i in 0..n {
            let (cm, cs) = (both[i], both[n + i]);
            let top = m[i].max(cm);
            s[i] = s[i] * (m[i] - top).exp() + cs * (cm - top).exp();
            m[i] = top;
        }
        done += c;
    }
    let log_k = (k as f64).ln();
    Ok(m.iter().zip(&s).map(|(m, s)| m + s.ln() - log_k).collect())
}

/// Rows decoded per pass of [`iwae_on`]: chunk·batch ≈ this many.
const ROWS_PER_PASS: usize = 10_000;

/// L_k for every image of `data` (in order; pixels by `transform`, epoch 0), in batches of
/// 100 images, with progress.
pub fn iwae_on<B: Backend>(
    model: &Autoencoder<B>,
    data: &MnistData,
    transform: Transform,
    k: usize,
    device: &B::Device,
) -> Result<Vec<f64>> {
    let batch = 100;
    let chunk = (ROWS_PER_PASS / batch).clamp(1, k.max(1));
    let loader = MnistLoader::new(data, batch).transform(transform);
    let progress = Progress::new(loader.num_batches() as u64, &format!("IWAE k = {k}"));
    let mut bounds = Vec::with_capacity(data.len());
    for b in loader.epoch::<B>(0, device) {
        bounds.extend(iwae_bound(model, b.flat(), k, chunk)?);
        progress.inc(1);
    }
    progress.finish();
    Ok(bounds)
}
