//! Scoring generated digits with a trained classifier, so that every generative family is
//! judged by one yardstick:
//!
//! * **MNIST-FID**: the Fréchet distance between Gaussians fitted to the 128-d penultimate
//!   features of the CNN ([`CnnClassifier`]) for the samples and for held-out real digits
//!   (`gdl_core::frechet`);
//! * **precision and recall** in feature space (Kynkäänniemi et al. 2019, k = 3): each feature
//!   vector of a set spans a ball reaching its k-th nearest neighbour in that set; precision is
//!   the fraction of samples inside the real digits' balls, recall the fraction of real digits
//!   inside the samples' balls;
//! * the **mean confidence** max_k p(k|x) of the classifier, and the **entropy of the predicted
//!   labels' histogram**, H = −Σ_k p_k ln p_k (ln 10 = 2.303 when all ten classes are equally
//!   frequent, 0 when every sample is one class: mode collapse as a number).

use crate::classifier::{
    train_classifier, Architecture, Classifier, ClassifierTraining, CnnClassifier,
};
use burn::module::AutodiffModule;
use burn::tensor::activation::softmax;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use gdl_core::frechet::GaussianFit;
use gdl_core::run_dir::RunDir;
use gdl_core::seed::{host_rng, seed_all};
use gdl_core::{Error, Result};
use gdl_mnist::idx::IdxImages;
use gdl_mnist::{MnistData, TrainTest, CLASSES, PIXELS, SIDE};
use nalgebra::DMatrix;
use rand::Rng;
use std::path::{Path, PathBuf};

/// k of the k-nearest-neighbour manifolds.
pub const NEIGHBOURS: usize = 3;
/// Images per forward pass of the scorer.
const BATCH: usize = 500;

/// The scores of one set of images.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// Images scored.
    pub n: usize,
    /// MNIST-FID against the held-out digits.
    pub fid: f64,
    /// Fraction of the images inside the held-out digits' feature manifold.
    pub precision: f64,
    /// Fraction of the held-out digits inside the images' feature manifold.
    pub recall: f64,
    /// Fraction of the held-out digits' feature balls holding at least one image.
    pub coverage: f64,
    /// Mean of max_k p(k|x).
    pub confidence: f64,
    /// H of the predicted labels' histogram, in nats (ln 10 = 2.303 at most).
    pub label_entropy: f64,
    /// How many images the classifier puts in each class.
    pub label_histogram: [usize; CLASSES],
}

impl Scores {
    /// The columns of [`Scores::row`].
    pub const COLUMNS: [&'static str; 7] = [
        "FID",
        "precision",
        "recall",
        "coverage",
        "confidence",
        "label entropy",
        "labels 0-9",
    ];

    /// The scores as table cells, in the order of [`Scores::COLUMNS`].
    pub fn row(&self) -> Vec<String> {
        let hist: Vec<String> = self.label_histogram.iter().map(|c| c.to_string()).collect();
        vec![
            format!("{:.2}", self.fid),
            format!("{:.3}", self.precision),
            format!("{:.3}", self.recall),
            format!("{:.3}", self.coverage),
            format!("{:.3}", self.confidence),
            format!("{:.3}", self.label_entropy),
            hist.join(" "),
        ]
    }
}

/// Feature vectors (rows of [`CnnClassifier`]'s 128 features) and class probabilities.
#[derive(Clone, Debug)]
struct Embedding {
    n: usize,
    dim: usize,
    features: Vec<f64>,
    probabilities: Vec<f64>,
}

/// The trained CNN and the held-out digits it scores against.
pub struct Scorer<B: Backend> {
    cnn: CnnClassifier<B>,
    reference: Embedding,
    reference_fit: GaussianFit,
    /// The CNN's accuracy on the held-out digits.
    pub accuracy: f64,
    device: B::Device,
}

/// The held-out digits' bytes as [`IdxImages`].
pub fn as_images(data: &MnistData) -> IdxImages {
    IdxImages {
        n: data.len(),
        rows: SIDE,
        cols: SIDE,
        pixels: data.images.clone(),
    }
}

/// The first `n` digits of `data` as images.
pub fn first_images(data: &MnistData, n: usize) -> IdxImages {
    let n = n.min(data.len());
    IdxImages {
        n,
        rows: SIDE,
        cols: SIDE,
        pixels: data.images[..n * PIXELS].to_vec(),
    }
}

