"""Every critical point of 1-D mixtures: modes and antimodes, certified."""

# SPDX-License-Identifier: BSD-3-Clause

from functools import cached_property, partial

import numpy as np

from skmdn._mixture import _blocks, roots, taylor
from skmdn._mixture.component import (
    D1_AT,
    D1_PEAK,
    D2_AT,
    D2_PEAK,
    LOG_2PI,
    Mixture1D,
    curvature_ratio,
    curvature_terms,
    log_kernel,
    score,
    slope_terms,
    standardize_by,
)
from skmdn._mixture.roots import EPS, solve_bracketed

# A cell across which the density varies by less than this fraction of
# itself is not subdivided further: a bump so flat is not resolved. Nor is a
# cell where the density stays below _NEGLIGIBLE (in logs) of the height of
# the highest component, deep in the gap between far-apart components.
# (In the single module this came from, a second _FLAT = 1e-6 further down,
# for the modes of D > 1, silently replaced this value, so the certification
# ran at 1e-6; at 1e-13, as documented, the tests pass and no result of them
# or of 1,000 random rows changed.)
_FLAT_CELL = 1e-13
_NEGLIGIBLE = -700.0
_MAX_DEPTH = 200
# Above this many components, the range is first cut at _COARSE_K + 1 of the
# sorted means (evenly spaced in rank) rather than at every mean: every cell
# costs K terms, and the halving refines only where it must, so the cells
# stay as many as the density's shape needs rather than growing with K (at
# K = 2,000 a cut at every mean made the search quadratic in K).
_COARSE_K = 64
# Above _COARSE_K components, cells are certified from Taylor models about
# their centres (:mod:`~skmdn._mixture.taylor`, :meth:`Rows.taylor_certify`):
# where hundreds of components overlap, their terms' bounds cancel poorly,
# and the term-by-term cells of :meth:`Rows.certify` cost 3.5 times as many
# evaluations (K = 2,000).


