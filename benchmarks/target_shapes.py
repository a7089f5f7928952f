"""The shapes of real targets (issue 23): bounded, positive, integer, heavy-tailed.

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/target_shapes.py [--uci-dir ../shared/data/uci]

Each case fits the default model with and without the option that says what
the target is, and prints held-out numbers beside the truth's:

- ``lognormal``: ``y = exp(x + 0.8 e)``, 10,000 training and 10,000 held-out
  rows; the default against ``target_bounds=(0, None)``: held-out
  log-likelihood against the true density's, the mass below 0, the quantiles
  against brentq on the cdf, the HPD sets' mass;
- ``share``: ``y = expit(x + 0.7 e)`` in (0, 1), the same with ``(0, 1)``;
- ``cells``: x in {0..5}, y in {0..4}, 3,000 rows, cell probabilities from a
  Dirichlet: the largest error of a cell's probability against the truth and
  against the empirical frequencies, default against ``target_type='integer'``
  (the default's cells are its density integrated over each unit cell);
- ``cauchy``: ``y = x + 0.3 Cauchy``, 90% coverage;
- ``positive`` (with ``--uci-dir``): the positive targets of yacht, energy
  and concrete, default against ``target_bounds=(0, None)``, on the shared
  splits;
- ``wine`` (with ``--uci-dir``): the integer ratings of wine quality, on the
  shared splits, CRPS and log-likelihood of the default and of
  ``target_type='integer'``.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import optimize, stats
from scipy.special import expit, logit

from skmdn import MDNRegressor
from skmdn.metrics import crps

sys.path.insert(0, str(Path(__file__).resolve().parent))


INTEGER_OR_NOT = (
    ("default", {}),
    ("target_type='integer'", {"target_type": "integer"}),
)


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MDNRegressor(random_state=0, **params).fit(X, y)


def _quantile_error(dist, levels):
    """Largest |q - brentq root of cdf(y) = level| over rows and levels."""
    q = dist.quantiles(levels)
    worst = 0.0
    for i in range(min(len(dist), 30)):
        row = dist[i]
        for j, level in enumerate(levels):
            lo, hi = row.interval(0.999999)
            root = optimize.brentq(
                lambda v, r=row, a=level: float(r.cdf(np.array([v]))[0]) - a,
                float(lo[0]) - 1e-12,
                float(hi[0]) + 1e-12,
                xtol=1e-14,
                rtol=1e-13,
            )
            worst = max(worst, abs(q[i, j] - root) / max(1.0, abs(root)))
    return worst


def _hpd_mass_error(dist, confidence=0.9):
    sets = dist[:200].hpd(confidence)
    worst = 0.0
    for i, s in enumerate(sets):
        row = dist[i]
        mass = sum(float((row.cdf([b]) - row.cdf([a]))[0]) for a, b in s)
        worst = max(worst, abs(mass - confidence))
    return worst


def bounded(name, draw, true_logpdf, bounds):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(20_000, 1))
    y = draw(X[:, 0], rng)
    train, test = slice(0, 10_000), slice(10_000, None)
    truth = true_logpdf(X[test, 0], y[test]).mean()
    print(f"\n{name}: true held-out log-likelihood {truth:.4f}")
    print(
        "| model | loglik | gap to truth | mass outside | quantile err | HPD err | s |"
    )
    print("|---|---|---|---|---|---|---|")
    options = {"target_bounds": bounds}
    for label, params in (("default", {}), (f"target_bounds={bounds}", options)):
        start = time.perf_counter()
        est = _fit(X[train], y[train], **params)
        seconds = time.perf_counter() - start
        dist = est.predict_dist(X[test])
        ll = est.log_prob(X[test], y[test]).mean()
        outside = dist.cdf(np.full(len(dist), bounds[0]))
        if bounds[1] is not None:
            outside = outside + dist.sf(np.full(len(dist), bounds[1]))
        q_err = _quantile_error(dist, [0.01, 0.5, 0.99])
        try:
            h_err = f"{_hpd_mass_error(dist):.1e}"
        except NotImplementedError:
            h_err = "n/a"
        print(
            f"| {label} | {ll:.4f} | {ll - truth:+.4f} | {outside.mean():.2e} | "
            f"{q_err:.1e} | {h_err} | {seconds:.1f} |"
        )


def lognormal():
    bounded(
        "lognormal y = exp(x + 0.8 e)",
        lambda x, rng: np.exp(x + 0.8 * rng.normal(size=len(x))),
        lambda x, y: stats.lognorm(s=0.8, scale=np.exp(x)).logpdf(y),
        (0, None),
    )


def share():
    def logpdf(x, y):
        t = logit(y)
        return stats.norm(x, 0.7).logpdf(t) - np.log(y) - np.log1p(-y)

    bounded(
        "share y = expit(x + 0.7 e)",
        lambda x, rng: expit(x + 0.7 * rng.normal(size=len(x))),
        logpdf,
        (0, 1),
    )


def cells():
    rng = np.random.RandomState(0)
    P = rng.dirichlet(np.full(5, 2.0), size=6)
    x = rng.randint(0, 6, size=3000)
    y = np.array([rng.choice(5, p=P[i]) for i in x]).astype(float)
    X = x[:, None].astype(float)
    emp = np.array([[np.mean(y[x == i] == k) for k in range(5)] for i in range(6)])
    grid = np.arange(6.0)[:, None]
    print("\ncells: x in {0..5}, y in {0..4}, 3,000 rows")
    print(f"(the empirical frequencies are {np.abs(emp - P).max():.3f} off the truth)")
    print("| model | max error vs truth | vs empirical | held-out loglik | s |")
    print("|---|---|---|---|---|")
    rng_test = np.random.RandomState(1)
    xt = rng_test.randint(0, 6, size=20_000)
    yt = np.array([rng_test.choice(5, p=P[i]) for i in xt]).astype(float)
    truth = np.log(P[xt, yt.astype(int)]).mean()
    for label, params in INTEGER_OR_NOT:
        start = time.perf_counter()
        est = _fit(X, y, **params)
        seconds = time.perf_counter() - start
        dist = est.predict_dist(grid)
        Q = np.stack([dist.cdf(np.full(6, k + 0.5)) for k in range(5)], 1)
        Q -= np.stack([dist.cdf(np.full(6, k - 0.5)) for k in range(5)], 1)
        lp = np.log(Q[xt, yt.astype(int)]).mean()
        print(
            f"| {label} | {np.abs(Q - P).max():.3f} | {np.abs(Q - emp).max():.3f} | "
            f"{lp:.4f} (truth {truth:.4f}) | {seconds:.1f} |"
        )


def cauchy():
    print("\ncauchy: y = x + 0.3 Cauchy, 90% coverage on 20,000 held-out rows")
    for n in (1000, 2000, 10_000):
        for seed in (1, 2):
            rng = np.random.default_rng(seed)
            X = rng.uniform(-2, 2, size=(n + 20_000, 1))
            y = X[:, 0] + 0.3 * rng.standard_cauchy(n + 20_000)
            est = _fit(X[:n], y[:n])
            lo, hi = est.predict_interval(X[n:], 0.9)
            cover = np.mean((y[n:] >= lo) & (y[n:] <= hi))
            print(f"rows {n}, seed {seed}: coverage {cover:.3f}")


def wine(uci_dir, n_splits):
    from uci import load_uci

    data = load_uci(uci_dir, "wine-quality-red")
    print(f"\nwine quality (integer ratings), {n_splits} shared splits")
    print(
        "(CRPS also over the test rows whose inputs repeat a training row's "
        "exactly, 23-32% of them, and over the others)"
    )
    print("| model | CRPS | repeated rows | other rows | log-likelihood | s per fit |")
    print("|---|---|---|---|---|---|")
    for label, params in INTEGER_OR_NOT:
        scores, lls, times = [], [], []
        for train, test in data.splits[:n_splits]:
            start = time.perf_counter()
            est = _fit(data.X[train], data.y[train], **params)
            times.append(time.perf_counter() - start)
            dist = est.predict_dist(data.X[test])
            seen = {tuple(row) for row in data.X[train]}
            repeated = np.array([tuple(row) in seen for row in data.X[test]])
            y = data.y[test]
            scores.append(
                [
                    crps(y, dist),
                    crps(y[repeated], dist[repeated]),
                    crps(y[~repeated], dist[~repeated]),
                ]
            )
            lls.append(est.log_prob(data.X[test], y).mean())
        scores = np.array(scores)
        m, se = scores.mean(0), scores.std(0, ddof=1) / np.sqrt(len(scores))
        print(
            f"| {label} | {m[0]:.3f} ± {se[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} ± "
            f"{se[2]:.3f} | {np.mean(lls):.3f} | {np.mean(times):.1f} |"
        )
        print("  per split CRPS:", " ".join(f"{s:.3f}" for s in scores[:, 0]))
        print("  other rows:", " ".join(f"{s:.3f}" for s in scores[:, 2]))


def positive_uci(uci_dir, n_splits):
    from uci import load_uci

    print(
        f"\npositive UCI targets, {n_splits} shared splits: default against (0, None)"
    )
    print("| set | model | NLL | CRPS | RMSE | mass below 0 | s per fit |")
    print("|---|---|---|---|---|---|---|")
    for name in ("yacht", "energy", "concrete"):
        data = load_uci(uci_dir, name)
        assert data.y.min() > 0
        options = {"target_bounds": (0, None)}
        for label, params in (("default", {}), ("(0, None)", options)):
            rows = []
            for train, test in data.splits[:n_splits]:
                start = time.perf_counter()
                est = _fit(data.X[train], data.y[train], **params)
                seconds = time.perf_counter() - start
                dist = est.predict_dist(data.X[test])
                y = data.y[test]
                rows.append(
                    (
                        -est.log_prob(data.X[test], y).mean(),
                        crps(y, dist),
                        np.sqrt(np.mean((dist.mean() - y) ** 2)),
                        dist.cdf(np.zeros(len(y))).mean(),
                        seconds,
                    )
                )
            m = np.mean(rows, axis=0)
            se = np.std(rows, axis=0, ddof=1) / np.sqrt(len(rows))
            print(
                f"| {name} | {label} | {m[0]:.3f} ± {se[0]:.3f} | {m[1]:.3f} ± "
                f"{se[1]:.3f} | {m[2]:.3f} | {m[3]:.1e} | {m[4]:.1f} |"
            )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--uci-dir", default=None, help="shared UCI folder (wine)")
    p.add_argument("--splits", type=int, default=5, help="wine splits (5)")
    p.add_argument(
        "--cases",
        nargs="+",
        default=["lognormal", "share", "cells", "cauchy", "wine", "positive"],
    )
    args = p.parse_args()
    cases = {"lognormal": lognormal, "share": share, "cells": cells, "cauchy": cauchy}
    for case in args.cases:
        if case in ("wine", "positive"):
            if args.uci_dir is None:
                print(f"\n{case}: skipped (no --uci-dir)")
            elif case == "wine":
                wine(args.uci_dir, args.splits)
            else:
                positive_uci(args.uci_dir, args.splits)
        else:
            cases[case]()


if __name__ == "__main__":
    main()