/// `n` images of uniform noise, each pixel a byte drawn uniformly (seeded).
pub fn uniform_noise(n: usize, seed: u64) -> IdxImages {
    let mut rng = host_rng(seed);
    IdxImages {
        n,
        rows: SIDE,
        cols: SIDE,
        pixels: (0..n * PIXELS).map(|_| rng.random::<u8>()).collect(),
    }
}

impl<B: Backend> Scorer<B> {
    /// A scorer from a trained CNN, scoring against `held_out` (its accuracy is measured there).
    pub fn new(cnn: CnnClassifier<B>, held_out: &MnistData, device: &B::Device) -> Result<Self> {
        let reference = embed(&cnn, &as_images(held_out), device)?;
        let correct = predictions(&reference)
            .iter()
            .zip(&held_out.labels)
            .filter(|(p, l)| **p == **l as usize)
            .count();
        Ok(Scorer {
            cnn,
            reference_fit: GaussianFit::from_rows(&reference.features, reference.dim)?,
            reference,
            accuracy: correct as f64 / held_out.len().max(1) as f64,
            device: device.clone(),
        })
    }

    /// The scores of `images` against the held-out digits.
    pub fn score(&self, images: &IdxImages) -> Result<Scores> {
        let e = embed(&self.cnn, images, &self.device)?;
        let fit = GaussianFit::from_rows(&e.features, e.dim)?;
        let fid = fit.frechet_distance(&self.reference_fit)?;
        let pr = precision_recall(&self.reference.features, &e.features, e.dim, NEIGHBOURS)?;
        let mut label_histogram = [0usize; CLASSES];
        for k in predictions(&e) {
            label_histogram[k] += 1;
        }
        let confidence = e
            .probabilities
            .chunks(CLASSES)
            .map(|p| p.iter().cloned().fold(0.0, f64::max))
            .sum::<f64>()
            / e.n as f64;
        Ok(Scores {
            n: e.n,
            fid,
            precision: pr.precision,
            recall: pr.recall,
            coverage: pr.coverage,
            confidence,
            label_entropy: label_entropy(&label_histogram),
            label_histogram,
        })
    }
}

/// Features and class probabilities of 28 x 28 byte images.
fn embed<B: Backend>(
    cnn: &CnnClassifier<B>,
    images: &IdxImages,
    device: &B::Device,
) -> Result<Embedding> {
    if (images.rows, images.cols) != (SIDE, SIDE) {
        return Err(Error::invalid(
            "images",
            format!(
                "{}x{}, the scorer takes {SIDE}x{SIDE}",
                images.rows, images.cols
            ),
        ));
    }
    if images.n < 2 {
        return Err(Error::invalid(
            "images",
            format!("{} to score; need at least 2", images.n),
        ));
    }
    let mut features = Vec::with_capacity(images.n * 128);
    let mut probabilities = Vec::with_capacity(images.n * CLASSES);
    let mut dim = 0;
    for chunk in images.pixels.chunks(BATCH * PIXELS) {
        let n = chunk.len() / PIXELS;
        let x: Vec<f32> = chunk.iter().map(|&b| b as f32 / 255.0).collect();
        let x = Tensor::<B, 4>::from_data(TensorData::new(x, [n, 1, SIDE, SIDE]), device);
        let f = cnn.features(x);
        dim = f.dims()[1];
        let p = softmax(cnn.head(f.clone()), 1);
        features.extend(gdl_core::tensor::to_f64(f));
        probabilities.extend(gdl_core::tensor::to_f64(p));
    }
    Ok(Embedding {
        n: images.n,
        dim,
        features,
        probabilities,
    })
}

/// argmax_k p(k|x) of every image.
fn predictions(e: &Embedding) -> Vec<usize> {
    e.probabilities
        .chunks(CLASSES)
        .map(|p| {
            p.iter()
                .enumerate()
                .fold(
                    (0, f64::MIN),
                    |best, (k, &v)| if v > best.1 { (k, v) } else { best },
                )
                .0
        })
        .collect()
}

/// H = −Σ_k p_k ln p_k of a histogram's frequencies p_k = count_k / total (0 ln 0 = 0).
pub fn label_entropy(histogram: &[usize]) -> f64 {
    let total: usize = histogram.iter().sum();
    if total == 0 {
        return 0.0;
    }
    histogram
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            // −p ln p written as p ln(1/p): +0 (not −0) for a single class
            let p = c as f64 / total as f64;
            p * (1.0 / p).ln()
        })
        .sum()
}

