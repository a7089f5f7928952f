"""Ensembles against restarts on the UCI splits, from the same fits.

For every split, ``--networks M`` single networks (``n_networks=1``) are fitted
with different seeds. From those same fits the script scores, on the test rows:

- one network (the first seed);
- restarts (``n_init``-style): the network with the best validation
  log-likelihood among the M;
- ensembles of the first m networks, m = 2, 3, ..., M: the average of their
  densities, which is what ``MDNRegressor(n_networks=m)`` predicts.

Test NLL in original units, mean ± standard error over splits; markdown on
stdout, JSON to ``--out``::

    python benchmarks/ensembles.py --uci-dir ../shared/data/uci --jobs 2

``--param key=value`` sets estimator parameters as in ``density.py``.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from density import mean_se, parse_param, run_tasks
from scipy.special import logsumexp
from uci import UCI_DATASETS, load_uci

from skmdn import MDNRegressor


def fit_network(params, seed, X, y, X_test, y_test):
    est = MDNRegressor(**{**params, "n_networks": 1, "random_state": seed})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return est.log_prob(X_test, y_test), est.best_validation_score_


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--uci-dir", type=Path, required=True)
    p.add_argument("--datasets", nargs="+", default=list(UCI_DATASETS))
    p.add_argument("--splits", type=int, default=None, help="first N splits")
    p.add_argument("--networks", type=int, default=5, help="fits per split (M)")
    p.add_argument("--param", type=parse_param, action="append", default=[])
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/ensembles.json")
    )
    args = p.parse_args(argv)
    params = dict(args.param)
    M = args.networks
    start = time.perf_counter()
    tasks, keys = [], []
    for name in args.datasets:
        data = load_uci(args.uci_dir, name)
        for i, (train, test) in enumerate(data.splits[: args.splits]):
            for m in range(M):
                # seed 1000 m + i: a different network per split and member
                seed = 1000 * m + i
                tasks.append(
                    (
                        params,
                        seed,
                        data.X[train],
                        data.y[train],
                        data.X[test],
                        data.y[test],
                    )
                )
                keys.append((name, i))
    fits = {}
    for key, result in zip(
        keys, run_tasks(fit_network, tasks, args.jobs, args.threads), strict=True
    ):
        fits.setdefault(key, []).append(result)

    columns = ["one network", f"best validation of {M}"] + [
        f"ensemble of {m}" for m in range(2, M + 1)
    ]
    summary = {}
    for name in args.datasets:
        scores = {c: [] for c in columns}
        for (ds, _), results in fits.items():
            if ds != name:
                continue
            lps = np.array([lp for lp, _ in results])
            val = np.array([v for _, v in results], dtype=float)
            scores["one network"].append(-lps[0].mean())
            scores[f"best validation of {M}"].append(-lps[np.nanargmax(val)].mean())
            for m in range(2, M + 1):
                pooled = logsumexp(lps[:m], axis=0) - np.log(m)
                scores[f"ensemble of {m}"].append(-pooled.mean())
        summary[name] = {c: mean_se(v) for c, v in scores.items()}

    shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"
    lines = [
        f"## Ensembles and restarts: test NLL ({shown}; {M} fits per split)",
        "",
        "| data set | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for name, row in summary.items():
        cells = [f"{row[c]['mean']:.3f} ± {row[c]['se']:.3f}" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    total = time.perf_counter() - start
    lines += ["", f"Total {total:.0f} s, {args.jobs} job(s)."]
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "argv": sys.argv[1:],
                "params": {k: repr(v) for k, v in params.items()},
                "networks": M,
                "summary": summary,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
