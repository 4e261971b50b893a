//! Data sets in the MNIST IDX format, held in memory as bytes, and their train/test splits.

use crate::error::{MnistError, Result};
use crate::idx;
pub use crate::kind::{DatasetKind, CLASSES, FASHION_CLASSES};
use rand::seq::SliceRandom;
use std::path::{Path, PathBuf};

/// Image side length of every data set here (28 x 28 pixels).
pub const SIDE: usize = 28;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;
/// The standard split a file pair belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Split {
    /// `train-images-idx3-ubyte.gz` + `train-labels-idx1-ubyte.gz` (60,000 items).
    Train,
    /// `t10k-images-idx3-ubyte.gz` + `t10k-labels-idx1-ubyte.gz` (10,000 items).
    Test,
}

impl Split {
    /// The standard (images, labels) file names of this split.
    pub fn file_names(self) -> (&'static str, &'static str) {
        match self {
            Split::Train => ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
            Split::Test => ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
        }
    }

    /// The image and label paths of this split in `dir`. A file present without the `.gz`
    /// suffix (already decompressed) is used in its place.
    pub fn paths(self, dir: &Path) -> (PathBuf, PathBuf) {
        let (i, l) = self.file_names();
        let pick = |name: &str| {
            let gz = dir.join(name);
            let raw = dir.join(name.trim_end_matches(".gz"));
            if !gz.exists() && raw.exists() {
                raw
            } else {
                gz
            }
        };
        (pick(i), pick(l))
    }

    /// Whether both files of this split are in `dir`.
    pub fn present_in(self, dir: &Path) -> bool {
        let (i, l) = self.paths(dir);
        i.is_file() && l.is_file()
    }
}

/// One item: a 28 x 28 image as bytes (0 = background) and its label; `index` is its position
/// in the data set it came from (dynamic binarisation seeds its draw with it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MnistItem {
    /// 784 grey bytes, row-major.
    pub image: Vec<u8>,
    /// The class.
    pub label: u8,
    /// Position in the data set.
    pub index: usize,
}

/// Images and labels of one data set, in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MnistData {
    /// Which data set the items come from.
    pub kind: DatasetKind,
    /// `len() * PIXELS` bytes, image after image, row-major.
    pub images: Vec<u8>,
    /// One label per image, each below [`CLASSES`].
    pub labels: Vec<u8>,
}

impl MnistData {
    /// Builds a data set from raw parts, checking that they agree.
    pub fn new(kind: DatasetKind, images: Vec<u8>, labels: Vec<u8>) -> Result<Self> {
        if images.len() != labels.len() * PIXELS {
            return Err(MnistError::invalid(
                "data set",
                format!(
                    "{} image bytes for {} labels (need {} per image)",
                    images.len(),
                    labels.len(),
                    PIXELS
                ),
            ));
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l as usize >= CLASSES)
        {
            return Err(MnistError::invalid(
                "labels",
                format!("label {label} at index {index} is not below {CLASSES}"),
            ));
        }
        Ok(MnistData {
            kind,
            images,
            labels,
        })
    }

    /// Reads an (images, labels) file pair and checks that the counts agree.
    pub fn read_pair(kind: DatasetKind, images: &Path, labels: &Path) -> Result<Self> {
        let img = idx::read_images(images, Some((SIDE, SIDE)))?;
        let lab = idx::read_labels(labels, CLASSES)?;
        if img.n != lab.len() {
            return Err(MnistError::CountMismatch {
                images: images.into(),
                n_images: img.n,
                labels: labels.into(),
                n_labels: lab.len(),
            });
        }
        Ok(MnistData {
            kind,
            images: img.pixels,
            labels: lab,
        })
    }

