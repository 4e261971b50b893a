//! Every program runs, and every bad input is refused cleanly.
//!
//! Each example runs on a tiny budget (made-up digits, one epoch, small models, Flex): its
//! output files decode as PNG, CSV and IDX, its figures are finite, and the same seed gives the
//! same numbers. Then the rows of `docs/robustness.md`: missing, empty, truncated or foreign
//! data; too few digits; an unwritable or full output directory; a corrupted or foreign
//! checkpoint on `--resume`; flags out of range; a NaN mid-training. Each must end with a
//! one-line error naming the file or flag, a non-zero exit code and no partial file.
//!
//! The programs are the example binaries `cargo test` builds beside this test's binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The example binary `name` (built by `cargo test --release --workspace` before the tests run).
fn program(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/programs-<hash> → target/<profile>/examples/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: run the tests with `cargo test --release --workspace` (it builds the examples)",
        path.display()
    );
    path
}

/// What a program printed and how it ended.
struct Run {
    output: Output,
}

impl Run {
    fn ok(&self) -> bool {
        self.output.status.success()
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts a successful run that printed no NaN.
    fn assert_ok(&self, what: &str) {
        assert!(
            self.ok(),
            "{what} failed: {}\n{}",
            self.stdout(),
            self.stderr()
        );
        let out = self.stdout();
        assert!(!out.contains("NaN"), "{what} printed a NaN:\n{out}");
    }

    /// Asserts a refusal: exit code ≠ 0, no panic, and an `Error:` line that contains every
    /// one of `names` (the file or flag at fault).
    fn assert_refused(&self, what: &str, names: &[&str]) {
        let err = self.stderr();
        assert!(
            !self.ok(),
            "{what} should fail, but succeeded:\n{}",
            self.stdout()
        );
        assert_ne!(self.output.status.code(), None, "{what} was killed:\n{err}");
        assert!(!err.contains("panicked"), "{what} panicked:\n{err}");
        let line = err
            .lines()
            .find(|l| l.starts_with("Error: "))
            .unwrap_or_else(|| panic!("{what}: no `Error:` line in\n{err}"));
        for name in names {
            assert!(
                line.contains(name),
                "{what}: the error does not name {name}: {line}"
            );
        }
    }
}

/// Runs `name` with `args` in `cwd`, on Flex unless `args` say otherwise, with no data
/// directory or backend from the environment and without backtraces.
fn run_in(cwd: &Path, name: &str, args: &[&str]) -> Run {
    let output = command(cwd, program(name))
        .args(args)
        .output()
        .expect("start the program");
    Run { output }
}

/// `exe` to run in `cwd` on Flex, with none of the caller's data directories or fault
/// injection in its environment.
fn command(cwd: &Path, exe: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(exe);
    command
        .current_dir(cwd)
        .env("GDL_BACKEND", "flex")
        .env("RUST_BACKTRACE", "0")
        .env_remove("GDL_DATA_DIR")
        .env_remove("GDL_FASHION_DIR")
        .env_remove("GDL_INJECT_NAN_AT_STEP");
    command
}

/// `n` made-up digits in `dir` as the t10k files (gzipped IDX), so the programs take the
/// hold-out split (4/5 train): digit i is a ring of radius 4 + (i mod 5) around a centre
/// that moves with i, labelled i mod 10.
fn write_digits(dir: &Path, n: usize) {
    use gdl::mnist::idx::{encode_images, encode_labels, gzip};
    let mut pixels = Vec::with_capacity(n * 784);
    for i in 0..n {
        let (cx, cy) = (9.0 + (i * 7 % 11) as f64, 9.0 + (i * 5 % 11) as f64);
        let r = 4.0 + (i % 5) as f64;
        for y in 0..28 {
            for x in 0..28 {
                let d = ((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2)).sqrt();
                pixels.push(if (d - r).abs() < 1.5 { 255 } else { 0 });
            }
        }
    }
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("t10k-images-idx3-ubyte.gz"),
        gzip(&encode_images(n, 28, 28, &pixels)),
    )
    .unwrap();
    std::fs::write(
        dir.join("t10k-labels-idx1-ubyte.gz"),
        gzip(&encode_labels(&labels)),
    )
    .unwrap();
}

