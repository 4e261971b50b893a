//! MNIST classifiers trained with Burn's autodiff: the MLP 784-512-256-10 and the small CNN of
//! PyTorch's MNIST example (conv 32 3x3, conv 64 3x3, max-pool 2, dropout 0.25, fc 128,
//! dropout 0.5, fc 10). Both expose their penultimate-layer features ([`Classifier::features`]):
//! later crates score generated digits by the Fréchet distance between such features.
//!
//! The loss is the categorical cross-entropy of the softmax of the logits,
//! C = −(1/N) Σ_i log softmax(z_i)_{y_i}, computed with log-softmax for stability.

use burn::module::{AutodiffModule, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor};
use gdl_core::run::{check_finite, Progress};
use gdl_core::tensor::to_f64;
use gdl_core::Result;
use gdl_mnist::{MnistData, MnistLoader, CLASSES, PIXELS};

/// MNIST's pixel mean and standard deviation (of grey levels in [0, 1]), which PyTorch's MNIST
/// example subtracts and divides by; both classifiers do the same as their first step.
pub const MNIST_MEAN: f64 = 0.1307;
/// See [`MNIST_MEAN`].
pub const MNIST_STD: f64 = 0.3081;

/// x' = (x − mean) / std.
fn normalize<B: Backend>(images: Tensor<B, 4>) -> Tensor<B, 4> {
    images.sub_scalar(MNIST_MEAN).div_scalar(MNIST_STD)
}

/// A classifier of 1 x 28 x 28 images into 10 classes.
pub trait Classifier<B: Backend>: Module<B> {
    /// Penultimate-layer features [N, d] of images [N, 1, 28, 28] in [0, 1].
    fn features(&self, images: Tensor<B, 4>) -> Tensor<B, 2>;
    /// Logits [N, 10] from the features.
    fn head(&self, features: Tensor<B, 2>) -> Tensor<B, 2>;
    /// Logits [N, 10] of images [N, 1, 28, 28].
    fn logits(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.head(self.features(images))
    }
}

/// Which classifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// 784-512-256-10, ReLU.
    Mlp,
    /// PyTorch's MNIST example network.
    Cnn,
}

impl std::str::FromStr for Architecture {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "mlp" => Ok(Architecture::Mlp),
            "cnn" => Ok(Architecture::Cnn),
            _ => Err(format!("`{s}` is not `mlp` or `cnn`")),
        }
    }
}

impl Architecture {
    /// The name used on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Mlp => "mlp",
            Architecture::Cnn => "cnn",
        }
    }
}

/// MLP 784-512-256-10 with ReLU; features are the 256 hidden units.
#[derive(Module, Debug)]
pub struct MlpClassifier<B: Backend> {
    fc1: Linear<B>,
    fc2: Linear<B>,
    fc3: Linear<B>,
}

impl<B: Backend> MlpClassifier<B> {
    /// Burn's default initialisation (Kaiming-uniform, as PyTorch), from the seeded backend RNG.
    pub fn new(device: &B::Device) -> Self {
        MlpClassifier {
            fc1: LinearConfig::new(PIXELS, 512).init(device),
            fc2: LinearConfig::new(512, 256).init(device),
            fc3: LinearConfig::new(256, CLASSES).init(device),
        }
    }
}

impl<B: Backend> Classifier<B> for MlpClassifier<B> {
    fn features(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let x: Tensor<B, 2> = normalize(images).flatten(1, 3); // [N, 784]
        relu(self.fc2.forward(relu(self.fc1.forward(x)))) // [N, 256]
    }
    fn head(&self, features: Tensor<B, 2>) -> Tensor<B, 2> {
        self.fc3.forward(features)
    }
}

/// PyTorch's MNIST example CNN; features are the 128 units before the last dropout.
#[derive(Module, Debug)]
pub struct CnnClassifier<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
    pool: MaxPool2d,
    dropout1: Dropout,
    fc1: Linear<B>,
    dropout2: Dropout,
    fc2: Linear<B>,
}

