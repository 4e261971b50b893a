//! Checks on the real MNIST test digits in `GDL_DATA_DIR` (skipped when unset, failing when
//! `GDL_REQUIRE_DATA=1`). The expected figures are those of the published t10k files.

use gdl_mnist::testing::real_data_dir;
use gdl_mnist::{DatasetKind, MnistData, MnistLoader, Split};

fn test_digits(name: &str) -> Option<MnistData> {
    let dir = real_data_dir(name)?;
    Some(
        MnistData::read_split(DatasetKind::Mnist, Split::Test, &dir)
            .expect("GDL_DATA_DIR holds the t10k files"),
    )
}

#[test]
fn ten_thousand_digits_with_published_label_counts() {
    let Some(d) = test_digits("ten_thousand_digits_with_published_label_counts") else {
        return;
    };
    assert_eq!(d.len(), 10_000);
    assert_eq!(
        d.label_counts(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    assert_eq!(&d.labels[..5], &[7, 2, 1, 0, 4]);
    assert_eq!(d.images.iter().min(), Some(&0));
    assert_eq!(d.images.iter().max(), Some(&255));
    // The first digit is a 7: ink (bright pixels) in the middle rows, none in the top rows.
    let first = d.image(0);
    assert!(first[..28 * 4].iter().all(|&p| p == 0));
    assert!(first.iter().filter(|&&p| p > 128).count() > 50);
}

#[test]
fn holdout_convention_on_real_digits() {
    let Some(tt) = gdl_mnist::testing::real_train_test("holdout_convention_on_real_digits") else {
        return;
    };
    // Only the 10,000 test digits: the 8,000/2,000 hold-out, in file order; all four files:
    // the standard 60,000/10,000 split.
    match tt.train.len() + tt.test.len() {
        10_000 => {
            assert_eq!((tt.train.len(), tt.test.len()), (8000, 2000));
            assert_eq!(&tt.train.labels[..5], &[7, 2, 1, 0, 4]);
            assert!(tt.description.contains("hold-out"), "{}", tt.description);
        }
        70_000 => assert_eq!((tt.train.len(), tt.test.len()), (60_000, 10_000)),
        n => panic!("{n} digits: neither the test files nor the full set"),
    }
    let loader = MnistLoader::new(&tt.test, 128).shuffle(1);
    let n: usize = loader
        .epoch::<gdl_core::backend::NdArray>(0, &Default::default())
        .map(|b| b.len())
        .sum();
    assert_eq!(n, tt.test.len());
}
