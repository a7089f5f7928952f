"""Taylor models of a 1-D mixture's density over cells, with rigorous remainders.

The certificates of the critical-point search (:mod:`~skmdn._mixture.critical`)
at many components. About the centre ``c`` of a cell of half-width ``r``, for
``|u| <= r``,

``p'(c + u) = D1 + D2 u + D3 u**2 / 2 + D4 u**3 / 6 + R1``, ``|R1| <= M5 r**4 / 24``

``p''(c + u) = D2 + D3 u + D4 u**2 / 2 + R2``, ``|R2| <= M5 r**3 / 6``

(Lagrange's remainders), where ``D_j = p^(j)(c)`` are sums of the terms'
Hermite polynomials, ``p^(j)`` of a term ``h(z)`` being
``(-1)^j He_j(z) h(z) / s**j``, and ``M5`` bounds ``|p^(5)|`` over the cell
term by term. Where hundreds of components overlap, the polynomials cancel
where term-by-term bounds cannot, so the cells can be wider. The terms of
components narrower than the cell are bounded on their own instead (their
remainders would be large), as the term-by-term certificate does.

Everything is scaled by the largest term at the cell's centre, ``exp(top)``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from numpy.polynomial import hermite_e

from skmdn._mixture.component import D1_AT, D1_PEAK, D2_AT, D2_PEAK
from skmdn._mixture.roots import EPS

# A component whose scale is below 1 / NARROW_RHO of the cell's half-width
# is bounded on its own where its Taylor remainder would exceed those bounds
# (and is not negligible: below TINY_REMAINDER of the largest term).
NARROW_RHO = 0.5
TINY_REMAINDER = 1e-20
# numpy's exp is 15 to 200 times slower below this (where its result nears
# the subnormals), and most of K = 2,000 terms are far from any one point:
# exponents are raised to it, for upper bounds, or their terms taken as 0
# (ceil_exp, fast_exp).
MIN_EXP = -700.0
# The columns of a cell's model: its centre and half-width, D1 ... D4, M5,
# the narrow terms' bounds of p' and of p'' (lower, upper), the rounding of
# p' and of p'', the density at the centre and the log of the most any term
# gets in the cell (unscaled).
C, R, M5, NOISE, DENSITY, TALLEST = 0, 1, 6, 11, 13, 14
D, NARROW = slice(2, 6), slice(7, 11)
WIDTH = 15


def _last_peak(n):
    """Where ``|He_n(z)| exp(-z**2 / 2)`` peaks last, and its highest peak.

    ``He_n`` is the probabilists' Hermite polynomial, and the derivative of
    ``He_n(z) exp(-z**2 / 2)`` is ``-He_{n+1}(z) exp(-z**2 / 2)``: beyond the
    largest root of ``He_{n+1}`` the function falls in ``|z|``. Both values
    are raised a little above their rounding.
    """
    at = hermite_e.hermeroots(np.eye(n + 2)[n + 1]).real
    peaks = np.abs(hermite_e.hermeval(at, np.eye(n + 1)[n])) * np.exp(-0.5 * at * at)
    return at.max() * (1 + 1e-9), peaks.max() * (1 + 1e-9)


# |He_5(z)| exp(-z^2/2) peaks at most H5_PEAK (5.78) and falls beyond H5_AT
# (3.32): the fifth derivative of a term, in z.
H5_AT, H5_PEAK = _last_peak(5)


_EXP_FLOOR = np.exp(MIN_EXP)


def ceil_exp(x):
    """``exp(x)`` in place, ``x`` raised to ``MIN_EXP`` first: an upper bound."""
    np.maximum(x, MIN_EXP, out=x)
    return np.exp(x, out=x)


def fast_exp(x):
    """``exp(x)`` in place, 0 below ``MIN_EXP``: a lower bound, as underflow is.

    ``exp(max(x, MIN_EXP)) - exp(MIN_EXP)``: exact (to rounding) wherever
    ``exp(x)`` is above about ``exp(-660)`` of the largest term.
    """
    x = ceil_exp(x)
    x -= _EXP_FLOOR
    return x


def no_models(n):
    """Models of ``n`` cells that have none (NaN)."""
    return np.full((n, WIDTH), np.nan)


def cell_models(m, rows, a, b):
    """Taylor models of the density over the cells ``[a, b]`` of mixtures ``rows``.

    ``m`` is a :class:`~skmdn._mixture.critical.Rows`. Returns an array of
    shape (n, WIDTH), with the columns named above.
    """
    c = 0.5 * (a + b)
    r = np.maximum(c - a, b - c)
    inv_s, lws = m.inv_s[rows], m.lws[rows]
    z = np.subtract(c[:, None], m.mu[rows])  # (c - mu) / s, in place
    z *= inv_s
    q = z * z
    h = q * -0.5
    h += lws
    top = h.max(1, keepdims=True)
    lws -= top  # the log of each term's height at its mean
    h = fast_exp(np.subtract(h, top, out=h))
    density = h.sum(1)
    az = np.abs(z)
    zn = np.multiply(inv_s, r[:, None])  # the half-width in each scale
    zn = np.subtract(az, zn, out=zn)
    zn = np.maximum(zn, 0.0, out=zn)  # the nearest the cell comes, in z
    qn = zn * zn
    en = qn * -0.5
    en += lws  # the most each term gets in the cell
    tallest = en.max(1) + top[:, 0]
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        en = ceil_exp(en)
        m5 = _fifth_bound(zn, qn, en, lws)
        narrow, rho = _narrow_terms(inv_s, r, zn, en, m5)
        bounds = _narrow_bounds(narrow, rho, z, zn, en, lws, inv_s)
        h.ravel()[narrow] = 0.0  # the terms of the Taylor models
        m5.ravel()[narrow] = 0.0
        m5 = np.einsum("mk,mk->m", m5, m.inv_s5[rows])
        m5 *= 1 + 2 * (m.K + 8) * EPS  # above its own rounding
        # the relative rounding of a term is err + 3 EPS z**2 (as in
        # Rows.rounded_terms, with the row's largest |log(w / s)|)
        err = EPS * (m.K + 8 + 2 * (np.abs(top[:, 0]) + m.lws_size[rows]))
        d, noise1, noise2 = _taylor_terms(h, z, q, az, inv_s, err)
    return np.column_stack(
        (
            c,
            r,
            d,
            m5,
            *bounds[:4],
            noise1 + bounds[4],
            noise2 + bounds[5],
            density,
            tallest,
        )
    )


def settle(model, lo, hi, flat):
    """Apply the tests of the critical-point search to models, over ``c + [lo, hi]``.

    A model holds over its own cell, and ``[lo, hi]`` lies within it: the
    whole cell, or a half of it (the polynomials' ranges narrow with the
    interval, their remainders do not). The ranges are those of the cubic
    and the quadratic themselves (at the ends and their turning points),
    widened by their rounding.

    Returns
    -------
    ok : ndarray of bool, shape (n,)
        Where the derivative keeps one sign over the interval beyond its
        rounding, the second derivative does, or the density varies across
        the interval by less than ``flat`` of itself.
    sign : ndarray of int8, shape (n,)
        The sign of the derivative over the interval, where it keeps one.
    """
    r = model[:, R]
    d1, d2, d3, d4 = model[:, D].T
    lo1, hi1, lo2, hi2 = model[:, NARROW].T
    with np.errstate(over="ignore", invalid="ignore"):
        p1_lo, p1_hi = _cubic_range(d1, d2, d3, d4, lo, hi)
        p2_lo, p2_hi = _cubic_range(d2, d3, d4, 0.0, lo, hi)
        r3 = model[:, M5] * r**3 / 6  # Lagrange's remainders
        r4 = r3 * r / 4
        d1_lo, d1_hi = p1_lo - r4 + lo1, p1_hi + r4 + hi1
        d2_lo, d2_hi = p2_lo - r3 + lo2, p2_hi + r3 + hi2
        rises, falls = d1_lo > model[:, NOISE], d1_hi < -model[:, NOISE]
        monotone = (d2_lo > model[:, NOISE + 1]) | (d2_hi < -model[:, NOISE + 1])
        steep = np.maximum(d1_hi, -d1_lo)
        low = model[:, DENSITY] - r * steep  # the least density in the cell
        even = (hi - lo) * steep <= flat * low
    return rises | falls | monotone | even, rises.astype(np.int8) - falls


def model_roots(model, a, b):
    """Roots in ``[a, b]`` of the models' cubics of ``p'`` (Newton steps, clipped)."""
    c = model[:, C]
    d1, d2, d3, d4 = model[:, D].T
    lo, hi = a - c, b - c
    u = 0.5 * (lo + hi)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(6):
            f = d1 + u * (d2 + u * (d3 / 2 + u * d4 / 6))
            df = d2 + u * (d3 + u * d4 / 2)
            u = np.clip(u - f / df, lo, hi)
        x = c + u
    return np.where(np.isfinite(x), np.clip(x, a, b), 0.5 * (a + b))


def _cubic_range(d0, d1, d2, d3, lo, hi):
    """Range of ``d0 + d1 u + d2 u**2 / 2 + d3 u**3 / 6`` over ``[lo, hi]``.

    Its values at the ends and at its turning points inside (the roots of
    its derivative, a quadratic solved stably), widened by 8 EPS of the sum
    of its terms' sizes.
    """

    def at(u):
        return d0 + u * (d1 + u * (d2 / 2 + u * (d3 / 6)))

    with np.errstate(divide="ignore", invalid="ignore"):
        disc = np.sqrt(d2 * d2 - 2 * d3 * d1)
        half = -0.5 * (d2 + np.copysign(disc, d2))
        turns = (half / (d3 / 2), d1 / half)
    vals = [at(lo), at(hi)]
    for u in turns:
        vals.append(at(np.where(np.isfinite(u), np.clip(u, lo, hi), lo)))
    vals = np.stack(vals)
    size = np.maximum(np.abs(lo), np.abs(hi))
    grain = np.abs(d0) + size * (
        np.abs(d1) + size * (np.abs(d2) / 2 + size * np.abs(d3) / 6)
    )
    grain *= 8 * EPS
    return vals.min(0) - grain, vals.max(0) + grain


def _fifth_bound(zn, qn, en, log_peak):
    """Bound each term's ``|He_5(z)| exp(-z**2 / 2)`` over the cell, times its height.

    ``en`` is the most each term gets in the cell (at ``zn``, ``qn = zn**2``)
    and ``log_peak`` the log of its height at its mean (both scaled): beyond
    ``H5_AT`` the bound is at the nearest point, else ``H5_PEAK``.
    """
    m5 = np.subtract(qn, 10)
    m5 *= qn
    m5 += 15
    m5 *= zn
    m5 = np.abs(m5, out=m5)
    m5 *= en
    inside = np.flatnonzero(zn < H5_AT)
    peak = log_peak.ravel()[inside]
    m5.ravel()[inside] = H5_PEAK * ceil_exp(peak)
    return m5


def _narrow_terms(inv_s, r, zn, en, m5):
    """Flat indices of the terms that :func:`_narrow_bounds` bounds on their own.

    Those of components narrower than ``1 / NARROW_RHO`` of the cell's
    half-width ``r`` (``rho = r / s`` above ``NARROW_RHO``) whose Taylor
    remainder, ``rho**4 / 24`` of their ``M5`` term ``m5`` (in the scale of
    their first derivative), would exceed their own bounds' width (at most
    the most ``|z| exp(-z**2 / 2)`` gets in the cell, times their height),
    unless it is negligible (below ``TINY_REMAINDER``). Returns the indices
    and their ``rho``.
    """
    wide = np.flatnonzero(inv_s > (NARROW_RHO / r)[:, None])
    rho = inv_s.ravel()[wide] * r[wide // inv_s.shape[1]]
    rho4 = rho * rho
    rho4 *= rho4
    rem = rho4 * m5.ravel()[wide] / 24
    own = en.ravel()[wide] * np.maximum(zn.ravel()[wide], D1_PEAK)
    keep = (rem > own) & (rem > TINY_REMAINDER)
    return wide[keep], rho[keep]


def _taylor_terms(h, z, q, az, inv_s, err):
    """Return ``D1 ... D4`` of :func:`cell_models`, and the rounding of ``D1, D2``.

    ``h`` are the terms at the centre (0 for those left out), and their
    relative rounding is ``err + 3 EPS z**2`` (``err`` per cell); the rounding
    of ``D_j`` is the sum of that times ``|h He_j(z)| / s**j``. ``h`` and
    ``az`` (``|z|``) are overwritten.
    """

    def rounding(sizes):
        return err * sizes.sum(1) + 3 * EPS * np.einsum("mk,mk->m", sizes, q)

    hs = np.multiply(h, inv_s, out=h)
    d1 = -np.einsum("mk,mk->m", hs, z)
    noise1 = rounding(np.multiply(az, hs, out=az))
    hs *= inv_s
    he = np.subtract(q, 1, out=az)
    d2 = np.einsum("mk,mk->m", hs, he)
    he = np.abs(he, out=he)
    noise2 = rounding(np.multiply(he, hs, out=he))
    hs *= inv_s
    he = np.subtract(q, 3, out=he)
    d3 = -np.einsum("mk,mk->m", hs, np.multiply(he, z, out=he))
    hs *= inv_s
    he = np.subtract(q, 6, out=he)
    he *= q
    he += 3
    d4 = np.einsum("mk,mk->m", hs, he)
    return np.column_stack((d1, d2, d3, d4)), noise1, noise2


def _narrow_bounds(narrow, rho, z, zn, en, log_peak, inv_s):
    """Bound the ``p'`` and ``p''`` terms of narrow components, summed per cell.

    Each such term is bounded over the cell on its own, as the term-by-term
    certificate does: beyond the landmarks of its derivative, between its
    values at the nearest and farthest points of the cell (``zn`` and
    ``|z| + rho`` in z, ``rho`` the half-width in their scales); otherwise
    by the derivative's extremes, and by its sign where the cell lies on one
    side of the mean.

    Returns
    -------
    lo1, hi1, lo2, hi2 : ndarray of shape (m,)
        Bounds of the narrow components' sums of ``p'`` and of ``p''``.
    round1, round2 : ndarray of shape (m,)
        The rounding of the two pairs of sums.
    """
    m, K = z.shape
    cell = narrow // K
    z, zn, en, log_peak, inv_s = (
        v.ravel()[narrow] for v in (z, zn, en, log_peak, inv_s)
    )
    zf = np.abs(z) + rho  # the farthest point of the cell, in z
    ef = fast_exp(log_peak - 0.5 * zf * zf)  # a lower bound
    peak = ceil_exp(log_peak)
    # -t' s = z exp(-z^2/2) peak: its size between ``small`` and ``big``
    big = np.where(zn >= D1_AT, en * zn, D1_PEAK * peak)
    small = np.minimum(en * zn, ef * zf)
    outside = zn > 0
    lo1 = np.where(outside & (z < 0), small, -big) * inv_s
    hi1 = np.where(outside & (z > 0), -small, big) * inv_s
    # t'' s^2 = (z^2 - 1) exp(-z^2/2) peak
    far = zn >= D2_AT
    inv_s *= inv_s
    lo2 = np.where(far, ef * (zf * zf - 1), -peak) * inv_s
    hi2 = np.where(far, en * (zn * zn - 1), D2_PEAK * peak) * inv_s
    sums = [np.bincount(cell, v, minlength=m) for v in (lo1, hi1, lo2, hi2)]
    grain = EPS * (K + 8)
    return (
        *sums,
        grain * (np.abs(sums[0]) + np.abs(sums[1])),
        grain * (np.abs(sums[2]) + np.abs(sums[3])),
    )
