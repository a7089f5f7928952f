"""Correlated targets: 'full' against 'diagonal' and 'spherical' covariances.

On :func:`skmdn.datasets.make_correlated_targets` (two targets, two
components with within-component correlations of 0.8 to 0.95 in absolute
value, moving with ``x``), fits each covariance type at the same number of
components and reports the held-out NLL against the truth's, the error of
the fitted within-component correlation, the fit time and the epochs.

The fitted correlation of true component ``c`` at an input is the
weight-averaged correlation of the fitted components whose means lie
nearest to its mean (by the true component's Mahalanobis distance).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/correlated.py [--rows 10000] [--seeds 0 1]
"""

import argparse
import time
import warnings

import numpy as np

from skmdn import MDNRegressor
from skmdn.datasets import (
    correlated_targets_log_density,
    correlated_targets_params,
    make_correlated_targets,
)


def fitted_correlation_error(dist, X):
    """Mean absolute error of the fitted within-component correlations."""
    _, true_means, true_tril, true_rho = correlated_targets_params(X)
    cov = dist.covariances  # (n, K, 2, 2)
    rho = cov[..., 0, 1] / np.sqrt(cov[..., 0, 0] * cov[..., 1, 1])
    # assign every fitted component to the nearest true component
    dist_to = np.stack(
        [
            (
                np.linalg.solve(
                    true_tril[:, None, c],
                    (dist.means - true_means[:, None, c])[..., None],
                )[..., 0]
                ** 2
            ).sum(-1)
            for c in range(2)
        ],
        -1,
    )  # (n, K, 2)
    nearest = dist_to.argmin(-1)
    errors = []
    for c in range(2):
        w = dist.weights * (nearest == c)
        est = (w * rho).sum(1) / np.maximum(w.sum(1), 1e-300)
        errors.append(np.abs(est - true_rho[:, c]))
    return float(np.mean(errors))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--components", type=int, nargs="+", default=[2, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    X_test, y_test = make_correlated_targets(20_000, random_state=12345)
    truth = -correlated_targets_log_density(X_test, y_test).mean()
    print(f"rows={args.rows}; test NLL of the truth {truth:.4f}")
    print("K   covariance  seed  NLL     gap     corr.err  fit s   epochs")
    for K in args.components:
        for cov in ("diagonal", "spherical", "full"):
            for seed in args.seeds:
                X, y = make_correlated_targets(args.rows, random_state=seed)
                est = MDNRegressor(
                    n_components=K, covariance_type=cov, random_state=seed
                )
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.fit(X, y)
                seconds = time.perf_counter() - start
                nll = -est.log_prob(X_test, y_test).mean()
                err = fitted_correlation_error(est.predict_dist(X_test), X_test)
                print(
                    f"{K:<3d} {cov:<11s} {seed:<5d} {nll:.4f}  {nll - truth:+.4f} "
                    f"{err:8.3f}  {seconds:6.1f}  {est.n_iter_}"
                )


if __name__ == "__main__":
    main()
