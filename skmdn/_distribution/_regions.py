"""MixtureDistribution's modes and highest-density sets."""

# SPDX-License-Identifier: BSD-3-Clause

from typing import NamedTuple

import numpy as np

from skmdn._mixture import critical, hpd
from skmdn._mixture.modes import find_modes, unique_modes
from skmdn._mixture.tilt import tilted


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

        Under a change of variables of the targets (a bounded target), this
        is the mode of the target's own density, Jacobian included, not the
        image of the mixture's mode: see :meth:`modes`.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The location of the highest density.

        Raises
        ------
        NotImplementedError
            As :meth:`modes`.

        Warns
        -----
        ConvergenceWarning
            Where a solver misses its tolerance (which no test has produced).
        """
        if not self._change.is_identity:
            return self._changed_mode()
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
        is bounded over cells (interval bounds, component by component; above
        64 components, Taylor models about each cell's centre with rigorous
        remainders, which need fewer cells where many components overlap)
        that are halved until each provably holds no critical point, or at
        most one, found from the signs at its ends; every mode is then located
        to the rounding of ``d log p / dx``. The only exceptions are a bump so
        flat that the density varies across it by less than 1e-13 of itself,
        and critical points where the density is below 1e-300 of the highest
        component's peak (an odd number of them counts as one there).
        For several targets, modes are the distinct points reached by
        hill-climbing from every component mean: each is a local mode (a
        climb that ends on a minimum or a saddle, where the gradient also
        vanishes, is nudged along the direction of rising density and climbs
        on), but a mode that no climb reaches is missed.

        Under a change of variables ``t = g(y)`` of the targets (a bounded
        target: ``Log`` or ``Logit``), the modes are those of the density of
        ``y`` itself, ``p_T(g(y)) g'(y)``, which are not the images of the
        mixture's modes (a log-normal's mode is ``exp(mu - sigma**2)``, and a
        logit-normal of a wide component has two modes where the Gaussian
        has one). The Jacobian is a sum of exponentials of ``t``, so that
        density is, on the scale of ``t``, exactly a Gaussian mixture of the
        same scales up to a constant factor: each component tilted by
        ``e^{-t}`` (``Log`` with a lower bound: means ``mu - sigma**2``), by
        ``e^{t}`` (an upper bound), or by both and by 1 (``Logit``: three
        components for each, ``3**D`` for ``D`` targets, which are at most 3).
        Its modes are found as above, with the same guarantees, and mapped
        back by ``g^{-1}``. The density of ``y`` tends to 0 at the bounds for
        every mixture (the Gaussian tails of ``t`` beat the Jacobian), so
        every mode lies inside the support; one so close to a bound that it
        rounds onto it is returned as the bound, and a density there too
        high for a float (a log-normal of scale 30 peaks near ``e^{900}``)
        as ``inf``. The densities are those at the modes on the scale of
        ``t``, before they are rounded to floats of ``y``.

        Returns
        -------
        list of Modes
            One ``Modes(locations, densities, masses)`` named tuple per row,
            sorted by decreasing density. ``locations`` has shape (m,) when
            the targets are one-dimensional and squeezed, else (m, n_outputs).
            For one target, ``masses`` is the exact probability of each mode's
            basin (between the neighbouring density minima) and sums to one;
            for several targets it is the total weight of the components whose
            means climb to that mode (under a change of variables, the weight
            of each component split over its tilted copies in proportion to
            their weights, those of the copies whose means climb there).

        Raises
        ------
        NotImplementedError
            For more than three targets under ``Logit`` (``3**D`` tilted
            copies of every component), or a change whose Jacobian is not a
            sum of exponentials.

        Warns
        -----
        ConvergenceWarning
            Where a solver misses its tolerance (which no test has produced).
        """
        if not self._change.is_identity:
            return self._changed_modes()
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

        Under a change of variables ``t = g(y)`` of the target (a bounded
        target), the set is the level set ``{y : pdf(y) >= level}`` of the
        target's own density, Jacobian included, not the image of the
        mixture's set. As :meth:`modes` explains, that density is, on the
        scale of ``t``, a (tilted) Gaussian mixture times a constant, so the
        set is ``g^{-1}`` of a level set of that mixture, found as above,
        and its mass is that of the ``t``-set under the mixture on ``t``:
        the same guarantees hold, for the mass under the target's law
        (``cdf`` differences), except where a set lies within a few float
        spacings of a finite bound: its ends are rounded to floats of ``y``,
        which are too coarse there to carry the ends' precision in ``t`` (an
        upper bound of 5 has a spacing of 9e-16 there, where ``t`` is about
        35), and the mass is held on the scale of ``t`` only. ``confidence=1``
        gives the whole support.

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
            whole = [self._change.support()]
            return [np.array(whole, dtype=np.float64) for _ in range(len(self))]
        if confidence == 0.0:
            return [np.repeat(m, 2).reshape(1, 2) for m in self.mode().reshape(-1)]
        if not self._change.is_identity:
            tw, tmu, ts, _, _ = self._tilted()
            mass = (self.weights, self.means[..., 0], self.scales[..., 0])
            sets = hpd.hpd_sets(tw, tmu[..., 0], ts[..., 0], confidence, mass)
            return [self._change.inverse(t) for t in sets]
        return hpd.hpd_sets(
            self.weights, self.means[..., 0], self.scales[..., 0], confidence
        )

    def _tilted(self):
        """Return the density of the targets on the scale of ``t``: a mixture.

        See :func:`skmdn._mixture.tilt.tilted`: weights, means, scales or
        factors, the log of the constant factor and each copy's share.
        """
        return tilted(self._change, self.weights, self.means, self._cov)

    def _changed_mode(self):
        tw, tmu, tcov, _, _ = self._tilted()
        rows = np.arange(len(self))
        if self.n_outputs == 1:
            w1, mu1, s1 = tw, tmu[..., 0], tcov[..., 0]
            modes, _, _ = critical.sorted_critical_points(w1, mu1, s1)
            logp = critical.logpdf_points(w1, mu1, s1, modes)
            t = modes[rows, logp.argmax(1)][:, None]
        else:
            x, logp = find_modes(tw, tmu, tcov)
            t = x[rows, logp.argmax(1)]
        return self._out(self._change.inverse(t))

    def _changed_modes(self):
        tw, tmu, tcov, log_const, share = self._tilted()
        inverse = self._change.inverse
        out = []
        if self.n_outputs == 1:
            w1, mu1, s1 = tw, tmu[..., 0], tcov[..., 0]
            modes, n_modes, anti = critical.sorted_critical_points(w1, mu1, s1)
            logp = critical.logpdf_points(w1, mu1, s1, modes)
            with np.errstate(over="ignore"):  # a density above the floats
                dens = np.exp(logp + log_const[:, None])
            # the basins' mass under the mixture on t, between the minima
            cuts = critical.cdf_points(
                self.weights, self.means[..., 0], self.scales[..., 0], anti
            )
            y = inverse(modes)
            for i in range(len(self)):
                k = n_modes[i]
                mass = np.diff(np.r_[0.0, cuts[i, : k - 1], 1.0])
                out.append(self._modes_tuple(y[i, :k, None], dens[i, :k], mass))
            return out
        x, logp = find_modes(tw, tmu, tcov)
        copies = tw.shape[1] // self.n_components
        first, label = unique_modes(x, np.repeat(self.scales, copies, axis=1))
        y = inverse(x)
        with np.errstate(over="ignore"):  # a density above the floats
            dens = np.exp(logp + log_const[:, None])
        for i in range(len(self)):
            keep = np.flatnonzero(first[i])
            mass = np.array([share[i, label[i] == k].sum() for k in keep])
            out.append(self._modes_tuple(y[i, keep], dens[i, keep], mass))
        return out

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
