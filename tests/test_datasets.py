"""The synthetic problems: generators, exact densities and Bayes NLLs."""

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from numpy.testing import assert_allclose, assert_array_equal

from skmdn import MDNRegressor
from skmdn.datasets import (
    heteroscedastic_log_density,
    inverse_sine_log_density,
    make_heteroscedastic,
    make_inverse_sine,
    make_smooth_inverse_sine,
    smooth_inverse_sine_log_density,
)

# (generator, exact log-density, published or closed-form Bayes NLL,
#  support of y for a density integral)
PROBLEMS = {
    "inverse_sine": (make_inverse_sine, inverse_sine_log_density, -1.2823, (0, 1)),
    "smooth_inverse_sine": (
        make_smooth_inverse_sine,
        smooth_inverse_sine_log_density,
        1.2873,
        (-10.5, 10.5),
    ),
    "heteroscedastic": (
        make_heteroscedastic,
        heteroscedastic_log_density,
        0.5 * np.log(2 * np.pi * np.e) + 1.5 * np.log(1.5) - 0.5 * np.log(0.5) - 1,
        (-12.0, 12.0),
    ),
}


@pytest.fixture(params=sorted(PROBLEMS))
def problem(request):
    return PROBLEMS[request.param]


def test_shapes_dtypes_and_determinism(problem):
    make, log_density, _, _ = problem
    X, y = make(n_samples=37, random_state=0)
    assert X.shape == (37, 1)
    assert y.shape == (37,)
    assert X.dtype == y.dtype == np.float64
    X2, y2 = make(37, random_state=0)
    assert_array_equal(X, X2)
    assert_array_equal(y, y2)
    X3, _ = make(37, random_state=1)
    assert not np.array_equal(X, X3)
    rng = np.random.RandomState(0)
    X4, _ = make(37, random_state=rng)
    assert_array_equal(X4, X)
    out = log_density(X, y)
    assert out.shape == (37,)
    assert out.dtype == np.float64
    assert np.isfinite(out).all()  # every drawn row lies in the support


def test_make_inverse_sine_unchanged():
    # Existing callers get exactly the draws of the original generator.
    rng = np.random.RandomState(3)
    t = rng.uniform(0.0, 1.0, size=50)
    x = t + 0.3 * np.sin(2 * np.pi * t) + rng.uniform(-0.1, 0.1, size=50)
    X, y = make_inverse_sine(50, random_state=3)
    assert_array_equal(X[:, 0], x)
    assert_array_equal(y, t)


# A non-default noise level per problem, to check the densities beyond the
# defaults.
OTHER_NOISE = {
    make_inverse_sine: 0.05,
    make_smooth_inverse_sine: 0.5,
    make_heteroscedastic: 0.5,
}


@pytest.mark.parametrize("default_noise", [True, False])
def test_density_integrates_to_one(problem, default_noise):
    make, log_density, _, (lo, hi) = problem
    kw = {} if default_noise else {"noise": OTHER_NOISE[make]}
    X, _ = make(6, random_state=0, **kw)
    # Trapezoid rule on a fine grid; Bishop's density is a sum of boxes, whose
    # edges each cost at most one grid step times the height (~1e-4 here).
    grid = np.linspace(lo, hi, 100_001)
    for x in X[:, 0]:
        logp = log_density(np.full((grid.size, 1), x), grid, **kw)
        assert_allclose(np.trapezoid(np.exp(logp), grid), 1.0, atol=1e-3)


