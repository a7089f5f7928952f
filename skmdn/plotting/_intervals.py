"""The prediction-interval display (fan charts and HPD sets)."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skmdn._unwrap import predict_dist
from skmdn.plotting._common import (
    _INTERVAL_KINDS,
    _get_ax,
    _grid_like,
    _is_discrete,
    _marginal,
    _single_feature,
    _target_column,
    _target_label,
)


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

    For integer targets (a :class:`~skmdn.DiscretisedMixture`) the sets are
    exact sets of integers (closed runs ``[lower, upper]``: the HPD sets of
    :meth:`skmdn.DiscretisedMixture.hpd`, the intervals of
    :meth:`skmdn.DiscretisedMixture.interval`), and each band covers the unit
    cells ``[k - 1/2, k + 1/2]`` of the integers it holds, so that a set of
    one integer still shows.

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
    discrete : bool, default=False
        Whether the targets are integers and the sets closed runs of
        integers: the bands then reach half an integer beyond their ends.

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
        discrete=False,
    ):
        self.discrete = discrete
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
        ax = _get_ax(ax)
        x = np.asarray(self.x, dtype=np.float64)
        self.scatter_ = self._draw_data(ax, scatter_kwargs)
        bands = self._draw_bands(ax, x, color)
        self.bands_ = bands
        self.median_line_ = self.mean_line_ = self.mode_line_ = None
        if self.median is not None:
            # an integer median jumps from one integer to the next: steps
            style = "steps-mid" if self.discrete else "default"
            (self.median_line_,) = ax.plot(
                x, self.median, color=color, label="median", drawstyle=style
            )
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

    def _draw_data(self, ax, scatter_kwargs):
        """Draw the data below the bands; return the scatter (or None)."""
        if self.x_data is None or self.y_data is None:
            return None
        # Below the bands, and fainter and smaller the more points there are,
        # so that thousands of them do not hide the bands.
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
        return ax.scatter(self.x_data, self.y_data, **scatter_kwargs)

    def _draw_bands(self, ax, x, color):
        """Draw one band per level, the widest first; return them in level order."""
        from matplotlib.collections import PolyCollection

        confidences = np.asarray(self.confidences, dtype=np.float64)
        what = "interval" if self.sets is None else "HPD set"
        # Draw the widest first so that the narrower bands sit on top of it.
        order = np.argsort(-confidences)
        alphas = np.linspace(0.2, 0.5, len(order)) if len(order) > 1 else [0.35]
        bands = [None] * len(confidences)
        pad = 0.5 if self.discrete else 0.0  # the cells of the end integers
        for alpha, i in zip(alphas, order, strict=True):
            label = f"{confidences[i]:.0%} {what}"
            if self.sets is None:
                bands[i] = ax.fill_between(
                    x,
                    np.asarray(self.lower[i]) - pad,
                    np.asarray(self.upper[i]) + pad,
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
                        _set_rectangles(x, self.sets[i], pad),
                        facecolors=color,
                        alpha=alpha,
                        linewidths=0,
                        antialiaseds=False,
                        label=label,
                    )
                )
        return bands

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
            discrete=_is_discrete(dist),
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


def _set_rectangles(x, sets, pad=0.0):
    """Rectangles (as vertex arrays) covering each input's share of the sets.

    ``pad`` widens each interval on both sides (half an integer, so that a
    run of integers covers its cells).
    """
    edges = np.empty(len(x) + 1)
    edges[1:-1] = 0.5 * (x[1:] + x[:-1])
    edges[0], edges[-1] = x[0], x[-1]
    if len(x) == 1:
        edges[0], edges[-1] = x[0] - 0.5, x[0] + 0.5
    counts = np.array([len(s) for s in sets])
    intervals = np.concatenate(sets, axis=0)
    left = np.repeat(edges[:-1], counts)
    right = np.repeat(edges[1:], counts)
    lo, hi = intervals[:, 0] - pad, intervals[:, 1] + pad
    return np.stack(
        [
            np.column_stack([left, lo]),
            np.column_stack([right, lo]),
            np.column_stack([right, hi]),
            np.column_stack([left, hi]),
        ],
        axis=1,
    )