class Rows(Mixture1D):
    """1-D mixtures with the rounding bounds that certify their critical points."""

    @cached_property
    def highest(self):
        """The log of the highest component peak, less log sqrt(2 pi) (P,)."""
        return self.lws.max(1)  # the density is at least this high

    def terms(self, rows, x):
        """:meth:`~Mixture1D.terms`, at many components without slow underflows.

        Above ``_COARSE_K`` components most terms are far from ``x``, and
        numpy's ``exp`` is many times slower where it underflows: the terms
        below ``exp(-700)`` of the largest are 0 (:func:`taylor.fast_exp`), as
        those below ``exp(-745)`` are anyway, and the rounding bounds ignore
        them as they do those.
        """
        if self.K <= _COARSE_K:
            return super().terms(rows, x)
        z = self.z(rows, x)
        arg = self.lws[rows] + log_kernel(z)
        top = arg.max(1)
        return z, taylor.fast_exp(np.subtract(arg, top[:, None], out=arg)), top

    def logpdf(self, rows, x):
        """:meth:`~Mixture1D.logpdf`; above ``_COARSE_K`` components, in fewer passes.

        Over the terms of :meth:`terms`, with the distances scaled by ``1 / s``.
        """
        if self.K <= _COARSE_K:
            return super().logpdf(rows, x)
        inv_s = self.inv_s[rows]
        z = np.subtract(x[:, None], self.mu[rows])
        z *= inv_s  # (x - mu) / s
        h = z * z
        h *= -0.5
        h += self.lws[rows]
        top = h.max(1, keepdims=True)
        h = taylor.fast_exp(np.subtract(h, top, out=h))
        total = h.sum(1)
        z *= inv_s
        g = -np.einsum("mk,mk->m", h, z) / total
        return top[:, 0] + np.log(total) - 0.5 * LOG_2PI, g

    def rounded_terms(self, rows, x):
        """:meth:`~Mixture1D.terms` and the per-term relative rounding of ``h``.

        Returns ``z``, ``h``, ``top`` and ``err`` (m, K).
        """
        z, h, top = self.terms(rows, x)
        err = EPS * (self.K + 8 + 2 * np.abs(self.lws[rows]) + 3 * z * z)
        err += 2 * EPS * np.abs(top)[:, None]
        return z, h, top, err

    def slope_sign(self, rows, x):
        """Sign of the density's derivative at ``x``: +1, -1, or 0 within rounding."""
        z, h, _, err = self.rounded_terms(rows, x)
        t = slope_terms(h, z, self.inv_s[rows])  # minus the derivative's terms
        d = -t.sum(1)
        noise = (np.abs(t) * err).sum(1)
        return np.where(d > noise, 1, np.where(d < -noise, -1, 0))

    def log_slope(self, rows, x):
        """``d log p / dx``, its derivative, and the rounding of the former."""
        if self.K > _COARSE_K:
            return self._log_slope_many(rows, x)
        z, h, _, err = self.rounded_terms(rows, x)
        r = h / h.sum(1, keepdims=True)
        inv_s = self.inv_s[rows]
        a = score(z, inv_s)
        g = (r * a).sum(1)
        dg = (r * curvature_ratio(a, inv_s)).sum(1) - g * g
        noise = (r * np.abs(a) * err).sum(1)
        return g, dg, noise

    def _log_slope_many(self, rows, x):
        """:meth:`log_slope` above ``_COARSE_K`` components, in fewer passes.

        The same sums, over the terms of :meth:`terms` and divided by their
        total once; a term's rounding is bounded with the row's largest
        ``|log(w / s)|`` (:attr:`lws_size`) in place of its own.
        """
        inv_s = self.inv_s[rows]
        z = np.subtract(x[:, None], self.mu[rows])
        z *= inv_s  # (x - mu) / s
        q = z * z
        h = q * -0.5
        h += self.lws[rows]
        top = h.max(1, keepdims=True)
        h = taylor.fast_exp(np.subtract(h, top, out=h))
        total = h.sum(1)
        a = np.multiply(z, inv_s, out=z)  # minus the score of each term
        ha = a * h
        g = -ha.sum(1) / total
        inv_s *= inv_s
        curv = np.einsum("mk,mk->m", ha, a) - np.einsum("mk,mk->m", h, inv_s)
        dg = curv / total - g * g
        ha = np.abs(ha, out=ha)
        err = EPS * (self.K + 8 + 2 * (np.abs(top[:, 0]) + self.lws_size[rows]))
        noise = err * ha.sum(1) + 3 * EPS * np.einsum("mk,mk->m", ha, q)
        return g, dg, noise / total

    def certify(self, rows, a, b):
        """Which cells ``[a, b]`` need no further subdivision.

        Interval bounds of the density's first and second derivatives over
        the cell, term by term (each component's term is monotone between
        its landmarks), settle a cell when the first derivative keeps one
        sign (no critical point), when the second does (at most one, found
        by the signs at the ends), when the density varies across the cell
        by less than ``_FLAT_CELL`` of itself, or when it stays below
        ``exp(_NEGLIGIBLE)`` of the row's highest component peak.
        """
        mu, lws, inv_s = self.mu[rows], self.lws[rows], self.inv_s[rows]
        za = standardize_by(a[:, None], mu, inv_s)
        zb = standardize_by(b[:, None], mu, inv_s)
        arg_a = lws + log_kernel(za)
        arg_b = lws + log_kernel(zb)
        top = np.maximum(arg_a.max(1), arg_b.max(1))[:, None]
        ha, hb = np.exp(arg_a - top), np.exp(arg_b - top)
        with np.errstate(over="ignore"):
            peak = np.exp(lws - top) * inv_s  # a term's height at its mean, / s
        # first derivative: terms -h z / s
        ta, tb = -slope_terms(ha, za, inv_s), -slope_terms(hb, zb, inv_s)
        rise = (za < -D1_AT) & (zb > -D1_AT)
        fall = (za < D1_AT) & (zb > D1_AT)
        d1_hi = np.where(rise, D1_PEAK * peak, np.maximum(ta, tb))
        d1_lo = np.where(fall, -D1_PEAK * peak, np.minimum(ta, tb))
        d1_hi, d1_lo = d1_hi.sum(1), d1_lo.sum(1)
        # second derivative: terms h (z^2 - 1) / s^2
        ua, ub = curvature_terms(ha, za, inv_s), curvature_terms(hb, zb, inv_s)
        crest = ((za < -D2_AT) & (zb > -D2_AT)) | ((za < D2_AT) & (zb > D2_AT))
        d2_hi = np.where(crest, D2_PEAK * peak, np.maximum(ua, ub))
        d2_lo = np.where((za < 0) & (zb > 0), -peak, np.minimum(ua, ub))
        d2_hi, d2_lo = (d2_hi * inv_s).sum(1), (d2_lo * inv_s).sum(1)
        one_sign = (d1_lo > 0) | (d1_hi < 0)
        monotone = (d2_lo > 0) | (d2_hi < 0)
        with np.errstate(invalid="ignore"):
            change = (b - a) * np.maximum(d1_hi, -d1_lo)
            flat = change <= _FLAT_CELL * np.minimum(ha.sum(1), hb.sum(1))
        # the highest any term gets in the cell: at its mean, or the nearer end
        nearest = np.where((za < 0) & (zb > 0), 0.0, np.minimum(za * za, zb * zb))
        tallest = (lws - 0.5 * nearest).max(1) + np.log(self.K)
        negligible = tallest < self.highest[rows] + _NEGLIGIBLE
        return one_sign | monotone | flat | negligible

    @cached_property
    def inv_s5(self):
        """``1 / s**5``, the scale of a term's fifth derivative."""
        return self.inv_s**5

    @cached_property
    def lws_size(self):
        """The largest ``|log(w / s)|`` of each row's live components (P,)."""
        return np.where(self.w > 0, np.abs(self.lws), 0.0).max(1)

    def taylor_certify(self, rows, a, b):
        """Which cells ``[a, b]`` need no further subdivision, from Taylor models.

        The models (:func:`~skmdn._mixture.taylor.cell_models`, in chunks of
        cells) bound the first two derivatives over each cell; the tests of
        :meth:`certify` then settle a cell from them
        (:func:`~skmdn._mixture.taylor.settle`), with the rounding of the
        derivatives at the centre (as :meth:`slope_sign` bounds it) as a
        margin.

        Returns
        -------
        ok : ndarray of bool, shape (m,)
        sign : ndarray of int8, shape (m,)
            +1 or -1 where the derivative keeps that sign over the whole cell
            (beyond rounding), else 0.
        model : ndarray of shape (m, taylor.WIDTH)
            The cells' models.
        """
        models = partial(taylor.cell_models, self)
        model = _blocks.in_chunks(models, rows.size, self.K, rows, a, b)
        r = model[:, taylor.R]
        ok, sign = taylor.settle(model, -r, r, _FLAT_CELL)
        ok |= self.negligible(rows, model[:, taylor.TALLEST])
        return ok, sign, model

    def negligible(self, rows, tallest):
        """Whether cells whose highest term is ``exp(tallest)`` are negligible.

        Below ``exp(_NEGLIGIBLE)`` of the row's highest component peak, all
        ``K`` terms together.
        """
        return tallest + np.log(self.K) < self.highest[rows] + _NEGLIGIBLE