/// The MNIST programs with the flags of a tiny budget (one epoch, small models, 20 samples).
const TINY: &[(&str, &str, &[&str])] = &[
    ("mlp classifier", "mnist_classifier", &["--epochs", "1"]),
    (
        "cnn classifier",
        "mnist_classifier",
        &["--epochs", "1", "--model", "cnn"],
    ),
    (
        "vae",
        "vae_mnist",
        &[
            "--epochs",
            "1",
            "--n-samples",
            "20",
            "--iwae-k",
            "2",
            "--iwae-digits",
            "10",
        ],
    ),
    (
        "rbm",
        "rbm_mnist",
        &[
            "--epochs",
            "1",
            "--hidden",
            "16",
            "--n-samples",
            "20",
            "--ais-runs",
            "2",
            "--ais-temperatures",
            "100",
        ],
    ),
    (
        "ebm",
        "ebm_langevin_mnist",
        &[
            "--epochs",
            "1",
            "--n-samples",
            "20",
            "--sgld-steps",
            "2",
            "--final-steps",
            "2",
        ],
    ),
    (
        "mlp gan",
        "gan_mnist",
        &["--epochs", "1", "--arch", "mlp", "--n-samples", "20"],
    ),
    (
        "ddpm",
        "diffusion_mnist",
        &[
            "--epochs",
            "1",
            "--timesteps",
            "10",
            "--steps",
            "2",
            "--n-samples",
            "20",
            "--bound-draws",
            "1",
        ],
    ),
];

/// The program and tiny-budget flags of `label`, with `changes` applied: each `(flag, value)`
/// replaces the flag's value or is appended (a bare switch when the value is empty).
fn tiny<'a>(label: &str, changes: &[(&'a str, &'a str)]) -> (&'static str, Vec<&'a str>) {
    let (_, name, args) = TINY.iter().find(|(l, _, _)| *l == label).unwrap();
    let mut args: Vec<&str> = args.to_vec();
    for &(flag, value) in changes {
        match args.iter().position(|a| *a == flag) {
            Some(i) if !value.is_empty() => args[i + 1] = value,
            Some(_) => {}
            None if value.is_empty() => args.push(flag),
            None => args.extend([flag, value]),
        }
    }
    (name, args)
}

/// A temporary directory with `n` made-up digits in `data/`.
fn workspace(n: usize) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write_digits(&tmp.path().join("data"), n);
    tmp
}

/// Runs a training program on the digits of `tmp/data` into `tmp/<out>`.
fn train(tmp: &Path, name: &str, args: &[&str], out: &str, seed: &str) -> Run {
    let mut all = vec!["--data-dir", "data", "--no-download", "--seed", seed];
    all.extend(["--output-dir", out]);
    all.extend(args);
    run_in(tmp, name, &all)
}

fn assert_png(path: &Path) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(info.width > 0 && info.height > 0, "{}", path.display());
}

/// A header and at least one row, every field a finite number.
fn assert_csv(path: &Path) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            let row: Vec<f64> = l
                .split(',')
                .map(|v| {
                    v.parse()
                        .unwrap_or_else(|_| panic!("{}: {v:?}", path.display()))
                })
                .collect();
            assert_eq!(row.len(), header.len(), "{}: {l}", path.display());
            assert!(row.iter().all(|v| v.is_finite()), "{}: {l}", path.display());
            row
        })
        .collect();
    assert!(!rows.is_empty(), "{}: no rows", path.display());
    rows
}

fn assert_idx(path: &Path, n: usize) {
    let images = gdl::mnist::idx::read_images(path, Some((28, 28)))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(images.n, n, "{}", path.display());
}

