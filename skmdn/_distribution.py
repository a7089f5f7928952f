"""MixtureDistribution: per-row diagonal Gaussian mixtures, in numpy and scipy."""

# SPDX-License-Identifier: BSD-3-Clause

import numbers

import numpy as np
from scipy.special import logsumexp, ndtr, ndtri
from sklearn.utils import check_random_state

_LOG_2PI = np.log(2.0 * np.pi)
# Rows per block in the (rows x candidate targets) density, to bound memory.
_CROSS_BLOCK = 1 << 22


def _component_logpdf(means, scales, y):
    """``log N(y; means_k, scales_k)``: means/scales (..., K, D), y (..., D)."""
    z = (y[..., None, :] - means) / scales
    D = means.shape[-1]
    return (
        -0.5 * np.einsum("...d,...d->...", z, z)
        - np.log(scales).sum(-1)
        - (0.5 * D * _LOG_2PI)
    )


def _log_weights(weights):
    with np.errstate(divide="ignore"):
        return np.log(weights)


def cross_logpdf(weights, means, scales, Y):
    """Log-density of every candidate target under every row's mixture.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    Y : ndarray of shape (m, D)

    Returns
    -------
    ndarray of shape (n, m)
    """
    n, K, D = means.shape
    m = Y.shape[0]
    out = np.empty((n, m))
    log_w = _log_weights(weights)
    step = max(1, _CROSS_BLOCK // max(1, m * K * D))
    for start in range(0, n, step):
        sl = slice(start, start + step)
        # (rows, 1, K, D) against (1, m, 1, D)
        comp = _component_logpdf(means[sl, None], scales[sl, None], Y[None, :, :])
        out[sl] = logsumexp(log_w[sl, None, :] + comp, axis=-1)
    return out


class MixtureDistribution:
    """Conditional distribution of the targets: one Gaussian mixture per row.

    Row ``i`` is the mixture
    ``sum_k weights[i, k] N(means[i, k], diag(scales[i, k]**2))`` over the
    ``D`` targets. Methods follow scipy's frozen distributions and
    act row-wise: ``logpdf(y)`` pairs row ``i`` with ``y[i]``. For ``D > 1``,
    ``cdf``, ``ppf`` and ``interval`` are per-target marginals, which are
    exact: a marginal of a Gaussian mixture is a Gaussian mixture.

    Parameters
    ----------
    weights : array-like of shape (n_samples, n_components)
        Mixing proportions; each row is non-negative and sums to one.
    means : array-like of shape (n_samples, n_components, n_outputs)
        Component means.
    scales : array-like of shape (n_samples, n_components, n_outputs)
        Component standard deviations (the square roots of the diagonal
        covariances), positive.
    squeeze : bool, default=False
        Whether the targets are one-dimensional: results then drop the
        trailing target axis (as for a model fitted on ``y`` of shape
        ``(n_samples,)``) and ``y`` arguments may be 1-D.

    Attributes
    ----------
    weights : ndarray of shape (n_samples, n_components)
        Mixing proportions.
    means : ndarray of shape (n_samples, n_components, n_outputs)
        Component means.
    scales : ndarray of shape (n_samples, n_components, n_outputs)
        Component standard deviations.
    squeeze : bool
        Whether results drop the trailing target axis.

    See Also
    --------
    MDNRegressor.predict_dist : Returns this object for new inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from skmdn import MixtureDistribution
    >>> dist = MixtureDistribution(
    ...     weights=[[0.5, 0.5]], means=[[[-3.0], [3.0]]], scales=[[[1.0], [1.0]]],
    ...     squeeze=True)
    >>> dist.mean()
    array([0.])
    >>> dist.std().round(4)
    array([3.1623])
    >>> dist.cdf([0.0])
    array([0.5])
    """

    __slots__ = ("means", "scales", "squeeze", "weights")

    def __init__(self, weights, means, scales, *, squeeze=False):
        weights = np.asarray(weights, dtype=np.float64)
        means = np.asarray(means, dtype=np.float64)
        scales = np.asarray(scales, dtype=np.float64)
        if weights.ndim != 2 or means.ndim != 3 or means.shape != scales.shape:
            raise ValueError(
                "Expected weights of shape (n, K) and means and scales of shape "
                f"(n, K, D); got {weights.shape}, {means.shape} and {scales.shape}."
            )
        if means.shape[:2] != weights.shape:
            raise ValueError(
                f"weights {weights.shape} and means {means.shape} disagree on (n, K)."
            )
        if squeeze and means.shape[2] != 1:
            raise ValueError("squeeze=True needs a single target (D == 1).")
        if not (
            np.isfinite(weights).all()
            and np.isfinite(means).all()
            and np.isfinite(scales).all()
        ):
            raise ValueError("Mixture parameters must be finite.")
        if (weights < 0).any() or not np.allclose(weights.sum(1), 1.0, atol=1e-6):
            raise ValueError("Each row of weights must be non-negative and sum to 1.")
        if (scales <= 0).any():
            raise ValueError("scales must be positive.")
        self.weights = weights / weights.sum(1, keepdims=True)
        self.means = means
        self.scales = scales
        self.squeeze = bool(squeeze)

    # -- container protocol ---------------------------------------------------

    def __len__(self):
        """Return the number of rows."""
        return self.weights.shape[0]

    def __getitem__(self, index):
        """Rows selected by ``index``, as a new distribution (an int keeps one row)."""
        if isinstance(index, numbers.Integral):
            index = slice(index, index + 1 if index != -1 else None)
        return self._trusted(
            self.weights[index], self.means[index], self.scales[index], self.squeeze
        )

    @classmethod
    def _trusted(cls, weights, means, scales, squeeze):
        """Build from parameters known to be valid, skipping the checks."""
        dist = cls.__new__(cls)
        dist.weights, dist.means, dist.scales = weights, means, scales
        dist.squeeze = squeeze
        return dist

    def __repr__(self):
        n, K, D = self.means.shape
        return f"MixtureDistribution(n_samples={n}, n_components={K}, n_outputs={D})"

    @property
    def n_components(self):
        """Number of mixture components ``K``."""
        return self.weights.shape[1]

    @property
    def n_outputs(self):
        """Number of targets ``D``."""
        return self.means.shape[2]

    # -- helpers ------------------------------------------------------------------

    def _out(self, a):
        """Drop the target axis of ``(n, D)`` results when ``squeeze``."""
        return a[..., 0] if self.squeeze else a

    def _as_targets(self, y, name="y"):
        """``y`` as an (n, D) float array paired with the rows."""
        y = np.asarray(y, dtype=np.float64)
        n, D = len(self), self.n_outputs
        if y.ndim == 1 and D == 1:
            y = y[:, None]
        if y.shape != (n, D):
            raise ValueError(
                f"{name} must have shape ({n}, {D})"
                + (f" or ({n},)" if D == 1 else "")
                + f" to pair with the rows; got {y.shape}."
            )
        return y

    def _broadcast_rows(self, a, name):
        """Scalars or per-row / per-target arrays broadcast to (n, D)."""
        a = np.asarray(a, dtype=np.float64)
        n, D = len(self), self.n_outputs
        if a.ndim == 1 and self.squeeze and a.shape[0] == n:
            a = a[:, None]
        try:
            return np.broadcast_to(a, (n, D))
        except ValueError:
            raise ValueError(
                f"{name} of shape {a.shape} does not broadcast to the rows ({n}, {D})."
            ) from None

    # -- moments ------------------------------------------------------------------

    def mean(self):
        """Mean of each row's mixture.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``sum_k w_k mu_k``.
        """
        return self._out(np.einsum("nk,nkd->nd", self.weights, self.means))

    def var(self):
        """Marginal variance of each target (law of total variance).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``sum_k w_k (sigma_k**2 + (mu_k - mean)**2)``.
        """
        mean = np.einsum("nk,nkd->nd", self.weights, self.means)
        dev = self.means - mean[:, None, :]
        var = np.einsum("nk,nkd->nd", self.weights, self.scales**2 + dev**2)
        return self._out(var)

    def std(self):
        """Marginal standard deviation of each target.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The square root of :meth:`var`.
        """
        return np.sqrt(self.var())

    # -- densities ----------------------------------------------------------------

    def logpdf(self, y):
        """Log-density of ``y[i]`` under row ``i``'s mixture.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            One target per row.

        Returns
        -------
        ndarray of shape (n_samples,)
            Joint log-density over the targets.
        """
        y = self._as_targets(y)
        comp = _component_logpdf(self.means, self.scales, y)
        return logsumexp(_log_weights(self.weights) + comp, axis=1)

    def pdf(self, y):
        """Density of ``y[i]`` under row ``i``'s mixture.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            One target per row.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``exp(logpdf(y))``.
        """
        return np.exp(self.logpdf(y))

    def _marginal_cdf(self, y):
        """(n, D) marginal cdf and pdf at (n, D) points."""
        z = (y[:, None, :] - self.means) / self.scales
        w = self.weights[:, :, None]
        cdf = (w * ndtr(z)).sum(1)
        pdf = (w * np.exp(-0.5 * z * z) / (self.scales * np.sqrt(2 * np.pi))).sum(1)
        return cdf, pdf

    def cdf(self, y):
        """Marginal cumulative distribution function of each target.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Points, one per row (and target).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``P(Y_d <= y[i, d])`` under row ``i``.
        """
        y = self._broadcast_rows(y, "y")
        return self._out(np.clip(self._marginal_cdf(y)[0], 0.0, 1.0))

    def ppf(self, q):
        """Marginal quantile function (inverse of :meth:`cdf`) of each target.

        Solved by Newton steps safeguarded by bisection inside the bracket
        formed by the components' own quantiles, which always contains the
        mixture's quantile.

        Parameters
        ----------
        q : float or array-like broadcastable to (n_samples, n_outputs)
            Probabilities in [0, 1].

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``y`` with ``cdf(y) == q``; ``-inf`` at 0 and ``inf`` at 1.
        """
        q = self._broadcast_rows(q, "q")
        if ((q < 0) | (q > 1)).any() or np.isnan(q).any():
            raise ValueError("Probabilities q must lie in [0, 1].")
        inner = (q > 0) & (q < 1)
        qc = np.where(inner, q, 0.5)
        comp_q = self.means + self.scales * ndtri(qc)[:, None, :]
        lo, hi = comp_q.min(1), comp_q.max(1)
        x = 0.5 * (lo + hi)
        tol = 1e-12 * np.maximum(1.0, np.abs(self.means).max(1))
        for _ in range(100):
            cdf, pdf = self._marginal_cdf(x)
            f = cdf - qc
            lo = np.where(f < 0, x, lo)
            hi = np.where(f > 0, x, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = x - f / pdf
            ok = np.isfinite(newton) & (newton > lo) & (newton < hi)
            x_new = np.where(ok, newton, 0.5 * (lo + hi))
            done = (np.abs(x_new - x) <= tol) | (f == 0)
            x = np.where(f == 0, x, x_new)
            if done.all():
                break
        x = np.where(inner, x, np.where(q <= 0, -np.inf, np.inf))
        return self._out(x)

    def interval(self, confidence):
        """Equal-tailed interval holding ``confidence`` of each marginal's mass.

        Parameters
        ----------
        confidence : float
            Mass inside the interval, in [0, 1].

        Returns
        -------
        lower, upper : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles.
        """
        confidence = float(confidence)
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must lie in [0, 1], got {confidence}.")
        return self.ppf(0.5 - confidence / 2), self.ppf(0.5 + confidence / 2)

    # -- sampling -----------------------------------------------------------------

    def rvs(self, size=None, random_state=None):
        """Draw samples from each row's mixture.

        Parameters
        ----------
        size : int or None, default=None
            Draws per row; None draws one and drops the draws axis.
        random_state : int, RandomState instance or None, default=None
            Pass an int for reproducible draws.

        Returns
        -------
        ndarray of shape (n_samples[, size][, n_outputs])
            The draws axis follows the rows; the target axis is dropped when
            ``squeeze``.
        """
        rng = check_random_state(random_state)
        n_draws = 1 if size is None else int(size)
        if n_draws < 0:
            raise ValueError(f"size must be non-negative, got {size}.")
        n, K, D = self.means.shape
        cum = np.cumsum(self.weights, axis=1)
        u = rng.uniform(size=(n, n_draws)) * cum[:, -1:]
        comp = np.minimum((u[:, :, None] >= cum[:, None, :]).sum(-1), K - 1)
        rows = np.arange(n)[:, None]
        eps = rng.standard_normal(size=(n, n_draws, D))
        draws = self.means[rows, comp] + self.scales[rows, comp] * eps
        if self.squeeze:
            draws = draws[..., 0]
        return draws[:, 0] if size is None else draws
