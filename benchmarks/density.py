"""Density-quality benchmark: gaps to the Bayes NLL and UCI test NLLs.

One command runs the whole suite, prints a markdown report and writes JSON
(plus the same markdown beside it)::

    python benchmarks/density.py --uci-dir ../shared/data/uci \\
        --out benchmarks/results/density.json

- Synthetic problems from ``skmdn.datasets`` whose conditional density is known
  exactly: the test NLL of ``MDNRegressor`` minus the Bayes NLL on the same
  test rows (a paired difference, so the test sample's noise largely cancels).
- The UCI regression sets in their fixed 20 splits (folder given by
  ``--uci-dir``; never copied into the repository): mean test NLL and RMSE in
  original units over splits, with standard errors, beside the published
  numbers and beside NGBoost (``NGBRegressor(Dist=Normal)``, its defaults)
  run here on the same splits when it is installed
  (``pip install --no-deps ngboost``).

``--param key=value`` (repeatable) passes estimator parameters, parsed with
``ast.literal_eval`` (a bare word stays a string; ``inf`` is ``np.inf``), e.g.
``--param early_stopping=True --param hidden_layer_sizes='(128, 128)'``.
Everything is seeded (split ``i`` and synthetic seed ``i`` use
``random_state=i``) and runs on ``--threads`` threads (default 1).
"""

import argparse
import hashlib
import json
import multiprocessing
import platform
import subprocess
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits
from uci import PUBLISHED_NLL, UCI_DATASETS, best_published, load_uci, parse_param

import skmdn
from skmdn import MDNRegressor
from skmdn.datasets import (
    heteroscedastic_log_density,
    inverse_sine_log_density,
    make_heteroscedastic,
    make_inverse_sine,
    make_smooth_inverse_sine,
    smooth_inverse_sine_log_density,
)

# name -> (generator, exact log-density, issue-5 target for the gap in nats)
SYNTHETIC = {
    "inverse_sine": (make_inverse_sine, inverse_sine_log_density, 0.10),
    "smooth_inverse_sine": (
        make_smooth_inverse_sine,
        smooth_inverse_sine_log_density,
        0.05,
    ),
    "heteroscedastic": (make_heteroscedastic, heteroscedastic_log_density, 0.05),
}
# Test rows of synthetic seed i are drawn with random_state=TEST_SEED_OFFSET + i.
TEST_SEED_OFFSET = 10_000

FULL = {"n_train": 10_000, "n_test": 100_000, "seeds": 3, "splits": None}
QUICK = {"n_train": 2_000, "n_test": 20_000, "seeds": 1, "splits": 3}


def build_parser():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    p.add_argument(
        "--uci-dir",
        type=Path,
        default=None,
        help="folder holding the UCI data sets (skipped when not given)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("benchmarks/results/density.json"),
        help="JSON output; the markdown goes beside it with suffix .md",
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        default=None,
        metavar="NAME",
        help=f"subset of {', '.join([*SYNTHETIC, *UCI_DATASETS])}",
    )
    p.add_argument(
        "--splits", type=int, default=None, help="first N UCI splits (default all)"
    )
    p.add_argument("--synthetic", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument(
        "--ngboost",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run NGBoost on the UCI splits (default: when installed)",
    )
    p.add_argument(
        "--ngboost-cache",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="reuse NGBoost's seeded per-split results from ngboost_cache.json "
        "beside --out (keyed by a hash of the split's data and the ngboost "
        "version)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke-test sizes: {QUICK} (explicit options win)",
    )
    p.add_argument("--n-train", type=int, default=None, help="synthetic rows (10000)")
    p.add_argument("--n-test", type=int, default=None, help="synthetic rows (100000)")
    p.add_argument("--seeds", type=int, default=None, help="synthetic seeds (3)")
    p.add_argument(
        "--param",
        type=parse_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="MDNRegressor parameter (repeatable)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads per fit")
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="fits run at once in separate processes (splits and seeds are "
        "independent; results do not depend on it)",
    )
    return p


def mean_se(values):
    a = np.asarray([v for v in values if v is not None and np.isfinite(v)])
    if a.size == 0:
        return {"mean": None, "se": None, "n": 0}
    se = float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else None
    return {"mean": float(a.mean()), "se": se, "n": int(a.size)}


