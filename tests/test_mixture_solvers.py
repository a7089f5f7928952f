"""Quantile, mode and highest-density solvers on mixtures of wildly different scales.

Every check is against an independent computation: scipy's normal cdf and
log-density, evaluated on a fine grid that resolves every component.
"""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import optimize, stats
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from skmdn import MixtureDistribution
from skmdn._mixture import _blocks, critical, hpd, roots


@st.composite
def wild_mixtures(draw, max_k=8, n=3):
    """1-D mixtures with scales from 1e-3 to 1e3 and means at any of those scales."""
    K = draw(st.integers(1, max_k))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    alpha = draw(st.sampled_from([0.3, 1.0, 3.0]))
    w = rng.dirichlet(np.full(K, alpha), size=n)
    log_s = rng.uniform(-3, 3, size=(n, K))
    if K > 1:  # both extremes in every row
        log_s[:, :2] = [-3, 3]
        log_s = rng.permuted(log_s, axis=1)
    mu = rng.normal(size=(n, K)) * 10 ** rng.uniform(-3, 3, size=(n, K))
    if draw(st.booleans()):  # narrow components on the means of broad ones
        half = K // 2
        mu[:, :half] = mu[:, K - half :]
        narrow = np.minimum(log_s[:, :half], log_s[:, K - half :] - 1)
        log_s[:, :half] = np.maximum(narrow, -3)
    return MixtureDistribution(w, mu[..., None], 10 ** log_s[..., None], squeeze=True)


def _row(dist, i):
    return dist.weights[i], dist.means[i, :, 0], dist.scales[i, :, 0]


def _logpdf(dist, i, x):
    w, mu, s = _row(dist, i)
    z = (x[:, None] - mu) / s
    with np.errstate(divide="ignore"):
        log_terms = np.log(w / s) - 0.5 * z * z - 0.5 * np.log(2 * np.pi)
    return logsumexp(log_terms, axis=1)


def _tails(dist, i, x):
    """Lower and upper tail probabilities, each to full relative precision."""
    w, mu, s = _row(dist, i)
    return (
        (w * stats.norm.cdf(x[:, None], mu, s)).sum(1),
        (w * stats.norm.sf(x[:, None], mu, s)).sum(1),
    )


def _fine_grid(dist, i):
    """Points resolving every component (1/100 sd apart) and the gaps between."""
    _, mu, s = _row(dist, i)
    near = (mu[:, None] + s[:, None] * np.linspace(-10, 10, 2001)).ravel()
    span = np.linspace(mu.min(), mu.max(), 20001)
    return np.unique(np.r_[near, span])


def _tol(logp):
    # rounding of a log-density of this size, with room
    return 1e-12 * np.maximum(1.0, np.abs(logp))


# ----------------------------------------------------------------- quantiles


@settings(max_examples=60)
@given(
    wild_mixtures(),
    st.lists(st.floats(1e-6, 1 - 1e-6), min_size=1, max_size=12, unique=True),
)
def test_ppf_inverts_the_cdf_and_is_monotone(dist, qs):
    q = np.sort(qs)
    y = np.column_stack([dist.ppf(v) for v in q])  # (n, levels)
    assert (np.diff(y, axis=1) >= 0).all()
    for i in range(len(dist)):
        lower, upper = _tails(dist, i, y[i])
        pdf = np.exp(_logpdf(dist, i, y[i]))
        # the documented bound: the density times the spacing of the floats
        # at y, plus the rounding of the cdf in the tail q lies in
        bound = 1e-13 * np.minimum(q, 1 - q) + 4 * pdf * np.abs(np.spacing(y[i]))
        resid = np.where(q <= 0.5, lower - q, (1 - q) - upper)
        assert (np.abs(resid) <= bound).all(), (q, y[i], resid, bound)


