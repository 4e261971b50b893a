//! The error type of `gdl-mnist`: every variant names the file (or files) it concerns.

use std::path::PathBuf;

/// What can go wrong reading or fetching an IDX data set.
#[derive(Debug, thiserror::Error)]
pub enum MnistError {
    /// A required file is not there.
    #[error("{path}: file not found. {help}")]
    Missing { path: PathBuf, help: String },
    /// A file could not be read (or gunzipped).
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The first four bytes are not the IDX magic number expected for this file.
    #[error("{path}: wrong magic number 0x{found:08x}, expected 0x{expected:08x} ({what})")]
    BadMagic {
        path: PathBuf,
        found: u32,
        expected: u32,
        what: &'static str,
    },
    /// The header's dimensions are not those of this data set.
    #[error("{path}: wrong dimensions {found}, expected {expected}")]
    BadDimensions {
        path: PathBuf,
        found: String,
        expected: String,
    },
    /// The file holds fewer bytes than its header announces.
    #[error("{path}: truncated: the header announces {expected} bytes of data but only {found} are present")]
    Truncated {
        path: PathBuf,
        expected: usize,
        found: usize,
    },
    /// The file holds more bytes than its header announces.
    #[error(
        "{path}: {extra} unexpected bytes after the {expected} bytes of data the header announces"
    )]
    TrailingBytes {
        path: PathBuf,
        expected: usize,
        extra: usize,
    },
    /// The image and label files disagree on the number of items.
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    CountMismatch {
        images: PathBuf,
        n_images: usize,
        labels: PathBuf,
        n_labels: usize,
    },
    /// A label is not a valid class.
    #[error("{path}: label {label} at index {index} is out of range 0..{classes}")]
    LabelOutOfRange {
        path: PathBuf,
        index: usize,
        label: u8,
        classes: usize,
    },
    /// Downloading failed on every mirror.
    #[error("could not download {file} into {dir}:\n{attempts}\n{help}")]
    Download {
        file: String,
        dir: PathBuf,
        attempts: String,
        help: String,
    },
    /// An argument outside its valid range; `what` names it.
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },
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

impl From<gdl_core::Error> for MnistError {
    fn from(e: gdl_core::Error) -> Self {
        match e {
            gdl_core::Error::Io { path, source } => MnistError::Io { path, source },
            other => MnistError::invalid("operation", other.to_string()),
        }
    }
}

/// `Result` with [`MnistError`].
pub type Result<T> = std::result::Result<T, MnistError>;