def _quadrature_bayes_nll(name):
    """Bayes NLL by deterministic quadrature over the joint density.

    The midpoint rule over the prior variable, and over the noise the
    midpoint rule (uniform noise) or Gauss-Hermite nodes (Gaussian noise):
    a deterministic, accurate version of the Monte Carlo mean.
    """
    n_outer = 1000
    v = (np.arange(n_outer) + 0.5) / n_outer
    if name == "inverse_sine":
        e = 2 * (np.arange(50) + 0.5) / 50 - 1
        w = np.full(e.size, 1 / e.size)
    else:
        e, w = hermegauss(20)
        w = w / w.sum()
    if name == "inverse_sine":
        y = np.broadcast_to(v[:, None], (n_outer, e.size))
        x = y + 0.3 * np.sin(2 * np.pi * y) + 0.1 * e
        log_density = inverse_sine_log_density
    elif name == "smooth_inverse_sine":
        y = np.broadcast_to(-10.5 + 21 * v[:, None], (n_outer, e.size))
        x = 7 * np.sin(0.75 * y) + 0.5 * y + e
        log_density = smooth_inverse_sine_log_density
    else:
        x = np.broadcast_to(v[:, None], (n_outer, e.size))
        y = 2 * np.sin(2 * np.pi * x) + (0.5 + x) * e
        log_density = heteroscedastic_log_density
    logp = log_density(x.reshape(-1, 1), y.ravel()).reshape(x.shape)
    return -(logp @ w).mean()


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_bayes_nll_by_quadrature(name):
    # Quadrature gives -1.28235, 1.28801 and 1.37371; the quoted values
    # (-1.2823, 1.2873) agree to within 1e-3.
    assert_allclose(_quadrature_bayes_nll(name), PROBLEMS[name][2], atol=1e-3)


def test_bayes_nll_by_sampling(problem):
    # The generator and the density agree: the Monte Carlo Bayes NLL lands
    # within about 3 standard errors (~0.006 at 20k rows) of the exact value.
    make, log_density, bayes_nll, _ = problem
    X, y = make(20_000, random_state=0)
    logp = log_density(X, y)
    se = logp.std() / np.sqrt(logp.size)
    assert abs(-logp.mean() - bayes_nll) < 3 * se


def test_log_density_outside_support():
    X = np.array([[0.5], [0.5], [0.5]])
    assert_array_equal(inverse_sine_log_density(X, [-0.1, 1.2, 0.05]), [-np.inf] * 3)
    assert np.isneginf(smooth_inverse_sine_log_density([[0.0]], [11.0])).all()


@pytest.mark.parametrize(
    "log_density",
    [
        inverse_sine_log_density,
        smooth_inverse_sine_log_density,
        heteroscedastic_log_density,
    ],
)
def test_log_density_validation(log_density):
    with pytest.raises(ValueError, match="one column"):
        log_density(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="different numbers of rows"):
        log_density(np.zeros((3, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="noise"):
        log_density(np.zeros((3, 1)), np.zeros(3), noise=0.0)


# The fast CI version of the density-quality benchmark (benchmarks/density.py):
# MDNRegressor's defaults on Bishop's problem with 2000 training rows, scored
# on 20000 test rows. Measured gaps to the Bayes NLL (seeds 0, 1, 2): 0.19,
# 0.21, 0.17 with the first defaults (K=5, 200 epochs), 0.12, 0.17, 0.14 with
# the tuned ones (K=10, early stopping, noise regularisation); about 0.70 for
# a single component. The bound separates a working mixture from a unimodal
# fit by a wide margin and leaves room for seed-to-seed spread.
BISHOP_GAP_BOUND = 0.25


def _bishop_gap(**params):
    X, y = make_inverse_sine(2000, random_state=0)
    X_test, y_test = make_inverse_sine(20_000, random_state=1)
    # one network: 2000 rows would get an ensemble of five, whose cost is
    # left to the benchmark (benchmarks/density.py)
    est = MDNRegressor(random_state=0, **{"n_networks": 1, **params}).fit(X, y)
    nll = -est.log_prob(X_test, y_test).mean()
    return nll - (-inverse_sine_log_density(X_test, y_test).mean())


def test_bishop_gap_to_bayes_nll():
    gap = _bishop_gap()
    assert 0 < gap < BISHOP_GAP_BOUND


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bishop_gap_bound_rejects_one_component():
    assert _bishop_gap(n_components=1, max_iter=100) > BISHOP_GAP_BOUND
