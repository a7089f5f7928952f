"""Mixtures of many components (a pooled ensemble's K = 2,000): memory and answers.

Speed is measured by ``benchmarks/large_k.py``, not tested; these tests check
that the draws stay in memory linear in their number, and that the modes and
highest-density sets found with the coarse first cut and the Taylor models of
large K are right (against a fine grid, and against the term-by-term cells
cut at every mean).
"""

import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import logsumexp, ndtr

from skmdn import MixtureDistribution
from skmdn._mixture import critical

K_BIG = 2000


def _pooled(n_rows, n_networks=20, n_components=100, seed=0):
    """Pooled mixtures, as ``benchmarks/large_k.py`` draws them."""
    rng = np.random.default_rng(seed)
    K = n_networks * n_components
    centre = rng.normal(size=(n_rows, 1, 1))
    shift = rng.normal(scale=0.3, size=(n_rows, n_networks, 1))
    means = (
        centre + shift + rng.normal(scale=2.0, size=(n_rows, n_networks, n_components))
    )
    scales = np.exp(rng.normal(np.log(0.3), 0.5, size=(n_rows, K)))
    w = rng.dirichlet(np.full(n_components, 0.3), size=(n_rows, n_networks))
    w = w.reshape(n_rows, K) / n_networks
    return MixtureDistribution(w, means.reshape(n_rows, K, 1), scales[..., None])


def _grid_logpdf(dist, i, x):
    w, mu, s = dist.weights[i], dist.means[i, :, 0], dist.scales[i, :, 0]
    c = np.log(w) - np.log(s) - 0.5 * np.log(2 * np.pi)
    parts = [x[j : j + 1000, None] for j in range(0, x.size, 1000)]
    return np.concatenate([logsumexp(c - 0.5 * ((p - mu) / s) ** 2, 1) for p in parts])


def test_rvs_memory_linear_in_draws():
    dist = _pooled(40)
    dist.rvs(size=10, random_state=0)  # warm up (imports, caches)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    draws = dist.rvs(size=20_000, random_state=0)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    assert draws.shape == (40, 20_000, 1)
    # the result (6.4 MB), the component indices (int32, half of it), the
    # cumulative weights and chunk-sized temporaries
    assert peak <= 2 * draws.nbytes + dist.weights.nbytes + (4 << 20)


def test_rvs_draws_follow_the_weights():
    dist = _pooled(1)
    x = dist.rvs(size=200_000, random_state=1)[0, :, 0]
    q = np.linspace(0.05, 0.95, 7)
    cdf_at = np.array([dist.cdf(np.array([[v]]))[0, 0] for v in np.quantile(x, q)])
    assert_allclose(cdf_at, q, atol=0.005)


def test_mode_and_hpd_against_a_fine_grid():
    dist = _pooled(2)
    modes, sets = dist.mode()[:, 0], dist.hpd(0.9)
    for i in range(len(dist)):
        mu, s = dist.means[i, :, 0], dist.scales[i, :, 0]
        x = np.linspace((mu - 8 * s).min(), (mu + 8 * s).max(), 10_001)
        dx = x[1] - x[0]
        logp = _grid_logpdf(dist, i, x)
        assert abs(modes[i] - x[logp.argmax()]) <= dx
        assert _grid_logpdf(dist, i, modes[i : i + 1])[0] >= logp.max() - 1e-12
        # the grid's highest-density set at 0.9
        p = np.exp(logp)
        order = np.argsort(-p)
        level = p[order[np.searchsorted(np.cumsum(p[order]) * dx, 0.9)]]
        inside = np.r_[False, p >= level, False].astype(np.int8)
        starts = x[np.flatnonzero(np.diff(inside) == 1)]
        ends = x[np.flatnonzero(np.diff(inside) == -1) - 1]
        assert sets[i].shape == (starts.size, 2)
        assert_allclose(sets[i][:, 0], starts, atol=2 * dx, rtol=0)
        assert_allclose(sets[i][:, 1], ends, atol=2 * dx, rtol=0)
        w = dist.weights[i]
        held = w * (ndtr((sets[i][:, 1:] - mu) / s) - ndtr((sets[i][:, :1] - mu) / s))
        assert_allclose(held.sum(), 0.9, atol=1e-9)


