"""Demo: ``python -m skmdn`` fits the inverse-sine problem and prints its score."""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import time

from skmdn import MDNRegressor
from skmdn.datasets import make_inverse_sine


def main(argv=None):
    """Fit a 5-component and a 1-component MDN; print held-out log-likelihoods."""
    parser = argparse.ArgumentParser(prog="python -m skmdn", description=__doc__)
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--n-test", type=int, default=20000)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = make_inverse_sine(args.n_train, random_state=args.random_state)
    X_test, y_test = make_inverse_sine(args.n_test, random_state=args.random_state + 1)
    print(
        f"Inverse-sine problem (Bishop 1994): {args.n_train} training rows, "
        f"{args.n_test} test rows."
    )
    for k in (5, 1):
        start = time.perf_counter()
        est = MDNRegressor(n_components=k, random_state=args.random_state)
        est.fit(X, y)
        seconds = time.perf_counter() - start
        ll = est.log_prob(X_test, y_test).mean()
        print(
            f"  n_components={k}: held-out log-likelihood {ll:+.4f} nats/row, "
            f"R^2 {est.score(X_test, y_test):.3f}, fit {seconds:.1f} s "
            f"({est.n_iter_} epochs)"
        )


if __name__ == "__main__":
    main()
