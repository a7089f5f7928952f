"""CPU against GPU: fit and predict at a million rows (issue 26).

For a machine with a CUDA device; one command, from the repository root::

    PYTHONPATH=. python benchmarks/gpu.py [--rows 1000000] [--epochs 3]

(on a lent device machine, run the CUDA tests first in the same call:
``PYTHONPATH=. python -m pytest -q tests -k "cuda or device"``). The data
are ``benchmarks/speed.py``'s bimodal problem with 10 features. For each
device (``cpu`` with one thread, ``cuda``) and dtype (float64, float32): the
seconds per epoch of the default network (``--epochs`` epochs, early
stopping off, minus a one-epoch fit, so the fixed cost of a call is left
out), and the seconds of ``predict``, ``log_prob`` and ``predict_interval``
on 100,000 rows; then one default fit on the GPU to its stopping rule, with
its held-out NLL. Prints a markdown table.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from speed import make_data

from skmdn import MDNRegressor


def timed(func):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = func()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def fit(X, y, device, **params):
    est = MDNRegressor(device=device, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return timed(lambda: est.fit(X, y))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the CPU rows: one thread, as everywhere here
    X, Y = make_data(args.rows + 100_000, p=10, dtype=np.float64)
    y = Y[:, 0].copy()
    X, Xt, y, yt = X[: args.rows], X[args.rows :], y[: args.rows], y[args.rows :]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(
        "| device | dtype | s / epoch | predict s | log_prob s | interval s |\n"
        "|---|---|---|---|---|---|"
    )
    for device in devices:
        for dtype in (np.float64, np.float32):
            Xd, Xtd = X.astype(dtype), Xt.astype(dtype)
            fixed = {"n_networks": 1, "early_stopping": False}
            one, _ = fit(Xd, y, device, max_iter=1, **fixed)
            many, est = fit(Xd, y, device, max_iter=1 + args.epochs, **fixed)
            per_epoch = (many - one) / args.epochs
            t_pred, _ = timed(lambda est=est, Xtd=Xtd: est.predict(Xtd))
            t_lp, _ = timed(lambda est=est, Xtd=Xtd: est.log_prob(Xtd, yt))
            t_int, _ = timed(lambda est=est, Xtd=Xtd: est.predict_interval(Xtd, 0.9))
            print(
                f"| {device} | {np.dtype(dtype).name} | {per_epoch:.2f} "
                f"| {t_pred:.2f} | {t_lp:.2f} | {t_int:.2f} |",
                flush=True,
            )
    if "cuda" in devices:
        seconds, est = fit(X.astype(np.float32), y, "cuda")
        nll = -est.log_prob(Xt.astype(np.float32), yt).mean()
        print(
            f"\nDefault fit on the GPU, float32: {seconds:.1f} s, "
            f"{est.n_iter_} epochs, held-out NLL {nll:.4f}"
        )


if __name__ == "__main__":
    main()
