//! Design matrices of polynomial features.
//!
//! For inputs x = (x_0, ..., x_{d-1}) and degree p, the columns are every monomial
//! x_0^{k_0} ··· x_{d-1}^{k_{d-1}} with 1 <= Σk <= p, in scikit-learn's `PolynomialFeatures`
//! order: by total degree, and within a degree by the combinations with replacement of the
//! variable indices in lexicographic order (x0², x0x1, x1², for two variables at degree 2),
//! preceded by the intercept column 1 when asked for.

use gdl_core::{Error, Result};

/// A dense row-major matrix of f64.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    /// Rows (data points).
    pub rows: usize,
    /// Columns (features).
    pub cols: usize,
    /// rows x cols values, row-major.
    pub data: Vec<f64>,
}

impl Matrix {
    /// A `rows` x `cols` matrix from row-major `data`; an error when the sizes disagree or a
    /// value is NaN or infinite (`what` names the matrix in the message).
    pub fn new(what: &str, rows: usize, cols: usize, data: Vec<f64>) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(Error::invalid(
                what,
                format!("{} values for a {rows} x {cols} matrix", data.len()),
            ));
        }
        let m = Matrix { rows, cols, data };
        m.check_finite(what)?;
        Ok(m)
    }

    /// A matrix with one row per slice; an error on ragged rows.
    pub fn from_rows(what: &str, rows: &[Vec<f64>]) -> Result<Self> {
        let cols = rows.first().map_or(0, Vec::len);
        if let Some(i) = rows.iter().position(|r| r.len() != cols) {
            return Err(Error::invalid(
                what,
                format!("row {i} has {} columns, row 0 has {cols}", rows[i].len()),
            ));
        }
        Matrix::new(what, rows.len(), cols, rows.concat())
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Column `j`, copied.
    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.rows)
            .map(|i| self.data[i * self.cols + j])
            .collect()
    }

    /// The rows at `indices`, in that order (repeats allowed, as in a bootstrap sample).
    pub fn select_rows(&self, indices: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Matrix {
            rows: indices.len(),
            cols: self.cols,
            data,
        }
    }

    /// An error naming `what` and the first (row, column) holding NaN or infinity.
    pub fn check_finite(&self, what: &str) -> Result<()> {
        match self.data.iter().position(|v| !v.is_finite()) {
            Some(k) => Err(Error::invalid(
                what,
                format!(
                    "row {}, column {} holds {}",
                    k / self.cols.max(1),
                    k % self.cols.max(1),
                    self.data[k]
                ),
            )),
            None => Ok(()),
        }
    }
}