/// Runs a program on a tiny budget and checks the files it must write.
fn smoke(label: &str, pngs: &[&str], samples: Option<usize>) {
    let tmp = workspace(200);
    let (name, args) = tiny(label, &[]);
    let run = train(tmp.path(), name, &args, "out", "1");
    run.assert_ok(label);
    let out = tmp.path().join("out");
    for png in pngs {
        assert_png(&out.join(png));
    }
    assert_csv(&out.join("metrics.csv"));
    if let Some(n) = samples {
        assert_idx(&out.join("samples-idx3-ubyte"), n);
    }
    assert_no_temp_files(&out);
}

/// No hidden temporary file or directory (`.<name>.tmp-<pid>`) anywhere under `dir`.
fn assert_no_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp-"), "left behind: {}", path.display());
        if path.is_dir() {
            assert_no_temp_files(&path);
        }
    }
}

// ---- every program runs ----

#[test]
fn mnist_classifier_mlp_and_cnn_run() {
    smoke("mlp classifier", &["curves.png", "misclassified.png"], None);
    smoke("cnn classifier", &["curves.png", "misclassified.png"], None);
}

#[test]
fn vae_mnist_runs() {
    let pngs = [
        "samples.png",
        "reconstructions.png",
        "interpolation.png",
        "loss.png",
    ];
    smoke("vae", &pngs, Some(20));
}

#[test]
fn rbm_mnist_runs() {
    let pngs = [
        "samples.png",
        "reconstructions.png",
        "filters.png",
        "free_energy.png",
        "reconstruction_error.png",
    ];
    smoke("rbm", &pngs, Some(20));
}

#[test]
fn rbm_mnist_dbn_runs() {
    let tmp = workspace(200);
    let changes = [("--pcd", ""), ("--dbn-hidden", "8"), ("--ais-runs", "0")];
    let (name, args) = tiny("rbm", &changes);
    train(tmp.path(), name, &args, "out", "1").assert_ok("dbn");
    for png in ["dbn_samples.png", "dbn_samples_from_noise.png"] {
        assert_png(&tmp.path().join("out").join(png));
    }
    assert_idx(&tmp.path().join("out/samples-idx3-ubyte"), 20);
}

#[test]
fn ebm_langevin_mnist_runs() {
    let pngs = [
        "energies.png",
        "samples_epoch_01.png",
        "samples_from_noise.png",
    ];
    smoke("ebm", &pngs, Some(20));
}

#[test]
fn gan_mnist_runs_mlp_dcgan_and_wgan() {
    let pngs = [
        "samples.png",
        "progression.png",
        "interpolation.png",
        "losses.png",
        "d_outputs.png",
    ];
    smoke("mlp gan", &pngs, Some(20));
    let tmp = workspace(200);
    let (name, args) = tiny("mlp gan", &[("--arch", "dcgan"), ("--rejection", "")]);
    let run = train(tmp.path(), name, &args, "dcgan", "1");
    run.assert_ok("dcgan with --rejection");
    assert!(
        run.stdout().contains("of candidates kept"),
        "{}",
        run.stdout()
    );
    assert_png(&tmp.path().join("dcgan/samples.png"));
    assert_idx(&tmp.path().join("dcgan/samples-idx3-ubyte"), 20);
    let changes = [("--langevin", ""), ("--langevin-steps", "3")];
    let (name, args) = tiny("mlp gan", &changes);
    let run = train(tmp.path(), name, &args, "langevin", "1");
    run.assert_ok("mlp with --langevin");
    assert!(
        run.stdout().contains("3 Langevin steps"),
        "{}",
        run.stdout()
    );
    assert_png(&tmp.path().join("langevin/samples.png"));
    assert_idx(&tmp.path().join("langevin/samples-idx3-ubyte"), 20);
    let (_, args) = tiny("mlp gan", &[("--loss", "wgan")]);
    train(tmp.path(), name, &args, "wgan", "1").assert_ok("wgan");
    let rows = assert_csv(&tmp.path().join("wgan/metrics.csv"));
    assert_eq!(rows.len(), 1);
}

