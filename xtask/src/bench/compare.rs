//! `cargo xtask bench --compare`: gdl's workloads beside the reference scripts in `bench/`
//! (PyTorch, scikit-learn), interleaved in one run, the best of a few rounds each, and the
//! ratio gdl / reference as a Markdown table. This machine's speed drifts from run to run;
//! only ratios measured in the same run mean anything. With a GPU backend (`--backend wgpu`
//! or `cuda`) the PyTorch scripts run with `--device cuda`, on the same NVIDIA GPU.

use super::{Workload, WORKLOADS};
use anyhow::{bail, Context};
use gdl::core::backend::BackendKind;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// A workload's reference: the script in `bench/` and the label its output line carries
/// (`<workload> <label> ms_per_step=<median> ...`; PyTorch's scripts add the device:
/// `torch-cpu`, `torch-cuda`).
struct Reference {
    workload: &'static str,
    script: &'static str,
    label: &'static str,
}

const REFERENCES: &[Reference] = &[
    Reference {
        workload: "regression",
        script: "regression_sklearn.py",
        label: "sklearn",
    },
    Reference {
        workload: "mlp",
        script: "ffnn_torch.py",
        label: "torch",
    },
    Reference {
        workload: "cnn",
        script: "ffnn_torch.py",
        label: "torch",
    },
    Reference {
        workload: "vae",
        script: "vae_torch.py",
        label: "torch",
    },
    Reference {
        workload: "rbm",
        script: "ebm_torch.py",
        label: "torch",
    },
    Reference {
        workload: "ebm",
        script: "ebm_torch.py",
        label: "torch",
    },
    Reference {
        workload: "dcgan",
        script: "dcgan_torch.py",
        label: "torch",
    },
    Reference {
        workload: "ddpm",
        script: "ddpm_torch.py",
        label: "torch",
    },
];

/// The median milliseconds the line `<workload> <label> ms_per_step=<x> ...` of a script's
/// output reports.
fn parse_ms(output: &str, workload: &str, label: &str) -> Option<f64> {
    output.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if words.next()? != workload || words.next()? != label {
            return None;
        }
        words.find_map(|w| w.strip_prefix("ms_per_step=")?.parse().ok())
    })
}

/// Where the references run beside gdl on `backend`: PyTorch on the CPU, or on CUDA when
/// gdl runs on a GPU.
fn reference_device(backend: BackendKind) -> &'static str {
    match backend {
        BackendKind::Wgpu | BackendKind::Cuda => "cuda",
        BackendKind::NdArray | BackendKind::Flex => "cpu",
    }
}

/// The label a reference's output line carries on `device`.
fn label_on(reference: &Reference, device: &str) -> String {
    match reference.label {
        "torch" => format!("torch-{device}"),
        other => other.to_string(),
    }
}

