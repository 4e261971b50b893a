//! The IDX format of LeCun's MNIST files (and Fashion-MNIST, which copies it).
//!
//! Big-endian header: a magic number `0x0000_08DD` where `08` means unsigned bytes and `DD` is
//! the number of dimensions, then one u32 per dimension, then the data in row-major order.
//! Images are `0x0000_0803` (n, rows, cols); labels are `0x0000_0801` (n). Files may be gzip
//! compressed; that is detected from gzip's magic bytes `1f 8b`, never from the file name.

use crate::error::{MnistError, Result};
use std::io::Read;
use std::path::Path;

/// Magic number of an IDX file of unsigned-byte images (3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte labels (1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Images read from an IDX file: `n` images of `rows x cols` bytes, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// Images.
    pub n: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// n x rows x cols bytes.
    pub pixels: Vec<u8>,
}

/// Reads a whole file, gunzipping it when it starts with gzip's magic bytes.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => MnistError::Missing {
            path: path.into(),
            help: String::new(),
        },
        _ => MnistError::io(path, e),
    })?;
    gunzip_if_gzip(path, raw)
}

/// A file's bytes gunzipped when they start with gzip's magic bytes, else as they are;
/// `path` is only used in errors.
pub fn gunzip_if_gzip(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| {
            MnistError::io(
                path,
                std::io::Error::new(e.kind(), format!("invalid gzip data: {e}")),
            )
        })?;
    Ok(out)
}

/// Runs every reader on untrusted bytes (a file's content, gzip or raw) and checks what each
/// returns: an error, or images and labels whose sizes agree with their header. The body of
/// the IDX fuzz target (`crates/gdl-mnist/fuzz`), replayed over its committed corpus by the
/// tests; panics on a violated invariant, as a crash for the fuzzer.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let path = Path::new("fuzz-idx");
    let Ok(bytes) = gunzip_if_gzip(path, data.to_vec()) else {
        return;
    };
    for shape in [None, Some((28, 28))] {
        if let Ok(img) = parse_images(path, &bytes, shape) {
            assert_eq!(img.pixels.len(), img.n * img.rows * img.cols);
            assert_eq!(bytes.len(), 16 + img.pixels.len());
            assert!(shape.is_none_or(|s| s == (img.rows, img.cols)));
        }
    }
    if let Ok(labels) = parse_labels(path, &bytes, 10) {
        assert_eq!(bytes.len(), 8 + labels.len());
        assert!(labels.iter().all(|&l| l < 10));
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Checks the magic number and returns the announced dimensions and the data after the header.
fn parse<'a>(
    path: &Path,
    bytes: &'a [u8],
    magic: u32,
    what: &'static str,
) -> Result<(Vec<usize>, &'a [u8])> {
    let ndim = (magic & 0xff) as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < 4 {
        return Err(MnistError::Truncated {
            path: path.into(),
            expected: header,
            found: bytes.len(),
        });
    }
    let found = be_u32(bytes, 0);
    if found != magic {
        return Err(MnistError::BadMagic {
            path: path.into(),
            found,
            expected: magic,
            what,
        });
    }
    if bytes.len() < header {
        return Err(MnistError::Truncated {
            path: path.into(),
            expected: header,
            found: bytes.len(),
        });
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|d| be_u32(bytes, 4 + 4 * d) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| MnistError::BadDimensions {
            path: path.into(),
            found: format!("{dims:?}"),
            expected: "a size that fits in memory".into(),
        })?;
    let data = &bytes[header..];
    if data.len() < expected {
        return Err(MnistError::Truncated {
            path: path.into(),
            expected,
            found: data.len(),
        });
    }
    if data.len() > expected {
        return Err(MnistError::TrailingBytes {
            path: path.into(),
            expected,
            extra: data.len() - expected,
        });
    }
    Ok((dims, data))
}

/// Parses IDX image bytes (already gunzipped); `path` is only used in errors. When
/// `shape` is given, the images must be exactly `rows x cols`.
pub fn parse_images(path: &Path, bytes: &[u8], shape: Option<(usize, usize)>) -> Result<IdxImages> {
    let (dims, data) = parse(
        path,
        bytes,
        IMAGES_MAGIC,
        "IDX images: unsigned bytes, 3 dimensions",
    )?;
    let (n, rows, cols) = (dims[0], dims[1], dims[2]);
    if let Some((r, c)) = shape {
        if (rows, cols) != (r, c) {
            return Err(MnistError::BadDimensions {
                path: path.into(),
                found: format!("{rows}x{cols} images"),
                expected: format!("{r}x{c}"),
            });
        }
    }
    Ok(IdxImages {
        n,
        rows,
        cols,
        pixels: data.to_vec(),
    })
}

/// Parses IDX label bytes (already gunzipped); every label must be below `classes`.
pub fn parse_labels(path: &Path, bytes: &[u8], classes: usize) -> Result<Vec<u8>> {
    let (_, data) = parse(
        path,
        bytes,
        LABELS_MAGIC,
        "IDX labels: unsigned bytes, 1 dimension",
    )?;
    if let Some((index, &label)) = data
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= classes)
    {
        return Err(MnistError::LabelOutOfRange {
            path: path.into(),
            index,
            label,
            classes,
        });
    }
    Ok(data.to_vec())
}

