"""The conditional and joint density displays."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np

from skmdn._distribution import MixtureDistribution
from skmdn._mixture import discrete
from skmdn._unwrap import predict_dist
from skmdn.plotting._common import (
    _DENSITY_SCALES,
    _cell_probabilities,
    _density_grid,
    _get_ax,
    _grid_like,
    _integer_cells,
    _is_discrete,
    _marginal,
    _padded,
    _single_feature,
    _target_column,
    _target_label,
)


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

    For integer targets (a model whose ``predict_dist`` returns a
    :class:`~skmdn.DiscretisedMixture`) the map is not smoothed over the
    targets: each row of the map is a cell of whole integers, one integer
    tall (a bar of the pmf) or, where the range holds more integers than
    ``grid_resolution``, a few integers tall, coloured by its probability per
    integer, and the colour bar reads ``P(y | x)``.

    Parameters
    ----------
    x_grid : ndarray of shape (n_x,)
        Input values (columns of the map), increasing.
    y_grid : ndarray of shape (n_y,)
        Target values (rows of the map), increasing and, for integer
        targets, the evenly spaced centres of the cells.
    density : ndarray of shape (n_y, n_x)
        ``p(y_grid[i] | x_grid[j])``; for integer targets, the probability
        per integer of each cell.
    x_data : ndarray of shape (n_samples,), default=None
        Inputs of the data to overlay.
    y_data : ndarray of shape (n_samples,), default=None
        Targets of the data to overlay.
    xlabel : str, default='x'
        Label of the input axis.
    ylabel : str, default='y'
        Label of the target axis.
    discrete : bool, default=False
        Whether the targets are integers and ``y_grid`` the centres of cells
        of whole integers: the cells are drawn edge to edge (at
        half-integers) and the colour bar shows probabilities.

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
        discrete=False,
    ):
        self.x_grid = x_grid
        self.y_grid = y_grid
        self.density = density
        self.x_data = x_data
        self.y_data = y_data
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.discrete = discrete

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
        letter = "P" if self.discrete else "p"
        label = f"{letter}({self.ylabel} | {self.xlabel})"
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
        ax.set_ylim(*_target_limits(self.y_grid, self.discrete))
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
            For integer targets the axis covers whole integers, one cell
            each unless there are more than ``grid_resolution`` of them.
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
        discrete = _is_discrete(dist)
        if y_range is None:
            lower, upper = dist.interval(0.99)
            lo, hi = lower.min(), upper.max()
            if y_data is not None:
                lo, hi = min(lo, y_data.min()), max(hi, y_data.max())
            y_range = (lo - 1, hi + 1) if discrete else _padded(lo, hi)
        if discrete:
            y_grid, m = _integer_cells(y_range[0], y_range[1], grid_resolution)
            density = _cell_probabilities(dist, y_grid, m)
        else:
            y_grid = np.linspace(y_range[0], y_range[1], grid_resolution)
            density = _density_grid(dist, y_grid)
        if xlabel is None:
            xlabel = feature_name or "x"
        disp = cls(
            x_grid=x_grid,
            y_grid=y_grid,
            density=density,
            x_data=None if y is None else x,
            y_data=y_data,
            xlabel=xlabel,
            ylabel=_target_label(estimator, output, ylabel),
            discrete=discrete,
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

    For integer targets (a :class:`~skmdn.DiscretisedMixture`) the map is
    one cell per pair of integers (or per block of integers, where a range
    holds more than ``grid_resolution``), coloured by its probability per
    pair, not a smoothed density.

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
    discrete : bool, default=False
        Whether the targets are integers and the grids the centres of cells
        of whole integers: the cells are drawn edge to edge and the colour
        bar shows probabilities.

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
        self,
        *,
        grid0,
        grid1,
        density,
        y_data=None,
        xlabel="y[0]",
        ylabel="y[1]",
        discrete=False,
    ):
        self.grid0 = grid0
        self.grid1 = grid1
        self.density = density
        self.y_data = y_data
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.discrete = discrete

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
            letter = "P" if self.discrete else "p"
            self.colorbar_.set_label(f"{letter}({self.xlabel}, {self.ylabel} | x)")
        ax.set_xlim(*_target_limits(self.grid0, self.discrete))
        ax.set_ylim(*_target_limits(self.grid1, self.discrete))
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
        discrete = _is_discrete(pair)
        if discrete:
            (grid0, m0), (grid1, m1) = (
                _integer_cells(r[0], r[1], grid_resolution) for r in ranges
            )
            density = _pair_cells(pair, grid0, m0, grid1, m1)
        else:
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
            discrete=discrete,
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


def _target_limits(grid, discrete):
    """Limits of a target axis: the grid's ends, or its cells' outer edges."""
    if not discrete:
        return grid[0], grid[-1]
    half = 0.5 * (grid[1] - grid[0]) if len(grid) > 1 else 0.5
    return grid[0] - half, grid[-1] + half


def _pair_cells(pair, grid0, m0, grid1, m1):
    """Probability per pair of integers of each cell of two integer targets.

    Shape (n_1, n_0), for a one-row distribution: the components are
    diagonal, so a cell's mass is ``sum_j w_j M_j0 M_j1`` with ``M_jd`` the
    mass of component ``j``'s latent target ``d`` over the cell's integers
    (one integer each: the joint pmf itself), divided by the cell's
    ``m0 * m1`` pairs.
    """
    w, mu, s = pair.weights[0], pair.means[0], pair.scales[0]
    masses = []
    for d, (grid, m) in enumerate(((grid0, m0), (grid1, m1))):
        lo = (grid - m / 2)[None, :]
        hi = (grid + m / 2)[None, :]
        log_mass = discrete.component_log_interval(
            lo, hi, mu[:, d, None], s[:, d, None]
        )
        masses.append(np.exp(log_mass))  # (K, n_d)
    cells = np.einsum("k,ki,kj->ji", w, masses[0], masses[1])
    return cells / (m0 * m1)
