"""Five networks trained together (batched) against one after another.

Run: ``python benchmarks/batched_ensembles.py [--rows 1000] [--epochs 30]``.
Both fit the default network on the inverse-sine problem for a fixed number
of epochs (no early stopping by patience), with one torch thread; best of
three, alternating. Prints the seconds of each and their ratio.
"""

import argparse
import time
import warnings

import numpy as np
import torch

from skmdn import MDNRegressor
from skmdn.datasets import make_inverse_sine


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y = make_inverse_sine(args.rows, random_state=0)
    common = {"max_iter": args.epochs, "n_iter_no_change": np.inf}
    times = {"one after another": [], "batched": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            start = time.perf_counter()
            for seed in range(5):
                MDNRegressor(n_networks=1, random_state=seed, **common).fit(X, y)
            times["one after another"].append(time.perf_counter() - start)
            start = time.perf_counter()
            MDNRegressor(n_networks=5, random_state=0, **common).fit(X, y)
            times["batched"].append(time.perf_counter() - start)
    best = {k: min(v) for k, v in times.items()}
    ratio = best["one after another"] / best["batched"]
    print(
        f"{args.rows} rows, 5 networks, {args.epochs} epochs: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in best.items())
        + f", ratio {ratio:.2f}"
    )


if __name__ == "__main__":
    main()
