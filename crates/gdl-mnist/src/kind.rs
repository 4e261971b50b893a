//! The data sets: their names, classes, files with published checksums, download mirrors,
//! and the environment variables that point at them.

use crate::error::{MnistError, Result};
use std::path::Path;

/// Number of classes (digits 0..9, or the ten Fashion-MNIST garments).
pub const CLASSES: usize = 10;

/// A data set in the IDX format with the standard file names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DatasetKind {
    /// LeCun, Cortes and Burges' handwritten digits.
    Mnist,
    /// Zalando's Fashion-MNIST (Xiao, Rasul and Vollgraf 2017): a drop-in replacement.
    #[cfg_attr(feature = "clap", value(name = "fashion", alias = "fashion-mnist"))]
    FashionMnist,
}

/// Fashion-MNIST's class names, by label.
pub const FASHION_CLASSES: [&str; CLASSES] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

const DIGIT_CLASSES: [&str; CLASSES] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

impl DatasetKind {
    /// Name used by `--dataset`.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion",
        }
    }

    /// The data set's name as its authors write it: `MNIST`, `Fashion-MNIST`.
    pub fn title(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "MNIST",
            DatasetKind::FashionMnist => "Fashion-MNIST",
        }
    }

    /// The class names, by label.
    pub fn class_names(self) -> &'static [&'static str; CLASSES] {
        match self {
            DatasetKind::Mnist => &DIGIT_CLASSES,
            DatasetKind::FashionMnist => &FASHION_CLASSES,
        }
    }
}

impl std::fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DatasetKind {
    type Err = MnistError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mnist" => Ok(DatasetKind::Mnist),
            "fashion" | "fashion-mnist" | "fashion_mnist" => Ok(DatasetKind::FashionMnist),
            other => Err(MnistError::invalid(
                "dataset",
                format!("`{other}` is not one of: mnist, fashion"),
            )),
        }
    }
}

/// A file of a data set and the SHA-256 of its published bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFile {
    /// The file name on the mirrors.
    pub name: String,
    /// Lower-case hex SHA-256 of its bytes.
    pub sha256: String,
}

const MNIST_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];
const FASHION_MIRRORS: [&str; 2] = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
];

// SHA-256 of the files as published on the mirrors above.
const MNIST_SHA256: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
];
const FASHION_SHA256: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    ),
];

impl DatasetKind {
    /// The environment variable naming this data set's directory.
    pub fn dir_env(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "GDL_DATA_DIR",
            DatasetKind::FashionMnist => "GDL_FASHION_DIR",
        }
    }

    /// The environment variable overriding the download mirrors (comma-separated base URLs).
    pub fn mirror_env(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "GDL_MNIST_MIRRORS",
            DatasetKind::FashionMnist => "GDL_FASHION_MIRRORS",
        }
    }

    /// The public mirrors, tried in order.
    pub fn default_mirrors(self) -> Vec<String> {
        let m: &[&str] = match self {
            DatasetKind::Mnist => &MNIST_MIRRORS,
            DatasetKind::FashionMnist => &FASHION_MIRRORS,
        };
        m.iter().map(|s| s.to_string()).collect()
    }

    /// The four files with their published SHA-256.
    pub fn remote_files(self) -> Vec<RemoteFile> {
        let t = match self {
            DatasetKind::Mnist => &MNIST_SHA256,
            DatasetKind::FashionMnist => &FASHION_SHA256,
        };
        t.iter()
            .map(|(n, h)| RemoteFile {
                name: n.to_string(),
                sha256: h.to_string(),
            })
            .collect()
    }

    /// Directories where a system package installs the data set.
    pub fn system_dirs(self) -> &'static [&'static str] {
        match self {
            DatasetKind::Mnist => &["/usr/share/datasets/mnist"],
            DatasetKind::FashionMnist => &["/usr/share/datasets/fashion-mnist"],
        }
    }
}

/// What to tell a user whose files are missing.
pub fn missing_help(kind: DatasetKind, dir: &Path) -> String {
    let names: Vec<String> = kind.remote_files().into_iter().map(|f| f.name).collect();
    format!(
        "The {kind} data set needs the IDX files {} (at least the two t10k files) in {}. \
         Get them with `cargo xtask fetch-mnist{}`, download them from {}, \
         or point {} (or --data-dir) at a directory that holds them.",
        names.join(", "),
        dir.display(),
        if kind == DatasetKind::FashionMnist {
            " --dataset fashion"
        } else {
            ""
        },
        kind.default_mirrors().join(" or "),
        kind.dir_env()
    )
}
