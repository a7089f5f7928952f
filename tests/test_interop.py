"""skmdn next to the tools users already have: pandas, metadata routing, wrappers."""

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import BaggingRegressor
from sklearn.linear_model import RANSACRegressor
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmdn import MDNRegressor
from skmdn.interop import skops_trusted_types
from skmdn.metrics import log_likelihood, log_likelihood_scorer, neg_crps_scorer

pd = pytest.importorskip("pandas")

# The models here are tiny and trained briefly on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    noise = 0.05 + 0.5 * (X[:, 0] > 0)  # two noise levels
    y = X[:, 0] + X[:, 1] + rng.normal(size=n) * noise
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    est = MDNRegressor(n_components=2, n_networks=1, max_iter=40, random_state=0)
    return est.fit(X, y), X, y


@pytest.fixture(scope="module")
def fitted_2d():
    X, y = _data()
    Y = np.column_stack([y, -2 * y])
    est = MDNRegressor(n_components=2, n_networks=1, max_iter=20, random_state=0)
    return est.fit(X, Y), X, Y


def test_predict_var_is_the_square_of_the_std(fitted, fitted_2d):
    for est, X, _ in (fitted, fitted_2d):
        var = est.predict_var(X[:7])
        _, std = est.predict(X[:7], return_std=True)
        assert var.shape == std.shape
        assert_allclose(var, std**2, rtol=1e-12)
        assert_allclose(var, est.predict_dist(X[:7]).var(), rtol=1e-12)


def test_quantiles_and_intervals_of_a_dataframe_keep_its_index(fitted):
    est, X, _ = fitted
    frame = pd.DataFrame(X[:5], columns=["a", "b"], index=list("vwxyz"))
    est_df = clone(est).fit(pd.DataFrame(X, columns=["a", "b"]), fitted[2])
    levels = [0.05, 0.5, 0.95]
    q = est_df.predict_quantiles(frame, levels)
    assert isinstance(q, pd.DataFrame)
    assert list(q.index) == list("vwxyz")
    assert list(q.columns) == levels
    assert q.columns.name == "quantile"
    assert_allclose(q.to_numpy(), est_df.predict_dist(frame).quantiles(levels))
    lower, upper = est_df.predict_interval(frame, 0.9)
    assert isinstance(lower, pd.Series)
    assert (lower.name, upper.name) == ("lower", "upper")
    assert list(upper.index) == list("vwxyz")
    assert_allclose(lower.to_numpy(), q[0.05].to_numpy(), rtol=1e-12)
    lower, upper = est_df.predict_interval(frame, [0.5, 0.9])
    assert list(lower.columns) == [0.5, 0.9]
    assert lower.columns.name == "confidence"
    assert_allclose(upper[0.9].to_numpy(), q[0.95].to_numpy(), rtol=1e-12)
    # arrays in, arrays out
    assert isinstance(est.predict_quantiles(X[:5], levels), np.ndarray)
    assert isinstance(est.predict_interval(X[:5])[0], np.ndarray)


def test_several_targets_get_target_by_level_columns(fitted_2d):
    est, X, _ = fitted_2d
    frame = pd.DataFrame(X[:4], index=[10, 11, 12, 13])
    q = est.predict_quantiles(frame, [0.1, 0.9])
    assert q.columns.names == ["target", "quantile"]
    assert list(q.columns) == [(0, 0.1), (0, 0.9), (1, 0.1), (1, 0.9)]
    arr = est.predict_quantiles(frame.to_numpy(), [0.1, 0.9])  # (n, levels, D)
    assert_allclose(q[(1, 0.9)].to_numpy(), arr[:, 1, 1])
    assert_allclose(q[0].to_numpy(), arr[:, :, 0])
    lower, _ = est.predict_interval(frame, 0.8)
    assert list(lower.columns) == [0, 1]
    assert lower.columns.name == "target"
    lower, _ = est.predict_interval(frame, [0.5, 0.8])
    assert list(lower.columns) == [(0, 0.5), (0, 0.8), (1, 0.5), (1, 0.8)]
    assert_array_equal(lower.index, [10, 11, 12, 13])
    assert_allclose(lower[(0, 0.8)].to_numpy(), q[(0, 0.1)].to_numpy(), rtol=1e-12)


