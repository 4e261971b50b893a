//! The minimax game on discrete distributions, where everything is exact: for data p and
//! generator q on the same points, the value V(D, G) = Σ_x p(x) log D(x) + Σ_x q(x) log(1 − D(x))
//! is maximised pointwise by the optimal discriminator D*(x) = p(x) / (p(x) + q(x)), and there
//! V(D*, G) = 2 D_JS(p ‖ q) − log 4: the generator that minimises it minimises the
//! Jensen-Shannon divergence.

use gdl_core::{Error, Result};

fn check(p: &[f64], q: &[f64]) -> Result<()> {
    if p.len() != q.len() || p.is_empty() {
        return Err(Error::invalid(
            "distributions",
            format!("p has {} points, q has {}", p.len(), q.len()),
        ));
    }
    Ok(())
}

/// D*(x) = p(x) / (p(x) + q(x)) (½ where both are 0).
pub fn optimal_discriminator(p: &[f64], q: &[f64]) -> Result<Vec<f64>> {
    check(p, q)?;
    Ok(p.iter()
        .zip(q)
        .map(|(&a, &b)| if a + b > 0.0 { a / (a + b) } else { 0.5 })
        .collect())
}

/// V(D, G) = Σ p log D + Σ q log(1 − D), with 0 log 0 = 0.
pub fn value(p: &[f64], q: &[f64], d: &[f64]) -> Result<f64> {
    check(p, q)?;
    check(p, d)?;
    let xlogy = |x: f64, y: f64| if x == 0.0 { 0.0 } else { x * y.ln() };
    Ok(p.iter()
        .zip(q)
        .zip(d)
        .map(|((&a, &b), &dx)| xlogy(a, dx) + xlogy(b, 1.0 - dx))
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdl_core::divergence::js;

    #[test]
    fn value_at_the_optimal_discriminator_is_twice_js_minus_log_4() {
        let cases: [(&[f64], &[f64]); 4] = [
            (&[0.1, 0.2, 0.3, 0.4], &[0.25, 0.25, 0.25, 0.25]),
            (&[0.5, 0.5, 0.0], &[0.0, 0.3, 0.7]),
            (&[1.0, 0.0], &[0.0, 1.0]), // disjoint: JS = log 2, V = 0
            (&[0.3, 0.7], &[0.3, 0.7]), // p = q: D* = ½, V = −log 4
        ];
        for (p, q) in cases {
            let d = optimal_discriminator(p, q).unwrap();
            let v = value(p, q, &d).unwrap();
            let want = 2.0 * js(p, q).unwrap() - 4f64.ln();
            assert!((v - want).abs() < 1e-10, "{p:?} {q:?}: {v} vs {want}");
            // D* is the maximiser: nudging it anywhere lowers V.
            for i in 0..p.len() {
                for delta in [-1e-3, 1e-3] {
                    let mut e = d.clone();
                    e[i] = (e[i] + delta).clamp(1e-12, 1.0 - 1e-12);
                    assert!(value(p, q, &e).unwrap() <= v + 1e-12);
                }
            }
        }
        assert!(value(&[1.0], &[0.5, 0.5], &[0.5]).is_err());
    }
}
