"""The messy-data cases of the "your data" page, with the numbers it quotes.

Run: ``OMP_NUM_THREADS=1 python benchmarks/messy_data.py``. Each case fits
the default model (one network, to keep it quick) on synthetic data and prints
held-out log-likelihoods next to the reference the case should reach.
"""

import warnings

import numpy as np
import scipy.sparse as sp

from skmdn import MDNRegressor


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MDNRegressor(n_networks=1, random_state=0, **params).fit(X, y)


def constant_column():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(3000, 1))
    y = np.c_[np.sin(3 * X[:, 0]) + 0.1 * rng.normal(size=3000), np.full(3000, 0.37)]
    est = _fit(X[:2000], y[:2000])
    lp = est.log_prob(X[2000:], y[2000:]).mean()
    moved = y[2000:] + np.array([0.0, 1e-12])
    shift = est.log_prob(X[2000:], moved).mean() - lp
    floor = est.predict_dist(X[2000:]).marginal(1).scales.min()
    print(
        f"constant column: held-out loglik {lp:.3f}, constant moved by 1e-12: "
        f"{shift:+.2e}, smallest scale of the constant {floor:.2e}"
    )


def float32_offset():
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, size=(4000, 1))
    y = 1.7e9 + 100 * x[:, 0] + rng.normal(size=4000)
    for dtype in (np.float32, np.float64):
        est = _fit(x[:3000].astype(dtype), y[:3000])
        lp = est.log_prob(x[3000:].astype(dtype), y[3000:]).mean()
        name = np.dtype(dtype).name
        print(f"large-offset target, X {name}: held-out loglik {lp:.3f}")
    print("  (the true density's: -1.419)")


def glitches():
    rng = np.random.RandomState(0)
    x = rng.uniform(-2, 2, size=(4000, 1))
    y = np.sin(2 * x[:, 0]) + 0.05 * rng.normal(size=4000)
    y_dirty = y.copy()
    y_dirty[[10, 500, 2000]] = 1e7
    clean = np.arange(3000, 4000)
    for name, target in (("3 glitches", y_dirty), ("no glitch", y)):
        est = _fit(x[:3000], target[:3000])
        lp = est.log_prob(x[clean], y[clean]).mean()
        err = np.median(np.abs(est.predict_mode(x[clean]) - y[clean]))
        print(f"{name}: clean held-out loglik {lp:.3f}, median |mode - y| {err:.4f}")
    print("  (the true density's: 1.577; the noise's median |e|: 0.034)")


def sparse_input():
    rng = np.random.RandomState(0)
    codes = rng.randint(0, 20, size=3000)
    X = sp.csr_matrix((np.ones(3000), (np.arange(3000), codes)), shape=(3000, 20))
    y = codes / 5.0 + 0.1 * rng.normal(size=3000)
    a = _fit(X, y, max_iter=50).predict(X[:5])
    b = _fit(X.toarray(), y, max_iter=50).predict(X[:5].toarray())
    print(f"sparse one-hot X: predictions equal to dense: {np.array_equal(a, b)}")


if __name__ == "__main__":
    constant_column()
    float32_offset()
    glitches()
    sparse_input()
