//! OLS, Ridge and Lasso against scikit-learn on the same data. The numbers come from
//! `tests/fixtures/make_sklearn_fixtures.py` (committed beside `sklearn_fits.json`).

use gdl_regression::lasso::Lasso;
use gdl_regression::{
    polynomial_features, Fit, LinearModel, Matrix, Ols, Ridge, Solver, Standardizer,
};
use serde_json::Value;

struct Fixture {
    json: Value,
    x: Matrix,
    y: Vec<f64>,
}

fn vec_of(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|e| e.as_f64().expect("a number"))
        .collect()
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/sklearn_fits.json");
    let json: Value = serde_json::from_str(text).unwrap();
    let inputs: Vec<Vec<f64>> = json["x"].as_array().unwrap().iter().map(vec_of).collect();
    let degree = json["degree"].as_u64().unwrap() as usize;
    let features = polynomial_features(&inputs, degree, false).unwrap();
    let scaler = Standardizer::fit(&features).unwrap();
    // Our standardiser equals scikit-learn's StandardScaler.
    assert_close(
        "scaler mean",
        &scaler.mean,
        &vec_of(&json["scaler_mean"]),
        1e-12,
    );
    assert_close(
        "scaler scale",
        &scaler.std,
        &vec_of(&json["scaler_scale"]),
        1e-12,
    );
    let x = scaler.transform(&features).unwrap();
    let y = vec_of(&json["y"]);
    Fixture { json, x, y }
}

/// max |a − b| <= tol · max |b| (relative in the max norm).
fn assert_close(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    let err = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        err <= tol * scale,
        "{what}: relative error {} > {tol}\n ours {a:?}\n ref  {b:?}",
        err / scale
    );
}

fn check_model(what: &str, m: &LinearModel, reference: &Value, tol: f64) {
    assert_close(what, &m.coef, &vec_of(&reference["coef"]), tol);
    let intercept = reference["intercept"].as_f64().unwrap();
    assert!(
        (m.intercept - intercept).abs() <= tol * intercept.abs(),
        "{what}: intercept {} vs {intercept}",
        m.intercept
    );
}

#[test]
fn ols_matches_linear_regression() {
    let _serial = gdl_core::seed::serial();
    let f = fixture();
    let m = Ols::default().fit(&f.x, &f.y).unwrap();
    println!("OLS solved by {:?}", m.solver);
    check_model("OLS", &m, &f.json["ols"], 1e-6);
}

#[test]
fn ridge_matches_with_alpha_equal_n_lambda() {
    let _serial = gdl_core::seed::serial();
    let f = fixture();
    let alpha = f.json["ridge"]["alpha"].as_f64().unwrap();
    let lambda = Ridge::lambda_from_sklearn_alpha(alpha, f.x.rows);
    let m = Ridge::new(lambda).fit(&f.x, &f.y).unwrap();
    check_model("Ridge", &m, &f.json["ridge"], 1e-6);
}

#[test]
fn lasso_matches_with_alpha_equal_half_lambda() {
    let _serial = gdl_core::seed::serial();
    let f = fixture();
    let alpha = f.json["lasso"]["alpha"].as_f64().unwrap();
    let mut cfg = Lasso::new(Lasso::lambda_from_sklearn_alpha(alpha));
    cfg.tol = 1e-12;
    cfg.max_iter = 1_000_000;
    let fit = cfg.fit(&f.x, &f.y).unwrap();
    assert!(fit.converged, "{fit:?}");
    check_model("Lasso", &fit.model, &f.json["lasso"], 1e-5);
}

#[test]
fn lasso_path_matches_coefficients_and_active_sets() {
    let _serial = gdl_core::seed::serial();
    let f = fixture();
    let alphas = vec_of(&f.json["lasso_path"]["alphas"]);
    let lambdas: Vec<f64> = alphas
        .iter()
        .map(|&a| Lasso::lambda_from_sklearn_alpha(a))
        .collect();
    let mut cfg = Lasso::new(0.0);
    cfg.tol = 1e-12;
    cfg.max_iter = 1_000_000;
    let path = cfg.path(&f.x, &f.y, &lambdas).unwrap();
    let reference: Vec<Vec<f64>> = f.json["lasso_path"]["coefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(vec_of)
        .collect();
    for (k, (fit, want)) in path.fits.iter().zip(&reference).enumerate() {
        let active: Vec<usize> = (0..want.len()).filter(|&j| want[j] != 0.0).collect();
        assert_eq!(path.active_sets()[k], active, "active set at λ #{k}");
        if !active.is_empty() {
            assert_close(&format!("path λ #{k}"), &fit.model.coef, want, 1e-5);
        }
    }
}

#[test]
fn duplicated_column_gives_the_pseudo_inverse_solution() {
    let _serial = gdl_core::seed::serial();
    let f = fixture();
    let rows: Vec<Vec<f64>> = (0..f.x.rows)
        .map(|i| {
            let r = f.x.row(i);
            vec![r[0], r[1], r[2], r[0]]
        })
        .collect();
    let dup = Matrix::from_rows("X", &rows).unwrap();
    let m = Ols::default().fit(&dup, &f.y).unwrap();
    assert_eq!(m.solver, Some(Solver::SvdPseudoInverse));
    check_model("duplicated column", &m, &f.json["duplicated"], 1e-6);
}

#[test]
fn more_columns_than_rows_gives_the_pseudo_inverse_solution() {
    let _serial = gdl_core::seed::serial();
    let f = fixture();
    let rows = f.json["wide"]["rows"].as_u64().unwrap() as usize;
    let idx: Vec<usize> = (0..rows).collect();
    let wide = f.x.select_rows(&idx);
    let m = Ols {
        fit_intercept: false,
    }
    .fit(&wide, &f.y[..rows])
    .unwrap();
    assert_eq!(m.solver, Some(Solver::SvdPseudoInverse));
    assert_close("wide", &m.coef, &vec_of(&f.json["wide"]["coef"]), 1e-6);
}
