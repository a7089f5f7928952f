"""Quantiles of 1-D Gaussian mixtures (skmdn._mixture.roots)."""

import mpmath
import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import optimize, stats

from skmdn import MixtureDistribution
from skmdn._mixture import component, roots
from skmdn._mixture.component import Mixture1D


@st.composite
def mixtures_1d(draw, max_k=5, n=3):
    K = draw(st.integers(1, max_k))
    seed = draw(st.integers(0, 2**31 - 1))
    spread = draw(st.floats(0.5, 8.0))
    rng = np.random.RandomState(seed)
    w = rng.dirichlet(np.full(K, 2.0), size=n)
    mu = rng.normal(scale=spread, size=(n, K, 1))
    s = np.exp(rng.uniform(-1.5, 1.0, size=(n, K, 1)))
    return MixtureDistribution(w, mu, s, squeeze=True)


def _norm_dist(mu, sigma):
    mu, sigma = np.atleast_1d(mu), np.atleast_1d(sigma)
    return MixtureDistribution(
        np.ones((mu.size, 1)), mu[:, None, None], sigma[:, None, None], squeeze=True
    )


def test_ppf_matches_scipy_and_inverts_cdf_in_the_tails():
    rng = np.random.RandomState(0)
    mu, sigma = rng.normal(size=6) * 100, np.exp(rng.normal(size=6))
    dist = _norm_dist(mu, sigma)
    for q in (1e-12, 1e-6, 0.3, 0.5, 0.97, 1 - 1e-9):
        assert_allclose(dist.ppf(q), stats.norm.ppf(q, mu, sigma), rtol=1e-8)
    # (far in the upper tail cdf(y) rounds to 1 and loses the information)
    y = mu + sigma * np.array([-7, -3, 0.1, 2, 5, 6])
    assert_allclose(dist.ppf(dist.cdf(y)), y, rtol=1e-8)


@settings(max_examples=40)
@given(mixtures_1d(max_k=8), st.floats(-3, 0))
def test_ppf_inverts_cdf_to_1e8(dist, z):
    # Below the median, where cdf(y) keeps full relative precision. Where the
    # density is nearly zero the cdf is flat and no inverse can recover y
    # better than the rounding of cdf(y) divided by the density allows.
    y = dist.ppf(0.5) + z * dist.std()
    q = dist.cdf(y)
    back = dist.ppf(q)
    conditioning = 4 * np.finfo(float).eps * q / dist.pdf(y)
    ok = q > 0  # a cdf that underflows to 0 carries no information
    err = np.abs(back - y)[ok]
    assert (err <= 1e-8 * np.abs(y[ok]) + conditioning[ok] + 1e-300).all()
    assert_allclose(dist.cdf(back), q, rtol=1e-12)


@settings(max_examples=40)
@given(mixtures_1d(max_k=8), st.floats(1e-6, 0.5))
def test_upper_quantiles_mirror_lower_ones(dist, p):
    # Above the median ppf works on the survival function, so the upper tail
    # is as accurate as the lower one: Q_{-Y}(p) = -Q_Y(1 - p).
    mirror = MixtureDistribution(dist.weights, -dist.means, dist.scales, squeeze=True)
    assert_allclose(mirror.ppf(p), -dist.ppf(1 - p), rtol=1e-8, atol=1e-10)


def test_quantile_speed_is_vectorised():
    # correctness on a large batch; the speed target lives in benchmarks/
    rng = np.random.RandomState(0)
    n, K = 5000, 10
    dist = MixtureDistribution(
        rng.dirichlet(np.ones(K), size=n),
        rng.normal(size=(n, K, 1)),
        np.exp(rng.normal(scale=0.5, size=(n, K, 1))),
        squeeze=True,
    )
    q = np.linspace(0.05, 0.95, 9)
    out = dist._quantiles(np.broadcast_to(q[None, :, None], (n, 9, 1)))[..., 0]
    assert (np.diff(out, axis=1) > 0).all()
    assert_allclose(dist.cdf(out[:, 4]), 0.5, atol=1e-12)


