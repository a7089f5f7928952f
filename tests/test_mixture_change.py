"""Changes of variables of the target (skmdn._mixture.change) against scipy."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import integrate, stats
from scipy.special import expit, logit

from skmdn import MixtureDistribution
from skmdn._mixture.change import IDENTITY, Log, Logit

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


@pytest.mark.parametrize("method", ["mode", "modes"])
def test_modes_and_hpd_are_not_written_for_a_change_yet(method):
    dist = _normal()._with_change(Log(lower=0.0))
    with pytest.raises(NotImplementedError, match="change of variables"):
        getattr(dist, method)()
    with pytest.raises(NotImplementedError, match="hpd"):
        dist.hpd(0.5)


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
