"""Calibration (PIT) and training (loss curve) displays."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from scipy.stats import binom
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from skmdn._unwrap import final_estimator, predict_dist
from skmdn.metrics import _pit_shares
from skmdn.plotting._common import _get_ax, _is_discrete, _marginal, _target_column


class PITDisplay:
    """Histogram of probability integral transform (PIT) values.

    The PIT value of an observation is the predicted cdf at the observed
    target, ``F_i(y_i)``. If the predicted distributions are calibrated the
    PIT values are uniform on [0, 1] and the histogram is flat, within the
    shaded band that a uniform sample of the same size stays inside with
    probability ``confidence`` (bin by bin). A U shape means the predictions
    are too narrow, a hump that they are too wide, and a slope that they are
    biased. Build it with :meth:`from_estimator` or :meth:`from_predictions`.

    For integer targets (a :class:`~skmdn.DiscretisedMixture`) the PIT value
    ``F_i(y_i)`` is not uniform even for calibrated predictions: the cdf
    jumps at the outcome, and its PIT could be anywhere in
    ``[F_i(y_i - 1), F_i(y_i)]``. The histogram is then the non-randomised
    PIT histogram (Czado, Gneiting and Held, 2009): each observation spreads
    its share uniformly over that interval. It is the expected histogram of
    the randomised PIT (a uniform draw in the interval, exactly uniform when
    calibrated), without the noise of the draws, so it is deterministic; the
    band is that of uniform values, which is conservative for it (averaging
    the draws out only narrows the spread of the bars).

    Parameters
    ----------
    pit : ndarray of shape (n_samples,)
        PIT values, in [0, 1]: ``F_i(y_i)``.
    n_bins : int, default=10
        Number of equal-width bins.
    confidence : float, default=0.95
        Probability that a bin's height under uniform PIT values falls inside
        the band.
    pit_below : ndarray of shape (n_samples,), default=None
        For integer targets, the cdf just below each outcome,
        ``F_i(y_i - 1)``: each observation's share is then spread over
        ``[pit_below, pit]`` (the non-randomised PIT). None counts each value
        in its bin.

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

    def __init__(self, *, pit, n_bins=10, confidence=0.95, pit_below=None):
        self.pit = pit
        self.n_bins = n_bins
        self.confidence = confidence
        self.pit_below = pit_below
        pit = np.asarray(pit, dtype=np.float64).ravel()
        n_bins = int(n_bins)
        if n_bins < 1:
            raise ValueError(f"n_bins must be a positive integer; got {n_bins}.")
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must lie in (0, 1); got {confidence}.")
        if len(pit) == 0:
            raise ValueError("pit must hold at least one value.")
        self.bin_edges = np.linspace(0.0, 1.0, n_bins + 1)
        if pit_below is None:
            counts, _ = np.histogram(np.clip(pit, 0.0, 1.0), bins=self.bin_edges)
        else:
            below = np.asarray(pit_below, dtype=np.float64).ravel()
            if below.shape != pit.shape:
                raise ValueError(
                    f"pit_below must have the shape of pit, {pit.shape}; got "
                    f"{below.shape}."
                )
            counts = _pit_shares(pit, self.bin_edges, below).sum(0)
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
        below = dist.cdf(y - 1) if _is_discrete(dist) else None
        disp = cls(
            pit=dist.cdf(y), n_bins=n_bins, confidence=confidence, pit_below=below
        )
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
