"""What a second torch thread buys for skmdn's model sizes, and what it costs.

Run: ``python benchmarks/threads.py [--rows 10000] [--epochs 20]``. Fits the
default network (one network, early stopping off, a fixed number of epochs)
with ``n_jobs=1`` and ``n_jobs=2``, alternating, best of three; then the same
while another process keeps both cores busy, unless ``--no-busy``. Prints the
seconds of each and their ratio.
"""

import argparse
import multiprocessing
import time
import warnings

import numpy as np

from skmdn import MDNRegressor
from skmdn.datasets import make_inverse_sine


def _spin(stop):
    while not stop.is_set():
        pass


def _time(n_jobs, X, y, epochs):
    est = MDNRegressor(
        n_networks=1,
        early_stopping=False,
        max_iter=epochs,
        n_iter_no_change=np.inf,
        n_jobs=n_jobs,
        random_state=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return time.perf_counter() - start


def measure(X, y, epochs, repeats=3):
    times = {1: [], 2: []}
    for _ in range(repeats):
        for n_jobs in (1, 2):
            times[n_jobs].append(_time(n_jobs, X, y, epochs))
    return {k: min(v) for k, v in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--busy", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    X, y = make_inverse_sine(args.rows, random_state=0)
    settings = [("as the machine is", None)]
    if args.busy:
        settings.append(("2 busy processes beside it", 2))
    for name, n_busy in settings:
        stop = multiprocessing.Event()
        busy = [
            multiprocessing.Process(target=_spin, args=(stop,))
            for _ in range(n_busy or 0)
        ]
        for p in busy:
            p.start()
        try:
            t = measure(X, y, args.epochs)
        finally:
            stop.set()
            for p in busy:
                p.join()
        print(
            f"{name}: n_jobs=1 {t[1]:.2f} s, n_jobs=2 {t[2]:.2f} s, "
            f"ratio {t[2] / t[1]:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
