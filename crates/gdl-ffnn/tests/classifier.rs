//! The MNIST classifiers on tiny synthetic digits, their loss against a hand computation, and
//! (with `GDL_DATA_DIR`) the MLP's accuracy on the real 8,000 / 2,000 split.

use burn::tensor::{Int, Tensor, TensorData};
use gdl_core::seed::seed_all;
use gdl_core::testing::{TestAutodiffBackend as AD, TestBackend as B};
use gdl_ffnn::classifier::{
    cross_entropy, evaluate, train_classifier, Classifier, ClassifierTraining, CnnClassifier,
    MlpClassifier,
};
use gdl_mnist::{DatasetKind, MnistData, PIXELS};

/// Class k lights up row band k of the image (3 rows each), with a little per-item noise.
fn bands(n: usize) -> MnistData {
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let images = labels
        .iter()
        .enumerate()
        .flat_map(|(i, &k)| {
            (0..PIXELS).map(move |p| {
                let row = p / 28;
                let on = row / 3 == k as usize;
                if on {
                    200 + (i * 7 + p) as u8 % 50
                } else {
                    ((i * 13 + p * 7) % 40) as u8
                }
            })
        })
        .collect();
    MnistData::new(DatasetKind::Mnist, images, labels).unwrap()
}

#[test]
fn cross_entropy_by_hand() {
    // logits (0, ln 3) for label 1: softmax = (1/4, 3/4), C = −ln(3/4).
    let d = Default::default();
    let logits = Tensor::<B, 2>::from_floats([[0.0, 3f32.ln()], [0.0, 0.0]], &d);
    let labels = Tensor::<B, 1, Int>::from_data(TensorData::new(vec![1i64, 0], [2]), &d);
    let c: f32 = cross_entropy(logits, labels).into_scalar();
    let expected = (-(0.75f64).ln() + 2f64.ln()) / 2.0;
    assert!((c as f64 - expected).abs() < 1e-6, "{c} vs {expected}");
}

#[test]
fn mlp_learns_synthetic_digits_and_exposes_features() {
    let (train, test) = (bands(300), bands(100));
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<AD>(&d, 1);
    let cfg = ClassifierTraining::new()
        .with_epochs(3)
        .with_batch_size(32)
        .with_learning_rate(1e-3)
        .with_seed(1);
    let mut seen = 0;
    let (model, reports) = train_classifier(
        MlpClassifier::<AD>::new(&d),
        &train,
        &test,
        &cfg,
        None,
        &d,
        |_, _| {
            seen += 1;
            Ok(())
        },
    )
    .unwrap();
    assert_eq!((seen, reports.len()), (3, 3));
    assert!(reports[2].get("train_loss") < reports[0].get("train_loss"));
    assert_eq!(reports[2].get("test_accuracy"), Some(1.0), "{reports:?}");
    let eval = evaluate(&burn::module::AutodiffModule::valid(&model), &test, 64, &d);
    assert_eq!(
        eval.confusion
            .iter()
            .map(|r| r.iter().sum::<usize>())
            .sum::<usize>(),
        100
    );
    let images = Tensor::<AD, 4>::zeros([5, 1, 28, 28], &d);
    assert_eq!(model.features(images).dims(), [5, 256]);
}

#[test]
fn cnn_trains_a_step_and_exposes_features() {
    let (train, test) = (bands(64), bands(20));
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<AD>(&d, 2);
    let cfg = ClassifierTraining::new()
        .with_epochs(1)
        .with_batch_size(32)
        .with_learning_rate(1e-3)
        .with_seed(2);
    let (model, reports) = train_classifier(
        CnnClassifier::<AD>::new(&d),
        &train,
        &test,
        &cfg,
        None,
        &d,
        |_, _| Ok(()),
    )
    .unwrap();
    assert!(reports[0].get("train_loss").unwrap().is_finite());
    assert_eq!(
        model
            .features(Tensor::<AD, 4>::zeros([3, 1, 28, 28], &d))
            .dims(),
        [3, 128]
    );
}

#[test]
fn mlp_reaches_96_percent_on_real_digits() {
    let Some(data) = gdl_mnist::testing::real_train_test("mlp_reaches_96_percent_on_real_digits")
    else {
        return;
    };
    let _serial = gdl_core::seed::serial();
    let d = Default::default();
    seed_all::<AD>(&d, 0);
    let cfg = ClassifierTraining::new()
        .with_epochs(10)
        .with_batch_size(128)
        .with_learning_rate(1e-3)
        .with_seed(0);
    let (_, reports) = train_classifier(
        MlpClassifier::<AD>::new(&d),
        &data.train,
        &data.test,
        &cfg,
        None,
        &d,
        |_, _| Ok(()),
    )
    .unwrap();
    let accuracy = reports.last().unwrap().get("test_accuracy").unwrap();
    println!(
        "{}: MLP test accuracy {:.2}%",
        data.description,
        100.0 * accuracy
    );
    // Measured (seed 0, NdArray, which is built without its SIMD kernels and so gives the same
    // numbers every run): 96.70%; seeds 1-3 gave 96.75, 96.45 and 96.95%. The bound is the
    // README's claim.
    assert!(accuracy >= 0.96, "MLP test accuracy {accuracy}");
}

