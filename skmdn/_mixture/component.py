"""One Gaussian component, and the one-dimensional mixture of them.

The only place where a 1-D Gaussian component is written: its standardised
distance ``z = (x - mu) / s``, its density ``w / s phi(z)`` and log-density,
its cdf, survival function and log-cdf, its quantiles, and the derivatives of
its density. The densities and tails (:mod:`~skmdn._mixture.density`),
quadrature, the quantile solver, the critical-point search, the HPD sets and
CRPS take them from here and never call ``ndtr``, ``ndtri`` or ``phi``
inline. A new component form is written here, once.

Most functions act on the standardised distance ``z``: ``kernel(z)`` is
``sqrt(2 pi) phi(z) = exp(-z**2 / 2)``, so that the factor ``1/sqrt(2 pi)``
is applied once per mixture rather than per term. The order of the
floating-point operations in each function is part of its contract: the
solvers' answers are reproducible to the bit.
"""

# SPDX-License-Identifier: BSD-3-Clause

from functools import cached_property

import numpy as np
from scipy.special import log_ndtr, logsumexp, ndtr, ndtri

LOG_2PI = np.log(2.0 * np.pi)
INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
SQRT_2PI = np.sqrt(2.0 * np.pi)

# The derivatives of the density, in z and less the factor 1/sqrt(2 pi):
# -z e^{-z^2/2} has its maximum D1_PEAK at z = -D1_AT and its minimum
# -D1_PEAK at z = D1_AT; (z^2 - 1) e^{-z^2/2} has its minimum -1 at 0 and its
# maxima D2_PEAK at z = +-D2_AT.
D1_AT = 1.0
D1_PEAK = np.exp(-0.5)
D2_AT = np.sqrt(3.0)
D2_PEAK = 2.0 * np.exp(-1.5)
# Elements of the (P, nodes, K) temporary of mixture_pdf, per chunk of nodes.
_PDF_CHUNK = 1 << 20


# ------------------------------------------------------- one component, in z


def standardize(x, mu, s):
    """Return the standardised distance ``(x - mu) / s``."""
    return (x - mu) / s


def standardize_by(x, mu, inv_s):
    """Return ``(x - mu) * inv_s``, for a reciprocal scale computed once."""
    return (x - mu) * inv_s


def at(mu, s, z):
    """Return the point ``mu + s z`` at standardised distance ``z``."""
    return mu + s * z


def log_kernel(z):
    """``log(sqrt(2 pi) phi(z)) = -z**2 / 2``."""
    return -0.5 * z * z


def kernel(z, out=None):
    """``sqrt(2 pi) phi(z) = exp(-z**2 / 2)``; in place when ``out`` is given.

    The in-place form (square, halve, exponentiate) rounds as the other: the
    halving is exact, and a square too small to be normal exponentiates to 1.
    """
    if out is None:
        return np.exp(-0.5 * z * z)
    np.square(z, out=out)
    out *= -0.5
    return np.exp(out, out=out)


def cdf(z, out=None):
    """Return the standard normal cdf ``Phi(z)``; in ``out`` when given."""
    return ndtr(z, out=out)


def sf(z):
    """Return the standard normal survival function ``Phi(-z)`` (exact tails)."""
    return ndtr(-z)


def log_cdf(z):
    """``log Phi(z)``, accurate where ``Phi`` underflows."""
    return log_ndtr(z)


def quantile(p):
    """Return the standard normal quantile ``Phi^{-1}(p)``."""
    return ndtri(p)


# Mills' ratio Phi(-a) / exp(-a**2 / 2) for a >= 0 as P(a) / Q(a), degrees 3
# and 4 (Q monic, the factor 1/sqrt(2 pi) in P): relative error below 1e-6 on
# [0, 37] (tests/test_mixture_roots.py checks it against ndtr), and the
# asymptote 1 / (a sqrt(2 pi)) of the ratio built in. Fitted for skmdn by a
# least-squares fit of the relative error on [0, 40] with Lawson's reweighting
# towards minimax; the poles lie in the left half-plane. Only the quantile
# solver's first iterations use it: no returned value is computed from it.
_MILLS_P = (
    10.06422100071951,
    7.671603564439565,
    2.6339123621458147,
    0.3989338590485804,
)
_MILLS_Q = (
    20.128461973511776,
    31.402486638053396,
    20.265743313578938,
    6.600770091679443,
)


def approx_sf_ratio(a, out, tmp):
    """``Phi(-a) / exp(-a**2 / 2)`` for ``a >= 0``, to a relative 1e-6, in ``out``.

    A rational approximation (see ``_MILLS_P``), by Horner's rule in place;
    ``tmp`` is scratch of the shape of ``a``. Cheaper than :func:`sf`, and
    only for iterations whose result is checked with :func:`cdf`.
    """
    np.add(a, _MILLS_Q[3], out=out)
    for c in _MILLS_Q[2::-1]:
        out *= a
        out += c
    np.multiply(a, _MILLS_P[3], out=tmp)
    for c in _MILLS_P[2:0:-1]:
        tmp += c
        tmp *= a
    tmp += _MILLS_P[0]
    return np.divide(tmp, out, out=out)


