"""Mixture densities, cdfs, survival functions and moments."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from scipy.special import logsumexp

from skmdn._mixture import component
from skmdn._mixture.component import LOG_2PI
from skmdn._mixture.covariance import is_full, log_diag_sum, whiten
from skmdn._mixture.outputs import log_weights

# Elements per block of the (rows x candidate targets x K) density, to bound
# memory (and to keep its temporaries in cache).
_CROSS_BLOCK = 1 << 16


def component_logpdf(means, cov, y):
    """``log N(y; means_k, Sigma_k)`` for every component.

    Parameters
    ----------
    means : ndarray of shape (..., K, D)
    cov : ndarray of shape (..., K, D) or (..., K, D, D)
        Scales (diagonal) or Cholesky factors (full): through triangular
        solves and the log-diagonal, never an inverse or a determinant.
    y : ndarray of shape (..., D)
        Broadcast against the leading axes of ``means``.

    Returns
    -------
    ndarray of shape (..., K)
    """
    z = whiten(means, cov, y)
    D = means.shape[-1]
    return (
        -0.5 * np.einsum("...d,...d->...", z, z)
        - log_diag_sum(means, cov)
        - (0.5 * D * LOG_2PI)
    )


def logpdf(weights, means, cov, y):
    """Log-density of ``y[i]`` under mixture ``i``.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means : ndarray of shape (n, K, D)
    cov : ndarray of shape (n, K, D) or (n, K, D, D)
    y : ndarray of shape (n, D)

    Returns
    -------
    ndarray of shape (n,)
    """
    comp = component_logpdf(means, cov, y)
    return logsumexp(log_weights(weights) + comp, axis=-1)


def cross_logpdf(weights, means, cov, Y):
    """Log-density of every candidate target under every row's mixture.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means : ndarray of shape (n, K, D)
    cov : ndarray of shape (n, K, D) or (n, K, D, D)
    Y : ndarray of shape (m, D)

    Returns
    -------
    ndarray of shape (n, m)
        Computed in blocks of rows, so memory stays bounded.
    """
    n, K, D = means.shape
    m = Y.shape[0]
    out = np.empty((n, m))
    log_w = log_weights(weights)
    per_pair = K * D * (D if is_full(means, cov) else 1)
    # blocks of candidates, then of rows: the (rows, candidates, K, D)
    # temporaries stay near _CROSS_BLOCK elements, in cache, whatever n, m, K
    cols = max(1, min(m, _CROSS_BLOCK // max(1, per_pair)))
    step = max(1, _CROSS_BLOCK // max(1, cols * per_pair))
    for j in range(0, m, cols):
        cl = slice(j, j + cols)
        for start in range(0, n, step):
            sl = slice(start, start + step)
            # (rows, 1, K, D) against (1, m, 1, D)
            comp = component_logpdf(means[sl, None], cov[sl, None], Y[None, cl, :])
            out[sl, cl] = logsumexp(log_w[sl, None, :] + comp, axis=-1)
    return out


def cdf(weights, means, scales, y):
    """Marginal cdf of each target: ``P(Y_d <= y[i, d])`` under mixture ``i``.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    y : ndarray of shape (n, D)

    Returns
    -------
    ndarray of shape (n, D), clipped to [0, 1]
    """
    return _tail(component.cdf, weights, means, scales, y)


def sf(weights, means, scales, y):
    """Marginal survival function ``P(Y_d > y[i, d])``, accurate in the upper tail.

    Summed from ``Phi(-z)`` per component rather than taken as ``1 - cdf``,
    so that values far below machine epsilon keep their relative precision.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    y : ndarray of shape (n, D)

    Returns
    -------
    ndarray of shape (n, D), clipped to [0, 1]
    """
    return _tail(component.sf, weights, means, scales, y)


def _tail(phi, weights, means, scales, y):
    """``sum_k w_k phi(z_k)`` per target, clipped to [0, 1]; (n, D).

    One target at a time, with the sum of :func:`component.weighted_sum
    <skmdn._mixture.component.weighted_sum>`, so that each target's values
    are those of its 1-D mixture (the quantile solver's, to the bit).
    """
    out = np.empty(y.shape)
    for d in range(y.shape[1]):
        z = component.standardize(y[:, d, None], means[:, :, d], scales[:, :, d])
        out[:, d] = component.weighted_sum(weights, phi(z))
    return np.clip(out, 0.0, 1.0)


def logcdf(weights, means, scales, y):
    """Log of the marginal cdf, finite far into the lower tail.

    ``logsumexp_k(log w_k + log_ndtr(z_k))``: ``log_ndtr`` keeps its relative
    accuracy where ``ndtr`` underflows to zero (``z`` far below -38).

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    y : ndarray of shape (n, D)

    Returns
    -------
    ndarray of shape (n, D), at most 0
    """
    z = component.standardize(y[:, None, :], means, scales)
    log_w = log_weights(weights)[:, :, None]
    return np.minimum(logsumexp(log_w + component.log_cdf(z), axis=1), 0.0)


def logsf(weights, means, scales, y):
    """Log of the marginal survival function, finite far into the upper tail.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    y : ndarray of shape (n, D)

    Returns
    -------
    ndarray of shape (n, D), at most 0
    """
    return logcdf(weights, -means, scales, -y)


def _double_factorial(m):
    """``m!!`` for ``m >= -1`` (``(-1)!! = 0!! = 1``), as an exact integer."""
    from math import prod

    return prod(range(m, 0, -2))


def moment(weights, means, scales, order, center=None):
    """Marginal moments ``E[(Y_d - c_d)**order]`` of each row's mixture, exactly.

    For one Gaussian, ``E[(mu - c + s Z)**r]`` is
    ``sum_{j even} C(r, j) (mu - c)**(r - j) s**j (j - 1)!!``; the mixture's
    moment is the weighted sum over components.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    order : int
        Non-negative order ``r``.
    center : ndarray of shape (n, D) or None
        ``c``; None for the raw (non-central) moments.

    Returns
    -------
    ndarray of shape (n, D)
    """
    from math import comb

    dev = means if center is None else means - center[:, None, :]
    total = np.zeros_like(dev)
    for j in range(0, order + 1, 2):
        coef = comb(order, j) * _double_factorial(j - 1)
        total += coef * dev ** (order - j) * scales**j
    return np.einsum("nk,nkd->nd", weights, total)
