"""A stream through dask-ml's Incremental: sorted blocks against shuffled ones.

Run: ``python benchmarks/dask_stream.py stream [--rows 2000000] [--block 100000]
[--passes 5]`` starts a LocalCluster of two single-threaded workers, builds
the data on the workers (no array travels in a graph) once with blocks that
are slices of ``x0`` (sorted by it) and once with the same generator shuffled
across blocks by ``dask.dataframe``'s shuffle on a random key, trains
``Incremental(MDNRegressor)`` on each for ``--passes`` passes, and prints the
held-out log-likelihood (scored block by block on the workers), the wall time
and the peak memory of each worker. Add ``--rng-on-client`` to see the "large
graph" warning of data built with ``da.from_array`` from a numpy array.

``python benchmarks/dask_stream.py rates`` measures the rule of
:class:`skmdn.exceptions.SortedBlocksWarning` without a cluster: the share of
streams of shuffled blocks that would warn (false alarms) and of streams of
sorted blocks that do (detection), for several thresholds and column laws.
"""

import argparse
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


def _shuffle_rows(da, dd, X, y, block, seed):
    """Shuffle rows across blocks: dask.dataframe's shuffle on a random key."""
    key = da.random.default_rng(seed).random(X.shape[0], chunks=X.chunks[0])
    A = da.concatenate([X, y[:, None], key[:, None]], axis=1)
    frame = dd.from_dask_array(A, columns=["x0", "x1", "x2", "x3", "y", "key"])
    frame = frame.shuffle("key", npartitions=X.numblocks[0])
    A = frame.to_dask_array(lengths=True)
    return A[:, :4], A[:, 4]


def _peak_rss_mib():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stream(rows, block, passes, rng_on_client):
    """Train on sorted and on shuffled blocks; print scores, times, memory."""
    import dask
    import dask.array as da
    import dask.dataframe as dd
    import distributed
    from dask_ml.wrappers import Incremental

    from skmdn import MDNRegressor
    from skmdn.exceptions import SortedBlocksWarning
    from skmdn.metrics import log_likelihood_scorer

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    print(
        "workers import", set(client.run(lambda: __import__("skmdn").__file__).values())
    )
    # the warning raised on a worker fails the task and reaches the client
    client.run(warnings.simplefilter, "ignore", SortedBlocksWarning)
    X_val, y_val = dask.persist(*_make(da, 200_000, block, 99, sort=False))
    # the log-likelihood of the true conditional density, on the same rows
    sigma = 0.1 + 0.3 * (X_val[:, 0] > 0)
    z = (y_val - da.sin(3 * X_val[:, 0]) - X_val[:, 1]) / sigma
    oracle = float((-0.5 * np.log(2 * np.pi) - da.log(sigma) - 0.5 * z**2).mean())
    print(f"held-out log-likelihood of the true density: {oracle:.3f}")
    results = {}
    for order in ("from_array",) if rng_on_client else ("sorted", "shuffled"):
        start = time.perf_counter()
        if rng_on_client:  # the data in the graph, as da.from_array of numpy
            X, y = (
                np.asarray(a) for a in dask.compute(*_make(da, rows, block, 0, False))
            )
            X = da.from_array(X, chunks=(block, 4))
            y = da.from_array(y, chunks=block)
        else:
            X, y = _make(da, rows, block, 0, sort=order == "sorted")
            if order == "shuffled":
                X, y = _shuffle_rows(da, dd, X, y, block, 1)
            X, y = dask.persist(X, y)  # computed on the workers, kept there
        distributed.wait([X, y])
        prepared = time.perf_counter() - start
        est = Incremental(
            MDNRegressor(n_components=3, n_networks=1, random_state=0),
            shuffle_blocks=True,
            random_state=0,
        )
        scores = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(passes):
                est.partial_fit(X, y)
                scores.append(log_likelihood_scorer(est, X_val, y_val))
        trained = time.perf_counter() - start - prepared
        graph = [str(w.message)[:60] for w in caught if "large graph" in str(w.message)]
        results[order] = scores
        print(
            f"{order:9s} rows={rows} blocks={X.numblocks[0]} prepare={prepared:.1f}s "
            f"train={trained:.1f}s ({trained / passes:.1f}s per pass) "
            f"held-out log-likelihood per pass {np.round(scores, 3)} "
            f"large-graph warnings: {len(graph)}",
            flush=True,
        )
    peak = client.run(_peak_rss_mib)
    print("peak RSS per worker (MiB):", {k[-5:]: round(v) for k, v in peak.items()})
    client.close()
    cluster.close()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["stream", "rates"])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--block", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--rng-on-client", action="store_true")
    args = parser.parse_args()
    if args.mode == "rates":
        rates()
    else:
        stream(args.rows, args.block, args.passes, args.rng_on_client)


if __name__ == "__main__":
    main()