    /// Reads the standard `split` from `dir`. Missing files are an error that says which
    /// files are needed and where they go.
    pub fn read_split(kind: DatasetKind, split: Split, dir: &Path) -> Result<Self> {
        let (i, l) = split.paths(dir);
        for p in [&i, &l] {
            if !p.is_file() {
                return Err(MnistError::Missing {
                    path: p.clone(),
                    help: crate::kind::missing_help(kind, dir),
                });
            }
        }
        Self::read_pair(kind, &i, &l)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * PIXELS..(i + 1) * PIXELS]
    }

    /// Item `i`, or `None` past the end.
    pub fn item(&self, i: usize) -> Option<MnistItem> {
        (i < self.len()).then(|| MnistItem {
            image: self.image(i).to_vec(),
            label: self.labels[i],
            index: i,
        })
    }

    /// The items at `indices`, in that order, as a new data set.
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        let mut images = Vec::with_capacity(indices.len() * PIXELS);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if i >= self.len() {
                return Err(MnistError::invalid(
                    "index",
                    format!("{i} is past the {} items", self.len()),
                ));
            }
            images.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        Ok(MnistData {
            kind: self.kind,
            images,
            labels,
        })
    }

    /// How many items carry each label.
    pub fn label_counts(&self) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// Splits one file into a hold-out train and test set: the first `n_train` items train,
    /// the rest test, after a seeded shuffle when `seed` is given. The convention for the
    /// 10,000 test digits alone is `holdout(8000, None)`: first 8,000 / last 2,000.
    pub fn holdout(&self, n_train: usize, seed: Option<u64>) -> Result<(Self, Self)> {
        if n_train == 0 || n_train >= self.len() {
            return Err(MnistError::invalid(
                "hold-out split",
                format!(
                    "{n_train} training items leaves no train or no test set out of {}",
                    self.len()
                ),
            ));
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        if let Some(seed) = seed {
            order.shuffle(&mut gdl_core::seed::host_rng(seed));
        }
        Ok((
            self.select(&order[..n_train])?,
            self.select(&order[n_train..])?,
        ))
    }
}

