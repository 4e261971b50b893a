//! Batches on a Burn device: `MnistBatch { images: [N, 1, 28, 28], labels: [N] }`, from a
//! Burn `Batcher` (for Burn's data loader) or from [`MnistLoader`], which shuffles with a
//! seeded permutation per epoch.

use crate::dataset::{MnistData, MnistItem, PIXELS, SIDE};
use crate::transform::Transform;
use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use rand::seq::SliceRandom;

/// A batch of images and their labels.
#[derive(Clone, Debug)]
pub struct MnistBatch<B: Backend> {
    /// [batch, 1, 28, 28]
    pub images: Tensor<B, 4>,
    /// [batch], labels 0..9
    pub labels: Tensor<B, 1, Int>,
}

impl<B: Backend> MnistBatch<B> {
    /// The images as flat vectors: [batch, 784].
    pub fn flat(&self) -> Tensor<B, 2> {
        self.images.clone().flatten(1, 3)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.labels.dims()[0]
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Builds a batch from (image bytes, label, index) triples.
fn build<'a, B: Backend>(
    items: impl ExactSizeIterator<Item = (&'a [u8], u8, usize)>,
    transform: &Transform,
    epoch: u64,
    device: &B::Device,
) -> MnistBatch<B> {
    let n = items.len();
    let mut pixels = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for (image, label, index) in items {
        transform.apply(image, index, epoch, &mut pixels);
        labels.push(label as i64);
    }
    MnistBatch {
        images: Tensor::from_data(TensorData::new(pixels, [n, 1, SIDE, SIDE]), device),
        labels: Tensor::from_data(TensorData::new(labels, [n]), device),
    }
}

/// A Burn [`Batcher`] of [`MnistItem`]s; `epoch` seeds dynamic binarisation.
#[derive(Clone, Copy, Debug, Default)]
pub struct MnistBatcher {
    /// How bytes become floats.
    pub transform: Transform,
    /// The epoch (seeds dynamic binarisation).
    pub epoch: u64,
}

impl MnistBatcher {
    /// A batcher applying `transform`.
    pub fn new(transform: Transform) -> Self {
        MnistBatcher {
            transform,
            epoch: 0,
        }
    }

    /// The same batcher for epoch `epoch`.
    pub fn for_epoch(self, epoch: u64) -> Self {
        MnistBatcher { epoch, ..self }
    }
}

impl<B: Backend> Batcher<B, MnistItem, MnistBatch<B>> for MnistBatcher {
    fn batch(&self, items: Vec<MnistItem>, device: &B::Device) -> MnistBatch<B> {
        build(
            items
                .iter()
                .map(|it| (it.image.as_slice(), it.label, it.index)),
            &self.transform,
            self.epoch,
            device,
        )
    }
}

/// Iterates a data set in batches, one epoch at a time: a fresh seeded permutation per epoch
/// (permutation of epoch e drawn from `derive_seed(seed, e)`), or the stored order.
#[derive(Clone, Debug)]
pub struct MnistLoader<'a> {
    data: &'a MnistData,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    transform: Transform,
}

impl<'a> MnistLoader<'a> {
    /// Batches of `batch_size` (the last may be smaller) in the stored order, grey levels in [0, 1].
    pub fn new(data: &'a MnistData, batch_size: usize) -> Self {
        MnistLoader {
            data,
            batch_size: batch_size.max(1),
            shuffle_seed: None,
            transform: Transform::unit(),
        }
    }

    /// Shuffle each epoch with a permutation seeded by `seed` and the epoch number.
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.shuffle_seed = Some(seed);
        self
    }

    /// With another pixel transform.
    pub fn transform(mut self, transform: Transform) -> Self {
        self.transform = transform;
        self
    }

    /// Number of batches per epoch.
    pub fn num_batches(&self) -> usize {
        self.data.len().div_ceil(self.batch_size)
    }

