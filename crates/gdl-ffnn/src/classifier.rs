//! MNIST classifiers trained with Burn's autodiff: the MLP 784-512-256-10 and the small CNN of
//! PyTorch's MNIST example (conv 32 3x3, conv 64 3x3, max-pool 2, dropout 0.25, fc 128,
//! dropout 0.5, fc 10). Both expose their penultimate-layer features ([`Classifier::features`]):
//! later crates score generated digits by the Fréchet distance between such features.
//!
//! The loss is the categorical cross-entropy of the softmax of the logits,
//! C = −(1/N) Σ_i log softmax(z_i)_{y_i}, computed with log-softmax for stability.

use burn::config::Config;
use burn::module::{AutodiffModule, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor};
use gdl_core::adam::{adam, Adam};
use gdl_core::conv::Convolution;
use gdl_core::linear::Affine;
use gdl_core::random::dropout;
use gdl_core::run::{load_trained, save_trained};
use gdl_core::run_dir::RunDir;
use gdl_core::train::{fit, EpochReport, Figures, FitOptions, StepFigures, StepInfo, TrainStep};

use gdl_mnist::{MnistBatch, MnistData, MnistLoader, CLASSES, PIXELS};
use std::path::Path;

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
#[derive(Config, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
        relu(self.fc2.apply(relu(self.fc1.apply(x)))) // [N, 256]
    }
    fn head(&self, features: Tensor<B, 2>) -> Tensor<B, 2> {
        self.fc3.apply(features)
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
        let x = relu(self.conv1.apply(normalize(images))); // [N, 32, 26, 26]
        let x = relu(self.conv2.apply(x)); // [N, 64, 24, 24]
        let x = dropout(&self.dropout1, self.pool.forward(x)); // [N, 64, 12, 12]
        let x: Tensor<B, 2> = x.flatten(1, 3); // [N, 9216]
        relu(self.fc1.apply(x)) // [N, 128]
    }
    fn head(&self, features: Tensor<B, 2>) -> Tensor<B, 2> {
        self.fc2.apply(dropout(&self.dropout2, features))
    }
}

/// C = −(1/N) Σ_i log softmax(z_i)_{y_i} for logits z [N, K] and labels y [N].
pub fn cross_entropy<B: Backend>(logits: Tensor<B, 2>, labels: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let log_p = log_softmax(logits, 1); // [N, K]
    log_p.gather(1, labels.unsqueeze_dim(1)).mean().neg()
}

/// How a classifier is trained: ADAM on mini-batches (saved as `config.json`).
#[derive(Config, Debug)]
pub struct ClassifierTraining {
    /// The network the program builds.
    #[config(default = "Architecture::Mlp")]
    pub architecture: Architecture,
    /// ADAM (Burn's defaults).
    #[config(default = "AdamConfig::new()")]
    pub optimizer: AdamConfig,
    /// Epochs.
    #[config(default = 3)]
    pub epochs: usize,
    /// Mini-batch size.
    #[config(default = 128)]
    pub batch_size: usize,
    /// ADAM's η.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// γ of the step decay η_e = η γ^(e − 1) in epoch e (1: a constant η).
    #[config(default = 1.0)]
    pub lr_decay: f64,
    /// Seed of the shuffles and of each epoch's backend RNG (dropout); seed the backend
    /// separately for the initial weights.
    #[config(default = 0)]
    pub seed: u64,
}

/// Accuracy, confusion matrix and predictions on a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Fraction classified correctly.
    pub accuracy: f64,
    /// confusion[true][predicted]
    pub confusion: [[usize; CLASSES]; CLASSES],
    /// The predicted class of each item.
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

/// A classifier in training: the model, ADAM's state, the config and the test digits.
pub struct ClassifierTrainer<'a, B: AutodiffBackend, M: AutodiffModule<B>> {
    /// The model.
    pub model: M,
    /// ADAM's state.
    pub optim: OptimizerAdaptor<Adam, M, B>,
    /// The config.
    pub cfg: &'a ClassifierTraining,
    /// Digits the accuracy is measured on after each epoch (none: no evaluation).
    pub test: Option<&'a MnistData>,
    device: B::Device,
}

