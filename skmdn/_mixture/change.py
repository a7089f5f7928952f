"""Monotone changes of variables of the target: ``t = g(y)``, the mixture on ``t``.

A target with bounds, such as a positive one, is modelled as a Gaussian
mixture on ``t = g(y)`` for an increasing bijection ``g`` from the target's
support onto the real line. Then, exactly, ``cdf_Y(y) = cdf_T(g(y))``,
``ppf_Y(q) = g^{-1}(ppf_T(q))`` and
``log p_Y(y) = log p_T(g(y)) + log g'(y)``, and every point outside the
support has no mass (the cdf is exactly 0 below it and 1 above it).

A change of variables is an object with the small protocol of
:class:`Change`: ``forward`` (``g``), ``inverse`` (``g^{-1}``),
``log_jacobian`` (``log g'(y)``) and the support ``(lower, upper)``; the
rest (:meth:`Change.to_t`, :meth:`Change.logpdf`) is written once, here.
A change may also give its Jacobian as a sum of exponentials of ``t``
(:meth:`Change.exp_tilts`): then the density of ``y``, seen on the scale of
``t``, is again a Gaussian mixture (:mod:`skmdn._mixture.tilt`), which is
how modes and highest-density sets of ``y`` are found.
The identity (:data:`IDENTITY`) is the default; callers test
``change.is_identity`` and then skip the change entirely (no extra arrays),
so for it every answer is the untransformed one, bit for bit. A change acts
elementwise, the same on every target.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from scipy.special import expit


class Change:
    """An increasing bijection ``g`` from ``(lower, upper)`` onto the real line.

    Subclasses set ``lower`` and ``upper`` and define :meth:`forward`,
    :meth:`inverse` and :meth:`log_jacobian` for points inside the support.
    """

    is_identity = False
    lower = -np.inf
    upper = np.inf

    def forward(self, y):
        """``t = g(y)`` for ``y`` inside the support."""
        raise NotImplementedError

    def inverse(self, t):
        """``y = g^{-1}(t)``; ``-inf`` and ``inf`` map to the bounds."""
        raise NotImplementedError

    def log_jacobian(self, y):
        """``log g'(y)`` for ``y`` inside the support."""
        raise NotImplementedError

    def log_jacobian_t(self, t):
        """``log g'(g^{-1}(t))``; subclasses may give it without the round trip."""
        return self.log_jacobian(self.inverse(t))

    def exp_tilts(self):
        """Return the Jacobian as exponentials: ``g'(g^{-1}(t)) = sum_j c_j e^{a_j t}``.

        Returns ``(a, log_c)``, arrays of shape (J,), or None where the
        Jacobian has no such form (then modes and highest-density sets of the
        target are not available).
        """
        return None

    def support(self):
        """Return the support ``(lower, upper)`` of the target, an open interval."""
        return self.lower, self.upper

    def inside(self, y):
        """Whether ``y`` lies inside the (open) support."""
        return (y > self.lower) & (y < self.upper)

    def to_t(self, y):
        """``g(y)``, and ``-inf`` / ``inf`` at or beyond the lower / upper bound."""
        y = np.asarray(y, dtype=np.float64)
        inside = self.inside(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self.forward(np.where(inside, y, self._centre))
        return np.where(inside, t, np.where(y <= self.lower, -np.inf, np.inf))

    def logpdf(self, base_logpdf, y):
        """``log p_T(g(y)) + sum_d log g'(y_d)``, ``-inf`` outside the support.

        Parameters
        ----------
        base_logpdf : callable
            The log-density of the mixture on ``t``: targets (..., D) to (...).
        y : ndarray of shape (..., D)
        """
        inside = self.inside(y)
        safe = np.where(inside, y, self._centre)
        logp = base_logpdf(self.forward(safe)) + self.log_jacobian(safe).sum(-1)
        return np.where(inside.all(-1), logp, -np.inf)

    @property
    def _centre(self):
        """A point inside the support, put in place of points outside it."""
        lo, hi = self.lower, self.upper
        if np.isfinite(lo) and np.isfinite(hi):
            return 0.5 * lo + 0.5 * hi
        if np.isfinite(lo):
            return lo + 1.0
        return 0.0 if not np.isfinite(hi) else hi - 1.0


class Identity(Change):
    """``g(y) = y``: no change of variables (the default)."""

    is_identity = True

    def forward(self, y):
        return y

    def inverse(self, t):
        return t

    def log_jacobian(self, y):
        return np.zeros_like(y)

    def exp_tilts(self):
        return np.zeros(1), np.zeros(1)

    def __repr__(self):
        return "Identity()"


IDENTITY = Identity()


class Log(Change):
    """A target bounded on one side: ``(lower, inf)`` or ``(-inf, upper)``.

    ``g(y) = log(y - lower)``, or ``g(y) = -log(upper - y)`` (increasing);
    a Gaussian on ``t`` is then a (shifted, or mirrored) log-normal on ``y``.

    Parameters
    ----------
    lower, upper : float, optional
        Exactly one of them, finite.
    """

    def __init__(self, lower=None, upper=None):
        if (lower is None) == (upper is None):
            raise ValueError("Give exactly one of lower and upper.")
        bound = float(lower if upper is None else upper)
        if not np.isfinite(bound):
            raise ValueError(f"The bound must be finite; got {bound}.")
        self._up = upper is None  # the support lies above the bound
        if self._up:
            self.lower = bound
        else:
            self.upper = bound

    def forward(self, y):
        return np.log(y - self.lower) if self._up else -np.log(self.upper - y)

    def inverse(self, t):
        return self.lower + np.exp(t) if self._up else self.upper - np.exp(-t)

    def log_jacobian(self, y):
        return -np.log(y - self.lower) if self._up else -np.log(self.upper - y)

    def log_jacobian_t(self, t):
        return -t if self._up else t

    def exp_tilts(self):
        # g'(g^{-1}(t)) = e^{-t} above a lower bound, e^{t} below an upper one
        return np.array([-1.0 if self._up else 1.0]), np.zeros(1)

    def __repr__(self):
        if self._up:
            return f"Log(lower={self.lower!r})"
        return f"Log(upper={self.upper!r})"


class Logit(Change):
    """A target bounded on both sides, ``(lower, upper)``.

    ``g(y) = log(y - lower) - log(upper - y)``; a Gaussian on ``t`` is then a
    logit-normal on ``y``, stretched onto ``(lower, upper)``.

    Parameters
    ----------
    lower, upper : float
        Finite, ``lower < upper``.
    """

    def __init__(self, lower=0.0, upper=1.0):
        lower, upper = float(lower), float(upper)
        if not (np.isfinite(lower) and np.isfinite(upper) and lower < upper):
            raise ValueError(f"Need finite lower < upper; got {lower}, {upper}.")
        self.lower, self.upper = lower, upper

    def forward(self, y):
        return np.log(y - self.lower) - np.log(self.upper - y)

    def inverse(self, t):
        # from the nearer bound, so that both ends keep their precision
        t = np.asarray(t, dtype=np.float64)
        width = self.upper - self.lower
        low = self.lower + width * expit(t)
        high = self.upper - width * expit(-t)
        return np.where(t < 0, low, high)

    def log_jacobian(self, y):
        width = self.upper - self.lower
        return np.log(width) - np.log(y - self.lower) - np.log(self.upper - y)

    def log_jacobian_t(self, t):
        # y - lower = width expit(t) and upper - y = width expit(-t)
        t = np.asarray(t, dtype=np.float64)
        softplus = np.logaddexp(0.0, t) + np.logaddexp(0.0, -t)
        return softplus - np.log(self.upper - self.lower)

    def exp_tilts(self):
        # (1 + e^t)(1 + e^{-t}) / width = (e^{-t} + 2 + e^t) / width
        log_width = np.log(self.upper - self.lower)
        return np.array([-1.0, 0.0, 1.0]), np.array([0.0, np.log(2.0), 0.0]) - log_width

    def __repr__(self):
        return f"Logit(lower={self.lower!r}, upper={self.upper!r})"
