"""MixtureDistribution's scipy.stats-style methods against numerical integration.

Each method is checked against scipy.stats.norm for one component and against
adaptive quadrature (or Monte Carlo) for mixtures.
"""

import itertools
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import integrate, stats

from skmdn import MixtureDistribution


def _mixture(n=4, K=3, D=1, seed=0, squeeze=True, log_scale=(-1.0, 1.0)):
    rng = np.random.RandomState(seed)
    w = rng.dirichlet(np.ones(K), size=n)
    means = rng.normal(scale=3, size=(n, K, D))
    scales = np.exp(rng.uniform(*log_scale, size=(n, K, D)))
    return MixtureDistribution(w, means, scales, squeeze=squeeze and D == 1)


def _pdf(dist, i):
    """Scalar density of row ``i`` of a one-target distribution."""
    w, mu, s = dist.weights[i], dist.means[i, :, 0], dist.scales[i, :, 0]
    return lambda x: float(w @ stats.norm.pdf(x, mu, s))


def _quad(f, a, b):
    return integrate.quad(f, a, b, epsabs=0, epsrel=1e-11, limit=500)[0]


def test_single_component_matches_scipy_norm():
    rng = np.random.RandomState(0)
    mu, sigma = rng.normal(size=6), np.exp(rng.normal(size=6))
    dist = MixtureDistribution(
        np.ones((6, 1)), mu[:, None, None], sigma[:, None, None], squeeze=True
    )
    ref = stats.norm(mu, sigma)
    # bulk and far tails (40 standard deviations, where cdf and sf underflow)
    for z in (rng.normal(size=6), np.full(6, -40.0), np.full(6, 40.0)):
        y = mu + sigma * z
        assert_allclose(dist.sf(y), ref.sf(y), rtol=1e-12, atol=0)
        assert_allclose(dist.logcdf(y), ref.logcdf(y), rtol=1e-12)
        assert_allclose(dist.logsf(y), ref.logsf(y), rtol=1e-12)
    for q in (rng.uniform(size=6), np.full(6, 1e-30), np.full(6, 1e-300)):
        assert_allclose(dist.isf(q), ref.isf(q), rtol=1e-10)
    assert_allclose(dist.median(), ref.median(), rtol=1e-12)
    for order in range(7):
        assert_allclose(dist.moment(order), ref.moment(order), rtol=1e-12)
    for ours, theirs in zip(dist.stats("mvsk"), ref.stats("mvsk"), strict=True):
        assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    assert_allclose(dist.stats("v"), ref.stats("v"), rtol=1e-12)
    assert_allclose(dist.entropy(), ref.entropy(), rtol=1e-10)  # by quadrature
    lower, upper = dist.support()
    assert_array_equal(lower, np.full(6, -np.inf))
    assert_array_equal(upper, np.full(6, np.inf))
    for i in range(6):
        one = stats.norm(mu[i], sigma[i])
        # E[exp(-y**2 / 8)] in closed form
        c = 1 + sigma[i] ** 2 / 4
        want = np.exp(-(mu[i] ** 2) / (8 * c)) / np.sqrt(c)
        got = dist.expect(lambda y: np.exp(-(y**2) / 8))[i]
        assert got == pytest.approx(want, rel=1e-10)
        kw = {"lb": mu[i] - 0.3, "ub": mu[i] + 2.0}
        for conditional in (False, True):
            got = dist.expect(lambda y: y**2, conditional=conditional, **kw)[i]
            want = one.expect(lambda y: y**2, conditional=conditional, **kw)
            assert got == pytest.approx(want, rel=1e-9)


