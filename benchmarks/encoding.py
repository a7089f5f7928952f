"""The piecewise-linear encoding on smooth synthetic problems.

``piecewise_linear_bins`` gains on every UCI set of the levers benchmark,
whose features act through thresholds. This benchmark measures it where they
do not: smooth functions of the features or of their sums, where a
feature's piecewise-linear basis finds no threshold to sharpen. The
defaults (one network at these sizes) are fitted with and without 8 bins on
the same rows and scored on 20,000 new ones: paired differences of the NLL,
the CRPS and the RMSE (bins minus none, mean ± standard error over the
seeds), the coverage of the central 90% interval and the fit seconds.

- ``friedman``: Friedman's problem #1 (smooth terms of single features and
  of one product) with 8 inputs
  (:func:`sklearn.datasets.make_friedman1`), plus Gaussian noise of
  standard deviation ``0.2 + x_0``.
- ``near_deterministic`` and ``heavy_tails``: the problems of
  ``benchmarks/calibration.py`` (sines of random projections of 16 inputs,
  noise 0.01; a random tanh network of 9 inputs with Student-t noise).

One command, one thread::

    OMP_NUM_THREADS=1 python benchmarks/encoding.py [--seeds 3] [--bins 8]
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import make_friedman1

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calibration import N_TEST, heavy_tails, near_deterministic

from skmdn import MDNRegressor
from skmdn.metrics import crps


def friedman(n, seed):
    X, y = make_friedman1(n, n_features=8, noise=0.0, random_state=seed)
    noise = np.random.RandomState(seed + 99).normal(size=n)
    return X, y + (0.2 + X[:, 0]) * noise


PROBLEMS = {
    "friedman, 8,000 rows": (friedman, 8_000),
    "near_deterministic, noise 0.01, 10,700 rows": (
        lambda n, s: near_deterministic(n, s, 0.01),
        10_700,
    ),
    "heavy_tails, 10,000 rows": (heavy_tails, 10_000),
    "heavy_tails, 40,000 rows": (heavy_tails, 40_000),
}


def scores(est, X, y):
    lower, upper = est.predict_interval(X, 0.9)
    return {
        "nll": float(-np.mean(est.log_prob(X, y))),
        "crps": float(crps(y, est.predict_dist(X))),
        "rmse": float(np.sqrt(np.mean((est.predict(X) - y) ** 2))),
        "coverage": float(np.mean((lower <= y) & (y <= upper))),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--bins", type=int, default=8)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print(
        f"| problem | ΔNLL | ΔCRPS | ΔRMSE | 90% coverage, none → {args.bins} bins "
        "| fit s, none / bins |"
    )
    print("|---|---|---|---|---|---|")
    for name, (make, n) in PROBLEMS.items():
        runs = {None: [], args.bins: []}
        for seed in range(args.seeds):
            X, y = make(n, seed)
            X_test, y_test = make(N_TEST, 1000 + seed)
            # alternate which fit comes first, so neither takes the warm-up
            for bins in list(runs)[:: 1 if seed % 2 == 0 else -1]:
                est = MDNRegressor(random_state=seed, piecewise_linear_bins=bins)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.fit(X, y)
                seconds = time.perf_counter() - start
                runs[bins].append({**scores(est, X_test, y_test), "s": seconds})
        plain, binned = runs[None], runs[args.bins]
        cells = []
        for metric in ("nll", "crps", "rmse"):
            pairs = zip(plain, binned, strict=True)
            diff = np.array([b[metric] - a[metric] for a, b in pairs])
            se = diff.std(ddof=1) / np.sqrt(diff.size) if diff.size > 1 else np.nan
            cells.append(f"{diff.mean():+.4f} ± {se:.4f}")
        cover = [np.mean([r["coverage"] for r in rs]) for rs in (plain, binned)]
        cells.append(f"{cover[0]:.3f} → {cover[1]:.3f}")
        secs = [np.mean([r["s"] for r in rs]) for rs in (plain, binned)]
        cells.append(f"{secs[0]:.1f} / {secs[1]:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