def fmt(stat, digits=3, se=True):
    if stat is None or stat["mean"] is None:
        return "n/a"
    text = f"{stat['mean']:.{digits}f}"
    if se and stat["se"] is not None:
        text += f" ± {stat['se']:.{digits}f}"
    return text


def fit_mdn(params, seed, X, y):
    est = MDNRegressor(**{"random_state": seed, **params})
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    seconds = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    info = {
        "fit_seconds": seconds,
        "n_iter": int(est.n_iter_),
        "converged": converged,
        "best_validation_score": est.best_validation_score_,
    }
    return est, info


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def _limit_threads(threads):
    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)


def run_tasks(fn, tasks, jobs, threads):
    """``fn(*task)`` for every task, in order; ``jobs`` processes at a time."""
    if jobs == 1:
        yield from (fn(*task) for task in tasks)
        return
    # spawned workers: forking a process that has used OpenMP can hang
    with ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_limit_threads,
        initargs=(threads,),
    ) as pool:
        futures = [pool.submit(fn, *task) for task in tasks]
        for future in futures:
            yield future.result()


# ---------------------------------------------------------------------------
# synthetic problems


def synthetic_task(name, seed, params, n_train, n_test):
    """Fit on one seed of a synthetic problem; the gap to the Bayes NLL."""
    make, log_density, _ = SYNTHETIC[name]
    X, y = make(n_train, random_state=seed)
    X_test, y_test = make(n_test, random_state=TEST_SEED_OFFSET + seed)
    bayes_nll = float(-log_density(X_test, y_test).mean())
    record = {"problem": name, "seed": seed, "bayes_nll": bayes_nll}
    try:
        est, info = fit_mdn(params, seed, X, y)
    except Exception as exc:  # keep sweeping other settings
        record["error"] = repr(exc)
        return record
    nll = float(-est.log_prob(X_test, y_test).mean())
    train_nll = float(-est.log_prob(X, y).mean())
    train_bayes = float(-log_density(X, y).mean())
    record.update(info, nll=nll, gap=nll - bayes_nll, train_gap=train_nll - train_bayes)
    return record


def run_synthetic(names, params, n_train, n_test, n_seeds, jobs, threads):
    tasks = [
        (name, seed, params, n_train, n_test)
        for name in names
        for seed in range(n_seeds)
    ]
    runs = []
    for record in run_tasks(synthetic_task, tasks, jobs, threads):
        runs.append(record)
        name, seed = record["problem"], record["seed"]
        if "error" in record:
            log(f"{name} seed {seed}: FAILED {record['error']}")
            continue
        log(
            f"{name} seed {seed}: gap {record['gap']:+.4f} "
            f"(train gap {record['train_gap']:+.4f}), "
            f"fit {record['fit_seconds']:.1f} s, {record['n_iter']} epochs"
        )
    summary = []
    for name in names:
        ok = [r for r in runs if r["problem"] == name and "error" not in r]
        summary.append(
            {
                "problem": name,
                "n_runs": len(ok),
                "n_failed": sum(r["problem"] == name and "error" in r for r in runs),
                "nll": mean_se([r["nll"] for r in ok]),
                "bayes_nll": mean_se([r["bayes_nll"] for r in ok]),
                "gap": mean_se([r["gap"] for r in ok]),
                "train_gap": mean_se([r["train_gap"] for r in ok]),
                "target_gap": SYNTHETIC[name][2],
                "fit_seconds": mean_se([r["fit_seconds"] for r in ok]),
                "n_iter": mean_se([r["n_iter"] for r in ok]),
                "n_not_converged": sum(not r["converged"] for r in ok),
            }
        )
    return {"runs": runs, "summary": summary}


