//! The download path, for real, against an HTTP server on 127.0.0.1 that serves files this
//! test wrote: mirrors tried in order, SHA-256 checked, atomic writes, and a wrong checksum
//! leaving nothing behind.

use gdl_mnist::kind::RemoteFile;
use gdl_mnist::source::{download_files, sha256_hex};
use gdl_mnist::{idx, DataSource, DatasetKind, MnistData, Split};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A minimal HTTP/1.1 file server: GET /<name> answers the file from `root` or 404.
/// Returns its base URL and the log of requested paths.
fn serve(root: PathBuf) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // Skip the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_string();
            log2.lock().unwrap().push(path.clone());
            let response = match std::fs::read(root.join(&path)) {
                Ok(body) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend(body);
                    r
                }
                Err(_) => {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                }
            };
            let _ = stream.write_all(&response);
        }
    });
    (base, log)
}

/// Writes a tiny gzipped t10k pair into `dir` and returns the remote-file specs with their checksums.
fn tiny_remote(dir: &Path, labels: &[u8]) -> Vec<RemoteFile> {
    gdl_mnist::testing::write_tiny(dir, Split::Test, labels, true);
    let (i, l) = Split::Test.file_names();
    [i, l]
        .iter()
        .map(|n| RemoteFile {
            name: n.to_string(),
            sha256: sha256_hex(&std::fs::read(dir.join(n)).unwrap()),
        })
        .collect()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => vec![],
    };
    v.sort();
    v
}

#[test]
fn downloads_verifies_and_reads() {
    let served = tempfile::tempdir().unwrap();
    let files = tiny_remote(served.path(), &[3, 1, 4]);
    let (base, log) = serve(served.path().to_path_buf());
    let target = tempfile::tempdir().unwrap();
    let dir = target.path().join("mnist");
    download_files(&files, &[base], &dir, DatasetKind::Mnist).unwrap();
    assert_eq!(
        listing(&dir),
        vec!["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    );
    let d = MnistData::read_split(DatasetKind::Mnist, Split::Test, &dir).unwrap();
    assert_eq!(d.labels, vec![3, 1, 4]);
    assert_eq!(log.lock().unwrap().len(), 2);
    // Files already present are not downloaded again.
    download_files(
        &files,
        &["http://127.0.0.1:9/".into()],
        &dir,
        DatasetKind::Mnist,
    )
    .unwrap();
}

#[test]
fn falls_back_to_the_next_mirror() {
    let empty = tempfile::tempdir().unwrap();
    let served = tempfile::tempdir().unwrap();
    let files = tiny_remote(served.path(), &[5, 9]);
    let (dead, dead_log) = serve(empty.path().to_path_buf()); // answers 404 for everything
    let (good, _) = serve(served.path().to_path_buf());
    let target = tempfile::tempdir().unwrap();
    download_files(&files, &[dead, good], target.path(), DatasetKind::Mnist).unwrap();
    assert_eq!(
        dead_log.lock().unwrap().len(),
        2,
        "the first mirror was asked for each file"
    );
    assert_eq!(
        MnistData::read_split(DatasetKind::Mnist, Split::Test, target.path())
            .unwrap()
            .labels,
        vec![5, 9]
    );
}

#[test]
fn wrong_checksum_leaves_nothing_behind() {
    let served = tempfile::tempdir().unwrap();
    let mut files = tiny_remote(served.path(), &[1, 2]);
    files[0].sha256 = "0".repeat(64);
    let (base, _) = serve(served.path().to_path_buf());
    let target = tempfile::tempdir().unwrap();
    let dir = target.path().join("d");
    let err = download_files(&files, &[base], &dir, DatasetKind::Mnist)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("t10k-images-idx3-ubyte.gz") && err.contains("SHA-256 mismatch"),
        "{err}"
    );
    assert!(
        err.contains("fetch-mnist"),
        "the error says where to put the files: {err}"
    );
    assert!(listing(&dir).is_empty(), "left behind: {:?}", listing(&dir));
}

#[test]
fn unreachable_mirrors_say_which_files_are_needed() {
    let target = tempfile::tempdir().unwrap();
    let source = DataSource {
        kind: DatasetKind::Mnist,
        dir: Some(target.path().to_path_buf()),
        download: true,
        mirrors: Some(vec!["http://127.0.0.1:9/".into()]),
    };
    let err = source.ensure().unwrap_err().to_string();
    assert!(
        err.contains("train-images-idx3-ubyte.gz") && err.contains("t10k-labels-idx1-ubyte.gz"),
        "{err}"
    );
    assert!(err.contains("127.0.0.1:9"), "{err}");
    assert!(listing(target.path()).is_empty());
}

#[test]
fn data_source_downloads_all_four_then_reads_the_standard_split() {
    let served = tempfile::tempdir().unwrap();
    let mut files = tiny_remote(served.path(), &[0, 1, 2]);
    gdl_mnist::testing::write_tiny(served.path(), Split::Train, &[7, 7, 8, 9], true);
    let (i, l) = Split::Train.file_names();
    for n in [i, l] {
        files.push(RemoteFile {
            name: n.into(),
            sha256: sha256_hex(&std::fs::read(served.path().join(n)).unwrap()),
        });
    }
    let (base, _) = serve(served.path().to_path_buf());
    let target = tempfile::tempdir().unwrap();
    download_files(&files, &[base], target.path(), DatasetKind::FashionMnist).unwrap();
    let tt = DataSource::new(DatasetKind::FashionMnist)
        .with_dir(Some(target.path().to_path_buf()))
        .with_download(false)
        .train_test()
        .unwrap();
    assert_eq!(
        (tt.train.labels.clone(), tt.test.labels.clone()),
        (vec![7, 7, 8, 9], vec![0, 1, 2])
    );
    // The raw (non-gzip) IDX bytes of a served file decode to the same labels.
    let raw = idx::read_maybe_gzip(&target.path().join(l)).unwrap();
    assert_eq!(
        idx::parse_labels(Path::new(l), &raw, 10).unwrap(),
        vec![7, 7, 8, 9]
    );
}