#[test]
fn diffusion_mnist_runs_ddpm_and_vdm() {
    let pngs = [
        "samples.png",
        "forward.png",
        "reverse.png",
        "progression.png",
        "losses.png",
    ];
    smoke("ddpm", &pngs, Some(20));
    let tmp = workspace(200);
    let (name, args) = tiny("ddpm", &[("--model", "vdm")]);
    let run = train(tmp.path(), name, &args, "vdm", "1");
    run.assert_ok("vdm");
    assert!(run.stdout().contains("bits/dim"), "{}", run.stdout());
    assert_idx(&tmp.path().join("vdm/samples-idx3-ubyte"), 20);
}

#[test]
fn mnist_grid_runs() {
    let tmp = workspace(200);
    let args = [
        "--data-dir",
        "data",
        "--no-download",
        "--split",
        "test",
        "--output",
        "grid.png",
    ];
    run_in(tmp.path(), "mnist_grid", &args).assert_ok("mnist_grid");
    assert_png(&tmp.path().join("grid.png"));
}

#[test]
fn lecture_programs_run() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "rbm_ising",
            &[
                "--side",
                "4",
                "--samples",
                "200",
                "--burn-in",
                "10",
                "--epochs",
                "2",
                "--hidden",
                "4",
            ],
            &[
                "energy_histogram.png",
                "magnetisation_histogram.png",
                "metropolis_samples.png",
                "rbm_samples.png",
            ],
        ),
        ("ffnn_two_inputs", &["--epochs", "50"], &["cost.png"]),
        (
            "ffnn_grid_search",
            &["--n", "50", "--epochs", "2"],
            &["grid_search.png"],
        ),
        (
            "ffnn_universal_approximation",
            &["--n", "50", "--epochs", "20", "--max-width", "4"],
            &["error_vs_width.png", "fits.png"],
        ),
        (
            "regression_lasso_path",
            &["--n", "50", "--lambdas", "5", "--folds", "3"],
            &["lasso_path.png", "lasso_cv.png"],
        ),
        (
            "regression_optimizers",
            &["--n", "50", "--iterations", "20"],
            &["optimizers.png"],
        ),
        (
            "regression_polynomial",
            &["--n", "50", "--max-degree", "5", "--bootstraps", "10"],
            &["mse_vs_degree.png", "bias_variance.png"],
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (name, args, pngs) in cases {
        let mut all = vec!["--output-dir", name];
        all.extend(args.iter());
        run_in(tmp.path(), name, &all).assert_ok(name);
        for png in *pngs {
            assert_png(&tmp.path().join(name).join(png));
        }
    }
    let run = run_in(tmp.path(), "ffnn_perceptron", &["--epochs", "100"]);
    run.assert_ok("ffnn_perceptron");
    assert!(run.stdout().contains("w = "), "{}", run.stdout());
}

/// metrics.csv without its wall-clock column, and the samples' bytes.
fn numbers_of(dir: &Path) -> (String, Option<Vec<u8>>) {
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| header[i] != "seconds")
        .collect();
    let csv = lines
        .iter()
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            keep.iter()
                .map(|&i| fields[i])
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n");
    (csv, std::fs::read(dir.join("samples-idx3-ubyte")).ok())
}

#[test]
fn the_same_seed_gives_the_same_numbers() {
    // NdArray for the dense models; Flex for the convolutional ones (NdArray's convolutions
    // would take minutes). Every column of metrics.csv but `seconds`, and the samples byte
    // for byte.
    let tmp = workspace(200);
    for (label, backend) in [
        ("mlp classifier", "ndarray"),
        ("vae", "ndarray"),
        ("rbm", "ndarray"),
        ("mlp gan", "ndarray"),
        ("ebm", "flex"),
        ("ddpm", "flex"),
    ] {
        let (name, args) = tiny(label, &[("--backend", backend)]);
        let [a, b, c] = ["a", "b", "c"].map(|out| {
            let seed = if out == "c" { "2" } else { "1" };
            train(tmp.path(), name, &args, &format!("{label}-{out}"), seed).assert_ok(label);
            numbers_of(&tmp.path().join(format!("{label}-{out}")))
        });
        assert_eq!(
            a, b,
            "{label} on {backend}: seed 1 twice gave different numbers"
        );
        assert_ne!(
            a, c,
            "{label} on {backend}: seeds 1 and 2 gave the same numbers"
        );
    }
}

