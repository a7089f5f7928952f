"""Cost of quantiles and intervals relative to log_prob (issue 26).

One command; prints a markdown table of seconds and the ratio to log_prob,
measured in the same run (best of ``--repeats``, the order rotated; CPU
seconds of the process, which other jobs on a shared machine disturb less
than wall time; ``--clock wall`` for wall time)::

    OMP_NUM_THREADS=1 python benchmarks/quantile_speed.py
    OMP_NUM_THREADS=1 python benchmarks/quantile_speed.py --rows 20000 --settings 10

Two settings: a fitted default ``MDNRegressor`` (a few epochs on synthetic
heteroscedastic bimodal data: 5 pooled networks, K = 50, when fitted on 2,000
rows; one, K = 10, on 10,000) predicting ``--rows`` rows, where
``log_prob``, ``predict_interval(X, 0.9)`` and ``predict_quantiles`` pass
through the estimator's row blocks; and raw ``MixtureDistribution``
parameters with K = 10 and K = 50 (a pooled ensemble), where the
distribution's own ``logpdf``, ``cdf``, ``interval`` and ``quantiles`` run.
"""

import argparse
import time
import warnings

import numpy as np

from skmdn import MDNRegressor, MixtureDistribution

LEVELS = {
    1: [0.5],
    3: [0.05, 0.5, 0.95],
    9: list(np.linspace(0.1, 0.9, 9)),
}


def make_data(n, seed=0):
    """Heteroscedastic and bimodal: two branches whose spread grows with x."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-3, 3, size=(n, 2))
    branch = 2 * rng.randint(0, 2, size=n) - 1
    y = np.sin(X[:, 0]) + branch * (1 + 0.3 * X[:, 1])
    y = y + (0.05 + 0.2 * np.abs(X[:, 0])) * rng.normal(size=n)
    return X, y


def random_mixture(n, K, seed=0):
    """Rows of K components: Dirichlet(0.5) weights, spread means and scales."""
    rng = np.random.RandomState(seed)
    w = rng.dirichlet(np.full(K, 0.5), size=n)
    mu = rng.normal(scale=2.0, size=(n, K, 1)) + rng.normal(size=(n, 1, 1))
    s = np.exp(rng.normal(np.log(0.4), 0.7, size=(n, K, 1)))
    return MixtureDistribution(w, mu, s, squeeze=True)


def best_of(ops, repeats, clock=time.process_time):
    """Best time of each op, the order rotated between repeats."""
    names = list(ops)
    best = dict.fromkeys(names, np.inf)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            t = clock()
            ops[name]()
            best[name] = min(best[name], clock() - t)
    return best


def estimator_ops(rows, fit_rows, seed=0):
    X, y = make_data(fit_rows, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MDNRegressor(max_iter=3, random_state=seed).fit(X, y)
    Xp, yp = make_data(rows, seed + 1)
    K = est.predict_dist(Xp[:2]).weights.shape[1]
    ops = {"log_prob": lambda: est.log_prob(Xp, yp)}
    # the cdf in the estimator's row blocks, as log_prob
    ops["cdf"] = lambda: est._per_block(Xp, lambda dist, rows: dist.cdf(yp[rows]))
    ops["predict_interval(0.9)"] = lambda: est.predict_interval(Xp, 0.9)
    for k, lv in LEVELS.items():
        ops[f"predict_quantiles({k} levels)"] = lambda lv=lv: est.predict_quantiles(
            Xp, lv
        )
    return K, ops


def mixture_ops(rows, K, seed=0):
    dist = random_mixture(rows, K, seed)
    y = dist.rvs(random_state=seed)
    ops = {"log_prob": lambda: dist.logpdf(y), "cdf": lambda: dist.cdf(y)}
    ops["interval(0.9)"] = lambda: dist.interval(0.9)
    for k, lv in LEVELS.items():
        ops[f"quantiles({k} levels)"] = lambda lv=lv: dist.quantiles(lv)
    return ops


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    parser.add_argument(
        "--settings",
        default="fit2000,fit10000,10,50",
        help="comma-separated: 'fitN' (a default MDNRegressor fitted on N rows: "
        "5 networks, K = 50, at N <= 2000; 1 network, K = 10, at N >= 10000) "
        "and/or raw-mixture K values",
    )
    args = parser.parse_args(argv)
    print("| setting | rows | K | operation | seconds | ratio to log_prob |")
    print("|---|---|---|---|---|---|")
    for setting in args.settings.split(","):
        if setting.startswith("fit"):
            K, ops = estimator_ops(args.rows, int(setting[3:]))
            label = f"MDNRegressor fitted on {int(setting[3:]):,} rows"
        else:
            K = int(setting)
            ops = mixture_ops(args.rows, K)
            label = "MixtureDistribution"
        clock = time.process_time if args.clock == "cpu" else time.perf_counter
        best = best_of(ops, args.repeats, clock)
        for name, t in best.items():
            print(
                f"| {label} | {args.rows:,} | {K} | {name} | {t:.3f} | "
                f"{t / best['log_prob']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
