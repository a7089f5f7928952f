"""Levers benchmark: which MDNRegressor parameters make skmdn sharper on UCI data.

Each lever changes one or more of ``MDNRegressor``'s existing parameters from
the defaults; every lever is fitted on the same fixed UCI splits with the same
seed as the defaults (``random_state`` = split index, ``n_jobs=1``), so the
table shows paired differences, lever minus defaults, as mean ± standard
error over the splits: ΔNLL (``-mean log_prob`` of the test rows; on the wine
set, fitted with ``target_type='integer'``, the NLL of the integer ratings),
ΔCRPS (``skmdn.metrics.crps`` of ``predict_dist``), ΔRMSE (of ``predict``),
the coverage of the central 90% interval (mean ± standard error, of the
lever's fits and, in the header, of the defaults') and the mean ratio of fit
seconds. Negative differences are improvements.

Some keys are not ``MDNRegressor``'s: ``splines`` (a number of knots) puts
scikit-learn's ``SplineTransformer(n_knots=splines, degree=1,
knots=spline_knots)`` in front of the estimator in a ``Pipeline``, a
piecewise-linear encoding of every feature (Gorishniy et al. 2022, "On
Embeddings for Numerical Features in Tabular Deep Learning");
``spline_knots`` is 'quantile' (the default) or 'uniform'. ``periodic`` (a
number ``k`` of frequencies) puts the fixed periodic features of the same
paper in front instead: the standardised features followed by ``sin(2 pi c
x)`` and ``cos(2 pi c x)`` for ``k`` frequencies ``c`` per feature, drawn
once from ``N(0, periodic_sigma**2)`` (default 1; the paper also learns
them, which a Pipeline step cannot).

Levers are named (see ``LEVERS``), named levers joined by ``+``
(``relu+alpha_1e-3``), or written ad hoc as ``key=value`` pairs joined by
``;`` with values parsed by ``ast.literal_eval``, e.g.
``"alpha=1e-3;hidden_layer_sizes=(128, 128)"``.

Usage (one thread; the data live outside the repository)::

    OMP_NUM_THREADS=1 python benchmarks/levers.py --uci-dir /path/to/uci \\
        --sets concrete wine-quality-red --splits 0-2 --levers all

``--cache FILE`` keeps one JSON line per fit (data set, split, parameters)
and reuses them, so that a confirmation on more splits refits only what is
new.
"""

import argparse
import ast
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    SplineTransformer,
    StandardScaler,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from uci import load_uci

# Parameters every fit on a data set gets (the defaults row included).
SET_PARAMS = {
    "wine-quality-red": {"target_type": "integer"},
}

LEVERS = {
    "h128x2": {"hidden_layer_sizes": (128, 128)},
    "h256x2": {"hidden_layer_sizes": (256, 256)},
    "h64x3": {"hidden_layer_sizes": (64, 64, 64)},
    "relu": {"activation": "relu"},
    "nets10": {"n_networks": 10},
    "alpha_1e-4": {"alpha": 1e-4},
    "alpha_1e-3": {"alpha": 1e-3},
    "noise_0": {"input_noise": 0.0},
    "noise_0.05": {"input_noise": 0.05},
    "noise_0.1": {"input_noise": 0.1},
    "lr_1e-3": {"learning_rate_init": 1e-3},
    "k5": {"n_components": 5},
    "adaptive": {"learning_rate": "adaptive"},
    "ple4": {"piecewise_linear_bins": 4},
    "ple8": {"piecewise_linear_bins": 8},
    "ple16": {"piecewise_linear_bins": 16},
    "splines5": {"splines": 5},
    "splines9": {"splines": 9},
    "splines5u": {"splines": 5, "spline_knots": "uniform"},
    "splines9u": {"splines": 9, "spline_knots": "uniform"},
}


def parse_lever(spec):
    """(name, params) of a named lever, a '+' join of them, or 'k=v;k=v'."""
    if "=" in spec:
        params = {}
        for pair in spec.split(";"):
            key, value = pair.split("=", 1)
            params[key.strip()] = ast.literal_eval(value.strip())
        return spec, params
    params = {}
    for name in spec.split("+"):
        if name not in LEVERS:
            raise SystemExit(f"Unknown lever {name!r}; known: {', '.join(LEVERS)}.")
        params.update(LEVERS[name])
    return spec, params


