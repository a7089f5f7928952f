"""DiscretisedMixture: the law of integer targets, against brute-force sums."""

import itertools
import pickle

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad

from skmdn import DiscretisedMixture, MixtureDistribution
from skmdn.metrics import crps, log_likelihood


def _dist(w, mu, s, squeeze=True):
    w = np.atleast_2d(np.asarray(w, dtype=float))
    mu = np.asarray(mu, dtype=float).reshape(w.shape[0], w.shape[1], -1)
    s = np.asarray(s, dtype=float).reshape(mu.shape)
    return DiscretisedMixture(w, mu, s, squeeze=squeeze and mu.shape[2] == 1)


def _brute_cell(k, mu, s):
    """P(k - 1/2 < T <= k + 1/2) for T ~ N(mu, s**2), from scipy's normal cdf."""
    below = stats.norm.cdf(k + 0.5, mu, s) - stats.norm.cdf(k - 0.5, mu, s)
    above = stats.norm.sf(k - 0.5, mu, s) - stats.norm.sf(k + 0.5, mu, s)
    # each side of the mean where the difference keeps its precision
    return np.where(k > mu, above, below)


def _brute_pmf(w, mu, s, k):
    """P(Y = k) of one 1-D row (k an array)."""
    k = np.asarray(k, dtype=float)[:, None]
    return _brute_cell(k, np.asarray(mu), np.asarray(s)) @ np.asarray(w)


CASES = {
    "three": ([0.2, 0.5, 0.3], [-3.2, 0.4, 6.0], [0.7, 1.5, 3.0]),
    "tiny": ([1.0], [2.2], [1e-3]),  # all mass on 2
    "tiny_pair": ([0.4, 0.6], [-1.1, 4.0], [0.01, 0.02]),
    "wide": ([0.5, 0.5], [10.0, -30.0], [40.0, 120.0]),
    "half": ([1.0], [0.5], [0.3]),  # 0 and 1 tie
}


@pytest.fixture(params=sorted(CASES))
def case(request):
    return CASES[request.param]


def _window(mu, s, width=9.0):
    mu, s = np.asarray(mu), np.asarray(s)
    return np.arange(np.floor((mu - width * s).min()), np.ceil((mu + width * s).max()))


def test_pmf_matches_brute_force_and_sums_to_one(case):
    w, mu, s = case
    dist = _dist([w], [mu], [s])
    k = _window(mu, s)
    one = dist[np.zeros(len(k), dtype=int)]
    pmf = one.pmf(k)
    expected = _brute_pmf(w, mu, s, k)
    big = expected > 1e-250
    np.testing.assert_allclose(pmf[big], expected[big], rtol=1e-9)
    assert abs(pmf.sum() - 1.0) < 1e-12
    np.testing.assert_allclose(one.pdf(k), pmf)
    np.testing.assert_allclose(one.logpdf(k), one.logpmf(k))


def test_logpmf_far_tails_is_finite_and_exact():
    # 40 sigma out either side: the pmf underflows nowhere in logs
    dist = _dist([[1.0]] * 4, [[0.0]] * 4, [[1.0]] * 4)
    k = np.array([-40.0, 40.0, -60.0, 60.0])
    lp = dist.logpmf(k)
    assert np.isfinite(lp).all()
    # log(Phi(-39.5) - Phi(-40.5)) = log Phi(-39.5) + log(1 - Phi(-40.5)/Phi(-39.5))
    ref = stats.norm.logcdf(-39.5) + np.log1p(
        -np.exp(stats.norm.logcdf(-40.5) - stats.norm.logcdf(-39.5))
    )
    np.testing.assert_allclose(lp[:2], ref, rtol=1e-12)
    assert lp[0] == lp[1]
    ref60 = stats.norm.logcdf(-59.5) + np.log1p(
        -np.exp(stats.norm.logcdf(-60.5) - stats.norm.logcdf(-59.5))
    )
    np.testing.assert_allclose(lp[2:], ref60, rtol=1e-12)


