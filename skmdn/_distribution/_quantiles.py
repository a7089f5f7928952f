"""MixtureDistribution's quantiles and equal-tailed intervals (exact solvers)."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skmdn._mixture import roots


class QuantileMethods:
    """Quantiles and equal-tailed intervals, by the exact solvers."""

    __slots__ = ()

    def ppf(self, q):
        """Marginal quantile function (inverse of :meth:`cdf`) of each target.

        Solved by Halley steps (the density and its derivative come with
        the cdf, from the same standardised distances) from the quantile of
        the moment-matched normal, on the cdf itself, safeguarded by
        bisection inside the bracket formed by the components' own
        quantiles, which always contains the mixture's quantile; no grid and
        no sampling. Each quantile is solved on its own, so it does not
        depend on the other rows or levels; about 5 cdf evaluations each (at
        least 2: the answer and the float beside it, unless the cdf equals
        ``q`` there). For several targets, each target's quantile is exact
        for that target's column of :meth:`cdf` (or :meth:`sf`).

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

    def quantiles(self, levels):
        """Marginal quantiles of several levels at once, for every row.

        Parameters
        ----------
        levels : float or array-like of shape (n_levels,)
            Probabilities in [0, 1], the same for every row.

        Returns
        -------
        ndarray of shape (n_samples, n_levels) or (n_samples, n_levels, n_outputs)
            ``out[i, j]`` is the ``levels[j]`` quantile of row ``i`` (of each
            target); the target axis is dropped when ``squeeze``. Computed as
            :meth:`ppf`.

        Raises
        ------
        ValueError
            If ``levels`` is not a scalar or 1-D, or lies outside [0, 1].
        """
        q = np.atleast_1d(np.asarray(levels, dtype=np.float64))
        if q.ndim != 1:
            raise ValueError(f"levels must be a scalar or 1-D; got shape {q.shape}.")
        grid = np.broadcast_to(q[None, :, None], (len(self), q.size, self.n_outputs))
        return self._out(self._quantiles(grid))

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
            out[:, :, d] = roots.ppf(
                w,
                np.repeat(self.means[:, :, d], m, axis=0),
                np.repeat(self.scales[:, :, d], m, axis=0),
                q_inner[:, :, d].reshape(-1),
            ).reshape(n, m)
        out = np.where(inner, out, np.where(q <= 0, -np.inf, np.inf))
        return out if self._change.is_identity else self._change.inverse(out)

    def interval(self, confidence):
        """Equal-tailed interval holding ``confidence`` of each marginal's mass.

        Parameters
        ----------
        confidence : float or array-like of shape (n_levels,)
            Mass inside the interval, in [0, 1]; a sequence gives one interval
            per level, all in one call (as :meth:`quantiles`).

        Returns
        -------
        lower, upper : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles,
            to the accuracy of :meth:`ppf`. For a sequence of levels, of shape
            (n_samples, n_levels) or (n_samples, n_levels, n_outputs):
            ``lower[i, j]`` belongs to ``confidence[j]``.

        Raises
        ------
        ValueError
            If a level lies outside [0, 1] or ``confidence`` is not a scalar
            or 1-D.
        """
        if np.ndim(confidence) > 0:
            levels = np.asarray(confidence, dtype=np.float64)
            if levels.ndim != 1 or np.isnan(levels).any():
                raise ValueError(
                    f"confidence must be a float or 1-D; got shape {levels.shape}."
                )
            if ((levels < 0) | (levels > 1)).any():
                raise ValueError(f"confidence must lie in [0, 1], got {levels}.")
            both = self.quantiles(np.concatenate([0.5 - levels / 2, 0.5 + levels / 2]))
            return both[:, : levels.size], both[:, levels.size :]
        confidence = float(confidence)
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence must lie in [0, 1], got {confidence}.")
        # both ends in one pass of the solver (each problem is solved on its
        # own, so the answers are those of two ppf calls)
        q = np.array([0.5 - confidence / 2, 0.5 + confidence / 2])
        grid = np.broadcast_to(q[None, :, None], (len(self), 2, self.n_outputs))
        both = self._quantiles(grid)
        return self._out(both[:, 0]), self._out(both[:, 1])

    def isf(self, q):
        """Inverse survival function of each target: ``y`` with ``sf(y) == q``.

        Solved as :meth:`ppf` of the mirrored mixture (means negated) and
        negated back, so that small ``q`` (far upper tail) keeps its full
        relative precision, which ``ppf(1 - q)`` would round away.

        Parameters
        ----------
        q : float or array-like broadcastable to (n_samples, n_outputs)
            Probabilities in [0, 1].

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``inf`` at 0 and ``-inf`` at 1.

        Raises
        ------
        ValueError
            If ``q`` lies outside [0, 1] or does not broadcast to the rows.
        """
        # ppf needs only each target's scales, whatever the covariance type
        mirror = self._trusted(self.weights, -self.means, self.scales, self.squeeze)
        if self._change.is_identity:
            return -mirror.ppf(q)
        return self._change.inverse(-mirror.ppf(q))

    def median(self):
        """Median of each target's marginal distribution.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``ppf(0.5)``.
        """
        return self.ppf(0.5)
