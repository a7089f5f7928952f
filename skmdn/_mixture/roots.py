"""The bracketed root finder, and the quantiles of 1-D mixtures it solves for."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skmdn._mixture import _blocks
from skmdn._mixture.component import (
    INV_SQRT_2PI,
    SQRT_2PI,
    Mixture1D,
    cdf,
    quantile,
    serial_torch,
    weighted_sum,
)

EPS = np.finfo(np.float64).eps
_SIGN_MASK = np.int64(0x7FFFFFFFFFFFFFFF)
# Iteration cap of the root finder, which typically needs 5 to 15 iterations
# and halves its bracket at least every third iteration.
MAX_ITER = 400


def _float_key(x):
    """Integers in the order of the float64 values ``x``, one apart for neighbours."""
    i = np.ascontiguousarray(x, dtype=np.float64).view(np.int64)
    return i ^ ((i >> 63) & _SIGN_MASK)


def _from_key(k):
    """Return the float64 values of the keys ``k`` (inverse of :func:`_float_key`)."""
    return (k ^ ((k >> 63) & _SIGN_MASK)).view(np.float64)


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
# Steps of the quantile solver: Halley on log cdf, and on the cdf itself
# within this relative residual, where cdf - p is exact (log cdf - log p is
# rounded to the spacing of the logs, coarser than the cdf's own).
_NEAR = 1e-3
# Iterations without halving the bracket after which the solver bisects.
_STALL = 6
# Exponents of the density's terms are clipped here: their exponentials stay
# normal floats and only the Newton steps see them, never the cdf. numpy's
# vectorised exp leaves its fast path for results near the subnormals: 0.7 ns
# an element at -700, 11 at -708, 110 at -745 (numpy 2.4, this project's
# machine), so the clip sits at -700 (the solver: 3 to 8% faster than -708).
_MIN_EXP = -700.0
# Problems with p below this go to solve_quantiles alone, which compares the
# cdf in logs below _TINY; above it, a point where the cdf is below _TINY is
# left of the root whichever way it is compared.
_DEEP = 1e-270
# Evaluations of the computed cdf in ppf's first stage, at most.
_EXACT_ITER = 24
# A residual below _NOISE * p may be all rounding: a step from it that is
# not shorter than half the one before the last is no sign of a stall.
_NOISE = 64 * EPS


def ppf(w, mu, s, q, return_evals=False):
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
    The computed cdf is that of :meth:`Mixture1D.cdf_z` (of the mirrored
    rows above the median), ``sum_k w_k Phi((y - mu_k) / s_k)`` summed by
    :func:`~skmdn._mixture.component.weighted_sum`, and where it
    is below ``_TINY`` the log-sum-exp of :meth:`Mixture1D.log_cdf_z`.

    Each quantile is solved on its own, so that it does not depend on the
    other problems solved with it, in two stages:

    1. At most ``_EXACT_ITER`` evaluations of the computed cdf (Halley
       steps, moves of a few floats, bisection: :func:`_exact_steps`) from
       the quantile of the moment-matched normal, inside the bracket of the
       components' own quantiles, which always holds the root. Only points
       where the computed cdf was evaluated move the bracket's ends, so it
       closes on the promised float.
    2. The problems left, and those with ``min(q, 1 - q) < _DEEP`` (where
       the cdf is compared in logs), are solved by :func:`solve_quantiles`
       in one batch, inside the brackets stage 1 left; a
       :class:`~sklearn.exceptions.ConvergenceWarning` reports problems that
       do not converge.

    (A first stage of Halley steps on a rational approximation of the
    normal tail paid while ``ndtr`` cost 15 ns an element; since the cdf
    comes from torch's vectorised ``erfc``, an exact evaluation is the
    cheaper of the two, and starting from the normal's quantile was 3 to 7%
    faster for about two more exact evaluations.)

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
        Weights, means and standard deviations of ``P`` mixtures.
    q : ndarray of shape (P,)
        Probabilities, strictly between 0 and 1.
    return_evals : bool, default=False
        Also return the number of cdf evaluations each quantile took.

    Returns
    -------
    y : ndarray of shape (P,)
    evals : ndarray of int, shape (P,)
        Only when ``return_evals``: the cdf evaluations of each quantile.
    """
    w, mu, s, q = _blocks.contiguous(w, mu, s, q)
    n, K = len(q), w.shape[1]
    y = np.empty(n)
    evals = np.zeros(n, dtype=np.int64)
    # chunks a few times larger than the cache-sized ones pay back the
    # iteration's overhead per chunk; of equal sizes, so none is left small
    most = max(1, 4 * _blocks.CHUNK // max(1, K))
    step = -(-n // -(-n // most)) if n > most else max(n, 1)
    work = [np.empty((min(step, n), K)) for _ in range(8)]
    left = []
    for i in range(0, n, step):
        sl = slice(i, i + step)
        rest, lo, hi = _ppf_block(w[sl], mu[sl], s[sl], q[sl], y[sl], evals[sl], work)
        if rest.size:
            left.append((rest + i, lo, hi))
    if left:
        idx, lo, hi = (np.concatenate(part) for part in zip(*left, strict=True))
        y[idx], extra = _ppf_bracketed(w[idx], mu[idx], s[idx], q[idx], lo, hi)
        evals[idx] += extra
    return (y, evals) if return_evals else y


def _ppf_block(w, mu, s, q, y, evals, work):
    """Stage 1 of :func:`ppf` on a block, into ``y`` and ``evals``.

    Returns the problems left for stage 2 and their brackets, NaN for those
    never bracketed.
    """
    deep = q < _DEEP  # (1 - q >= 2**-53 for any float q < 1)
    if not deep.any():
        return _solve_block(w, mu, s, q, y, evals, work)
    rest, fast = np.flatnonzero(deep), np.flatnonzero(~deep)
    nan = np.full(rest.size, np.nan)
    if fast.size == 0:
        return rest, nan, nan
    y_fast, ev_fast = np.empty(fast.size), np.zeros(fast.size, dtype=np.int64)
    more, lo, hi = _solve_block(
        w[fast], mu[fast], s[fast], q[fast], y_fast, ev_fast, work
    )
    y[fast], evals[fast] = y_fast, ev_fast
    return np.r_[rest, fast[more]], np.r_[nan, lo], np.r_[nan, hi]


def _solve_block(w, mu, s, q, y, evals, work):
    """Stage 1 for problems with ``min(q, 1 - q) >= _DEEP``."""
    n = len(q)
    upper = q > 0.5
    sign = np.where(upper, -1.0, 1.0)
    p = np.where(upper, 1.0 - q, q)  # exact for q in [0.5, 1]
    mu = np.multiply(mu, sign[:, None], out=work[0][:n])
    terms = _Terms(w, mu, s, work[1:])
    zp = quantile(p)
    lo, hi = terms.bracket(p, zp)
    x = terms.start(zp, lo, hi)
    (solved, found), rest, lo, hi = _exact_steps(terms, p, upper, lo, hi, x, evals)
    y[solved] = found * sign[solved]
    return rest, lo, hi


def _ppf_bracketed(w, mu, s, q, lo, hi):
    """Stage 2 of :func:`ppf`: by :func:`solve_quantiles`, in the given brackets.

    Mirrored brackets; NaN ones are those of the components' quantiles.
    Returns the quantiles and the number of cdf evaluations of each.
    """
    upper = q > 0.5
    sign = np.where(upper, -1.0, 1.0)
    mu = mu * sign[:, None]
    p = np.where(upper, 1.0 - q, q)
    m = Mixture1D(w, mu, s)
    # the components' quantiles at slightly lower and higher levels, a few
    # floats further out, bracket the mixture's quantile despite rounding
    new = np.isnan(lo)
    if new.any():
        lo, hi = lo.copy(), hi.copy()
        sub = Mixture1D(w[new], mu[new], s[new])
        lo[new] = sub.component_quantiles(p[new] * (1 - 1e-9)).min(1)
        hi[new] = sub.component_quantiles(p[new] * (1 + 1e-9)).max(1)
        lo[new] -= 4 * np.abs(np.spacing(lo[new]))
        hi[new] += 4 * np.abs(np.spacing(hi[new]))
    # first point: the quantile of the moment-matched normal
    mean = (w * mu).sum(1)
    sd = np.sqrt((w * (s * s + np.square(mu - mean[:, None]))).sum(1))
    with np.errstate(invalid="ignore", over="ignore"):
        x0 = mean + sd * quantile(p)
    x0 = np.where(np.isfinite(x0), np.clip(x0, lo, hi), bisect(lo, hi))
    # Above the median (mirrored) the result is the last float with
    # cdf <= p, below it the first with cdf >= p: monotone in p either way.
    lo, hi, ok, evals = solve_quantiles(m, p, ~upper, lo, hi, x0)
    if not ok.all():
        _blocks.warn(
            f"{np.count_nonzero(~ok)} of {ok.size} quantiles did not converge in "
            f"{MAX_ITER} iterations; their brackets are up to "
            f"{np.max((hi - lo)[~ok]):.3g} wide."
        )
    return np.where(upper, lo, hi) * sign, evals


class _Terms:
    """The components of the problems held, compacted as they finish.

    Scratch buffers of their shape, from ``work``, so that an evaluation
    allocates only its per-problem results. :meth:`exact` evaluates the cdf
    at one point per problem, with the density and its derivative.
    """

    _NAMES = ("w", "mu", "s", "w_pdf", "w_dpdf")

    def __init__(self, w, mu, s, work):
        n = len(w)
        self.w, self.mu, self.s = w, mu, s
        inv_s = np.divide(1.0, s, out=work[0][:n])
        self.w_pdf = np.multiply(inv_s, w, out=work[1][:n])
        self.w_pdf *= INV_SQRT_2PI
        self.w_dpdf = np.multiply(self.w_pdf, inv_s, out=work[2][:n])
        self._buf = work[3:7]

    def keep(self, idx):
        """Hold only the problems ``idx`` (of those held), for :meth:`exact`."""
        for name in self._NAMES:
            setattr(self, name, getattr(self, name).take(idx, axis=0))

    def bracket(self, p, zp):
        """Return the components' quantiles at ``p (1 -+ 1e-9)``, a few floats out.

        As :func:`solve_quantiles` takes them: at the lower end every
        component's cdf, and so the mixture's, is below ``p`` by far more
        than the rounding of the computed cdf, and at the upper end above.
        The levels' normal quantiles are ``zp -+ dz``, ``dz`` one percent
        more than the first-order change ``1e-9 p / phi(zp)``, whose neglected
        second-order term is relatively ``1e-9`` smaller.
        """
        n = len(p)
        dz = (1.01e-9 * SQRT_2PI) * p * np.exp(0.5 * zp * zp)
        c = self._buf[0][:n]
        with serial_torch(c.size) as torch:  # its min over a short axis: 5x numpy's
            np.multiply(self.s, (zp - dz)[:, None], out=c)
            c += self.mu
            lo = torch.amin(torch.from_numpy(c), 1).numpy()
            np.multiply(self.s, (zp + dz)[:, None], out=c)
            c += self.mu
            hi = torch.amax(torch.from_numpy(c), 1).numpy()
        lo -= 4 * np.abs(np.spacing(lo))
        hi += 4 * np.abs(np.spacing(hi))
        return lo, hi

    def start(self, zp, lo, hi):
        """Return the quantile of the moment-matched normal, clipped to the bracket."""
        n = len(zp)
        d, v = self._buf[0][:n], self._buf[1][:n]
        mean = np.einsum("ij,ij->i", self.w, self.mu)
        np.subtract(self.mu, mean[:, None], out=d)
        d *= d
        np.multiply(self.s, self.s, out=v)
        v += d
        with np.errstate(invalid="ignore", over="ignore"):
            x = mean + np.sqrt(np.einsum("ij,ij->i", self.w, v)) * zp
        bad = ~np.isfinite(x)
        np.clip(x, lo, hi, out=x)
        if bad.any():
            x[bad] = bisect(lo[bad], hi[bad])
        return x

    def _slopes(self, z, t):
        """Density and its derivative from ``z`` and ``t = kernel(z)``; spends ``t``."""
        f = np.einsum("ij,ij->i", t, self.w_pdf)
        t *= z
        df = np.einsum("ij,ij->i", t, self.w_dpdf)
        return f, np.negative(df, out=df)

    def exact(self, x):
        """``(cdf, pdf, pdf')`` at ``x``, the cdf as :meth:`Mixture1D.cdf_z`."""
        n = x.shape[0]
        z, t = self._buf[0][:n], self._buf[2][:n]
        np.subtract(x[:, None], self.mu, out=z)
        np.divide(z, self.s, out=z)
        np.square(z, out=t)
        t *= -0.5
        np.maximum(t, _MIN_EXP, out=t)
        np.exp(t, out=t)
        f, df = self._slopes(z, t)
        cdf(z, out=z)
        return weighted_sum(self.w, z), f, df


def _halley(step, bend):
    """Return Halley's step: Newton's over ``1 + bend``, clipped to [1/2, 2]."""
    return step / np.clip(1.0 + bend, 0.5, 2.0)


def _exact_steps(terms, p, upper, lo, hi, x, evals):
    """Stage 1 of :func:`ppf`: Halley steps on the computed cdf, in the bracket.

    The step is Halley's on the cdf within ``_NEAR`` of ``p`` (where
    ``cdf - p`` is exact) and on ``log cdf`` beyond, from the point last
    evaluated. A step of at most one float moves ``2**j`` floats instead,
    ``j`` the number of such moves in a row before, towards the root (so the
    neighbour is checked first, and a residual that is all rounding still
    crosses the root in a few steps). Any other step that leaves the bracket,
    is not finite, or is not shorter than half the step before the last
    (the safeguard of Numerical Recipes' ``rtsafe``: steps halve at least
    every second iteration), is replaced by the bisection of the bracket
    (:func:`bisect`), unless the residual is within the rounding
    (``_NOISE``).

    Returns ``(problems, x)`` of the solved problems (mirrored results) and
    the problems left with their brackets.
    """
    n = len(p)
    rows = np.arange(n)
    solved, found = [], []
    log_p = np.log(p)
    klo, khi, kx = _float_key(lo), _float_key(hi), _float_key(x)
    # the sizes of the last two moves, and the moves of a few floats in a row
    last, before = np.full(n, np.inf), np.full(n, np.inf)
    crept = np.zeros(n, dtype=np.int64)
    live = np.ones(n, dtype=bool)
    for it in range(_EXACT_ITER):
        F, f, df = terms.exact(x)
        # A point with cdf == p is the answer. At the others cdf != p, so
        # right of the root (cdf >= p below the median, cdf > p above, as
        # solve_quantiles has it) is cdf > p on both sides.
        r = F - p
        right = r > 0
        klo, khi = np.where(right, klo, kx), np.where(right, kx, khi)
        hit = r == 0
        done = live & (hit | (klo >= khi - 1))
        if done.any():
            idx = np.flatnonzero(done)
            solved.append(rows[idx])
            found.append(np.where(hit, kx, np.where(upper, klo, khi))[idx])
            evals[rows[idx]] = it + 1
            live &= ~done
            n_live = np.count_nonzero(live)
            if n_live == 0 or it == _EXACT_ITER - 1:
                break
            if 4 * (live.size - n_live) >= live.size:
                keep = np.flatnonzero(live)
                terms.keep(keep)
                rows, p, upper, log_p = rows[keep], p[keep], upper[keep], log_p[keep]
                F, f, df, r, right = F[keep], f[keep], df[keep], r[keep], right[keep]
                x, kx, klo, khi = x[keep], kx[keep], klo[keep], khi[keep]
                last, before, crept = last[keep], before[keep], crept[keep]
                live = live[keep]
        elif it == _EXACT_ITER - 1:
            break
        res = np.abs(r)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = -r / f
            bend = 0.5 * step * (df / f)
            far = np.flatnonzero(~(res < _NEAR * p))
            if far.size:  # on log F: -g F / f, with g = log F - log p
                Ff, ff = F[far], f[far]
                lg = np.log(Ff) - log_p[far]
                step[far] = -lg * (Ff / ff)
                bend[far] = 0.5 * (step[far] * (df[far] / ff) + lg)
            step = _halley(step, bend)
            kn = _float_key(x + step)
        short = np.abs(kn - kx) <= 1
        crept = (crept + 1) * short
        idx = np.flatnonzero(short)
        if idx.size:
            hop = np.left_shift(1, crept[idx] - 1)
            kn[idx] = kx[idx] + np.where(right[idx], -hop, hop)
        with np.errstate(invalid="ignore"):
            bad = (kn <= klo) | (kn >= khi) | ~np.isfinite(step)
            bad |= ~short & ~(np.abs(step) <= 0.5 * before) & ~(res <= _NOISE * p)
        x_new = _from_key(kn)
        idx = np.flatnonzero(bad)
        if idx.size:
            x_new[idx] = bisect(_from_key(klo[idx]), _from_key(khi[idx]))
            kn[idx] = _float_key(x_new[idx])
        before, last = last, np.abs(x_new - x)
        x, kx = x_new, kn
    rest = rows[live]
    evals[rest] = _EXACT_ITER
    solved = np.concatenate(solved) if solved else rows[:0]
    found = _from_key(np.concatenate(found)) if found else np.empty(0)
    return (solved, found), rest, _from_key(klo[live]), _from_key(khi[live])


class _CdfSteps:
    """The mixture cdf at one point per problem, and the Halley step it gives.

    Holds the components of the problems still active, compacted as they
    finish, and scratch buffers of their shape, so that an evaluation
    allocates only its per-problem results.
    """

    def __init__(self, m, p, right_if_equal):
        self.m = m
        self.w, self.mu, self.s, self.w_pdf = m.w, m.mu, m.s, m.w_pdf
        self.p, self.log_p = p, np.log(p)
        self.eq_right = right_if_equal
        self.rows = np.arange(len(p))  # problem of each held row
        self._z = np.empty(m.w.shape)
        self._t = np.empty(m.w.shape)

    def keep(self, still):
        """Hold only the problems ``self.rows[still]``."""
        idx = np.flatnonzero(still)
        for name in ("w", "mu", "s", "w_pdf", "p", "log_p", "eq_right", "rows"):
            setattr(self, name, getattr(self, name).take(idx, axis=0))

    def __call__(self, x):
        """At ``x``, one point per held problem: ``(g, right, exact, step)``.

        ``g`` is the residual relative to ``p`` (``log cdf - log p`` in the
        deep tails), ``right`` whether ``x`` lies right of the root, and
        ``step`` the Halley step, on ``log cdf`` far from the root and on the
        cdf itself within ``_NEAR``, where ``cdf - p`` is exact.
        """
        n = x.shape[0]
        z, t = self._z[:n], self._t[:n]
        # the cdf exactly as Mixture1D.cdf_z: sum_k w_k Phi((x - mu_k) / s_k)
        np.subtract(x[:, None], self.mu, out=z)
        np.divide(z, self.s, out=z)
        F = weighted_sum(self.w, cdf(z))
        # the density and its derivative, from the same z
        np.multiply(z, z, out=t)
        t *= -0.5
        np.maximum(t, _MIN_EXP, out=t)
        np.exp(t, out=t)
        f = np.einsum("ij,ij->i", t, self.w_pdf)
        t *= z
        t /= self.s
        df = -np.einsum("ij,ij->i", t, self.w_pdf)
        p, log_p = self.p, self.log_p
        right = np.where(self.eq_right, F >= p, F > p)
        exact = F == p
        with np.errstate(divide="ignore"):
            log_F, log_f = np.log(F), np.log(f)
        tail = F < _TINY
        if tail.any():  # deep tails: the cdf from log_ndtr, compared in logs
            log_F[tail] = self.m.log_cdf_z(self.rows[tail], z[tail])
            right[tail] = np.where(
                self.eq_right[tail],
                log_F[tail] >= log_p[tail],
                log_F[tail] > log_p[tail],
            )
            exact[tail] = log_F[tail] == log_p[tail]
        small = f < _TINY
        if small.any():
            log_f[small] = self.m.log_pdf_z(self.rows[small], z[small])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            g = np.where(tail, log_F - log_p, (F - p) / p)
            near = (np.abs(g) < _NEAR) & ~tail
            ratio = np.exp(log_F - log_f)  # F / f
            # Newton on log F: -g F / f; on F: (p - F) / f
            lg = log_F - log_p
            newton = np.where(near, (p - F) * np.exp(-log_f), -lg * ratio)
            # Halley divides it by 1 - n f'' / (2 f'), for the function's
            # derivatives f', f'': on F, f and df; on log F, f/F and
            # (df F - f^2) / F^2
            bend = df / f * newton
            bend = np.where(near, bend, bend + lg) * 0.5
            corr = 1.0 + bend
            ok = (corr > 0.5) & (corr < 2.0) & ~small
            step = newton / np.where(ok, corr, 1.0)
        return g, right, exact, step


def solve_quantiles(m, p, right_if_equal, lo, hi, x, max_iter=None):
    """Solve ``cdf(y) = p`` in brackets, one problem per row of the mixtures ``m``.

    Each iteration evaluates the cdf of the active problems at one point
    each and moves one end of their brackets there; a problem leaves the
    active set when ``cdf == p`` there (in logs in the deep tails) or its
    bracket has closed to neighbouring floats, so no problem's iterates
    depend on which others are solved together.

    The next point is the Halley step (on ``log cdf``, and on the cdf within
    ``_NEAR`` of ``p`` where ``cdf - p`` is exact) from the end of the bracket
    with the smaller residual. A point outside the bracket, or any point
    once ``_STALL`` iterations have not halved the bracket, is replaced by
    the bisection (:func:`bisect`), so every bracket closes. A step of less
    than two floats moves ``2**j`` floats instead, ``j`` the number of such
    moves in a row that stayed on their end's side, so that a residual
    which is all rounding still crosses the root in a few steps.

    Parameters
    ----------
    m : Mixture1D
        ``P`` mixtures.
    p : ndarray of shape (P,)
        Probabilities.
    right_if_equal : ndarray of bool, shape (P,)
        Whether a point with ``cdf == p`` counts as right of the root: the
        bracket then closes on the first float with ``cdf >= p``, otherwise
        on the last with ``cdf <= p``.
    lo, hi : ndarray of shape (P,)
        Brackets: ``lo`` left of the root, ``hi`` right of it; the ends are
        taken as given, not evaluated.
    x : ndarray of shape (P,)
        First points, in ``[lo, hi]``.
    max_iter : int, optional
        Iteration cap, by default ``MAX_ITER``.

    Returns
    -------
    lo, hi : ndarray of shape (P,)
        The final brackets: neighbouring floats, or both the point where
        ``cdf == p``.
    converged : ndarray of bool, shape (P,)
    evals : ndarray of int, shape (P,)
        The number of cdf evaluations of each problem.
    """
    ev = _CdfSteps(m, p, right_if_equal)
    lo = np.array(lo, dtype=np.float64)
    hi = np.array(hi, dtype=np.float64)
    n = lo.shape[0]
    max_iter = MAX_ITER if max_iter is None else max_iter
    converged = np.zeros(n, dtype=bool)
    evals = np.zeros(n, dtype=np.int64)
    # the held problems' brackets, residual and step at each end (NaN until
    # evaluated), the width at the bracket's last halving and the iterations
    # since, and the moves of a few floats (see above)
    a, b, x = lo.copy(), hi.copy(), np.array(x, dtype=np.float64)
    ga, gb, sa, sb = (np.full(n, np.nan) for _ in range(4))
    ref, since = b - a, np.zeros(n, dtype=np.int64)
    crept, short = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    from_a = np.ones(n, dtype=bool)
    live = np.ones(n, dtype=bool)  # held problems not yet solved
    for _ in range(max_iter):
        g, right, exact, step = ev(x)
        evals[ev.rows[live]] += 1
        # the point replaces the end on its side
        a, b = np.where(right, a, x), np.where(right, x, b)
        ga, gb = np.where(right, ga, g), np.where(right, g, gb)
        sa, sb = np.where(right, sa, step), np.where(right, step, sb)
        crept = np.where(short & (from_a ^ right), crept + 1, 0)
        a[exact] = x[exact]
        b[exact] = x[exact]
        done = live & (exact | (_float_key(a) >= _float_key(b) - 1))
        if done.any():
            rows = ev.rows[done]
            lo[rows], hi[rows] = a[done], b[done]
            converged[rows] = True
            live &= ~done
            n_live = np.count_nonzero(live)
            if n_live == 0:
                break
            # Solved problems stay held (their iterates stay in their closed
            # brackets) until a quarter of the held ones are solved: copying
            # the components out costs more than evaluating a few spare rows.
            if 4 * (live.size - n_live) >= live.size:
                keep = live
                ev.keep(keep)
                a, b, ga, gb = a[keep], b[keep], ga[keep], gb[keep]
                sa, sb, ref, since = sa[keep], sb[keep], ref[keep], since[keep]
                crept, live = crept[keep], live[keep]
        width = b - a
        halved = width <= 0.5 * ref
        ref = np.where(halved, width, ref)
        since = np.where(halved, 0, since + 1)
        x, short, from_a = _next_quantile_point(a, b, ga, gb, sa, sb, since, crept)
    else:
        lo[ev.rows[live]], hi[ev.rows[live]] = a[live], b[live]
    return lo, hi, converged, evals


def _next_quantile_point(a, b, ga, gb, sa, sb, since, crept):
    """Return the step from the better end, or bisection (:func:`solve_quantiles`).

    Returns the point, whether it is a move of a few floats, and whether it
    is taken from ``a``.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        # the end with the smaller residual; an unevaluated one (NaN) loses
        from_a = ~(np.abs(gb) < np.abs(ga)) & ~np.isnan(ga)
        base = np.where(from_a, a, b)
        x = base + np.where(from_a, sa, sb)
        k_base = _float_key(base)
        finite = np.isfinite(x)
        short = finite & (np.abs(_float_key(np.where(finite, x, base)) - k_base) <= 1)
        if short.any():
            hop = np.int64(1) << np.minimum(crept, 62)
            k = k_base + np.where(from_a, hop, -hop)
            x = np.where(short, _from_key(k), x)
        inside = (x > a) & (x < b) & (since < _STALL)
    if not inside.all():
        x = np.where(inside, x, bisect(a, b))
    return x, short & inside, from_a
