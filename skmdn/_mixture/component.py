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

from contextlib import contextmanager
from functools import cached_property

import numpy as np
from scipy.special import log_ndtr, logsumexp, ndtri

from skmdn._threads import one_openmp_thread

LOG_2PI = np.log(2.0 * np.pi)
INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
SQRT_2PI = np.sqrt(2.0 * np.pi)
SQRT1_2 = np.sqrt(0.5)

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


# torch's erfc runs on its intra-op (OpenMP) threads above a grain of some
# thousands of elements (torch 2.13 here: calls of 2,048 stayed on one
# thread, larger ones used two; repeated small calls kept the second core
# spinning from 128): see serial_torch.
_SERIAL_ERFC = 64


def _half_erfc(z, scale, out):
    """``erfc(scale z) / 2`` in float64, by torch's vectorised ``erfc``.

    cephes' ``ndtr`` (scipy's) computes ``Phi(z)`` by the same formula,
    ``erfc(-z / sqrt 2) / 2``, one element at a time: 14.7 ns an element
    against 1.3 for torch's vectorised kernel on this project's 2-core machine,
    at the same accuracy (against mpmath on [-37.5, 9]: at most 1.9e-13
    relative below -20, where the argument's rounding dominates in both,
    against scipy's 2.3e-13; 3.3e-15 on [-5, -0.7]; 2.2e-16 near 0).
    The product is numpy's, in ``out``; ``erfc`` runs in place, on one
    thread (``_SERIAL_ERFC``).
    """
    z = np.asarray(z)
    if z.dtype == np.float32 or z.dtype == np.float16:  # as ndtr: in z's dtype
        result = _half_erfc(z.astype(np.float64), scale, None).astype(z.dtype)
        return result if out is None else _into(out, result)
    if out is not None and not _is_flat_f8(out):
        return _into(out, _half_erfc(z, scale, None))
    if out is None:
        out = np.empty(z.shape)
    np.multiply(z, scale, out=out)
    with serial_torch(out.size) as torch:
        flat = torch.from_numpy(out.reshape(-1))
        torch.erfc(flat, out=flat)
    out *= 0.5
    return out if out.ndim else out[()]


@contextmanager
def serial_torch(size):
    """torch, for work on ``size`` elements in the calling thread only.

    Above ``_SERIAL_ERFC`` elements, unless the calling thread already runs
    torch on one thread, under a limit of one OpenMP thread for the calling
    thread (threadpoolctl; about 20 us). Imported here, not at the top:
    importing the maths imports no torch.
    """
    import torch

    if size <= _SERIAL_ERFC or torch.get_num_threads() == 1:
        yield torch
    else:
        with one_openmp_thread():
            yield torch


def _into(out, values):
    out[...] = values
    return out


def _is_flat_f8(a):
    """Whether ``a`` is a C-contiguous, writeable float64 ndarray."""
    return (
        isinstance(a, np.ndarray)
        and a.dtype == np.float64
        and a.flags.c_contiguous
        and a.flags.writeable
    )


def cdf(z, out=None):
    """Return the standard normal cdf ``Phi(z)``; in ``out`` when given."""
    return _half_erfc(z, -SQRT1_2, out)


def sf(z):
    """Return the standard normal survival function ``Phi(-z)`` (exact tails)."""
    return _half_erfc(z, SQRT1_2, None)


def log_cdf(z):
    """``log Phi(z)``, accurate where ``Phi`` underflows."""
    return log_ndtr(z)


def quantile(p):
    """Return the standard normal quantile ``Phi^{-1}(p)``."""
    return ndtri(p)


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


def weighted_sum(w, terms):
    """Return ``sum_k w[i, k] * terms[i, k]`` of arrays (P, K); (P,).

    The one reduction of the mixture cdf and survival function: the public
    ones (:mod:`~skmdn._mixture.density`, per target), :class:`Mixture1D`
    and the quantile solver take their sums from here, so they compute the
    same values to the bit (the solver's exactness promise). numpy's
    ``einsum`` accumulates each row in one fixed order (fused multiply-adds
    in vector lanes, for the row's length), so a row's value depends only on
    that row, not on the others in the call or on memory alignment; the
    arrays are taken C-contiguous, since its strided loop rounds
    differently. Cheaper than ``(w * terms).sum(1)``, whose sum over a short
    axis pays per row (K = 10: 0.54 ns an element against 2.27; K = 50:
    0.35 against 1.19).
    """
    w, terms = np.ascontiguousarray(w), np.ascontiguousarray(terms)
    return np.einsum("ij,ij->i", w, terms)


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
        """Mixture cdf from the distances ``z`` (the sum of :func:`weighted_sum`)."""
        return weighted_sum(self.w[rows], cdf(z))

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
