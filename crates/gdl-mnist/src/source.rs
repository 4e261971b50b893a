//! Where the files come from: an explicit directory, else the data set's environment variable
//! (`GDL_DATA_DIR` for MNIST, `GDL_FASHION_DIR` for Fashion-MNIST), else a system copy
//! (Debian's `dataset-fashion-mnist` package), else a per-user cache directory. Absent files
//! are downloaded from public mirrors, tried in order, each file checked against its SHA-256
//! and written atomically; a file that fails its checksum is never left on disk.

use crate::dataset::{MnistData, Split, TrainTest};
use crate::error::{MnistError, Result};
use crate::kind::{missing_help, DatasetKind, RemoteFile};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest file accepted from a mirror (the biggest real one is 26 MB).
const MAX_DOWNLOAD_BYTES: u64 = 64 << 20;

/// The per-user cache directory: `$XDG_CACHE_HOME/gdl/<name>`, else `~/.cache/gdl/<name>`.
pub fn cache_dir(kind: DatasetKind) -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("gdl").join(kind.name())
}

/// Parses a mirror override: comma-separated base URLs, each given a trailing `/`.
pub fn parse_mirrors(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.ends_with('/') {
                s.to_string()
            } else {
                format!("{s}/")
            }
        })
        .collect()
}

/// Where to read a data set from and whether to download what is missing.
#[derive(Clone, Debug)]
pub struct DataSource {
    /// Which data set.
    pub kind: DatasetKind,
    /// An explicit directory (`--data-dir`); wins over everything else.
    pub dir: Option<PathBuf>,
    /// Download missing files (on by default for programs; tests turn it off).
    pub download: bool,
    /// Base URLs tried in order; `None` means the environment override or the public mirrors.
    pub mirrors: Option<Vec<String>>,
}

impl DataSource {
    /// The default source of `kind`: directory and mirrors from the environment, downloads on.
    pub fn new(kind: DatasetKind) -> Self {
        DataSource {
            kind,
            dir: None,
            download: true,
            mirrors: None,
        }
    }

    /// With an explicit directory (`None` keeps the default lookup).
    pub fn with_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.dir = dir;
        self
    }

    /// With downloading on or off.
    pub fn with_download(mut self, download: bool) -> Self {
        self.download = download;
        self
    }

    /// The directory the files are read from (and downloaded into).
    pub fn resolve_dir(&self) -> PathBuf {
        if let Some(d) = &self.dir {
            return d.clone();
        }
        if let Some(d) = std::env::var_os(self.kind.dir_env()).filter(|v| !v.is_empty()) {
            return PathBuf::from(d);
        }
        for d in self.kind.system_dirs() {
            let p = Path::new(d);
            if Split::Test.present_in(p) {
                return p.to_path_buf();
            }
        }
        cache_dir(self.kind)
    }

    /// The mirrors tried in order.
    pub fn resolve_mirrors(&self) -> Vec<String> {
        if let Some(m) = &self.mirrors {
            return m.clone();
        }
        match std::env::var(self.kind.mirror_env()) {
            Ok(v) if !parse_mirrors(&v).is_empty() => parse_mirrors(&v),
            _ => self.kind.default_mirrors(),
        }
    }

    /// Makes sure the data set is in its directory, downloading it when nothing usable is
    /// there and downloads are on. Returns the directory.
    pub fn ensure(&self) -> Result<PathBuf> {
        let dir = self.resolve_dir();
        if Split::Test.present_in(&dir) {
            return Ok(dir);
        }
        if !self.download {
            let (i, _) = Split::Test.paths(&dir);
            return Err(MnistError::Missing {
                path: i,
                help: missing_help(self.kind, &dir),
            });
        }
        download_files(
            &self.kind.remote_files(),
            &self.resolve_mirrors(),
            &dir,
            self.kind,
        )?;
        Ok(dir)
    }

    /// Train and test sets: the standard split when the train files are present, else the
    /// hold-out split of the test file (see [`TrainTest::read`]).
    pub fn train_test(&self) -> Result<TrainTest> {
        TrainTest::read(self.kind, &self.ensure()?)
    }

    /// One standard split.
    pub fn split(&self, split: Split) -> Result<MnistData> {
        MnistData::read_split(self.kind, split, &self.ensure()?)
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn fetch(url: &str) -> std::result::Result<Vec<u8>, String> {
    let response = ureq::AgentBuilder::new()
        .timeout_connect(std::time::Duration::from_secs(15))
        .timeout_read(std::time::Duration::from_secs(60))
        .build()
        .get(url)
        .call()
        .map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    response
        .into_reader()
        .take(MAX_DOWNLOAD_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("reading the body failed: {e}"))?;
    if body.len() as u64 > MAX_DOWNLOAD_BYTES {
        return Err(format!("larger than {MAX_DOWNLOAD_BYTES} bytes"));
    }
    Ok(body)
}

/// Downloads each file not already in `dir` from the first mirror that serves it with the
/// right SHA-256, and writes it atomically. Files failing the checksum are discarded.
pub fn download_files(
    files: &[RemoteFile],
    mirrors: &[String],
    dir: &Path,
    kind: DatasetKind,
) -> Result<()> {
    if mirrors.is_empty() {
        return Err(MnistError::invalid("mirrors", "no download mirror given"));
    }
    for file in files {
        let target = dir.join(&file.name);
        if target.is_file() {
            continue;
        }
        let mut attempts = Vec::new();
        let mut done = false;
        for base in mirrors {
            let url = format!("{base}{}", file.name);
            eprintln!("downloading {url}");
            match fetch(&url) {
                Ok(body) => {
                    let got = sha256_hex(&body);
                    if got.eq_ignore_ascii_case(&file.sha256) {
                        gdl_core::fs::atomic_write(&target, &body)?;
                        done = true;
                        break;
                    }
                    attempts.push(format!(
                        "  {url}: SHA-256 mismatch (got {got}, expected {})",
                        file.sha256
                    ));
                }
                Err(e) => attempts.push(format!("  {url}: {e}")),
            }
        }
        if !done {
            return Err(MnistError::Download {
                file: file.name.clone(),
                dir: dir.to_path_buf(),
                attempts: attempts.join("\n"),
                help: missing_help(kind, dir),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_override_parsing() {
        assert_eq!(
            parse_mirrors(" http://a/x , http://b/ ,,"),
            vec!["http://a/x/".to_string(), "http://b/".to_string()]
        );
        assert!(parse_mirrors("").is_empty());
    }

    #[test]
    fn at_least_two_mirrors_and_four_checksums() {
        for kind in [DatasetKind::Mnist, DatasetKind::FashionMnist] {
            assert!(kind.default_mirrors().len() >= 2);
            let files = kind.remote_files();
            assert_eq!(files.len(), 4);
            assert!(files.iter().all(|f| f.sha256.len() == 64));
        }
    }

    #[test]
    fn sha256_known_vector() {
        // FIPS 180-2 test vector for "abc".
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn explicit_dir_wins_and_no_download_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let src = DataSource::new(DatasetKind::Mnist)
            .with_dir(Some(dir.path().to_path_buf()))
            .with_download(false);
        assert_eq!(src.resolve_dir(), dir.path());
        let err = src.ensure().unwrap_err().to_string();
        assert!(
            err.contains("t10k-images-idx3-ubyte.gz") && err.contains("fetch-mnist"),
            "{err}"
        );
    }
}