def test_logpmf_wide_scale_keeps_relative_precision():
    # sigma = 1e7: the cell mass is the density at its centre, to 1e-13
    dist = _dist([[1.0]] * 3, [[0.0]] * 3, [[1e7]] * 3)
    k = np.array([0.0, 3e7, -5e7])
    z = k / 1e7
    ref = stats.norm.logpdf(z) - np.log(1e7)
    np.testing.assert_allclose(dist.logpmf(k), ref, rtol=1e-12)


def test_non_integer_targets_have_zero_probability():
    dist = _dist([[1.0]] * 4, [[0.0]] * 4, [[1.0]] * 4)
    lp = dist.logpmf([0.5, np.inf, 1.0, np.nan])
    assert lp[0] == -np.inf
    assert lp[1] == -np.inf
    assert np.isfinite(lp[2])
    assert np.isnan(lp[3])
    assert dist.pmf([0.5, 0.0, 1.0, 2.0])[0] == 0.0
    cross = dist[:1].cross_logpdf([0.0, 0.25, 1.0])
    assert cross[0, 1] == -np.inf
    assert np.isfinite(cross[0, [0, 2]]).all()


def test_cross_logpdf_matches_logpdf_and_brute_force():
    w, mu, s = CASES["three"]
    dist = _dist([w, [0.3, 0.3, 0.4]], [mu, [1.0, 2.0, 3.0]], [s, [0.5, 0.5, 0.5]])
    k = np.arange(-12.0, 20.0)
    cross = dist.cross_logpdf(k)
    assert cross.shape == (2, len(k))
    for i in range(2):
        np.testing.assert_allclose(cross[i], dist[[i] * len(k)].logpdf(k), rtol=1e-13)
    np.testing.assert_allclose(np.exp(cross[0]), _brute_pmf(w, mu, s, k), rtol=1e-9)


def test_two_targets_pmf_matches_brute_force():
    w = np.array([[0.3, 0.7]])
    mu = np.array([[[0.2, -1.0], [3.0, 2.5]]])
    s = np.array([[[0.8, 1.2], [0.4, 2.0]]])
    dist = DiscretisedMixture(w, mu, s)
    grid = np.array([[a, b] for a in range(-5, 7) for b in range(-8, 11)], float)
    cell = np.ones((len(grid), 2))
    for j in range(2):
        for d in range(2):
            g = grid[:, d]
            cell[:, j] *= _brute_cell(g, mu[0, j, d], s[0, j, d])
    expected = cell @ w[0]
    got = np.exp(dist.cross_logpdf(grid)[0])
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300)
    rows = dist[np.zeros(len(grid), dtype=int)]
    np.testing.assert_allclose(rows.pmf(grid), expected, rtol=1e-10, atol=1e-300)
    # marginals are discretised mixtures of each target
    second = dist.marginal(1)
    assert isinstance(second, DiscretisedMixture)
    wide = np.array([[a, b] for a in range(-5, 7) for b in range(-25, 30)], float)
    joint = np.exp(dist.cross_logpdf(wide)[0]).reshape(12, 55).sum(0)
    k = np.arange(-25.0, 30.0)
    np.testing.assert_allclose(second[[0] * len(k)].pmf(k), joint, rtol=1e-8)


def test_condition_reweights_by_probabilities():
    w = np.array([[0.3, 0.7]])
    mu = np.array([[[0.2, -1.0], [3.0, 2.5]]])
    s = np.array([[[0.8, 1.2], [0.4, 2.0]]])
    dist = DiscretisedMixture(w, mu, s)
    given = dist.condition(2, dims=0)
    assert isinstance(given, DiscretisedMixture)
    assert given.squeeze
    k = np.arange(-15.0, 20.0)
    joint = dist[[0] * len(k)].pmf(np.column_stack([np.full(len(k), 2.0), k]))
    np.testing.assert_allclose(given[[0] * len(k)].pmf(k), joint / joint.sum(), 1e-9)
    with pytest.raises(ValueError, match="integers"):
        dist.condition(2.5, dims=0)


