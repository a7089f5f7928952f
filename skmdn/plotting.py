"""Plots of conditional densities, predictive intervals, calibration and training.

Each plot is a Display object, as in scikit-learn: build it with
``from_estimator`` (or ``from_predictions``), which computes what is drawn and
calls the display's ``plot`` method; call ``plot`` again to draw on other
axes. The computed values are kept as attributes and the matplotlib artists as
attributes with a trailing underscore.

matplotlib is imported only when something is drawn, so ``import skmdn`` and
``import skmdn.plotting`` work without it; install it with
``pip install "skmdn[plot]"``.
"""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np
from scipy.stats import binom
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from skmdn._distribution import MixtureDistribution
from skmdn._unwrap import final_estimator, predict_dist

__all__ = [
    "ConditionalDensityDisplay",
    "JointDensityDisplay",
    "LossCurveDisplay",
    "PITDisplay",
    "PredictionIntervalDisplay",
]

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


# -- conditional density -----------------------------------------------------------


class ConditionalDensityDisplay:
    """Heat map of the conditional density ``p(y | x)`` over a 1-D input.

    Each column of the map is the predicted density of the target at one
    value of the input, so several modes show as several bright ridges and
    changing spread as a widening band. The data, if given, are drawn on
    top. Build it with :meth:`from_estimator`.

    By default each column is shown relative to its own peak
    (``scale='column'``): where the density is sharp at some inputs and
    spread over several branches at others, a common colour scale would be
    set by the sharp columns and hide the branches. ``scale='density'`` draws
    the raw density on one linear scale, ``scale='log'`` on a logarithmic
    one.

    Parameters
    ----------
    x_grid : ndarray of shape (n_x,)
        Input values (columns of the map), increasing.
    y_grid : ndarray of shape (n_y,)
        Target values (rows of the map), increasing.
    density : ndarray of shape (n_y, n_x)
        ``p(y_grid[i] | x_grid[j])``.
    x_data : ndarray of shape (n_samples,), default=None
        Inputs of the data to overlay.
    y_data : ndarray of shape (n_samples,), default=None
        Targets of the data to overlay.
    xlabel : str, default='x'
        Label of the input axis.
    ylabel : str, default='y'
        Label of the target axis.

    Attributes
    ----------
    mesh_ : matplotlib.collections.QuadMesh
        The heat map.
    scatter_ : matplotlib.collections.PathCollection or None
        The overlaid data; None when no data are given.
    colorbar_ : matplotlib.colorbar.Colorbar or None
        The colour bar; None when ``colorbar=False``.
    values_ : ndarray of shape (n_y, n_x)
        The values the colours show: ``density`` divided by each column's
        maximum for ``scale='column'``, ``density`` itself otherwise.
    ax_ : matplotlib.axes.Axes
        Axes with the plot.
    figure_ : matplotlib.figure.Figure
        Figure containing the plot.

    See Also
    --------
    PredictionIntervalDisplay : Predictive quantiles as a fan chart.
    JointDensityDisplay : Two targets' joint density at one input.
    skmdn.MDNRegressor.conditional_density : Densities on a grid of targets.

    Examples
    --------
    >>> from skmdn import MDNRegressor
    >>> from skmdn.datasets import make_inverse_sine
    >>> from skmdn.plotting import ConditionalDensityDisplay
    >>> X, y = make_inverse_sine(n_samples=300, random_state=0)
    >>> est = MDNRegressor(n_components=3, max_iter=20, random_state=0).fit(X, y)
    >>> disp = ConditionalDensityDisplay.from_estimator(est, X, y)
    >>> disp.density.shape
    (200, 200)
    >>> disp.ax_.get_ylabel()
    'y'
    """

    def __init__(
        self,
        *,
        x_grid,
        y_grid,
        density,
        x_data=None,
        y_data=None,
        xlabel="x",
        ylabel="y",
    ):
        self.x_grid = x_grid
        self.y_grid = y_grid
        self.density = density
        self.x_data = x_data
        self.y_data = y_data
        self.xlabel = xlabel
        self.ylabel = ylabel

    def plot(
        self,
        ax=None,
        *,
        scale="column",
        colorbar=True,
        mesh_kwargs=None,
        scatter_kwargs=None,
    ):
        """Draw the heat map and the data.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        scale : {'column', 'density', 'log'}, default='column'
            Colour scale. ``'column'`` divides each column by its maximum, so
            every input's modes show, however sharp the density is at other
            inputs; the colours then compare targets at the same input, not
            across inputs. ``'density'`` shows the raw density on a linear
            scale shared by all columns; ``'log'`` shows it on a logarithmic
            scale spanning three decades below its maximum.
        colorbar : bool, default=True
            Whether to add a colour bar of the density.
        mesh_kwargs : dict, default=None
            Keyword arguments for :meth:`matplotlib.axes.Axes.pcolormesh`
            (e.g. ``cmap``, ``vmax``).
        scatter_kwargs : dict, default=None
            Keyword arguments for the data's
            :meth:`matplotlib.axes.Axes.scatter`.

        Returns
        -------
        display : ConditionalDensityDisplay
            Object that stores the computed values and the artists.
        """
        if scale not in _DENSITY_SCALES:
            raise ValueError(f"scale must be one of {_DENSITY_SCALES}; got {scale!r}.")
        ax = _get_ax(ax)
        density = np.asarray(self.density, dtype=np.float64)
        mesh_kwargs = {"cmap": "viridis", "shading": "auto", **(mesh_kwargs or {})}
        label = f"p({self.ylabel} | {self.xlabel})"
        if scale == "column":
            peak = density.max(axis=0, keepdims=True)
            values = np.divide(
                density, peak, out=np.zeros_like(density), where=peak > 0
            )
            label += f" / its maximum over {self.ylabel}"
        else:
            values = density
        if scale == "log" and "norm" not in mesh_kwargs:
            from matplotlib.colors import LogNorm

            vmax = mesh_kwargs.pop("vmax", None) or max(values.max(), 1e-300)
            vmin = mesh_kwargs.pop("vmin", None) or vmax * 1e-3
            mesh_kwargs["norm"] = LogNorm(vmin=vmin, vmax=vmax, clip=True)
            # Zero densities have no logarithm: show them as the lowest colour.
            values = np.maximum(values, vmin)
        self.values_ = values
        self.mesh_ = ax.pcolormesh(self.x_grid, self.y_grid, values, **mesh_kwargs)
        self.scatter_ = None
        if self.x_data is not None and self.y_data is not None:
            scatter_kwargs = {
                "s": 2,
                "c": "white",
                "alpha": 0.3,
                "linewidths": 0,
                "label": "data",
                **(scatter_kwargs or {}),
            }
            self.scatter_ = ax.scatter(self.x_data, self.y_data, **scatter_kwargs)
        self.colorbar_ = None
        if colorbar:
            self.colorbar_ = ax.figure.colorbar(self.mesh_, ax=ax)
            self.colorbar_.set_label(label)
        ax.set_xlim(self.x_grid[0], self.x_grid[-1])
        ax.set_ylim(self.y_grid[0], self.y_grid[-1])
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        output=0,
        grid_resolution=200,
        x_range=None,
        y_range=None,
        ax=None,
        scale="column",
        colorbar=True,
        mesh_kwargs=None,
        scatter_kwargs=None,
        xlabel=None,
        ylabel=None,
    ):
        """Compute the conditional density of a fitted model on a grid and plot it.

        Parameters
        ----------
        estimator : estimator instance
            Fitted :class:`~skmdn.MDNRegressor`, or a pipeline or search
            ending in one, trained on a single input feature.
        X : array-like of shape (n_samples, 1)
            Inputs; their range sets the input axis.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), \
                default=None
            Targets to overlay on the map; None draws the density alone.
        output : int, default=0
            Target whose (marginal) density is drawn, for multi-output models.
        grid_resolution : int, default=200
            Number of grid points along each axis.
        x_range : tuple of float, default=None
            ``(min, max)`` of the input axis; None uses the range of ``X``.
        y_range : tuple of float, default=None
            ``(min, max)`` of the target axis; None covers the central 99% of
            every predicted distribution and the data, with a small margin.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        scale : {'column', 'density', 'log'}, default='column'
            Colour scale: each column relative to its maximum (every input's
            modes show), the raw density on a linear scale, or on a
            logarithmic one. See :meth:`plot`.
        colorbar : bool, default=True
            Whether to add a colour bar of the density.
        mesh_kwargs : dict, default=None
            Keyword arguments for :meth:`matplotlib.axes.Axes.pcolormesh`.
        scatter_kwargs : dict, default=None
            Keyword arguments for the data's
            :meth:`matplotlib.axes.Axes.scatter`.
        xlabel : str, default=None
            Label of the input axis; None uses the feature's name or ``'x'``.
        ylabel : str, default=None
            Label of the target axis; None uses ``'y'`` (``'y[output]'`` for
            multi-output models).

        Returns
        -------
        display : ConditionalDensityDisplay
            Object that stores the computed values and the artists.
        """
        x, feature_name = _single_feature(X)
        lo, hi = (x.min(), x.max()) if x_range is None else x_range
        x_grid = np.linspace(lo, hi, grid_resolution)
        dist = _marginal(predict_dist(estimator, _grid_like(X, x_grid)), output)
        y_data = None if y is None else _target_column(y, output)
        if y_range is None:
            lower, upper = dist.interval(0.99)
            lo, hi = lower.min(), upper.max()
            if y_data is not None:
                lo, hi = min(lo, y_data.min()), max(hi, y_data.max())
            y_range = _padded(lo, hi)
        y_grid = np.linspace(y_range[0], y_range[1], grid_resolution)
        if xlabel is None:
            xlabel = feature_name or "x"
        disp = cls(
            x_grid=x_grid,
            y_grid=y_grid,
            density=_density_grid(dist, y_grid),
            x_data=None if y is None else x,
            y_data=y_data,
            xlabel=xlabel,
            ylabel=_target_label(estimator, output, ylabel),
        )
        return disp.plot(
            ax=ax,
            scale=scale,
            colorbar=colorbar,
            mesh_kwargs=mesh_kwargs,
            scatter_kwargs=scatter_kwargs,
        )