/// Squared Euclidean distances between the rows of a [n, d] and b [m, d]:
/// |a_i|² + |b_j|² − 2 a_i·b_j, [n, m].
fn squared_distances(a: &DMatrix<f64>, b: &DMatrix<f64>) -> DMatrix<f64> {
    let na: Vec<f64> = a.row_iter().map(|r| r.norm_squared()).collect();
    let nb: Vec<f64> = b.row_iter().map(|r| r.norm_squared()).collect();
    let mut d = a * b.transpose() * -2.0;
    for i in 0..d.nrows() {
        for j in 0..d.ncols() {
            d[(i, j)] = (d[(i, j)] + na[i] + nb[j]).max(0.0);
        }
    }
    d
}

/// The squared radius of each row's ball: its squared distance to its k-th nearest other row.
fn kth_neighbour_radii(within: &DMatrix<f64>, k: usize) -> Vec<f64> {
    (0..within.nrows())
        .map(|i| {
            let mut row: Vec<f64> = (0..within.ncols())
                .filter(|&j| j != i)
                .map(|j| within[(i, j)])
                .collect();
            let k = k.min(row.len()).max(1) - 1;
            *row.select_nth_unstable_by(k, f64::total_cmp).1
        })
        .collect()
}

/// Fraction of queries q (rows of `cross`, columns the manifold's points) with
/// |q − m_j|² ≤ r_j² for some j.
fn coverage(cross: &DMatrix<f64>, radii: &[f64]) -> f64 {
    let inside = cross
        .row_iter()
        .filter(|row| row.iter().zip(radii).any(|(d, r)| d <= r))
        .count();
    inside as f64 / cross.nrows().max(1) as f64
}

/// Precision, recall and coverage of generated feature rows against real ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrecisionRecall {
    /// Fraction of generated rows inside the union of the real rows' k-NN balls.
    pub precision: f64,
    /// Fraction of real rows inside the union of the generated rows' k-NN balls.
    pub recall: f64,
    /// Fraction of the real rows' balls holding at least one generated row (Naeem et al.
    /// 2020): unlike precision, not fooled by a few real outliers whose large balls swallow a
    /// cluster of bad samples.
    pub coverage: f64,
}

/// Improved precision and recall (Kynkäänniemi et al. 2019) of the generated feature rows
/// against the real ones, with k-nearest-neighbour balls (a row's ball reaches its k-th
/// nearest neighbour in its own set), and the coverage of Naeem et al. (2020) with the same
/// real balls.
pub fn precision_recall(
    real: &[f64],
    generated: &[f64],
    dim: usize,
    k: usize,
) -> Result<PrecisionRecall> {
    let rows = |v: &[f64], name: &str| -> Result<DMatrix<f64>> {
        if dim == 0 || !v.len().is_multiple_of(dim) || v.len() / dim <= k {
            return Err(Error::invalid(
                name,
                format!("{} values are not more than k = {k} rows of {dim}", v.len()),
            ));
        }
        Ok(DMatrix::from_row_slice(v.len() / dim, dim, v))
    };
    let (r, g) = (
        rows(real, "real features")?,
        rows(generated, "generated features")?,
    );
    let real_radii = kth_neighbour_radii(&squared_distances(&r, &r), k);
    let generated_radii = kth_neighbour_radii(&squared_distances(&g, &g), k);
    let g_to_r = squared_distances(&g, &r); // [n_g, n_r]
    let precision = coverage(&g_to_r, &real_radii);
    let recall = coverage(&g_to_r.transpose(), &generated_radii);
    // Coverage: the real balls that hold at least one sample.
    let covered = (0..g_to_r.ncols())
        .filter(|&j| g_to_r.column(j).iter().any(|&d| d <= real_radii[j]))
        .count();
    Ok(PrecisionRecall {
        precision,
        recall,
        coverage: covered as f64 / real_radii.len() as f64,
    })
}

/// How the scorer's CNN is trained: ADAM 1e-3, batch 64, `epochs` epochs, seed 0.
pub fn scorer_training(epochs: usize) -> ClassifierTraining {
    ClassifierTraining::new()
        .with_architecture(Architecture::Cnn)
        .with_epochs(epochs)
        .with_batch_size(64)
        // PyTorch's example decays η by 0.7 after every epoch (StepLR): the last epochs
        // settle instead of moving the held-out accuracy by a few tenths of a percent.
        .with_lr_decay(0.7)
}

/// The epochs of the scorer's CNN.
pub const SCORER_EPOCHS: usize = 8;