def test_cdf_is_a_step_function_and_sf_its_tail(case):
    w, mu, s = case
    dist = _dist([w], [mu], [s])
    k = _window(mu, s)
    one = dist[np.zeros(len(k), dtype=int)]
    cdf = one.cdf(k)
    np.testing.assert_allclose(cdf, np.cumsum(one.pmf(k)), atol=1e-13)
    for shift in (0.25, 0.5, 0.999):
        np.testing.assert_array_equal(one.cdf(k + shift), cdf)
    # the upper tail from the survival function, not 1 - cdf
    expected_sf = stats.norm.sf(k[:, None] + 0.5, mu, s) @ np.asarray(w)
    np.testing.assert_allclose(one.sf(k), expected_sf, rtol=1e-12, atol=1e-300)
    far = _dist([[1.0]], [[0.0]], [[1.0]])
    assert far.sf([30.0])[0] == pytest.approx(stats.norm.sf(30.5), rel=1e-12)
    assert far.logsf([30.0])[0] == pytest.approx(stats.norm.logsf(30.5), rel=1e-12)
    assert far.logcdf([-30.0])[0] == pytest.approx(stats.norm.logcdf(-29.5), 1e-12)


def test_ppf_is_the_exact_inverse_of_the_step_cdf(case):
    w, mu, s = case
    q = np.r_[np.linspace(0.001, 0.999, 101), 1e-12, 1 - 1e-12, 0.5]
    dist = _dist([w] * len(q), [mu] * len(q), [s] * len(q))
    k = dist.ppf(q)
    assert (k == np.round(k)).all()
    assert (dist.cdf(k) >= q).all()
    assert (dist.cdf(k - 1) < q).all()
    # and the inverse survival function of the step sf
    k = dist.isf(q)
    assert (k == np.round(k)).all()
    assert (dist.sf(k) <= q).all()
    assert (dist.sf(k - 1) > q).all()
    np.testing.assert_array_equal(dist.ppf(0.0), -np.inf)
    np.testing.assert_array_equal(dist.ppf(1.0), np.inf)


def test_ppf_matches_scipy_rv_discrete():
    k = np.arange(-40, 60)
    w, mu, s = CASES["three"]
    pmf = _brute_pmf(w, mu, s, k)
    ref = stats.rv_discrete(values=(k, pmf / pmf.sum()))
    q = np.linspace(0.01, 0.99, 50)
    dist = _dist([w] * len(q), [mu] * len(q), [s] * len(q))
    np.testing.assert_array_equal(dist.ppf(q), ref.ppf(q))
    levels = dist[:1].quantiles(q)
    np.testing.assert_array_equal(levels[0], ref.ppf(q))


def test_interval_is_closed_and_covers(case):
    w, mu, s = case
    dist = _dist([w], [mu], [s])
    for confidence in (0.5, 0.8, 0.95, 0.999):
        lower, upper = dist.interval(confidence)
        assert lower == np.round(lower)
        assert upper == np.round(upper)
        mass = dist.cdf(upper) - dist.cdf(lower - 1)
        assert mass[0] >= confidence
    lower, upper = dist.interval([0.5, 0.9])
    assert lower.shape == (1, 2)


def test_moments_are_sums_over_the_integers(case):
    w, mu, s = case
    dist = _dist([w], [mu], [s])
    k = _window(mu, s, width=12.0)
    p = _brute_pmf(w, mu, s, k)
    mean = (k * p).sum()
    var = ((k - mean) ** 2 * p).sum()
    scale = max(1.0, abs(mean))
    assert dist.mean()[0] == pytest.approx(mean, abs=1e-11 * scale)
    assert dist.var()[0] == pytest.approx(var, rel=1e-9, abs=1e-14)
    assert dist.std()[0] == pytest.approx(np.sqrt(var), rel=1e-9, abs=1e-7)
    assert dist.moment(2)[0] == pytest.approx((k**2 * p).sum(), rel=1e-10)
    assert dist.moment(3)[0] == pytest.approx((k**3 * p).sum(), rel=1e-9, abs=1e-9)
    _m, _v, sk, ku = dist.stats("mvsk")
    if var > 1e-8:
        c3 = ((k - mean) ** 3 * p).sum() / var**1.5
        c4 = ((k - mean) ** 4 * p).sum() / var**2 - 3
        assert sk[0] == pytest.approx(c3, rel=1e-7, abs=1e-9)
        assert ku[0] == pytest.approx(c4, rel=1e-7, abs=1e-9)
    pos = p > 0
    h = -(p[pos] * np.log(p[pos])).sum()
    assert dist.entropy()[0] == pytest.approx(h, rel=1e-9, abs=1e-12)
    assert dist.expect()[0] == pytest.approx(mean, abs=1e-11 * scale)


