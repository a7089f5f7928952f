"""Highest-density sets of 1-D mixtures: exact, and on a grid for plots."""

# SPDX-License-Identifier: BSD-3-Clause

from functools import partial

import numpy as np

from skmdn._mixture import _blocks, roots
from skmdn._mixture.component import log_kernel, quantile
from skmdn._mixture.critical import Rows, critical_points, ragged_to_padded
from skmdn._mixture.density import logpdf
from skmdn._mixture.roots import EPS, bisect, solve_bracketed

# Highest-density sets hold their mass to this (absolute) tolerance.
_HPD_TOL = 1e-10


def hpd_sets(w, mu, s, confidence, mass=None):
    """Highest-density sets of 1-D mixtures holding mass ``confidence``.

    The set is ``{x : p(x) >= level}``. The density is monotone between
    consecutive critical points (:func:`critical_points`, which finds them
    all), so for a given level the set is found segment by segment, each
    crossing solved by :func:`solve_bracketed`; the level itself is solved
    for by the same safeguarded Newton iteration on the held mass, whose
    derivative in ``log level`` is ``level * sum(1 / |d log p / dx|)`` over
    the crossings. A set of very small mass, across which the density is
    flat to rounding (to 1e-8), is the interval centred on the highest mode
    that holds the mass. The mass is held to ``_HPD_TOL``, or as closely as
    the spacing of the floats at the ends of the intervals allows (twice the
    level times that spacing, per end); a
    :class:`~sklearn.exceptions.ConvergenceWarning` reports rows that miss it.

    With ``mass``, the sets are the level sets ``{x : p(x) >= level}`` of the
    mixtures ``(w, mu, s)`` whose probability under *other* mixtures, those
    of ``mass``, is ``confidence``: the level sets of a density of the target
    on the scale of ``t`` (:mod:`~skmdn._mixture.tilt`), measured under the
    mixture on ``t``. Everything above holds, with the mass, its derivative
    (``sum p_mass / |d log p / dx|`` over the crossings) and the spacing of
    the floats (the density of ``mass`` times the spacing, per end) from
    ``mass``; the level is then bracketed below by the lowest density at any
    critical point or far end, and the far ends lie 40 scales beyond the
    components of both.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
        Weights, means and standard deviations of ``P`` mixtures.
    confidence : float
        Mass of the sets, strictly between 0 and 1.
    mass : tuple of ndarray of shape (P, K'), optional
        Weights, means and standard deviations of the mixtures that measure
        the mass; by default ``(w, mu, s)``.

    Returns
    -------
    list of ndarray of shape (m_i, 2)
        Disjoint sorted intervals per problem.
    """
    w, mu, s = _blocks.contiguous(w, mu, s)
    if mass is not None:
        mass = _blocks.contiguous(*mass)
    P, K = w.shape
    row, x, _ = critical_points(w, mu, s)
    n_crit = np.bincount(row, minlength=P)
    out = []
    K_all = K if mass is None else max(K, mass[0].shape[1])
    # (the temporaries of (points, components) are chunked: a block is
    # bounded by its (rows, segments) arrays, and larger ones share the small
    # steps of the solvers)
    rows_per_block = max(1, _blocks.BUDGET // (K_all * min(int(n_crit.max()) + 1, 8)))
    for i in range(0, P, rows_per_block):
        sl = slice(i, i + rows_per_block)
        j, k = np.searchsorted(row, [i, i + rows_per_block])  # row is sorted
        rows_mass = None if mass is None else tuple(a[sl] for a in mass)
        out.extend(
            _hpd_block(
                w[sl], mu[sl], s[sl], row[j:k] - i, x[j:k], confidence, rows_mass
            )
        )
    return out


def _hpd_block(w, mu, s, crit_row, crit_x, confidence, mass=None):
    P, K = w.shape
    # (Rows: their terms' exponentials stay fast at many components)
    m = Rows(w, mu, s)
    # the mixture that measures the mass: the same one, or another (on t)
    m_mass = m if mass is None else Rows(*mass)

    def logpdf(mm, rows, x):  # in chunks of rows that stay in the cache
        return _blocks.in_chunks(mm.logpdf, rows.size, mm.K, rows, x)

    def cdf(mm, rows, x):
        return _blocks.in_chunks(mm.cdf, rows.size, mm.K, rows, x)

    live = w > 0
    far_lo = np.where(live, mu - 40 * s, np.inf).min(1)
    far_hi = np.where(live, mu + 40 * s, -np.inf).max(1)
    if mass is not None:
        live_mass = m_mass.w > 0
        lo_mass = np.where(live_mass, m_mass.mu - 40 * m_mass.s, np.inf).min(1)
        hi_mass = np.where(live_mass, m_mass.mu + 40 * m_mass.s, -np.inf).max(1)
        far_lo, far_hi = np.minimum(far_lo, lo_mass), np.maximum(far_hi, hi_mass)
    # Segment ends: far_lo, the critical points, then far_hi repeated, so
    # that padding (segments of length 0) comes last in every row.
    inner, _ = ragged_to_padded(
        crit_row, crit_x, P, int(np.bincount(crit_row, minlength=P).max())
    )
    n_seg = inner.shape[1] + 1
    ends = np.empty((P, n_seg + 1))
    ends[:, 0] = far_lo
    ends[:, 1:-1] = np.where(np.isnan(inner), far_hi[:, None], inner)
    ends[:, -1] = far_hi
    rows_e = np.repeat(np.arange(P), n_seg + 1)
    log_e = _blocks.in_chunks(
        lambda r, xx: m.logpdf(r, xx)[0], rows_e.size, K, rows_e, ends.ravel()
    ).reshape(P, n_seg + 1)
    K_mass = m_mass.K
    cdf_e = _blocks.in_chunks(
        m_mass.cdf, rows_e.size, K_mass, rows_e, ends.ravel()
    ).reshape(P, n_seg + 1)
    A, B = ends[:, :-1], ends[:, 1:]
    rising = np.arange(n_seg) % 2 == 0  # far_lo -> first mode -> antimode -> ...
    top = np.where(rising, log_e[:, 1:], log_e[:, :-1])
    bottom = np.where(rising, log_e[:, :-1], log_e[:, 1:])
    F_a, F_b = cdf_e[:, :-1], cdf_e[:, 1:]
    crossings = np.where(rising, A, B)  # last crossings, to start the next solve

    def pieces(lam, idx):
        """Held mass, its derivative in lam, and the pieces at levels lam (rows idx)."""
        level = lam[:, None]
        inside = top[idx] >= level
        full = inside & (bottom[idx] >= level)
        cut = inside & ~full
        ci, cj = np.nonzero(cut)
        seg_rows = idx[ci]
        sa, sb = A[seg_rows, cj], B[seg_rows, cj]
        up = rising[cj]
        lam_c = lam[ci]
        orient = np.where(up, 1.0, -1.0)
        seen_x, seen_g = np.full(ci.size, np.nan), np.empty(ci.size)

        def fun(x, k):
            logp, g = logpdf(m, seg_rows[k], x)
            seen_x[k], seen_g[k] = x, g  # each crossing's last evaluation
            d = logp - lam_c[k]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                step = -d / g
            return d, step, orient[k] * d >= 0

        prev = crossings[seg_rows, cj]
        x0 = np.where((prev > sa) & (prev < sb), prev, bisect(sa, sb))
        tol = 64 * EPS * (1.0 + np.abs(lam_c))
        r_lo, r_hi, ok = solve_bracketed(fun, sa, sb, x0, ftol=tol)
        r = np.where(up, r_hi, r_lo)  # the end inside the set
        crossings[seg_rows, cj] = r
        g_r = seen_g  # d log p / dx at r: evaluated last, or evaluated again
        again = np.flatnonzero(r != seen_x)
        g_r[again] = logpdf(m, seg_rows[again], r[again])[1]
        F_r = cdf(m_mass, seg_rows, r)
        mass = np.where(full, F_b[idx] - F_a[idx], 0.0)
        mass[ci, cj] = np.where(up, F_b[seg_rows, cj] - F_r, F_r - F_a[seg_rows, cj])
        slope = np.zeros(mass.shape)
        with np.errstate(divide="ignore"):
            if m_mass is m:
                slope[ci, cj] = 1.0 / np.abs(g_r)
            else:  # d mass / d log level = p_mass(r) / |d log p / dx|
                slope[ci, cj] = np.exp(logpdf(m_mass, seg_rows, r)[0]) / np.abs(g_r)
        lo = np.where(full, A[idx], 0.0)
        hi = np.where(full, B[idx], 0.0)
        lo[ci, cj] = np.where(up, r, sa)
        hi[ci, cj] = np.where(up, sb, r)
        # sums in segment order, whatever the padding (cumsum is sequential)
        total = np.cumsum(mass, axis=1)[:, -1]
        d_total = np.cumsum(slope, axis=1)[:, -1]
        if m_mass is m:
            d_total = np.exp(lam) * d_total
        failed = np.zeros(idx.size, dtype=bool)
        failed[ci[~ok]] = True
        return total, d_total, inside, lo, hi, failed

    def fun(lam, idx):
        total, d_total, *_ = pieces(lam, idx)
        f = confidence - total  # increasing in the level
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = -f / d_total
        return f, step, f >= 0

    top_seg = np.argmax(np.where(rising, top, -np.inf), axis=1)
    lam_hi = top[np.arange(P), top_seg]  # the highest mode
    if m_mass is m:
        lam_lo = np.maximum(log_e[:, 0], log_e[:, -1]) - 1.0
    else:  # below every end: the set spans the far ends, all the mass
        lam_lo = log_e.min(1) - 1.0
    z = quantile(0.5 + 0.5 * confidence)
    lam0 = np.clip(lam_hi + log_kernel(z), lam_lo, lam_hi)
    lam, _, ok = solve_bracketed(fun, lam_lo, lam_hi, lam0, ftol=1e-12)
    total, _, inside, lo, hi, failed = pieces(lam, np.arange(P))
    miss = np.where(ok & ~failed, np.abs(total - confidence), np.inf)
    # merge pieces that touch (at a mode, or at an antimode inside the set)
    touch = np.zeros_like(inside)
    touch[:, 1:] = inside[:, 1:] & inside[:, :-1] & (hi[:, :-1] == lo[:, 1:])
    starts = inside & ~touch
    stops = inside & ~np.c_[touch[:, 1:], np.zeros(P, dtype=bool)]
    counts = starts.sum(1)
    intervals = np.column_stack((lo[starts], hi[stops]))
    # A set of very small mass lies so close to the top of the highest mode
    # that the density is flat across it to within rounding (to 1e-8), and
    # neighbouring levels differ in mass by more than the tolerance: there,
    # the interval centred on the mode that holds the mass is solved for.
    fix = np.flatnonzero((miss > _HPD_TOL) & (counts == 1) & (lam_hi - lam <= 1e-8))
    if fix.size:
        at = (np.cumsum(counts) - 1)[fix]
        mode = B[fix, top_seg[fix]]

        def half_width(h, k):
            r, m0, mm = fix[k], mode[k], m_mass
            held = cdf(mm, r, m0 + h) - cdf(mm, r, m0 - h) - confidence
            dens = np.exp(logpdf(mm, r, m0 + h)[0]) + np.exp(logpdf(mm, r, m0 - h)[0])
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                step = -held / dens
            return held, step, held >= 0

        h0 = 0.5 * (intervals[at, 1] - intervals[at, 0])
        far = (far_hi - far_lo)[fix]
        _, h, ok = solve_bracketed(half_width, np.zeros(fix.size), far, h0, 1e-13)
        intervals[at] = np.column_stack((mode - h, mode + h))
        held = half_width(h, np.arange(fix.size))[0]
        miss[fix] = np.where(ok, np.abs(held), np.inf)
    # Where the density is steep, the spacing of the floats at the ends of
    # the intervals limits how closely any set can hold the mass.
    owner = np.repeat(np.arange(P), counts)
    if m_mass is m:
        grain = np.bincount(owner, np.abs(np.spacing(intervals)).sum(1), minlength=P)
        tol = _HPD_TOL + 2 * np.exp(lam) * grain
    else:  # the density of the mass at each end, times the spacing there
        dens = np.exp(
            np.column_stack(
                [logpdf(m_mass, owner, intervals[:, e])[0] for e in range(2)]
            )
        )
        grain = (dens * np.abs(np.spacing(intervals))).sum(1)
        tol = _HPD_TOL + 2 * np.bincount(owner, grain, minlength=P)
    bad = miss > tol
    if bad.any():
        worst = np.argmax(np.where(bad, miss - tol, -np.inf))
        _blocks.warn(
            f"The highest-density sets of {np.count_nonzero(bad)} of {P} rows "
            + (
                f"hold their mass only to {miss[worst]:.3g} (tolerance "
                f"{tol[worst]:.3g})."
                if np.isfinite(miss[worst])
                else f"did not converge in {roots.MAX_ITER} iterations."
            )
        )
    return np.split(intervals, np.cumsum(counts)[:-1])


def grid_hpd_sets(w, mu, s, lo, hi, confidences, n_grid=1000, change=None):
    """Highest-density sets of each row, found on a fine grid of targets.

    :meth:`MixtureDistribution.hpd` solves for the sets exactly, which costs
    seconds per level for a few hundred rows of a mixture of tens of
    components: too slow for a plot. Here each row's density is evaluated on
    ``n_grid`` targets spanning all but a sliver of its mass, the cells are
    taken from the densest down until they hold ``confidence``, and the ends
    of each run of cells are placed where the density crosses the level
    (linear interpolation between grid points). The ends are then accurate to
    about one grid spacing, a thousandth of the range, and the sets hold their
    probability to within about half a percent; a part of a set narrower than
    the spacing can be missed.

    Parameters
    ----------
    w : ndarray of shape (n, K)
    mu, s : ndarray of shape (n, K, 1)
        One target's means and scales.
    lo, hi : ndarray of shape (n,)
        Each row's range: an interval holding all but a sliver of the mass,
        on the scale of the target (of ``y``, not ``t``, under ``change``).
    confidences : ndarray of shape (n_levels,)
    n_grid : int
        Grid points per row.
    change : Change or None
        A change of variables ``t = g(y)`` of the target: the density on the
        grid is then the mixture's at ``g(y)`` times ``g'(y)``. None for the
        identity.

    Returns
    -------
    list of list of ndarray of shape (n_intervals, 2)
        ``sets[i][j]``: the intervals of level ``confidences[i]`` in row ``j``.
    """
    confidences = np.asarray(confidences, dtype=np.float64)
    n = len(w)
    span = np.maximum(hi - lo, 1e-12 * np.maximum(1.0, np.abs(lo)))
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    step = (hi - lo) / (n_grid - 1)
    sets = [[None] * n for _ in confidences]
    unit = np.linspace(0.0, 1.0, n_grid)
    block = max(1, (1 << 21) // (n_grid * w.shape[1]))
    for start in range(0, n, block):
        rows = slice(start, min(start + block, n))
        y = lo[rows, None] + (hi - lo)[rows, None] * unit  # (b, n_grid)
        # each row's mixture on its own grid: (b, 1, K) against (b, n_grid, 1)
        if change is None:
            logp = logpdf(w[rows, None], mu[rows, None], s[rows, None], y[..., None])
        else:
            base = partial(logpdf, w[rows, None], mu[rows, None], s[rows, None])
            logp = change.logpdf(base, y[..., None])
        p = np.exp(logp)
        p_sorted = -np.sort(-p, axis=1)
        mass = np.cumsum(p_sorted, axis=1) * step[rows, None]
        for i, confidence in enumerate(confidences):
            # The level is the density of the last cell needed to reach the
            # mass; every cell at least that dense is in the set.
            last = np.minimum((mass < confidence).sum(axis=1), n_grid - 1)
            level = p_sorted[np.arange(len(p)), last]
            for r in range(len(p)):
                sets[i][start + r] = _runs(y[r], p[r], level[r])
    return sets


def _runs(y, p, level):
    """Intervals where ``p >= level`` on grid ``y``, ends interpolated."""
    inside = p >= level
    edges = np.diff(inside.astype(np.int8))
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1)
    if inside[0]:
        starts = np.r_[0, starts]
    if inside[-1]:
        ends = np.r_[ends, len(y) - 1]

    def crossing(a, b):
        # Where the density, linear between y[a] and y[b], equals the level.
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (level - p[a]) / (p[b] - p[a])
        t = np.where(np.isfinite(t), np.clip(t, 0.0, 1.0), 0.5)
        return y[a] + t * (y[b] - y[a])

    lower = np.where(starts > 0, crossing(np.maximum(starts - 1, 0), starts), y[starts])
    upper = np.where(
        ends < len(y) - 1, crossing(np.minimum(ends + 1, len(y) - 1), ends), y[ends]
    )
    return np.column_stack([lower, upper])