def score(z, inv_s):
    """``d/dx log phi((x - mu) / s) = -z / s``."""
    return -z * inv_s


def slope_terms(h, z, inv_s):
    """Minus the derivative in ``x`` of terms ``h(z)`` proportional to ``phi(z)``."""
    return h * z * inv_s


def curvature_terms(h, z, inv_s):
    """``s`` times the second derivative in ``x`` of terms ``h`` (``phi`` shaped)."""
    return h * (z * z - 1) * inv_s


def curvature_ratio(a, inv_s):
    """``phi'' / phi`` in ``x`` from the score ``a``: ``a**2 - 1 / s**2``."""
    return a * a - inv_s * inv_s


# ------------------------------------------------------------ 1-D mixtures


def mixture_pdf(w, mu, s, x):
    """Density of each row's mixture at nodes ``x`` of shape (P, M); (P, M).

    One exponential per node and component, in place, and a matrix product
    over the components (the form of the quadrature, many nodes per row),
    in chunks of nodes so that the (P, nodes, K) temporary stays bounded.
    """
    P, M = x.shape
    step = max(1, _PDF_CHUNK // max(1, P * mu.shape[1]))
    if M > step:
        return np.concatenate(
            [mixture_pdf(w, mu, s, x[:, j : j + step]) for j in range(0, M, step)], 1
        )
    z = x[:, :, None] - mu[:, None, :]
    z *= (1.0 / s)[:, None, :]
    kernel(z, out=z)
    return np.einsum("pmk,pk->pm", z, w / s) * INV_SQRT_2PI


def mixture_cdf(w, mu, s, x):
    """Cdf of each row's mixture at nodes ``x`` of shape (P, M); (P, M)."""
    z = standardize(x[:, :, None], mu[:, None, :], s[:, None, :])
    return (w[:, None, :] * cdf(z)).sum(-1)


class Mixture1D:
    """``P`` one-dimensional Gaussian mixtures: arrays ``w``, ``mu``, ``s`` (P, K).

    Methods evaluate the mixtures of the given ``rows`` (an index array)
    at one point each, ``x`` of shape (m,), or at standardised distances
    ``z`` (m, K) from :meth:`z`.
    """

    def __init__(self, w, mu, s):
        self.w, self.mu, self.s = w, mu, s
        self.K = w.shape[1]

    @cached_property
    def log_w(self):
        """``log w``, with ``-inf`` for zero weights."""
        with np.errstate(divide="ignore"):
            return np.log(self.w)

    @cached_property
    def log_s(self):
        """``log s``."""
        return np.log(self.s)

    @cached_property
    def lws(self):
        """``log(w / s)``, where a zero weight is a term that underflows to 0."""
        return np.maximum(self.log_w - self.log_s, -1e5)

    @cached_property
    def inv_s(self):
        """``1 / s``."""
        return 1.0 / self.s

    @cached_property
    def w_pdf(self):
        """``w / s / sqrt(2 pi)``: each term's density at its mean."""
        return self.w / self.s * INV_SQRT_2PI

    def z(self, rows, x):
        """Standardised distances of ``x`` from the components of ``rows``."""
        return standardize(x[:, None], self.mu[rows], self.s[rows])

    def cdf_z(self, rows, z):
        """Mixture cdf from the distances ``z``."""
        return (self.w[rows] * cdf(z)).sum(1)

    def cdf(self, rows, x):
        """Mixture cdf at ``x``."""
        return self.cdf_z(rows, self.z(rows, x))

    def pdf_z(self, rows, z):
        """Mixture density from the distances ``z``."""
        return (self.w_pdf[rows] * kernel(z)).sum(1)

    def log_cdf_z(self, rows, z):
        """Log of the mixture cdf from ``z``, by ``log_ndtr`` (deep lower tails)."""
        return logsumexp(self.log_w[rows] + log_cdf(z), axis=1)

    def log_pdf_z(self, rows, z):
        """Log-density from ``z``, in logs throughout (far from every component)."""
        terms = self.log_w[rows] + log_kernel(z) - self.log_s[rows]
        return logsumexp(terms, axis=1) - (0.5 * LOG_2PI)

    def component_quantiles(self, p):
        """Each component's ``p[i]`` quantile, of shape (P, K)."""
        return at(self.mu, self.s, quantile(p)[:, None])

    def terms(self, rows, x):
        """Scaled component densities at ``x`` of the given rows.

        Returns ``z`` (m, K), ``h = exp(arg - top)`` (m, K) with ``arg`` the
        log of each component's density (less log sqrt(2 pi)) and ``top``
        (m,) its largest value.
        """
        z = self.z(rows, x)
        arg = self.lws[rows] + log_kernel(z)
        top = arg.max(1)
        h = np.exp(arg - top[:, None])
        return z, h, top

    def logpdf(self, rows, x):
        """Log-density and its derivative at ``x``."""
        z, h, top = self.terms(rows, x)
        tot = h.sum(1)
        g = -slope_terms(h, z, self.inv_s[rows]).sum(1) / tot
        return top + np.log(tot) - 0.5 * LOG_2PI, g
