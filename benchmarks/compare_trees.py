"""Fit time of two checkouts of skmdn, paired: is a change as fast as before?

Each case is one fit in a fresh process per tree (``PYTHONPATH=TREE``), one
torch thread; the rounds alternate the order of the trees and the best time
of each is kept, so that a busy machine slows both alike. Make the baseline
tree with ``git worktree add --detach /tmp/base <commit>``.

Usage::

    python benchmarks/compare_trees.py /tmp/base . [--rounds 8]
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

CASES = {
    "1k rows, 5 networks": (
        "X, y = make_inverse_sine(1000, random_state=0); "
        "est = MDNRegressor(random_state=0, max_iter=60, n_iter_no_change=10**9)"
    ),
    "20k rows, 1 network": (
        "X, y = make_inverse_sine(20000, random_state=0); "
        "est = MDNRegressor(random_state=0, max_iter=8, n_iter_no_change=10**9)"
    ),
    "5k rows, no early stopping": (
        "X, y = make_inverse_sine(5000, random_state=0); "
        "est = MDNRegressor(random_state=0, n_networks=1, early_stopping=False, "
        "max_iter=40, hidden_layer_sizes=(64, 64))"
    ),
}
CODE = """
import time, warnings, torch
warnings.simplefilter('ignore')
torch.set_num_threads(1)
from skmdn import MDNRegressor
from skmdn.datasets import make_inverse_sine
{setup}
t = time.perf_counter(); est.fit(X, y); print(time.perf_counter() - t)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    trees = [str(args.base.resolve()), str(args.new.resolve())]
    print("| case | base s | new s | new / base |")
    print("|---|---|---|---|")
    for name, setup in CASES.items():
        times = {t: [] for t in trees}
        for r in range(args.rounds):
            for tree in trees if r % 2 == 0 else trees[::-1]:
                env = dict(os.environ, PYTHONPATH=tree, OMP_NUM_THREADS="1")
                out = subprocess.run(
                    [sys.executable, "-c", CODE.format(setup=setup)],
                    env=env,
                    capture_output=True,
                    text=True,
                    cwd="/",
                    check=True,
                )
                times[tree].append(float(out.stdout.split()[-1]))
        base, new = (min(times[t]) for t in trees)
        print(f"| {name} | {base:.3f} | {new:.3f} | {new / base:.3f} |", flush=True)


if __name__ == "__main__":
    main()