# -- joint density of two targets -------------------------------------------------


class JointDensityDisplay:
    """Heat map of two targets' joint conditional density at one input.

    For a multi-output model, ``p(y_a, y_b | x)`` over a grid of the two
    targets ``outputs = (a, b)`` (the others integrated out, exactly): a
    tilted ellipse shows targets correlated within a component (fitted with
    ``covariance_type='full'``), several blobs show modes. Build it with
    :meth:`from_estimator` or, for any one-row distribution (e.g. after
    :meth:`~skmdn.MixtureDistribution.condition`), :meth:`from_predictions`.

    Parameters
    ----------
    grid0 : ndarray of shape (n_0,)
        Values of the first target (the horizontal axis), increasing.
    grid1 : ndarray of shape (n_1,)
        Values of the second target (the vertical axis), increasing.
    density : ndarray of shape (n_1, n_0)
        ``p(grid0[j], grid1[i] | x)`` at row ``i``, column ``j``.
    y_data : ndarray of shape (n_samples, 2), default=None
        Pairs of targets to overlay (e.g. data near the input, or draws).
    xlabel : str, default='y[0]'
        Label of the first target.
    ylabel : str, default='y[1]'
        Label of the second target.

    Attributes
    ----------
    mesh_ : matplotlib.collections.QuadMesh
        The heat map.
    scatter_ : matplotlib.collections.PathCollection or None
        The overlaid pairs; None when none are given.
    colorbar_ : matplotlib.colorbar.Colorbar or None
        The colour bar; None when ``colorbar=False``.
    ax_ : matplotlib.axes.Axes
        Axes with the plot.
    figure_ : matplotlib.figure.Figure
        Figure containing the plot.

    See Also
    --------
    ConditionalDensityDisplay : One target's density along a 1-D input.

    Examples
    --------
    >>> from skmdn import MDNRegressor
    >>> from skmdn.datasets import make_correlated_targets
    >>> from skmdn.plotting import JointDensityDisplay
    >>> X, y = make_correlated_targets(n_samples=300, random_state=0)
    >>> est = MDNRegressor(n_components=2, covariance_type="full", max_iter=20,
    ...                    random_state=0).fit(X, y)
    >>> disp = JointDensityDisplay.from_estimator(est, [0.5], grid_resolution=50)
    >>> disp.density.shape
    (50, 50)
    """

    def __init__(
        self, *, grid0, grid1, density, y_data=None, xlabel="y[0]", ylabel="y[1]"
    ):
        self.grid0 = grid0
        self.grid1 = grid1
        self.density = density
        self.y_data = y_data
        self.xlabel = xlabel
        self.ylabel = ylabel

    def plot(self, ax=None, *, colorbar=True, mesh_kwargs=None, scatter_kwargs=None):
        """Draw the heat map and the pairs.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        colorbar : bool, default=True
            Whether to add a colour bar of the density.
        mesh_kwargs : dict, default=None
            Keyword arguments for :meth:`matplotlib.axes.Axes.pcolormesh`.
        scatter_kwargs : dict, default=None
            Keyword arguments for the pairs'
            :meth:`matplotlib.axes.Axes.scatter`.

        Returns
        -------
        display : JointDensityDisplay
            Object that stores the computed values and the artists.
        """
        ax = _get_ax(ax)
        mesh_kwargs = {"cmap": "viridis", "shading": "auto", **(mesh_kwargs or {})}
        self.mesh_ = ax.pcolormesh(self.grid0, self.grid1, self.density, **mesh_kwargs)
        self.scatter_ = None
        if self.y_data is not None:
            scatter_kwargs = {
                "s": 4,
                "c": "white",
                "alpha": 0.5,
                "linewidths": 0,
                "label": "data",
                **(scatter_kwargs or {}),
            }
            y = np.asarray(self.y_data)
            self.scatter_ = ax.scatter(y[:, 0], y[:, 1], **scatter_kwargs)
        self.colorbar_ = None
        if colorbar:
            self.colorbar_ = ax.figure.colorbar(self.mesh_, ax=ax)
            self.colorbar_.set_label(f"p({self.xlabel}, {self.ylabel} | x)")
        ax.set_xlim(self.grid0[0], self.grid0[-1])
        ax.set_ylim(self.grid1[0], self.grid1[-1])
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls,
        y_dist,
        y=None,
        *,
        outputs=(0, 1),
        grid_resolution=200,
        ranges=None,
        ax=None,
        colorbar=True,
        mesh_kwargs=None,
        scatter_kwargs=None,
        xlabel=None,
        ylabel=None,
    ):
        """Plot the joint density of two targets of a one-row distribution.

        Parameters
        ----------
        y_dist : MixtureDistribution
            One row (e.g. ``est.predict_dist(x)`` for one input, or a
            :meth:`~skmdn.MixtureDistribution.condition` of it) with at least
            two targets.
        y : array-like of shape (n_samples, n_outputs), default=None
            Targets to overlay; their columns ``outputs`` are drawn.
        outputs : tuple of two int, default=(0, 1)
            The two targets, horizontal then vertical.
        grid_resolution : int, default=200
            Number of grid points along each axis.
        ranges : tuple of two (min, max) tuples, default=None
            The axes' ranges; None covers the central 99.5% of each
            target's marginal and the overlaid pairs, with a small margin.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        colorbar : bool, default=True
            Whether to add a colour bar of the density.
        mesh_kwargs : dict, default=None
            Keyword arguments for :meth:`matplotlib.axes.Axes.pcolormesh`.
        scatter_kwargs : dict, default=None
            Keyword arguments for the pairs'
            :meth:`matplotlib.axes.Axes.scatter`.
        xlabel, ylabel : str, default=None
            Labels of the two targets; None uses ``'y[a]'`` and ``'y[b]'``.

        Returns
        -------
        display : JointDensityDisplay
            Object that stores the computed values and the artists.

        Raises
        ------
        ValueError
            If ``y_dist`` does not have exactly one row, or ``outputs`` does
            not name two distinct targets.
        """
        if not isinstance(y_dist, MixtureDistribution):
            raise TypeError(
                f"y_dist must be a MixtureDistribution; got {type(y_dist).__name__}."
            )
        if len(y_dist) != 1:
            raise ValueError(
                f"y_dist must hold one row (one input); got {len(y_dist)} rows."
            )
        D = y_dist.n_outputs
        if D < 2:
            raise ValueError(
                "JointDensityDisplay needs a distribution of at least two targets; "
                f"this one has {D}."
            )
        outputs = tuple(outputs)
        if (
            len(outputs) != 2
            or any(not isinstance(o, Integral) or not -D <= o < D for o in outputs)
            or outputs[0] % D == outputs[1] % D
        ):
            raise ValueError(
                f"outputs must name two distinct targets of the {D}; got {outputs!r}."
            )
        pair = y_dist.marginal(list(outputs))
        y_data = None
        if y is not None:
            y_data = np.asarray(y, dtype=np.float64)
            if y_data.ndim != 2 or y_data.shape[1] != D:
                raise ValueError(
                    f"y must have shape (n_samples, {D}); got {y_data.shape}."
                )
            y_data = y_data[:, list(outputs)]
            if not np.isfinite(y_data).all():
                raise ValueError("y must be finite to be drawn.")
        if ranges is None:
            lower, upper = pair.interval(0.995)
            lo, hi = lower[0], upper[0]
            if y_data is not None and len(y_data):
                lo = np.minimum(lo, y_data.min(0))
                hi = np.maximum(hi, y_data.max(0))
            ranges = [_padded(lo[d], hi[d]) for d in range(2)]
        grid0 = np.linspace(ranges[0][0], ranges[0][1], grid_resolution)
        grid1 = np.linspace(ranges[1][0], ranges[1][1], grid_resolution)
        g0, g1 = np.meshgrid(grid0, grid1)
        points = np.column_stack([g0.ravel(), g1.ravel()])
        density = np.exp(pair.cross_logpdf(points)[0]).reshape(g0.shape)
        disp = cls(
            grid0=grid0,
            grid1=grid1,
            density=density,
            y_data=y_data,
            xlabel=f"y[{outputs[0]}]" if xlabel is None else xlabel,
            ylabel=f"y[{outputs[1]}]" if ylabel is None else ylabel,
        )
        return disp.plot(
            ax=ax,
            colorbar=colorbar,
            mesh_kwargs=mesh_kwargs,
            scatter_kwargs=scatter_kwargs,
        )

    @classmethod
    def from_estimator(
        cls,
        estimator,
        x,
        y=None,
        *,
        outputs=(0, 1),
        grid_resolution=200,
        ranges=None,
        ax=None,
        colorbar=True,
        mesh_kwargs=None,
        scatter_kwargs=None,
        xlabel=None,
        ylabel=None,
    ):
        """Plot a fitted model's joint density of two targets at one input.

        Parameters
        ----------
        estimator : estimator instance
            Fitted :class:`~skmdn.MDNRegressor` with at least two targets, or
            a pipeline or search ending in one.
        x : array-like of shape (n_features,) or (1, n_features)
            The input (a one-row DataFrame is passed on as it is).
        y : array-like of shape (n_samples, n_outputs), default=None
            Targets to overlay, e.g. the data of inputs near ``x``.
        outputs : tuple of two int, default=(0, 1)
            The two targets, horizontal then vertical.
        grid_resolution : int, default=200
            Number of grid points along each axis.
        ranges : tuple of two (min, max) tuples, default=None
            The axes' ranges; None covers the central 99.5% of each target's
            marginal and the overlaid pairs.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        colorbar : bool, default=True
            Whether to add a colour bar of the density.
        mesh_kwargs : dict, default=None
            Keyword arguments for :meth:`matplotlib.axes.Axes.pcolormesh`.
        scatter_kwargs : dict, default=None
            Keyword arguments for the pairs'
            :meth:`matplotlib.axes.Axes.scatter`.
        xlabel, ylabel : str, default=None
            Labels of the two targets; None uses ``'y[a]'`` and ``'y[b]'``.

        Returns
        -------
        display : JointDensityDisplay
            Object that stores the computed values and the artists.
        """
        if not hasattr(x, "columns"):
            x = np.asarray(x, dtype=np.float64)
            if x.ndim > 2 or (x.ndim == 2 and x.shape[0] != 1):
                raise ValueError(
                    "x must be one input, of shape (n_features,) or (1, n_features); "
                    f"got shape {x.shape}."
                )
            x = x.reshape(1, -1)
        return cls.from_predictions(
            predict_dist(estimator, x),
            y,
            outputs=outputs,
            grid_resolution=grid_resolution,
            ranges=ranges,
            ax=ax,
            colorbar=colorbar,
            mesh_kwargs=mesh_kwargs,
            scatter_kwargs=scatter_kwargs,
            xlabel=xlabel,
            ylabel=ylabel,
        )