/// The run directory of the scorer trained on `data` with `cfg`, under `root`: named by a
/// SHA-256 of the digits, their labels and the config, so that another data set or config
/// trains another scorer, and the same ones load it.
pub fn scorer_dir(root: &Path, data: &TrainTest, cfg: &ClassifierTraining) -> PathBuf {
    let mut bytes = Vec::new();
    for d in [&data.train, &data.test] {
        bytes.extend_from_slice(&(d.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&d.images);
        bytes.extend_from_slice(&d.labels);
    }
    bytes.extend_from_slice(serde_json::to_string(cfg).unwrap_or_default().as_bytes());
    let hash = gdl_mnist::source::sha256_hex(&bytes);
    root.join(format!("scorer-{}", &hash[..16]))
}

/// The scorer for `data`: its CNN trained on `data.train` by `cfg` (the weights seeded by
/// `cfg.seed`), or loaded when the run directory under `root` already holds the trained
/// epochs; it scores against `data.test`.
pub fn train_scorer<AD: AutodiffBackend>(
    data: &TrainTest,
    cfg: &ClassifierTraining,
    root: &Path,
    device: &AD::Device,
) -> Result<Scorer<AD::InnerBackend>> {
    let dir = scorer_dir(root, data, cfg);
    let resume = dir.join("checkpoints").is_dir();
    let run = RunDir::open(&dir, cfg, resume)?;
    seed_all::<AD>(device, cfg.seed);
    let cnn = CnnClassifier::<AD>::new(device);
    let (cnn, _) = train_classifier(
        cnn,
        &data.train,
        &data.test,
        cfg,
        Some(&run),
        device,
        |r, _| {
            eprintln!(
                "scorer CNN epoch {}: held-out accuracy {:.4}",
                r.epoch,
                r.get("test_accuracy").unwrap_or(f64::NAN)
            );
            Ok(())
        },
    )?;
    Scorer::new(cnn.valid(), &data.test, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_entropy_of_balanced_and_collapsed_histograms() {
        assert!((label_entropy(&[7; 10]) - 10f64.ln()).abs() < 1e-12);
        assert_eq!(label_entropy(&[0, 0, 42, 0]), 0.0);
        assert!(label_entropy(&[0, 0, 42, 0]).is_sign_positive());
        // two equal classes: ln 2
        assert!((label_entropy(&[0, 5, 5]) - 2f64.ln()).abs() < 1e-12);
    }

    /// Points on a line, k = 1: real 0, 1, 2, 3 (each ball reaches its nearest neighbour, radius
    /// 1); generated 2.5, 10, 11 (radii 1, 1, 1 via 10 ↔ 11 and 2.5's nearest 10 at 7.5).
    #[test]
    fn precision_and_recall_on_points_by_hand() {
        let real = [0.0, 1.0, 2.0, 3.0];
        let generated = [2.5, 10.0, 11.0];
        let pr = precision_recall(&real, &generated, 1, 1).unwrap();
        // 2.5 is inside real balls (|2.5 − 2| = 0.5 ≤ 1); 10 and 11 are not: precision 1/3.
        assert!((pr.precision - 1.0 / 3.0).abs() < 1e-12, "{pr:?}");
        // Generated balls: 2.5 radius 7.5 covers 0..3 entirely: recall 1.
        assert!((pr.recall - 1.0).abs() < 1e-12, "{pr:?}");
        // Real balls holding a sample: those of 2 and 3 (|2.5 − 3| = 0.5 ≤ 1): coverage 2/4.
        assert!((pr.coverage - 0.5).abs() < 1e-12, "{pr:?}");
        // The same set against itself: all 1.
        let pr = precision_recall(&real, &real, 1, 1).unwrap();
        assert_eq!((pr.precision, pr.recall, pr.coverage), (1.0, 1.0, 1.0));
        // Too few rows for k.
        assert!(precision_recall(&real, &[1.0], 1, 1).is_err());
    }

    /// Squared distances through the Gram matrix equal the direct sums.
    #[test]
    fn squared_distances_match_direct_sums() {
        let a = DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0, -1.0, 0.5, 0.0]);
        let b = DMatrix::from_row_slice(3, 3, &[0.0, 0.0, 0.0, 1.0, 2.0, 3.5, 2.0, -1.0, 1.0]);
        let d = squared_distances(&a, &b);
        for i in 0..2 {
            for j in 0..3 {
                let direct: f64 = (0..3).map(|c| (a[(i, c)] - b[(j, c)]).powi(2)).sum();
                assert!((d[(i, j)] - direct).abs() < 1e-12);
            }
        }
        assert_eq!(kth_neighbour_radii(&squared_distances(&b, &b), 1).len(), 3);
    }
}