def test_ppf_of_a_narrow_and_broad_mixture():
    # Newton alternated between two points here and returned -1.607 (cdf 0.671)
    dist = MixtureDistribution(
        [[0.04, 0.43, 0.53]],
        [[[-1.7], [-2.5], [-1.2]]],
        [[[0.04], [0.065], [1.337]]],
        squeeze=True,
    )
    w, mu, s = _row(dist, 0)
    exact = optimize.brentq(
        lambda x: (w * stats.norm.cdf(x, mu, s)).sum() - 0.63, -10, 10, xtol=1e-15
    )
    assert_allclose(dist.ppf(0.63), [exact], rtol=1e-13)
    assert_allclose(exact, -1.7144, atol=1e-4)
    assert_allclose(dist.cdf(dist.ppf(0.63)), [0.63], rtol=1e-14)


def test_quantile_grid_is_monotone_on_spiky_rows():
    rng = np.random.RandomState(0)
    n, K = 400, 10
    dist = MixtureDistribution(
        rng.dirichlet(np.ones(K), size=n),
        rng.normal(size=(n, K, 1)),
        10 ** rng.uniform(-3, 0.5, size=(n, K, 1)),
        squeeze=True,
    )
    q = np.linspace(0.01, 0.99, 99)
    y = dist._quantiles(np.broadcast_to(q[None, :, None], (n, 99, 1)))[..., 0]
    assert (np.diff(y, axis=1) >= 0).all()
    cdf = stats.norm.cdf(
        y[..., None], dist.means[:, None, :, 0], dist.scales[:, None, :, 0]
    )
    cdf = (dist.weights[:, None] * cdf).sum(-1)
    assert_allclose(cdf, np.broadcast_to(q, (n, 99)), rtol=0, atol=1e-13)


# --------------------------------------------------------------------- modes


def _check_critical_points(dist, i):
    """Modes and antimodes against a fine grid of the exact log-density."""
    w, mu, s = _row(dist, i)
    modes, n_modes, anti = critical.sorted_critical_points(w[None], mu[None], s[None])
    modes, anti = modes[0, : n_modes[0]], anti[0, : n_modes[0] - 1]
    assert (np.diff(modes) > 0).all()
    assert ((modes[:-1] < anti) & (anti < modes[1:])).all()
    x = _fine_grid(dist, i)
    logp = _logpdf(dist, i, x)
    # Each mode is the highest point of its basin, each antimode the lowest
    # point between its modes.
    cuts = np.r_[-np.inf, anti, np.inf]
    at_modes = _logpdf(dist, i, modes)
    for j in range(len(modes)):
        basin = (x >= cuts[j]) & (x <= cuts[j + 1])
        assert logp[basin].max() <= at_modes[j] + _tol(at_modes[j])
    at_anti = _logpdf(dist, i, anti)
    for j in range(len(anti)):
        between = (x >= modes[j]) & (x <= modes[j + 1])
        assert logp[between].min() >= at_anti[j] - _tol(at_anti[j])
    # Every local maximum on the grid (beyond rounding) lies next to a mode.
    rise = np.diff(logp) > _tol(logp[1:])
    fall = -np.diff(logp) > _tol(logp[:-1])
    peaks = np.flatnonzero(rise[:-1] & fall[1:]) + 1
    for k in peaks:
        assert ((modes >= x[k - 1]) & (modes <= x[k + 1])).any(), x[k]
    return modes, at_modes, logp.max()


@settings(max_examples=60)
@given(wild_mixtures())
def test_every_mode_is_found_and_mode_is_the_highest(dist):
    mode = dist.mode()
    found = dist.modes()
    for i in range(len(dist)):
        modes, at_modes, grid_max = _check_critical_points(dist, i)
        assert_allclose(np.sort(found[i].locations), modes, rtol=0, atol=0)
        at_mode = _logpdf(dist, i, mode[i : i + 1])[0]
        assert at_mode >= grid_max - _tol(grid_max)
        assert at_mode == at_modes.max()
        assert_allclose(found[i].masses.sum(), 1.0, rtol=1e-12)


