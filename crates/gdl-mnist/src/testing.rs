//! Tiny IDX data sets for tests (here and in the model crates): no real data needed.

use crate::dataset::{Split, PIXELS, SIDE};
use crate::idx;
use std::path::Path;

/// Writes a split with one image per label into `dir`, gzipped or raw. Pixel `p` of image
/// `i` is `(i + p) % 256`, so every image is distinct and its bytes are predictable.
pub fn write_tiny(dir: &Path, split: Split, labels: &[u8], gzip: bool) {
    let pixels: Vec<u8> = (0..labels.len())
        .flat_map(|i| (0..PIXELS).map(move |p| ((i + p) % 256) as u8))
        .collect();
    let (i, l) = split.file_names();
    let images = idx::encode_images(labels.len(), SIDE, SIDE, &pixels);
    let labels = idx::encode_labels(labels);
    let (images, labels) = if gzip {
        (idx::gzip(&images), idx::gzip(&labels))
    } else {
        (images, labels)
    };
    std::fs::create_dir_all(dir).expect("create the fixture directory");
    std::fs::write(dir.join(i), images).expect("write the fixture images");
    std::fs::write(dir.join(l), labels).expect("write the fixture labels");
}

/// The real-data directory for tests: `GDL_DATA_DIR` when set. Unset, the test should skip
/// (this prints why), unless `GDL_REQUIRE_DATA=1`, which makes a missing data set fail loudly.
pub fn real_data_dir(test: &str) -> Option<std::path::PathBuf> {
    match std::env::var_os("GDL_DATA_DIR").filter(|v| !v.is_empty()) {
        Some(d) => Some(std::path::PathBuf::from(d)),
        None if std::env::var("GDL_REQUIRE_DATA").is_ok_and(|v| v == "1") => {
            panic!("{test}: GDL_REQUIRE_DATA=1 but GDL_DATA_DIR is not set; point it at the MNIST IDX files")
        }
        None => {
            eprintln!("{test}: skipped, GDL_DATA_DIR is not set (set it to a directory with the MNIST IDX files)");
            None
        }
    }
}

/// The real MNIST digits of `GDL_DATA_DIR` as training and test sets (as [`real_data_dir`]
/// decides: None to skip); panics, naming the directory, when the files there do not load.
pub fn real_train_test(test: &str) -> Option<crate::TrainTest> {
    let dir = real_data_dir(test)?;
    Some(
        crate::DataSource::new(crate::DatasetKind::Mnist)
            .with_dir(Some(dir.clone()))
            .with_download(false)
            .train_test()
            .unwrap_or_else(|e| panic!("{test}: no MNIST in {}: {e}", dir.display())),
    )
}