def synthetic_markdown(result, n_train, n_test):
    lines = [
        f"### Synthetic problems: gap to the Bayes NLL "
        f"(n_train {n_train}, n_test {n_test}; mean ± se over seeds)",
        "",
        "| problem | seeds | test NLL | Bayes NLL | gap | target | train gap "
        "| fit s | epochs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in result["summary"]:
        lines.append(
            f"| {s['problem']} | {s['n_runs']} | {fmt(s['nll'], 4, False)} "
            f"| {fmt(s['bayes_nll'], 4, False)} | {fmt(s['gap'], 4)} "
            f"| ≤ {s['target_gap']:.2f} | {fmt(s['train_gap'], 4)} "
            f"| {fmt(s['fit_seconds'], 1, False)} | {fmt(s['n_iter'], 0, False)} |"
        )
    return lines


# ---------------------------------------------------------------------------
# UCI


def ngboost_available():
    try:
        import ngboost  # noqa: F401
    except ImportError:
        return False
    return True


def ngboost_version():
    import ngboost

    return ngboost.__version__


def fit_ngboost(seed, X, y):
    from ngboost import NGBRegressor
    from ngboost.distns import Normal

    est = NGBRegressor(Dist=Normal, natural_gradient=True, verbose=False)
    est.set_params(random_state=seed)
    start = time.perf_counter()
    est.fit(X, y)
    return est, {"fit_seconds": time.perf_counter() - start}


def evaluate(model, est, X, y):
    """Test NLL, predicted means and PIT values ``F(y | x)``."""
    if model == "ngboost":
        dist = est.pred_dist(X)
        return float(-dist.logpdf(y).mean()), dist.mean(), dist.cdf(y)
    dist = est.predict_dist(X)
    return float(-est.log_prob(X, y).mean()), dist.mean(), dist.cdf(y)


def score_split(model, params, seed, X, y, X_test, y_test):
    """Fit one model on a split; its test NLL, RMSE, calibration and timing."""
    if model == "skmdn":
        est, info = fit_mdn(params, seed, X, y)
    else:
        est, info = fit_ngboost(seed, X, y)
    nll, pred, pit = evaluate(model, est, X_test, y_test)
    train_nll = evaluate(model, est, X, y)[0]
    rmse = float(np.sqrt(np.mean((pred - y_test) ** 2)))
    # calibration: share of test targets inside the central 90% predictive
    # interval (0.9 when calibrated)
    coverage = float(np.mean((pit > 0.05) & (pit < 0.95)))
    return {
        **info,
        "nll": nll,
        "rmse": rmse,
        "train_nll": train_nll,
        "coverage90": coverage,
    }


def split_key(name, seed, *arrays):
    """Cache key: data set, split and a hash of the split's exact data."""
    digest = hashlib.sha1()
    for a in arrays:
        digest.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return f"{name}/{seed}/{digest.hexdigest()[:16]}"


class NGBoostCache:
    """NGBoost's results per split, reused across runs (its fits are seeded).

    Keyed by the split's data hash and invalidated by another ngboost version,
    so tuning runs of skmdn do not refit the unchanged peer every time.
    """

    def __init__(self, path):
        self.path = path
        self.version = ngboost_version()
        self.runs = {}
        if path is not None and path.exists():
            stored = json.loads(path.read_text())
            if stored.get("ngboost_version") == self.version:
                self.runs = stored.get("runs", {})

    def get(self, key):
        return self.runs.get(key)

    def put(self, key, record):
        self.runs[key] = record
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(
                json.dumps(
                    {
                        "ngboost_version": self.version,
                        "model": "NGBRegressor(Dist=Normal), defaults, "
                        "random_state=split",
                        "runs": self.runs,
                    },
                    indent=1,
                )
                + "\n"
            )


def uci_task(model, params, seed, X, y, X_test, y_test):
    try:
        return score_split(model, params, seed, X, y, X_test, y_test)
    except Exception as exc:  # keep sweeping other settings
        return {"error": repr(exc)}


def run_uci(
    uci_dir, names, params, n_splits, use_ngboost, cache_path=None, jobs=1, threads=1
):
    models = ["skmdn", *(["ngboost"] if use_ngboost else [])]
    cache = NGBoostCache(cache_path) if use_ngboost else None
    records, tasks = [], []
    for name in names:
        data = load_uci(uci_dir, name)
        splits = data.splits if n_splits is None else data.splits[:n_splits]
        for i, (train, test) in enumerate(splits):
            X, y = data.X[train], data.y[train]
            X_test, y_test = data.X[test], data.y[test]
            key = split_key(name, i, X, y, X_test, y_test)
            for model in models:
                record = {"dataset": name, "split": i, "model": model}
                cached = cache.get(key) if model == "ngboost" else None
                records.append((record, key, cached))
                if cached is None:
                    tasks.append((model, params, i, X, y, X_test, y_test))
    fitted = run_tasks(uci_task, tasks, jobs, threads)
    runs = []
    for record, key, cached in records:
        result = cached or next(fitted)
        name, i, model = record["dataset"], record["split"], record["model"]
        runs.append(record)
        if "error" in result:
            record["error"] = result["error"]
            log(f"{name} split {i} {model}: FAILED {result['error']}")
            continue
        if model == "ngboost" and cached is None:
            cache.put(key, result)
        record.update(result, cached=cached is not None)
        log(
            f"{name} split {i} {model}: NLL {result['nll']:.3f} (train "
            f"{result['train_nll']:.3f}), RMSE {result['rmse']:.3f}, "
            f"cov90 {result['coverage90']:.2f}, fit "
            f"{result['fit_seconds']:.1f} s"
            + (f", {result['n_iter']} epochs" if "n_iter" in result else "")
            + (" (cached)" if cached else "")
        )
    summary = []
    for name in names:
        method, best = best_published(name)
        entry = {
            "dataset": name,
            "published_best": {"method": method, "nll": best},
            "published_ngboost_nll": PUBLISHED_NLL[name]["NGBoost"],
        }
        for model in models:
            ok = [
                r
                for r in runs
                if r["dataset"] == name and r["model"] == model and "error" not in r
            ]
            entry[model] = {
                "n_splits": len(ok),
                "n_failed": sum(
                    r["dataset"] == name and r["model"] == model and "error" in r
                    for r in runs
                ),
                "nll": mean_se([r["nll"] for r in ok]),
                "worst_nll": max((r["nll"] for r in ok), default=None),
                "rmse": mean_se([r["rmse"] for r in ok]),
                "train_nll": mean_se([r["train_nll"] for r in ok]),
                "coverage90": mean_se([r["coverage90"] for r in ok]),
                "fit_seconds": mean_se([r["fit_seconds"] for r in ok]),
            }
            if model == "skmdn":
                entry[model]["n_iter"] = mean_se([r["n_iter"] for r in ok])
                entry[model]["n_not_converged"] = sum(not r["converged"] for r in ok)
        summary.append(entry)
    return {"runs": runs, "summary": summary, "models": models}


def paired_diff(runs, name, a="skmdn", b="ngboost"):
    """Mean ± se over splits of NLL(a) - NLL(b), paired by split."""
    by = {}
    for r in runs:
        if r["dataset"] == name and "error" not in r:
            by.setdefault(r["split"], {})[r["model"]] = r["nll"]
    return mean_se([v[a] - v[b] for v in by.values() if a in v and b in v])


def uci_markdown(result):
    models = result["models"]
    lines = [
        "### UCI: test NLL and RMSE in original units (mean ± se over splits)",
        "",
    ]
    head = (
        "| data set | splits | skmdn NLL | skmdn worst split | skmdn train NLL "
        "| skmdn RMSE | skmdn cov90 "
    )
    rule = "|---|---|---|---|---|---|---"
    if "ngboost" in models:
        head += (
            "| NGBoost NLL | NGBoost RMSE | NGBoost cov90 "
            "| skmdn - NGBoost NLL (paired) "
        )
        rule += "|---|---|---|---"
    head += "| best published NLL | NGBoost published | fit s skmdn "
    rule += "|---|---|---"
    if "ngboost" in models:
        head += "| fit s NGBoost "
        rule += "|---"
    lines += [head + "|", rule + "|"]
    wins_published = wins_ngboost = 0
    for s in result["summary"]:
        m = s["skmdn"]
        worst = "n/a" if m["worst_nll"] is None else f"{m['worst_nll']:.3f}"
        row = (
            f"| {s['dataset']} | {m['n_splits']} | {fmt(m['nll'])} "
            f"| {worst} | {fmt(m['train_nll'])} | {fmt(m['rmse'])} "
            f"| {fmt(m['coverage90'], 2, False)} "
        )
        if "ngboost" in models:
            g = s["ngboost"]
            diff = paired_diff(result["runs"], s["dataset"])
            row += (
                f"| {fmt(g['nll'])} | {fmt(g['rmse'])} "
                f"| {fmt(g['coverage90'], 2, False)} | {fmt(diff)} "
            )
            if m["nll"]["mean"] is not None and g["nll"]["mean"] is not None:
                wins_ngboost += m["nll"]["mean"] < g["nll"]["mean"]
        best = s["published_best"]
        row += (
            f"| {best['nll']:.2f} ({best['method']}) "
            f"| {s['published_ngboost_nll']:.2f} "
            f"| {fmt(m['fit_seconds'], 1, False)} "
        )
        if "ngboost" in models:
            row += f"| {fmt(s['ngboost']['fit_seconds'], 1, False)} "
        lines.append(row + "|")
        if m["nll"]["mean"] is not None:
            wins_published += m["nll"]["mean"] < best["nll"]
    n = len(result["summary"])
    lines += [
        "",
        "cov90: share of test targets inside the central 90% predictive interval "
        "(PIT in (0.05, 0.95)); 0.90 when calibrated. wine-quality-red's target "
        "takes 6 values, so a spiky density reaches very low NLLs: read its NLL "
        "with its RMSE and cov90.",
    ]
    lines += ["", f"skmdn beats the best published NLL on {wins_published}/{n}"]
    if "ngboost" in models:
        lines[-1] += f" and NGBoost (same splits) on {wins_ngboost}/{n}"
    lines[-1] += " data sets."
    return lines


# ---------------------------------------------------------------------------


def _git(*args):
    try:
        return subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except OSError:
        return ""


def environment():
    commit = _git("rev-parse", "HEAD")
    # Files of the package that differ from the commit when the run started.
    modified = _git("diff", "--name-only", "HEAD", "--", "../skmdn").splitlines()
    versions = {
        "python": platform.python_version(),
        "skmdn": skmdn.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
    }
    if ngboost_available():
        versions["ngboost"] = ngboost_version()
    return {
        "versions": versions,
        "git_commit": commit or None,
        "skmdn_uncommitted": modified,
        "machine": platform.machine(),
        "processor": platform.processor() or None,
    }


def main(argv=None):
    args = build_parser().parse_args(argv)
    sizes = QUICK if args.quick else FULL
    n_train = args.n_train or sizes["n_train"]
    n_test = args.n_test or sizes["n_test"]
    n_seeds = args.seeds or sizes["seeds"]
    n_splits = args.splits or sizes["splits"]
    params = dict(args.param)
    MDNRegressor(**params)  # unknown parameter names fail here, before any work

    names = args.datasets or [*SYNTHETIC, *UCI_DATASETS]
    unknown = set(names) - set(SYNTHETIC) - set(UCI_DATASETS)
    if unknown:
        raise SystemExit(f"unknown data sets: {sorted(unknown)}")
    synthetic = [n for n in names if n in SYNTHETIC] if args.synthetic else []
    uci = [n for n in names if n in UCI_DATASETS] if args.uci_dir else []
    use_ngboost = args.ngboost
    if use_ngboost is None:
        use_ngboost = ngboost_available()
    elif use_ngboost and not ngboost_available():
        raise SystemExit("--ngboost given but ngboost is not installed")

    torch.set_num_threads(args.threads)
    report = {
        "config": {
            "params": {k: repr(v) for k, v in params.items()},
            "n_train": n_train,
            "n_test": n_test,
            "seeds": n_seeds,
            "splits": n_splits,
            "threads": args.threads,
            "jobs": args.jobs,
            "quick": args.quick,
            "uci_dir": str(args.uci_dir) if args.uci_dir else None,
            "ngboost": use_ngboost,
            "ngboost_cache": args.ngboost_cache,
            "argv": sys.argv[1:] if argv is None else list(argv),
        },
        "environment": environment(),
    }
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"
    md = [f"## skmdn density benchmark (MDNRegressor: {shown})", ""]
    start = time.perf_counter()
    with threadpool_limits(limits=args.threads):
        if synthetic:
            report["synthetic"] = run_synthetic(
                synthetic, params, n_train, n_test, n_seeds, args.jobs, args.threads
            )
            md += [*synthetic_markdown(report["synthetic"], n_train, n_test), ""]
        if uci:
            cache = (
                args.out.parent / "ngboost_cache.json" if args.ngboost_cache else None
            )
            report["uci"] = run_uci(
                args.uci_dir,
                uci,
                params,
                n_splits,
                use_ngboost,
                cache,
                jobs=args.jobs,
                threads=args.threads,
            )
            md += [*uci_markdown(report["uci"]), ""]
        elif not args.uci_dir:
            md += ["(UCI skipped: no --uci-dir given.)", ""]
    report["total_seconds"] = time.perf_counter() - start
    md.append(
        f"Total {report['total_seconds']:.0f} s, {args.jobs} job(s) of "
        f"{args.threads} thread(s); "
        f"skmdn {skmdn.__version__}, torch {torch.__version__}."
    )
    text = "\n".join(md)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(text + "\n")
    log(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