# -- fan chart ---------------------------------------------------------------------


class PredictionIntervalDisplay:
    """Fan chart of predictive sets along a 1-D input.

    Nested prediction sets of the predicted distribution are shaded from the
    widest (lightest) to the narrowest (darkest), with a central line and the
    data on top. Build it with :meth:`from_estimator` or
    :meth:`from_predictions`.

    Two kinds of set can be drawn. Highest-density (HPD) sets
    (``kind='hpd'``, the default) are the shortest sets that hold the given
    probability: where the distribution has several modes they are several
    disjoint intervals, one around each branch, and the gaps between
    branches stay empty. Their centre line is the mode. They are found on a
    fine grid of 1000 targets per input, which places their ends to about a
    thousandth of each distribution's range (below what a plot shows), in a
    fraction of the time that :meth:`skmdn.MixtureDistribution.hpd` takes to
    solve for them exactly.
    Equal-tailed intervals (``kind='equal_tailed'``) run between two
    quantiles; they are single intervals, so on multimodal data they span the
    gaps. Their centre line is the median.

    Parameters
    ----------
    x : ndarray of shape (n_points,)
        Input values, increasing.
    lower : ndarray of shape (n_intervals, n_points)
        Lower ends of the sets, one row per confidence level (for HPD sets,
        the lowest end of the set's intervals).
    upper : ndarray of shape (n_intervals, n_points)
        Upper ends of the sets (for HPD sets, the highest end).
    confidences : ndarray of shape (n_intervals,)
        Confidence level of each set, in (0, 1).
    median : ndarray of shape (n_points,), default=None
        Predictive median, drawn as a line; None leaves it out.
    mean : ndarray of shape (n_points,), default=None
        Predictive mean; None leaves it out.
    mode : ndarray of shape (n_points,), default=None
        Predictive mode, drawn as dots (it jumps between branches); None
        leaves it out.
    sets : list of list of ndarray, default=None
        Highest-density sets: ``sets[i][j]`` holds the disjoint intervals
        of confidence ``confidences[i]`` at ``x[j]``, as rows
        ``[lower, upper]`` (as :meth:`skmdn.MixtureDistribution.hpd`
        returns them). When given, the bands are drawn from them; None draws
        the single intervals ``[lower, upper]``.
    x_data : ndarray of shape (n_samples,), default=None
        Inputs of the data to overlay.
    y_data : ndarray of shape (n_samples,), default=None
        Targets of the data to overlay.
    xlabel : str, default='x'
        Label of the input axis.
    ylabel : str, default='y'
        Label of the target axis.

    Attributes
    ----------
    bands_ : list of matplotlib.collections.PolyCollection
        One shaded band per confidence level, in the order of
        ``confidences``.
    median_line_ : matplotlib.lines.Line2D or None
        The median; None when it is not drawn.
    mean_line_ : matplotlib.lines.Line2D or None
        The mean; None when it is not drawn.
    mode_line_ : matplotlib.lines.Line2D or None
        The mode (dots); None when it is not drawn.
    scatter_ : matplotlib.collections.PathCollection or None
        The overlaid data; None when no data are given.
    ax_ : matplotlib.axes.Axes
        Axes with the plot.
    figure_ : matplotlib.figure.Figure
        Figure containing the plot.

    See Also
    --------
    ConditionalDensityDisplay : The whole conditional density as a heat map.
    skmdn.MixtureDistribution.hpd : The highest-density sets drawn here.
    skmdn.MixtureDistribution.interval : The equal-tailed intervals.

    Examples
    --------
    >>> from skmdn import MDNRegressor
    >>> from skmdn.datasets import make_inverse_sine
    >>> from skmdn.plotting import PredictionIntervalDisplay
    >>> X, y = make_inverse_sine(n_samples=300, random_state=0)
    >>> est = MDNRegressor(n_components=3, max_iter=20, random_state=0).fit(X, y)
    >>> disp = PredictionIntervalDisplay.from_estimator(
    ...     est, X, y, confidences=(0.5, 0.9))
    >>> disp.lower.shape
    (2, 200)
    >>> len(disp.bands_)
    2
    >>> disp.sets[1][100]  # the 90% set at the 101st input: rows [lower, upper]
    array([[...]])
    """

    def __init__(
        self,
        *,
        x,
        lower,
        upper,
        confidences,
        median=None,
        mean=None,
        mode=None,
        sets=None,
        x_data=None,
        y_data=None,
        xlabel="x",
        ylabel="y",
    ):
        self.x = x
        self.lower = lower
        self.upper = upper
        self.confidences = confidences
        self.median = median
        self.mean = mean
        self.mode = mode
        self.sets = sets
        self.x_data = x_data
        self.y_data = y_data
        self.xlabel = xlabel
        self.ylabel = ylabel

    def plot(self, ax=None, *, color="C0", scatter_kwargs=None, legend=True):
        """Draw the sets, the centre lines and the data.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        color : color, default='C0'
            Colour of the bands and of the median or mode.
        scatter_kwargs : dict, default=None
            Keyword arguments for the data's
            :meth:`matplotlib.axes.Axes.scatter`.
        legend : bool, default=True
            Whether to add a legend.

        Returns
        -------
        display : PredictionIntervalDisplay
            Object that stores the computed values and the artists.
        """
        from matplotlib.collections import PolyCollection

        ax = _get_ax(ax)
        x = np.asarray(self.x, dtype=np.float64)
        confidences = np.asarray(self.confidences, dtype=np.float64)
        self.scatter_ = None
        if self.x_data is not None and self.y_data is not None:
            # Below the bands, and fainter and smaller the more points there
            # are, so that thousands of them do not hide the bands.
            n = max(np.size(self.y_data), 1)
            scatter_kwargs = {
                "s": float(np.clip(4 * np.sqrt(500 / n), 1.5, 4)),
                "c": "0.3",
                "alpha": float(np.clip(1000 / n, 0.2, 0.5)),
                "linewidths": 0,
                "zorder": 0.5,
                "label": "data",
                **(scatter_kwargs or {}),
            }
            self.scatter_ = ax.scatter(self.x_data, self.y_data, **scatter_kwargs)
        what = "interval" if self.sets is None else "HPD set"
        # Draw the widest first so that the narrower bands sit on top of it.
        order = np.argsort(-confidences)
        alphas = np.linspace(0.2, 0.5, len(order)) if len(order) > 1 else [0.35]
        bands = [None] * len(confidences)
        for alpha, i in zip(alphas, order, strict=True):
            label = f"{confidences[i]:.0%} {what}"
            if self.sets is None:
                bands[i] = ax.fill_between(
                    x,
                    self.lower[i],
                    self.upper[i],
                    color=color,
                    alpha=alpha,
                    linewidth=0,
                    label=label,
                )
            else:
                # One rectangle per input and interval, each as wide as the
                # input's share of the axis; not antialiased, so that
                # neighbouring rectangles meet without seams.
                bands[i] = ax.add_collection(
                    PolyCollection(
                        _set_rectangles(x, self.sets[i]),
                        facecolors=color,
                        alpha=alpha,
                        linewidths=0,
                        antialiaseds=False,
                        label=label,
                    )
                )
        self.bands_ = bands
        self.median_line_ = self.mean_line_ = self.mode_line_ = None
        if self.median is not None:
            (self.median_line_,) = ax.plot(x, self.median, color=color, label="median")
        if self.mode is not None:
            (self.mode_line_,) = ax.plot(
                x, self.mode, ".", color=color, markersize=3, label="mode"
            )
        if self.mean is not None:
            (self.mean_line_,) = ax.plot(
                x, self.mean, color="k", linestyle="--", label="mean"
            )
        ax.autoscale_view()
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        if legend:
            ax.legend(loc="best")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def _from_dist(cls, x, dist, confidences, show_mean, kind, **kwargs):
        if kind not in _INTERVAL_KINDS:
            raise ValueError(f"kind must be one of {_INTERVAL_KINDS}; got {kind!r}.")
        confidences = np.atleast_1d(np.asarray(confidences, dtype=np.float64))
        if confidences.ndim != 1 or not ((confidences > 0) & (confidences < 1)).all():
            raise ValueError(
                f"confidences must lie strictly between 0 and 1; got {confidences}."
            )
        if kind == "hpd":
            sets = dist._grid_hpd(confidences)
            lower = np.array([[s[0, 0] for s in level] for level in sets])
            upper = np.array([[s[-1, 1] for s in level] for level in sets])
            centre = {"mode": dist.mode()}
        else:
            sets = None
            bounds = [dist.interval(c) for c in confidences]
            lower = np.array([b[0] for b in bounds])
            upper = np.array([b[1] for b in bounds])
            centre = {"median": dist.ppf(0.5)}
        return cls(
            x=x,
            lower=lower,
            upper=upper,
            confidences=confidences,
            mean=dist.mean() if show_mean else None,
            sets=sets,
            **centre,
            **kwargs,
        )

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        confidences=(0.5, 0.8, 0.95),
        kind="hpd",
        output=0,
        show_mean=True,
        grid_resolution=200,
        ax=None,
        color="C0",
        scatter_kwargs=None,
        xlabel=None,
        ylabel=None,
    ):
        """Compute predictive sets of a fitted model on a grid and plot them.

        Parameters
        ----------
        estimator : estimator instance
            Fitted :class:`~skmdn.MDNRegressor`, or a pipeline or search
            ending in one, trained on a single input feature.
        X : array-like of shape (n_samples, 1)
            Inputs; their range sets the input axis.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), \
                default=None
            Targets to overlay; None draws the sets alone.
        confidences : array-like of float, default=(0.5, 0.8, 0.95)
            Confidence levels of the nested sets.
        kind : {'hpd', 'equal_tailed'}, default='hpd'
            Highest-density sets (one interval per branch, centred on the
            mode) or equal-tailed intervals (between two quantiles, centred
            on the median).
        output : int, default=0
            Target whose (marginal) sets are drawn, for multi-output models.
        show_mean : bool, default=True
            Whether to draw the predictive mean as well.
        grid_resolution : int, default=200
            Number of input values along the grid.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        color : color, default='C0'
            Colour of the bands and of the median or mode.
        scatter_kwargs : dict, default=None
            Keyword arguments for the data's
            :meth:`matplotlib.axes.Axes.scatter`.
        xlabel : str, default=None
            Label of the input axis; None uses the feature's name or ``'x'``.
        ylabel : str, default=None
            Label of the target axis; None uses ``'y'`` (``'y[output]'`` for
            multi-output models).

        Returns
        -------
        display : PredictionIntervalDisplay
            Object that stores the computed values and the artists.
        """
        x, feature_name = _single_feature(X)
        x_grid = np.linspace(x.min(), x.max(), grid_resolution)
        dist = _marginal(predict_dist(estimator, _grid_like(X, x_grid)), output)
        disp = cls._from_dist(
            x_grid,
            dist,
            confidences,
            show_mean,
            kind,
            x_data=None if y is None else x,
            y_data=None if y is None else _target_column(y, output),
            xlabel=xlabel if xlabel is not None else (feature_name or "x"),
            ylabel=_target_label(estimator, output, ylabel),
        )
        return disp.plot(ax=ax, color=color, scatter_kwargs=scatter_kwargs)

    @classmethod
    def from_predictions(
        cls,
        x,
        y_dist,
        y_true=None,
        *,
        confidences=(0.5, 0.8, 0.95),
        kind="hpd",
        output=0,
        show_mean=True,
        ax=None,
        color="C0",
        scatter_kwargs=None,
        xlabel="x",
        ylabel="y",
    ):
        """Plot predictive sets of given distributions against a 1-D input.

        Use it when the model has several input features: pass the feature
        (or any 1-D quantity) to draw along as ``x``.

        Parameters
        ----------
        x : array-like of shape (n_samples,)
            Values along the horizontal axis, one per row of ``y_dist``; rows
            are sorted by it.
        y_dist : MixtureDistribution
            Predicted distributions, e.g. ``estimator.predict_dist(X)``.
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs), \
                default=None
            Observed targets to overlay; None draws the sets alone.
        confidences : array-like of float, default=(0.5, 0.8, 0.95)
            Confidence levels of the nested sets.
        kind : {'hpd', 'equal_tailed'}, default='hpd'
            Highest-density sets (one interval per branch, centred on the
            mode) or equal-tailed intervals (between two quantiles, centred
            on the median).
        output : int, default=0
            Target whose (marginal) sets are drawn, for multi-output
            distributions.
        show_mean : bool, default=True
            Whether to draw the predictive mean as well.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        color : color, default='C0'
            Colour of the bands and of the median or mode.
        scatter_kwargs : dict, default=None
            Keyword arguments for the data's
            :meth:`matplotlib.axes.Axes.scatter`.
        xlabel : str, default='x'
            Label of the horizontal axis.
        ylabel : str, default='y'
            Label of the target axis.

        Returns
        -------
        display : PredictionIntervalDisplay
            Object that stores the computed values and the artists.
        """
        x = np.asarray(x, dtype=np.float64).ravel()
        dist = _marginal(y_dist, output)
        if len(x) != len(dist):
            raise ValueError(f"x has {len(x)} values but y_dist has {len(dist)} rows.")
        order = np.argsort(x, kind="stable")
        y_data = None if y_true is None else _target_column(y_true, output, "y_true")
        disp = cls._from_dist(
            x[order],
            dist[order],
            confidences,
            show_mean,
            kind,
            x_data=None if y_true is None else x,
            y_data=y_data,
            xlabel=xlabel,
            ylabel=ylabel,
        )
        return disp.plot(ax=ax, color=color, scatter_kwargs=scatter_kwargs)


