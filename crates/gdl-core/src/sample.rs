//! The trait every generative model implements, so that sample grids (and, later, scores of
//! generated digits) are written once for all of them.

use crate::image::{save_grid, GridOptions};
use crate::Result;
use burn::tensor::{backend::Backend, Tensor};
use std::path::Path;

/// A generative model: draws images.
pub trait Sample<B: Backend> {
    /// `n` samples [n, 1, side, side] (28 x 28 for the MNIST models), pixels in [0, 1].
    fn sample(&self, n: usize, device: &B::Device) -> Tensor<B, 4>;
}

/// Draws `n` samples of `model` and writes them as a grid of `cols` columns at `path`.
pub fn save_samples<B: Backend>(
    model: &(impl Sample<B> + ?Sized),
    n: usize,
    cols: usize,
    path: &Path,
    device: &B::Device,
) -> Result<()> {
    save_grid(model.sample(n, device), path, &GridOptions::with_cols(cols))
}
