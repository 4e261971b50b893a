//! Workload `mnist-load`: decode the t10k IDX files (gunzip + parse) and turn one epoch into
//! shuffled batches of 128 on the backend's device. Reports the median ms per batch, the
//! decode time, and images per second for decode + a whole epoch.

use super::{median, time_ms, Report};
use gdl::burn::tensor::backend::{AutodiffBackend, Backend};
use gdl::core::backend::{run_on, BackendKind, BackendTask};
use gdl::mnist::{DataSource, DatasetKind, MnistData, MnistLoader, Split};

const BATCH: usize = 128;
const EPOCHS: u64 = 5;

struct LoadTask {
    dir: std::path::PathBuf,
}

impl BackendTask for LoadTask {
    type Output = anyhow::Result<Report>;

    fn run<B: AutodiffBackend>(self, device: &B::Device) -> anyhow::Result<Report> {
        // Warm-up: one decode and one epoch.
        let data = MnistData::read_split(DatasetKind::Mnist, Split::Test, &self.dir)?;
        one_epoch::<B>(&data, 0, device, &mut Vec::new());
        let (mut batch_ms, mut epoch_ms, mut decode_ms) = (Vec::new(), Vec::new(), Vec::new());
        for epoch in 1..=EPOCHS {
            let (data, d) =
                time_ms(|| MnistData::read_split(DatasetKind::Mnist, Split::Test, &self.dir));
            let data = data?;
            let ((), e) = time_ms(|| one_epoch::<B>(&data, epoch, device, &mut batch_ms));
            decode_ms.push(d);
            epoch_ms.push(d + e);
        }
        let n = MnistData::read_split(DatasetKind::Mnist, Split::Test, &self.dir)?.len() as f64;
        Ok(Report {
            ms_per_step: median(batch_ms.clone()),
            steps: batch_ms.len(),
            metrics: vec![
                ("decode_ms", median(decode_ms)),
                ("images_per_s", n / (median(epoch_ms) / 1e3)),
            ],
        })
    }
}

/// Batches one shuffled epoch, syncing the device after each batch so the time is real.
fn one_epoch<B: Backend>(
    data: &MnistData,
    epoch: u64,
    device: &B::Device,
    batch_ms: &mut Vec<f64>,
) {
    let loader = MnistLoader::new(data, BATCH).shuffle(0);
    let mut batches = loader.epoch::<B>(epoch, device);
    loop {
        let (next, ms) = time_ms(|| {
            let b = batches.next();
            if b.is_some() {
                let _ = B::sync(device);
            }
            b
        });
        match next {
            Some(_) => batch_ms.push(ms),
            None => break,
        }
    }
}

pub fn run(backend: BackendKind) -> anyhow::Result<Report> {
    let dir = DataSource::new(DatasetKind::Mnist).ensure()?;
    run_on(backend, LoadTask { dir })?
}