def test_discretised_mean_differs_from_the_latent_mean():
    # floor(T + 1/2) of a narrow component off the integers is not unbiased
    dist = _dist([[1.0]], [[0.3]], [[0.2]])
    latent = MixtureDistribution([[1.0]], [[[0.3]]], [[[0.2]]], squeeze=True)
    k = np.arange(-10.0, 11.0)
    expected = (k * _brute_pmf([1.0], [0.3], [0.2], k)).sum()
    assert dist.mean()[0] == pytest.approx(expected, rel=1e-9)
    assert abs(dist.mean()[0] - latent.mean()[0]) > 0.1


def test_expect_with_bounds_and_conditional():
    w, mu, s = CASES["three"]
    dist = _dist([w, w], [mu, mu], [s, s])
    k = np.arange(-2.0, 4.0)  # lb = -2 and ub = 3 are included
    p = _brute_pmf(w, mu, s, k)
    got = dist.expect(lambda x: x**2, lb=-2.0, ub=3.0)
    np.testing.assert_allclose(got, (k**2 * p).sum(), rtol=1e-10)
    got = dist.expect(lambda x: x**2, lb=-2.5, ub=3.5, conditional=True)
    np.testing.assert_allclose(got, (k**2 * p).sum() / p.sum(), rtol=1e-10)
    # per-row bounds
    got = dist.expect(None, lb=[0.0, 1.0], ub=[0.0, 1.0])
    np.testing.assert_allclose(got, [0.0, p[3]], rtol=1e-10)
    with pytest.raises(ValueError, match="lb <= ub"):
        dist.expect(lb=2.0, ub=1.0)
    with pytest.raises(ValueError, match="elementwise"):
        dist.expect(lambda x: x.sum(1))
    with pytest.raises(ValueError, match="no mass"):
        dist.expect(lb=0.2, ub=0.8, conditional=True)


def _numerical_crps(dist, y):
    """int (F(z) - 1{y <= z})**2 dz of the step cdf of a one-row distribution."""
    lo = np.floor(min(dist.ppf(1e-15)[0], y)) - 2
    hi = np.ceil(max(dist.isf(1e-15)[0], y)) + 2

    def f(z):
        return (dist.cdf([z])[0] - (y <= z)) ** 2

    points = np.arange(lo, hi + 1)
    total = 0.0
    for a, b in itertools.pairwise(points):
        mid = [y] if a < y < b else []
        total += quad(f, a, b, points=mid or None, limit=10)[0]
    return total


@pytest.mark.parametrize("y", [0.0, 3.0, -7.0, 2.6, 25.0])
def test_crps_matches_the_integral_of_the_step_cdf(y):
    w, mu, s = CASES["three"]
    dist = _dist([w], [mu], [s])
    got = crps([y], dist)
    assert got == pytest.approx(_numerical_crps(dist, y), rel=1e-7, abs=1e-10)
    if y == round(y):  # the ranked probability score over the integers
        k = np.arange(-60.0, 80.0)
        F = dist[[0] * len(k)].cdf(k)
        assert got == pytest.approx(((F - (y <= k)) ** 2).sum(), rel=1e-10)


def test_crps_of_a_point_mass_is_the_distance():
    dist = _dist([[1.0]], [[2.0]], [[1e-4]])
    assert crps([2.0], dist) == pytest.approx(0.0, abs=1e-12)
    assert crps([7.0], dist) == pytest.approx(5.0, rel=1e-12)
    assert crps([-3.0], dist) == pytest.approx(5.0, rel=1e-12)