// ---- bad input and faults (docs/robustness.md) ----

/// The MNIST training programs (the first tiny budget of each).
const TRAINERS: [&str; 6] = ["mlp classifier", "vae", "rbm", "ebm", "mlp gan", "ddpm"];

/// Every data-reading program on `data` (a directory under `tmp`) must refuse with an error
/// naming `names`, and leave no output behind.
fn assert_data_refused(tmp: &Path, data: &str, names: &[&str], what: &str) {
    for label in TRAINERS {
        let (name, args) = tiny(label, &[]);
        let mut all = vec!["--data-dir", data, "--no-download", "--output-dir", "out"];
        all.extend(args);
        run_in(tmp, name, &all).assert_refused(&format!("{label} with {what}"), names);
        assert!(
            !tmp.join("out").exists(),
            "{label} with {what} wrote output"
        );
    }
    let args = ["--data-dir", data, "--no-download", "--output", "grid.png"];
    run_in(tmp, "mnist_grid", &args).assert_refused(&format!("mnist_grid with {what}"), names);
    assert!(!tmp.join("grid.png").exists());
}

#[test]
fn missing_or_empty_data_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    assert_data_refused(
        tmp.path(),
        "nowhere",
        &["nowhere", "t10k-images-idx3-ubyte"],
        "a missing data directory",
    );
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    assert_data_refused(
        tmp.path(),
        "empty",
        &["empty", "t10k-images-idx3-ubyte"],
        "an empty data directory",
    );
}

#[test]
fn truncated_or_foreign_data_files_are_refused() {
    let tmp = workspace(200);
    let images = "t10k-images-idx3-ubyte.gz";
    let bytes = std::fs::read(tmp.path().join("data").join(images)).unwrap();
    // Truncated: half of the gzip stream.
    write_digits(&tmp.path().join("cut"), 200);
    std::fs::write(
        tmp.path().join("cut").join(images),
        &bytes[..bytes.len() / 2],
    )
    .unwrap();
    assert_data_refused(tmp.path(), "cut", &["cut", images], "a truncated file");
    // Foreign: a text file under the images' name.
    write_digits(&tmp.path().join("text"), 200);
    std::fs::write(tmp.path().join("text").join(images), b"not an IDX file\n").unwrap();
    assert_data_refused(tmp.path(), "text", &["text", images], "a non-IDX file");
    // IDX of the wrong kind: the labels file under the images' name.
    write_digits(&tmp.path().join("swap"), 200);
    let labels = std::fs::read(tmp.path().join("data/t10k-labels-idx1-ubyte.gz")).unwrap();
    std::fs::write(tmp.path().join("swap").join(images), labels).unwrap();
    assert_data_refused(
        tmp.path(),
        "swap",
        &["swap", images, "magic"],
        "a labels file",
    );
}

#[test]
fn fewer_digits_than_a_batch_or_a_grid_still_run() {
    // 5 digits: 4 to train on, 1 to test, fewer than every batch and sample grid.
    let tmp = workspace(5);
    for label in TRAINERS {
        let (name, args) = tiny(label, &[]);
        train(tmp.path(), name, &args, label, "1").assert_ok(&format!("{label} on 5 digits"));
        assert_csv(&tmp.path().join(label).join("metrics.csv"));
    }
    let (name, args) = tiny("rbm", &[("--dbn-hidden", "8"), ("--ais-runs", "0")]);
    train(tmp.path(), name, &args, "dbn", "1").assert_ok("dbn on 5 digits");
    // A grid of 10 per class cannot be drawn from 5 digits: the flag is named.
    let args = [
        "--data-dir",
        "data",
        "--no-download",
        "--output",
        "grid.png",
    ];
    run_in(tmp.path(), "mnist_grid", &args)
        .assert_refused("mnist_grid on 5 digits", &["--per-class"]);
    assert!(!tmp.path().join("grid.png").exists());
}

