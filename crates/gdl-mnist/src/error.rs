//! The error type of `gdl-mnist`: every variant names the file (or files) it concerns.

use std::path::PathBuf;

/// What can go wrong reading or fetching an IDX data set.
#[derive(Debug, thiserror::Error)]
pub enum MnistError {
    /// A required file is not there.
    #[error("{path}: file not found. {help}")]
    Missing {
        /// The file.
        path: PathBuf,
        /// Which files are needed and where to get them.
        help: String,
    },
    /// A file could not be read (or gunzipped).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The first four bytes are not the IDX magic number expected for this file.
    #[error("{path}: wrong magic number 0x{found:08x}, expected 0x{expected:08x} ({what})")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number read.
        found: u32,
        /// The magic number of this kind of file.
        expected: u32,
        /// Images or labels.
        what: &'static str,
    },
    /// The header's dimensions are not those of this data set.
    #[error("{path}: wrong dimensions {found}, expected {expected}")]
    BadDimensions {
        /// The file.
        path: PathBuf,
        /// The dimensions read.
        found: String,
        /// The dimensions of this data set.
        expected: String,
    },
    /// The file holds fewer bytes than its header announces.
    #[error("{path}: truncated: the header announces {expected} bytes of data but only {found} are present")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header announces.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The file holds more bytes than its header announces.
    #[error(
        "{path}: {extra} unexpected bytes after the {expected} bytes of data the header announces"
    )]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Bytes the header announces.
        expected: usize,
        /// Bytes beyond them.
        extra: usize,
    },
    /// The image and label files disagree on the number of items.
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Its item count.
        n_images: usize,
        /// The label file.
        labels: PathBuf,
        /// Its item count.
        n_labels: usize,
    },
    /// A label is not a valid class.
    #[error("{path}: label {label} at index {index} is out of range 0..{classes}")]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// The item.
        index: usize,
        /// Its label.
        label: u8,
        /// The number of classes.
        classes: usize,
    },
    /// Downloading failed on every mirror.
    #[error("could not download {file} into {dir}:\n{attempts}\n{help}")]
    Download {
        /// The file name.
        file: String,
        /// The directory it was to go into.
        dir: PathBuf,
        /// Each mirror and what it answered.
        attempts: String,
        /// What else to try.
        help: String,
    },
    /// An argument outside its valid range; `what` names it.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The argument, field or flag.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl MnistError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        MnistError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        MnistError::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// `Result` with [`MnistError`].
pub type Result<T> = std::result::Result<T, MnistError>;
