"""The closed-form CRPS of 1-D Gaussian mixtures (skmdn._mixture.crps)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from skmdn import MixtureDistribution
from skmdn._mixture.crps import crps


def test_crps_closed_form_for_one_component():
    rng = np.random.RandomState(0)
    mu, sigma, y = rng.normal(size=5), np.exp(rng.normal(size=5)), rng.normal(size=5)
    z = (y - mu) / sigma
    expected = sigma * (
        z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi)
    )
    got = crps(np.ones((5, 1)), mu[:, None], sigma[:, None], y)
    assert_allclose(got, expected, rtol=1e-12)


def test_crps_of_the_trough_mixture():
    got = crps(
        np.array([[0.5, 0.5]]), np.array([[-3.0, 3.0]]), np.ones((1, 2)), np.zeros(1)
    )
    assert_allclose(got, [1.2187], atol=5e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_crps_matches_monte_carlo(seed):
    rng = np.random.RandomState(seed)
    K = 4
    dist = MixtureDistribution(
        rng.dirichlet(np.ones(K), size=1),
        rng.normal(scale=3, size=(1, K, 1)),
        np.exp(rng.normal(size=(1, K, 1))),
        squeeze=True,
    )
    y = float(rng.normal(scale=3))
    n = 1_000_000
    x = dist.rvs(n, random_state=seed)[0]
    x2 = dist.rvs(n, random_state=seed + 100)[0]
    samples = np.abs(x - y) - 0.5 * np.abs(x - x2)
    mc, se = samples.mean(), samples.std() / np.sqrt(n)
    exact = crps(dist.weights, dist.means[..., 0], dist.scales[..., 0], np.array([y]))[
        0
    ]
    assert abs(mc - exact) < 4 * se
