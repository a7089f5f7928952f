"""MixtureDistribution: per-row diagonal Gaussian mixtures, in numpy and scipy."""

# SPDX-License-Identifier: BSD-3-Clause

import numbers
from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp, ndtr
from sklearn.utils import check_random_state

from skmdn import _numerics

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


class Modes(NamedTuple):
    """Local modes of one row's mixture, by decreasing density."""

    locations: np.ndarray
    densities: np.ndarray
    masses: np.ndarray


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

    def cov(self):
        """Covariance matrix of the targets for each row.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs, n_outputs)
            ``sum_k w_k (diag(sigma_k**2) + (mu_k - mean)(mu_k - mean)^T)``;
            off-diagonal terms come from the spread of the component means.
        """
        mean = np.einsum("nk,nkd->nd", self.weights, self.means)
        dev = self.means - mean[:, None, :]
        cov = np.einsum("nk,nkd,nke->nde", self.weights, dev, dev)
        diag = np.einsum("nk,nkd->nd", self.weights, self.scales**2)
        idx = np.arange(self.n_outputs)
        cov[:, idx, idx] += diag
        return cov

    def marginal(self, dims):
        """Distribution of a subset of the targets.

        Parameters
        ----------
        dims : int or sequence of int
            Target indices. An int gives a one-dimensional distribution
            (results without a target axis); a sequence keeps the axis.

        Returns
        -------
        MixtureDistribution
            The marginal mixture, which is exact for diagonal components.
        """
        if isinstance(dims, numbers.Integral):
            keep, squeeze = [int(dims)], True
        else:
            keep, squeeze = [int(d) for d in dims], False
        if not keep or any(not -self.n_outputs <= d < self.n_outputs for d in keep):
            raise ValueError(
                f"dims must index the {self.n_outputs} target(s); got {dims!r}."
            )
        return self._trusted(
            self.weights, self.means[..., keep], self.scales[..., keep], squeeze
        )

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
        z = (y[:, None, :] - self.means) / self.scales
        cdf = (self.weights[:, :, None] * ndtr(z)).sum(1)
        return self._out(np.clip(cdf, 0.0, 1.0))

    def ppf(self, q):
        """Marginal quantile function (inverse of :meth:`cdf`) of each target.

        Solved by Newton steps safeguarded by bisection inside the bracket
        formed by the components' own quantiles, which always contains the
        mixture's quantile; no grid and no sampling. Each quantile is solved
        on its own, so it does not depend on the other rows or levels.

        The result is exact for the computed cdf: for ``q <= 1/2``, a float
        ``y`` where the computed cdf equals ``q`` or, if there is none, the
        smallest float where it exceeds ``q``; above the median, the same for
        the survival function and ``1 - q``, the survival function being
        computed directly so that upper tails keep full relative precision.
        So ``|cdf(y) - q|`` is at most ``pdf(y)`` times the spacing of the
        floats at ``y``, plus the rounding of the cdf (about 1e-15 relative
        to ``min(q, 1 - q)``), and ``y`` is nondecreasing in ``q`` by
        construction (on each side of 1/2; across it, to the rounding of the
        cdf).

        Parameters
        ----------
        q : float or array-like broadcastable to (n_samples, n_outputs)
            Probabilities in [0, 1].

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``y`` with ``cdf(y) == q``; ``-inf`` at 0 and ``inf`` at 1.

        Warns
        -----
        ConvergenceWarning
            Where a quantile does not converge (which no test has produced),
            with the number of such quantiles and how far from closed their
            brackets are.
        """
        q = self._broadcast_rows(q, "q")
        return self._out(self._quantiles(q[:, None, :])[:, 0, :])

    def _quantiles(self, q):
        """Marginal quantiles for ``q`` of shape (n, m, D); returns (n, m, D)."""
        if np.isnan(q).any() or ((q < 0) | (q > 1)).any():
            raise ValueError("Probabilities q must lie in [0, 1].")
        n, m, D = q.shape
        inner = (q > 0) & (q < 1)
        q_inner = np.where(inner, q, 0.5)
        # one 1-D problem per (row, level), for each target in turn
        w = np.repeat(self.weights, m, axis=0)
        out = np.empty((n, m, D))
        for d in range(D):
            out[:, :, d] = _numerics.ppf(
                w,
                np.repeat(self.means[:, :, d], m, axis=0),
                np.repeat(self.scales[:, :, d], m, axis=0),
                q_inner[:, :, d].reshape(-1),
            ).reshape(n, m)
        return np.where(inner, out, np.where(q <= 0, -np.inf, np.inf))

    def interval(self, confidence):
        """Equal-tailed interval holding ``confidence`` of each marginal's mass.

        Parameters
        ----------
        confidence : float
            Mass inside the interval, in [0, 1].

        Returns
        -------
        lower, upper : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles,
            to the accuracy of :meth:`ppf`.
        """
        confidence = float(confidence)
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must lie in [0, 1], got {confidence}.")
        return self.ppf(0.5 - confidence / 2), self.ppf(0.5 + confidence / 2)

    # -- modes and highest-density sets -------------------------------------------

    def mode(self):
        """Global mode (most likely target) of each row's mixture.

        For one target, every local mode is found (see :meth:`modes`) and
        the highest is returned, so this is the global mode. For several
        targets the joint density is hill-climbed from every component mean
        (Newton steps when they go uphill, mean-shift steps otherwise) and
        the highest point reached is returned: a local mode, and the global
        one whenever the climb from some component mean reaches it, which
        is not guaranteed.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The location of the highest density.

        Warns
        -----
        ConvergenceWarning
            Where a solver misses its tolerance (which no test has produced).
        """
        w, mu, s = self.weights, self.means, self.scales
        if self.n_outputs == 1:
            modes, _, _ = _numerics.sorted_critical_points(w, mu[..., 0], s[..., 0])
            logp = _numerics.logpdf_points(w, mu[..., 0], s[..., 0], modes)
            best = logp.argmax(1)  # padding repeats the last mode, after it
            return self._out(modes[np.arange(len(self)), best][:, None])
        x, logp = _numerics.find_modes(w, mu, s)
        best = logp.argmax(1)
        return self._out(x[np.arange(len(self)), best])

    def modes(self):
        """All local modes of each row's mixture, with their densities and masses.

        For one target the result is complete: the derivative of the density
        is bounded over cells (interval bounds, component by component) that
        are halved until each provably holds no critical point, or at most
        one, found from the signs at its ends; every mode is then located to
        the rounding of ``d log p / dx``. The only exceptions are a bump so
        flat that the density varies across it by less than 1e-13 of itself,
        and critical points where the density is below 1e-300 of the highest
        component's peak (an odd number of them counts as one there).
        For several targets, modes are the distinct points reached by
        hill-climbing from every component mean: each is a local mode, but
        a mode that no climb reaches is missed.

        Returns
        -------
        list of Modes
            One ``Modes(locations, densities, masses)`` named tuple per row,
            sorted by decreasing density. ``locations`` has shape (m,) when
            the targets are one-dimensional and squeezed, else (m, n_outputs).
            For one target, ``masses`` is the exact probability of each mode's
            basin (between the neighbouring density minima) and sums to one;
            for several targets it is the total weight of the components whose
            means climb to that mode.

        Warns
        -----
        ConvergenceWarning
            Where a solver misses its tolerance (which no test has produced).
        """
        w, mu, s = self.weights, self.means, self.scales
        out = []
        if self.n_outputs == 1:
            w1, mu1, s1 = w, mu[..., 0], s[..., 0]
            modes, n_modes, anti = _numerics.sorted_critical_points(w1, mu1, s1)
            dens = np.exp(_numerics.logpdf_points(w1, mu1, s1, modes))
            cuts = _numerics.cdf_points(w1, mu1, s1, anti)
            for i in range(len(self)):
                k = n_modes[i]
                mass = np.diff(np.r_[0.0, cuts[i, : k - 1], 1.0])
                out.append(self._modes_tuple(modes[i, :k, None], dens[i, :k], mass))
            return out
        x, logp = _numerics.find_modes(w, mu, s)
        first, label = _numerics.unique_modes(x, s)
        for i in range(len(self)):
            keep = np.flatnonzero(first[i])
            mass = np.array([w[i, label[i] == k].sum() for k in keep])
            out.append(self._modes_tuple(x[i, keep], np.exp(logp[i, keep]), mass))
        return out

    def _modes_tuple(self, loc, dens, mass):
        order = np.argsort(-dens, kind="stable")
        loc = loc[order]
        return Modes(loc[:, 0] if self.squeeze else loc, dens[order], mass[order])

    def hpd(self, confidence):
        """Highest-density set of each row: the shortest set holding ``confidence``.

        For a multimodal row this is a union of disjoint intervals, one around
        each mode that is high enough. Only defined for one target; use
        ``marginal(d).hpd(...)`` for target ``d`` of a multi-output model.

        The set is ``{y : pdf(y) >= level}`` for one level per row, so it is
        highest-density by construction: the density is monotone between
        the critical points (all found, see :meth:`modes`), the crossings of
        the level are solved segment by segment to the rounding of the
        log-density, and the level is solved for until the set holds
        ``confidence`` to within 1e-12, and always to within 1e-10 (or, where
        the density is so steep that moving an end to the neighbouring float
        changes the mass by more, to within the density times the spacing of
        the floats at each end). A set of tiny mass, across which the density
        is flat to 1e-8, is taken as the interval centred on the highest mode
        that holds the mass.

        Parameters
        ----------
        confidence : float
            Probability mass of the set, in [0, 1].

        Returns
        -------
        list of ndarray of shape (n_intervals, 2)
            Per row, the sorted disjoint intervals ``[lower, upper]``.

        Warns
        -----
        ConvergenceWarning
            Where a set misses its mass by more than that (which no test has
            produced), with the number of such rows and the largest miss.
        """
        confidence = float(confidence)
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must lie in [0, 1], got {confidence}.")
        if self.n_outputs != 1:
            raise ValueError(
                "hpd is defined for a single target; use marginal(d).hpd(...) "
                "for target d."
            )
        if confidence == 1.0:
            return [np.array([[-np.inf, np.inf]]) for _ in range(len(self))]
        if confidence == 0.0:
            return [np.repeat(m, 2).reshape(1, 2) for m in self.mode().reshape(-1)]
        return _numerics.hpd_sets(
            self.weights, self.means[..., 0], self.scales[..., 0], confidence
        )

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
