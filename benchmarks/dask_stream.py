"""A stream through dask-ml's Incremental: shuffled, sorted and re-shuffled blocks.

Run: ``python benchmarks/dask_stream.py stream [--rows 2000000] [--block 100000]
[--passes 5] [--orders shuffled recipe sorted] [--sorted-passes N] [--group 10]``
starts a LocalCluster of two single-threaded workers and builds the data on
the workers, block by block when they are needed (no array travels in a
graph, nothing is persisted): ``shuffled``, blocks that are random samples;
``sorted``, blocks that are slices of ``x0``; ``recipe``, the sorted blocks
through the shuffle recipe of docs/dask.rst (a random key, ``dask.dataframe``'s
shuffle, Parquet in a temporary directory, read back as arrays). For each it
trains ``Incremental(MDNRegressor)`` for ``--passes`` passes (``sorted`` for
``--sorted-passes``), each pass a new permutation of the blocks, ``--group``
blocks per ``partial_fit`` call (0: all of them in one call; several values
train once with each), and prints the
held-out log-likelihood after each pass (200,000 new rows, scored block by
block on the workers), the times, the SortedBlocksWarnings raised on the
workers, the "large graph" warnings, each worker's peak resident memory (the
workers are restarted before each order, and after the recipe's shuffle) and
the most data (task results) it held while training.
``--orders from_array`` builds the data in the client and wraps it in
``da.from_array``, to see the "large graph" warning.

``python benchmarks/dask_stream.py rates`` measures the rule of
:class:`skmdn.exceptions.SortedBlocksWarning` without a cluster: the share of
streams of shuffled blocks that would warn (false alarms) and of streams of
sorted blocks that do (detection), for several thresholds and column laws.
"""

import argparse
import itertools
import logging
import time
import warnings

import numpy as np

# ------------------------------------------------------------------ rates


def _columns(rng, n, kind, d):
    if kind == "normal":
        return rng.normal(size=(n, d))
    if kind == "lognormal":
        return rng.lognormal(sigma=1.0, size=(n, d))
    if kind == "lognormal(2)":
        return rng.lognormal(sigma=2.0, size=(n, d))
    if kind == "t(3)":
        return rng.standard_t(3, size=(n, d))
    return (rng.uniform(size=(n, d)) < 0.01).astype(float)  # Bernoulli(0.01)


def _z_stream(A, block, passes, sort, rng):
    """The block z of every call after the first, as partial_fit computes it."""
    from skmdn._preprocessing import Standardisation, block_z

    A = A[np.argsort(A[:, 0], kind="stable")] if sort else A[rng.permutation(len(A))]
    starts = np.arange(0, len(A), block)
    scaler, zs = None, []
    for _ in range(passes):
        for b in rng.permutation(len(starts)):  # Incremental's shuffle_blocks
            rows = A[starts[b] : starts[b] + block]
            w = np.ones(len(rows))
            if scaler is None:
                scaler = Standardisation.from_data(rows, w)
                continue
            zs.append(block_z(scaler, rows, w))
            scaler = scaler.updated(rows, w)
    return np.array(zs)


def rates(thresholds=(4, 5, 6, 8, 10, 15)):
    """Print false-alarm and detection rates of the one- and two-block rules."""
    rng = np.random.RandomState(1)
    print("thresholds", thresholds)
    print("law, rows per block, streams: false alarms / detections per threshold")
    kinds = ["normal", "lognormal", "t(3)", "Bernoulli(0.01)", "lognormal(2)"]
    for kind in kinds:
        for block, reps in [(1000, 60), (10000, 12), (100000, 2)]:
            counts = np.zeros((4, len(thresholds)))
            for _ in range(reps):
                A = _columns(rng, 20 * block, kind, 5)
                shuffled = _z_stream(A, block, 3, False, rng)
                ordered = _z_stream(A, block, 1, True, rng)
                for i, z in enumerate((shuffled, ordered)):
                    for j, t in enumerate(thresholds):
                        above = z > t
                        counts[2 * i, j] += above.any()
                        counts[2 * i + 1, j] += (above[1:] & above[:-1]).any()
            share = np.round(counts / reps, 3)
            print(
                f"{kind:16s} {block:6d} {reps:3d}  shuffled: one block "
                f"{share[0]} two {share[1]}  sorted: one {share[2]} two {share[3]}"
            )