SPIKES = ([0, 1.8, 0, 1.8], [1, 1, 0.05, 0.05])


def test_the_mode_between_two_spikes_is_found():
    # symmetric about 0.9, with modes near 0, at 0.9 and near 1.8; hill-climbs
    # from the component means stop at the spikes and missed 0.9
    dist = MixtureDistribution(
        [[0.45, 0.45, 0.05, 0.05]],
        np.array(SPIKES[0])[None, :, None],
        np.array(SPIKES[1])[None, :, None],
        squeeze=True,
    )
    (modes,) = dist.modes()
    assert_allclose(np.sort(modes.locations), [0.0004005, 0.9, 1.7995995], atol=1e-6)
    assert_allclose(modes.locations[[0, 1]].sum(), 1.8, atol=1e-12)  # symmetric
    _check_critical_points(dist, 0)


def test_the_global_mode_between_two_spikes():
    dist = MixtureDistribution(
        [[0.498, 0.498, 0.002, 0.002]],
        np.array(SPIKES[0])[None, :, None],
        np.array(SPIKES[1])[None, :, None],
        squeeze=True,
    )
    assert_allclose(dist.mode(), [0.9], atol=1e-12)
    assert_allclose(dist.pdf(dist.mode()), [0.26502], atol=1e-5)


# ----------------------------------------------------------------------- HPD


def _check_hpd(dist, i, sets, confidence):
    lower, upper = _tails(dist, i, sets.ravel())
    # mass from both tails, each exact, whichever is smaller
    lower, upper = lower.reshape(-1, 2), upper.reshape(-1, 2)
    mass = np.where(
        sets[:, 1] <= 0, lower[:, 1] - lower[:, 0], upper[:, 0] - upper[:, 1]
    ).sum()
    # 1e-9, or the density times the spacing of the floats at the ends
    grain = np.exp(_logpdf(dist, i, sets.ravel())) * np.spacing(np.abs(sets.ravel()))
    assert abs(mass - confidence) <= 1e-9 + 4 * grain.sum()
    assert (sets[:, 1] > sets[:, 0]).all()
    assert (sets[1:, 0] > sets[:-1, 1]).all()
    # and against 5-point Gauss-Legendre on each cell of a fine grid
    x = _fine_grid(dist, i)
    nodes, weights = np.polynomial.legendre.leggauss(5)
    by_grid = 0.0
    for a, b in sets:
        xs = np.r_[a, x[(x > a) & (x < b)], b]
        mid, half = 0.5 * (xs[1:] + xs[:-1]), 0.5 * np.diff(xs)
        at = (mid[:, None] + half[:, None] * nodes).ravel()
        dens = np.exp(_logpdf(dist, i, at)).reshape(-1, 5)
        by_grid += (dens @ weights * half).sum()
    assert abs(by_grid - confidence) <= 1e-9
    # a level set: the density at every end is the same level, higher inside
    # and lower outside (on a fine grid)
    log_ends = _logpdf(dist, i, sets.ravel())
    level = log_ends.mean()
    assert_allclose(log_ends, level, rtol=0, atol=1e-9)
    x = _fine_grid(dist, i)
    logp = _logpdf(dist, i, x)
    inside = ((x[:, None] >= sets[:, 0]) & (x[:, None] <= sets[:, 1])).any(1)
    assert (logp[inside] >= level - 1e-9).all()
    assert (logp[~inside] <= level + 1e-9).all()


@settings(max_examples=50)
@given(wild_mixtures(), st.floats(0.01, 0.99))
def test_hpd_is_the_level_set_holding_the_mass(dist, confidence):
    for i, sets in enumerate(dist.hpd(confidence)):
        _check_hpd(dist, i, sets, confidence)


