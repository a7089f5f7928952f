"""The distribution and its views through Pipelines, searches and target transforms."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    QuantileTransformer,
    StandardScaler,
)

from skmdn import MDNRegressor, MixtureDistribution
from skmdn.interop import (
    log_prob,
    predict_dist,
    predict_interval,
    predict_quantiles,
    sample,
)
from skmdn.metrics import log_likelihood_scorer

pd = pytest.importorskip("pandas")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

LEVELS = [0.05, 0.5, 0.95]


def _mdn(**params):
    return MDNRegressor(
        hidden_layer_sizes=(8,), max_iter=5, n_networks=1, random_state=0, **params
    )


def _frame(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(
        {"x": rng.uniform(-1, 1, n), "group": rng.choice(["a", "b"], n)},
        index=np.arange(100, 100 + n),
    )
    y = 2 * X["x"].to_numpy() + (X["group"] == "b") + 0.1 * rng.normal(size=n)
    return X, y


@pytest.fixture(scope="module")
def search():
    """GridSearchCV(Pipeline([ColumnTransformer, MDNRegressor])) and its data."""
    X, y = _frame()
    columns = ColumnTransformer(
        [("num", StandardScaler(), ["x"]), ("cat", OneHotEncoder(), ["group"])]
    )
    pipe = Pipeline([("columns", columns), ("mdn", _mdn())])
    grid = {"mdn__n_components": [1, 2]}
    found = GridSearchCV(pipe, grid, cv=2, scoring=log_likelihood_scorer)
    return found.fit(X, y), X, y


def _inner(search, X):
    """The MDN and the inputs it sees."""
    pipe = search.best_estimator_
    return pipe[-1], pipe[:-1].transform(X)


def test_each_view_reaches_through_pipeline_and_search(search):
    found, X, y = search
    mdn, Xt = _inner(found, X)
    for estimator in (found, found.best_estimator_):
        dist = predict_dist(estimator, X)
        assert isinstance(dist, MixtureDistribution)
        assert_allclose(dist.mean(), mdn.predict(Xt))
        assert_allclose(predict_quantiles(estimator, X, LEVELS), dist.quantiles(LEVELS))
        lower, upper = predict_interval(estimator, X, 0.8)
        assert_allclose(lower.to_numpy(), mdn.predict_interval(Xt, 0.8)[0])
        assert_allclose(upper.to_numpy(), mdn.predict_interval(Xt, 0.8)[1])
        assert_allclose(log_prob(estimator, X, y), mdn.log_prob(Xt, y))
        draws = sample(estimator, X, n_samples=3, random_state=0)
        assert_allclose(draws, mdn.sample(Xt, n_samples=3, random_state=0))


def test_views_of_a_dataframe_are_indexed_like_it(search):
    found, X, _ = search
    mdn, Xt = _inner(found, X)
    q = predict_quantiles(found, X, LEVELS)
    assert list(q.index) == list(X.index)
    assert list(q.columns) == LEVELS
    assert_allclose(q.to_numpy(), mdn.predict_quantiles(Xt, LEVELS))
    lower, upper = predict_interval(found, X)
    assert lower.name == "lower"
    assert upper.name == "upper"
    assert list(upper.index) == list(X.index)
    lower, _ = predict_interval(found, X, [0.5, 0.9])
    assert list(lower.columns) == [0.5, 0.9]


def test_a_bare_model_gives_what_its_methods_give():
    X, y = np.random.RandomState(0).normal(size=(60, 2)), np.arange(60.0) / 60
    est = _mdn().fit(X, y)
    assert_allclose(predict_quantiles(est, X, 0.3), est.predict_quantiles(X, 0.3))
    assert_allclose(predict_interval(est, X)[1], est.predict_interval(X)[1])
    assert_allclose(log_prob(est, X, y), est.log_prob(X, y))


@pytest.mark.parametrize("transformer", [None, StandardScaler(), MinMaxScaler()])
def test_affine_target_transform_maps_the_distribution_exactly(transformer):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 2))
    Y = np.column_stack([30 + 5 * X[:, 0], -2 * X[:, 1]]) + rng.normal(size=(80, 2))
    for y in (Y[:, 0], Y):
        ttr = TransformedTargetRegressor(_mdn(), transformer=transformer).fit(X, y)
        dist = predict_dist(ttr, X)
        assert_allclose(dist.mean(), ttr.predict(X), rtol=1e-10)
        inner = ttr.regressor_.predict_dist(X)
        z = ttr.transformer_.transform(np.reshape(y, (len(y), -1)))
        # log p(y) = log p(z) + log |dz/dy|, one slope per target
        slope = ttr.transformer_.transform(np.ones((1, z.shape[1]))) - (
            ttr.transformer_.transform(np.zeros((1, z.shape[1])))
        )
        expected = inner.logpdf(z) + np.log(np.abs(slope)).sum()
        assert_allclose(log_prob(ttr, X, y), expected, rtol=1e-10)
        q = predict_quantiles(ttr, X, LEVELS)
        assert_allclose(q, dist.quantiles(LEVELS))
        assert q.shape == ((80, 3) if y.ndim == 1 else (80, 3, 2))


def test_monotone_target_transform_keeps_quantiles_and_samples_exact():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 1))
    y = np.exp(X[:, 0] + 0.3 * rng.normal(size=80))
    log_ttr = TransformedTargetRegressor(_mdn(), func=np.log, inverse_func=np.exp)
    log_ttr.fit(X, y)
    inner = log_ttr.regressor_
    assert_allclose(
        predict_quantiles(log_ttr, X, LEVELS),
        np.exp(inner.predict_quantiles(X, LEVELS)),
    )
    lower, upper = predict_interval(log_ttr, X, 0.9)
    assert_allclose(lower, np.exp(inner.predict_interval(X, 0.9)[0]))
    assert_allclose(upper, np.exp(inner.predict_interval(X, 0.9)[1]))
    assert_allclose(
        sample(log_ttr, X, 4, random_state=1),
        np.exp(inner.sample(X, 4, random_state=1)),
    )
    # a decreasing transform swaps the tails
    neg = TransformedTargetRegressor(
        _mdn(), func=np.negative, inverse_func=np.negative, check_inverse=False
    ).fit(X, y)
    assert_allclose(
        predict_quantiles(neg, X, LEVELS),
        -neg.regressor_.predict_quantiles(X, LEVELS[::-1]),
    )
    with pytest.raises(ValueError, match="exact only when its target transform"):
        predict_dist(log_ttr, X)
    with pytest.raises(ValueError, match="exact only when its target transform"):
        log_prob(log_ttr, X, y)


def test_target_transform_that_is_not_monotone_raises():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 1))
    y = X[:, 0] + 0.5 * rng.normal(size=60)
    square = TransformedTargetRegressor(
        _mdn(), func=np.square, inverse_func=np.square, check_inverse=False
    ).fit(X, y)
    with pytest.raises(ValueError, match="not monotone"):
        predict_quantiles(square, X, LEVELS)
    # samples need no monotone map
    assert sample(square, X, 2, random_state=0).min() >= 0


def test_quantile_transformer_target_is_exact_for_quantiles():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 1))
    y = np.exp(X[:, 0] + 0.3 * rng.normal(size=80))
    ttr = TransformedTargetRegressor(
        _mdn(), transformer=QuantileTransformer(n_quantiles=50)
    ).fit(X, y)
    q = predict_quantiles(ttr, X, LEVELS)
    assert (np.diff(q, axis=1) >= 0).all()


def test_errors_name_what_is_missing():
    with pytest.raises(TypeError, match="predict_dist"):
        predict_dist(make_pipeline(StandardScaler()), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="quantiles must be"):
        predict_quantiles(_mdn(), np.zeros((2, 1)), [[0.5]])
    with pytest.raises(ValueError, match="n_samples"):
        sample(_mdn(), np.zeros((2, 1)), 0)


def test_scorers_score_an_affine_target_transform_in_the_targets_units():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 1))
    y = 100 + 10 * X[:, 0] + rng.normal(size=60)
    ttr = TransformedTargetRegressor(_mdn(), transformer=StandardScaler()).fit(X, y)
    assert_allclose(log_likelihood_scorer(ttr, X, y), log_prob(ttr, X, y).mean())


def test_html_repr_links_to_the_api_reference():
    from skmdn.interop import MDNQuantileRegressor

    url = "https://skmdn.readthedocs.io/en/stable/generated/skmdn.MDNRegressor.html"
    assert url in _mdn()._repr_html_()
    assert url in make_pipeline(StandardScaler(), _mdn())._repr_html_()
    view = MDNQuantileRegressor(_mdn())
    assert "generated/skmdn.interop.MDNQuantileRegressor.html" in view._repr_html_()
