"""The continuous ranked probability score of 1-D mixtures, in closed form."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skmdn._mixture import _blocks, quadrature
from skmdn._mixture.component import INV_SQRT_2PI, cdf, kernel, mixture_cdf


def _abs_normal_mean(m, v):
    """``E|Z|`` for ``Z ~ N(m, v)``."""
    sd = np.sqrt(v)
    z = m / sd
    return 2 * sd * kernel(z) * INV_SQRT_2PI + m * (2 * cdf(z) - 1)


def crps(w, mu, s, y):
    """Closed-form CRPS of 1-D mixtures at ``y`` (Grimit et al., 2006).

    ``E|X - y| - 0.5 E|X - X'|`` with ``X, X'`` independent draws from the
    mixture; both expectations are sums of folded-normal means. The second
    is a sum over pairs of components, ``K**2`` terms per row (computed in
    blocks of rows, so memory stays bounded).
    """
    # rows per block so that the (rows, K, K) pair terms stay within BUDGET
    step = max(1, _blocks.BUDGET // max(1, w.shape[1] ** 2))
    if len(y) <= step:
        return _crps_block(w, mu, s, y)
    parts = [
        _crps_block(w[i : i + step], mu[i : i + step], s[i : i + step], y[i : i + step])
        for i in range(0, len(y), step)
    ]
    return np.concatenate(parts)


def _crps_block(w, mu, s, y):
    v = s * s
    first = (w * _abs_normal_mean(y[:, None] - mu, v)).sum(1)
    pair = _abs_normal_mean(mu[:, :, None] - mu[:, None, :], v[:, :, None] + v[:, None])
    second = np.einsum("pk,pkl,pl->p", w, pair, w)
    return first - 0.5 * second


def crps_quadrature(w, mu, s, y, change):
    """CRPS of the law of ``g^{-1}(T)`` at ``y``, ``T`` 1-D mixtures, by quadrature.

    On the scale of ``y``: ``E|Y - y| - E[(Y - c)(2 F(Y) - 1)]`` (the second
    term is half of ``E|Y - Y'|``, for any constant ``c`` since
    ``E[2 F(Y) - 1] = 0``; ``c`` is a central point of each row, against
    cancellation), each expectation by the composite rule of
    :func:`~skmdn._mixture.quadrature.expect` on ``t`` out to 16 standard
    deviations of every component, the first split at
    ``g(y)`` where ``|Y - y|`` has its kink.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
    y : ndarray of shape (P,)
    change : Change
        The change of variables ``t = g(y)``.

    Returns
    -------
    ndarray of shape (P,)
    """
    lb, ub = quadrature.wide_bounds(mu, s)
    inverse = change.inverse
    # g(y), kept inside the span of the quadrature's cuts (a point beyond the
    # support splits nothing off)
    ty = np.clip(change.to_t(y), lb, ub)
    centre = inverse(np.einsum("pk,pk->p", w, mu))

    def above(rows, t):
        return inverse(t) - y[rows, None]

    def below(rows, t):
        return y[rows, None] - inverse(t)

    def spread(rows, t):
        F = mixture_cdf(w[rows], mu[rows], s[rows], t)
        return (inverse(t) - centre[rows, None]) * (2 * F - 1)

    first = quadrature.integrate(w, mu, s, above, ty, ub)[0]
    first += quadrature.integrate(w, mu, s, below, lb, ty)[0]
    return first - quadrature.integrate(w, mu, s, spread, lb, ub)[0]
