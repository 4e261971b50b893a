//! # gdl-mnist: the one MNIST loader every gdl model uses
//!
//! Reads MNIST and Fashion-MNIST (and any directory of IDX files with the standard names),
//! gzip or raw, with clear errors for every malformed input; finds or downloads the files
//! (checked by SHA-256); splits them (standard train/test, or a hold-out split of one file);
//! transforms pixels (scale to [0, 1] or [-1, 1], static or dynamic binarisation); and hands
//! Burn tensors to the models through a `Dataset`, a `Batcher` and a seeded epoch loader.
//!
//! ```no_run
//! use gdl_mnist::{DataSource, DatasetKind, MnistLoader};
//! use gdl_core::backend::NdArray;
//!
//! let data = DataSource::new(DatasetKind::Mnist).train_test()?;
//! println!("{}", data.description);
//! let loader = MnistLoader::new(&data.train, 128).shuffle(42);
//! for batch in loader.epoch::<NdArray>(0, &Default::default()) {
//!     let x = batch.flat(); // [128, 784], grey levels in [0, 1]
//! #   let _ = x;
//! }
//! # Ok::<(), gdl_mnist::MnistError>(())
//! ```

#![warn(missing_docs)]

pub mod batcher;
pub mod dataset;
pub mod error;
pub mod idx;
pub mod kind;
pub mod samples;
pub mod source;
pub mod testing;
pub mod transform;

pub use batcher::{MnistBatch, MnistBatcher, MnistLoader};
pub use dataset::{DatasetKind, MnistData, MnistItem, Split, TrainTest, CLASSES, PIXELS, SIDE};
pub use error::{MnistError, Result};
pub use source::DataSource;
pub use transform::{Binarization, Scale, Transform};

// Here rather than in `error.rs`, which the IDX fuzz target compiles on its own (with `idx.rs`,
// without gdl-core and Burn).
impl From<gdl_core::Error> for MnistError {
    fn from(e: gdl_core::Error) -> Self {
        match e {
            gdl_core::Error::Io { path, source } => MnistError::Io { path, source },
            other => MnistError::invalid("operation", other.to_string()),
        }
    }
}