def test_log_likelihood_is_a_mean_log_probability():
    dist = _dist([[1.0]] * 2, [[0.0]] * 2, [[1.0]] * 2)
    expected = np.log(stats.norm.cdf(0.5) - stats.norm.cdf(-0.5))
    assert log_likelihood([0.0, 0.0], dist) == pytest.approx(expected, rel=1e-12)


def _brute_modes(p):
    left = np.r_[-1.0, p[:-1]]
    right = np.r_[p[1:], -1.0]
    return np.flatnonzero((p > left) & (p >= right))


@pytest.mark.parametrize(
    "params",
    [
        CASES["three"],
        CASES["tiny_pair"],
        CASES["half"],
        ([0.5, 0.5], [0.0, 3.0], [0.6, 0.6]),
        ([0.3, 0.3, 0.4], [-5.0, 0.0, 9.0], [1.0, 0.3, 2.0]),
    ],
)
def test_modes_and_mode_match_brute_force(params):
    w, mu, s = params
    dist = _dist([w], [mu], [s])
    k = _window(mu, s)
    p = _brute_pmf(w, mu, s, k)
    modes = dist.modes()[0]
    assert sorted(modes.locations) == sorted(k[_brute_modes(p)])
    assert dist.mode()[0] == k[np.argmax(p)]
    assert modes.locations[0] == k[np.argmax(p)]
    np.testing.assert_allclose(
        modes.densities, _brute_pmf(w, mu, s, modes.locations), rtol=1e-9
    )
    assert modes.masses.sum() == pytest.approx(1.0, abs=1e-12)
    # basins: split at the lowest integer between consecutive modes
    locs = np.sort(modes.locations)
    cuts = [
        a + 1 + np.argmin(p[(k > a) & (k <= b)]) for a, b in itertools.pairwise(locs)
    ]
    edges = np.r_[-np.inf, cuts, np.inf]
    basin = [p[(k >= lo) & (k < hi)].sum() for lo, hi in itertools.pairwise(edges)]
    by_loc = dict(zip(modes.locations, modes.masses, strict=True))
    np.testing.assert_allclose([by_loc[x] for x in locs], basin, atol=1e-12)


def test_modes_count_a_plateau_once():
    # mu = 0.5 exactly: pmf(0) == pmf(1); the plateau's mode is its lower end
    dist = _dist([[1.0]], [[0.5]], [[0.3]])
    modes = dist.modes()[0]
    np.testing.assert_array_equal(modes.locations, [0.0])
    assert dist.mode()[0] == 0.0


@pytest.mark.parametrize("confidence", [0.3, 0.6, 0.9, 0.99])
def test_hpd_is_the_smallest_set(case, confidence):
    w, mu, s = case
    dist = _dist([w], [mu], [s])
    sets = dist.hpd(confidence)[0]
    members = np.concatenate([np.arange(a, b + 1) for a, b in sets])
    assert (np.diff(sets.ravel()) >= 0).all()  # sorted and disjoint
    assert (sets[1:, 0] > sets[:-1, 1] + 1).all()  # runs are separated by gaps
    p = _brute_pmf(w, mu, s, members)
    assert p.sum() >= confidence - 1e-12
    # minimal: without its least probable integer the set falls short
    assert p.sum() - p.min() < confidence
    # and no integer outside is more probable than one inside
    k = _window(mu, s)
    outside = np.setdiff1d(k, members)
    assert _brute_pmf(w, mu, s, outside).max(initial=0) <= p.min() * (1 + 1e-9)
    assert (
        len(members)
        == (
            np.cumsum(np.sort(_brute_pmf(w, mu, s, k))[::-1]) < confidence - 1e-12
        ).sum()
        + 1
    )


def test_hpd_of_two_separated_bumps_has_two_runs():
    dist = _dist([[0.5, 0.5]], [[-10.0, 10.0]], [[1.0, 1.0]])
    sets = dist.hpd(0.9)[0]
    assert len(sets) == 2
    assert sets[0, 1] < 0 < sets[1, 0]
    assert dist.hpd(1.0)[0].tolist() == [[-np.inf, np.inf]]
    np.testing.assert_array_equal(dist.hpd(0.0)[0], [[-10.0, -10.0]])


