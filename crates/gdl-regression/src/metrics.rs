//! How a fit is judged: the mean squared error MSE = (1/n) Σ (y_i − ŷ_i)² and the coefficient
//! of determination R² = 1 − Σ (y_i − ŷ_i)² / Σ (y_i − ȳ)².

use gdl_core::{Error, Result};

fn check(y: &[f64], y_hat: &[f64]) -> Result<()> {
    if y.is_empty() || y.len() != y_hat.len() {
        return Err(Error::invalid(
            "predictions",
            format!(
                "{} targets and {} predictions (need equal, non-zero counts)",
                y.len(),
                y_hat.len()
            ),
        ));
    }
    Ok(())
}

/// MSE = (1/n) Σ (y_i − ŷ_i)².
pub fn mse(y: &[f64], y_hat: &[f64]) -> Result<f64> {
    check(y, y_hat)?;
    Ok(y.iter()
        .zip(y_hat)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / y.len() as f64)
}

/// R² = 1 − SS_res / SS_tot; an error when the targets are constant (SS_tot = 0).
pub fn r2(y: &[f64], y_hat: &[f64]) -> Result<f64> {
    check(y, y_hat)?;
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    if ss_tot == 0.0 {
        return Err(Error::invalid(
            "targets",
            "R² is undefined for constant targets",
        ));
    }
    let ss_res: f64 = y.iter().zip(y_hat).map(|(a, b)| (a - b).powi(2)).sum();
    Ok(1.0 - ss_res / ss_tot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        // Residuals (0, −1, 1): MSE = 2/3. Mean 2, SS_tot = 2, SS_res = 2: R² = 0.
        let (y, y_hat) = ([1.0, 2.0, 3.0], [1.0, 3.0, 2.0]);
        assert!((mse(&y, &y_hat).unwrap() - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(r2(&y, &y_hat).unwrap(), 0.0);
        // Predicting the mean gives R² = 0; a perfect fit 1.
        assert_eq!(r2(&y, &[2.0; 3]).unwrap(), 0.0);
        assert_eq!(r2(&y, &y).unwrap(), 1.0);
    }

    #[test]
    fn errors() {
        assert!(mse(&[1.0], &[]).is_err());
        assert!(r2(&[1.0, 1.0], &[1.0, 2.0])
            .unwrap_err()
            .to_string()
            .contains("constant"));
    }
}