/// Reads an IDX image file (gzip or raw).
pub fn read_images(path: &Path, shape: Option<(usize, usize)>) -> Result<IdxImages> {
    parse_images(path, &read_maybe_gzip(path)?, shape)
}

/// Reads an IDX label file (gzip or raw).
pub fn read_labels(path: &Path, classes: usize) -> Result<Vec<u8>> {
    parse_labels(path, &read_maybe_gzip(path)?, classes)
}

/// Encodes images as IDX bytes (used to write test fixtures and tiny data sets).
pub fn encode_images(n: usize, rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    assert_eq!(
        pixels.len(),
        n * rows * cols,
        "pixel count must match the dimensions"
    );
    let mut out = Vec::with_capacity(16 + pixels.len());
    for v in [IMAGES_MAGIC, n as u32, rows as u32, cols as u32] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encodes labels as IDX bytes.
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// Gzip-compresses bytes (fixtures; the real files come gzipped).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("x-idx")
    }

    /// Every input of the fuzz target's committed corpus (minimised by `afl-cmin` from the
    /// run recorded in `crates/gdl-mnist/fuzz/README.md`) still parses or fails cleanly.
    #[test]
    fn the_fuzz_corpus_replays_without_a_panic() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            fuzz_one(&std::fs::read(&path).unwrap());
            n += 1;
        }
        assert!(n >= 10, "{n} inputs in {}", dir.display());
    }

    #[test]
    fn round_trip_images_and_labels() {
        let px: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        let img = parse_images(p(), &encode_images(2, 3, 4, &px), Some((3, 4))).unwrap();
        assert_eq!((img.n, img.rows, img.cols), (2, 3, 4));
        assert_eq!(img.pixels, px);
        assert_eq!(
            parse_labels(p(), &encode_labels(&[1, 9, 0]), 10).unwrap(),
            vec![1, 9, 0]
        );
    }

    #[test]
    fn header_bytes_are_big_endian() {
        // Hand-written header: magic 0x00000801, n = 2.
        let bytes = [0, 0, 8, 1, 0, 0, 0, 2, 7, 3];
        assert_eq!(parse_labels(p(), &bytes, 10).unwrap(), vec![7, 3]);
    }

    #[test]
    fn wrong_magic() {
        let err = parse_labels(p(), &encode_images(1, 1, 1, &[0]), 10).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::BadMagic {
                    found: 0x803,
                    expected: 0x801,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("x-idx"));
    }

    #[test]
    fn wrong_dimensions() {
        let err = parse_images(p(), &encode_images(1, 2, 2, &[0; 4]), Some((28, 28))).unwrap_err();
        assert!(
            err.to_string().contains("2x2 images") && err.to_string().contains("28x28"),
            "{err}"
        );
    }

    #[test]
    fn truncated_header_and_data() {
        let full = encode_images(2, 2, 2, &[0; 8]);
        for cut in [0, 3, 10, full.len() - 1] {
            let err = parse_images(p(), &full[..cut], None).unwrap_err();
            assert!(
                matches!(err, MnistError::Truncated { .. }),
                "cut {cut}: {err}"
            );
        }
        let err = parse_images(p(), &full[..full.len() - 3], None).unwrap_err();
        assert!(
            err.to_string().contains("announces 8 bytes") && err.to_string().contains("only 5"),
            "{err}"
        );
    }

    #[test]
    fn trailing_bytes() {
        let mut bytes = encode_labels(&[1, 2]);
        bytes.push(0);
        assert!(matches!(
            parse_labels(p(), &bytes, 10).unwrap_err(),
            MnistError::TrailingBytes { extra: 1, .. }
        ));
    }

    #[test]
    fn label_out_of_range() {
        let err = parse_labels(p(), &encode_labels(&[1, 2, 10]), 10).unwrap_err();
        assert!(
            matches!(
                err,
                MnistError::LabelOutOfRange {
                    index: 2,
                    label: 10,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn gzip_detected_by_magic_not_name() {
        let dir = tempfile::tempdir().unwrap();
        let labels = encode_labels(&[4, 2]);
        // A gzip file without .gz, and a raw file with .gz: both read correctly.
        let (a, b) = (
            dir.path().join("labels-raw-name"),
            dir.path().join("labels.gz"),
        );
        std::fs::write(&a, gzip(&labels)).unwrap();
        std::fs::write(&b, &labels).unwrap();
        assert_eq!(read_labels(&a, 10).unwrap(), vec![4, 2]);
        assert_eq!(read_labels(&b, 10).unwrap(), vec![4, 2]);
        // Corrupt gzip is an error naming the file.
        let c = dir.path().join("corrupt.gz");
        let mut bad = gzip(&labels);
        bad.truncate(bad.len() / 2);
        std::fs::write(&c, bad).unwrap();
        let err = read_labels(&c, 10).unwrap_err().to_string();
        assert!(err.contains("corrupt.gz"), "{err}");
    }

    #[test]
    fn missing_file() {
        let err =
            read_images(Path::new("/nonexistent/t10k-images-idx3-ubyte.gz"), None).unwrap_err();
        assert!(matches!(err, MnistError::Missing { .. }));
        assert!(err.to_string().contains("t10k-images-idx3-ubyte.gz"));
    }
}