# ------------------------------------- the solver's promise, checked exactly

_TINY = 1e-280  # below it the solver compares the cdf in logs


def _computed_tail(w, mu, s, x):
    """The solver's cdf of rows (w, mu, s) at x: its value, log, and whether in logs."""
    m = Mixture1D(w, mu, s)
    rows = np.arange(len(x))
    z = m.z(rows, x)
    F = m.cdf_z(rows, z)
    with np.errstate(divide="ignore"):
        log_F = np.log(F)
    small = F < _TINY
    if small.any():
        log_F[small] = m.log_cdf_z(rows[small], z[small])
    return F, log_F, small


def _meets_the_promise(w, mu, s, q, y):
    """Whether each ``y`` is what ppf's docstring promises, for the computed cdf.

    Below the median: ``cdf(y) == q``, or ``cdf(y) > q`` and ``cdf < q`` at
    the float below. Above it, mirrored (``x = -y``, survival function
    ``F(x)`` of the mirrored mixture, ``p = 1 - q``): ``F(x) == p``, or
    ``F(x) < p`` and ``F > p`` at the float above ``x``.
    """
    upper = q > 0.5
    sign = np.where(upper, -1.0, 1.0)
    mu = mu * sign[:, None]
    p = np.where(upper, 1.0 - q, q)
    x = y * sign
    nxt = np.nextafter(x, np.where(upper, np.inf, -np.inf))
    F, lF, small = _computed_tail(w, mu, s, x)
    Fn, lFn, small_n = _computed_tail(w, mu, s, nxt)
    lp = np.log(p)

    def cmp(F, lF, small, op):
        return np.where(small, op(lF, lp), op(F, p))

    equal = cmp(F, lF, small, np.equal)
    lower_ok = cmp(F, lF, small, np.greater) & cmp(Fn, lFn, small_n, np.less)
    upper_ok = cmp(F, lF, small, np.less) & cmp(Fn, lFn, small_n, np.greater)
    return equal | np.where(upper, upper_ok, lower_ok)


def _solve(w, mu, s, q):
    w, mu, s = (np.ascontiguousarray(a, dtype=float) for a in (w, mu, s))
    y, evals = roots.ppf(w, mu, s, np.asarray(q, dtype=float), return_evals=True)
    assert np.isfinite(y).all()
    return y, evals