impl<B: Backend> CnnClassifier<B> {
    /// Burn's default initialisation, from the seeded backend RNG.
    pub fn new(device: &B::Device) -> Self {
        CnnClassifier {
            conv1: Conv2dConfig::new([1, 32], [3, 3]).init(device),
            conv2: Conv2dConfig::new([32, 64], [3, 3]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            dropout1: DropoutConfig::new(0.25).init(),
            fc1: LinearConfig::new(9216, 128).init(device),
            dropout2: DropoutConfig::new(0.5).init(),
            fc2: LinearConfig::new(128, CLASSES).init(device),
        }
    }
}

impl<B: Backend> Classifier<B> for CnnClassifier<B> {
    fn features(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = relu(self.conv1.forward(normalize(images))); // [N, 32, 26, 26]
        let x = relu(self.conv2.forward(x)); // [N, 64, 24, 24]
        let x = self.dropout1.forward(self.pool.forward(x)); // [N, 64, 12, 12]
        let x: Tensor<B, 2> = x.flatten(1, 3); // [N, 9216]
        relu(self.fc1.forward(x)) // [N, 128]
    }
    fn head(&self, features: Tensor<B, 2>) -> Tensor<B, 2> {
        self.fc2.forward(self.dropout2.forward(features))
    }
}

/// C = −(1/N) Σ_i log softmax(z_i)_{y_i} for logits z [N, K] and labels y [N].
pub fn cross_entropy<B: Backend>(logits: Tensor<B, 2>, labels: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let log_p = log_softmax(logits, 1); // [N, K]
    log_p.gather(1, labels.unsqueeze_dim(1)).mean().neg()
}

/// How a classifier is trained: ADAM on mini-batches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassifierTraining {
    pub epochs: usize,
    pub batch_size: usize,
    /// ADAM's η.
    pub learning_rate: f64,
    /// Seed of the shuffles (seed the backend separately for the initial weights).
    pub seed: u64,
}

/// One epoch's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Accuracy on the test data after the epoch.
    pub test_accuracy: f64,
    pub seconds: f64,
}

/// Accuracy, confusion matrix and predictions on a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub accuracy: f64,
    /// confusion[true][predicted]
    pub confusion: [[usize; CLASSES]; CLASSES],
    pub predictions: Vec<u8>,
}

/// Classifies every item of `data` in batches of `batch_size`.
pub fn evaluate<B: Backend, M: Classifier<B>>(
    model: &M,
    data: &MnistData,
    batch_size: usize,
    device: &B::Device,
) -> Evaluation {
    let mut predictions = Vec::with_capacity(data.len());
    for batch in MnistLoader::new(data, batch_size).epoch::<B>(0, device) {
        let predicted = model.logits(batch.images).argmax(1); // [N, 1]
        predictions.extend(
            predicted
                .into_data()
                .convert::<i64>()
                .into_vec::<i64>()
                .expect("integer predictions")
                .into_iter()
                .map(|p| p as u8),
        );
    }
    let mut confusion = [[0usize; CLASSES]; CLASSES];
    for (&truth, &p) in data.labels.iter().zip(&predictions) {
        confusion[truth as usize][p as usize] += 1;
    }
    let correct = (0..CLASSES).map(|k| confusion[k][k]).sum::<usize>();
    Evaluation {
        accuracy: correct as f64 / data.len().max(1) as f64,
        confusion,
        predictions,
    }
}

/// Trains `model` with ADAM on `train`, evaluating on `test` after each epoch; `on_epoch` sees
/// each report and the model (to log or checkpoint). A NaN or infinite loss stops with an
/// error naming the step.
pub fn train_classifier<B, M>(
    mut model: M,
    train: &MnistData,
    test: &MnistData,
    cfg: &ClassifierTraining,
    device: &B::Device,
    mut on_epoch: impl FnMut(&EpochReport, &M) -> Result<()>,
) -> Result<(M, Vec<EpochReport>)>
where
    B: AutodiffBackend,
    M: Classifier<B> + AutodiffModule<B>,
    M::InnerModule: Classifier<B::InnerBackend>,
{
    let mut optim = AdamConfig::new().init::<B, M>();
    let loader = MnistLoader::new(train, cfg.batch_size).shuffle(cfg.seed);
    let mut reports = Vec::with_capacity(cfg.epochs);
    let mut step = 0;
    for epoch in 1..=cfg.epochs {
        let start = std::time::Instant::now();
        let progress = Progress::new(
            loader.num_batches() as u64,
            &format!("epoch {epoch}/{}", cfg.epochs),
        );
        let mut total = 0.0;
        for batch in loader.epoch::<B>(epoch as u64, device) {
            // 1. forward and loss
            let loss = cross_entropy(model.logits(batch.images), batch.labels);
            step += 1;
            let value = check_finite("loss", to_f64(loss.clone())[0], step)?;
            total += value;
            // 2. backward, 3. ADAM step
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(cfg.learning_rate, model, grads);
            progress.inc(1);
            progress.message(format!("loss {value:.4}"));
        }
        progress.finish();
        let eval = evaluate(&model.valid(), test, 500, device);
        let report = EpochReport {
            epoch,
            train_loss: total / loader.num_batches() as f64,
            test_accuracy: eval.accuracy,
            seconds: start.elapsed().as_secs_f64(),
        };
        on_epoch(&report, &model)?;
        reports.push(report);
    }
    Ok((model, reports))
}
