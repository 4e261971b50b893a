//! The lecture's test function and noisy samples of it.

use gdl_core::seed::{host_rng, standard_normal};
use rand::Rng;

/// f(x₀, x₁) = x₀² + 3x₀x₁ + x₁² + 5, the lecture's two-variable example.
pub fn lecture_function(x0: f64, x1: f64) -> f64 {
    x0 * x0 + 3.0 * x0 * x1 + x1 * x1 + 5.0
}

/// `n` points x uniform in [0, 1]² and targets y = f(x) + σε, ε ~ N(0, 1), from `seed`.
pub fn sample_lecture_function(n: usize, sigma: f64, seed: u64) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut rng = host_rng(seed);
    let inputs: Vec<Vec<f64>> = (0..n)
        .map(|_| vec![rng.random::<f64>(), rng.random::<f64>()])
        .collect();
    let y = inputs
        .iter()
        .map(|x| lecture_function(x[0], x[1]) + sigma * standard_normal(&mut rng))
        .collect();
    (inputs, y)
}

/// A seeded split of 0..n into (train, test) indices with `test_fraction` of the points in
/// the test part (at least one in each part when n >= 2).
pub fn train_test_split(n: usize, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    use rand::seq::SliceRandom;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut host_rng(seed));
    let n_test = ((n as f64 * test_fraction).round() as usize).clamp(1.min(n), n.saturating_sub(1));
    let test = order[..n_test].to_vec();
    (order[n_test..].to_vec(), test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noiseless_samples_lie_on_the_function() {
        let _serial = gdl_core::seed::serial();
        let (x, y) = sample_lecture_function(5, 0.0, 1);
        for (xi, yi) in x.iter().zip(&y) {
            assert!((0.0..1.0).contains(&xi[0]) && (0.0..1.0).contains(&xi[1]));
            assert_eq!(*yi, lecture_function(xi[0], xi[1]));
        }
        assert_eq!(lecture_function(1.0, 2.0), 1.0 + 6.0 + 4.0 + 5.0);
    }

    #[test]
    fn split_is_a_seeded_partition() {
        let _serial = gdl_core::seed::serial();
        let (train, test) = train_test_split(10, 0.2, 3);
        assert_eq!((train.len(), test.len()), (8, 2));
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(train_test_split(10, 0.2, 3), (train, test));
    }
}
