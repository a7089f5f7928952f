"""Scale calibration of a single network on larger synthetic data.

``scale_calibration='auto'`` rescales a single network's components to fit
its validation rows (see "Choosing hyperparameters"). The UCI sets of the
levers benchmark are small; this benchmark fits the defaults (one network at
these sizes) on synthetic problems of 8,000 to 40,000 rows, with and without
the calibration (the same training, so the difference is the factor's
alone), and reports the factor, the paired difference of the held-out NLL
and the coverage of the central 90% interval on 20,000 new rows.

- ``near_deterministic``: 16 uniform features on [-1, 1], ``y`` a quarter of
  the sum of the sines of 8 fixed random projections (spread about 0.5),
  plus Gaussian noise of standard deviation ``noise``.
- ``heavy_tails``: 9 standard normal features, ``y`` a fixed random tanh
  network of them plus ``(0.3 + 0.2 |x_0|)`` times Student-t noise with 4
  degrees of freedom.

One command, one thread::

    OMP_NUM_THREADS=1 python benchmarks/calibration.py [--seeds 3]
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time
import warnings

import numpy as np

from skmdn import MDNRegressor

N_TEST = 20_000


def near_deterministic(n, seed, noise):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 16))
    W = np.random.RandomState(7).normal(size=(16, 8)) / 4.0
    return X, np.sin(X @ W).sum(1) / 4 + noise * rng.normal(size=n)


def heavy_tails(n, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 9))
    W = np.random.RandomState(123).normal(size=(9, 16)) / 3.0
    V = np.random.RandomState(124).normal(size=16) / 2.0
    scale = 0.3 + 0.2 * np.abs(X[:, 0])
    return X, np.tanh(X @ W) @ V + scale * rng.standard_t(4, size=n)


PROBLEMS = {
    "near_deterministic, noise 0.01, 10,700 rows": (
        lambda n, s: near_deterministic(n, s, 0.01),
        10_700,
    ),
    "near_deterministic, noise 0.001, 10,700 rows": (
        lambda n, s: near_deterministic(n, s, 0.001),
        10_700,
    ),
    "heavy_tails, 8,000 rows": (heavy_tails, 8_000),
    "heavy_tails, 40,000 rows": (heavy_tails, 40_000),
}


def evaluate(est, X, y):
    lower, upper = est.predict_interval(X, confidence=0.9)
    return -float(np.mean(est.log_prob(X, y))), float(
        np.mean((lower <= y) & (y <= upper))
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    print(
        "| problem | factor | ΔNLL (calibrated minus not) | 90% coverage, not → "
        "calibrated | fit s |"
    )
    print("|---|---|---|---|---|")
    for name, (make, n) in PROBLEMS.items():
        factors, diffs, cov_cal, cov_plain, seconds = [], [], [], [], []
        for seed in range(args.seeds):
            X, y = make(n, seed)
            X_test, y_test = make(N_TEST, 1000 + seed)
            runs = []
            for calibration in ("auto", None):
                est = MDNRegressor(random_state=seed, scale_calibration=calibration)
                start = time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.fit(X, y)
                seconds.append(time.process_time() - start)
                runs.append((est, *evaluate(est, X_test, y_test)))
            (cal, nll_cal, c_cal), (_, nll_plain, c_plain) = runs
            factors.append(float(cal.scale_factors_[0]))
            diffs.append(nll_cal - nll_plain)
            cov_cal.append(c_cal)
            cov_plain.append(c_plain)
        se = np.std(diffs, ddof=1) / np.sqrt(len(diffs)) if len(diffs) > 1 else 0.0
        print(
            f"| {name} | {', '.join(f'{f:.3f}' for f in factors)} "
            f"| {np.mean(diffs):+.4f} ± {se:.4f} "
            f"| {np.mean(cov_plain):.3f} → {np.mean(cov_cal):.3f} "
            f"| {np.mean(seconds):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