# ------------------------------------------------------------------ stream

ORDERS = ("shuffled", "recipe", "sorted", "from_array")


def _make(da, rows, block, seed, sort):
    """Inputs (rows, 4) and targets, built lazily on the workers."""
    rng = da.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(rows, 4), chunks=(block, 4))
    if sort:  # block i holds the i-th slice of x0
        n_blocks = len(X.chunks[0])
        slot = da.arange(rows, chunks=block) // block
        x0 = -1 + 2 * (slot + (X[:, 0] + 1) / 2) / n_blocks
        # one block of columns: Incremental passes block (i, 0) only
        X = da.concatenate([x0[:, None], X[:, 1:]], axis=1).rechunk({1: -1})
    noise = rng.standard_normal(rows, chunks=block)
    y = da.sin(3 * X[:, 0]) + X[:, 1] + noise * (0.1 + 0.3 * (X[:, 0] > 0))
    return X, y


def _random_key(part, partition_info=None):
    """The docs' random key (docs/dask.rst), seeded by the partition's number."""
    import pandas as pd

    rng = np.random.default_rng([0, partition_info["number"]])
    return pd.Series(rng.random(len(part)), index=part.index)


def _recipe(dd, frame, path):
    """The docs' shuffle recipe: a random key, Dask's shuffle, Parquet, arrays."""
    frame["key"] = frame.map_partitions(_random_key, meta=("key", "f8"))
    frame = frame.shuffle("key", npartitions=frame.npartitions)
    frame.drop(columns="key").to_parquet(path)

    # the whole frame, then its columns: read_parquet of some columns fuses
    # partitions, and to_dask_array(lengths=True) of them fails (dask 2026.8)
    A = dd.read_parquet(path).to_dask_array(lengths=True)
    return A[:, :-1], A[:, -1]  # one block of columns; y is the last column


def _rss_mib():
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_rss_mib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _count_sorted_warnings(dask_worker):
    """Count, without printing, the SortedBlocksWarnings raised on a worker."""
    from skmdn.exceptions import SortedBlocksWarning

    counts = dask_worker._skmdn_sorted_warnings = [0]
    show = warnings.showwarning

    def counting(message, category, *args, **kwargs):
        if issubclass(category, SortedBlocksWarning):
            counts[0] += 1
        else:
            show(message, category, *args, **kwargs)

    warnings.showwarning = counting
    warnings.simplefilter("always", SortedBlocksWarning)


def _sorted_warnings(dask_worker):
    return dask_worker._skmdn_sorted_warnings[0]


def _held_mib(dask_worker):
    """The data a worker holds (task results, the persisted held-out rows)."""
    return dask_worker.state.nbytes / 2**20


class _Held:
    """The most data each worker held, sampled twice a second in a thread."""

    def __init__(self, client):
        import threading

        self.client, self.most, self.done = client, {}, threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self.done.wait(0.5):
            for worker, mib in self.client.run(_held_mib).items():
                self.most[worker] = max(self.most.get(worker, 0), mib)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()

    def __str__(self):
        return str(sorted(round(v) for v in self.most.values()))


def _fresh_workers(client):
    """Restart the worker processes: their peak memory starts again."""
    client.restart()
    client.run(_count_sorted_warnings)


def _data(order, rows, block, tmp):
    """The training arrays of one order, and the time taken to prepare them."""
    import dask
    import dask.array as da
    import dask.dataframe as dd

    if order == "from_array":  # the data in the graph, as da.from_array of numpy
        X, y = (np.asarray(a) for a in dask.compute(*_make(da, rows, block, 0, False)))
        return da.from_array(X, chunks=(block, 4)), da.from_array(y, chunks=block)
    X, y = _make(da, rows, block, 0, sort=order != "shuffled")
    if order == "recipe":  # the sorted blocks through the docs' recipe
        A = da.concatenate([X, y[:, None]], axis=1)
        frame = dd.from_dask_array(A, columns=["x0", "x1", "x2", "x3", "y"])
        X, y = _recipe(dd, frame, f"{tmp}/shuffled")
    return X, y  # lazy: each block is built (or read) on a worker when needed


