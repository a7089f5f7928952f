"""Messy real data: constant columns, float32 with large targets, glitches,
warm starts that listen, sparse inputs, the distribution as a sequence."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skmdn import MDNRegressor
from skmdn._preprocessing import Standardisation, weighted_mean_std


def _est(**params):
    params = {
        "n_networks": 1,
        "n_components": 3,
        "hidden_layer_sizes": (16,),
        "max_iter": 60,
        "random_state": 0,
        **params,
    }
    return MDNRegressor(**params)


def _fit(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, **kwargs)


# -- constant columns ------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [0.37, 0.5, -1e4, 3e8])
def test_constant_columns_are_recognised_whatever_n_and_value(dtype, value):
    # the rounding error of a mean grows with n: 0.37 over 2,000 rows left a
    # "scale" of 4e-15 under a fixed threshold
    rng = np.random.RandomState(0)
    for n in (10, 2000, 200_000):
        A = np.c_[rng.normal(size=n), np.full(n, value)].astype(dtype)
        for w in (np.ones(n), rng.uniform(0.1, 3.0, size=n)):
            mean, std = weighted_mean_std(A, w)
            assert std[1] == 1.0
            assert mean[1] == pytest.approx(float(dtype(value)), rel=1e-12)
            assert std[0] != 1.0
    # nearly constant is not constant
    A = np.c_[np.full(1000, 0.37) + 1e-6 * rng.normal(size=1000)]
    assert weighted_mean_std(A, np.ones(1000))[1][0] < 1e-5


def test_a_constant_target_has_a_bounded_density_in_its_own_units():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(1500, 1))
    y = np.c_[np.sin(3 * X[:, 0]) + 0.1 * rng.normal(size=1500), np.full(1500, 0.37)]
    est = _fit(_est(), X[:1000], y[:1000])
    assert est._y_scaler.scale[1] == 1.0
    # held out: about 6 nats from the constant (a Gaussian of sd min_scale),
    # not the 38 nats of a column scaled by 4e-15
    lp = est.log_prob(X[1000:], y[1000:])
    assert np.isfinite(lp).all()
    bound = -np.log(est.min_scale) - 0.5 * np.log(2 * np.pi)
    marginal = est.predict_dist(X[1000:]).marginal(0)
    assert (lp - marginal.logpdf(y[1000:, 0]) <= bound + 1e-9).all()
    # a value off by rounding error changes the density by rounding error
    moved = est.log_prob(X[1000:], y[1000:] + np.array([0.0, 1e-12]))
    assert_allclose(moved, lp, atol=1e-6)


def test_a_constant_feature_is_harmless():
    rng = np.random.RandomState(0)
    X = np.c_[rng.normal(size=400), np.full(400, 0.37)]
    y = X[:, 0] + 0.1 * rng.normal(size=400)
    est = _fit(_est(), X, y, sample_weight=rng.uniform(0.5, 2, size=400))
    assert est._x_scaler.scale[1] == 1.0
    assert np.isfinite(est.predict(X)).all()


# -- dtypes and large offsets ------------------------------------------------------


def test_float32_features_keep_a_large_offset_target_exact():
    # y = 1.7e9 + 100 x + N(0, 1): cast to float32 before centring, y kept two
    # distinct values and the held-out log-likelihood was -2214
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, size=(2000, 1))
    y = 1.7e9 + 100 * x[:, 0] + rng.normal(size=2000)
    scores = {}
    for dtype in (np.float32, np.float64):
        est = _fit(_est(max_iter=150), x[:1500].astype(dtype), y[:1500])
        scores[dtype] = est.log_prob(x[1500:].astype(dtype), y[1500:]).mean()
    # the true density's held-out log-likelihood is about -1.42
    assert scores[np.float32] > -1.6
    assert scores[np.float32] == pytest.approx(scores[np.float64], abs=0.05)


# -- glitches ----------------------------------------------------------------------


def test_a_few_glitches_do_not_set_the_resolution_of_the_model():
    # 3 of 1,500 rows at 1e7: a plain standard deviation made min_scale ~300
    # in y units and the clean rows' log-likelihood -8.1 instead of ~1.5
    rng = np.random.RandomState(0)
    x = rng.uniform(-2, 2, size=(2000, 1))
    y = np.sin(2 * x[:, 0]) + 0.05 * rng.normal(size=2000)
    dirty = y.copy()
    dirty[[10, 500, 1000]] = 1e7
    est = _fit(_est(max_iter=300, n_components=5), x[:1500], dirty[:1500])
    assert est._y_scaler.scale[0] < 1.0  # the bulk's spread, not 3e5
    lp = est.log_prob(x[1500:], y[1500:]).mean()
    assert lp > 1.2  # the true density's: 1.58
    err = np.median(np.abs(est.predict_mode(x[1500:]) - y[1500:]))
    assert err < 0.06  # the noise's median |e| is 0.034
    # the glitches belong to their own component: under the bulk's they
    # would have a log-density of about -1e16
    assert est.log_prob(x[[10]], dirty[[10]])[0] > -20


def test_robust_scaling_leaves_ordinary_targets_alone():
    rng = np.random.RandomState(0)
    w = rng.uniform(0.5, 2, size=3000)
    for column in (
        rng.normal(size=3000),
        rng.uniform(size=3000),
        rng.exponential(size=3000),
        rng.lognormal(sigma=1.0, size=3000),
        np.r_[rng.normal(-3, 0.1, 1500), rng.normal(3, 0.1, 1500)],
    ):
        plain = Standardisation.from_data(column[:, None], w)
        robust = Standardisation.from_data(column[:, None], w, robust=True)
        assert_array_equal(robust.location, plain.location)
        assert_array_equal(robust.scale, plain.scale)


# -- warm starts ---------------------------------------------------------------------


def test_warm_start_takes_the_new_parameters():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2))
    y = X[:, 0] + 0.1 * rng.normal(size=200)
    est = _fit(_est(warm_start=True, max_iter=3, early_stopping=False), X, y)
    assert est._networks[0].optimizer["lr"] == pytest.approx(est.learning_rate_init)
    t0 = est.t_
    est.set_params(learning_rate_init=0.1, batch_size=50, max_iter=2)
    _fit(est, X, y)
    assert est._networks[0].optimizer["lr"] == pytest.approx(0.1)
    assert est.t_ - t0 == 2 * 4  # two epochs of four batches
    assert est.n_iter_ == 5
    # patience: with n_iter_no_change=1 and a tolerance no step can meet
    est.set_params(n_iter_no_change=1, tol=1e9, max_iter=50, learning_rate="constant")
    _fit(est, X, y)
    assert est.n_iter_ == 7


# -- the distribution as a sequence -------------------------------------------------


def test_distribution_follows_python_sequence_rules():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 1))
    est = _fit(_est(max_iter=2), X, X[:, 0])
    dist = est.predict_dist(X[:4])
    rows = list(dist)
    assert len(rows) == 4
    assert_allclose(rows[2].mean(), dist.mean()[2:3])
    assert_allclose(dist[-1].mean(), dist.mean()[3:])
    with pytest.raises(IndexError):
        dist[4]
    with pytest.raises(IndexError):
        dist[-5]


# -- sparse inputs ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_inputs_fit_as_their_dense_arrays(fmt):
    # OneHotEncoder's default output: densified for the dense first layer
    rng = np.random.RandomState(0)
    codes = rng.randint(0, 6, size=300)
    dense = np.eye(6)[codes]
    y = codes / 3.0 + 0.1 * rng.normal(size=300)
    X = sp.csr_matrix(dense).asformat(fmt)
    a = _fit(_est(max_iter=5), X, y)
    b = _fit(_est(max_iter=5), dense, y)
    assert_array_equal(a.predict(X), b.predict(dense))
    assert_array_equal(a.predict_dist(X).means, b.predict_dist(dense).means)


def test_integer_weights_act_as_repeated_rows_in_the_standardisation():
    rng = np.random.RandomState(0)
    A = np.c_[rng.normal(size=300), rng.normal(size=300)]
    A[:3, 1] = 1e7  # the robust path
    w = rng.randint(0, 4, size=300).astype(float)
    weighted = Standardisation.from_data(A, w, robust=True)
    repeated = Standardisation.from_data(
        A.repeat(w.astype(int), axis=0), np.ones(int(w.sum())), robust=True
    )
    assert weighted.scale[1] < 10  # the robust scale was used
    assert_allclose(weighted.location, repeated.location, rtol=1e-12)
    assert_allclose(weighted.scale, repeated.scale, rtol=1e-12)