impl burn::data::dataset::Dataset<MnistItem> for MnistData {
    fn get(&self, index: usize) -> Option<MnistItem> {
        self.item(index)
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// A train and a test set, and how they were obtained.
#[derive(Clone, Debug)]
pub struct TrainTest {
    /// The training items.
    pub train: MnistData,
    /// The test items.
    pub test: MnistData,
    /// A sentence saying which files and split were used (programs print it).
    pub description: String,
}

/// The conventional hold-out when only the 10,000 test items are available: first 8,000 train.
pub const HOLDOUT_TRAIN: usize = 8000;

impl TrainTest {
    /// The standard train/test split when both are in `dir`; else, when only the test files
    /// are there, the hold-out split of them (first 8,000 train / last 2,000 test).
    pub fn read(kind: DatasetKind, dir: &Path) -> Result<Self> {
        if Split::Train.present_in(dir) {
            let train = MnistData::read_split(kind, Split::Train, dir)?;
            let test = MnistData::read_split(kind, Split::Test, dir)?;
            let description = format!(
                "{kind}: standard split, {} train / {} test items from {}",
                train.len(),
                test.len(),
                dir.display()
            );
            return Ok(TrainTest {
                train,
                test,
                description,
            });
        }
        let all = MnistData::read_split(kind, Split::Test, dir)?;
        let n_train = HOLDOUT_TRAIN.min(all.len() * 4 / 5).max(1);
        let (train, test) = all.holdout(n_train, None)?;
        let description = format!(
            "{kind}: only the test files are in {}; hold-out split of them, first {} train / last {} test",
            dir.display(),
            train.len(),
            test.len()
        );
        Ok(TrainTest {
            train,
            test,
            description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::write_tiny;

    #[test]
    fn reads_a_tiny_split_and_counts_labels() {
        let dir = tempfile::tempdir().unwrap();
        let labels = [3u8, 1, 4, 1, 5];
        write_tiny(dir.path(), Split::Test, &labels, true);
        let d = MnistData::read_split(DatasetKind::Mnist, Split::Test, dir.path()).unwrap();
        assert_eq!(d.len(), 5);
        assert_eq!(d.labels, labels);
        assert_eq!(d.label_counts()[1], 2);
        // write_tiny puts pixel value (i + p) % 256 in pixel p of image i.
        assert_eq!(d.image(2)[10], 12);
        let item = burn::data::dataset::Dataset::get(&d, 4).unwrap();
        assert_eq!((item.label, item.index, item.image[0]), (5, 4, 4));
        assert!(burn::data::dataset::Dataset::get(&d, 5).is_none());
    }

    #[test]
    fn count_mismatch_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny(dir.path(), Split::Test, &[1, 2, 3], false);
        let (i, l) = Split::Test.paths(dir.path());
        std::fs::write(&l, idx::encode_labels(&[1, 2])).unwrap();
        let err = MnistData::read_pair(DatasetKind::Mnist, &i, &l)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("3 images") && err.contains("2 labels"),
            "{err}"
        );
        assert!(
            err.contains("t10k-images") && err.contains("t10k-labels"),
            "{err}"
        );
    }

    #[test]
    fn missing_files_say_what_is_needed() {
        let dir = tempfile::tempdir().unwrap();
        let err = MnistData::read_split(DatasetKind::Mnist, Split::Test, dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("t10k-images-idx3-ubyte.gz"), "{err}");
        assert!(
            err.contains("GDL_DATA_DIR") && err.contains("fetch-mnist"),
            "{err}"
        );
    }

    #[test]
    fn holdout_first_and_seeded() {
        let labels: Vec<u8> = (0..10).map(|i| (i % 10) as u8).collect();
        let images: Vec<u8> = (0..10).flat_map(|i| vec![i as u8; PIXELS]).collect();
        let d = MnistData::new(DatasetKind::Mnist, images, labels).unwrap();
        let (tr, te) = d.holdout(8, None).unwrap();
        assert_eq!(tr.labels, vec![0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(te.labels, vec![8, 9]);
        let (a, b) = (
            d.holdout(8, Some(1)).unwrap(),
            d.holdout(8, Some(1)).unwrap(),
        );
        assert_eq!(a.0, b.0);
        assert_ne!(a.0.labels, tr.labels, "a seeded split shuffles");
        // Every item lands in exactly one side, image and label together.
        let mut all: Vec<u8> = a.0.labels.iter().chain(&a.1.labels).copied().collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<u8>>());
        for (k, &l) in a.0.labels.iter().enumerate() {
            assert_eq!(a.0.image(k)[0], l);
        }
        assert!(d.holdout(10, None).is_err() && d.holdout(0, None).is_err());
    }

    #[test]
    fn train_test_prefers_standard_split_else_holdout() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny(dir.path(), Split::Test, &[0; 10], true);
        let tt = TrainTest::read(DatasetKind::Mnist, dir.path()).unwrap();
        assert_eq!((tt.train.len(), tt.test.len()), (8, 2));
        assert!(tt.description.contains("hold-out"));
        write_tiny(dir.path(), Split::Train, &[1; 6], true);
        let tt = TrainTest::read(DatasetKind::Mnist, dir.path()).unwrap();
        assert_eq!((tt.train.len(), tt.test.len()), (6, 10));
        assert!(tt.description.contains("standard"));
    }

    #[test]
    fn raw_files_without_gz_suffix_are_found() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny(dir.path(), Split::Test, &[7, 2], false);
        for name in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            let p = dir.path().join(name);
            std::fs::rename(&p, p.with_extension("")).unwrap();
        }
        let d = MnistData::read_split(DatasetKind::Mnist, Split::Test, dir.path()).unwrap();
        assert_eq!(d.labels, vec![7, 2]);
    }

    #[test]
    fn names_parse_and_fashion_classes() {
        assert_eq!(
            "fashion".parse::<DatasetKind>().unwrap(),
            DatasetKind::FashionMnist
        );
        assert_eq!("MNIST".parse::<DatasetKind>().unwrap(), DatasetKind::Mnist);
        assert!("cifar"
            .parse::<DatasetKind>()
            .unwrap_err()
            .to_string()
            .contains("dataset"));
        assert_eq!(DatasetKind::FashionMnist.class_names()[9], "Ankle boot");
        assert!(MnistData::new(DatasetKind::Mnist, vec![0; PIXELS], vec![10]).is_err());
        assert!(MnistData::new(DatasetKind::Mnist, vec![0; 5], vec![1]).is_err());
    }
}