def _train(est, X, y, group, rng):
    """One pass: a permutation of the blocks, ``group`` blocks per partial_fit."""
    order = rng.permutation(X.numblocks[0])
    calls = 1 if group <= 0 else -(-len(order) // group)
    for part in np.array_split(order, calls):
        est.partial_fit(X.blocks[part], y.blocks[part])


def stream(rows, block, passes, orders, groups, sorted_passes, tmp):
    """Train on each order of blocks; print scores, times, memory and warnings."""
    import dask
    import dask.array as da
    import distributed
    from dask_ml.wrappers import Incremental

    from skmdn import MDNRegressor
    from skmdn.metrics import log_likelihood_scorer

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.CRITICAL,  # not the restarts' heartbeat errors
    )
    client = distributed.Client(cluster)
    print(
        "workers import", set(client.run(lambda: __import__("skmdn").__file__).values())
    )
    print(f"rows={rows} block={block}")
    results = {}
    for order, group in itertools.product(orders, groups):
        _fresh_workers(client)
        print(
            f"{order}, blocks per partial_fit: {group or 'all'}; RSS at start (MiB)",
            sorted(round(v) for v in client.run(_rss_mib).values()),
        )
        start = time.perf_counter()
        X, y = _data(order, rows, block, tmp)
        prepared = time.perf_counter() - start
        if order == "recipe":  # the shuffle's memory apart from the training's
            print(f"recipe: shuffle peak RSS (MiB) {_peaks(client)}", flush=True)
            _fresh_workers(client)
        # the same 200,000 held-out rows whatever --block (its chunks seed them)
        X_val, y_val = dask.persist(*_make(da, 200_000, 100_000, 99, sort=False))
        if not results:
            oracle = _oracle(X_val, y_val)
            print(f"held-out log-likelihood of the true density: {oracle:.3f}")
        est = Incremental(MDNRegressor(n_components=3, n_networks=1, random_state=0))
        rng = np.random.default_rng(0)
        scores, times = [], []
        with warnings.catch_warnings(record=True) as caught, _Held(client) as held:
            warnings.simplefilter("always")
            for _ in range(sorted_passes if order == "sorted" else passes):
                tick = time.perf_counter()
                _train(est, X, y, group, rng)
                times.append(time.perf_counter() - tick)
                scores.append(log_likelihood_scorer(est, X_val, y_val))
                print(
                    f"  {order} pass {len(scores)}: {scores[-1]:.3f} nats "
                    f"{times[-1]:.1f} s",
                    flush=True,
                )
        graph = [str(w.message) for w in caught if "large graph" in str(w.message)]
        if graph:
            print("  first large-graph warning:", graph[0][:60])
        warned = sum(client.run(_sorted_warnings).values())
        results[order, group] = scores
        print(
            f"{order:10s} blocks={X.numblocks[0]} prepare={prepared:.1f}s "
            f"train={sum(times):.1f}s ({np.mean(times):.1f}s per pass) "
            f"held-out log-likelihood per pass {np.round(scores, 3)} "
            f"SortedBlocksWarnings: {warned} large-graph warnings: {len(graph)} "
            f"peak RSS (MiB): {_peaks(client)} most data held (MiB): {held}",
            flush=True,
        )
    client.close()
    cluster.close()
    return results


def _oracle(X_val, y_val):
    """The held-out log-likelihood of the true conditional density."""
    import dask.array as da

    sigma = 0.1 + 0.3 * (X_val[:, 0] > 0)
    z = (y_val - da.sin(3 * X_val[:, 0]) - X_val[:, 1]) / sigma
    return float((-0.5 * np.log(2 * np.pi) - da.log(sigma) - 0.5 * z**2).mean())


def _peaks(client):
    return sorted(round(v) for v in client.run(_peak_rss_mib).values())


def main():
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["stream", "rates"])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--block", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--orders", nargs="+", choices=ORDERS, default=ORDERS[:3])
    parser.add_argument("--group", type=int, nargs="+", default=[10])
    parser.add_argument("--sorted-passes", type=int, default=None)
    parser.add_argument("--tmp", default=None)
    args = parser.parse_args()
    if args.mode == "rates":
        rates()
        return
    sorted_passes = args.passes if args.sorted_passes is None else args.sorted_passes
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        stream(
            args.rows,
            args.block,
            args.passes,
            args.orders,
            args.group,
            sorted_passes,
            tmp,
        )


if __name__ == "__main__":
    main()