@st.composite
def adversarial_problems(draw, n=6):
    """Rows of 1 to 60 components: tiny and huge scales, far-apart means, spikes."""
    K = draw(st.sampled_from([1, 2, 3, 10, 60]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.dirichlet(np.full(K, draw(st.sampled_from([0.1, 0.5, 3.0]))), size=n)
    log_s = rng.uniform(*draw(st.sampled_from([(-1, 1), (-12, 3), (-6, 6)])), (n, K))
    spread = 10 ** draw(st.sampled_from([0.0, 3.0, 8.0]))
    mu = rng.normal(size=(n, K)) * spread
    if draw(st.booleans()):  # spikes on the means of broad components
        mu[:, : K // 2] = mu[:, K - K // 2 :]
    levels = [1e-12, 1e-6, 0.05, 0.5, 0.95, 1 - 1e-6, 1 - 1e-12]
    q = np.array(
        draw(
            st.lists(
                st.sampled_from(levels) | st.floats(1e-9, 1 - 1e-9),
                min_size=n,
                max_size=n,
            )
        )
    )
    return w, mu, 10**log_s, q


@settings(max_examples=80, deadline=None)
@given(adversarial_problems())
def test_ppf_is_exact_for_the_computed_cdf(problem):
    w, mu, s, q = problem
    y, evals = _solve(w, mu, s, q)
    assert _meets_the_promise(w, mu, s, q, y).all(), (q, y)
    assert (evals <= 120).all(), (evals, q)


def _brentq_quantile(row, q):
    """``row``'s q-quantile by brentq on its log cdf (log sf above the median)."""
    if q <= 0.5:
        resid = lambda x: row.logcdf([x])[0] - np.log(q)
    else:
        resid = lambda x: np.log1p(-q) - row.logsf([x])[0]
    mu, s = row.means[0, :, 0], row.scales[0, :, 0]
    lo, hi = mu.min() - 60 * s.max(), mu.max() + 60 * s.max()
    return optimize.brentq(resid, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps)


def test_ppf_agrees_with_brentq_on_the_mixture_cdf():
    rng = np.random.default_rng(3)
    n, K = 40, 10
    w = rng.dirichlet(np.full(K, 0.5), size=n)
    mu = rng.normal(scale=2.0, size=(n, K))
    s = np.exp(rng.normal(np.log(0.4), 1.0, size=(n, K)))
    for q in (1e-12, 1e-5, 0.05, 0.3, 0.5, 0.7, 0.95, 1 - 1e-5, 1 - 1e-12):
        y, _ = _solve(w, mu, s, np.full(n, q))
        for i in range(n):
            row = MixtureDistribution(
                w[i : i + 1],
                mu[i : i + 1, :, None],
                s[i : i + 1, :, None],
                squeeze=True,
            )
            exact = _brentq_quantile(row, q)
            # the floats where the computed cdf rounds to q, and a few more
            pdf = row.pdf([y[i]])[0]
            slack = 1e-15 * min(q, 1 - q) / pdf + 8 * np.spacing(abs(exact))
            assert abs(y[i] - exact) <= slack, (q, i, y[i], exact, slack)


def test_quantile_solver_evaluation_counts():
    # Regression guard on the solver's work (deterministic, not timed): on
    # the bench's mixtures (K = 10 and 50, Dirichlet(0.5) weights) at the
    # levels of predict_interval and predict_quantiles, on average 5.1 to
    # 5.6 evaluations from the normal's quantile (at most 3 can be avoided:
    # the last Halley step, the point found and its neighbour); the solver
    # with two approximate steps first took 3.4 to 3.8 exact ones, the one
    # before 5.4 to 5.9, and the one before that 8.
    rng = np.random.default_rng(0)
    for K in (10, 50):
        n = 3000
        w = rng.dirichlet(np.full(K, 0.5), size=n)
        mu = rng.normal(scale=2.0, size=(n, K)) + rng.normal(size=(n, 1))
        s = np.exp(rng.normal(np.log(0.4), 0.7, size=(n, K)))
        for q in (0.05, 0.5, 0.95, 1e-12, 1 - 1e-12):
            _, evals = _solve(w, mu, s, np.full(n, q))
            assert evals.mean() < 5.8, (K, q, evals.mean())
            assert evals.max() <= 60, (K, q, evals.max())


def test_ppf_is_exact_with_2000_components():
    rng = np.random.default_rng(5)
    n, K = 8, 2000
    w = rng.dirichlet(np.full(K, 0.3), size=n)
    mu = rng.normal(scale=2.0, size=(n, K))
    s = np.exp(rng.normal(np.log(0.3), 0.5, size=(n, K)))
    for q in (1e-12, 0.05, 0.5, 0.95, 1 - 1e-12):
        qs = np.full(n, q)
        y, evals = _solve(w, mu, s, qs)
        assert _meets_the_promise(w, mu, s, qs, y).all()
        assert evals.max() <= 30


def test_ppf_with_tiny_scales_and_far_apart_components():
    # spikes of scale 1e-12 a million apart, beside a broad component
    w = np.array([[0.3, 0.3, 0.4], [0.5, 0.5 - 1e-9, 1e-9]])
    mu = np.array([[-1e6, 1e6, 0.0], [0.0, 1e-9, 1e8]])
    s = np.array([[1e-12, 1e-12, 1e3], [1e-12, 1e-12, 1.0]])
    for q in (1e-12, 1e-3, 0.2, 0.3, 0.5, 0.7, 0.9, 1 - 1e-12):
        qs = np.full(2, q)
        y, evals = _solve(w, mu, s, qs)
        assert _meets_the_promise(w, mu, s, qs, y).all(), (q, y)
        assert evals.max() <= 80, evals


def test_interval_is_two_ppf_calls():
    rng = np.random.default_rng(2)
    dist = MixtureDistribution(
        rng.dirichlet(np.ones(5), 30),
        rng.normal(size=(30, 5, 2)),
        np.exp(rng.normal(size=(30, 5, 2))),
    )
    lo, hi = dist.interval(0.8)
    np.testing.assert_array_equal(lo, dist.ppf(0.5 - 0.8 / 2))
    np.testing.assert_array_equal(hi, dist.ppf(0.5 + 0.8 / 2))
    levels = np.array([0.5, 0.9])
    lo, hi = dist.interval(levels)
    np.testing.assert_array_equal(lo, dist.quantiles(0.5 - levels / 2))
    np.testing.assert_array_equal(hi, dist.quantiles(0.5 + levels / 2))


def _bench_rows(n, K, seed):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.full(K, 0.5), size=n)
    mu = rng.normal(scale=2.0, size=(n, K)) + rng.normal(size=(n, 1))
    s = np.exp(rng.normal(np.log(0.4), 0.7, size=(n, K)))
    return w, mu, s


def test_ppf_is_exact_at_every_level_and_size():
    # every stage: the deep tails (solve_quantiles alone), the extremes, the
    # levels of the bench, and rows of 1, 2, 10 and 50 components
    levels = np.array([1e-300, 1e-280, 1e-12, 1e-6, 0.05, 0.3, 0.5, 0.5 + 1e-12])
    levels = np.r_[levels, 1 - levels[2:-1]]
    for K, seed in ((1, 1), (2, 2), (10, 3), (50, 4)):
        w, mu, s = _bench_rows(200, K, seed)
        n = len(levels)
        W, MU, S = (np.repeat(a, n, axis=0) for a in (w, mu, s))
        q = np.tile(levels, 200)
        y, _ = _solve(W, MU, S, q)
        assert _meets_the_promise(W, MU, S, q, y).all(), K
        assert (np.diff(y.reshape(200, n)[:, np.argsort(levels)], axis=1) >= 0).all()


def test_ppf_stage_two_solves_what_stage_one_leaves(monkeypatch):
    # problems left after the exact iterations are finished in their brackets
    w, mu, s = _bench_rows(300, 10, 5)
    q = np.tile([1e-9, 0.05, 0.5, 0.95], 75)
    _, evals = _solve(w, mu, s, q)
    for cap in (1, 2, 3):
        monkeypatch.setattr(roots, "_EXACT_ITER", cap)
        y_cap, ev_cap = _solve(w, mu, s, q)
        assert _meets_the_promise(w, mu, s, q, y_cap).all(), cap
        # the solver of stage 2 took over where more than `cap` were needed
        assert (ev_cap[evals > cap] > cap).all()


def test_the_normal_cdf_is_as_accurate_as_ndtr():
    # Phi by torch's erfc (component.cdf, component.sf) against mpmath, where
    # scipy's ndtr is held to the same bound: the argument's rounding
    # dominates below -20 in both (2e-13 relative at -37)
    mpmath.mp.dps = 40
    rng = np.random.default_rng(3)
    z = np.r_[rng.uniform(-37.5, 9, 300), rng.uniform(-0.8, 0.8, 100), 0.0]
    ref_cdf = np.array([float(mpmath.ncdf(v)) for v in z])
    ref_sf = np.array([float(mpmath.ncdf(-v)) for v in z])
    tail = z < -20
    for got, ref in ((component.cdf(z), ref_cdf), (component.sf(-z), ref_cdf)):
        rel = np.abs(got / ref - 1)
        assert rel[tail].max() < 3e-13
        assert rel[~tail & (z < -5)].max() < 1e-13
        assert rel[z >= -5].max() < 1e-14
    assert_allclose(component.sf(z), ref_sf, rtol=3e-13)
    # special values as ndtr, scalars, dtypes, an out= of any layout
    special = np.array([-np.inf, np.inf, np.nan, -0.0, 0.0, -40.0])
    np.testing.assert_array_equal(component.cdf(special), [0, 1, np.nan, 0.5, 0.5, 0])
    assert isinstance(component.cdf(0.25), np.float64)
    assert component.cdf(np.float32([0.25])).dtype == np.float32
    out = np.empty((6, 4))[:, ::2]
    grid = rng.normal(size=(6, 2))
    np.testing.assert_array_equal(component.cdf(grid, out=out), component.cdf(grid))


def test_the_normal_cdf_runs_on_one_thread(monkeypatch):
    # torch would thread erfc over its intra-op pool: the cdf keeps one
    seen = []
    erfc = torch.erfc

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return erfc(*args, **kwargs)

    monkeypatch.setattr(torch, "erfc", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # test code may; the library never does
    try:
        component.cdf(np.linspace(-5, 5, 100_000))
        component.sf(np.linspace(-5, 5, 1_000))
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 1]


def test_public_cdf_and_sf_keep_the_promise_for_several_targets():
    # each target's public cdf (sf above the median) is its 1-D mixture's, to
    # the bit, so ppf's answers are exact for it too (the sum over components
    # of (n, K, D) arrays once rounded differently from the solver's rows)
    rng = np.random.default_rng(6)
    n, K, D = 400, 12, 3
    w = rng.dirichlet(np.full(K, 0.5), n)
    mu = rng.normal(scale=2.0, size=(n, K, D))
    s = np.exp(rng.normal(np.log(0.4), 0.7, size=(n, K, D)))
    dist = MixtureDistribution(w, mu, s)
    for q in (1e-9, 0.05, 0.3, 0.5, 0.7, 0.95, 1 - 1e-9):
        y = dist.ppf(q)
        below = np.nextafter(y, -np.inf)
        if q <= 0.5:
            F, Fb = dist.cdf(y), dist.cdf(below)
            assert ((F == q) | ((F > q) & (Fb < q))).all(), q
        else:
            S, Sb = dist.sf(y), dist.sf(below)
            assert ((S == 1 - q) | ((S < 1 - q) & (Sb > 1 - q))).all(), q


def test_the_normal_cdf_of_an_element_does_not_depend_on_its_array():
    # what the solver's bit-identity with the public cdf rests on: a value
    # is the same alone, in a long array, at any offset, in either function
    rng = np.random.default_rng(8)
    z = np.r_[rng.normal(scale=6, size=5000), rng.uniform(-40, 10, 5000)]
    whole = component.cdf(z)
    alone = np.array([component.cdf(np.array([v]))[0] for v in z[::97]])
    np.testing.assert_array_equal(alone, whole[::97])
    for offset in (1, 3, 7):
        np.testing.assert_array_equal(component.cdf(z[offset:]), whole[offset:])
    np.testing.assert_array_equal(component.sf(-z), whole)


def test_the_weighted_sum_of_a_row_does_not_depend_on_its_batch():
    rng = np.random.default_rng(9)
    for K in (1, 2, 9, 10, 50, 2000):
        w, t = rng.random((40, K)), rng.random((40, K))
        whole = component.weighted_sum(w, t)
        for i in (0, 17, 39):
            np.testing.assert_array_equal(
                component.weighted_sum(w[i : i + 1], t[i : i + 1]), whole[i : i + 1]
            )
        # a strided view is taken contiguous first, and sums as its copy
        wide = np.repeat(t, 2, axis=1)[:, ::2]
        np.testing.assert_array_equal(component.weighted_sum(w, wide), whole)
