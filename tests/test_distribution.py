"""MixtureDistribution against scipy and Monte Carlo."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from skmdn import MixtureDistribution


def _random_dist(n=4, K=3, D=2, seed=0, squeeze=False):
    rng = np.random.RandomState(seed)
    w = rng.dirichlet(np.ones(K), size=n)
    means = rng.normal(scale=3, size=(n, K, D))
    scales = np.exp(rng.uniform(-1, 1, size=(n, K, D)))
    return MixtureDistribution(w, means, scales, squeeze=squeeze)


@st.composite
def distributions(draw, max_k=5):
    K = draw(st.integers(1, max_k))
    seed = draw(st.integers(0, 2**31 - 1))
    return _random_dist(n=3, K=K, D=1, seed=seed, squeeze=True)


def test_single_component_matches_scipy_norm():
    rng = np.random.RandomState(0)
    mu, sigma = rng.normal(size=5), np.exp(rng.normal(size=5))
    dist = MixtureDistribution(
        np.ones((5, 1)), mu[:, None, None], sigma[:, None, None], squeeze=True
    )
    ref = stats.norm(mu, sigma)
    y = rng.normal(size=5)
    q = rng.uniform(size=5)
    assert_allclose(dist.mean(), ref.mean())
    assert_allclose(dist.var(), ref.var())
    assert_allclose(dist.std(), ref.std())
    assert_allclose(dist.logpdf(y), ref.logpdf(y), rtol=1e-12)
    assert_allclose(dist.pdf(y), ref.pdf(y), rtol=1e-12)
    assert_allclose(dist.cdf(y), ref.cdf(y), rtol=1e-12)
    assert_allclose(dist.ppf(q), ref.ppf(q), rtol=1e-10)
    lo, hi = dist.interval(0.9)
    ref_lo, ref_hi = ref.interval(0.9)
    assert_allclose(lo, ref_lo, rtol=1e-10)
    assert_allclose(hi, ref_hi, rtol=1e-10)


@pytest.mark.parametrize("squeeze", [True, False])
def test_moments_match_monte_carlo(squeeze):
    dist = _random_dist(n=3, K=4, D=1 if squeeze else 3, seed=1, squeeze=squeeze)
    draws = dist.rvs(200_000, random_state=0)
    assert draws.shape == ((3, 200_000) if squeeze else (3, 200_000, 3))
    mc_mean, mc_var = draws.mean(1), draws.var(1)
    se = np.sqrt(dist.var() / 200_000)
    assert (np.abs(mc_mean - dist.mean()) < 5 * se).all()
    assert_allclose(mc_var, dist.var(), rtol=0.03)


def test_bimodal_mean_lies_in_the_trough():
    dist = MixtureDistribution(
        [[0.5, 0.5]], [[[-3.0], [3.0]]], [[[1.0], [1.0]]], squeeze=True
    )
    assert_allclose(dist.mean(), [0.0])
    assert_allclose(dist.var(), [10.0])
    assert_allclose(dist.cdf([0.0]), [0.5])


@settings(max_examples=50)
@given(distributions(), st.lists(st.floats(-20, 20), min_size=2, max_size=8))
def test_cdf_is_monotone_and_bounded(dist, ys):
    ys = np.sort(ys)
    values = np.array([dist.cdf(np.full(3, y)) for y in ys])
    assert ((values >= 0) & (values <= 1)).all()
    assert (np.diff(values, axis=0) >= -1e-15).all()


@settings(max_examples=50)
@given(distributions(), st.floats(1e-9, 1 - 1e-9))
def test_ppf_inverts_cdf(dist, q):
    x = dist.ppf(q)
    assert_allclose(dist.cdf(x), q, rtol=1e-9, atol=1e-12)
    y = dist.mean() + dist.std() * (q - 0.5)
    # ppf meets the cdf to 1e-9 of its value: where the density is low that
    # moves y by as much over the density (the inversion's conditioning)
    F = dist.cdf(y)
    f = np.reshape(dist.pdf(y), np.shape(F))  # one target: the marginal's
    slack = (1e-9 * np.minimum(F, 1 - F) + 1e-12) / np.maximum(f, 1e-300)
    assert (np.abs(dist.ppf(F) - y) <= 1e-8 * (1 + np.abs(y)) + slack).all()


@settings(max_examples=30)
@given(distributions(), st.floats(0.01, 0.98), st.floats(0.001, 0.01))
def test_intervals_nest_as_confidence_grows(dist, c, dc):
    lo1, hi1 = dist.interval(c)
    lo2, hi2 = dist.interval(c + dc)
    assert (lo2 <= lo1).all()
    assert (hi2 >= hi1).all()
    assert_allclose(dist.cdf(hi1) - dist.cdf(lo1), c, atol=1e-9)


def test_ppf_edges_and_errors():
    dist = _random_dist(n=2, K=2, D=1, squeeze=True)
    assert_array_equal(dist.ppf(0.0), [-np.inf, -np.inf])
    assert_array_equal(dist.ppf(1.0), [np.inf, np.inf])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dist.ppf(1.5)
    with pytest.raises(ValueError, match="confidence"):
        dist.interval(2.0)


def test_multi_output_marginals():
    dist = _random_dist(n=3, K=2, D=2)
    assert dist.mean().shape == dist.var().shape == (3, 2)
    assert dist.cdf(np.zeros((3, 2))).shape == (3, 2)
    assert dist.ppf(0.3).shape == (3, 2)
    # marginal of target 1 is the mixture of the components' target-1 normals
    ref = (
        dist.weights * stats.norm.cdf(0.5, dist.means[..., 1], dist.scales[..., 1])
    ).sum(1)
    assert_allclose(dist.cdf(np.full((3, 2), 0.5))[:, 1], ref, rtol=1e-12)
    # diagonal components: the joint density factorises within a component
    y = np.ones((3, 2))
    comp = stats.norm.pdf(y[:, None, :], dist.means, dist.scales).prod(-1)
    assert_allclose(dist.pdf(y), (dist.weights * comp).sum(1), rtol=1e-12)


def test_rows_slice_len_and_pickle():
    dist = _random_dist(n=5, K=3, D=1, squeeze=True)
    assert len(dist) == 5
    sub = dist[1:3]
    assert len(sub) == 2
    assert_array_equal(sub.means, dist.means[1:3])
    assert len(dist[4]) == 1
    assert len(dist[-1]) == 1
    assert_array_equal(dist[-1].weights, dist.weights[-1:])
    assert_array_equal(dist[np.array([0, 4])].scales, dist.scales[[0, 4]])
    again = pickle.loads(pickle.dumps(dist))
    assert_array_equal(again.weights, dist.weights)
    assert "n_components=3" in repr(dist)


def test_unknown_attributes_raise():
    dist = _random_dist()
    with pytest.raises(AttributeError):
        dist.medain()
    with pytest.raises(AttributeError):
        dist.loc = 3


def test_invalid_parameters_are_rejected():
    with pytest.raises(ValueError, match="sum to 1"):
        MixtureDistribution([[0.5, 0.6]], np.zeros((1, 2, 1)), np.ones((1, 2, 1)))
    with pytest.raises(ValueError, match="positive"):
        MixtureDistribution([[1.0]], np.zeros((1, 1, 1)), np.zeros((1, 1, 1)))
    with pytest.raises(ValueError, match="finite"):
        MixtureDistribution([[1.0]], np.full((1, 1, 1), np.nan), np.ones((1, 1, 1)))
    with pytest.raises(ValueError, match="shape"):
        MixtureDistribution([[1.0]], np.zeros((1, 1)), np.ones((1, 1)))
    with pytest.raises(ValueError, match="squeeze"):
        MixtureDistribution(
            [[1.0]], np.zeros((1, 1, 2)), np.ones((1, 1, 2)), squeeze=True
        )
    dist = _random_dist(n=2, K=2, D=2)
    with pytest.raises(ValueError, match="pair with the rows"):
        dist.logpdf(np.zeros(2))


def test_rvs_is_reproducible_and_follows_weights():
    dist = MixtureDistribution(
        [[0.2, 0.8]], [[[-100.0], [100.0]]], [[[1.0], [1.0]]], squeeze=True
    )
    a = dist.rvs(10_000, random_state=0)
    assert_array_equal(a, dist.rvs(10_000, random_state=0))
    assert abs((a > 0).mean() - 0.8) < 0.02
    assert dist.rvs(random_state=0).shape == (1,)
