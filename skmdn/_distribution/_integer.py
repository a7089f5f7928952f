"""DiscretisedMixture: integer targets as a discretised Gaussian mixture."""

# SPDX-License-Identifier: BSD-3-Clause

import itertools
import numbers
from math import comb

import numpy as np

from skmdn._distribution import MixtureDistribution
from skmdn._distribution._base import check_targets
from skmdn._distribution._regions import Modes
from skmdn._mixture import covariance, density, discrete
from skmdn._mixture.change import IDENTITY
from skmdn._mixture.outputs import log_weights, softmax


class DiscretisedMixture(MixtureDistribution):
    """Conditional distribution of integer targets: a discretised Gaussian mixture.

    Row ``i`` is the law of the integer ``Y`` whose latent Gaussian
    mixture ``T ~ sum_j weights[i, j] N(means[i, j], diag(scales[i, j]**2))``
    falls in the cell ``(k - 1/2, k + 1/2]`` of each target: for one
    target, ``P(Y = k) = F(k + 1/2) - F(k - 1/2)`` with ``F`` the latent
    cdf; for several targets (diagonal covariances only),
    ``P(Y = k) = sum_j pi_j prod_d [Phi((k_d + 1/2 - mu_jd) / sigma_jd)
    - Phi((k_d - 1/2 - mu_jd) / sigma_jd)]``. It is what
    :class:`~skmdn.MDNRegressor` predicts for ``target_type='integer'``.

    Methods follow :class:`scipy.stats.rv_discrete` and act row-wise as
    those of :class:`~skmdn.MixtureDistribution`: :meth:`pmf` and
    :meth:`logpmf` (which :meth:`pdf` and :meth:`logpdf` equal: the
    density with respect to counting measure, so log-likelihoods are
    log-probabilities), the step :meth:`cdf`, quantiles that are
    integers, and moments, expectations, the entropy and CRPS that are
    sums over the integers. Those sums run over each row's *support
    window*, the integers within 8 standard deviations of some latent
    component of positive weight (the mass left out is below 1.2e-15),
    in blocks of rows and chunks of integers so that memory stays
    bounded: their cost grows with the spread in integer units, and a
    row spreading over more than ``2**27`` integers raises
    ``ValueError``. Methods that have no meaning for integers raise.
    ``covariances`` and ``covariance_type`` describe the latent
    components.

    Parameters
    ----------
    weights : array-like of shape (n_samples, n_components)
        Mixing proportions; each row is non-negative and sums to one.
    means : array-like of shape (n_samples, n_components, n_outputs)
        Latent component means.
    scales : array-like of shape (n_samples, n_components, n_outputs)
        Latent component standard deviations, positive.
    scale_tril : None, default=None
        Not supported: full covariances have no discretised form here.
        Given, it raises ``ValueError``.
    squeeze : bool, default=False
        Whether the targets are one-dimensional: results then drop the
        trailing target axis and ``y`` arguments may be 1-D.

    Attributes
    ----------
    weights : ndarray of shape (n_samples, n_components)
        Mixing proportions.
    means : ndarray of shape (n_samples, n_components, n_outputs)
        Latent component means.
    scales : ndarray of shape (n_samples, n_components, n_outputs)
        Latent component standard deviations.
    scale_tril : None
        Always None (diagonal covariances).
    squeeze : bool
        Whether results drop the trailing target axis.

    See Also
    --------
    MixtureDistribution : The continuous mixture (the latent law).

    Examples
    --------
    >>> from skmdn import DiscretisedMixture
    >>> dist = DiscretisedMixture(
    ...     weights=[[1.0]], means=[[[2.0]]], scales=[[[0.5]]], squeeze=True)
    >>> dist.pmf([2]).round(4)
    array([0.6827])
    >>> dist.ppf(0.5), dist.cdf([2.5]).round(4)
    (array([2.]), array([0.8413]))
    """

    __slots__ = ()

    def __init__(self, weights, means, scales=None, *, scale_tril=None, squeeze=False):
        if scale_tril is not None:
            raise ValueError(
                "DiscretisedMixture takes diagonal scales only; scale_tril (full "
                "covariances) has no discretised form here."
            )
        if scales is None:
            raise ValueError("DiscretisedMixture needs scales.")
        super().__init__(weights, means, scales, squeeze=squeeze)

    # ------------------------------------------------------------ container

    @classmethod
    def _trusted(
        cls, weights, means, scales, squeeze, scale_tril=None, change=IDENTITY
    ):
        if scale_tril is not None:
            raise ValueError(
                "DiscretisedMixture takes diagonal scales only, not scale_tril."
            )
        if not change.is_identity:
            raise NotImplementedError(
                "A change of variables of integer targets is not defined."
            )
        return super()._trusted(weights, means, scales, squeeze, None, change)

    @classmethod
    def _from_cov(cls, weights, means, cov, squeeze, change=IDENTITY):
        if covariance.is_full(means, cov):
            if means.shape[-1] != 1:
                raise ValueError(
                    "DiscretisedMixture takes diagonal covariances only; full "
                    "covariances of several integer targets are not supported."
                )
            cov = cov[..., 0]
        return cls._trusted(weights, means, cov, squeeze, None, change)

    def _with_change(self, change):
        raise NotImplementedError(
            "A change of variables of integer targets is not defined: the image "
            "of the integers would not be the integers."
        )

    def __repr__(self):
        n, K, D = self.means.shape
        return (
            f"DiscretisedMixture(n_samples={n}, n_components={K}, n_outputs={D}, "
            "discretised to the integers)"
        )

    @property
    def _latent(self):
        """The latent (continuous) mixture, unsqueezed."""
        return MixtureDistribution._trusted(
            self.weights, self.means, self.scales, False
        )

    def _per_target(self, d):
        return self.weights, self.means[..., d], self.scales[..., d]

    def condition(self, values, dims):
        """Distribution of the other targets given the integers ``values`` at ``dims``.

        Exact: the components are diagonal, so given ``Y_dims = values``
        each component is reweighted by its probability of those
        integers, ``w_j prod_{d in dims} P_j(Y_d = values_d)``, normalised,
        and keeps its other means and scales.

        Parameters
        ----------
        values : int or array-like of shape (n_samples,), (n_given,) or \
                (n_samples, n_given)
            The given targets' integer values, per row (a scalar or a row
            of ``n_given`` values is broadcast to every row).
        dims : int or sequence of int
            The given targets, ``n_given`` distinct indices, fewer than
            ``n_outputs``.

        Returns
        -------
        DiscretisedMixture
            Over the other targets, in increasing order; squeezed when one
            target remains.

        Raises
        ------
        ValueError
            If the distribution has one target, if ``dims`` is empty,
            repeats a target, is out of range or names every target, if
            ``values`` does not broadcast to ``(n_samples, n_given)`` or
            holds non-integers (events of probability zero), or if the
            values have probability zero (to underflow) under every
            component of a row.
        """
        given, values = self._condition_args(values, dims)
        if not discrete.is_integer(values).all():
            raise ValueError(
                "values must be finite integers: integer targets take other "
                "values with probability zero."
            )
        comp = discrete.component_log_pmf(
            values[:, None, :], self.means[..., given], self.scales[..., given]
        ).sum(-1)
        logc = log_weights(self.weights) + comp
        if not np.isfinite(logc.max(1)).all():
            raise ValueError(
                "values have probability zero (to underflow) under every "
                "component of some row: the conditional is not representable."
            )
        rest = [d for d in range(self.n_outputs) if d not in given]
        return self._trusted(
            softmax(logc),
            self.means[..., rest],
            self.scales[..., rest],
            len(rest) == 1,
        )

    def rvs(self, size=None, random_state=None):
        """Draw integer samples from each row's discretised mixture.

        Each draw is ``floor(T + 1/2)`` of a draw ``T`` of the latent
        mixture, which follows the discretised law exactly; the latent
        draws are those of :meth:`MixtureDistribution.rvs` with the same
        ``random_state`` (the same stream).

        Parameters
        ----------
        size : int or None, default=None
            Draws per row; None draws one and drops the draws axis.
        random_state : int, RandomState instance or None, default=None
            Pass an int for reproducible draws.

        Returns
        -------
        ndarray of shape (n_samples[, size][, n_outputs])
            Float arrays holding integers. The draws axis follows the
            rows; the target axis is dropped when ``squeeze``.
        """
        return np.floor(super().rvs(size=size, random_state=random_state) + 0.5)

    # ---------------------------------------------------------- pmf, cdf

    def logpmf(self, y):
        """Log-probability of the integer ``y[i]`` under row ``i``.

        Exact and computed in logs throughout: each component's cell
        mass is a difference of normal cdfs taken with ``log_ndtr`` on
        the side of the component where it keeps its precision, so it
        stays finite and accurate far in the tails (40 standard
        deviations and beyond) and for scales far below or above one.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            One target per row.

        Returns
        -------
        ndarray of shape (n_samples,)
            Joint log-probability over the targets; ``-inf`` where ``y``
            is not an integer (or infinite), NaN where it is NaN.
        """
        y = check_targets(y, len(self), self.n_outputs)
        return discrete.joint_log_pmf(self.weights, self.means, self.scales, y)

    def pmf(self, y):
        """Probability of the integer ``y[i]`` under row ``i``.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            One target per row.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``exp(logpmf(y))``; 0 where ``y`` is not an integer.
        """
        return np.exp(self.logpmf(y))

    def logpdf(self, y):
        """Log-density with respect to counting measure: the log-pmf.

        The same as :meth:`logpmf`, so that log-likelihoods and scores
        of integer targets are log-probabilities.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            One target per row.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``logpmf(y)``.
        """
        return self.logpmf(y)

    def pdf(self, y):
        """Density with respect to counting measure: the pmf.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            One target per row.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``pmf(y)``.
        """
        return self.pmf(y)

    def cross_logpdf(self, y):
        """Log-probability of every candidate target under every row.

        Parameters
        ----------
        y : array-like of shape (n_candidates,) or (n_candidates, n_outputs)
            Candidate targets, e.g. a grid of integers; a 1-D ``y`` is
            allowed for one target.

        Returns
        -------
        ndarray of shape (n_samples, n_candidates)
            ``log P_i(Y = y[j])`` for row ``i`` and candidate ``j``
            (``-inf`` for non-integer candidates), computed in blocks so
            that memory stays bounded.

        Raises
        ------
        ValueError
            If ``y`` does not have ``n_outputs`` columns.
        """
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 1 and self.n_outputs == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[1] != self.n_outputs:
            raise ValueError(
                f"y must have shape (n_candidates, {self.n_outputs}); got {y.shape}."
            )
        return discrete.cross_log_pmf(self.weights, self.means, self.scales, y)

    def _step(self, func, y):
        """``func`` of each target's latent mixture at ``floor(y) + 1/2``, (n, D)."""
        y = self._broadcast_rows(y, "y")
        x = np.floor(y) + 0.5
        out = np.empty(x.shape)
        for d in range(self.n_outputs):
            w, mu, s = self._per_target(d)
            out[:, d] = func(w, mu, s, np.ascontiguousarray(x[:, d, None]))[:, 0]
        return self._out(out)

    def cdf(self, y):
        """Marginal step cdf of each target: ``P(Y_d <= y)``.

        ``F(floor(y) + 1/2)`` with ``F`` the latent mixture's cdf, for any
        real ``y`` (constant between integers, right-continuous).

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Points, one per row (and target).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``P(Y_d <= y[i, d])`` under row ``i``.
        """
        return self._step(discrete.cdf_grid, y)

    def sf(self, y):
        """Marginal survival function ``P(Y_d > y)``, accurate in the upper tail.

        Summed from the components' survival functions at
        ``floor(y) + 1/2``, not computed as ``1 - cdf(y)``.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Points, one per row (and target).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``P(Y_d > y[i, d])`` under row ``i``.
        """
        return self._step(discrete.sf_grid, y)

    def logcdf(self, y):
        """Log of the marginal step cdf, finite far into the lower tail.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Points, one per row (and target).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``log P(Y_d <= y[i, d])``, the latent log-cdf (by
            ``log_ndtr``) at ``floor(y) + 1/2``.
        """
        y = self._broadcast_rows(y, "y")
        x = np.floor(y) + 0.5
        return self._out(density.logcdf(self.weights, self.means, self.scales, x))

    def logsf(self, y):
        """Log of the marginal survival function, finite far into the upper tail.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Points, one per row (and target).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``log P(Y_d > y[i, d])``, the latent log-survival function at
            ``floor(y) + 1/2``.
        """
        y = self._broadcast_rows(y, "y")
        x = np.floor(y) + 0.5
        return self._out(density.logsf(self.weights, self.means, self.scales, x))

    # ------------------------------------------------------------ quantiles

    def _integer_search(self, q, t, tail):
        """Smallest integers where the step cdf reaches ``q`` (or sf falls to it).

        ``q`` and the latent quantiles ``t`` have shape (n, m, D); the
        guess ``ceil(t - 1/2)`` is corrected against the step function
        itself, so the result is exact for the computed cdf (or sf).
        """
        n, m, D = q.shape
        inner = (q > 0) & (q < 1)
        out = np.where(inner, 0.0, np.where(q <= 0, -np.inf, np.inf))
        if tail == "sf":
            out = -out
        rows_all = np.repeat(np.arange(n), m)
        for d in range(D):
            keep = inner[:, :, d].reshape(-1)
            if not keep.any():
                continue
            rows = rows_all[keep]
            qd = q[:, :, d].reshape(-1)[keep]
            k0 = np.ceil(t[:, :, d].reshape(-1)[keep] - 0.5)
            w, mu, s = self._per_target(d)

            def pred(idx, k, rows=rows, qd=qd, w=w, mu=mu, s=s):
                r = rows[idx]
                x = (k + 0.5)[:, None]
                if tail == "cdf":
                    return discrete.cdf_grid(w[r], mu[r], s[r], x)[:, 0] >= qd[idx]
                return discrete.sf_grid(w[r], mu[r], s[r], x)[:, 0] <= qd[idx]

            flat = out[:, :, d].reshape(-1)
            flat[keep] = discrete.smallest_integer(pred, k0)
            out[:, :, d] = flat.reshape(n, m)
        return out + 0.0  # integers: no -0.0 from a ceiling of (-1, 0)

    def _quantiles(self, q):
        if np.isnan(q).any() or ((q < 0) | (q > 1)).any():
            raise ValueError("Probabilities q must lie in [0, 1].")
        t = self._latent._quantiles(q)
        return self._integer_search(q, t, "cdf")

    def ppf(self, q):
        """Marginal quantile function of each target: the least integer reaching ``q``.

        As :meth:`scipy.stats.rv_discrete.ppf`: the smallest integer ``k``
        with ``cdf(k) >= q``, exactly for the computed :meth:`cdf` (so
        ``cdf(ppf(q)) >= q > cdf(ppf(q) - 1)``). Found from the latent
        mixture's quantile ``t`` at ``q`` (the exact solver of
        :meth:`MixtureDistribution.ppf`), as ``ceil(t - 1/2)``, corrected
        against the step cdf itself.

        Parameters
        ----------
        q : float or array-like broadcastable to (n_samples, n_outputs)
            Probabilities in [0, 1].

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Float arrays holding integers; ``-inf`` at 0 and ``inf`` at 1.

        Raises
        ------
        ValueError
            If ``q`` lies outside [0, 1] or does not broadcast to the rows.
        """
        q = self._broadcast_rows(q, "q")
        return self._out(self._quantiles(q[:, None, :])[:, 0, :])

    def quantiles(self, levels):
        """Marginal quantiles of several levels at once, for every row.

        Parameters
        ----------
        levels : float or array-like of shape (n_levels,)
            Probabilities in [0, 1], the same for every row.

        Returns
        -------
        ndarray of shape (n_samples, n_levels) or (n_samples, n_levels, n_outputs)
            ``out[i, j]`` is the ``levels[j]`` quantile of row ``i`` (of
            each target), an integer as :meth:`ppf` gives.

        Raises
        ------
        ValueError
            If ``levels`` is not a scalar or 1-D, or lies outside [0, 1].
        """
        return super().quantiles(levels)

    def isf(self, q):
        """Inverse survival function: the smallest integer ``k`` with ``sf(k) <= q``.

        As :meth:`scipy.stats.rv_discrete.isf`, exactly for the computed
        :meth:`sf` (from the upper tail, so small ``q`` keeps its
        relative precision): ``sf(isf(q)) <= q < sf(isf(q) - 1)``.

        Parameters
        ----------
        q : float or array-like broadcastable to (n_samples, n_outputs)
            Probabilities in [0, 1].

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Float arrays holding integers; ``inf`` at 0 and ``-inf`` at 1.

        Raises
        ------
        ValueError
            If ``q`` lies outside [0, 1] or does not broadcast to the rows.
        """
        q = self._broadcast_rows(q, "q")
        if np.isnan(q).any() or ((q < 0) | (q > 1)).any():
            raise ValueError("Probabilities q must lie in [0, 1].")
        t = self._latent.isf(q)
        out = self._integer_search(q[:, None, :], t[:, None, :], "sf")
        return self._out(out[:, 0, :])

    def interval(self, confidence):
        """Return the closed integer interval holding ``confidence`` of each marginal.

        The endpoints are ``ppf(alpha / 2)`` and ``ppf(1 - alpha / 2)``
        with ``alpha = 1 - confidence`` (as
        :meth:`scipy.stats.rv_discrete.interval`), integers with
        ``P(lower <= Y <= upper) >= confidence``: both ends belong to the
        interval.

        Parameters
        ----------
        confidence : float or array-like of shape (n_levels,)
            Mass inside the interval, in [0, 1]; a sequence gives one
            interval per level.

        Returns
        -------
        lower, upper : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Integer endpoints (float arrays). For a sequence of levels, of
            shape (n_samples, n_levels) or (n_samples, n_levels,
            n_outputs).

        Raises
        ------
        ValueError
            If a level lies outside [0, 1] or ``confidence`` is not a
            scalar or 1-D.
        """
        return super().interval(confidence)

    # -------------------------------------------------------- summaries

    def _sums(self, orders, center=None):
        """``sum_k (k - c)**r p(k)`` per target, (n, len(orders), D)."""
        n, _, D = self.means.shape
        out = np.empty((n, len(orders), D))
        for d in range(D):
            w, mu, s = self._per_target(d)
            c = np.zeros(n) if center is None else center[:, d]
            out[:, :, d] = discrete.power_sums(w, mu, s, c, orders)
        return out

    def _central(self, max_order):
        """Return the mean and central moments 2..max_order of each target, (n, D).

        One pass of sums about the rounded latent mean ``c`` (within about
        a half of the mean), turned into central moments by the binomial
        formula.
        """
        c = np.round(np.einsum("nk,nkd->nd", self.weights, self.means))
        orders = list(range(max_order + 1))
        S = self._sums(orders, c)
        delta = S[:, 1]
        central = {}
        for r in range(2, max_order + 1):
            central[r] = sum(
                comb(r, j) * S[:, r - j] * (-delta) ** j for j in range(r + 1)
            )
        return c + delta, central

    def mean(self):
        """Mean of each target: ``sum_k k P(Y_d = k)``.

        The weighted mean of the discretised components' means: for a
        component of scale 3 or more (in integers) its latent mean (exact to
        ``exp(-2 pi**2 s**2)``, Poisson summation), else a sum over the
        integers within 25 of it; so the cost does not grow with the
        spread of the targets (large counts).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The mean of each target's marginal.
        """
        m, _ = discrete.component_moments(self.means, self.scales)
        return self._out(np.einsum("nk,nkd->nd", self.weights, m))

    def var(self):
        """Marginal variance of each target: ``sum_k (k - mean)**2 P(Y_d = k)``.

        From the discretised components' means and variances (as
        :meth:`mean`; a wide component's variance is ``s**2 + 1/12``,
        Sheppard's correction, exact to ``exp(-2 pi**2 s**2)``).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The variance of each target's marginal.
        """
        m, v = discrete.component_moments(self.means, self.scales)
        mean = np.einsum("nk,nkd->nd", self.weights, m)
        spread = v + (m - mean[:, None, :]) ** 2
        return self._out(np.einsum("nk,nkd->nd", self.weights, spread))

    def cov(self):
        """Covariance matrix of the integer targets for each row.

        The diagonal is :meth:`var`; off the diagonal, as the components
        are diagonal (their targets independent given the component),
        ``sum_j w_j (m_jd - m_d)(m_je - m_e)`` with ``m_jd`` component
        ``j``'s discretised mean of target ``d`` (a sum over the
        integers) and ``m_d`` the mixture's.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs, n_outputs)
            The covariance of the targets.

        Raises
        ------
        ValueError
            If a row spreads over more than ``2**27`` integers.
        """
        n, K, D = self.means.shape
        var = self.var().reshape(n, D)
        if D == 1:
            return var[:, :, None]
        ones = np.ones((n * K, 1))
        comp_mean = np.empty((n, K, D))
        for d in range(D):
            mu = self.means[..., d].reshape(-1, 1)
            s = self.scales[..., d].reshape(-1, 1)
            c = np.round(mu[:, 0])
            sums = discrete.power_sums(ones, mu, s, c, [1])[:, 0]
            comp_mean[..., d] = (c + sums).reshape(n, K)
        mean = np.einsum("nk,nkd->nd", self.weights, comp_mean)
        dev = comp_mean - mean[:, None, :]
        cov = np.einsum("nk,nkd,nke->nde", self.weights, dev, dev)
        idx = np.arange(D)
        cov[:, idx, idx] = var
        return cov

    def moment(self, order):
        """Non-central moment ``E[Y_d**order]`` of each target, a sum over the integers.

        As :meth:`scipy.stats.rv_discrete.moment`, about zero:
        ``sum_k k**order P(Y_d = k)`` over the support window.

        Parameters
        ----------
        order : int
            Non-negative order of the moment.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The moment of each target's marginal.

        Raises
        ------
        ValueError
            If ``order`` is not a non-negative integer.
        """
        if (
            not isinstance(order, numbers.Integral)
            or isinstance(order, bool)
            or order < 0
        ):
            raise ValueError(f"order must be a non-negative integer; got {order!r}.")
        if order == 0:
            return self._out(np.ones((len(self), self.n_outputs)))
        return self._out(self._sums([int(order)])[:, 0])

    def stats(self, moments="mv"):
        """Mean, variance, skewness and/or excess kurtosis of each target.

        As :meth:`scipy.stats.rv_discrete.stats`, from sums over the
        integers (see :meth:`mean`).

        Parameters
        ----------
        moments : str, default='mv'
            Which statistics, in order, from ``'m'`` (mean), ``'v'``
            (variance), ``'s'`` (skewness) and ``'k'`` (excess kurtosis).

        Returns
        -------
        ndarray or tuple of ndarray, each of shape (n_samples,) or \
                (n_samples, n_outputs)
            One array for a single letter, otherwise a tuple in the order
            of ``moments``. Skewness and kurtosis are NaN or infinite
            where the variance is zero (all mass on one integer).

        Raises
        ------
        ValueError
            If ``moments`` has letters other than ``'mvsk'``.
        """
        if not isinstance(moments, str) or not moments or set(moments) - set("mvsk"):
            raise ValueError(
                f"moments must be a string of the letters 'mvsk'; got {moments!r}."
            )
        top = 4 if "k" in moments else 3 if "s" in moments else 2
        mean, central = self._central(top)
        var = np.maximum(central[2], 0.0)
        out = []
        with np.errstate(divide="ignore", invalid="ignore"):
            for letter in moments:
                if letter == "m":
                    out.append(mean)
                elif letter == "v":
                    out.append(var)
                elif letter == "s":
                    out.append(central[3] / var**1.5)
                else:
                    out.append(central[4] / var**2 - 3.0)
        out = [self._out(a) for a in out]
        return out[0] if len(out) == 1 else tuple(out)

    def entropy(self):
        """Shannon entropy of each row's integer target, in nats.

        ``-sum_k p(k) log p(k)`` over the support window (see the class
        notes); for discrete laws this is the entropy of
        :meth:`scipy.stats.rv_discrete.entropy`, not a differential
        entropy.

        Returns
        -------
        ndarray of shape (n_samples,)
            The entropy of each row.

        Raises
        ------
        NotImplementedError
            For several targets (use ``marginal(d).entropy()``).
        """
        if self.n_outputs != 1:
            raise NotImplementedError(
                "entropy of several integer targets is not implemented; use "
                "marginal(d).entropy() for target d."
            )
        return discrete.entropy(*self._per_target(0))

    def support(self):
        """Support of each target: the integers, from ``-inf`` to ``inf``.

        As :meth:`scipy.stats.rv_discrete.support`, the ends of the
        (unbounded) set of integers that carry mass.

        Returns
        -------
        lower, upper : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``-inf`` and ``inf``.
        """
        return super().support()

    def expect(self, func=None, lb=None, ub=None, conditional=False):
        """Compute the expectation of ``func(Y)`` under each row, over the integers.

        As :meth:`scipy.stats.rv_discrete.expect`: ``sum_k func(k) p(k)``
        over the integers ``lb <= k <= ub`` (both ends included) that lie
        in the row's support window (see the class notes).

        Parameters
        ----------
        func : callable, default=None
            Function of the target, called with float arrays of integers
            (rows by integers, in chunks); it must act elementwise. None
            gives the mean.
        lb, ub : float or array-like of shape (n_samples,), default=None
            Lower and upper bounds (included), for all rows or one per
            row; None for ``-inf`` and ``inf``.
        conditional : bool, default=False
            Whether to divide by the probability of ``lb <= Y <= ub``
            (summed over the same integers), giving
            ``E[func(Y) | lb <= Y <= ub]``.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``E[func(Y) 1{lb <= Y <= ub}]``, or the conditional expectation.

        Raises
        ------
        ValueError
            If the distribution has several targets (use
            ``marginal(d).expect(...)``), if ``lb > ub`` for some row, if
            ``func`` does not act elementwise, or, for ``conditional``,
            if ``[lb, ub]`` holds no mass of a row's support window.
        """
        if self.n_outputs != 1:
            raise ValueError(
                "expect is defined for a single target; use "
                "marginal(d).expect(...) for target d."
            )
        n = len(self)
        bounds = []
        for value, default, name in ((lb, -np.inf, "lb"), (ub, np.inf, "ub")):
            value = np.asarray(default if value is None else value, dtype=float)
            try:
                bounds.append(np.broadcast_to(value, (n,)))
            except ValueError:
                raise ValueError(
                    f"{name} of shape {value.shape} does not broadcast to the {n} rows."
                ) from None
        lb, ub = bounds
        if np.isnan(lb).any() or np.isnan(ub).any() or (lb > ub).any():
            raise ValueError("Bounds must satisfy lb <= ub on every row.")
        sums = discrete.expect(*self._per_target(0), func, lb, ub)
        if not conditional:
            return sums[:, 0]
        if not (sums[:, 1] > 0).all():
            raise ValueError(
                "[lb, ub] holds no mass of some row's support window: the "
                "conditional expectation is not defined there."
            )
        return sums[:, 0] / sums[:, 1]

    def _crps(self, y):
        """CRPS of the step cdf of each target at ``y`` of shape (n, D); (n, D)."""
        return np.column_stack(
            [discrete.crps(*self._per_target(d), y[:, d]) for d in range(y.shape[1])]
        )

    # ------------------------------------------------------ modes, sets

    def _single(self, what):
        if self.n_outputs != 1:
            raise ValueError(
                f"{what} is defined for a single target; use "
                f"marginal(d).{what}(...) for target d."
            )

    def _mode_grid(self):
        """Blocks ``(rows, k, valid, log pmf)`` over the integers that may be modes."""
        w, mu, s = self._per_target(0)
        lo, hi = discrete.mode_bounds(w, mu)
        log_w = log_weights(w)

        def func(rows, k):
            return discrete.log_pmf_grid(log_w[rows], mu[rows], s[rows], k)

        return discrete.support_values(lo, hi, w.shape[1], func)

    def mode(self):
        """Most probable integer of each row.

        The integer of highest pmf (the lowest one where several tie),
        searched over the integers between the smallest and the largest
        latent component mean, which hold every local maximum of the pmf.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, 1)
            Float arrays holding integers.

        Raises
        ------
        ValueError
            For several targets (use ``marginal(d).mode()``).
        """
        self._single("mode")
        out = np.empty(len(self))
        for rows, k, valid, lp in self._mode_grid():
            lp = np.where(valid, lp, -np.inf)
            out[rows] = k[np.arange(len(rows)), lp.argmax(1)]
        return self._out(out[:, None])

    def modes(self):
        """All local maxima of each row's pmf over the integers, with masses.

        A mode is an integer ``k`` with ``pmf(k) > pmf(k - 1)`` and
        ``pmf(k) >= pmf(k + 1)`` (so a plateau counts once, at its lowest
        integer), compared in logs. Each mode's basin runs to the lowest
        integer of least pmf between it and the next mode (the first
        integer of the next basin); the first and last basins reach
        ``-inf`` and ``inf``.

        Returns
        -------
        list of Modes
            One ``Modes(locations, densities, masses)`` per row, by
            decreasing pmf (the lower integer first on ties):
            ``locations`` the integers (shape (m,) when squeezed, else
            (m, 1)), ``densities`` their pmf and ``masses`` the exact
            probability of each basin, which sum to one.

        Raises
        ------
        ValueError
            For several targets (use ``marginal(d).modes()``).
        """
        self._single("modes")
        w, mu, s = self._per_target(0)
        found = [None] * len(self)
        for rows, k, valid, lp in self._mode_grid():
            for j, i in enumerate(rows):
                kk, ll = k[j, valid[j]], lp[j, valid[j]]
                inner = np.flatnonzero((ll[1:-1] > ll[:-2]) & (ll[1:-1] >= ll[2:]))
                at = inner + 1
                cuts = [
                    a + 1 + int(np.argmin(ll[a + 1 : b + 1]))
                    for a, b in itertools.pairwise(at)
                ]
                found[i] = (kk[at], ll[at], kk[cuts] if cuts else kk[:0])
        out = []
        for i, (loc, lp, cuts) in enumerate(found):
            edges = np.concatenate([[-np.inf], cuts - 0.5, [np.inf]])
            mass = discrete.interval_mass(
                w[i : i + 1],
                mu[i : i + 1],
                s[i : i + 1],
                edges[None, :-1],
                edges[None, 1:],
            )[0]
            order = np.argsort(-lp, kind="stable")
            loc = loc[order]
            out.append(
                Modes(
                    loc if self.squeeze else loc[:, None],
                    np.exp(lp[order]),
                    mass[order],
                )
            )
        return out

    def hpd(self, confidence):
        """Smallest set of integers holding at least ``confidence`` of each row.

        Integers are taken by decreasing pmf (the lower integer first on
        ties) until their total reaches ``confidence``, over the support
        window (see the class notes), so the set is the smallest that
        holds the mass and every integer outside it is at most as
        probable as every integer inside.

        Parameters
        ----------
        confidence : float
            Probability mass of the set, in [0, 1].

        Returns
        -------
        list of ndarray of shape (n_intervals, 2)
            Per row, the sorted disjoint closed runs of integers
            ``[lower, upper]`` (both included) that make up the set;
            ``[[-inf, inf]]`` for ``confidence=1`` and the mode alone for
            ``confidence=0``.

        Raises
        ------
        ValueError
            If ``confidence`` lies outside [0, 1], or for several targets
            (use ``marginal(d).hpd(...)``).
        """
        confidence = float(confidence)
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must lie in [0, 1], got {confidence}.")
        self._single("hpd")
        if confidence == 1.0:
            return [np.array([[-np.inf, np.inf]]) for _ in range(len(self))]
        w, mu, s = self._per_target(0)
        lo, hi = discrete.support_bounds(w, mu, s)
        log_w = log_weights(w)

        def func(rows, k):
            return discrete.log_pmf_grid(log_w[rows], mu[rows], s[rows], k)

        out = [None] * len(self)
        for rows, k, valid, lp in discrete.support_values(lo, hi, w.shape[1], func):
            p = np.where(valid, np.exp(lp), -1.0)
            order = np.argsort(-p, axis=1, kind="stable")
            cum = np.cumsum(np.take_along_axis(np.maximum(p, 0), order, 1), 1)
            take = np.minimum((cum < confidence).sum(1) + 1, valid.sum(1))
            for j, i in enumerate(rows):
                chosen = np.sort(k[j, order[j, : take[j]]])
                breaks = np.flatnonzero(np.diff(chosen) > 1)
                starts = np.r_[chosen[0], chosen[breaks + 1]]
                ends = np.r_[chosen[breaks], chosen[-1]]
                out[i] = np.column_stack([starts, ends])
        return out

    def _grid_hpd(self, confidences, n_grid=1000):
        """Return the exact integer sets of :meth:`hpd` for each level, for plots."""
        return [self.hpd(c) for c in np.atleast_1d(confidences)]
