"""Quantiles of 1-D Gaussian mixtures (skmdn._mixture.roots)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from skmdn import MixtureDistribution


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
