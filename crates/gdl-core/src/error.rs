//! The error type of `gdl-core`.

use std::path::PathBuf;

/// Everything that can go wrong in `gdl-core`; each variant names what it concerns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A backend name that is unknown or not compiled into this build.
    #[error("backend `{name}`: {reason}")]
    Backend {
        /// The name given.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// An argument outside its valid range; `what` names the argument.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The argument, field or flag.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A loss or metric became NaN or infinite.
    #[error("non-finite {metric} = {value} at step {step}; training stopped (the last good checkpoint is kept)")]
    NonFinite {
        /// The figure's name.
        metric: String,
        /// Its value.
        value: f64,
        /// The step at which it appeared.
        step: usize,
    },
    /// A PNG could not be encoded.
    #[error("{path}: PNG encoding failed: {reason}")]
    Png {
        /// The file.
        path: PathBuf,
        /// What the encoder said.
        reason: String,
    },
    /// A checkpoint could not be recorded or loaded.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file or directory.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    /// An [`Error::Invalid`] for the argument `what`.
    pub fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// An [`Error::Io`] that names `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with the `gdl-core` [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
