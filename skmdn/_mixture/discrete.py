"""Gaussian mixtures discretised to the integers: masses and sums over the support.

The law of ``Y = k`` where ``T``, a Gaussian mixture, falls in the cell
``(k - 1/2, k + 1/2]``: ``P(Y = k) = F(k + 1/2) - F(k - 1/2)``. A cell's mass
under one component is a difference of normal cdfs, taken in logs on the side
of the component where ``log_ndtr`` keeps its precision (the cell is reflected
through the mean when it lies above it), and, where the cell is narrow
against the component (a scale far above one), from the density at its
centre and a second-order correction, which keeps full relative precision
where the difference of the two cdfs would cancel.

Sums over the integers (moments, expectations, the entropy, CRPS) run over
each row's *support window*: the integers within :data:`WIDTH` standard
deviations of some component of positive weight, which leaves out less than
``2 * Phi(-8) = 1.2e-15`` of the mass. They are computed in blocks of rows
and chunks of integers, so memory stays bounded whatever the number of rows
and the spread; the time grows with the width of the windows in integers.
The one-dimensional functions take ``P`` mixtures of shape (P, K).
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from scipy.special import logsumexp

from skmdn._mixture import _blocks, component
from skmdn._mixture.component import LOG_2PI
from skmdn._mixture.outputs import log_weights

# Standard deviations of each component that the summed support covers.
WIDTH = 8.0
# The widest support window (in integers) that a sum may run over.
MAX_WIDTH = 1 << 27
# A cell narrower than this (in standard deviations, times 1 + |centre|) has
# its mass from the density at its centre (relative error below 1e-15).
_NARROW = 1e-3
_LOG2 = np.log(2.0)


def log1mexp(x):
    """``log(1 - exp(x))`` for ``x <= 0``, stably on both sides of ``-log 2``."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > -_LOG2, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_mass(a, b, mid, h):
    """``log(Phi(b) - Phi(a))`` for standardised ends ``a <= b``, elementwise.

    ``mid`` is the standardised centre and ``h`` the standardised width
    ``b - a``, given by the caller to full precision (a narrow cell's width is
    not recovered from ``b - a``, which would cancel).
    """
    with np.errstate(invalid="ignore"):
        flip = mid > 0  # reflect a cell above the mean: Phi(-a) - Phi(-b)
        lo = np.where(flip, -b, a)
        hi = np.where(flip, -a, b)
        l_hi = component.log_cdf(hi)
        l_lo = component.log_cdf(lo)
        wide = l_hi + log1mexp(l_lo - l_hi)
        narrow = h * (1.0 + np.abs(mid)) < _NARROW
    if not narrow.any():
        return wide
    with np.errstate(divide="ignore", invalid="ignore"):
        taylor = (
            np.log(h)
            + component.log_kernel(mid)
            - 0.5 * LOG_2PI
            + np.log1p(h * h * (mid * mid - 1.0) / 24.0)
        )
    return np.where(narrow, taylor, wide)


def component_log_pmf(k, mu, s):
    """``log P(Y = k)`` for ``T ~ N(mu, s**2)`` discretised, elementwise (broadcast)."""
    return log_mass(
        component.standardize(k - 0.5, mu, s),
        component.standardize(k + 0.5, mu, s),
        component.standardize(k, mu, s),
        1.0 / s,
    )


def component_log_interval(x_lo, x_hi, mu, s):
    """``log P(x_lo < T <= x_hi)`` for ``T ~ N(mu, s**2)``, elementwise (broadcast)."""
    with np.errstate(invalid="ignore"):
        mid = component.standardize(0.5 * x_lo + 0.5 * x_hi, mu, s)
        h = (x_hi - x_lo) / s
    return log_mass(
        component.standardize(x_lo, mu, s), component.standardize(x_hi, mu, s), mid, h
    )


