"""Modes and highest-density sets of 1-D Gaussian mixtures (critical, hpd)."""

import numpy as np
import pytest
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


def test_trough_mixture_mode_is_at_a_bump():
    dist = MixtureDistribution(
        [[0.5, 0.5]], [[[-3.0], [3.0]]], [[[1.0], [1.0]]], squeeze=True
    )
    assert abs(abs(dist.mode()[0]) - 3.0) < 1e-6
    assert abs(dist.mean()[0]) < 1e-12
    modes = dist.modes()[0]
    assert_allclose(np.sort(modes.locations), [-3, 3], atol=1e-6)
    assert_allclose(modes.masses, [0.5, 0.5], atol=1e-12)


def test_merged_components_have_one_flat_mode():
    # 0.5 N(-1, 1) + 0.5 N(1, 1) is unimodal with a flat top at 0
    dist = MixtureDistribution(
        [[0.5, 0.5]], [[[-1.0], [1.0]]], [[[1.0], [1.0]]], squeeze=True
    )
    modes = dist.modes()[0]
    assert modes.locations.shape == (1,)
    assert abs(modes.locations[0]) < 1e-4
    assert_allclose(modes.masses, [1.0])


@settings(max_examples=40)
@given(mixtures_1d())
def test_mode_density_beats_every_component_mean(dist):
    mode = dist.mode()
    at_mode = dist.logpdf(mode)
    for k in range(dist.n_components):
        assert (at_mode >= dist.logpdf(dist.means[:, k, 0]) - 1e-12).all()
    # and it is a stationary point
    eps = 1e-5 * dist.scales.min(axis=(1, 2))
    assert (at_mode >= dist.logpdf(mode + eps) - 1e-12).all()
    assert (at_mode >= dist.logpdf(mode - eps) - 1e-12).all()


@settings(max_examples=40)
@given(mixtures_1d())
def test_modes_masses_sum_to_one_and_global_mode_is_first(dist):
    for i, modes in enumerate(dist.modes()):
        assert_allclose(modes.masses.sum(), 1.0, atol=1e-9)
        assert (modes.masses > -1e-12).all()
        assert (np.diff(modes.densities) <= 1e-15).all()
        assert_allclose(
            modes.densities[0], dist[i].pdf(dist.mode()[i : i + 1])[0], rtol=1e-9
        )


@settings(max_examples=40)
@given(mixtures_1d(), st.floats(0.05, 0.99))
def test_hpd_holds_the_mass_and_is_no_longer_than_equal_tailed(dist, confidence):
    sets = dist.hpd(confidence)
    lower, upper = dist.interval(confidence)
    for i, intervals in enumerate(sets):
        assert (np.diff(intervals, axis=1) >= 0).all()
        assert (intervals[1:, 0] > intervals[:-1, 1]).all()  # disjoint, sorted
        row = dist[i]
        mass = sum(row.cdf([b])[0] - row.cdf([a])[0] for a, b in intervals)
        assert abs(mass - confidence) < 1e-6
        length = np.diff(intervals, axis=1).sum()
        assert length <= upper[i] - lower[i] + 1e-9
        # the density is equal at every finite end point (a level set)
        ends = intervals.ravel()
        dens = row.pdf(ends[:, None].repeat(1, 1)[:1]) if len(ends) == 1 else None
        levels = np.array([row.pdf([e])[0] for e in ends])
        assert_allclose(levels, levels[0], rtol=1e-6)
        del dens


def test_hpd_of_a_normal_is_the_central_interval():
    dist = _norm_dist([0.0, 2.0], [1.0, 3.0])
    for sets, lo, hi in zip(dist.hpd(0.9), *dist.interval(0.9), strict=True):
        assert_allclose(sets, [[lo, hi]], rtol=1e-8)


def test_hpd_splits_a_bimodal_distribution():
    dist = MixtureDistribution(
        [[0.5, 0.5]], [[[-3.0], [3.0]]], [[[1.0], [1.0]]], squeeze=True
    )
    (sets,) = dist.hpd(0.9)
    assert sets.shape == (2, 2)
    assert sets[0, 1] < 0 < sets[1, 0]
    lo, hi = dist.interval(0.9)
    assert np.diff(sets, axis=1).sum() < hi[0] - lo[0]


def test_hpd_edges_and_multi_output():
    dist = _norm_dist([0.0], [1.0])
    assert_allclose(dist.hpd(1.0)[0], [[-np.inf, np.inf]])
    assert_allclose(dist.hpd(0.0)[0], [[0.0, 0.0]], atol=1e-9)
    multi = MixtureDistribution([[1.0]], np.zeros((1, 1, 2)), np.ones((1, 1, 2)))
    with pytest.raises(ValueError, match="marginal"):
        multi.hpd(0.5)
    assert_allclose(
        multi.marginal(1).hpd(0.5)[0], [stats.norm.interval(0.5)], rtol=1e-8
    )
