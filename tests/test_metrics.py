"""skmdn.metrics: scores of predictive distributions and the scorers."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from skmdn import MDNRegressor, MixtureDistribution
from skmdn.datasets import make_inverse_sine
from skmdn.metrics import (
    calibration_error,
    crps,
    interval_coverage,
    log_likelihood,
    log_likelihood_scorer,
    neg_crps_scorer,
    pit,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _normal(mu, sigma, squeeze=True):
    mu, sigma = np.asarray(mu, float), np.asarray(sigma, float)
    n = mu.shape[0]
    D = 1 if mu.ndim == 1 else mu.shape[1]
    return MixtureDistribution(
        np.ones((n, 1)), mu.reshape(n, 1, D), sigma.reshape(n, 1, D), squeeze=squeeze
    )


def test_log_likelihood_matches_scipy_with_weights():
    rng = np.random.RandomState(0)
    mu, sigma, y = rng.normal(size=20), np.exp(rng.normal(size=20)), rng.normal(size=20)
    w = rng.uniform(size=20)
    expected = np.average(stats.norm.logpdf(y, mu, sigma), weights=w)
    assert log_likelihood(y, _normal(mu, sigma), sample_weight=w) == pytest.approx(
        expected
    )


def test_crps_per_target_and_averaged():
    rng = np.random.RandomState(0)
    mu, sigma, y = (
        rng.normal(size=(30, 2)),
        np.exp(rng.normal(size=(30, 2))),
        rng.normal(size=(30, 2)),
    )
    dist = _normal(mu, sigma, squeeze=False)
    raw = crps(y, dist, multioutput="raw_values")
    assert raw.shape == (2,)
    z = (y - mu) / sigma
    ref = sigma * (
        z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi)
    )
    assert_allclose(raw, ref.mean(0), rtol=1e-12)
    assert crps(y, dist) == pytest.approx(ref.mean())
    with pytest.raises(ValueError, match="multioutput"):
        crps(y, dist, multioutput="variance_weighted")


def test_pit_is_uniform_for_the_true_distribution():
    rng = np.random.RandomState(0)
    mu, sigma = rng.normal(size=4000), np.exp(rng.normal(size=4000))
    y = rng.normal(mu, sigma)
    dist = _normal(mu, sigma)
    u = pit(y, dist)
    assert stats.kstest(u, "uniform").pvalue > 0.01
    assert calibration_error(y, dist) < 0.03
    assert interval_coverage(y, dist, confidence=0.8) == pytest.approx(0.8, abs=0.02)
    # an over-confident forecast is caught by every calibration metric
    narrow = _normal(mu, sigma / 3)
    assert calibration_error(y, narrow) > 0.2
    assert interval_coverage(y, narrow, confidence=0.8) < 0.5


def test_metrics_reject_bad_inputs():
    dist = _normal([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(TypeError, match="MixtureDistribution"):
        log_likelihood([0.0, 1.0], np.zeros(2))
    with pytest.raises(ValueError, match="pair with the rows"):
        crps([0.0, 1.0, 2.0], dist)
    with pytest.raises(ValueError, match="NaN"):
        pit([np.nan, 1.0], dist)
    with pytest.raises(ValueError, match="sample_weight"):
        log_likelihood([0.0, 1.0], dist, sample_weight=[1.0])
    with pytest.raises(ValueError, match="n_bins"):
        calibration_error([0.0, 1.0], dist, n_bins=0)


def test_scorers_are_greater_is_better_and_route_sample_weight():
    X, y = make_inverse_sine(300, random_state=0)
    est = MDNRegressor(n_components=3, max_iter=20, random_state=0).fit(X, y)
    dist = est.predict_dist(X)
    assert log_likelihood_scorer(est, X, y) == pytest.approx(log_likelihood(y, dist))
    assert neg_crps_scorer(est, X, y) == pytest.approx(-crps(y, dist))
    w = np.linspace(0, 1, 300)
    assert log_likelihood_scorer(est, X, y, sample_weight=w) == pytest.approx(
        log_likelihood(y, dist, sample_weight=w)
    )
    assert repr(log_likelihood_scorer) == "log_likelihood_scorer"
    res = cross_validate(
        est, X, y, cv=2, scoring={"ll": log_likelihood_scorer, "crps": neg_crps_scorer}
    )
    assert np.isfinite(res["test_ll"]).all()
    assert (res["test_crps"] < 0).all()


def _simplest_within_one_standard_error(cv_results):
    # scikit-learn's documented refit-callable pattern: the fewest components
    # whose mean CV score is within one standard error of the best
    mean = cv_results["mean_test_score"]
    se = cv_results["std_test_score"] / np.sqrt(3)
    best = np.argmax(mean)
    ok = np.flatnonzero(mean >= mean[best] - se[best])
    k = np.asarray(cv_results["param_n_components"], dtype=int)
    return int(ok[np.argmin(k[ok])])


def _grid_search(X, y):
    grid = GridSearchCV(
        MDNRegressor(
            n_networks=1, hidden_layer_sizes=(32,), n_iter_no_change=30, random_state=0
        ),
        {"n_components": [1, 3, 5]},
        scoring=log_likelihood_scorer,
        cv=KFold(3, shuffle=True, random_state=0),
        refit=_simplest_within_one_standard_error,
    )
    return grid.fit(X, y)


def test_grid_search_on_log_likelihood_finds_the_branches():
    X, y = make_inverse_sine(900, random_state=0)
    grid = _grid_search(X, y)
    assert grid.best_params_["n_components"] >= 3
    # the branches are worth a lot of held-out likelihood
    scores = grid.cv_results_["mean_test_score"]
    assert scores[1] > scores[0] + 0.3


def test_grid_search_on_log_likelihood_prefers_one_gaussian_for_linear_data():
    # Extra components can copy the single Gaussian, so their CV scores tie
    # with it up to noise; the one-standard-error rule then picks K = 1.
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(600, 1))
    y = 1.5 * X[:, 0] + 0.5 + rng.normal(scale=0.4, size=600)
    grid = _grid_search(X, y)
    assert grid.best_params_["n_components"] == 1
    scores = grid.cv_results_["mean_test_score"]
    assert np.ptp(scores) < 0.05


def test_scorers_accept_a_pipeline_ending_in_an_mdn():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_inverse_sine(200, random_state=0)
    pipe = make_pipeline(StandardScaler(), MDNRegressor(max_iter=5, random_state=0))
    pipe.fit(X, y)
    expected = log_likelihood(y, pipe[-1].predict_dist(pipe[0].transform(X)))
    assert log_likelihood_scorer(pipe, X, y) == pytest.approx(expected)
    with pytest.raises(TypeError, match="predict_dist"):
        log_likelihood_scorer(StandardScaler().fit(X), X, y)
