"""scikit-learn side of `cargo xtask bench regression`.

Same workload: n = 20,000 points of f(x0, x1) = x0^2 + 3 x0 x1 + x1^2 + 5 plus N(0, 0.1^2)
noise, x uniform in [0, 1]^2, polynomial degree 12 (90 features + intercept = 91 columns),
standardised; fits OLS (LinearRegression), Ridge (alpha = 1e-3) and Lasso (alpha = 1e-3,
tol = 1e-6, max_iter = 100,000), each timed (median of 5 after one warm-up), R^2 on the data.
Lasso runs twice: scikit-learn's default (precompute=False, residual updates, O(n p) per
sweep) and precompute=True (Gram matrix, O(p^2) per sweep), the algorithm gdl uses.

    pip install scikit-learn && python3 bench/regression_sklearn.py
"""
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

warnings.simplefilter("ignore", ConvergenceWarning)
rng = np.random.default_rng(0)
n = 20_000
x = rng.uniform(size=(n, 2))
y = x[:, 0] ** 2 + 3 * x[:, 0] * x[:, 1] + x[:, 1] ** 2 + 5 + 0.1 * rng.standard_normal(n)
X = StandardScaler().fit_transform(PolynomialFeatures(12, include_bias=False).fit_transform(x))


def timed(make):
    make().fit(X, y)
    times, model = [], None
    for _ in range(5):
        t = time.perf_counter()
        model = make().fit(X, y)
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times)), model


fits = {
    "ols": lambda: LinearRegression(),
    "ridge": lambda: Ridge(alpha=1e-3),
    "lasso": lambda: Lasso(alpha=1e-3, tol=1e-6, max_iter=100_000),
    "lasso_gram": lambda: Lasso(alpha=1e-3, tol=1e-6, max_iter=100_000, precompute=True),
}
parts, total = [], 0.0
for name, make in fits.items():
    ms, model = timed(make)
    if name != "lasso_gram":
        total += ms
    parts.append(f"{name}_ms={ms:.4f} {name}_r2={model.score(X, y):.6f}")
    if name.startswith("lasso"):
        parts.append(f"{name}_sweeps={model.n_iter_}")
print(f"regression sklearn ms_per_step={total:.4f} " + " ".join(parts))
