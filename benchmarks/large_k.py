"""Time and peak memory of MixtureDistribution's methods at a large K.

A pooled ensemble's mixture (``n_networks=20`` x ``n_components=100``, so
K = 2,000) of one target, for 200 rows::

    OMP_NUM_THREADS=1 python benchmarks/large_k.py
    OMP_NUM_THREADS=1 python benchmarks/large_k.py --rows 20 --ops crps entropy

Each method runs twice: once for its wall and CPU seconds, and once under
``tracemalloc`` (numpy reports its allocations to it) for the peak of the
traced memory above what was allocated before the call. Tracing makes every
allocation dearer (methods of many small steps, such as the critical-point
search, ran 1.5 times as long under it), so the times are not traced;
``--traced-times`` times the traced run instead, as this script did before.
The rows are seeded: every run draws the same mixture.
"""

import argparse
import time
import tracemalloc

import numpy as np

import skmdn
from skmdn import MixtureDistribution


def pooled_mixture(n_rows, n_networks=20, n_components=100, seed=0):
    """Rows of ``n_networks`` pooled mixtures of ``n_components`` each.

    Each network puts its components around the row's centre (spread 2, a
    little shifted per network), with log-normal scales around 0.3 and
    Dirichlet(0.3) weights, so that a few components per network carry most
    of its mass, as a fitted MDN's do.
    """
    rng = np.random.default_rng(seed)
    K = n_networks * n_components
    centre = rng.normal(size=(n_rows, 1))
    shift = rng.normal(scale=0.3, size=(n_rows, n_networks, 1))
    means = (
        centre[:, :, None]
        + shift
        + rng.normal(scale=2.0, size=(n_rows, n_networks, n_components))
    )
    scales = np.exp(rng.normal(np.log(0.3), 0.5, size=(n_rows, K)))
    weights = rng.dirichlet(np.full(n_components, 0.3), size=(n_rows, n_networks))
    weights = weights.reshape(n_rows, K) / n_networks
    return MixtureDistribution(
        weights, means.reshape(n_rows, K, 1), scales[..., None], squeeze=True
    )


def operations(dist, draws):
    n = len(dist)
    rng = np.random.default_rng(1)
    y = dist.rvs(random_state=2)
    grid = np.linspace(y.min() - 1, y.max() + 1, 200)
    q = rng.uniform(0.01, 0.99, size=n)
    return {
        "rvs": lambda: dist.rvs(size=draws, random_state=0),
        "logpdf": lambda: dist.logpdf(y),
        "cdf": lambda: dist.cdf(y),
        "ppf": lambda: dist.ppf(q),
        "interval": lambda: dist.interval(0.9),
        "cross_logpdf": lambda: dist.cross_logpdf(grid),
        "mode": dist.mode,
        "modes": dist.modes,
        "hpd": lambda: dist.hpd(0.9),
        "crps": lambda: dist._crps(y[:, None]),
        "entropy": dist.entropy,
    }


def measure(func, traced_times=False):
    """Wall and CPU seconds of ``func()``, its traced peak memory, and its result."""
    if not traced_times:
        t0, c0 = time.perf_counter(), time.process_time()
        func()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    result = func()
    if traced_times:
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return wall, cpu, peak, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--networks", type=int, default=20)
    parser.add_argument("--components", type=int, default=100)
    parser.add_argument("--draws", type=int, default=5000)
    parser.add_argument("--ops", nargs="*", default=None)
    parser.add_argument(
        "--traced-times",
        action="store_true",
        help="time the run under tracemalloc (one run per method, as before)",
    )
    args = parser.parse_args()
    dist = pooled_mixture(args.rows, args.networks, args.components)
    ops = operations(dist, args.draws)
    names = args.ops or [k for k in ops if k not in ("crps", "entropy")]
    K = dist.weights.shape[1]
    print(f"{args.rows} rows, K = {K}, D = 1 (skmdn from {skmdn.__file__})")
    print("| method | wall s | cpu s | peak MB | result MB |")
    print("|---|---|---|---|---|")
    for name in names:
        wall, cpu, peak, result = measure(ops[name], args.traced_times)
        parts = result if isinstance(result, (list, tuple)) else [result]
        size = sum(np.asarray(r).nbytes for r in parts) / 1e6
        print(
            f"| {name} | {wall:.2f} | {cpu:.2f} | {peak / 1e6:.1f} | {size:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
