"""MixtureDistribution's modes and highest-density sets."""

# SPDX-License-Identifier: BSD-3-Clause

from typing import NamedTuple

import numpy as np

from skmdn._mixture import critical, hpd
from skmdn._mixture.modes import find_modes, unique_modes


class Modes(NamedTuple):
    """Local modes of one row's mixture, by decreasing density."""

    locations: np.ndarray
    densities: np.ndarray
    masses: np.ndarray


class RegionMethods:
    """Modes and highest-density sets."""

    __slots__ = ()

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
        self._no_change("mode")
        w, mu, s = self.weights, self.means, self.scales
        if self.n_outputs == 1:
            modes, _, _ = critical.sorted_critical_points(w, mu[..., 0], s[..., 0])
            logp = critical.logpdf_points(w, mu[..., 0], s[..., 0], modes)
            best = logp.argmax(1)  # padding repeats the last mode, after it
            return self._out(modes[np.arange(len(self)), best][:, None])
        x, logp = find_modes(w, mu, self._cov)
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
        hill-climbing from every component mean: each is a local mode (a
        climb that ends on a minimum or a saddle, where the gradient also
        vanishes, is nudged along the direction of rising density and climbs
        on), but a mode that no climb reaches is missed.

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
        self._no_change("modes")
        w, mu, s = self.weights, self.means, self.scales
        out = []
        if self.n_outputs == 1:
            w1, mu1, s1 = w, mu[..., 0], s[..., 0]
            modes, n_modes, anti = critical.sorted_critical_points(w1, mu1, s1)
            dens = np.exp(critical.logpdf_points(w1, mu1, s1, modes))
            cuts = critical.cdf_points(w1, mu1, s1, anti)
            for i in range(len(self)):
                k = n_modes[i]
                mass = np.diff(np.r_[0.0, cuts[i, : k - 1], 1.0])
                out.append(self._modes_tuple(modes[i, :k, None], dens[i, :k], mass))
            return out
        x, logp = find_modes(w, mu, self._cov)
        first, label = unique_modes(x, s)
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
        self._no_change("hpd")
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
        return hpd.hpd_sets(
            self.weights, self.means[..., 0], self.scales[..., 0], confidence
        )

    def _grid_hpd(self, confidences, n_grid=1000):
        """Highest-density sets of one target on a grid, for plots.

        See :func:`skmdn._mixture.hpd.grid_hpd_sets`; the grid spans all but a
        twentieth of the mass that the widest set leaves out, split between
        the two tails (and a margin either side, so the ends fall inside).
        """
        confidences = np.asarray(confidences, dtype=np.float64)
        lo, hi = self.interval(1 - (1 - confidences.max()) / 20)
        lo = np.atleast_1d(lo).astype(np.float64)
        hi = np.atleast_1d(hi).astype(np.float64)
        w, mu, s = self.weights, self.means, self.scales
        change = None if self._change.is_identity else self._change
        return hpd.grid_hpd_sets(w, mu, s, lo, hi, confidences, n_grid, change)
