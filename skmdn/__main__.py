"""Demo: ``python -m skmdn`` fits the inverse-sine problem and prints its score.

It also writes a picture of the fitted conditional density (a heat map with
the training data) to a PNG file when matplotlib is installed.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import importlib.util
import time

from skmdn import MDNRegressor
from skmdn.datasets import make_inverse_sine

DEFAULT_PNG = "skmdn_demo.png"


def _write_png(est, X, y, path):
    """Draw ``est``'s conditional density over the data; return the path or None."""
    if importlib.util.find_spec("matplotlib") is None:
        print(
            "matplotlib is not installed: no picture written "
            '(pip install "skmdn[plot]" to get one).'
        )
        return None
    # A bare Figure draws without pyplot, so no GUI backend is involved.
    from matplotlib.figure import Figure

    from skmdn.plotting import ConditionalDensityDisplay

    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    ax = fig.add_subplot()
    # Each column of the heat map is scaled to its own peak (the display's
    # default), so that the three branches in the middle show next to the far
    # sharper single branch at either end.
    disp = ConditionalDensityDisplay.from_estimator(
        est, X, y, ax=ax, xlabel="x", ylabel="y"
    )
    x = disp.x_grid
    ax.plot(x, est.predict(x[:, None]), "--", color="C3", label="mean (predict)")
    ax.legend(loc="upper left")
    ax.set_title(
        f"Inverse-sine problem: p(y | x) of a {est.n_components}-component MDN"
    )
    fig.savefig(path, dpi=100)
    return path


def main(argv=None):
    """Fit a 5-component and a 1-component MDN; print held-out log-likelihoods.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; None reads ``sys.argv``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m skmdn",
        # plain text: the docstring's reST markup means nothing in a terminal
        description=__doc__.splitlines()[0].replace("``", ""),
    )
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--n-test", type=int, default=20000)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--png",
        default=DEFAULT_PNG,
        metavar="PATH",
        help=f"where to write the picture of the fitted density (default: "
        f"{DEFAULT_PNG}; needs matplotlib)",
    )
    parser.add_argument(
        "--no-png", action="store_true", help="do not write the picture"
    )
    args = parser.parse_args(argv)

    X, y = make_inverse_sine(args.n_train, random_state=args.random_state)
    X_test, y_test = make_inverse_sine(args.n_test, random_state=args.random_state + 1)
    print(
        f"Inverse-sine problem (Bishop 1994): {args.n_train} training rows, "
        f"{args.n_test} test rows."
    )
    fitted = {}
    for k in (5, 1):
        start = time.perf_counter()
        est = MDNRegressor(n_components=k, random_state=args.random_state)
        est.fit(X, y)
        seconds = time.perf_counter() - start
        ll = est.log_prob(X_test, y_test).mean()
        print(
            f"  n_components={k}: held-out log-likelihood {ll:+.4f} nats/row, "
            f"R^2 {est.score(X_test, y_test):.3f}, fit {seconds:.1f} s "
            f"({est.n_networks_} network(s), up to {est.n_iter_} epochs each)"
        )
        fitted[k] = est
    if not args.no_png:
        path = _write_png(fitted[5], X, y, args.png)
        if path is not None:
            print(f"  conditional density of the 5-component model: {path}")


if __name__ == "__main__":
    main()
