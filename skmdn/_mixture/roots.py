"""The bracketed root finder, and the quantiles of 1-D mixtures it solves for."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skmdn._mixture import _blocks
from skmdn._mixture.component import Mixture1D

EPS = np.finfo(np.float64).eps
_SIGN_MASK = np.int64(0x7FFFFFFFFFFFFFFF)
# Iteration cap of the root finder, which typically needs 5 to 15 iterations
# and halves its bracket at least every third iteration.
MAX_ITER = 400


def _float_key(x):
    """Integers in the order of the float64 values ``x``, one apart for neighbours."""
    i = np.ascontiguousarray(x, dtype=np.float64).view(np.int64)
    return i ^ ((i >> 63) & _SIGN_MASK)


def bisect(lo, hi):
    """Return the midpoint of ``lo < hi``, geometric where they differ in scale.

    Where both ends have one sign and differ by more than a factor of four,
    the midpoint is taken in the order of the floats, which halves the
    number of floats in the bracket: no bracket needs more than 64 such
    steps to close, however many decades it spans.
    """
    a, b = _float_key(lo), _float_key(hi)
    k = (a >> 1) + (b >> 1) + (a & b & 1)
    by_key = (k ^ ((k >> 63) & _SIGN_MASK)).view(np.float64)
    wide = ((lo > 0) & (hi > 4 * lo)) | ((hi < 0) & (lo < 4 * hi))
    return np.where(wide, by_key, 0.5 * lo + 0.5 * hi)


def solve_bracketed(fun, lo, hi, x=None, ftol=None, max_iter=None):
    """Roots of increasing functions in brackets, one independent problem per entry.

    A safeguarded Newton iteration. Each iteration evaluates the active
    problems at one point each and moves one end of their brackets there; a
    problem leaves the active set when it is solved, so no problem's iterates
    depend on which other problems are solved together.

    The next point is the Newton step from the end of the bracket with the
    smaller residual when it falls strictly inside the bracket, and otherwise
    the bisection of the bracket (:func:`bisect`). When three iterations
    have not halved the bracket, the next point is twice that Newton step
    (once), which closes the bracket behind iterates that converge from one
    side, or else the bisection. A step smaller than the spacing of the
    floats moves to the neighbouring float.

    Parameters
    ----------
    fun : callable
        ``fun(x, idx)`` evaluates the problems ``idx`` at the points ``x``
        (both of shape (m,)) and returns ``(resid, step, right)``: a residual,
        the Newton step, and whether ``x`` lies at or right of the root.
    lo, hi : ndarray of shape (n,)
        Brackets: ``lo`` left of the root, ``hi`` at or right of it.
    x : ndarray of shape (n,), optional
        First points, in ``[lo, hi]``; the ends are then taken as given, not
        evaluated. By default both ends are evaluated first, and the
        iteration starts from the better one.
    ftol : float or ndarray of shape (n,), optional
        A problem is solved where ``|resid| <= ftol``; by default only when
        its bracket has closed.
    max_iter : int, optional
        Iteration cap, by default ``MAX_ITER``.

    Returns
    -------
    lo, hi : ndarray of shape (n,)
        The final brackets: neighbouring floats (``hi`` right of the root,
        ``lo`` left of it), or both the point where ``|resid| <= ftol``.
    converged : ndarray of bool, shape (n,)
        False where ``max_iter`` iterations did not solve the problem.
    """
    lo = np.array(lo, dtype=np.float64)
    hi = np.array(hi, dtype=np.float64)
    n = lo.shape[0]
    max_iter = MAX_ITER if max_iter is None else max_iter
    ftol = np.broadcast_to(-1.0 if ftol is None else ftol, (n,))
    # residual and Newton step at each end, once evaluated
    r_lo, r_hi = np.full(n, np.inf), np.full(n, np.inf)
    s_lo, s_hi = np.full(n, np.nan), np.full(n, np.nan)
    widths = np.full((n, 3), np.inf)  # of the last three brackets
    doubled = np.zeros(n, dtype=bool)
    converged = np.zeros(n, dtype=bool)
    active = np.arange(n)
    if x is None:
        x = np.empty(n)
        r_lo, s_lo, lo_right = fun(lo, active)
        r_hi, s_hi, hi_right = fun(hi, active)
        r_lo, r_hi = np.abs(r_lo), np.abs(r_hi)
        # a root at an end, or within tolerance of one
        at_lo = lo_right | (r_lo <= ftol)
        at_hi = ~at_lo & (~hi_right | (r_hi <= ftol))
        hi[at_lo], lo[at_hi] = lo[at_lo], hi[at_hi]
        done = at_lo | at_hi | (_float_key(lo) >= _float_key(hi) - 1)
        x = _next_point(lo, hi, r_lo, r_hi, s_lo, s_hi, r_lo <= r_hi, False, doubled)
        converged[done] = True
        active = active[~done]
    else:
        x = np.array(x, dtype=np.float64)
    for _ in range(max_iter):
        if active.size == 0:
            break
        xa = x[active]
        resid, step, right = fun(xa, active)
        resid = np.abs(resid)
        lo_a = np.where(right, lo[active], xa)
        hi_a = np.where(right, xa, hi[active])
        rl = np.where(right, r_lo[active], resid)
        rh = np.where(right, resid, r_hi[active])
        sl = np.where(right, s_lo[active], step)
        sh = np.where(right, step, s_hi[active])
        met = resid <= ftol[active]
        lo_a[met] = xa[met]
        hi_a[met] = xa[met]
        done = met | (_float_key(lo_a) >= _float_key(hi_a) - 1)
        width = hi_a - lo_a
        past = widths[active]
        stalled = width > 0.5 * past[:, 0]
        from_lo = np.where(right, rl < rh, rl <= rh)  # the new point on a tie
        use_double = stalled & ~doubled[active]
        x[active] = _next_point(
            lo_a, hi_a, rl, rh, sl, sh, from_lo, stalled, use_double
        )
        lo[active], hi[active] = lo_a, hi_a
        r_lo[active], r_hi[active], s_lo[active], s_hi[active] = rl, rh, sl, sh
        widths[active] = np.column_stack((past[:, 1:], width))
        doubled[active] = use_double
        converged[active[done]] = True
        active = active[~done]
    return lo, hi, converged


def _next_point(lo, hi, r_lo, r_hi, s_lo, s_hi, from_lo, stalled, double):
    """Newton from the better end if inside ``(lo, hi)``, doubled, or bisection."""
    base = np.where(from_lo, lo, hi)
    with np.errstate(invalid="ignore", over="ignore"):
        newton = base + np.where(from_lo, s_lo, s_hi)
        tiny = newton == base
        newton[tiny] = np.nextafter(base, np.where(from_lo, hi, lo))[tiny]
        newton = np.where(double, base + 2.0 * (newton - base), newton)
    inside = (newton > lo) & (newton < hi) & (double | ~stalled)
    return np.where(inside, newton, bisect(lo, hi))


# ----------------------------------------------------------------- quantiles

# Below this the cdf or density is recomputed in logs, from log_ndtr.
_TINY = 1e-280


def ppf(w, mu, s, q):
    """Quantiles of 1-D mixtures: the inverse of the cdf at ``q`` in (0, 1).

    The result is exact for the computed cdf: for ``q <= 1/2`` it is a float
    ``y`` where the computed cdf equals ``q`` or, if there is none, the
    smallest float where it exceeds ``q``. Above the median the problem is
    mirrored (``x -> -x``, ``q -> 1 - q``, exact) and the same holds for the
    survival function and ``1 - q``, with the survival function computed
    directly, at full relative precision. So ``|cdf(y) - q|`` is at most the
    density times the spacing of the floats at ``y``, plus the rounding of
    the cdf (about 1e-15 relative to ``min(q, 1 - q)``); and ``y`` is
    nondecreasing in ``q`` by construction on each side of 1/2 (the cdf is
    computed as a sum of nondecreasing terms, and ``cdf(y) >= q`` with either
    ``cdf(y) == q`` or ``cdf(y') < q`` at the float ``y'`` below ``y``).

    Solved by :func:`solve_bracketed` on ``log cdf(y) = log q``, whose Newton
    steps converge fast even where the cdf is exponentially flat, inside the
    bracket of the components' own quantiles, which always holds the root.
    A :class:`~sklearn.exceptions.ConvergenceWarning` reports problems that
    do not converge.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
        Weights, means and standard deviations of ``P`` mixtures.
    q : ndarray of shape (P,)
        Probabilities, strictly between 0 and 1.

    Returns
    -------
    ndarray of shape (P,)
    """
    # chunks a few times larger than the cache-sized ones pay back the
    # iteration's overhead per chunk
    arrays = _blocks.contiguous(w, mu, s, q)
    return _blocks.in_chunks(_ppf_block, len(q), w.shape[1], *arrays, scale=4)


def _ppf_block(w, mu, s, q):
    upper = q > 0.5
    sign = np.where(upper, -1.0, 1.0)
    mu = mu * sign[:, None]
    p = np.where(upper, 1.0 - q, q)  # exact for q in [0.5, 1]
    log_p = np.log(p)
    m = Mixture1D(w, mu, s)
    # The components' quantiles at slightly lower and higher levels, a few
    # floats further out, bracket the mixture's quantile despite rounding.
    lo = m.component_quantiles(p * (1 - 1e-9)).min(1)
    hi = m.component_quantiles(p * (1 + 1e-9)).max(1)
    lo -= 4 * np.abs(np.spacing(lo))
    hi += 4 * np.abs(np.spacing(hi))
    x0 = np.clip((w * m.component_quantiles(p)).sum(1), lo, hi)

    def fun(x, idx):
        z = m.z(idx, x)
        cdf, pdf = m.cdf_z(idx, z), m.pdf_z(idx, z)
        pa, lpa, up = p[idx], log_p[idx], upper[idx]
        # Above the median (mirrored) the result is the last float with
        # cdf <= p, below it the first with cdf >= p.
        right = np.where(up, cdf > pa, cdf >= pa)
        exact = cdf == pa
        with np.errstate(divide="ignore"):
            log_cdf, log_pdf = np.log(cdf), np.log(pdf)
        small = cdf < _TINY
        if small.any():  # deep tails: the cdf from log_ndtr, compared in logs
            log_cdf[small] = m.log_cdf_z(idx[small], z[small])
            right[small] = np.where(
                up[small], log_cdf[small] > lpa[small], log_cdf[small] >= lpa[small]
            )
            exact[small] = log_cdf[small] == lpa[small]
        small = pdf < _TINY
        if small.any():
            log_pdf[small] = m.log_pdf_z(idx[small], z[small])
        resid = np.where(exact, 0.0, log_cdf - lpa)
        with np.errstate(over="ignore", invalid="ignore"):
            step = -resid * np.exp(log_cdf - log_pdf)
        return resid, step, right

    # Solved where the computed cdf equals p, or else where it steps over p
    # between neighbouring floats: monotone in p either way.
    lo, hi, ok = solve_bracketed(fun, lo, hi, x0, ftol=0.0)
    if not ok.all():
        _blocks.warn(
            f"{np.count_nonzero(~ok)} of {ok.size} quantiles did not converge in "
            f"{MAX_ITER} iterations; their brackets are up to "
            f"{np.max((hi - lo)[~ok]):.3g} wide."
        )
    return np.where(upper, lo, hi) * sign
