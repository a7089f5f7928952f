"""Extrapolation: inputs clipped to the training range at prediction, measured.

Two measurements, one thread:

1. The reported scenario: a relu trunk, one network, trained on x in [-3, 3],
   predicting at x = -100 and at the edge of the data. Unclipped, the
   predicted std at -100 was the floor (ever more confident further out).
2. The shared UCI splits: the same fitted models score their test rows with
   and without clipping (only predictions differ), so the cost or gain of
   clipping on held-out data is paired, split by split.

Usage::

    python benchmarks/extrapolation.py --uci-dir ../shared/data/uci [--splits 20]
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from uci import UCI_DATASETS, load_uci

from skmdn import MDNRegressor


def _unclipped(est, X, y):
    """Held-out log-likelihood of ``est`` with the clipping switched off."""
    scaler = est._x_scaler
    saved = scaler.lower, scaler.upper
    scaler.lower = scaler.upper = None
    try:
        return est.log_prob(X, y)
    finally:
        scaler.lower, scaler.upper = saved


def scenario():
    rng = np.random.RandomState(0)
    X = rng.uniform(-3, 3, size=(2000, 1))
    y = np.sin(X[:, 0]) + 0.2 * rng.normal(size=2000)
    est = MDNRegressor(activation="relu", n_networks=1, random_state=0).fit(X, y)
    grid = np.array([[-100.0], [-10.0], [-3.0], [0.0], [3.0], [10.0], [100.0]])
    _, std = est.predict(grid, return_std=True)
    scaler = est._x_scaler
    saved = scaler.lower, scaler.upper
    scaler.lower = scaler.upper = None
    _, std_raw = est.predict(grid, return_std=True)
    scaler.lower, scaler.upper = saved
    print("| x | std, unclipped | std, clipped |")
    print("|---|---|---|")
    for x, a, b in zip(grid[:, 0], std_raw, std, strict=True):
        print(f"| {x:g} | {a:.4g} | {b:.4g} |")


def uci(folder, n_splits):
    print(
        "\n| data set | test rows outside the training box | NLL clipped | "
        "NLL unclipped | paired difference |"
    )
    print("|---|---|---|---|---|")
    for name in UCI_DATASETS:
        data = load_uci(folder, name)
        diffs, clipped, raw, outside = [], [], [], []
        for split, (train, test) in enumerate(data.splits[:n_splits]):
            X_tr, y_tr = data.X[train], data.y[train]
            X_te, y_te = data.X[test], data.y[test]
            est = MDNRegressor(random_state=split).fit(X_tr, y_tr)
            a = -est.log_prob(X_te, y_te).mean()
            b = -_unclipped(est, X_te, y_te).mean()
            lo, hi = X_tr.min(0), X_tr.max(0)
            outside.append(((X_te < lo) | (X_te > hi)).any(1).mean())
            clipped.append(a)
            raw.append(b)
            diffs.append(a - b)
        d = np.array(diffs)
        se = d.std(ddof=1) / np.sqrt(len(d))
        print(
            f"| {name} | {np.mean(outside):.1%} | {np.mean(clipped):.4f} | "
            f"{np.mean(raw):.4f} | {d.mean():+.4f} ± {se:.4f} "
            f"({np.sum(d < 0)}/{len(d)} better, {np.sum(d > 0)} worse) |",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uci-dir", type=Path)
    parser.add_argument("--splits", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    scenario()
    if args.uci_dir is not None:
        uci(args.uci_dir, args.splits)