def is_integer(y):
    """Whether each value is a finite integer."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(y) & (np.floor(y) == y)


def joint_log_pmf(weights, means, scales, y):
    """Log-pmf of ``y[i]`` (n, D) under row ``i`` (diagonal components); (n,)."""
    comp = component_log_pmf(y[:, None, :], means, scales).sum(-1)
    with np.errstate(divide="ignore"):
        out = logsumexp(log_weights(weights) + comp, axis=1)
    out = np.where(is_integer(y).all(1), out, -np.inf)
    return np.where(np.isnan(y).any(1), np.nan, out)


def cross_log_pmf(weights, means, scales, Y):
    """Log-pmf of every candidate ``Y[j]`` (m, D) under every row; (n, m)."""
    n, K, D = means.shape
    m = Y.shape[0]
    out = np.empty((n, m))
    log_w = log_weights(weights)
    cols = max(1, min(m, _blocks.CHUNK * 2 // max(1, K * D)))
    step = max(1, _blocks.CHUNK * 2 // max(1, cols * K * D))
    for j in range(0, m, cols):
        cl = slice(j, j + cols)
        for start in range(0, n, step):
            sl = slice(start, start + step)
            comp = component_log_pmf(
                Y[None, cl, None, :], means[sl, None], scales[sl, None]
            ).sum(-1)
            with np.errstate(divide="ignore"):
                out[sl, cl] = logsumexp(log_w[sl, None, :] + comp, axis=-1)
    out[:, ~is_integer(Y).all(1)] = -np.inf
    out[:, np.isnan(Y).any(1)] = np.nan
    return out


# ---------------------------------------------------------- 1-D mixtures


def log_pmf_grid(log_w, mu, s, k):
    """Log-pmf of the mixtures (P, K) at integers ``k`` of shape (P, m); (P, m)."""
    comp = component_log_pmf(k[:, :, None], mu[:, None, :], s[:, None, :])
    with np.errstate(divide="ignore"):
        return logsumexp(log_w[:, None, :] + comp, axis=-1)


def cdf_grid(w, mu, s, x):
    """Cdf of the latent mixtures (P, K) at points ``x`` of shape (P, m); (P, m).

    The reduction runs over the last (contiguous) axis of the components, so
    a problem's value does not depend on which other problems share the call.
    """
    z = component.standardize(x[:, :, None], mu[:, None, :], s[:, None, :])
    return np.clip((w[:, None, :] * component.cdf(z)).sum(-1), 0.0, 1.0)


def sf_grid(w, mu, s, x):
    """Survival function of the latent mixtures at ``x`` (P, m), from the tails."""
    z = component.standardize(x[:, :, None], mu[:, None, :], s[:, None, :])
    return np.clip((w[:, None, :] * component.sf(z)).sum(-1), 0.0, 1.0)


def interval_mass(w, mu, s, x_lo, x_hi):
    """``P(x_lo < T <= x_hi)`` of the latent mixtures, for ``x`` of shape (P, m)."""
    comp = component_log_interval(
        x_lo[:, :, None], x_hi[:, :, None], mu[:, None, :], s[:, None, :]
    )
    with np.errstate(divide="ignore"):
        return np.exp(logsumexp(log_weights(w)[:, None, :] + comp, axis=-1))


def smallest_integer(pred, k0, max_steps=64):
    """Smallest integer ``k`` with ``pred(idx, k)`` true, per problem, from a guess.

    ``pred`` is false below and true from some integer on (monotone), and
    evaluates the problems ``idx`` at integers ``k`` (both of shape (m,)).
    Steps out from ``k0`` by doubling until the answer is bracketed, then
    bisects on the integers; an exact guess costs two evaluations.
    """
    k0 = np.asarray(k0, dtype=np.float64)
    P = k0.size
    idx = np.arange(P)
    ok = pred(idx, k0)
    lo = np.where(ok, np.nan, k0)  # pred(lo) false
    hi = np.where(ok, k0, np.nan)  # pred(hi) true
    for direction, missing in ((-1.0, ok), (1.0, ~ok)):
        todo = np.flatnonzero(missing)
        step = 1.0
        for _ in range(max_steps):
            if todo.size == 0:
                break
            base = hi[todo] if direction < 0 else lo[todo]
            cand = base + direction * step
            res = pred(todo, cand)
            if direction < 0:
                lo[todo[~res]] = cand[~res]
                hi[todo[res]] = cand[res]
                todo = todo[res]
            else:
                hi[todo[res]] = cand[res]
                lo[todo[~res]] = cand[~res]
                todo = todo[~res]
            step *= 2.0
        if todo.size:
            raise ValueError("no integer found where the step cdf reaches q.")
    todo = np.flatnonzero(hi - lo > 1)
    while todo.size:
        mid = np.floor(0.5 * lo[todo] + 0.5 * hi[todo])
        res = pred(todo, mid)
        hi[todo[res]] = mid[res]
        lo[todo[~res]] = mid[~res]
        todo = todo[hi[todo] - lo[todo] > 1]
    return hi


# ------------------------------------------------- moments of the components

# From this scale on (in integers), a discretised normal's mean is its mean
# and its variance ``s**2 + 1/12`` (Sheppard's correction), to within terms
# of order ``exp(-2 pi**2 s**2)`` (Poisson summation), below 1e-77 here.
SHEPPARD_SCALE = 3.0
# Integers either side of a narrower component's mean (beyond 8 scales).
_SHEPPARD_REACH = 25
_CHUNK = 1 << 15


def component_moments(mu, s):
    """Mean and variance of each discretised component, arrays like ``mu``.

    Exact to rounding: Sheppard's moments from :data:`SHEPPARD_SCALE` on,
    and below it sums over the integers within 25 of the mean, taken about
    the integer nearest the mean so that large means lose no precision. The
    cost is per component, whatever the spread of the mixture.
    """
    mean = np.array(mu, dtype=np.float64)
    var = s * s + 1.0 / 12.0
    narrow = np.flatnonzero(s.ravel() < SHEPPARD_SCALE)
    mean_f, var_f = mean.reshape(-1), var.reshape(-1)
    offsets = np.arange(-_SHEPPARD_REACH, _SHEPPARD_REACH + 1.0)
    for start in range(0, len(narrow), _CHUNK):
        idx = narrow[start : start + _CHUNK]
        m, sc = mu.ravel()[idx, None], s.ravel()[idx, None]
        base = np.floor(m)
        p = np.exp(component_log_pmf(base + offsets, m, sc))
        first = (p * offsets).sum(1)
        mean_f[idx] = base[:, 0] + first
        var_f[idx] = np.maximum((p * offsets**2).sum(1) - first**2, 0.0)
    return mean, var


# ------------------------------------------------- sums over the support


def support_bounds(w, mu, s, width=WIDTH):
    """Each row's support window ``[lo, hi]`` of integers, (P,) each.

    The integers within ``width`` standard deviations of some component of
    positive weight. Raises ``ValueError`` where a window is wider than
    :data:`MAX_WIDTH` integers.
    """
    live = w > 0
    lo = np.floor(np.where(live, mu - width * s, np.inf).min(1))
    hi = np.ceil(np.where(live, mu + width * s, -np.inf).max(1))
    widest = float((hi - lo + 1).max(initial=0.0))
    if not widest <= MAX_WIDTH:
        raise ValueError(
            f"A row spreads over {widest:.3g} integers (its components reach "
            f"{width:g} standard deviations), more than the {MAX_WIDTH} that a sum "
            "over the integers may run over: its scales are too wide for integer "
            "targets."
        )
    return lo, hi


def mode_bounds(w, mu):
    """Return the integers that may hold a local mode, padded by one either side.

    Each discretised component is unimodal with its mode within a half of
    its mean, so the mixture's local modes lie between the floor of the
    smallest and the ceiling of the largest mean of positive weight.
    """
    live = w > 0
    lo = np.floor(np.where(live, mu, np.inf).min(1)) - 1.0
    hi = np.ceil(np.where(live, mu, -np.inf).max(1)) + 1.0
    return lo, hi


def _row_blocks(lo, hi, K):
    """Blocks of rows of similar width, and their chunk of integers.

    Yields ``(rows, width, m)``: the rows (by increasing width), the widest
    of their windows and the integers per chunk, so that each chunk's
    (rows, m, K) temporaries hold about ``_blocks.BUDGET`` elements.
    """
    cap = max(1, _blocks.BUDGET // max(1, K))
    width = np.maximum(hi - lo + 1, 0).astype(np.int64)
    order = np.argsort(width, kind="stable")
    ws = width[order]
    n, i = len(order), 0
    while i < n:
        r_max = max(1, min(n - i, cap // max(1, int(ws[i]))))
        cost = np.arange(1, r_max + 1) * np.maximum(ws[i : i + r_max], 1)
        r = max(1, int(np.searchsorted(cost, cap, side="right")))
        yield order[i : i + r], int(ws[i + r - 1]), max(1, cap // r)
        i += r


def support_sum(lo, hi, K, func, n_out):
    """``sum_k func(rows, k, valid)`` over each row's integers ``lo..hi``; (P, n_out).

    ``func`` gets the rows (an index array), a chunk of integers ``k`` of
    shape (r, m) (each row's own, from its ``lo``) and whether each lies in
    the row's window, and returns the chunk's (r, n_out) contributions.
    """
    out = np.zeros((len(lo), n_out))
    for rows, width, m in _row_blocks(lo, hi, K):
        for off in range(0, width, m):
            k = lo[rows, None] + (off + np.arange(min(m, width - off)))
            out[rows] += func(rows, k, k <= hi[rows, None])
    return out


def support_values(lo, hi, K, func):
    """``func`` at each row's integers ``lo..hi``, a block of rows at a time.

    Yields ``(rows, k, valid, values)`` with ``k`` of shape (r, width) for the
    block's widest window and ``values = func(rows, k)`` computed in chunks.
    """
    for rows, width, m in _row_blocks(lo, hi, K):
        k = lo[rows, None] + np.arange(width)
        values = np.concatenate(
            [func(rows, k[:, off : off + m]) for off in range(0, max(width, 1), m)],
            axis=1,
        )
        yield rows, k, k <= hi[rows, None], values


def power_sums(w, mu, s, center, orders):
    """``sum_k (k - center)**r P(Y = k)`` for each order ``r``; (P, len(orders))."""
    lo, hi = support_bounds(w, mu, s)
    log_w = log_weights(w)

    def func(rows, k, valid):
        p = np.where(valid, np.exp(log_pmf_grid(log_w[rows], mu[rows], s[rows], k)), 0)
        dev = k - center[rows, None]
        return np.stack([(p * dev**r).sum(1) for r in orders], axis=1)

    return support_sum(lo, hi, w.shape[1], func, len(orders))


def entropy(w, mu, s):
    """Shannon entropy ``-sum_k p(k) log p(k)`` of each row, in nats; (P,)."""
    lo, hi = support_bounds(w, mu, s)
    log_w = log_weights(w)

    def func(rows, k, valid):
        lp = log_pmf_grid(log_w[rows], mu[rows], s[rows], k)
        keep = valid & (lp > -np.inf)
        terms = np.where(keep, np.exp(np.where(keep, lp, 0.0)) * lp, 0.0)
        return -terms.sum(1, keepdims=True)

    return support_sum(lo, hi, w.shape[1], func, 1)[:, 0]


def expect(w, mu, s, func, lb, ub):
    """``sum_{lb <= k <= ub} func(k) p(k)`` and ``sum p(k)`` over the window; (P, 2).

    ``func`` is called with integers of shape (r, m) (float) and must act
    elementwise; None sums ``k``.
    """
    lo, hi = support_bounds(w, mu, s)
    lo = np.maximum(lo, np.ceil(lb))
    hi = np.minimum(hi, np.floor(ub))
    hi = np.where(hi < lo, lo - 1, hi)
    log_w = log_weights(w)

    def terms(rows, k, valid):
        k = np.minimum(k, hi[rows, None])  # func only sees integers of the window
        p = np.where(valid, np.exp(log_pmf_grid(log_w[rows], mu[rows], s[rows], k)), 0)
        if func is None:
            values = k
        else:
            values = np.asarray(func(k), dtype=np.float64)
            try:
                values = np.broadcast_to(values, k.shape)
            except ValueError:
                raise ValueError(
                    "func must act elementwise: called with an array of shape "
                    f"{k.shape}, it returned shape {values.shape}."
                ) from None
        with np.errstate(invalid="ignore"):
            total = np.where(valid, values * p, 0.0).sum(1)
        return np.column_stack([total, p.sum(1)])

    return support_sum(lo, hi, w.shape[1], terms, 2)


def crps(w, mu, s, y):
    """CRPS of the step cdf at any real ``y`` (P,): ``int (F(z) - 1{y <= z})**2 dz``.

    ``F`` is constant on each cell ``[k, k + 1)``, so the integral is a sum
    over the integers of ``F(k)**2 |[k, k+1) below y| + (1 - F(k))**2
    |[k, k+1) above y|``, with ``1 - F(k)`` from the survival function. For
    integer ``y`` this is ``sum_k (F(k) - 1{y <= k})**2``. Cells beyond the
    support window, where ``F`` is 0 or 1 to within 1e-15, add the length of
    their part on the wrong side of ``y``.
    """
    lo, hi = support_bounds(w, mu, s)
    lo = lo - 1.0

    def func(rows, k, valid):
        x = k + 0.5
        F = cdf_grid(w[rows], mu[rows], s[rows], x)
        S = sf_grid(w[rows], mu[rows], s[rows], x)
        yy = y[rows, None]
        below = np.clip(yy - k, 0.0, 1.0)
        above = np.clip(k + 1.0 - yy, 0.0, 1.0)
        return np.where(valid, F * F * below + S * S * above, 0.0).sum(1, keepdims=True)

    inside = support_sum(lo, hi, w.shape[1], func, 1)[:, 0]
    return inside + np.maximum(lo - y, 0.0) + np.maximum(y - (hi + 1.0), 0.0)