def test_routed_sample_weight_reaches_the_scorer():
    X, y = _data(n=240, seed=1)
    w = np.where(X[:, 0] > 0, 8.0, 1.0)  # weights the noisy half
    est = MDNRegressor(n_components=1, n_networks=1, max_iter=30, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = est.set_fit_request(sample_weight=True)
        weighted = log_likelihood_scorer.set_score_request(sample_weight=True)
        unweighted = log_likelihood_scorer.set_score_request(sample_weight=False)
        kwargs = {"params": {"sample_weight": w}, "cv": 3}
        res = cross_validate(
            est,
            X,
            y,
            scoring=weighted,
            return_estimator=True,
            return_indices=True,
            **kwargs,
        )
        plain = cross_validate(est, X, y, scoring=unweighted, **kwargs)
        # the request has not leaked into the shared constant: unset is an error
        with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError):
            cross_validate(est, X, y, scoring=log_likelihood_scorer, **kwargs)
        both = cross_validate(
            est,
            X,
            y,
            scoring={
                "ll": weighted,
                "crps": neg_crps_scorer.set_score_request(sample_weight=True),
            },
            **kwargs,
        )
    for model, test, score in zip(
        res["estimator"], res["indices"]["test"], res["test_score"], strict=True
    ):
        dist = model.predict_dist(X[test])
        want = log_likelihood(y[test], dist, sample_weight=w[test])
        assert score == pytest.approx(want, rel=1e-12)
        assert score != pytest.approx(log_likelihood(y[test], dist), rel=1e-3)
    assert (np.abs(res["test_score"] - plain["test_score"]) > 1e-2).all()
    assert_allclose(both["test_ll"], res["test_score"], rtol=1e-12)
    assert (
        repr(weighted) == "log_likelihood_scorer.set_score_request(sample_weight=True)"
    )
    assert repr(log_likelihood_scorer) == "log_likelihood_scorer"


def test_set_score_request_needs_routing():
    with pytest.raises(RuntimeError, match="enable_metadata_routing"):
        log_likelihood_scorer.set_score_request(sample_weight=True)