def test_tails_stay_finite_and_ordered_where_cdf_underflows():
    dist = _mixture(n=3, K=4, seed=1)
    far = np.linspace(200, 2000, 5)
    upper = np.array([dist.logsf(np.full(3, y)) for y in far])
    lower = np.array([dist.logcdf(np.full(3, -y)) for y in far])
    assert np.isfinite(upper).all()
    assert np.isfinite(lower).all()
    assert (np.diff(upper, axis=0) < 0).all()
    assert (np.diff(lower, axis=0) < 0).all()
    assert (dist.sf(np.full(3, far[0])) == 0).all()  # only the logs resolve this
    # where the tail is representable, the log-tail is the log of the tail
    y = dist.means.max((1, 2)) + 25 * dist.scales.max((1, 2))
    assert (dist.sf(y) > 0).all()
    assert (dist.sf(y) < 1e-100).all()
    assert_allclose(dist.logsf(y), np.log(dist.sf(y)), rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sf_logcdf_logsf_against_quadrature(seed):
    dist = _mixture(n=3, K=4, seed=seed)
    rng = np.random.RandomState(seed)
    y = rng.normal(scale=6, size=3)
    sf, logcdf, logsf = dist.sf(y), dist.logcdf(y), dist.logsf(y)
    for i in range(3):
        pdf = _pdf(dist, i)
        tail = _quad(pdf, y[i], np.inf)
        head = _quad(pdf, -np.inf, y[i])
        assert sf[i] == pytest.approx(tail, rel=1e-9)
        assert logsf[i] == pytest.approx(np.log(tail), rel=1e-9, abs=1e-12)
        assert logcdf[i] == pytest.approx(np.log(head), rel=1e-9, abs=1e-12)
    assert_allclose(sf + dist.cdf(y), 1.0, rtol=1e-14)


def test_isf_inverts_sf_to_full_relative_precision():
    dist = _mixture(n=4, K=3, seed=3)
    for q in (0.3, 1e-5, 1e-20, 1e-200):
        y = dist.isf(q)
        assert_allclose(
            dist.sf(y) if q > 1e-200 else np.exp(dist.logsf(y)), q, rtol=1e-8
        )
    assert_allclose(dist.isf(0.7), dist.ppf(0.3), rtol=1e-12)
    assert_array_equal(dist.isf(0.0), np.inf)
    assert_array_equal(dist.isf(1.0), -np.inf)
    assert_allclose(dist.median(), dist.ppf(0.5))
    assert_allclose(dist.cdf(dist.median()), 0.5, rtol=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_moments_against_quadrature(order):
    dist = _mixture(n=3, K=4, seed=4)
    got = dist.moment(order)
    for i in range(3):
        pdf = _pdf(dist, i)
        want = _quad(lambda y, pdf=pdf: y**order * pdf(y), -np.inf, np.inf)
        assert got[i] == pytest.approx(want, rel=1e-8, abs=1e-8)


def test_stats_against_quadrature_and_multi_output_monte_carlo():
    dist = _mixture(n=2, K=3, seed=5)
    mean, var, skew, kurt = dist.stats("mvsk")
    for i in range(2):
        pdf = _pdf(dist, i)
        m = _quad(lambda y, pdf=pdf: y * pdf(y), -np.inf, np.inf)
        central = [
            _quad(lambda y, r=r, m=m, pdf=pdf: (y - m) ** r * pdf(y), -np.inf, np.inf)
            for r in (2, 3, 4)
        ]
        assert mean[i] == pytest.approx(m, rel=1e-9)
        assert var[i] == pytest.approx(central[0], rel=1e-9)
        assert skew[i] == pytest.approx(central[1] / central[0] ** 1.5, rel=1e-7)
        assert kurt[i] == pytest.approx(central[2] / central[0] ** 2 - 3, rel=1e-7)
    assert_allclose(dist.stats("m"), dist.mean())
    assert_allclose(dist.stats("v"), dist.var(), rtol=1e-12)
    # several targets: each column is that target's marginal, and draws agree
    multi = _mixture(n=2, K=3, D=3, seed=6)
    columns = multi.stats("mvsk")
    for d in range(3):
        for ours, marginal in zip(
            columns, multi.marginal(d).stats("mvsk"), strict=True
        ):
            assert_allclose(ours[:, d], marginal, rtol=1e-12)
    draws = multi.rvs(400_000, random_state=0)
    assert_allclose(columns[2], stats.skew(draws, axis=1), atol=0.03)
    assert_allclose(multi.moment(3), (draws**3).mean(1), rtol=0.05, atol=0.5)


def test_entropy_of_one_target_against_adaptive_quadrature():
    # scales spanning three orders of magnitude: narrow components on wide ones
    dist = _mixture(n=6, K=5, seed=7, log_scale=(-5.0, 2.0))
    got = dist.entropy()
    for i in range(6):
        pdf = _pdf(dist, i)
        mu, s = dist.means[i, :, 0], dist.scales[i, :, 0]
        cuts = np.unique((mu[:, None] + s[:, None] * np.linspace(-9, 9, 19)).ravel())

        def integrand(y, pdf=pdf):
            p = pdf(y)
            return -p * np.log(p) if p > 0 else 0.0

        want = sum(_quad(integrand, a, b) for a, b in itertools.pairwise(cuts))
        assert abs(got[i] - want) < 1e-9
    assert_allclose(dist.marginal(0).entropy(), got)


def test_entropy_of_several_targets():
    # one component: the closed form of a Gaussian, exactly
    rng = np.random.RandomState(8)
    s = np.exp(rng.normal(size=(2, 1, 3)))
    dist = MixtureDistribution(np.ones((2, 1)), rng.normal(size=(2, 1, 3)), s)
    want = [stats.multivariate_normal(cov=np.diag(si[0] ** 2)).entropy() for si in s]
    assert_allclose(dist.entropy(), want, rtol=1e-12)
    # components far apart: H = H(w) + sum_k w_k H_k, exactly
    far = MixtureDistribution(
        [[0.3, 0.7]], [[[0.0, 0.0], [100.0, -100.0]]], [[[1.0, 2.0], [0.5, 1.0]]]
    )
    w = np.array([0.3, 0.7])
    h_k = np.array([np.log([1.0, 2.0]).sum(), np.log([0.5, 1.0]).sum()])
    h_k += 1 + np.log(2 * np.pi)
    assert_allclose(far.entropy(), [-(w * np.log(w)).sum() + w @ h_k], rtol=1e-12)
    # overlapping components in two dimensions: against a tensor quadrature
    dist = _mixture(n=3, K=4, D=2, seed=9)
    nodes, weights = np.polynomial.legendre.leggauss(20)
    got = dist.entropy()
    for i in range(3):
        axes = []
        for d in range(2):
            mu, s = dist.means[i, :, d], dist.scales[i, :, d]
            a, b = (mu - 9 * s).min(), (mu + 9 * s).max()
            cuts = np.linspace(a, b, 31)  # 30 pieces of 20 nodes: to ~1e-10
            h = np.diff(cuts) / 2
            x = ((cuts[:-1] + h)[:, None] + h[:, None] * nodes).ravel()
            axes.append((x, (h[:, None] * weights).ravel()))
        grid = np.stack(np.meshgrid(axes[0][0], axes[1][0], indexing="ij"), -1)
        cell = np.outer(axes[0][1], axes[1][1]).ravel()
        logp = dist[i].cross_logpdf(grid.reshape(-1, 2))[0]
        want = -(cell * np.exp(logp) * logp).sum()
        assert abs(got[i] - want) < 2e-3  # quasi-Monte Carlo: about 1e-3


def test_expect_against_quadrature_with_bounds_per_row():
    dist = _mixture(n=4, K=3, seed=10)
    lb = np.array([-np.inf, -1.0, 0.5, -20.0])
    ub = np.array([0.0, 2.0, np.inf, 20.0])
    for func, f in ((None, lambda y: y), (np.sin, np.sin), (np.abs, np.abs)):
        for conditional in (False, True):
            got = dist.expect(func, lb=lb, ub=ub, conditional=conditional)
            for i in range(4):
                pdf = _pdf(dist, i)
                cut = [c for c in (0.0,) if lb[i] < c < ub[i]]
                edges = [lb[i], *cut, ub[i]]
                want = sum(
                    _quad(lambda y, f=f, pdf=pdf: f(y) * pdf(y), a, b)
                    for a, b in itertools.pairwise(edges)
                )
                if conditional:
                    want /= _quad(pdf, lb[i], ub[i])
                # a kink between the cuts (abs at 0) costs digits, as documented
                rel = 1e-5 if f is np.abs else 1e-8
                assert got[i] == pytest.approx(want, rel=rel, abs=1e-10)
    assert_allclose(dist.expect(), dist.mean(), rtol=1e-12)
    assert_allclose(dist.expect(lambda y: np.ones_like(y)), 1.0, rtol=1e-12)
    assert_allclose(
        dist.expect(lambda y: 2.0, lb=lb, ub=ub),
        2 * (dist.cdf(ub) - dist.cdf(lb)),
        rtol=1e-10,
    )


def test_expect_refuses_what_it_cannot_do():
    dist = _mixture(n=3, K=2, seed=11)
    with pytest.raises(ValueError, match="elementwise"):
        dist.expect(lambda y: y.sum(1))
    with pytest.raises(ValueError, match="lb <= ub"):
        dist.expect(lb=1.0, ub=0.0)
    with pytest.raises(ValueError, match="broadcast"):
        dist.expect(lb=np.zeros(2))
    multi = _mixture(n=3, K=2, D=2, seed=11)
    with pytest.raises(ValueError, match="marginal"):
        multi.expect()
    assert_allclose(multi.marginal(1).expect(), multi.mean()[:, 1], rtol=1e-12)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="order"):
            dist.moment(bad)
    with pytest.raises(ValueError, match="mvsk"):
        dist.stats("mx")


@pytest.mark.parametrize("D", [1, 2])
def test_several_levels_in_one_call(D):
    dist = _mixture(n=5, K=3, D=D, seed=12)
    levels = [0.5, 0.8, 0.95]
    lower, upper = dist.interval(levels)
    shape = (5, 3) if D == 1 else (5, 3, D)
    assert lower.shape == upper.shape == shape
    for j, c in enumerate(levels):
        lo, hi = dist.interval(c)
        assert_allclose(lower[:, j], lo, rtol=1e-12)
        assert_allclose(upper[:, j], hi, rtol=1e-12)
    q = dist.quantiles([0.1, 0.5, 0.9])
    assert q.shape == shape
    assert_allclose(q[:, 1], dist.median(), rtol=1e-12)
    # a scalar keeps today's shape
    assert dist.interval(0.9)[0].shape == shape[:1] + shape[2:]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dist.interval([0.5, 1.5])
    with pytest.raises(ValueError, match="1-D"):
        dist.interval([[0.5]])


def test_pickle_keeps_the_parameters():
    dist = _mixture(n=3, K=2, seed=13)
    state = dist.__getstate__()
    assert set(state) == {"weights", "means", "scales", "scale_tril", "squeeze"}
    assert state["scale_tril"] is None
    restored = pickle.loads(pickle.dumps(dist))
    assert_array_equal(restored.means, dist.means)
    assert restored.squeeze is True


def test_skops_dumps_and_loads_a_distribution():
    sio = pytest.importorskip("skops.io")
    dist = _mixture(n=3, K=2, D=2, seed=14)
    blob = sio.dumps(dist)
    untrusted = sio.get_untrusted_types(data=blob)
    assert untrusted == ["skmdn._distribution.MixtureDistribution"]
    restored = sio.loads(blob, trusted=untrusted)
    assert isinstance(restored, MixtureDistribution)
    for name in ("weights", "means", "scales"):
        assert_array_equal(getattr(restored, name), getattr(dist, name))
    assert restored.squeeze is False
    assert_allclose(restored.cdf(np.zeros((3, 2))), dist.cdf(np.zeros((3, 2))))