    /// The item order of epoch `epoch`.
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.data.len()).collect();
        if let Some(seed) = self.shuffle_seed {
            order.shuffle(&mut gdl_core::seed::host_rng(gdl_core::seed::derive_seed(
                seed, epoch,
            )));
        }
        order
    }

    /// The batches of epoch `epoch` on `device`.
    pub fn epoch<B: Backend>(
        &self,
        epoch: u64,
        device: &B::Device,
    ) -> impl Iterator<Item = MnistBatch<B>> + '_ {
        let order = self.order(epoch);
        let device = device.clone();
        let chunks: Vec<Vec<usize>> = order.chunks(self.batch_size).map(|c| c.to_vec()).collect();
        chunks.into_iter().map(move |chunk| {
            build(
                chunk
                    .iter()
                    .map(|&i| (self.data.image(i), self.data.labels[i], i)),
                &self.transform,
                epoch,
                &device,
            )
        })
    }
}

impl<B: Backend> gdl_core::train::Batches<B> for MnistLoader<'_> {
    type Batch = MnistBatch<B>;

    fn num_batches(&self) -> usize {
        MnistLoader::num_batches(self)
    }

    fn epoch(&self, epoch: u64, device: &B::Device) -> impl Iterator<Item = MnistBatch<B>> {
        MnistLoader::epoch(self, epoch, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::DatasetKind;
    use burn::data::dataset::Dataset;
    use gdl_core::backend::NdArray as B;

    fn data(n: usize) -> MnistData {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let images: Vec<u8> = (0..n)
            .flat_map(|i| vec![(i * 20 % 256) as u8; PIXELS])
            .collect();
        MnistData::new(DatasetKind::Mnist, images, labels).unwrap()
    }

    #[test]
    fn batcher_shapes_values_and_labels() {
        let d = data(3);
        let items: Vec<MnistItem> = (0..3).map(|i| d.get(i).unwrap()).collect();
        let batch: MnistBatch<B> =
            MnistBatcher::new(Transform::unit()).batch(items, &Default::default());
        assert_eq!(batch.images.dims(), [3, 1, 28, 28]);
        assert_eq!(batch.flat().dims(), [3, 784]);
        let labels: Vec<i64> = batch.labels.into_data().convert::<i64>().to_vec().unwrap();
        assert_eq!(labels, vec![0, 1, 2]);
        let px: Vec<f32> = batch.images.into_data().to_vec().unwrap();
        assert_eq!(px[PIXELS + 5], 20.0 / 255.0);
    }

    #[test]
    fn loader_covers_every_item_once_and_shuffles_per_epoch() {
        let d = data(25);
        let loader = MnistLoader::new(&d, 10).shuffle(4);
        assert_eq!(loader.num_batches(), 3);
        let (e0, e1) = (loader.order(0), loader.order(1));
        assert_ne!(e0, e1);
        assert_eq!(e0, MnistLoader::new(&d, 10).shuffle(4).order(0), "seeded");
        let mut seen: Vec<i64> = Vec::new();
        let mut sizes = Vec::new();
        for batch in loader.epoch::<B>(0, &Default::default()) {
            sizes.push(batch.len());
            // Label i % 10 and pixel (i * 20) % 256 identify item i: they must travel together.
            let labels: Vec<i64> = batch
                .labels
                .clone()
                .into_data()
                .convert::<i64>()
                .to_vec()
                .unwrap();
            let px: Vec<f32> = batch.images.into_data().to_vec().unwrap();
            for (k, l) in labels.iter().enumerate() {
                let i = e0[seen.len()];
                assert_eq!(*l, (i % 10) as i64);
                assert_eq!(px[k * PIXELS], ((i * 20) % 256) as f32 / 255.0);
                seen.push(i as i64);
            }
        }
        assert_eq!(sizes, vec![10, 10, 5]);
        seen.sort();
        assert_eq!(seen, (0..25).collect::<Vec<i64>>());
        assert_eq!(
            MnistLoader::new(&d, 10).order(3),
            (0..25).collect::<Vec<_>>()
        );
    }
}