def test_hpd_around_two_spikes_has_three_intervals():
    dist = MixtureDistribution(
        [[0.45, 0.45, 0.05, 0.05]],
        np.array(SPIKES[0])[None, :, None],
        np.array(SPIKES[1])[None, :, None],
        squeeze=True,
    )
    (sets,) = dist.hpd(0.3)
    assert_allclose(sets, [[-0.113, 0.127], [0.694, 1.106], [1.673, 1.913]], atol=1e-3)
    assert_allclose(sets[0] + sets[2][::-1], 1.8, atol=1e-12)  # symmetric
    _check_hpd(dist, 0, sets, 0.3)


# --------------------------------------------------------- batch and blocks


def _per_row(dist, confidence=0.5, q=0.3):
    """Each row's answers, from one call of each method on the whole batch."""
    lo, hi, mode = dist.ppf(q), dist.ppf(1 - q), dist.mode()
    modes, sets = dist.modes(), dist.hpd(confidence)
    return [[lo[i], hi[i], mode[i], *modes[i], sets[i]] for i in range(len(dist))]


def _assert_same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b, strict=True):
        assert_array_equal(u, v)


@settings(max_examples=30)
@given(wild_mixtures(n=4), st.floats(0.05, 0.95), st.floats(1e-6, 0.5))
def test_a_row_does_not_depend_on_its_batch(dist, confidence, q):
    whole = _per_row(dist, confidence, q)
    reverse = _per_row(dist[::-1], confidence, q)[::-1]
    for i in range(len(dist)):
        (alone,) = _per_row(dist[i], confidence, q)
        _assert_same(whole[i], alone)
        _assert_same(whole[i], reverse[i])


def test_blocks_give_the_unblocked_answers(monkeypatch):
    rng = np.random.RandomState(1)
    n, K = 40, 6
    dist = MixtureDistribution(
        rng.dirichlet(np.ones(K), size=n),
        rng.normal(size=(n, K, 1)),
        10 ** rng.uniform(-2, 0.5, size=(n, K, 1)),
        squeeze=True,
    )
    multi = MixtureDistribution(
        dist.weights, rng.normal(size=(n, K, 2)), np.exp(rng.normal(size=(n, K, 2)))
    )

    def answers():
        rows = _per_row(dist)
        return [a for row in rows for a in row] + [
            multi.mode(),
            *[m.locations for m in multi.modes()],
        ]

    before = answers()
    monkeypatch.setattr(_blocks, "BUDGET", 3 * K)  # blocks of one row
    monkeypatch.setattr(_blocks, "CHUNK", 2 * K)  # of two cells, 8 quantiles
    _assert_same(before, answers())


# ------------------------------------------------------------------ warnings


def _convergence_warnings(func):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        func()
    return " ".join(
        str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)
    )


def test_solvers_warn_when_they_miss_their_tolerance(monkeypatch):
    dist = MixtureDistribution(
        [[0.45, 0.45, 0.05, 0.05]],
        np.array(SPIKES[0])[None, :, None],
        np.array(SPIKES[1])[None, :, None],
        squeeze=True,
    )
    solve_all = lambda: (dist.ppf(0.3), dist.modes(), dist.hpd(0.3))
    assert _convergence_warnings(solve_all) == ""
    with monkeypatch.context() as patch:
        patch.setattr(roots, "MAX_ITER", 2)
        # (ppf's own iterations end at _EXACT_ITER; what they leave goes to
        # the iteration that MAX_ITER caps)
        patch.setattr(roots, "_EXACT_ITER", 1)
        found = _convergence_warnings(lambda: dist.ppf(0.3))
        assert "1 of 1 quantiles did not converge in 2 iterations" in found
        found = _convergence_warnings(dist.modes)
        assert "critical points did not converge in 2 iterations" in found
    with monkeypatch.context() as patch:
        patch.setattr(critical, "_MAX_DEPTH", 1)
        assert "were not resolved after 1 halvings" in _convergence_warnings(dist.modes)
    with monkeypatch.context() as patch:
        patch.setattr(hpd, "_HPD_TOL", -1.0)  # (no mass is held to it)
        found = _convergence_warnings(lambda: dist.hpd(0.3))
        assert "of 1 rows hold their mass only to" in found