/// The scorer on the real 8,000 / 2,000 split: its CNN reaches 98.5% on the held-out digits;
/// real training digits score far better than noise, a one-class set shows its collapse in the
/// label entropy and the recall, and shifted digits score worse than the real ones. Trained on
/// Flex (its convolutions are the fast ones) and cached under the test's target directory.
#[test]
fn scorer_separates_real_digits_from_noise_collapse_and_shifts() {
    use gdl_ffnn::score::{
        first_images, scorer_training, train_scorer, uniform_noise, SCORER_EPOCHS,
    };
    use gdl_mnist::idx::IdxImages;
    type F = gdl_core::backend::FlexAutodiff;
    let Some(data) = gdl_mnist::testing::real_train_test(
        "scorer_separates_real_digits_from_noise_collapse_and_shifts",
    ) else {
        return;
    };
    let _serial = gdl_core::seed::serial();
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("gdl-scorer");
    let d = Default::default();
    let scorer = train_scorer::<F>(&data, &scorer_training(SCORER_EPOCHS), &root, &d).unwrap();
    println!("scorer held-out accuracy {:.2}%", 100.0 * scorer.accuracy);
    assert!(
        scorer.accuracy >= 0.985,
        "scorer accuracy {}",
        scorer.accuracy
    );

    let real = scorer.score(&first_images(&data.train, 2000)).unwrap();
    let noise = scorer.score(&uniform_noise(2000, 0)).unwrap();
    // One class: the training digits labelled 1.
    let ones: Vec<usize> = (0..data.train.len())
        .filter(|&i| data.train.labels[i] == 1)
        .collect();
    let one_class = scorer
        .score(&first_images(&data.train.select(&ones).unwrap(), 2000))
        .unwrap();
    // The real digits moved 4 pixels to the right (zeros shifted in).
    let base = first_images(&data.train, 2000);
    let shifted = IdxImages {
        pixels: base
            .pixels
            .chunks(28)
            .flat_map(|row| {
                let mut r = vec![0u8; 4];
                r.extend_from_slice(&row[..24]);
                r
            })
            .collect(),
        ..base
    };
    let shifted = scorer.score(&shifted).unwrap();
    for (name, s) in [
        ("real", &real),
        ("noise", &noise),
        ("one class", &one_class),
        ("shifted", &shifted),
    ] {
        println!(
            "{name:>9}: FID {:.2} precision {:.3} recall {:.3} coverage {:.3} confidence {:.3} label entropy {:.3} {:?}",
            s.fid, s.precision, s.recall, s.coverage, s.confidence, s.label_entropy, s.label_histogram
        );
    }
    // Measured (seed 0, Flex, η decayed by 0.7 per epoch): accuracy 98.70% (98.90, 98.85, 98.80,
    // 98.70 in epochs 5-8); FID real 63.0, noise 1583, one class 1951, shifted 545; real
    // precision 0.695, recall 0.853, coverage 0.528; noise precision 1.000 (its features
    // collapse near the origin, inside the large k-NN balls of ~20 faint real digits), noise
    // recall 0 and coverage 0.007; one-class label entropy 0.000, recall 0.112. (With a constant
    // η the last epoch's accuracy moved between 98.45% and 98.90% with the dropout stream.)
    assert!(
        real.fid * 10.0 < noise.fid,
        "real {} vs noise {}",
        real.fid,
        noise.fid
    );
    assert!(real.precision > 0.6 && real.recall > 0.75, "{real:?}");
    assert!(noise.recall < 0.01 && noise.coverage < 0.05, "{noise:?}");
    assert!(real.coverage > 10.0 * noise.coverage, "{real:?}");
    assert!(real.label_entropy > 2.25, "{real:?}");
    assert!(one_class.label_entropy < 0.1, "{one_class:?}");
    assert!(
        one_class.recall < 0.3 && one_class.recall < real.recall / 2.0,
        "{one_class:?}"
    );
    assert!(
        shifted.fid > 4.0 * real.fid,
        "shifted {} vs real {}",
        shifted.fid,
        real.fid
    );
}