def _critical_block(w, mu, s):
    """Every critical point of 1-D mixtures (rows of ``w``, ``mu``, ``s``).

    All critical points lie between the smallest and largest mean (outside,
    every component's density slopes the same way). That range is cut into
    cells that are certified (:func:`_certified_cells`). The signs of the
    derivative at the cell ends, where rounding cannot flip them
    (:func:`_end_signs`), then place the critical points: one inside each
    cell whose ends have opposite signs (refined by :func:`solve_bracketed`
    on ``d log p / dx``), and one at the middle of each run of ends where the
    derivative is zero within rounding. A point where the derivative changes
    from + to - is a mode, from - to + an antimode; so they alternate,
    beginning and ending with a mode.

    Returns
    -------
    row, x, kind : ndarray of shape (n_points,)
        Critical points sorted by row, then location; ``kind`` is 1 for a
        mode and -1 for an antimode.
    """
    P, K = w.shape
    m = Rows(w, mu, s)
    rows, a, b, known, model = _certified_cells(m)
    # The cell ends of each row in order: every cell's left end, then the
    # row's last right end.
    first = np.r_[True, rows[1:] != rows[:-1]]
    last = np.r_[first[1:], True]
    at = np.arange(rows.size) + np.cumsum(first) - 1  # index of each left end
    px = np.empty(rows.size + P)
    prow = np.empty(rows.size + P, dtype=np.intp)
    px[at], prow[at] = a, rows
    px[at[last] + 1], prow[at[last] + 1] = b[last], rows[last]
    sign = _end_signs(m, prow, px, at, known)

    # a critical point inside each cell whose ends have opposite signs
    root = sign[at] * sign[at + 1] < 0
    r_kind = sign[at][root]  # +1: the density rises, then falls
    x0 = None
    if K > _COARSE_K:  # from the roots of the cells' models
        x0 = taylor.model_roots(model[root], a[root], b[root])
    r_x = _solve_roots(m, rows[root], a[root], b[root], r_kind, x0)

    # one at the middle of each run of ends with a zero derivative
    zero = sign == 0
    same_prev = np.r_[False, prow[1:] == prow[:-1]]
    same_next = np.r_[same_prev[1:], False]
    start = np.flatnonzero(zero & ~(same_prev & np.r_[False, zero[:-1]]))
    end = np.flatnonzero(zero & ~(same_next & np.r_[zero[1:], False]))
    left = np.where(same_prev[start], sign[start - 1], 1)
    right = np.where(same_next[end], sign[(end + 1) % px.size], -1)
    z_kind = np.where(left > right, 1, np.where(left < right, -1, 0))
    keep = z_kind != 0
    z_row = prow[start[keep]]
    z_x = px[(start[keep] + end[keep]) // 2]

    key = np.concatenate((2 * at[root] + 1, 2 * start[keep]))
    order = np.argsort(key, kind="stable")
    return (
        np.concatenate((rows[root], z_row))[order],
        np.concatenate((r_x, z_x))[order],
        np.concatenate((r_kind, z_kind[keep]))[order],
    )


def _certified_cells(m):
    """Cells that :meth:`Rows.certify` (or :meth:`Rows.taylor_certify`) settles.

    The range of the means is first cut at the component means (at most
    ``_COARSE_K + 1`` of them, evenly spaced in rank, for larger K), and
    cells are halved until they are settled. Above ``_COARSE_K`` components,
    the halves of a cell are first tried on its own Taylor model
    (:func:`~skmdn._mixture.taylor.settle`), and modelled afresh only where
    that does not settle them.

    Returns
    -------
    rows, a, b : ndarray of shape (n_cells,)
        The cells ``[a, b]``, sorted by row, then location.
    known : ndarray of int8, shape (n_cells,)
        The sign of the derivative over the whole cell, where the certificate
        gives it, else 0.
    model : ndarray of shape (n_cells, taylor.WIDTH)
        The Taylor model that settled each cell (NaN for K <= _COARSE_K).
    """
    w, mu, K = m.w, m.mu, m.K
    live = w > 0
    lo = np.where(live, mu, np.inf).min(1)
    hi = np.where(live, mu, -np.inf).max(1)
    grid = np.sort(np.column_stack((lo, np.clip(mu, lo[:, None], hi[:, None]), hi)), 1)
    if K > _COARSE_K:
        grid = grid[:, np.linspace(0, K + 1, _COARSE_K + 1).round().astype(np.intp)]
        certify = m.taylor_certify
    else:

        def certify(rows, a, b):
            ok = _blocks.in_chunks(m.certify, rows.size, K, rows, a, b)
            return ok, np.zeros(ok.size, np.int8), taylor.no_models(ok.size)

    G = grid.shape[1]
    rows = np.repeat(np.arange(len(w)), G - 1)
    a, b = grid[:, :-1].ravel(), grid[:, 1:].ravel()
    parent = None
    done = []
    for _ in range(_MAX_DEPTH):
        if parent is not None:  # the halves, on their parent's model
            c = parent[:, taylor.C]
            ok, known = taylor.settle(parent, a - c, b - c, _FLAT_CELL)
            done.append((rows[ok], a[ok], b[ok], known[ok], parent[ok]))
            rows, a, b = rows[~ok], a[~ok], b[~ok]
        if rows.size == 0:
            break
        ok, known, model = certify(rows, a, b)
        done.append((rows[ok], a[ok], b[ok], known[ok], model[ok]))
        rows, a, b, model = rows[~ok], a[~ok], b[~ok], model[~ok]
        mid = 0.5 * (a + b)
        rows = np.concatenate((rows, rows))
        a, b = np.concatenate((a, mid)), np.concatenate((mid, b))
        parent = np.concatenate((model, model)) if K > _COARSE_K else None
    if rows.size:
        _blocks.warn(
            f"{rows.size} cells of {np.unique(rows).size} mixtures were not "
            f"resolved after {_MAX_DEPTH} halvings (the narrowest is "
            f"{np.min(b - a):.3g} wide); critical points inside them may be "
            "missed."
        )
    unsettled = (np.zeros(rows.size, np.int8), taylor.no_models(rows.size))
    done.append((rows, a, b, *unsettled))
    rows, a, b, known, model = (np.concatenate(v) for v in zip(*done, strict=True))
    order = np.lexsort((b, a, rows))
    return rows[order], a[order], b[order], known[order], model[order]


def _end_signs(m, prow, px, at, known):
    """Signs of the derivative at the cell ends ``px`` (of rows ``prow``).

    Where a cell's certificate gives the sign over the whole cell, its ends
    take it; the others are evaluated (:meth:`Rows.slope_sign`), 0 where the
    derivative is zero within rounding.
    """
    sign = np.zeros(px.size, dtype=np.int8)
    sign[at + 1] = known  # each cell's right end, then its left end
    sign[at] = np.where(known != 0, known, sign[at])
    todo = np.flatnonzero(sign == 0)
    sign[todo] = _blocks.in_chunks(m.slope_sign, todo.size, m.K, prow[todo], px[todo])
    return sign


def _solve_roots(m, row, a, b, kind, start=None):
    """Critical points inside the cells ``[a, b]``: ``d log p / dx = 0``.

    ``kind`` is +1 where the density rises, then falls. Solved by
    :func:`solve_bracketed` to the rounding of ``d log p / dx``, from
    ``start`` where given.
    """
    orient = -kind.astype(np.float64)

    def fun(x, idx):
        g, dg, noise = _blocks.in_chunks(m.log_slope, idx.size, m.K, row[idx], x)
        f = orient[idx] * g
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            resid = np.where(noise > 0, f / noise, np.where(f == 0, 0.0, np.inf))
            step = -g / dg
        return resid, step, f >= 0

    r_lo, r_hi, ok = solve_bracketed(fun, a, b, start, ftol=1.0)
    if not ok.all():
        _blocks.warn(
            f"{np.count_nonzero(~ok)} critical points did not converge in "
            f"{roots.MAX_ITER} iterations; they are located to within "
            f"{np.max((r_hi - r_lo)[~ok]):.3g}."
        )
    return r_hi


def critical_points(w, mu, s):
    """Every mode and antimode of 1-D mixtures, in blocks of rows.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
        Weights, means and standard deviations of ``P`` mixtures.

    Returns
    -------
    row, x, kind : ndarray of shape (n_points,)
        Critical points sorted by row, then location; ``kind`` is 1 for a
        mode and -1 for an antimode. Each row has ``2 m - 1`` of them,
        alternating and beginning with a mode, for its ``m`` modes.
    """
    w, mu, s = _blocks.contiguous(w, mu, s)
    P, K = w.shape
    # (above _COARSE_K, the cells' temporaries are chunked: the blocks are
    # bounded by the rows' own arrays, and larger ones share the small steps)
    step = max(1, _blocks.BUDGET // (K * (K + 2 if K <= _COARSE_K else 8)))
    parts = []
    for i in range(0, P, step):
        row, x, kind = _critical_block(
            w[i : i + step], mu[i : i + step], s[i : i + step]
        )
        parts.append((row + i, x, kind))
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def ragged_to_padded(row, values, n_rows, width):
    """Values grouped by (sorted) ``row`` into (n_rows, width), NaN-padded."""
    counts = np.bincount(row, minlength=n_rows)
    rank = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
    out = np.full((n_rows, width), np.nan)
    out[row, rank] = values
    return out, counts


def sorted_critical_points(w, mu, s):
    """Modes and antimodes of 1-D mixtures, padded to a common count.

    Every critical point is found (:func:`critical_points`); what is
    guaranteed is stated in :meth:`MixtureDistribution.modes`.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
        Weights, means and standard deviations of ``P`` mixtures.

    Returns
    -------
    modes : ndarray of shape (P, M)
        Modes in increasing order, ``M`` the most modes of any row (not
        ``K``, which made the densities at the modes quadratic in ``K``);
        rows with fewer modes repeat their last one.
    n_modes : ndarray of shape (P,)
    anti : ndarray of shape (P, M - 1)
        The density minimum between consecutive modes (equal to the mode
        where the padding repeats it).
    """
    P = w.shape[0]
    row, x, kind = critical_points(w, mu, s)
    is_mode = kind == 1
    n_modes = np.bincount(row[is_mode], minlength=P)
    M = int(n_modes.max(initial=1))
    modes, _ = ragged_to_padded(row[is_mode], x[is_mode], P, M)
    cols = np.arange(M)
    last = modes[np.arange(P), n_modes - 1]
    modes = np.where(cols < n_modes[:, None], modes, last[:, None])
    anti, _ = ragged_to_padded(row[~is_mode], x[~is_mode], P, M - 1)
    anti = np.where(cols[:-1] < n_modes[:, None] - 1, anti, modes[:, :-1])
    return modes, n_modes, anti


def logpdf_points(w, mu, s, x):
    """Log-density of each row's mixture at several points, ``x`` of shape (P, M)."""
    w, mu, s, x = _blocks.contiguous(w, mu, s, x)
    P, M = x.shape
    m = Mixture1D(w, mu, s)
    rows = np.repeat(np.arange(P), M)
    out = _blocks.in_chunks(
        lambda r, xx: m.logpdf(r, xx)[0], P * M, w.shape[1], rows, x.ravel()
    )
    return out.reshape(P, M)


def cdf_points(w, mu, s, x):
    """Cdf of each row's mixture at several points, ``x`` of shape (P, M)."""
    w, mu, s, x = _blocks.contiguous(w, mu, s, x)
    P, M = x.shape
    m = Mixture1D(w, mu, s)
    rows = np.repeat(np.arange(P), M)
    return _blocks.in_chunks(m.cdf, P * M, w.shape[1], rows, x.ravel()).reshape(P, M)