def _set_rectangles(x, sets):
    """Rectangles (as vertex arrays) covering each input's share of the sets."""
    edges = np.empty(len(x) + 1)
    edges[1:-1] = 0.5 * (x[1:] + x[:-1])
    edges[0], edges[-1] = x[0], x[-1]
    if len(x) == 1:
        edges[0], edges[-1] = x[0] - 0.5, x[0] + 0.5
    counts = np.array([len(s) for s in sets])
    intervals = np.concatenate(sets, axis=0)
    left = np.repeat(edges[:-1], counts)
    right = np.repeat(edges[1:], counts)
    lo, hi = intervals[:, 0], intervals[:, 1]
    return np.stack(
        [
            np.column_stack([left, lo]),
            np.column_stack([right, lo]),
            np.column_stack([right, hi]),
            np.column_stack([left, hi]),
        ],
        axis=1,
    )


# -- PIT histogram -----------------------------------------------------------------


class PITDisplay:
    """Histogram of probability integral transform (PIT) values.

    The PIT value of an observation is the predicted cdf at the observed
    target, ``F_i(y_i)``. If the predicted distributions are calibrated the
    PIT values are uniform on [0, 1] and the histogram is flat, within the
    shaded band that a uniform sample of the same size stays inside with
    probability ``confidence`` (bin by bin). A U shape means the predictions
    are too narrow, a hump that they are too wide, and a slope that they are
    biased. Build it with :meth:`from_estimator` or :meth:`from_predictions`.

    Parameters
    ----------
    pit : ndarray of shape (n_samples,)
        PIT values, in [0, 1].
    n_bins : int, default=10
        Number of equal-width bins.
    confidence : float, default=0.95
        Probability that a bin's height under uniform PIT values falls inside
        the band.

    Attributes
    ----------
    bin_edges : ndarray of shape (n_bins + 1,)
        Edges of the bins.
    heights : ndarray of shape (n_bins,)
        Height of each bar, as a density (1 for uniform values).
    band : tuple of float
        ``(lower, upper)`` heights of the band under uniform PIT values.
    bars_ : matplotlib.container.BarContainer
        The histogram's bars.
    band_ : matplotlib.patches.Rectangle
        The shaded band.
    uniform_line_ : matplotlib.lines.Line2D
        The line at the uniform density, 1.
    ax_ : matplotlib.axes.Axes
        Axes with the plot.
    figure_ : matplotlib.figure.Figure
        Figure containing the plot.

    See Also
    --------
    skmdn.MixtureDistribution.cdf : The predicted cdf that gives PIT values.

    Examples
    --------
    >>> from skmdn import MDNRegressor
    >>> from skmdn.datasets import make_inverse_sine
    >>> from skmdn.plotting import PITDisplay
    >>> X, y = make_inverse_sine(n_samples=300, random_state=0)
    >>> est = MDNRegressor(n_components=3, max_iter=20, random_state=0).fit(X, y)
    >>> disp = PITDisplay.from_estimator(est, X, y, n_bins=5)
    >>> disp.heights.shape
    (5,)
    >>> disp.ax_.get_xlabel()
    'PIT value'
    """

    def __init__(self, *, pit, n_bins=10, confidence=0.95):
        self.pit = pit
        self.n_bins = n_bins
        self.confidence = confidence
        pit = np.asarray(pit, dtype=np.float64).ravel()
        n_bins = int(n_bins)
        if n_bins < 1:
            raise ValueError(f"n_bins must be a positive integer; got {n_bins}.")
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must lie in (0, 1); got {confidence}.")
        if len(pit) == 0:
            raise ValueError("pit must hold at least one value.")
        self.bin_edges = np.linspace(0.0, 1.0, n_bins + 1)
        counts, _ = np.histogram(np.clip(pit, 0.0, 1.0), bins=self.bin_edges)
        scale = n_bins / len(pit)
        self.heights = counts * scale
        tail = (1 - confidence) / 2
        lo, hi = binom.ppf([tail, 1 - tail], len(pit), 1 / n_bins)
        self.band = (float(lo * scale), float(hi * scale))

    def plot(self, ax=None, *, color="C0", legend=True):
        """Draw the histogram, the band and the uniform line.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        color : color, default='C0'
            Colour of the bars.
        legend : bool, default=True
            Whether to add a legend.

        Returns
        -------
        display : PITDisplay
            Object that stores the computed values and the artists.
        """
        ax = _get_ax(ax)
        widths = np.diff(self.bin_edges)
        # The band is drawn over the bars (zorder), so that it shows where a
        # bar leaves it; the legend sits in head room above the bars.
        self.band_ = ax.axhspan(
            *self.band,
            facecolor="0.4",
            edgecolor="0.2",
            alpha=0.3,
            linewidth=0.8,
            zorder=2.5,
            label=f"{self.confidence:.0%} band if calibrated",
        )
        self.bars_ = ax.bar(
            self.bin_edges[:-1],
            self.heights,
            width=widths,
            align="edge",
            color=color,
            alpha=0.8,
            edgecolor="white",
            label="PIT histogram",
        )
        self.uniform_line_ = ax.axhline(1.0, color="k", linestyle="--", linewidth=1)
        ax.set_xlim(0.0, 1.0)
        top = max(self.heights.max(), self.band[1])
        ax.set_ylim(0.0, top * (1.35 if legend else 1.1))
        ax.set_xlabel("PIT value")
        ax.set_ylabel("density")
        if legend:
            ax.legend(loc="upper center", ncols=2, frameon=False)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls, y_true, y_dist, *, output=0, n_bins=10, confidence=0.95, ax=None
    ):
        """Plot the PIT histogram of observed targets under given distributions.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Observed targets, one per row of ``y_dist``.
        y_dist : MixtureDistribution
            Predicted distributions, e.g. ``estimator.predict_dist(X)``.
        output : int, default=0
            Target whose marginal PIT values are drawn, for multi-output
            distributions.
        n_bins : int, default=10
            Number of equal-width bins.
        confidence : float, default=0.95
            Probability that a bin's height under uniform PIT values falls
            inside the band.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.

        Returns
        -------
        display : PITDisplay
            Object that stores the computed values and the artists.
        """
        dist = _marginal(y_dist, output)
        y = _target_column(y_true, output, "y_true")
        if len(y) != len(dist):
            raise ValueError(
                f"y_true has {len(y)} rows but y_dist has {len(dist)} rows."
            )
        disp = cls(pit=dist.cdf(y), n_bins=n_bins, confidence=confidence)
        return disp.plot(ax=ax)

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, output=0, n_bins=10, confidence=0.95, ax=None
    ):
        """Plot the PIT histogram of a fitted model on data.

        Parameters
        ----------
        estimator : estimator instance
            Fitted :class:`~skmdn.MDNRegressor`, or a pipeline or search
            ending in one.
        X : array-like of shape (n_samples, n_features)
            Inputs, preferably held out from training.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Observed targets.
        output : int, default=0
            Target whose marginal PIT values are drawn, for multi-output
            models.
        n_bins : int, default=10
            Number of equal-width bins.
        confidence : float, default=0.95
            Probability that a bin's height under uniform PIT values falls
            inside the band.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.

        Returns
        -------
        display : PITDisplay
            Object that stores the computed values and the artists.
        """
        return cls.from_predictions(
            y,
            predict_dist(estimator, X),
            output=output,
            n_bins=n_bins,
            confidence=confidence,
            ax=ax,
        )