def test_coarse_first_cut_finds_the_same_critical_points(monkeypatch):
    dist = _pooled(4, n_networks=3, n_components=100, seed=3)
    w, mu, s = dist.weights, dist.means[..., 0], dist.scales[..., 0]
    row, x, kind = critical.critical_points(w, mu, s)
    monkeypatch.setattr(critical, "_COARSE_K", 10**6)  # cut at every mean
    row_all, x_all, kind_all = critical.critical_points(w, mu, s)
    np.testing.assert_array_equal(row, row_all)
    np.testing.assert_array_equal(kind, kind_all)
    assert_allclose(x, x_all, rtol=1e-12, atol=1e-12)


def _dense_check(dist, i, modes, anti):
    """Modes and antimodes of row ``i`` against a grid 1/25 of its least scale apart."""
    mu, s = dist.means[i, :, 0], dist.scales[i, :, 0]
    x = np.arange(mu.min() - 1, mu.max() + 1, s.min() / 25)
    logp = _grid_logpdf(dist, i, x)
    tol = 1e-12 * np.maximum(1.0, np.abs(logp))
    # every local maximum of the grid (beyond rounding) lies next to a mode
    rise, fall = np.diff(logp) > tol[1:], -np.diff(logp) > tol[:-1]
    peaks = np.flatnonzero(rise[:-1] & fall[1:]) + 1
    assert peaks.size >= 2  # the rows are multimodal
    for k in peaks:
        assert ((modes >= x[k - 1]) & (modes <= x[k + 1])).any(), x[k]
    # each mode is the highest point of its basin, each antimode the lowest
    # between its modes
    at_modes, at_anti = _grid_logpdf(dist, i, modes), _grid_logpdf(dist, i, anti)
    cuts = np.r_[-np.inf, anti, np.inf]
    for j in range(modes.size):
        basin = (x >= cuts[j]) & (x <= cuts[j + 1])
        assert logp[basin].max() <= at_modes[j] + 1e-12 * abs(at_modes[j])
    for j in range(anti.size):
        between = (x >= modes[j]) & (x <= modes[j + 1])
        assert logp[between].min() >= at_anti[j] - 1e-12 * abs(at_anti[j])


def test_every_mode_at_large_k_against_a_dense_grid():
    dist = _pooled(3, seed=5)
    w, mu, s = dist.weights, dist.means[..., 0], dist.scales[..., 0]
    modes, n_modes, anti = critical.sorted_critical_points(w, mu, s)
    found = dist.modes()
    for i in range(len(dist)):
        k = n_modes[i]
        _dense_check(dist, i, modes[i, :k], anti[i, : k - 1])
        assert_allclose(np.sort(found[i].locations[:, 0]), modes[i, :k], rtol=0, atol=0)


def _wild(n_rows, K, seed, spikes):
    """Weights, means and scales from 1e-3 to 1e3, narrow components on broad ones."""
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.full(K, 0.5), size=n_rows)
    log_s = rng.uniform(-3, 3, size=(n_rows, K))
    mu = rng.normal(size=(n_rows, K)) * 10 ** rng.uniform(-3, 3, size=(n_rows, K))
    if spikes:
        half = K // 2
        mu[:, :half] = mu[:, K - half :]
        log_s[:, :half] = np.maximum(log_s[:, K - half :] - 2, -3)
    return w, mu, 10**log_s


@pytest.mark.parametrize("K", [65, 150])
@pytest.mark.parametrize("spikes", [False, True])
def test_taylor_cells_find_the_term_by_term_critical_points(monkeypatch, K, spikes):
    w, mu, s = _wild(4, K, K + spikes, spikes)
    row, x, kind = critical.critical_points(w, mu, s)
    monkeypatch.setattr(critical, "_COARSE_K", 10**6)  # term by term, every mean
    row_all, x_all, kind_all = critical.critical_points(w, mu, s)
    np.testing.assert_array_equal(row, row_all)
    np.testing.assert_array_equal(kind, kind_all)
    assert_allclose(x, x_all, rtol=1e-12, atol=1e-12 * np.abs(mu).max())


def test_degenerate_rows_of_many_components():
    K = 100
    one = np.zeros(K)
    one[7] = 1.0  # one live component among zero weights
    w = np.stack([one, np.full(K, 1 / K)])
    mu = np.stack([np.linspace(-5, 5, K), np.full(K, 0.3)])  # then all equal
    s = np.full((2, K), 0.5)
    modes, n_modes, _ = critical.sorted_critical_points(w, mu, s)
    np.testing.assert_array_equal(n_modes, [1, 1])
    np.testing.assert_array_equal(modes[:, 0], [mu[0, 7], 0.3])