def test_rvs_frequencies_match_the_pmf():
    w, mu, s = CASES["three"]
    dist = _dist([w], [mu], [s])
    draws = dist.rvs(size=20000, random_state=0)[0]
    assert (draws == np.round(draws)).all()
    k = np.arange(-8, 16)
    p = _brute_pmf(w, mu, s, k)
    observed = np.array([(draws == x).sum() for x in k])
    # pool the tails into the end cells
    observed[0] += (draws < k[0]).sum()
    observed[-1] += (draws > k[-1]).sum()
    p[0] += _brute_pmf(w, mu, s, np.arange(-60, k[0])).sum()
    p[-1] += _brute_pmf(w, mu, s, np.arange(k[-1] + 1, 80)).sum()
    expected = p * len(draws)
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, len(k) - 1) > 1e-3
    # the same stream as the latent mixture's draws
    latent = MixtureDistribution(dist.weights, dist.means, dist.scales, squeeze=True)
    latent_draws = latent.rvs(size=50, random_state=3)
    np.testing.assert_array_equal(
        dist.rvs(size=50, random_state=3), np.floor(latent_draws + 0.5)
    )
    assert dist.rvs(random_state=0).shape == (1,)


def test_rows_marginals_and_pickling_keep_the_class():
    w = np.array([[0.3, 0.7], [0.5, 0.5]])
    mu = np.array([[[0.2, -1.0], [3.0, 2.5]], [[1.0, 1.0], [2.0, 2.0]]])
    s = np.ones_like(mu)
    dist = DiscretisedMixture(w, mu, s)
    assert "discretised" in repr(dist)
    for part in (dist[0], dist[:1], dist.marginal(1), dist.marginal([0, 1]), *dist):
        assert type(part) is DiscretisedMixture
    back = pickle.loads(pickle.dumps(dist))
    assert type(back) is DiscretisedMixture
    y = np.array([[0.0, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(back.logpmf(y), dist.logpmf(y))
    built = DiscretisedMixture._from_cov(w, mu, s, False)
    assert type(built) is DiscretisedMixture
    np.testing.assert_array_equal(built.logpmf(y), dist.logpmf(y))


def test_skops_round_trip():
    sio = pytest.importorskip("skops.io")
    from skmdn.interop import skops_trusted_types

    dist = _dist([[0.3, 0.7]], [[0.2, 3.0]], [[0.8, 0.4]])
    data = sio.dumps(dist)
    untrusted = sio.get_untrusted_types(data=data)
    assert set(untrusted) <= set(skops_trusted_types())
    back = sio.loads(data, trusted=untrusted)
    assert type(back) is DiscretisedMixture
    np.testing.assert_array_equal(back.pmf([1.0]), dist.pmf([1.0]))


def test_two_targets_summaries():
    w = np.array([[0.3, 0.7]])
    mu = np.array([[[0.2, -1.0], [3.0, 2.5]]])
    s = np.array([[[0.8, 1.2], [0.4, 2.0]]])
    dist = DiscretisedMixture(w, mu, s)
    grid = np.array([[a, b] for a in range(-8, 10) for b in range(-14, 17)], float)
    p = np.exp(dist.cross_logpdf(grid)[0])
    mean = p @ grid
    np.testing.assert_allclose(dist.mean()[0], mean, rtol=1e-9)
    dev = grid - mean
    cov = (dev * p[:, None]).T @ dev
    np.testing.assert_allclose(dist.cov()[0], cov, rtol=1e-8, atol=1e-12)
    q = dist.ppf([0.3, 0.8])
    assert q.shape == (1, 2)
    assert (q == np.round(q)).all()
    assert dist.cdf([[0.0, 0.0]]).shape == (1, 2)
    with pytest.raises(NotImplementedError, match="marginal"):
        dist.entropy()


def test_non_sensical_calls_raise():
    w = np.array([[0.3, 0.7]])
    mu = np.array([[[0.2, -1.0], [3.0, 2.5]]])
    s = np.ones_like(mu)
    with pytest.raises(ValueError, match="diagonal"):
        DiscretisedMixture(w, mu, scale_tril=np.ones((*mu.shape, 2)))
    with pytest.raises(ValueError, match="diagonal"):
        DiscretisedMixture._from_cov(w, mu, np.ones((*mu.shape, 2)), False)
    dist = DiscretisedMixture(w, mu, s)
    for method in ("hpd", "modes", "mode"):
        with pytest.raises(ValueError, match="single target"):
            getattr(dist, method)(*([0.9] if method == "hpd" else []))
    with pytest.raises(ValueError, match="single target"):
        dist.expect()
    with pytest.raises(NotImplementedError, match="change of variables"):
        dist._with_change(object())
    one = dist.marginal(0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        one.ppf(1.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        one.isf(-0.1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        one.hpd(1.2)
    with pytest.raises(ValueError, match="order"):
        one.moment(1.5)
    with pytest.raises(ValueError, match="mvsk"):
        one.stats("x")
    too_wide = _dist([[1.0]], [[0.0]], [[1e9]])
    with pytest.raises(ValueError, match="too wide"):
        too_wide.moment(3)
    # the mean and variance need no sum over the spread (Sheppard)
    assert too_wide.mean()[0] == 0.0
    assert too_wide.var()[0] == pytest.approx(1e18, rel=1e-15)
    assert np.isfinite(too_wide.logpmf([0.0])).all()  # the pmf itself is fine


def test_large_n_works_in_blocks():
    rng = np.random.default_rng(0)
    n = 3000
    w = rng.dirichlet(np.ones(3), size=n)
    mu = rng.normal(scale=20, size=(n, 3, 1))
    s = np.exp(rng.normal(scale=1.5, size=(n, 3, 1)))
    dist = DiscretisedMixture(w, mu, s, squeeze=True)
    mean = dist.mean()
    # blocks of rows give the answer of the rows alone
    np.testing.assert_allclose(mean[[5, 77, 2999]], dist[[5, 77, 2999]].mean())
    latent = np.einsum("nk,nk->n", w, mu[..., 0])
    assert np.abs(mean - latent).max() < 0.5


def test_skpro_refuses_a_discretised_mixture():
    pytest.importorskip("skpro")
    from skmdn._skpro import SkproMixture

    with pytest.raises(TypeError, match="DiscretisedMixture"):
        SkproMixture.from_mixture(_dist([[1.0]], [[0.0]], [[1.0]]))


@pytest.mark.parametrize("scale", [0.05, 0.7, 2.9, 3.0, 4.0, 40.0])
def test_mean_and_variance_without_the_sums_match_the_sums(scale):
    # Sheppard's moments from a scale of 3 on, sums below: both exact
    rng = np.random.RandomState(0)
    w = rng.dirichlet(np.ones(3), size=4)
    mu = rng.normal(scale=20, size=(4, 3, 1)) + 1e6
    s = np.full((4, 3, 1), scale) * rng.uniform(0.8, 1.25, size=(4, 3, 1))
    dist = DiscretisedMixture(w, mu, s)
    k = np.arange(np.floor(mu.min() - 12 * s.max()), np.ceil(mu.max() + 12 * s.max()))
    for i in range(4):
        p = sum(
            w[i, j]
            * (
                stats.norm.cdf(k + 0.5, mu[i, j, 0], s[i, j, 0])
                - stats.norm.cdf(k - 0.5, mu[i, j, 0], s[i, j, 0])
            )
            for j in range(3)
        )
        mean = (p * (k - 1e6)).sum() + 1e6
        var = (p * (k - mean) ** 2).sum()
        assert dist.mean()[i, 0] == pytest.approx(mean, rel=1e-13, abs=1e-9)
        assert dist.var()[i, 0] == pytest.approx(var, rel=1e-9)


def test_quantiles_of_zero_are_plain_zeros():
    dist = _dist([[1.0]], [[-0.2]], [[0.3]])
    q = np.concatenate([dist.ppf([0.5]), dist.isf([0.5]), *dist.interval(0.5)])
    assert np.all(q == 0.0)
    assert not np.signbit(q).any()
