"""MixtureDistribution's densities, the cdf and the tails."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skmdn._distribution._base import check_targets
from skmdn._mixture import density


class DensityMethods:
    """Densities, the cdf and the tails."""

    __slots__ = ()

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
        y = check_targets(y, len(self), self.n_outputs)
        if not self._change.is_identity:
            return self._change.logpdf(
                lambda t: density.logpdf(self.weights, self.means, self._cov, t), y
            )
        return density.logpdf(self.weights, self.means, self._cov, y)

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

    def cross_logpdf(self, y):
        """Log-density of every candidate target under every row's mixture.

        Parameters
        ----------
        y : array-like of shape (n_candidates,) or (n_candidates, n_outputs)
            Candidate targets, e.g. a grid; a 1-D ``y`` is allowed for one
            target.

        Returns
        -------
        ndarray of shape (n_samples, n_candidates)
            ``log p_i(y[j])`` for row ``i`` and candidate ``j``, computed in
            blocks of rows so that memory stays bounded.

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
        if not self._change.is_identity:
            return self._change.logpdf(
                lambda t: density.cross_logpdf(self.weights, self.means, self._cov, t),
                y,
            )
        return density.cross_logpdf(self.weights, self.means, self._cov, y)

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
        return self._out(self._tail(density.cdf, y, None, 1.0))

    def _tail(self, func, y, below, above):
        """``func`` (a marginal tail of the mixture) at ``y``, through the change.

        At or beyond the bounds of the support the answer is ``below`` or
        ``above`` exactly (None where the mixture's own value at ``-inf`` or
        ``inf``, 0 or ``-inf``, already is exact).
        """
        if self._change.is_identity:
            return func(self.weights, self.means, self.scales, y)
        t = self._change.to_t(y)
        out = func(self.weights, self.means, self.scales, t)
        if below is not None:
            out = np.where(t == -np.inf, below, out)
        if above is not None:
            out = np.where(t == np.inf, above, out)
        return out

    def sf(self, y):
        """Marginal survival function ``1 - cdf`` of each target, accurate in the tail.

        Summed per component from the normal survival function, not computed
        as ``1 - cdf(y)``, so that it keeps its relative precision far in the
        upper tail where ``cdf`` rounds to one.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Points, one per row (and target).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``P(Y_d > y[i, d])`` under row ``i``.
        """
        y = self._broadcast_rows(y, "y")
        return self._out(self._tail(density.sf, y, 1.0, None))

    def logcdf(self, y):
        """Log of the marginal cdf of each target, finite far into the lower tail.

        Computed as ``logsumexp_k(log w_k + log_ndtr(z_k))`` with
        :func:`scipy.special.log_ndtr`, so that it stays accurate where
        :meth:`cdf` underflows to zero.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Points, one per row (and target).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``log P(Y_d <= y[i, d])`` under row ``i``.
        """
        y = self._broadcast_rows(y, "y")
        return self._out(self._tail(density.logcdf, y, None, 0.0))

    def logsf(self, y):
        """Log of the marginal survival function, finite far into the upper tail.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Points, one per row (and target).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``log P(Y_d > y[i, d])`` under row ``i``, computed as
            :meth:`logcdf` of the mirrored mixture.
        """
        y = self._broadcast_rows(y, "y")
        return self._out(self._tail(density.logsf, y, 0.0, None))