class _KeepsFittedClone(RegressorMixin, BaseEstimator):
    """A wrapper that fits a clone into ``estimator_`` and predicts with it."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        self.estimator_ = clone(self.estimator).fit(X, y)
        return self

    def predict(self, X):
        return self.estimator_.predict(X)


def test_scorers_reach_through_wrappers(fitted):
    est, X, y = fitted
    want = log_likelihood_scorer(est, X, y)
    wrapped = _KeepsFittedClone(clone(est)).fit(X, y)
    assert log_likelihood_scorer(wrapped, X, y) == pytest.approx(want, rel=1e-12)
    nested = make_pipeline(StandardScaler(), _KeepsFittedClone(clone(est))).fit(X, y)
    inner = nested[-1].estimator_
    direct = log_likelihood(y, inner.predict_dist(nested[0].transform(X)))
    assert log_likelihood_scorer(nested, X, y) == pytest.approx(direct, rel=1e-12)
    # RANSAC predicts with its fitted estimator_: reached
    ransac = RANSACRegressor(clone(est), min_samples=0.9, max_trials=1, random_state=0)
    ransac = ransac.fit(X, y)
    direct = log_likelihood(y, ransac.estimator_.predict_dist(X))
    assert log_likelihood_scorer(ransac, X, y) == pytest.approx(direct, rel=1e-12)
    # bagging keeps its (here fitted) template in estimator_; it is not the
    # ensemble's distribution, so it is refused
    bagging = BaggingRegressor(est, n_estimators=2, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="predict_dist"):
        log_likelihood_scorer(bagging, X, y)
    with pytest.raises(TypeError, match="predict_dist"):
        log_likelihood_scorer(_KeepsFittedClone(est), X, y)  # not fitted


def test_scorers_reach_dask_ml_wrappers(fitted):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    est, X, y = fitted
    incremental = wrappers.Incremental(clone(est)).fit(X, y)  # one partial_fit
    model = incremental.estimator_
    want = log_likelihood(y, model.predict_dist(X))
    assert log_likelihood_scorer(incremental, X, y) == pytest.approx(want, rel=1e-12)
    post = wrappers.ParallelPostFit(clone(est)).fit(X, y)
    assert neg_crps_scorer(post, X, y) == pytest.approx(
        neg_crps_scorer(post.estimator, X, y)
    )
    assert log_likelihood_scorer(post, X, y) == pytest.approx(
        log_likelihood_scorer(est, X, y), rel=1e-12
    )


def test_quantile_view_predicts_one_quantile(fitted):
    from sklearn.exceptions import NotFittedError

    from skmdn.interop import MDNQuantileRegressor

    est, X, y = fitted
    view = MDNQuantileRegressor(est, quantile=0.9, prefit=True)
    assert_allclose(view.predict(X[:9]), est.predict_dist(X[:9]).ppf(0.9))
    assert view.n_features_in_ == 2
    assert view.fit(X, y).estimator_ is est  # prefit: left alone
    # not prefit: fits its own clone, as a scikit-learn meta-estimator
    view = MDNQuantileRegressor(clone(est), quantile=0.1)
    with pytest.raises(NotFittedError):
        view.predict(X)
    assert not hasattr(view, "n_features_in_")
    view = view.fit(X, y)
    assert view.estimator_ is not view.estimator
    assert_allclose(view.predict(X[:9]), est.predict_quantiles(X[:9], 0.1)[:, 0])
    assert clone(view).get_params()["quantile"] == 0.1
    with pytest.raises(ValueError, match="quantile"):
        MDNQuantileRegressor(clone(est), quantile=1.0).fit(X, y)
    with pytest.raises(NotFittedError):
        MDNQuantileRegressor(clone(est), prefit=True).predict(X)


def test_mapie_quantile_estimators_are_lower_upper_median(fitted):
    from sklearn.exceptions import NotFittedError

    from skmdn.interop import mapie_quantile_estimators

    est = fitted[0]
    views = mapie_quantile_estimators(est, 0.8)
    assert_allclose([v.quantile for v in views], [0.1, 0.9, 0.5])
    assert all(v.estimator is est and v.prefit for v in views)
    with pytest.raises(NotFittedError):
        mapie_quantile_estimators(clone(est))
    with pytest.raises(ValueError, match="confidence_level"):
        mapie_quantile_estimators(est, 1.0)


def test_mapie_conformalizes_skmdn_quantiles():
    regression = pytest.importorskip("mapie.regression")
    from skmdn.interop import mapie_quantile_estimators

    X, y = _data(n=1500, seed=2)
    train, cal, test = slice(0, 500), slice(500, 1000), slice(1000, None)
    est = MDNRegressor(n_components=2, n_networks=1, max_iter=60, random_state=0)
    est = est.fit(X[train], y[train])
    cqr = regression.ConformalizedQuantileRegressor(
        mapie_quantile_estimators(est, 0.9), confidence_level=0.9, prefit=True
    ).conformalize(X[cal], y[cal])
    _, bounds = cqr.predict_interval(X[test])
    lower, upper = bounds[:, 0, 0], bounds[:, 1, 0]
    q_lo, q_hi = est.predict_interval(X[test], 0.9)
    # CQR moves skmdn's own quantiles by one calibrated constant per end
    assert np.ptp(q_lo - lower) < 1e-9
    assert np.ptp(upper - q_hi) < 1e-9
    inside = (lower <= y[test]) & (y[test] <= upper)
    assert 0.85 < inside.mean() < 0.96


def test_skops_dumps_and_loads_a_fitted_model(fitted):
    sio = pytest.importorskip("skops.io")
    est, X, _ = fitted
    blob = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=blob)
    assert "skmdn._estimator.MDNRegressor" in untrusted
    restored = sio.loads(blob, trusted=untrusted)
    # only skmdn's own documented types: no private type of scikit-learn
    assert set(untrusted) <= set(skops_trusted_types())
    dist, want = restored.predict_dist(X[:20]), est.predict_dist(X[:20])
    assert_array_equal(dist.means, want.means)
    assert_array_equal(dist.scales, want.scales)
    assert_array_equal(
        sio.loads(
            sio.dumps(dist), trusted=["skmdn._distribution.MixtureDistribution"]
        ).weights,
        want.weights,
    )