def parse_splits(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def periodic_features(n_frequencies, sigma, n_features):
    """A transformer of standardised ``X``: ``X``, then the sines and cosines."""
    rng = np.random.RandomState(0)
    c = 2 * np.pi * rng.normal(0.0, sigma, size=(n_features, n_frequencies))

    def encode(X):
        z = (X[:, :, None] * c).reshape(len(X), -1)
        return np.concatenate([X, np.sin(z), np.cos(z)], axis=1)

    return FunctionTransformer(encode)


def fit_score(params, seed, X, y, X_test, y_test):
    import torch

    from skmdn import MDNRegressor, interop
    from skmdn.metrics import crps

    torch.set_num_threads(1)
    params = dict(params)
    knots, where = params.pop("splines", None), params.pop("spline_knots", "quantile")
    periodic, sigma = params.pop("periodic", None), params.pop("periodic_sigma", 1.0)
    est = MDNRegressor(**{"n_jobs": 1, "random_state": seed, **params})
    if knots is not None:
        encoders = [SplineTransformer(n_knots=knots, degree=1, knots=where)]
    elif periodic is not None:
        encoders = [StandardScaler(), periodic_features(periodic, sigma, X.shape[1])]
    else:
        encoders = []
    if encoders:  # the encoding as Pipeline steps in front of the estimator
        est = make_pipeline(*encoders, est)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    seconds = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nll = float(-np.mean(interop.log_prob(est, X_test, y_test)))
        score = float(crps(y_test, interop.predict_dist(est, X_test)))
        rmse = float(np.sqrt(np.mean((est.predict(X_test).ravel() - y_test) ** 2)))
        lower, upper = interop.predict_interval(est, X_test, confidence=0.9)
    coverage = float(np.mean((lower <= y_test) & (y_test <= upper)))
    return {
        "nll": nll,
        "crps": score,
        "rmse": rmse,
        "coverage": coverage,
        "width": float(np.mean(upper - lower)),
        "seconds": seconds,
    }


def key_of(name, split, params):
    return json.dumps([name, split, sorted((k, repr(v)) for k, v in params.items())])


def load_cache(path):
    cache = {}
    if path and Path(path).exists():
        for line in Path(path).read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                cache[rec["key"]] = rec["scores"]
    return cache


def mean_se(values):
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return float(values.mean()), float("nan")
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def coverage_of(runs):
    """Mean ± standard error of the 90% coverage (fits cached before it: n/a)."""
    if any("coverage" not in r for r in runs):
        return "n/a"
    m, s = mean_se([r["coverage"] for r in runs])
    return f"{m:.3f} ± {s:.3f}"


def fmt(m, s, digits):
    return f"{m:+.{digits}f} ± {s:.{digits}f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uci-dir", type=Path, required=True)
    parser.add_argument("--sets", nargs="+", default=["concrete", "wine-quality-red"])
    parser.add_argument("--splits", default="0-2", help="e.g. 0-2 or 0,3,5 or 0-9")
    parser.add_argument(
        "--levers",
        nargs="+",
        default=["all"],
        help=f"'all' or names ({', '.join(LEVERS)}), '+' joins, or 'k=v;k=v'",
    )
    parser.add_argument("--cache", type=Path, default=None, help="JSON lines of fits")
    args = parser.parse_args()

    specs = list(LEVERS) if args.levers == ["all"] else args.levers
    levers = [parse_lever(s) for s in specs]
    splits = parse_splits(args.splits)
    cache = load_cache(args.cache)

    for name in args.sets:
        data = load_uci(args.uci_dir, name)
        base = SET_PARAMS.get(name, {})
        rows = [("defaults", {}), *levers]
        results = {}
        for lever, extra in rows:
            params = {**base, **extra}
            results[lever] = []
            for split in splits:
                key = key_of(name, split, params)
                if key not in cache:
                    train, test = data.splits[split]
                    scores = fit_score(
                        params,
                        split,
                        data.X[train],
                        data.y[train],
                        data.X[test],
                        data.y[test],
                    )
                    cache[key] = scores
                    if args.cache:
                        with open(args.cache, "a") as fh:
                            fh.write(json.dumps({"key": key, "scores": scores}) + "\n")
                    print(
                        f"# {name} split {split} {lever}: "
                        + " ".join(f"{k}={v:.4f}" for k, v in scores.items()),
                        file=sys.stderr,
                        flush=True,
                    )
                results[lever].append(cache[key])
        d = results["defaults"]
        print(
            f"\n### {name} ({len(splits)} splits: {args.splits}; "
            f"base {base or 'defaults'})\n"
        )
        print(
            "defaults: NLL {:.3f}, CRPS {:.3f}, RMSE {:.3f}, fit {:.1f} s\n".format(
                *(
                    np.mean([r[m] for r in d])
                    for m in ("nll", "crps", "rmse", "seconds")
                )
            )
        )
        print(
            "| lever | ΔNLL | ΔCRPS | ΔRMSE | 90% coverage (defaults "
            + coverage_of(d)
            + ") | fit-time ratio |"
        )
        print("|---|---|---|---|---|---|")
        for lever, _ in levers:
            r = results[lever]
            cells = []
            for metric, digits in (("nll", 3), ("crps", 3), ("rmse", 3)):
                diff = [a[metric] - b[metric] for a, b in zip(r, d, strict=True)]
                cells.append(fmt(*mean_se(diff), digits))
            cells.append(coverage_of(r))
            ratio = np.mean(
                [a["seconds"] / b["seconds"] for a, b in zip(r, d, strict=True)]
            )
            print(f"| {lever} | " + " | ".join(cells) + f" | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