#[test]
fn an_unwritable_output_directory_is_refused() {
    // A path under a regular file cannot be created (by root either).
    let tmp = workspace(200);
    std::fs::write(tmp.path().join("file"), b"").unwrap();
    for label in TRAINERS {
        let (name, args) = tiny(label, &[]);
        train(tmp.path(), name, &args, "file/out", "1")
            .assert_refused(&format!("{label} into file/out"), &["file/out"]);
    }
}

#[cfg(unix)]
#[test]
fn a_full_disk_leaves_no_partial_file() {
    // `ulimit -f` caps every file at 32 KiB: the checkpoint's weights cannot be written, as on
    // a full disk (EFBIG instead of ENOSPC; SIGXFSZ ignored so the write fails instead).
    let tmp = workspace(200);
    for label in ["vae", "mlp gan"] {
        let (name, args) = tiny(label, &[]);
        let mut all = vec!["-c", "ulimit -f 64; trap '' XFSZ; exec \"$0\" \"$@\""];
        let exe = program(name);
        all.push(exe.to_str().unwrap());
        all.extend(["--data-dir", "data", "--no-download", "--output-dir", "out"]);
        all.extend(args);
        let output = command(tmp.path(), "sh").args(&all).output().unwrap();
        let run = Run { output };
        run.assert_refused(
            &format!("{label} on a full disk"),
            &["out/checkpoints", ".mpk"],
        );
        let out = tmp.path().join("out");
        assert_no_temp_files(&out);
        assert!(!out.join("checkpoints/epoch-0001").exists());
        assert!(!out.join("metrics.csv").exists());
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn a_corrupted_or_foreign_checkpoint_is_refused_on_resume() {
    let tmp = workspace(200);
    let (vae, args) = tiny("vae", &[]);
    train(tmp.path(), vae, &args, "vae", "1").assert_ok("vae");
    let ckpt = tmp.path().join("vae/checkpoints/epoch-0001");
    let model = ckpt.join("model.mpk");
    let good = std::fs::read(&model).unwrap();
    // Corrupted: the weights file cut in half.
    std::fs::write(&model, &good[..good.len() / 2]).unwrap();
    let (_, args) = tiny("vae", &[("--resume", ""), ("--epochs", "2")]);
    train(tmp.path(), vae, &args, "vae", "1")
        .assert_refused("resume from a cut checkpoint", &["model.mpk"]);
    assert!(ckpt.exists(), "the refused resume removed the checkpoint");
    // Corrupted history.
    std::fs::write(&model, &good).unwrap();
    let history = std::fs::read(ckpt.join("history.json")).unwrap();
    std::fs::write(ckpt.join("history.json"), b"{ not json").unwrap();
    train(tmp.path(), vae, &args, "vae", "1")
        .assert_refused("resume from a bad history", &["history.json"]);
    // Foreign: a GAN's run directory resumed by the VAE.
    let (gan, gan_args) = tiny("mlp gan", &[]);
    train(tmp.path(), gan, &gan_args, "gan", "1").assert_ok("gan");
    train(tmp.path(), vae, &args, "gan", "1")
        .assert_refused("vae resuming a gan", &["config.json"]);
    std::fs::write(ckpt.join("history.json"), history).unwrap();
    // Foreign weights: the GAN's generator where the VAE's model belongs (same config).
    std::fs::copy(
        tmp.path().join("gan/checkpoints/epoch-0001/generator.mpk"),
        &model,
    )
    .unwrap();
    train(tmp.path(), vae, &args, "vae", "1")
        .assert_refused("vae loading a generator", &["model.mpk"]);
}

#[test]
fn flags_out_of_range_are_refused_before_anything_is_written() {
    let tmp = workspace(200);
    for label in TRAINERS {
        for (flag, bad) in [("--epochs", "0"), ("--batch-size", "0"), ("--lr", "0")] {
            let (name, args) = tiny(label, &[(flag, bad)]);
            train(tmp.path(), name, &args, "out", "1")
                .assert_refused(&format!("{label} with {flag} {bad}"), &[flag]);
            assert!(
                !tmp.path().join("out").exists(),
                "{label} with {flag} {bad} wrote output"
            );
        }
    }
    for (label, flag, bad) in [
        ("vae", "--latent", "0"),
        ("mlp gan", "--latent", "0"),
        ("mlp gan", "--real-label", "0.4"),
        ("mlp gan", "--ema-decay", "1"),
        ("mlp gan", "--discriminator-learning-rate", "0"),
        ("ddpm", "--ema-decay", "1"),
        ("ddpm", "--snr-gamma", "0"),
        ("rbm", "--hidden", "0"),
        ("ddpm", "--timesteps", "1"),
        ("ddpm", "--steps", "0"),
        ("ebm", "--sgld-steps", "0"),
        ("mlp gan", "--langevin-step-size", "0"),
        ("mlp gan", "--langevin-beta", "nan"),
    ] {
        let (name, args) = tiny(label, &[(flag, bad)]);
        train(tmp.path(), name, &args, "out", "1")
            .assert_refused(&format!("{label} with {flag} {bad}"), &[flag]);
        assert!(
            !tmp.path().join("out").exists(),
            "{label} with {flag} {bad} wrote output"
        );
    }
    let (name, args) = tiny("ddpm", &[("--model", "vdm"), ("--snr-gamma", "5")]);
    train(tmp.path(), name, &args, "out", "1")
        .assert_refused("vdm with --snr-gamma", &["--snr-gamma"]);
    let (name, args) = tiny("mlp gan", &[("--loss", "wgan"), ("--rejection", "")]);
    train(tmp.path(), name, &args, "out", "1")
        .assert_refused("wgan with --rejection", &["--rejection"]);
    let (name, args) = tiny("mlp gan", &[("--loss", "wgan"), ("--langevin", "")]);
    train(tmp.path(), name, &args, "out", "1")
        .assert_refused("wgan with --langevin", &["--langevin"]);
    let args = ["--data-dir", "data", "--no-download", "--per-class", "0"];
    run_in(tmp.path(), "mnist_grid", &args).assert_refused("mnist_grid", &["--per-class"]);
}

#[test]
fn a_nan_mid_training_stops_and_keeps_the_last_good_checkpoint() {
    // 160 training digits: the VAE takes 2 steps an epoch (batch 128) and the GAN 20 (batch
    // 8); the NaN is injected into the first step of epoch 2.
    let tmp = workspace(200);
    for (label, step) in [("vae", "3"), ("mlp gan", "21")] {
        let (name, args) = tiny(label, &[("--epochs", "2")]);
        let mut all = vec!["--data-dir", "data", "--no-download", "--output-dir", "out"];
        all.extend(args);
        let output = command(tmp.path(), program(name))
            .args(&all)
            .env("GDL_INJECT_NAN_AT_STEP", step)
            .output()
            .unwrap();
        let run = Run { output };
        run.assert_refused(
            &format!("{label} with a NaN at step {step}"),
            &["non-finite", step],
        );
        let out = tmp.path().join("out");
        assert!(
            out.join("checkpoints/epoch-0001").is_dir(),
            "{label}: epoch 1's checkpoint is gone"
        );
        assert!(!out.join("checkpoints/epoch-0002").exists());
        assert_eq!(assert_csv(&out.join("metrics.csv")).len(), 1, "{label}");
        assert_no_temp_files(&out);
        std::fs::remove_dir_all(&out).unwrap();
    }
}