/// Runs `bench/<script> --device <device>` with `python3` and returns its standard output;
/// scikit-learn runs only on the CPU.
fn run_script(root: &Path, script: &str, device: &str) -> anyhow::Result<String> {
    let path = root.join("bench").join(script);
    if device != "cpu" && script.contains("sklearn") {
        bail!("{} runs on the CPU only", path.display());
    }
    let out = Command::new("python3")
        .arg(&path)
        .args(["--device", device])
        .output()
        .with_context(|| format!("running python3 {}", path.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed (it needs `pip install torch scikit-learn`): {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One row of the table: the best (smallest) median of each side over the rounds.
struct Row {
    workload: &'static Workload,
    reference: &'static Reference,
    gdl_ms: f64,
    /// Why the reference did not run, if it did not.
    reference_ms: Result<f64, String>,
}

/// Runs `rounds` interleaved rounds of the named workloads (all that have a reference when
/// empty) on `backend` and their reference scripts; prints the Markdown table.
pub fn run(names: &[String], backend: BackendKind, rounds: usize) -> anyhow::Result<()> {
    if rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    for n in names {
        if !REFERENCES.iter().any(|r| r.workload == n) {
            let known: Vec<_> = REFERENCES.iter().map(|r| r.workload).collect();
            bail!(
                "no reference script for `{n}`; --compare knows: {}",
                known.join(", ")
            );
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the workspace root")?;
    let busy = busy_cores();
    if let Some(load) = busy {
        eprintln!("{}", load_warning(load));
    }
    let mut rows: Vec<Row> = REFERENCES
        .iter()
        .filter(|r| names.is_empty() || names.iter().any(|n| n == r.workload))
        .map(|reference| Row {
            workload: WORKLOADS
                .iter()
                .find(|w| w.name == reference.workload)
                .expect("every reference names a workload"),
            reference,
            gdl_ms: f64::INFINITY,
            reference_ms: Ok(f64::INFINITY),
        })
        .collect();
    for round in 1..=rounds {
        // A script that serves two workloads (mlp and cnn, rbm and ebm) runs once a round;
        // one that fails (a missing Python package) leaves its rows without a reference.
        let mut outputs: HashMap<&str, Result<String, String>> = HashMap::new();
        let device = reference_device(backend);
        for row in &mut rows {
            let gdl_ms = (row.workload.run)(backend)?.ms_per_step;
            row.gdl_ms = row.gdl_ms.min(gdl_ms);
            let script = row.reference.script;
            let output = outputs
                .entry(script)
                .or_insert_with(|| run_script(root, script, device).map_err(|e| format!("{e:#}")));
            let (workload, label) = (row.workload.name, label_on(row.reference, device));
            let reference_ms = output.clone().and_then(|out| {
                parse_ms(&out, workload, &label).ok_or_else(|| {
                    format!("bench/{script} printed no line `{workload} {label} ms_per_step=...`")
                })
            });
            let shown = match &reference_ms {
                Ok(ms) => format!("{ms:.2} ms"),
                Err(e) => e.lines().next().unwrap_or_default().to_string(),
            };
            eprintln!("round {round}/{rounds}: {workload} gdl {gdl_ms:.2} ms, {label} {shown}");
            row.reference_ms = match (reference_ms, &row.reference_ms) {
                (Ok(ms), Ok(best)) => Ok(best.min(ms)),
                (Ok(_), Err(e)) => Err(e.clone()),
                (Err(e), _) => Err(e),
            };
        }
    }
    println!("| workload | gdl {} | reference | ratio |", backend.name());
    println!("|---|---|---|---|");
    for row in &rows {
        let (reference, ratio) = match &row.reference_ms {
            Ok(ms) => (
                format!("{ms:.1} ms ({})", row.reference.script),
                format!("{:.2}x", row.gdl_ms / ms),
            ),
            Err(e) => (
                format!("not run: {}", e.lines().next().unwrap_or_default()),
                "—".to_string(),
            ),
        };
        let (name, gdl_ms) = (row.workload.name, row.gdl_ms);
        println!("| {name} | {gdl_ms:.1} ms | {reference} | {ratio} |");
    }
    println!(
        "\n(best of {rounds} interleaved rounds; `cargo xtask bench --compare --backend {}`)",
        backend.name()
    );
    if let Some(load) = busy {
        println!("\n{}", load_warning(load));
    }
    Ok(())
}

/// The CPU load average of the last minute when it is at least half a core (Linux's
/// `/proc/loadavg`): other programs were running when the comparison began.
fn busy_cores() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    parse_load(&text).filter(|&load| load >= 0.5)
}

/// The first figure of `/proc/loadavg` (`0.68 1.59 1.91 1/234 5678`).
fn parse_load(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

fn load_warning(load: f64) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "warning: other programs kept {load:.1} of this machine's {cores} cores busy when the \
         comparison began (load average of the last minute); both sides run slower beside them, \
         PyTorch's spinning threads often far more than gdl, so these ratios are not the quiet \
         machine's"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_load_average_of_the_last_minute() {
        assert_eq!(parse_load("0.68 1.59 1.91 1/234 5678\n"), Some(0.68));
        assert_eq!(parse_load(""), None);
        assert!(
            load_warning(1.96).contains("kept 2.0 of"),
            "{}",
            load_warning(1.96)
        );
    }

    #[test]
    fn reads_the_line_of_the_workload_and_label() {
        let out = "rbm torch ms_per_step=1.8000 threads=2\nrbm sklearn ms_per_step=9.5\n\
                   dcgan torch-cpu ms_per_step=190.25 threads=2\n";
        assert_eq!(parse_ms(out, "rbm", "torch"), Some(1.8));
        assert_eq!(parse_ms(out, "rbm", "sklearn"), Some(9.5));
        assert_eq!(parse_ms(out, "dcgan", "torch-cpu"), Some(190.25));
        assert_eq!(parse_ms(out, "ebm", "torch"), None);
        assert_eq!(parse_ms("mlp torch threads=2", "mlp", "torch"), None);
    }

    #[test]
    fn on_a_gpu_backend_pytorch_runs_on_cuda_and_scikit_learn_not_at_all() {
        assert_eq!(reference_device(BackendKind::Flex), "cpu");
        assert_eq!(reference_device(BackendKind::Cuda), "cuda");
        assert_eq!(reference_device(BackendKind::Wgpu), "cuda");
        let find = |w: &str| REFERENCES.iter().find(|r| r.workload == w).unwrap();
        assert_eq!(label_on(find("dcgan"), "cuda"), "torch-cuda");
        assert_eq!(label_on(find("mlp"), "cpu"), "torch-cpu");
        assert_eq!(label_on(find("regression"), "cuda"), "sklearn");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let err = run_script(root, "regression_sklearn.py", "cuda").unwrap_err();
        assert!(err.to_string().contains("CPU only"), "{err}");
    }

    #[test]
    fn every_reference_names_a_workload_and_an_existing_script() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for r in REFERENCES {
            assert!(
                WORKLOADS.iter().any(|w| w.name == r.workload),
                "{}",
                r.workload
            );
            assert!(root.join("bench").join(r.script).is_file(), "{}", r.script);
        }
    }
}