/// Standardisation fitted on training data: x' = (x − mean) / std per column, with the
/// population standard deviation; a constant column (std 0) is only centred, as in
/// scikit-learn's `StandardScaler`.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column population standard deviations.
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Column means and standard deviations of `x`.
    pub fn fit(x: &Matrix) -> Result<Self> {
        if x.rows == 0 {
            return Err(Error::invalid("design matrix", "no rows to standardise"));
        }
        x.check_finite("design matrix")?;
        let n = x.rows as f64;
        let mean: Vec<f64> = (0..x.cols)
            .map(|j| x.column(j).iter().sum::<f64>() / n)
            .collect();
        let std = (0..x.cols)
            .map(|j| {
                let var = x
                    .column(j)
                    .iter()
                    .map(|v| (v - mean[j]).powi(2))
                    .sum::<f64>()
                    / n;
                if var > 0.0 {
                    var.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        Ok(Standardizer { mean, std })
    }

    /// Applies the fitted transform to `x` (training or test data).
    pub fn transform(&self, x: &Matrix) -> Result<Matrix> {
        if x.cols != self.mean.len() {
            return Err(Error::invalid(
                "design matrix",
                format!(
                    "{} columns, the standardiser was fitted on {}",
                    x.cols,
                    self.mean.len()
                ),
            ));
        }
        let mut out = x.clone();
        for row in out.data.chunks_mut(x.cols) {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (*v - self.mean[j]) / self.std[j];
            }
        }
        Ok(out)
    }
}

/// The monomials of `d` variables up to degree `p` in scikit-learn's order, each given as
/// the list of variable indices multiplied together (non-decreasing).
pub fn monomials(d: usize, p: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for degree in 1..=p {
        // Combinations with replacement of 0..d of size `degree`, lexicographic.
        let mut combo = vec![0usize; degree];
        loop {
            out.push(combo.clone());
            // Advance: the rightmost index that can grow grows; those after it copy it.
            let Some(k) = (0..degree).rev().find(|&k| combo[k] + 1 < d) else {
                break;
            };
            combo[k] += 1;
            for j in k + 1..degree {
                combo[j] = combo[k];
            }
        }
    }
    out
}

/// Names of the columns `monomials(d, p)` makes, as scikit-learn's `get_feature_names_out`
/// writes them: `x0`, `x0^2`, `x0 x1`, ...
pub fn monomial_names(d: usize, p: usize) -> Vec<String> {
    monomials(d, p)
        .iter()
        .map(|m| {
            let mut parts = Vec::new();
            let mut k = 0;
            while k < m.len() {
                let run = m[k..].iter().take_while(|&&v| v == m[k]).count();
                parts.push(match run {
                    1 => format!("x{}", m[k]),
                    r => format!("x{}^{r}", m[k]),
                });
                k += run;
            }
            parts.join(" ")
        })
        .collect()
}

/// The design matrix of `inputs` (one row of d variables per data point) with all monomials
/// up to `degree`, and a leading column of ones when `intercept`.
pub fn polynomial_features(inputs: &[Vec<f64>], degree: usize, intercept: bool) -> Result<Matrix> {
    let d = inputs.first().map_or(0, |r| r.len());
    if inputs.is_empty() || d == 0 {
        return Err(Error::invalid(
            "inputs",
            "need at least one data point with at least one variable",
        ));
    }
    if degree == 0 && !intercept {
        return Err(Error::invalid(
            "degree",
            "degree 0 without an intercept gives no columns",
        ));
    }
    if let Some((i, r)) = inputs.iter().enumerate().find(|(_, r)| r.len() != d) {
        return Err(Error::invalid(
            "inputs",
            format!("row {i} has {} variables, row 0 has {d}", r.len()),
        ));
    }
    if let Some(i) = inputs.iter().position(|r| r.iter().any(|v| !v.is_finite())) {
        return Err(Error::invalid(
            "inputs",
            format!("row {i} holds NaN or infinity"),
        ));
    }
    let terms = monomials(d, degree);
    let cols = terms.len() + intercept as usize;
    let mut data = Vec::with_capacity(inputs.len() * cols);
    for x in inputs {
        if intercept {
            data.push(1.0);
        }
        data.extend(
            terms
                .iter()
                .map(|t| t.iter().map(|&j| x[j]).product::<f64>()),
        );
    }
    Ok(Matrix {
        rows: inputs.len(),
        cols,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binom(n: usize, k: usize) -> usize {
        (1..=k).fold(1, |acc, i| acc * (n + 1 - i) / i)
    }

    #[test]
    fn sklearn_column_order_two_variables_degree_three() {
        // sklearn PolynomialFeatures(3).get_feature_names_out(): 1 x0 x1 x0^2 x0 x1 x1^2 x0^3 x0^2 x1 x0 x1^2 x1^3
        let m = monomials(2, 3);
        let expected: Vec<Vec<usize>> = vec![
            vec![0],
            vec![1],
            vec![0, 0],
            vec![0, 1],
            vec![1, 1],
            vec![0, 0, 0],
            vec![0, 0, 1],
            vec![0, 1, 1],
            vec![1, 1, 1],
        ];
        assert_eq!(m, expected);
        let x = polynomial_features(&[vec![2.0, 3.0]], 3, true).unwrap();
        assert_eq!(
            x.row(0),
            &[1.0, 2.0, 3.0, 4.0, 6.0, 9.0, 8.0, 12.0, 18.0, 27.0]
        );
    }

    #[test]
    fn names_follow_sklearn() {
        assert_eq!(
            monomial_names(2, 3),
            ["x0", "x1", "x0^2", "x0 x1", "x1^2", "x0^3", "x0^2 x1", "x0 x1^2", "x1^3"]
        );
    }

    #[test]
    fn column_count_is_binomial() {
        // C(d + p, p) columns with the intercept: degree 12 in 2 variables gives 91.
        for (d, p) in [(1, 5), (2, 12), (3, 4), (4, 3)] {
            let x = polynomial_features(&[vec![0.5; d]], p, true).unwrap();
            assert_eq!(x.cols, binom(d + p, p), "d={d} p={p}");
        }
    }

    #[test]
    fn standardiser_fits_train_and_applies_to_test() {
        let train = Matrix::from_rows("x", &[vec![1.0, 5.0], vec![3.0, 5.0]]).unwrap();
        let s = Standardizer::fit(&train).unwrap();
        assert_eq!(s.mean, vec![2.0, 5.0]);
        assert_eq!(s.std, vec![1.0, 1.0]);
        let test = Matrix::from_rows("x", &[vec![4.0, 7.0]]).unwrap();
        assert_eq!(s.transform(&test).unwrap().data, vec![2.0, 2.0]);
        let wide = Matrix::from_rows("x", &[vec![1.0, 2.0, 3.0]]).unwrap();
        assert!(s
            .transform(&wide)
            .unwrap_err()
            .to_string()
            .contains("3 columns"));
        let nan = Matrix::new("X", 1, 2, vec![1.0, f64::NAN]);
        assert!(nan.unwrap_err().to_string().contains("row 0, column 1"));
    }

    #[test]
    fn bad_input_is_named() {
        assert!(polynomial_features(&[vec![1.0]], 0, false)
            .unwrap_err()
            .to_string()
            .contains("degree"));
        assert!(polynomial_features(&[vec![1.0, 2.0], vec![1.0]], 2, true)
            .unwrap_err()
            .to_string()
            .contains("row 1"));
        assert!(polynomial_features(&[vec![f64::NAN]], 2, true)
            .unwrap_err()
            .to_string()
            .contains("NaN"));
        assert!(polynomial_features(&[], 2, true).is_err());
        assert_eq!(
            polynomial_features(&[vec![4.0]], 0, true).unwrap().data,
            vec![1.0]
        );
    }
}
