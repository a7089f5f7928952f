"""Changes of variables of the target (skmdn._mixture.change) against scipy."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import integrate, stats
from scipy.special import expit, logit

from skmdn import MixtureDistribution
from skmdn._mixture.change import IDENTITY, Change, Log, Logit
from skmdn._mixture.density import logpdf as mixture_logpdf
from skmdn._mixture.tilt import tilted

MU = np.array([-0.5, 0.0, 1.2])
SIGMA = np.array([0.3, 0.5, 0.8])


def _normal(mu=MU, sigma=SIGMA):
    n = len(mu)
    return MixtureDistribution(
        np.ones((n, 1)), mu[:, None, None], sigma[:, None, None], squeeze=True
    )


def _lognormal(lower=0.0):
    return _normal()._with_change(Log(lower=lower)), stats.lognorm(
        s=SIGMA, scale=np.exp(MU), loc=lower
    )


@pytest.mark.parametrize("lower", [0.0, -2.5])
def test_log_of_a_gaussian_is_scipys_lognormal(lower):
    dist, ref = _lognormal(lower)
    y = lower + np.array([0.2, 1.0, 3.5])
    assert_allclose(dist.logpdf(y), ref.logpdf(y), rtol=1e-12)
    assert_allclose(dist.pdf(y), ref.pdf(y), rtol=1e-12)
    assert_allclose(dist.cdf(y), ref.cdf(y), rtol=1e-12)
    assert_allclose(dist.sf(y), ref.sf(y), rtol=1e-12)
    assert_allclose(dist.logcdf(y), ref.logcdf(y), rtol=1e-12)
    assert_allclose(dist.logsf(y), ref.logsf(y), rtol=1e-12)
    for q in (1e-9, 0.1, 0.5, 0.9, 1 - 1e-9):
        assert_allclose(dist.ppf(q), ref.ppf(q), rtol=1e-12)
        assert_allclose(dist.isf(q), ref.isf(q), rtol=1e-12)
    assert_allclose(dist.interval(0.8), ref.interval(0.8), rtol=1e-12)
    assert_allclose(dist.median(), ref.median(), rtol=1e-12)
    assert_allclose(dist.quantiles([0.25, 0.75]), ref.ppf([[0.25], [0.75]]).T)


def test_log_moments_entropy_and_expectations_by_quadrature():
    dist, ref = _lognormal(1.0)
    assert_allclose(dist.mean(), ref.mean(), rtol=1e-10)
    assert_allclose(dist.var(), ref.var(), rtol=1e-9)
    assert_allclose(dist.std(), ref.std(), rtol=1e-9)
    assert_allclose(dist.cov()[:, 0, 0], ref.var(), rtol=1e-9)
    m, v, s, k = dist.stats("mvsk")
    m_ref, v_ref, s_ref, k_ref = ref.stats("mvsk")
    assert_allclose([m, v, s, k], [m_ref, v_ref, s_ref, k_ref], rtol=1e-7)
    assert_allclose(dist.moment(2), ref.moment(2), rtol=1e-9)
    assert_allclose(dist.entropy(), ref.entropy(), rtol=1e-9)
    rows = [stats.lognorm(s=SIGMA[i], scale=np.exp(MU[i]), loc=1.0) for i in range(3)]
    expected = [row.expect(np.sqrt) for row in rows]
    assert_allclose(dist.expect(np.sqrt), expected, rtol=1e-9)
    expected = [row.expect(lb=1.5, ub=3.0, conditional=True) for row in rows]
    assert_allclose(dist.expect(lb=1.5, ub=3.0, conditional=True), expected, rtol=1e-8)


def test_log_crps_matches_the_closed_form():
    # Baran and Lerch (2015), for a log-normal without shift
    dist, _ = _lognormal(0.0)
    y = np.array([0.3, 1.0, 6.0])
    z = (np.log(y) - MU) / SIGMA
    expected = y * (2 * stats.norm.cdf(z) - 1) - 2 * np.exp(MU + SIGMA**2 / 2) * (
        stats.norm.cdf(z - SIGMA) + stats.norm.cdf(SIGMA / np.sqrt(2)) - 1
    )
    assert_allclose(dist._crps(y[:, None])[:, 0], expected, rtol=1e-9)
    # below the support, |Y - y| = Y - y
    below = dist._crps(np.full((3, 1), -1.0))[:, 0]
    assert_allclose(below - dist._crps(np.zeros((3, 1)))[:, 0], 1.0, rtol=1e-9)


def test_log_with_an_upper_bound_mirrors_the_lognormal():
    dist = _normal()._with_change(Log(upper=2.0))
    ref = stats.lognorm(s=SIGMA, scale=np.exp(-MU))  # of 2 - Y = exp(-T)
    y = np.array([1.5, 0.0, -4.0])
    assert_allclose(dist.logpdf(y), ref.logpdf(2.0 - y), rtol=1e-12)
    assert_allclose(dist.cdf(y), ref.sf(2.0 - y), rtol=1e-12)
    assert_allclose(dist.ppf(0.3), 2.0 - ref.ppf(0.7), rtol=1e-12)
    assert_allclose(dist.mean(), 2.0 - ref.mean(), rtol=1e-10)
    assert_array_equal(dist.cdf([2.0, 2.0, 3.0]), 1.0)
    assert_array_equal(dist.ppf(1.0), 2.0)


def _logit_normal(a, b, w, mu, sigma, y):
    """Density and cdf of a mixture of logit-normals on (a, b), by hand."""
    t = logit((y - a) / (b - a))
    jac = (b - a) / ((y - a) * (b - y))
    pdf = (w * stats.norm.pdf(t[:, None], mu, sigma)).sum(1) * jac
    cdf = (w * stats.norm.cdf(t[:, None], mu, sigma)).sum(1)
    return pdf, cdf


def test_logit_of_a_mixture_is_the_logit_normal_mixture():
    a, b = -1.0, 3.0
    w, mu, sigma = np.array([0.3, 0.7]), np.array([-1.0, 0.8]), np.array([0.5, 1.1])
    n = 4
    dist = MixtureDistribution(
        np.tile(w, (n, 1)),
        np.tile(mu[:, None], (n, 1, 1)),
        np.tile(sigma[:, None], (n, 1, 1)),
        squeeze=True,
    )._with_change(Logit(a, b))
    y = np.array([-0.999, 0.0, 1.7, 2.99])
    pdf, cdf = _logit_normal(a, b, w, mu, sigma, y)
    assert_allclose(dist.pdf(y), pdf, rtol=1e-12)
    assert_allclose(dist.logpdf(y), np.log(pdf), rtol=1e-12)
    assert_allclose(dist.cdf(y), cdf, rtol=1e-12)
    q = np.array([1e-6, 0.2, 0.5, 0.95])
    back = dist.ppf(q)
    assert_allclose(_logit_normal(a, b, w, mu, sigma, back)[1], q, rtol=1e-12)
    # one component: the quantile in closed form
    one = dist.marginal(0)  # still the same change
    assert repr(one).endswith("change=Logit(lower=-1.0, upper=3.0))")
    single = _normal()._with_change(Logit(a, b))
    expected = a + (b - a) * expit(MU + SIGMA * stats.norm.ppf(0.3))
    assert_allclose(single.ppf(0.3), expected, rtol=1e-12)
    # the mean against adaptive quadrature of y p(y)
    ref = integrate.quad(
        lambda v: v * _logit_normal(a, b, w, mu, sigma, np.array([v]))[0][0], a, b
    )[0]
    assert_allclose(dist.mean(), ref, rtol=1e-9)


@pytest.mark.parametrize("change", [Log(lower=0.0), Logit(0.0, 1.0)])
def test_no_mass_outside_the_support(change):
    dist = _normal()._with_change(change)
    lower, upper = change.support()
    assert_array_equal(dist.cdf(lower), 0.0)
    assert_array_equal(dist.cdf(lower - 1.0), 0.0)
    assert_array_equal(dist.sf(lower), 1.0)
    assert_array_equal(dist.logcdf(lower), -np.inf)
    assert_array_equal(dist.logsf(lower - 1.0), 0.0)
    assert_array_equal(dist.logpdf(np.full(3, lower - 0.5)), -np.inf)
    assert_array_equal(dist.pdf(np.full(3, lower)), 0.0)
    assert_array_equal(dist.ppf(0.0), lower)
    assert_array_equal(dist.ppf(1.0), upper)
    assert_array_equal(dist.support()[0], lower)
    assert_array_equal(dist.support()[1], upper)
    if np.isfinite(upper):
        assert_array_equal(dist.cdf(upper), 1.0)
        assert_array_equal(dist.cdf(upper + 1.0), 1.0)
        assert_array_equal(dist.sf(upper), 0.0)
        assert_array_equal(dist.logcdf(upper), 0.0)
        assert_array_equal(dist.logpdf(np.full(3, upper)), -np.inf)
    draws = dist.rvs(size=1000, random_state=0)
    assert ((draws > lower) & (draws < upper)).all()


def test_draws_follow_the_changed_law():
    dist, _ = _lognormal(0.0)
    draws = dist.rvs(size=4000, random_state=0)
    for i in range(3):
        row = stats.lognorm(s=SIGMA[i], scale=np.exp(MU[i]))
        assert stats.kstest(draws[i], row.cdf).pvalue > 1e-3


def test_identity_changes_nothing():
    rng = np.random.RandomState(0)
    dist = MixtureDistribution(
        rng.dirichlet(np.ones(3), size=4),
        rng.normal(size=(4, 3, 2)),
        np.exp(rng.normal(size=(4, 3, 2))),
    )
    same = dist._with_change(IDENTITY)
    assert repr(same) == repr(dist)
    assert set(dist.__getstate__()) == {
        "means",
        "scale_tril",
        "scales",
        "squeeze",
        "weights",
    }
    y = rng.normal(size=(4, 2))
    for name in ("logpdf", "cdf", "sf", "ppf", "mean", "var", "entropy"):
        arg = (
            () if name in ("mean", "var", "entropy") else (0.3 if name == "ppf" else y,)
        )
        assert_array_equal(getattr(same, name)(*arg), getattr(dist, name)(*arg))


def test_the_change_travels_with_rows_marginals_conditionals_and_pickles():
    rng = np.random.RandomState(1)
    dist = MixtureDistribution(
        rng.dirichlet(np.ones(2), size=3),
        rng.normal(size=(3, 2, 2)),
        np.exp(rng.normal(scale=0.3, size=(3, 2, 2))),
    )._with_change(Log(lower=0.0))
    y = np.exp(rng.normal(size=(3, 2)))
    assert_allclose(dist[1].logpdf(y[1:2]), dist.logpdf(y)[1:2])
    plain = MixtureDistribution(dist.weights, dist.means, dist.scales)
    # the joint density is the t-density times both Jacobians
    expected = plain.logpdf(np.log(y)) - np.log(y).sum(1)
    assert_allclose(dist.logpdf(y), expected, rtol=1e-12)
    assert_allclose(
        dist.marginal(1).cdf(y[:, 1]), plain.marginal(1).cdf(np.log(y[:, 1]))
    )
    given = dist.condition(y[:, 0], dims=0)
    assert_allclose(
        given.ppf(0.4), np.exp(plain.condition(np.log(y[:, 0]), dims=0).ppf(0.4))
    )
    with pytest.raises(ValueError, match="support"):
        dist.condition(-1.0, dims=0)
    back = pickle.loads(pickle.dumps(dist))
    assert repr(back) == repr(dist)
    assert_array_equal(back.cdf(y), dist.cdf(y))
    # H(Y) = H(T) - E[log g'(Y)] = H(T) + E[T_1 + T_2] for the log
    assert_allclose(dist.entropy(), plain.entropy() + plain.mean().sum(1), rtol=1e-10)


def test_grid_hpd_of_a_lognormal_holds_its_mass():
    dist, ref = _lognormal(0.0)
    (sets,) = dist._grid_hpd([0.8])
    for i, intervals in enumerate(sets):
        mass = sum(ref.cdf(b)[i] - ref.cdf(a)[i] for a, b in intervals)
        assert abs(mass - 0.8) < 0.01
        # a level set: the density is (nearly) equal at the ends
        ends = intervals.ravel()
        dens = stats.lognorm.pdf(ends, s=SIGMA[i], scale=np.exp(MU[i]))
        assert_allclose(dens, dens[0], rtol=0.05)


# ------------------------------------------- modes and highest-density sets


def _rows(w, mu, s, change):
    """A one-target distribution of rows (w, mu, s) of shape (n, K) under change."""
    w, mu, s = (np.atleast_2d(np.asarray(a, dtype=float)) for a in (w, mu, s))
    return MixtureDistribution(
        w / w.sum(1, keepdims=True), mu[..., None], s[..., None], squeeze=True
    )._with_change(change)


def _dense(dist, i, n_grid=200_001):
    """Row i's density of y on a dense grid: its local maxima and minima.

    The grid is uniform in t = g(y) over the row's mixture (mapped to y by
    g^{-1}), so that it resolves modes close to a bound too; the density is
    the distribution's own pdf of y, Jacobian included.
    """
    w, mu, s = dist.weights[i], dist.means[i, :, 0], dist.scales[i, :, 0]
    t = np.linspace((mu - 12 * s - s * s).min(), (mu + 12 * s + s * s).max(), n_grid)
    y = dist._change.inverse(t)
    rep = MixtureDistribution(
        np.tile(w, (n_grid, 1)),
        np.tile(mu[:, None], (n_grid, 1, 1)),
        np.tile(s[:, None], (n_grid, 1, 1)),
        squeeze=True,
    )._with_change(dist._change)
    p = rep.pdf(y)
    inner = np.arange(1, n_grid - 1)
    peak = inner[(p[inner] > p[inner - 1]) & (p[inner] >= p[inner + 1])]
    dip = inner[(p[inner] < p[inner - 1]) & (p[inner] <= p[inner + 1])]
    return y, p, peak, dip, t[1] - t[0]


_CASES = [
    # (change, weights, means, scales) of one row each
    (Log(lower=0.0), [1.0], [0.3], [0.6]),
    (Log(lower=0.0), [0.4, 0.6], [-1.0, 1.0], [0.4, 0.7]),
    (Log(lower=-2.0), [0.3, 0.3, 0.4], [-0.5, 0.8, 2.0], [0.9, 0.3, 0.5]),
    (Log(upper=2.0), [0.5, 0.5], [-0.5, 1.5], [0.6, 0.3]),
    (Logit(0.0, 1.0), [1.0], [0.0], [2.0]),  # one Gaussian, two modes of y
    (Logit(-1.0, 3.0), [0.3, 0.7], [-1.0, 0.8], [0.5, 1.1]),
    (Logit(0.0, 1.0), [0.2, 0.5, 0.3], [-2.0, 0.5, 2.5], [0.3, 1.8, 0.4]),
]


@pytest.mark.parametrize(("change", "w", "mu", "s"), _CASES)
def test_modes_of_y_are_the_dense_grid_maxima_of_its_density(change, w, mu, s):
    dist = _rows(w, mu, s, change)
    (found,) = dist.modes()
    y, p, peak, dip, step = _dense(dist, 0)
    assert found.locations.size == peak.size
    order = np.argsort(-p[peak])
    # within a grid cell (in t) of the grid's maxima, and as high
    t_found = change.forward(found.locations)
    t_grid = change.forward(y[peak[order]])
    assert_allclose(t_found, t_grid, atol=step)
    assert_allclose(found.densities, p[peak[order]], rtol=1e-6)  # (step / s)^2
    assert (found.densities >= p[peak[order]] * (1 - 1e-13)).all()
    pdf = [dist.pdf([v])[0] for v in found.locations]
    assert_allclose(found.densities, pdf, rtol=1e-12)
    assert_allclose(dist.mode(), found.locations[:1], rtol=1e-15)
    # the basins' masses: the cdf of y between the grid's minima
    cuts = np.r_[0.0, [dist.cdf([y[j]])[0] for j in dip], 1.0]
    by_location = np.argsort(found.locations)
    assert_allclose(found.masses[by_location], np.diff(cuts), atol=1e-4)
    assert_allclose(found.masses.sum(), 1.0, rtol=1e-14)


def test_the_modes_of_y_are_not_the_images_of_the_modes_of_t():
    # a log-normal's mode is exp(mu - sigma^2), not exp(mu)
    dist = _rows([[1.0]] * 3, MU[:, None], SIGMA[:, None], Log(lower=0.0))
    assert_allclose(dist.mode(), np.exp(MU - SIGMA**2), rtol=1e-13)
    assert (np.abs(np.exp(MU) / dist.mode() - 1) > 0.05).all()
    # below an upper bound, 2 - Y is log-normal of -T: mode 2 - exp(-mu - sigma^2)
    dist = _rows([[1.0]] * 3, MU[:, None], SIGMA[:, None], Log(upper=2.0))
    assert_allclose(dist.mode(), 2.0 - np.exp(-MU - SIGMA**2), rtol=1e-13)
    # a wide logit-normal: the Gaussian's mode (y = 1/2) is the density's minimum
    dist = _rows([1.0], [0.0], [2.0], Logit(0.0, 1.0))
    (found,) = dist.modes()
    assert found.locations.size == 2
    assert_allclose(found.locations.sum(), 1.0, rtol=1e-13)  # symmetric
    assert dist.pdf([0.5])[0] < min(0.6 * found.densities.min(), dist.pdf([0.45])[0])
    assert_allclose(found.masses, [0.5, 0.5], rtol=1e-13)


def _held(dist, i, intervals):
    row = dist[i]
    return sum(row.cdf([b])[0] - row.cdf([a])[0] for a, b in intervals)


@pytest.mark.parametrize(("change", "w", "mu", "s"), _CASES)
@pytest.mark.parametrize("confidence", [0.5, 0.9])
def test_hpd_sets_of_y_are_level_sets_holding_their_mass(change, w, mu, s, confidence):
    dist = _rows(w, mu, s, change)
    (intervals,) = dist.hpd(confidence)
    assert abs(_held(dist, 0, intervals) - confidence) < 1e-10
    lower, upper = change.support()
    assert (intervals[:, 0] > lower).all()
    assert (intervals[:, 1] < upper).all()
    assert (np.diff(intervals.ravel()) > 0).all()  # sorted and disjoint
    # the density is equal at every end: a level set of the density of y
    ends = np.array([dist.pdf([v])[0] for v in intervals.ravel()])
    assert_allclose(ends, ends[0], rtol=1e-8)
    # and above that level inside, below it outside (on the dense grid)
    y, p, *_ = _dense(dist, 0, n_grid=20_001)
    inside = ((y[:, None] >= intervals[:, 0]) & (y[:, None] <= intervals[:, 1])).any(1)
    assert (p[inside] >= ends[0] * (1 - 1e-9)).all()
    assert (p[~inside] <= ends[0] * (1 + 1e-9)).all()
    # the shortest set: no longer than the equal-tailed interval
    lo, hi = dist.interval(confidence)
    assert np.diff(intervals, axis=1).sum() <= (hi - lo)[0] * (1 + 1e-12)


def test_hpd_of_a_skewed_target_is_shorter_than_the_equal_tailed_interval():
    dist, ref = _lognormal(0.0)
    sets = dist.hpd(0.9)
    lo, hi = ref.interval(0.9)
    for i, intervals in enumerate(sets):
        ((a, b),) = intervals
        assert abs(ref.cdf(b)[i] - ref.cdf(a)[i] - 0.9) < 1e-10
        assert_allclose(ref.pdf(a)[i], ref.pdf(b)[i], rtol=1e-9)
        assert b - a < 0.97 * (hi[i] - lo[i])
        # the image of the Gaussian's set is the equal-tailed interval here:
        # the same mass, but not a level set of the density of y
        naive = np.exp(MU[i] + SIGMA[i] * np.array([-1, 1]) * stats.norm.ppf(0.95))
        assert_allclose(naive, [lo[i], hi[i]], rtol=1e-12)
        assert ref.pdf(naive[0])[i] > 1.2 * ref.pdf(naive[1])[i]
    # a wide logit-normal: two intervals, one near each bound
    (two,) = _rows([1.0], [0.0], [2.0], Logit(0.0, 1.0)).hpd(0.5)
    assert two.shape == (2, 2)
    assert two[0, 1] < 0.5 < two[1, 0]


def test_hpd_at_the_extremes_of_confidence():
    dist = _rows([[1.0], [1.0]], [[0.0], [1.0]], [[0.5], [2.0]], Logit(-1.0, 3.0))
    assert_array_equal(dist.hpd(1.0), [[[-1.0, 3.0]], [[-1.0, 3.0]]])
    assert_array_equal(np.concatenate(dist.hpd(0.0)), np.c_[dist.mode(), dist.mode()])
    assert_array_equal(
        _rows([1.0], [0.0], [1.0], Log(lower=1.0)).hpd(1.0), [[[1.0, np.inf]]]
    )


def test_the_tilted_mixture_is_the_density_of_y_even_where_its_factors_overflow():
    rng = np.random.RandomState(3)
    for D in (1, 2):
        w = rng.dirichlet(np.ones(3), size=4)
        mu = rng.normal(size=(4, 3, D))
        tril = np.tril(rng.normal(scale=0.3, size=(4, 3, D, D)))
        tril[..., range(D), range(D)] = np.exp(rng.normal(scale=0.3, size=(4, 3, D)))
        for change in (Log(lower=1.0), Log(upper=-1.0), Logit(-1.0, 2.0)):
            for cov in (tril, tril[..., range(D), range(D)]):
                plain = (
                    MixtureDistribution(w, mu, scale_tril=cov)
                    if cov.ndim == 4
                    else MixtureDistribution(w, mu, cov)
                )
                y = change.inverse(rng.normal(size=(4, D)))
                tw, tmu, tcov, log_const, share = tilted(change, w, mu, cov)
                expected = plain._with_change(change).logpdf(y)
                got = mixture_logpdf(tw, tmu, tcov, change.forward(y)) + log_const
                assert_allclose(got, expected, rtol=1e-13, atol=1e-13)
                assert_allclose(share.sum(1), 1.0, rtol=1e-14)
    # exp(-mu + sigma^2 / 2) = exp(1000) overflows; the weights do not
    tw, tmu, _, log_const, _ = tilted(
        Log(lower=0.0),
        np.array([[0.5, 0.5]]),
        np.array([[[-1000.0], [-999.0]]]),
        np.array([[[1.0], [1.0]]]),
    )
    # (to the rounding of log weights near 1000)
    assert_allclose(tw, [[1 / (1 + np.exp(-1)), 1 / (1 + np.exp(1))]], rtol=1e-12)
    assert_allclose(tmu[0, :, 0], [-1001.0, -1000.0])
    assert np.isfinite(log_const).all()


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("change", [Log(lower=0.0), Logit(0.0, 1.0)])
def test_modes_of_two_targets_against_a_dense_grid(change, full):
    w = np.array([[0.45, 0.55]])
    mu = np.array([[[-0.6, 0.2], [0.9, -0.4]]])
    scales = np.array([[[0.35, 0.5], [0.45, 0.3]]])
    if full:
        tril = np.zeros((1, 2, 2, 2))
        tril[..., range(2), range(2)] = scales
        tril[0, :, 1, 0] = [0.2, -0.15]
        dist = MixtureDistribution(w, mu, scale_tril=tril)._with_change(change)
    else:
        dist = MixtureDistribution(w, mu, scales)._with_change(change)
    found = dist.modes()[0]
    # brute force: the local maxima of the density of y on a 2-D grid (uniform
    # in t, mapped to y), each against its eight neighbours
    n = 601
    axis = np.linspace(-3.5, 3.5, n)
    tt = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    yy = change.inverse(tt)
    rep = MixtureDistribution._from_cov(
        *(np.repeat(a, len(yy), 0) for a in (dist.weights, dist.means, dist._cov)),
        False,
        change,
    )
    p = rep.pdf(yy).reshape(n, n)
    core = p[1:-1, 1:-1]
    is_peak = np.ones_like(core, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_peak &= core > p[1 + di : n - 1 + di, 1 + dj : n - 1 + dj]
    i, j = np.nonzero(is_peak)
    grid_t = np.c_[axis[i + 1], axis[j + 1]]
    grid_p = core[i, j]
    order = np.argsort(-grid_p)
    assert found.locations.shape == (grid_p.size, 2)
    step = axis[1] - axis[0]
    assert_allclose(change.forward(found.locations), grid_t[order], atol=step)
    assert_allclose(found.densities, grid_p[order], rtol=1e-3)
    assert (found.densities >= grid_p[order]).all()
    assert_allclose(dist.logpdf(found.locations[:1]), np.log(found.densities[:1]))
    assert_allclose(dist.mode(), found.locations[:1])
    # the naive answer, the image of the mode of t, is elsewhere
    plain = MixtureDistribution._from_cov(dist.weights, dist.means, dist._cov, False)
    naive = change.forward(change.inverse(plain.mode()))
    assert np.abs(naive - change.forward(dist.mode())).max() > 3 * step


class _NoTilts(Change):
    lower = 0.0

    def forward(self, y):
        return np.sqrt(y)


def test_what_still_raises():
    with pytest.raises(NotImplementedError, match="sum of exponentials"):
        _rows([1.0], [0.0], [1.0], _NoTilts()).modes()
    rng = np.random.RandomState(0)
    four = MixtureDistribution(
        np.ones((1, 1)), rng.normal(size=(1, 1, 4)), np.ones((1, 1, 4))
    )._with_change(Logit(0.0, 1.0))
    with pytest.raises(NotImplementedError, match="81 tilted copies"):
        four.mode()
    with pytest.raises(ValueError, match="single target"):
        four.hpd(0.5)
    # under Log there is one tilt per component, whatever the targets
    assert four._with_change(Log(lower=0.0)).mode().shape == (1, 4)


def _fixed_identity_rows():
    # the fixture of _IDENTITY_BEFORE: arrays recorded before changes of
    # variables had modes, which the identity must still give to the bit
    rng = np.random.RandomState(7)
    w = rng.dirichlet(np.ones(3), size=4)
    mu = rng.normal(scale=2, size=(4, 3, 1))
    s = np.exp(rng.normal(scale=0.4, size=(4, 3, 1)))
    one = MixtureDistribution(w, mu, s, squeeze=True)
    two = MixtureDistribution(
        w, rng.normal(size=(4, 3, 2)), np.exp(rng.normal(scale=0.3, size=(4, 3, 2)))
    )
    return one, two


def _hex(x):
    if isinstance(x, list | tuple):
        return [_hex(v) for v in x]
    return float(x).hex()


def _unhex(x):
    if isinstance(x, list | tuple):
        return [_unhex(v) for v in x]
    return float.fromhex(x)


def _flat(x):
    return np.array(_unhex(x), dtype=object).ravel().astype(float)


def test_the_identity_gives_the_same_modes_and_sets_as_before():
    # The identity gives its distribution's answers to the bit. The modes
    # and densities are the recorded ones to the bit; what comes from the
    # cdf (basin masses, HPD ends) to 1e-14, since the cdf is computed by
    # torch's erfc rather than scipy's ndtr (the last bits differ).
    one, two = _fixed_identity_rows()
    answers = []
    for dist in (one, one._with_change(IDENTITY)):
        modes = [
            [list(m.locations), list(m.densities), list(m.masses)] for m in dist.modes()
        ]
        got = {
            "mode": _hex(dist.mode().tolist()),
            "locations": _hex([m[0] for m in modes]),
            "densities": _hex([m[1] for m in modes]),
            "masses": _hex([m[2] for m in modes]),
            "hpd": _hex([a.tolist() for a in dist.hpd(0.8)]),
        }
        answers.append(got)
        before = _IDENTITY_BEFORE["modes"]
        assert got["mode"] == _IDENTITY_BEFORE["mode"]
        assert got["locations"] == [m[0] for m in before]
        assert got["densities"] == [m[1] for m in before]
        for key, recorded in (("masses", [m[2] for m in before]), ("hpd", None)):
            recorded = _IDENTITY_BEFORE[key] if recorded is None else recorded
            np.testing.assert_allclose(
                np.concatenate([_flat(r) for r in got[key]]),
                np.concatenate([_flat(r) for r in recorded]),
                rtol=1e-14,
                atol=1e-15,
            )
    assert answers[0] == answers[1]
    for dist in (two, two._with_change(IDENTITY)):
        assert _hex(dist.mode().tolist()) == _IDENTITY_BEFORE["mode2"]
        modes = [
            [m.locations.tolist(), list(m.densities), list(m.masses)]
            for m in dist.modes()
        ]
        recorded = _IDENTITY_BEFORE["modes2"]
        assert _hex([m[:2] for m in modes]) == [m[:2] for m in recorded]
        np.testing.assert_allclose(
            np.concatenate([_flat(_hex(m[2])) for m in modes]),
            np.concatenate([_flat(m[2]) for m in recorded]),
            rtol=1e-14,
            atol=1e-15,
        )


_IDENTITY_BEFORE = {
    "hpd": [
        [["-0x1.43cfb32fa813cp+1", "0x1.4afa6668da224p+1"]],
        [
            ["-0x1.8414e6a54f4d7p+1", "-0x1.5d4d2698c9db8p+1"],
            ["-0x1.b3435d168a981p+0", "0x1.693bc596b206ep-1"],
        ],
        [["-0x1.a6ff685a2f535p-1", "0x1.3ee674603ed9bp+1"]],
        [
            ["-0x1.e1fd09b851fcdp+0", "0x1.feba0247d32f6p+0"],
            ["0x1.0e2396e17cfcdp+1", "0x1.088e1cc59ff58p+2"],
        ],
    ],
    "mode": [
        "0x1.86bacded718fep-1",
        "-0x1.02e44c859ed34p-1",
        "0x1.3b7a2db379fd7p-1",
        "0x1.a45cf41021ea0p+1",
    ],
    "mode2": [
        ["-0x1.34ae8e76d04c9p+0", "0x1.75dece003c3bfp+0"],
        ["0x1.30fd6802f21cdp-1", "-0x1.55687c3f9ae55p-1"],
        ["0x1.b46ec83e371d1p-2", "0x1.15056a2f7b74cp+1"],
        ["-0x1.0f318e3c1fc9ap-2", "-0x1.f56a93a0d5fc6p-3"],
    ],
    "modes": [
        [["0x1.86bacded718fep-1"], ["0x1.b8d61e3bb7819p-3"], ["0x1.0000000000000p+0"]],
        [
            ["-0x1.02e44c859ed34p-1", "-0x1.710782e6f986ap+1"],
            ["0x1.d79526c2b8475p-2", "0x1.17e5c8d7f5035p-3"],
            ["0x1.b6b50c09cd68cp-1", "0x1.252bcfd8ca5cfp-3"],
        ],
        [["0x1.3b7a2db379fd7p-1"], ["0x1.600092bfcee23p-2"], ["0x1.0000000000000p+0"]],
        [
            ["0x1.a45cf41021ea0p+1", "0x1.dfbf08ad7914ep-3"],
            ["0x1.0c87023d7f095p-2", "0x1.40c18eb8869e2p-3"],
            ["0x1.746879600ba00p-2", "0x1.45cbc34ffa300p-1"],
        ],
    ],
    "modes2": [
        [
            [
                ["-0x1.34ae8e76d04c9p+0", "0x1.75dece003c3bfp+0"],
                ["0x1.c3de97daf2596p+0", "-0x1.4dbb4c239039ap-2"],
            ],
            ["0x1.c424ed0c61f54p-3", "0x1.ad226b5116e65p-6"],
            ["0x1.77df1e34acc23p-1", "0x1.1041c396a67bap-2"],
        ],
        [
            [
                ["0x1.30fd6802f21cdp-1", "-0x1.55687c3f9ae55p-1"],
                ["-0x1.a3c2d7fdccce6p+0", "-0x1.c883206b47fb1p+0"],
            ],
            ["0x1.eecf72c6cbea8p-3", "0x1.0fd4572307d43p-5"],
            ["0x1.bc9c233073c04p-1", "0x1.0d8f733e30ff5p-3"],
        ],
        [
            [["0x1.b46ec83e371d1p-2", "0x1.15056a2f7b74cp+1"]],
            ["0x1.317b6b2274031p-4"],
            ["0x1.0000000000000p+0"],
        ],
        [
            [["-0x1.0f318e3c1fc9ap-2", "-0x1.f56a93a0d5fc6p-3"]],
            ["0x1.1b931aa0e4775p-3"],
            ["0x1.0000000000000p+0"],
        ],
    ],
}
