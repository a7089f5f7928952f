"""Peers benchmark: skmdn against quantile forests, CatBoost, NGBoost and LightGBMLSS.

One command fits every model on the same train/test splits and prints, per
data set, the mean ± standard error over splits of each held-out metric, then
which model wins each metric::

    OMP_NUM_THREADS=1 python benchmarks/peers.py --uci-dir ../shared/data/uci \\
        --splits 5 --out benchmarks/results/peers.json

Install the peers into a SEPARATE virtual environment (benchmark-only, never
dependencies of skmdn, and never mixed into the system python), with the
project's own versions of torch, scikit-learn, numpy, scipy and pandas pinned
by ``benchmarks/constraints-peers.txt``::

    python -m venv /work/peers-venv            # not --system-site-packages
    . /work/peers-venv/bin/activate
    pip install torch==2.13.0                  # the CPU build
    pip install -c benchmarks/constraints-peers.txt \\
        -r benchmarks/requirements-peers.txt   # quantile-forest, catboost, lightgbm
    pip install --no-deps -e .                 # skmdn itself
    pip install --no-deps ngboost==0.6.0       # declares scikit-learn<1.7; runs on 1.9
    pip install --no-deps lightgbmlss==0.6.1 tqdm pyro-ppl opt_einsum
    # (lightgbmlss pins old versions; it imports only lightgbm, torch, pyro,
    #  pandas, tqdm and what they bring; optuna only for its tuner, unused here)

Models (``--models``; a missing package becomes a failure row, not a crash):

- ``skmdn``: ``MDNRegressor`` with its defaults (plus ``n_jobs=1``), changed
  by ``--skmdn key=value ...`` (values parsed with ``ast.literal_eval``).
  On the wine set a second row, ``skmdn (integer)``, adds
  ``target_type='integer'`` (the ratings are integers) when ``MDNRegressor``
  has that parameter, and is skipped with a note when it has not. Its NLL is
  of probabilities, not of a density: it is not comparable with the others.
  ``--variant key=value[;key=value]`` (repeatable) adds skmdn rows with those
  parameters on top, named after them (``skmdn (piecewise_linear_bins=8)``),
  beside each skmdn row of the set (the integer one included).
- ``qrf``: ``quantile_forest.RandomForestQuantileRegressor`` (defaults). No
  density, so no NLL and no exact CRPS; the column "CRPS (q)" gives the
  CRPS of 99 predicted quantiles (levels 0.01, ..., 0.99) by the pinball-loss
  identity ``CRPS = 2 * int_0^1 pinball_tau d tau``, approximated by twice the
  mean over the levels; it is computed for every model from its own
  quantiles, so that column compares all of them alike; its mean is the
  forest's mean (``quantiles="mean"``).
- ``catboost``: ``CatBoostRegressor(loss_function='RMSEWithUncertainty')``,
  which predicts a mean and a variance; scored as that Gaussian.
- ``ngboost``: ``NGBRegressor(Dist=Normal)``, its defaults.
- ``lightgbmlss``: ``LightGBMLSS(Gaussian())``, 100 boosting rounds of
  LightGBM's default parameters.
- ``lightgbmlss_mixture``: ``LightGBMLSS(Mixture(Gaussian()))`` (2
  components), out of the box; scored as that mixture.

Metrics per (set, split, model): held-out mean negative log-likelihood (NLL,
nats; skmdn ``-log_prob``, the Gaussian's for the Gaussian peers), CRPS
(exact: ``skmdn.metrics.crps`` for the mixtures, the closed form for the
Gaussians; quantiles for the forest, see above), RMSE of the mean
prediction, share of test targets inside the central (equal-tailed) 90%
interval and its mean width, fit seconds (one thread). A model that raises,
or whose NLL is not finite, is recorded with its error.

Sets (``--sets``): the four UCI sets of ``--uci-dir`` in their fixed splits
(read through ``benchmarks/uci.py``; the data is never copied into the
repository), and ``bimodal``: the heteroscedastic sine of
``skmdn.datasets.make_heteroscedastic`` with the sign of its mean flipped in
a random half of the rows, ``y = s * 2 sin(2 pi x) + (0.5 + x) e`` with
``s = +-1``: two branches whose spread grows along ``x``, with the exact
density ``0.5 N(y; m, sd) + 0.5 N(y; -m, sd)``, scored as a ``Bayes`` row
(its ``split`` i is training seed i, test seed 10,000 + i). Everything runs
on one thread, one fit at a time.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
import traceback
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from uci import UCI_DATASETS, best_published, load_uci, parse_param

SYNTHETIC = ("bimodal",)
ALL_SETS = (*UCI_DATASETS, *SYNTHETIC)
MODELS = (
    "skmdn",
    "qrf",
    "catboost",
    "ngboost",
    "lightgbmlss",
    "lightgbmlss_mixture",
)
# Extra skmdn rows per data set: (row name, MDNRegressor parameters).
DATASET_OVERRIDES = {
    "wine-quality-red": [("skmdn (integer)", {"target_type": "integer"})],
}
# Rows whose NLL is a log-probability of integers, not a log-density.
NOT_A_DENSITY = {"skmdn (integer)"}
QRF_LEVELS = np.arange(1, 100) / 100.0
Z90 = norm.ppf(0.95)
TEST_SEED_OFFSET = 10_000
FULL = {"n_train": 2_000, "n_test": 10_000}
QUICK = {"n_train": 500, "n_test": 2_000, "splits": 1}
METRICS = (
    "nll",
    "nll_int",
    "crps",
    "crps_q",
    "crps_q_new",
    "rmse",
    "rmse_new",
    "coverage90",
    "width90",
    "fit_seconds",
)


def build_parser():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    p.add_argument("--uci-dir", type=Path, default=None, help="UCI data folder")
    p.add_argument(
        "--sets",
        nargs="+",
        default=None,
        metavar="NAME",
        help=f"of {', '.join(ALL_SETS)} (default all; UCI ones need --uci-dir)",
    )
    p.add_argument("--splits", type=int, default=None, help="first N splits (5)")
    p.add_argument(
        "--models", nargs="+", default=list(MODELS), metavar="NAME", choices=MODELS
    )
    p.add_argument(
        "--skmdn",
        nargs="+",
        type=parse_param,
        default=[],
        metavar="KEY=VALUE",
        help="MDNRegressor parameters, e.g. n_networks=1 max_iter=500",
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="KEY=VALUE[;KEY=VALUE]",
        help="extra skmdn rows with these parameters (repeatable)",
    )
    p.add_argument(
        "--reuse",
        type=Path,
        default=None,
        metavar="JSON",
        help="an earlier run's JSON: its records (set, split, row) join the "
        "table and are not fitted again",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("benchmarks/results/peers.json"),
        help="JSON output (benchmarks/results/ is git-ignored); markdown beside it",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1 split, small synthetic set, one network, fewer "
        "boosting rounds",
    )
    p.add_argument("--n-train", type=int, default=None, help="synthetic rows (2000)")
    p.add_argument("--n-test", type=int, default=None, help="synthetic rows (10000)")
    return p


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def limit_threads():
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:
        pass


# ---------------------------------------------------------------------------
# data


def bimodal_params(x, noise=1.0):
    """Branch mean m (the other branch is -m) and the spread at inputs ``x``.

    Those of ``skmdn.datasets.make_heteroscedastic``: ``2 sin(2 pi x)`` and
    ``noise * (0.5 + x)``.
    """
    return 2.0 * np.sin(2.0 * np.pi * x), noise * (0.5 + x)


def make_bimodal(n, seed):
    from skmdn.datasets import make_heteroscedastic

    X, y = make_heteroscedastic(n_samples=n, random_state=seed)
    mean, _ = bimodal_params(X[:, 0])
    sign = np.random.default_rng([seed, 1]).choice([-1.0, 1.0], size=n)
    # y = mean + std * e, so y - mean + sign * mean flips the branch
    return X, y - mean + sign * mean


def bimodal_dist(X):
    from skmdn import MixtureDistribution

    mean, std = bimodal_params(X[:, 0])
    n = X.shape[0]
    return MixtureDistribution(
        np.full((n, 2), 0.5),
        np.stack([mean, -mean], axis=1)[:, :, None],
        np.stack([std, std], axis=1)[:, :, None],
        squeeze=True,
    )


def iter_splits(name, args):
    """Yield (split, X_train, y_train, X_test, y_test) of one set."""
    if name == "bimodal":
        for i in range(args.splits):
            X, y = make_bimodal(args.n_train, i)
            X_test, y_test = make_bimodal(args.n_test, TEST_SEED_OFFSET + i)
            yield i, X, y, X_test, y_test
        return
    data = load_uci(args.uci_dir, name)
    for i, (train, test) in enumerate(data.splits[: args.splits]):
        yield i, data.X[train], data.y[train], data.X[test], data.y[test]


# ---------------------------------------------------------------------------
# models: each fit_* returns (predict function, fitted model)


def fit_skmdn(params, seed, X, y):
    from skmdn import MDNRegressor

    est = MDNRegressor(**{"n_jobs": 1, "random_state": seed, **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return est


def fit_qrf(seed, X, y, quick):
    from quantile_forest import RandomForestQuantileRegressor

    return RandomForestQuantileRegressor(n_jobs=1, random_state=seed).fit(X, y)


def fit_catboost(seed, X, y, quick):
    from catboost import CatBoostRegressor

    est = CatBoostRegressor(
        loss_function="RMSEWithUncertainty",
        thread_count=1,
        random_seed=seed,
        verbose=False,
        allow_writing_files=False,
        **({"iterations": 200} if quick else {}),
    )
    return est.fit(X, y)


def fit_ngboost(seed, X, y, quick):
    from ngboost import NGBRegressor
    from ngboost.distns import Normal

    est = NGBRegressor(
        Dist=Normal,
        verbose=False,
        random_state=seed,
        **({"n_estimators": 100} if quick else {}),
    )
    return est.fit(X, y)


def _fit_lightgbmlss(dist, seed, X, y, quick):
    import lightgbm as lgb
    from lightgbmlss.model import LightGBMLSS

    est = LightGBMLSS(dist)
    params = {"num_threads": 1, "verbose": -1, "seed": seed}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.train(params, lgb.Dataset(X, label=y), num_boost_round=100)
    return est


def fit_lightgbmlss(seed, X, y, quick):
    from lightgbmlss.distributions.Gaussian import Gaussian

    return _fit_lightgbmlss(Gaussian(), seed, X, y, quick)


def fit_lightgbmlss_mixture(seed, X, y, quick):
    from lightgbmlss.distributions.Gaussian import Gaussian
    from lightgbmlss.distributions.Mixture import Mixture

    return _fit_lightgbmlss(Mixture(Gaussian()), seed, X, y, quick)


def _lss_params(est, X):
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.predict(pd.DataFrame(X), pred_type="parameters")


# ---------------------------------------------------------------------------
# scores


def interval_scores(y, lower, upper):
    lower, upper = np.asarray(lower).ravel(), np.asarray(upper).ravel()
    inside = (y >= lower) & (y <= upper)
    return float(inside.mean()), float(np.mean(upper - lower))


def crps_quantiles(q, y):
    """2 x the mean pinball loss of quantiles ``q`` at QRF_LEVELS (CRPS (q))."""
    diff = y[:, None] - q
    return float(2 * np.maximum(QRF_LEVELS * diff, (QRF_LEVELS - 1) * diff).mean())


def _integer(y):
    return bool(np.all(y == np.round(y)))


def cell_nll(cdf, y):
    """NLL of the probabilities of integer targets: -log(F(y + 1/2) - F(y - 1/2)).

    The likelihood that a model of a continuous target gives an integer
    target once its mass is gathered on the nearest integer (what
    ``target_type='integer'`` is trained on); None for targets that are not
    all integers.
    """
    if not _integer(y):
        return None
    p = np.asarray(cdf(y + 0.5)).ravel() - np.asarray(cdf(y - 0.5)).ravel()
    return float(-np.mean(np.log(np.maximum(p, 1e-300))))


def _new_rows(q, y, keep):
    """CRPS (q) over the rows ``keep`` (those whose inputs no training row has)."""
    return None if keep is None else crps_quantiles(q[keep], y[keep])


def _rmse(mean, y):
    return float(np.sqrt(np.mean((mean - y) ** 2)))


def _new_rmse(mean, y, keep):
    """RMSE over the rows ``keep`` (as :func:`_new_rows`); None if there are none."""
    return None if keep is None or not keep.any() else _rmse(mean[keep], y[keep])


def score_mixture(dist, y, nll, keep=None):
    """Scores of a skmdn distribution (MixtureDistribution or discretised)."""
    from skmdn.metrics import crps

    out = {"nll": nll, "nll_int": cell_nll(dist.cdf, y), "crps": float(crps(y, dist))}
    mean = np.asarray(dist.mean()).ravel()
    out["rmse"] = _rmse(mean, y)
    out["rmse_new"] = _new_rmse(mean, y, keep)
    out["coverage90"], out["width90"] = interval_scores(y, *dist.interval(0.9))
    q = np.stack([np.asarray(dist.ppf(t)).ravel() for t in QRF_LEVELS], axis=1)
    out["crps_q"] = crps_quantiles(q, y)
    out["crps_q_new"] = _new_rows(q, y, keep)
    return out


def score_gaussian(mu, sigma, y, keep=None):
    mu, sigma = np.asarray(mu, float).ravel(), np.asarray(sigma, float).ravel()
    z = (y - mu) / sigma
    nll = float(np.mean(0.5 * z**2 + np.log(sigma) + 0.5 * np.log(2 * np.pi)))
    crps = sigma * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi))
    cov, width = interval_scores(y, mu - Z90 * sigma, mu + Z90 * sigma)
    q = mu[:, None] + sigma[:, None] * norm.ppf(QRF_LEVELS)
    return {
        "nll": nll,
        "nll_int": cell_nll(lambda v: norm.cdf(v, mu, sigma), y),
        "crps": float(np.mean(crps)),
        "crps_q": crps_quantiles(q, y),
        "crps_q_new": _new_rows(q, y, keep),
        "rmse": _rmse(mu, y),
        "rmse_new": _new_rmse(mu, y, keep),
        "coverage90": cov,
        "width90": width,
    }


def score_quantiles(q, mean, y, keep=None):
    """CRPS of quantiles at QRF_LEVELS by the pinball identity; no density."""
    lo, hi = np.searchsorted(QRF_LEVELS, [0.05, 0.95])
    cov, width = interval_scores(y, q[:, lo], q[:, hi])
    mean = np.asarray(mean).ravel()
    return {
        "nll": None,
        "nll_int": None,
        "crps": None,
        "crps_q": crps_quantiles(q, y),
        "crps_q_new": _new_rows(q, y, keep),
        "rmse": _rmse(mean, y),
        "rmse_new": _new_rmse(mean, y, keep),
        "coverage90": cov,
        "width90": width,
    }


def run_one(model, params, seed, X, y, X_test, y_test, quick):
    """Fit one model on one split and score it on the test rows."""
    start = time.perf_counter()
    if model == "skmdn":
        est = fit_skmdn(params, seed, X, y)
    else:
        est = globals()[f"fit_{model}"](seed, X, y, quick)
    seconds = time.perf_counter() - start
    seen = {row.tobytes() for row in np.ascontiguousarray(X)}
    keep = np.array([row.tobytes() not in seen for row in np.ascontiguousarray(X_test)])
    if model == "skmdn":
        nll = float(-np.mean(est.log_prob(X_test, y_test)))
        out = score_mixture(est.predict_dist(X_test), y_test, nll, keep)
    elif model == "qrf":
        q = est.predict(X_test, quantiles=list(QRF_LEVELS))
        mean = est.predict(X_test, quantiles="mean")
        out = score_quantiles(q, mean, y_test, keep)
    elif model == "catboost":
        pred = est.predict(X_test)  # columns: mean, variance
        out = score_gaussian(pred[:, 0], np.sqrt(pred[:, 1]), y_test, keep)
    elif model == "ngboost":
        p = est.pred_dist(X_test).params
        out = score_gaussian(p["loc"], p["scale"], y_test, keep)
    elif model == "lightgbmlss":
        p = _lss_params(est, X_test)
        loc, scale = p["loc"].to_numpy(), p["scale"].to_numpy()
        out = score_gaussian(loc, scale, y_test, keep)
    elif model == "lightgbmlss_mixture":
        from skmdn import MixtureDistribution

        p = _lss_params(est, X_test)
        cols = lambda s: p[[c for c in p.columns if c.startswith(s)]].to_numpy()
        w, loc, scale = cols("mix_prob"), cols("loc"), cols("scale")
        logpdf = logsumexp(np.log(w) + norm.logpdf(y_test[:, None], loc, scale), 1)
        dist = MixtureDistribution(
            w / w.sum(1, keepdims=True),
            loc[:, :, None],
            scale[:, :, None],
            squeeze=True,
        )
        out = score_mixture(dist, y_test, float(-np.mean(logpdf)), keep)
        if np.ptp(loc, axis=0).max() == 0 and np.ptp(scale, axis=0).max() == 0:
            out["note"] = (
                "locations "
                + ", ".join(f"{v:.3g}" for v in np.unique(loc)[:3])
                + " and scales "
                + ", ".join(f"{v:.3g}" for v in np.unique(scale)[:3])
                + " the same in every row"
            )
    else:
        raise ValueError(model)
    out["fit_seconds"] = seconds
    if out["nll"] is not None and not np.isfinite(out["nll"]):
        raise FloatingPointError(f"non-finite test NLL {out['nll']}")
    return out


def bayes_scores(X_test, y_test):
    dist = bimodal_dist(X_test)
    nll = float(-np.mean(dist.logpdf(y_test)))
    return {**score_mixture(dist, y_test, nll), "fit_seconds": None}


# ---------------------------------------------------------------------------
# summaries


def mean_se(values):
    a = np.asarray([v for v in values if v is not None and np.isfinite(v)], float)
    if a.size == 0:
        return {"mean": None, "se": None, "n": 0}
    se = float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else None
    return {"mean": float(a.mean()), "se": se, "n": int(a.size)}


def fmt(stat, digits):
    if stat is None or stat["mean"] is None:
        return "n/a"
    text = f"{stat['mean']:.{digits}f}"
    if stat["se"] is not None:
        text += f" ± {stat['se']:.{digits}f}"
    return text


def summarise(records):
    """{set: {row: {metric: mean_se, 'n_ok', 'n_failed', 'errors'}}}."""
    out = {}
    for r in records:
        row = out.setdefault(r["set"], {}).setdefault(
            r["row"],
            {"n_ok": 0, "n_failed": 0, "errors": [], "notes": [], "runs": []},
        )
        if r.get("error"):
            row["n_failed"] += 1
            if r["error"] not in row["errors"]:
                row["errors"].append(r["error"])
        else:
            row["n_ok"] += 1
            row["runs"].append(r["scores"])
            note = r["scores"].get("note")
            if note and note not in row["notes"]:
                row["notes"].append(note)
    for rows in out.values():
        for row in rows.values():
            runs = row.pop("runs")
            for m in METRICS:
                # records of an earlier version may lack a metric
                row[m] = mean_se([s.get(m) for s in runs])
    return out


def winners(rows):
    """Best row per metric in one set (NLL among the densities only)."""
    best = {}
    for m, key in [
        ("nll", lambda s: s["mean"]),
        ("nll_int", lambda s: s["mean"]),
        ("crps", lambda s: s["mean"]),
        ("crps_q", lambda s: s["mean"]),
        ("crps_q_new", lambda s: s["mean"]),
        ("rmse", lambda s: s["mean"]),
        ("rmse_new", lambda s: s["mean"]),
        ("coverage90", lambda s: abs(s["mean"] - 0.9)),
        ("fit_seconds", lambda s: s["mean"]),
    ]:
        cands = {
            name: key(row[m])
            for name, row in rows.items()
            if name != "Bayes"
            and row[m]["mean"] is not None
            and not (m == "nll" and name in NOT_A_DENSITY)
        }
        best[m] = min(cands, key=cands.get) if cands else None
    return best


def markdown(summary, meta):
    digits = {
        "nll": 3,
        "nll_int": 3,
        "crps": 3,
        "crps_q": 3,
        "crps_q_new": 3,
        "rmse": 3,
        "rmse_new": 3,
        "coverage90": 3,
        "width90": 2,
    }
    lines = [
        f"Peers benchmark, {meta['date']}: `{meta['command']}`",
        f"({meta['n_splits']} splits; mean ± standard error over splits; "
        "one thread per fit; CRPS: exact (closed form or mixture sums), n/a for "
        "the forest; CRPS (q): every model's 99 quantiles (levels 0.01 to "
        "0.99) by the pinball-loss identity; "
        "NLL of `skmdn (integer)` is of probabilities, not comparable; "
        "NLL of the integers: -log(F(y + 1/2) - F(y - 1/2)) of every model's "
        "cdf F, for sets of integer targets; CRPS (q) and RMSE, new rows: over "
        "the test rows whose inputs no training row has exactly)",
        "",
    ]
    for name, rows in summary.items():
        head = name
        if name in UCI_DATASETS:
            method, value = best_published(name)
            head += f" (best published NLL: {value:.2f}, {method})"
        lines += [
            f"### {head}",
            "",
            "| model | NLL | NLL of the integers | CRPS | CRPS (q) "
            "| CRPS (q), new rows | RMSE | RMSE, new rows | 90% coverage "
            "| 90% width | fit s | splits |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row_name, row in rows.items():
            if row["n_ok"] == 0:
                err = "; ".join(row["errors"])[:160].replace("|", "/")
                lines.append(f"| {row_name} | failed: {err} | | | | | | | | | | 0 |")
                continue
            cells = [fmt(row[m], digits[m]) for m in digits]
            if row_name in NOT_A_DENSITY and cells[0] != "n/a":
                cells[0] += " (prob.)"
            fit = row["fit_seconds"]
            cells.append("" if fit["mean"] is None else f"{fit['mean']:.1f}")
            n = f"{row['n_ok']}"
            if row["n_failed"]:
                n += f" ({row['n_failed']} failed: {row['errors'][0][:80]})"
            if row["notes"]:
                n += f" ({row['notes'][0][:120]})"
            lines.append(f"| {row_name} | " + " | ".join(cells) + f" | {n} |")
        lines.append("")
    lines += [
        "### Winners (best mean; coverage: closest to 0.90; NLL among densities)",
        "",
        "| set | NLL | NLL of the integers | CRPS | CRPS (q) | CRPS (q), new rows "
        "| RMSE | RMSE, new rows | 90% coverage | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in summary.items():
        w = winners(rows)
        lines.append(
            f"| {name} | "
            + " | ".join(
                w[m] or "n/a"
                for m in (
                    "nll",
                    "nll_int",
                    "crps",
                    "crps_q",
                    "crps_q_new",
                    "rmse",
                    "rmse_new",
                    "coverage90",
                )
            )
            + f" | {w['fit_seconds'] or 'n/a'} |"
        )
    for note in meta["notes"]:
        lines += ["", f"Note: {note}"]
    return "\n".join(lines) + "\n"


def versions():
    out = {"python": platform.python_version()}
    for mod in (
        "skmdn",
        "torch",
        "sklearn",
        "numpy",
        "scipy",
        "quantile_forest",
        "catboost",
        "ngboost",
        "lightgbm",
        "lightgbmlss",
    ):
        try:
            m = __import__(mod)
            out[mod] = getattr(m, "__version__", None) or metadata.version(mod)
        except Exception as exc:
            out[mod] = f"not importable: {type(exc).__name__}"
    return out


def main(argv=None):
    args = build_parser().parse_args(argv)
    limit_threads()
    sets = args.sets or [s for s in ALL_SETS if args.uci_dir or s in SYNTHETIC]
    unknown = set(sets) - set(ALL_SETS)
    if unknown:
        raise SystemExit(f"unknown sets {sorted(unknown)}; choose from {ALL_SETS}")
    if any(s in UCI_DATASETS for s in sets) and args.uci_dir is None:
        raise SystemExit("UCI sets need --uci-dir")
    size = QUICK if args.quick else FULL
    args.splits = args.splits or size.get("splits", 5)
    args.n_train = args.n_train or size["n_train"]
    args.n_test = args.n_test or size["n_test"]
    params = dict(args.skmdn)
    if args.quick:
        params = {"n_networks": 1, "max_iter": 200, **params}

    from skmdn import MDNRegressor

    has_target_type = "target_type" in MDNRegressor().get_params()
    notes = []
    if not has_target_type:
        notes.append(
            "MDNRegressor has no target_type parameter: the `skmdn (integer)` "
            "row was skipped."
        )
    meta = {
        "date": datetime.date.today().isoformat(),
        "command": "python benchmarks/peers.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "n_splits": args.splits,
        "skmdn_params": params,
        "versions": versions(),
        "machine": platform.platform(),
        "notes": notes,
    }
    log(f"versions: {meta['versions']}")
    variants = []
    for text in args.variant:
        extra = dict(parse_param(part) for part in text.split(";"))
        label = ", ".join(f"{k}={v!r}" for k, v in extra.items())
        variants.append((label, extra))
    earlier = {}
    if args.reuse is not None:
        for rec in json.loads(args.reuse.read_text())["records"]:
            earlier[(rec["set"], rec["split"], rec["row"])] = rec
        meta["reused"] = str(args.reuse)
    records = []
    for name in sets:
        for split, X, y, X_test, y_test in iter_splits(name, args):
            if name == "bimodal":
                key = (name, split, "Bayes")
                records.append(
                    earlier[key]
                    if key in earlier
                    else {
                        "set": name,
                        "split": split,
                        "row": "Bayes",
                        "scores": bayes_scores(X_test, y_test),
                    }
                )
            runs = []
            for model in args.models:
                rows = [(model, params)]
                if model == "skmdn" and has_target_type:
                    for row, extra in DATASET_OVERRIDES.get(name, []):
                        rows.append((row, {**params, **extra}))
                if model == "skmdn":
                    rows += [
                        (f"{row} ({label})", {**p, **extra})
                        for row, p in list(rows)
                        for label, extra in variants
                    ]
                runs += [(row, model, p) for row, p in rows]
            for row, model, p in runs:
                if (name, split, row) in earlier:
                    records.append(earlier[(name, split, row)])
                    continue
                rec = {"set": name, "split": split, "row": row, "model": model}
                try:
                    rec["scores"] = run_one(
                        model, p, split, X, y, X_test, y_test, args.quick
                    )
                    s = rec["scores"]
                    log(
                        f"{name} split {split} {row}: NLL {s['nll']}, CRPS "
                        f"{s['crps']}, CRPS (q) {s['crps_q']:.4f}, "
                        f"RMSE {s['rmse']:.4f}, "
                        f"cov {s['coverage90']:.3f}, {s['fit_seconds']:.1f} s"
                    )
                except Exception as exc:
                    rec["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
                    rec["traceback"] = traceback.format_exc()
                    log(f"{name} split {split} {row}: FAILED {rec['error']}")
                records.append(rec)
    summary = summarise(records)
    text = markdown(summary, meta)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"meta": meta, "summary": summary, "records": records}, indent=1)
    )
    args.out.with_suffix(".md").write_text(text)
    log(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
