"""Helpers shared by the displays: matplotlib, inputs, grids, labels."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skmdn._distribution import DiscretisedMixture, MixtureDistribution
from skmdn._unwrap import final_estimator

_DENSITY_SCALES = ("column", "density", "log")
_INTERVAL_KINDS = ("hpd", "equal_tailed")


# -- helpers ---------------------------------------------------------------------


def _import_pyplot():
    """Import ``matplotlib.pyplot``, with an actionable error when it is missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skmdn.plotting needs matplotlib, which is not installed. Install it "
            'with `pip install "skmdn[plot]"` (or `pip install matplotlib`).'
        ) from exc
    return plt


def _get_ax(ax):
    """Return ``ax``, or new axes on a new pyplot figure when it is None."""
    if ax is None:
        plt = _import_pyplot()
        _, ax = plt.subplots()
    return ax


def _marginal(dist, output):
    """Return the 1-D marginal mixture of target ``output`` (squeezed)."""
    if not isinstance(dist, MixtureDistribution):
        raise TypeError(
            "y_dist must be a MixtureDistribution (from estimator.predict_dist(X)); "
            f"got {type(dist).__name__}."
        )
    n_outputs = dist.n_outputs
    if not -n_outputs <= output < n_outputs:
        raise ValueError(f"output={output} is out of range for {n_outputs} target(s).")
    return dist.marginal(int(output))


def _target_column(y, output, name="y"):
    """Column ``output`` of ``y`` (1-D targets are returned as they are)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        if output not in (0, -1):
            raise ValueError(f"output={output} is out of range for a 1-D {name}.")
        return y
    if y.ndim == 2:
        return y[:, output]
    raise ValueError(f"{name} must be 1-D or 2-D; got shape {y.shape}.")


def _single_feature(X):
    """``X`` as an (n, 1) array and the name of its feature."""
    name = None
    if hasattr(X, "columns"):
        name = str(X.columns[0]) if len(X.columns) else None
    values = np.asarray(X, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2 or values.shape[1] != 1:
        raise ValueError(
            "from_estimator draws over a single input feature: X must have one "
            f"column; got shape {values.shape}. For more features, plot against a "
            "1-D x with from_predictions."
        )
    return values[:, 0], name


def _grid_like(X, grid):
    """``grid`` as inputs of the same kind as ``X`` (a one-column frame stays one)."""
    if hasattr(X, "columns"):
        return type(X)({X.columns[0]: grid})
    return grid[:, None]


def _target_label(estimator, output, target_name):
    if target_name is not None:
        return target_name
    n_outputs = getattr(final_estimator(estimator), "n_outputs_", 1)
    return "y" if n_outputs == 1 else f"y[{output}]"


def _density_grid(dist, y_grid):
    """Density of each value in ``y_grid`` under each row: shape (n_y, n_rows)."""
    return np.exp(dist.cross_logpdf(y_grid)).T


def _padded(lo, hi, pad=0.05):
    span = hi - lo if hi > lo else max(1.0, abs(lo))
    return lo - pad * span, hi + pad * span


def _is_discrete(dist):
    """Whether ``dist`` is the law of integer targets."""
    return isinstance(dist, DiscretisedMixture)


def _integer_cells(lo, hi, max_cells):
    """Cells of whole integers covering ``[lo, hi]``: their centres and width.

    One integer per cell where at most ``max_cells`` integers are needed;
    otherwise cells of ``m`` integers each (``m`` the smallest that fits), so
    that their edges stay on half-integers.
    """
    lo, hi = np.floor(lo), np.ceil(hi)
    count = int(hi - lo) + 1
    m = max(1, -(-count // max(1, int(max_cells))))
    n_cells = -(-count // m)
    first = lo + np.arange(n_cells) * m  # the first integer of each cell
    return first + (m - 1) / 2, m


def _cell_probabilities(dist, centres, m):
    """Probability per integer of each cell under each row: shape (n_cells, n_rows).

    The pmf itself for cells of one integer; for wider cells, the cell's
    mass (a difference of the step cdf) divided by its ``m`` integers.
    """
    if m == 1:
        return np.exp(dist.cross_logpdf(centres)).T
    n = len(dist)
    edges = np.r_[centres - (m + 1) / 2, centres[-1] + (m - 1) / 2]
    F = np.array([dist.cdf(np.full(n, e)) for e in edges])
    return np.clip(np.diff(F, axis=0), 0.0, None) / m