# -- loss curves -------------------------------------------------------------------


class LossCurveDisplay:
    """Training loss and validation loss per epoch.

    Both curves are mean negative log-likelihoods per row in the original
    target units (the training loss also includes the L2 penalty), so they
    share an axis; lower is better. The validation curve exists only for
    models fitted with ``early_stopping=True``; its best epoch, whose weights
    the model keeps, is marked. An ensemble (``n_networks_ > 1``) draws one
    curve of each kind per network. Build it with :meth:`from_estimator`.

    Parameters
    ----------
    loss_curve : ndarray of shape (n_epochs,) or list of such arrays
        Training loss per epoch, or one such curve per network.
    validation_loss : ndarray of shape (n_epochs,) or list of such arrays, \
            default=None
        Validation negative log-likelihood per epoch (per network); None
        when there is no validation set.

    Attributes
    ----------
    train_line_ : matplotlib.lines.Line2D or list of Line2D
        The training curve; a list with one per network for several curves.
    validation_line_ : matplotlib.lines.Line2D, list of Line2D or None
        The validation curve(s); None without validation losses.
    best_line_ : matplotlib.lines.Line2D, list of Line2D or None
        Vertical line(s) at the best validation epoch; None without
        validation losses.
    ax_ : matplotlib.axes.Axes
        Axes with the plot.
    figure_ : matplotlib.figure.Figure
        Figure containing the plot.

    See Also
    --------
    skmdn.MDNRegressor : Its ``loss_curve_`` and ``validation_scores_`` are
        drawn here.

    Examples
    --------
    >>> from skmdn import MDNRegressor
    >>> from skmdn.datasets import make_inverse_sine
    >>> from skmdn.plotting import LossCurveDisplay
    >>> X, y = make_inverse_sine(n_samples=300, random_state=0)
    >>> est = MDNRegressor(max_iter=20, early_stopping=True, random_state=0)
    >>> disp = LossCurveDisplay.from_estimator(est.fit(X, y))
    >>> disp.ax_.get_xlabel()
    'epoch'
    """

    def __init__(self, *, loss_curve, validation_loss=None):
        self.loss_curve = loss_curve
        self.validation_loss = validation_loss

    def plot(self, ax=None, *, legend=True):
        """Draw the loss curves.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        legend : bool, default=True
            Whether to add a legend.

        Returns
        -------
        display : LossCurveDisplay
            Object that stores the computed values and the artists.
        """
        ax = _get_ax(ax)
        losses = _curves(self.loss_curve)
        single = len(losses) == 1
        suffix = "" if single else f" ({len(losses)} networks)"
        alpha = 1.0 if single else 0.6
        train_lines = [
            ax.plot(
                np.arange(1, len(loss) + 1),
                loss,
                color="C0",
                alpha=alpha,
                label="training loss" + suffix if i == 0 else "_nolegend_",
            )[0]
            for i, loss in enumerate(losses)
        ]
        self.train_line_ = train_lines[0] if single else train_lines
        self.validation_line_ = self.best_line_ = None
        if self.validation_loss is not None:
            val_lines, best_lines = [], []
            for i, val in enumerate(_curves(self.validation_loss)):
                val_epochs = np.arange(1, len(val) + 1)
                val_lines.append(
                    ax.plot(
                        val_epochs,
                        val,
                        color="C1",
                        alpha=alpha,
                        label="validation loss" + suffix if i == 0 else "_nolegend_",
                    )[0]
                )
                best = int(val_epochs[np.nanargmin(val)])
                label = f"best epoch ({best})" if single else "best epochs"
                best_lines.append(
                    ax.axvline(
                        best,
                        color="0.4",
                        linestyle=":",
                        linewidth=1,
                        label=label if i == 0 else "_nolegend_",
                    )
                )
            self.validation_line_ = val_lines[0] if single else val_lines
            self.best_line_ = best_lines[0] if single else best_lines
        ax.set_xlabel("epoch")
        ax.set_ylabel("negative log-likelihood per row")
        if legend:
            ax.legend(loc="best")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the loss curves of a fitted model.

        Parameters
        ----------
        estimator : estimator instance
            Fitted :class:`~skmdn.MDNRegressor`, or a pipeline or search
            ending in one.
        ax : matplotlib.axes.Axes, default=None
            Axes to draw on; None creates a new figure and axes.

        Returns
        -------
        display : LossCurveDisplay
            Object that stores the computed values and the artists.
        """
        model = final_estimator(estimator)
        if not hasattr(model, "loss_curve_"):
            check_is_fitted(model)
            raise TypeError(
                "estimator must be an MDNRegressor (or a pipeline or search ending "
                f"in one) with a loss_curve_; got {type(model).__name__}."
            )
        # one curve per network: each network's own history
        networks = getattr(model, "networks_", None) or [
            Bunch(
                loss_curve=model.loss_curve_,
                validation_scores=getattr(model, "validation_scores_", None),
            )
        ]
        losses = [np.asarray(net.loss_curve, dtype=np.float64) for net in networks]
        val = None
        if networks[0].validation_scores is not None:
            val = [-np.asarray(net.validation_scores) for net in networks]
        if len(losses) == 1:
            losses, val = losses[0], None if val is None else val[0]
        return cls(loss_curve=losses, validation_loss=val).plot(ax=ax)


def _curves(values):
    """One float array per curve, from a curve or a list of curves."""
    if len(values) and np.ndim(values[0]) == 0:
        return [np.asarray(values, dtype=np.float64)]
    return [np.asarray(curve, dtype=np.float64) for curve in values]
