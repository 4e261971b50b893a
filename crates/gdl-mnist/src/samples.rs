//! Generated digits as data: samples of any [`Sample`] model, quantised to bytes and written as
//! an IDX image file (`samples-idx3-ubyte`, MNIST's own format, read back by
//! [`crate::idx::read_images`]) so that scores can be computed from the files alone.

use crate::idx::{encode_images, IdxImages};
use burn::tensor::{backend::Backend, Tensor};
use gdl_core::fs::atomic_write;
use gdl_core::sample::Sample;
use gdl_core::{Error, Result};
use std::io::IsTerminal;
use std::path::Path;

/// The file name every generative program writes its samples to.
pub const SAMPLES_FILE: &str = "samples-idx3-ubyte";

/// Images [n, 1, rows, cols] with pixels in [0, 1] as bytes round(255 x) (ties to even),
/// clamped to 0..=255.
pub fn to_bytes<B: Backend>(images: Tensor<B, 4>) -> IdxImages {
    let [n, _, rows, cols] = images.dims();
    let pixels = images
        .clamp(0.0, 1.0)
        .mul_scalar(255.0)
        .round()
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("float pixels")
        .into_iter()
        .map(|v| v as u8)
        .collect();
    IdxImages {
        n,
        rows,
        cols,
        pixels,
    }
}

/// Draws `n` samples of `model` in batches of at most `batch` and returns them as bytes.
pub fn draw<B: Backend>(
    model: &(impl Sample<B> + ?Sized),
    n: usize,
    batch: usize,
    device: &B::Device,
) -> Result<IdxImages> {
    if batch == 0 {
        return Err(Error::invalid("batch", "must be at least 1"));
    }
    // Into a log file (no terminal), a line per batch: a diffusion model's batch takes minutes.
    // On a terminal the model's own sampler shows its bar; a second one would share its line.
    let log = (!std::io::stderr().is_terminal()).then(std::time::Instant::now);
    let mut all: Option<IdxImages> = None;
    let mut left = n;
    while left > 0 {
        let k = left.min(batch);
        let part = to_bytes(model.sample(k, device));
        all = Some(match all {
            None => part,
            Some(mut a) => {
                if (a.rows, a.cols) != (part.rows, part.cols) {
                    return Err(Error::invalid(
                        "samples",
                        format!(
                            "a batch of {}x{} images after {}x{} ones",
                            part.rows, part.cols, a.rows, a.cols
                        ),
                    ));
                }
                a.n += part.n;
                a.pixels.extend(part.pixels);
                a
            }
        });
        left -= k;
        if let Some(start) = log {
            let secs = start.elapsed().as_secs_f64();
            eprintln!("samples drawn: {}/{n} ({secs:.0} s)", n - left);
        }
    }
    Ok(all.unwrap_or(IdxImages {
        n: 0,
        rows: 0,
        cols: 0,
        pixels: Vec::new(),
    }))
}

/// Writes `images` as an IDX image file at `path`, atomically.
pub fn write_images(path: &Path, images: &IdxImages) -> Result<()> {
    atomic_write(
        path,
        &encode_images(images.n, images.rows, images.cols, &images.pixels),
    )
}

/// Draws `n` samples of `model` (batches of `batch`) and writes them as IDX at `path`.
pub fn save_samples_idx<B: Backend>(
    model: &(impl Sample<B> + ?Sized),
    n: usize,
    batch: usize,
    path: &Path,
    device: &B::Device,
) -> Result<IdxImages> {
    let images = draw(model, n, batch, device)?;
    write_images(path, &images)?;
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;
    use gdl_core::testing::TestBackend as B;

    /// Image i of a draw is filled with the value (calls so far + i) / 10 (clamped), so the
    /// batches and their order are visible in the bytes.
    struct Counter(std::cell::Cell<usize>);

    impl Sample<B> for Counter {
        fn sample(&self, n: usize, device: &burn::tensor::Device<B>) -> Tensor<B, 4> {
            let start = self.0.get();
            self.0.set(start + n);
            let v: Vec<f32> = (0..n)
                .flat_map(|i| std::iter::repeat_n((start + i) as f32 / 10.0, 4))
                .collect();
            Tensor::from_data(TensorData::new(v, [n, 1, 2, 2]), device)
        }
    }

    #[test]
    fn samples_round_trip_through_an_idx_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SAMPLES_FILE);
        let model = Counter(std::cell::Cell::new(0));
        let written = save_samples_idx(&model, 13, 5, &path, &Default::default()).unwrap();
        assert_eq!((written.n, written.rows, written.cols), (13, 2, 2));
        let read = crate::idx::read_images(&path, Some((2, 2))).unwrap();
        assert_eq!(read, written);
        // round(255 · i/10) in f32 with ties to even (Burn's `round`), clamped at 1 from
        // image 10 on: 255 · 0.3 = 76.5 → 76
        let firsts: Vec<u8> = read.pixels.chunks(4).map(|c| c[0]).collect();
        let want: Vec<u8> = (0..13)
            .map(|i| (255.0 * (i as f32 / 10.0).min(1.0)).round_ties_even() as u8)
            .collect();
        assert_eq!(firsts, want);
        assert!(draw(&model, 1, 0, &Default::default()).is_err());
    }
}