impl<'a, B: AutodiffBackend, M: AutodiffModule<B>> ClassifierTrainer<'a, B, M> {
    /// Trains `model` with a fresh optimiser from `cfg`.
    pub fn new(
        model: M,
        cfg: &'a ClassifierTraining,
        test: Option<&'a MnistData>,
        device: &B::Device,
    ) -> Self {
        ClassifierTrainer {
            model: gdl_core::run::materialize(model),
            optim: adam(&cfg.optimizer),
            cfg,
            test,
            device: device.clone(),
        }
    }
}

impl<B, M> TrainStep<B> for ClassifierTrainer<'_, B, M>
where
    B: AutodiffBackend,
    M: Classifier<B> + AutodiffModule<B>,
    M::InnerModule: Classifier<B::InnerBackend>,
{
    type Batch = MnistBatch<B>;
    type Update = GradientsParams;

    /// Figure `loss`, the batch's cross-entropy.
    fn forward(
        &mut self,
        batch: MnistBatch<B>,
        _at: StepInfo,
    ) -> (StepFigures<B>, GradientsParams) {
        // 1. forward and loss
        let loss = cross_entropy(self.model.logits(batch.images), batch.labels);
        let figures = StepFigures::on_device([("loss", loss.clone().detach().reshape([1]))]);
        // 2. backward
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        (figures, grads)
    }

    /// 3. the ADAM step with η_e = η γ^(e − 1).
    fn apply(mut self, grads: GradientsParams, at: StepInfo) -> Self {
        let lr = self.cfg.learning_rate * self.cfg.lr_decay.powi(at.epoch as i32 - 1);
        self.model = self.optim.step(lr, self.model, grads);
        self
    }

    /// `test_accuracy` on the test digits.
    fn evaluate(&self, _epoch: usize) -> gdl_core::Result<Figures> {
        let Some(test) = self.test else {
            return Ok(Figures::default());
        };
        let eval = evaluate(&self.model.valid(), test, 500, &self.device);
        Ok(Figures::new([("test_accuracy", eval.accuracy)]))
    }

    fn save(&self, dir: &Path) -> gdl_core::Result<()> {
        save_trained(dir, &self.model, &self.optim)
    }

    fn load(mut self, dir: &Path, device: &B::Device) -> gdl_core::Result<Self> {
        (self.model, self.optim) = load_trained(dir, self.model, self.optim, device)?;
        Ok(self)
    }
}

/// Trains `model` with ADAM on `train` through the driver, evaluating on `test` after each
/// epoch and recording into `run` when given (resuming it when it was opened so); `on_epoch`
/// sees each report and the trainer. A NaN or infinite loss stops with an error naming the
/// step, before the epoch's checkpoint.
pub fn train_classifier<B, M>(
    model: M,
    train: &MnistData,
    test: &MnistData,
    cfg: &ClassifierTraining,
    run: Option<&RunDir>,
    device: &B::Device,
    on_epoch: impl FnMut(&EpochReport, &ClassifierTrainer<'_, B, M>) -> gdl_core::Result<()>,
) -> gdl_core::Result<(M, Vec<EpochReport>)>
where
    B: AutodiffBackend,
    M: Classifier<B> + AutodiffModule<B>,
    M::InnerModule: Classifier<B::InnerBackend>,
{
    let trainer = ClassifierTrainer::new(model, cfg, Some(test), device);
    let loader = MnistLoader::new(train, cfg.batch_size).shuffle(cfg.seed);
    let opts = FitOptions {
        epochs: cfg.epochs,
        seed: cfg.seed,
        run,
        progress: true,
    };
    let (trainer, history) = fit(trainer, &loader, &opts, device, on_epoch)?;
    Ok((trainer.model, history))
}
