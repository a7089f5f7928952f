"""Ordinary misuse gets the right answer or a clear error, never a silent wrong one.

Each test restates a reported scenario with generated data and checks the
right value: tiny fits, a user's trunk in threads or with BatchNorm or NaN
outputs, and memory bounded by blocks of rows in prediction.
"""

import threading
import tracemalloc
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from torch import nn

from skmdn import MDNRegressor
from skmdn.interop import skops_trusted_types

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class DropoutNet(nn.Module):
    def __init__(self, n_features, p=0.3):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features, 16), nn.Tanh(), nn.Dropout(p), nn.Linear(16, 8)
        )

    def forward(self, x):
        return self.layers(x)


class BatchNormNet(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features, 8), nn.BatchNorm1d(8), nn.Tanh()
        )

    def forward(self, x):
        return self.layers(x)


class NaNNet(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.linear = nn.Linear(n_features, 4)

    def forward(self, x):
        return torch.log(self.linear(x) - 1e6)  # NaN for every input


# -- tiny fits ------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "n_networks"), [(4, 1), (5, 1), (2, 5), (3, 5)])
def test_two_rows_of_one_target_predict_that_target(seed, n_networks):
    # at the default step size the loss blows up (by 4-6 nats here) as the
    # scales collapse onto the constant target; without early stopping the
    # fit ended on the blown-up weights: means 0.36 and 0.37 off (one
    # network), 0.16 and 0.08 (five)
    X = np.random.RandomState(seed).normal(size=(2, 30))
    y = np.array([1.0, 1.0])
    est = MDNRegressor(n_networks=n_networks, early_stopping=False, random_state=seed)
    est.fit(X, y)
    assert np.abs(est.predict(X) - 1.0).max() < 0.05


# -- extrapolation --------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_far_outside_the_data_the_model_is_not_more_confident_than_at_its_edge(
    activation,
):
    rng = np.random.RandomState(0)
    X = rng.uniform(-3, 3, size=(600, 1))
    y = X[:, 0] + 0.3 * rng.normal(size=600)
    est = MDNRegressor(
        activation=activation, n_networks=1, max_iter=60, random_state=0
    ).fit(X, y)
    grid = np.array([[-100.0], [-10.0], [X.min()], [X.max()], [10.0], [100.0]])
    _, std = est.predict(grid, return_std=True)
    assert std[0] >= std[2]
    assert std[1] >= std[2]
    assert std[4] >= std[3]
    assert std[5] >= std[3]


def test_the_range_grows_with_partial_fit_and_warm_start():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, size=(300, 1))
    y = X[:, 0] + 0.1 * rng.normal(size=300)
    w = np.ones(300)
    w[X[:, 0] > 0.9] = 0.0  # rows of weight 0 do not widen the range
    est = MDNRegressor(n_networks=1, max_iter=2, random_state=0)
    est.fit(X, y, sample_weight=w)
    assert est._x_scaler.upper[0] == X[w > 0, 0].max()
    est.partial_fit(X + 1.0, y)
    assert est._x_scaler.upper[0] == X[:, 0].max() + 1.0
    assert est._x_scaler.lower[0] == X[:, 0].min()
    est.set_params(warm_start=True).fit(X - 5.0, y)
    assert est._x_scaler.lower[0] == X[:, 0].min() - 5.0
    # a model saved before the range existed predicts unclipped
    est._x_scaler.lower = est._x_scaler.upper = None
    assert np.isfinite(est.predict(np.array([[50.0]]))).all()


# -- a user's trunk -------------------------------------------------------------


def _regression(n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    return X, X[:, 0] + 0.1 * rng.normal(size=n)


def _dropout_model():
    return MDNRegressor(
        module=DropoutNet, n_networks=1, max_iter=8, random_state=0, batch_size=32
    )


def test_fits_with_a_dropout_trunk_in_threads_equal_serial_fits():
    X, y = _regression()
    serial = _dropout_model().fit(X, y).predict(X)
    models = [_dropout_model() for _ in range(3)]
    threads = [threading.Thread(target=m.fit, args=(X, y)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for model in models:
        assert_array_equal(model.predict(X), serial)


def test_a_fit_with_a_module_leaves_torchs_generator_alone():
    X, y = _regression()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _dropout_model().fit(X, y)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("n", [*range(990, 1000), 1024, 1025, 1033, 1040])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_batchnorm_trunk_never_sees_a_batch_of_one_row(n, early_stopping):
    X, y = _regression(n)
    est = MDNRegressor(
        module=BatchNormNet,
        n_networks=1,
        max_iter=1,
        early_stopping=early_stopping,
        random_state=0,
    )
    est.fit(X, y)
    assert np.isfinite(est.predict(X[:5])).all()


def test_a_module_with_non_finite_outputs_is_named_in_the_error():
    X, y = _regression()
    est = MDNRegressor(module=NaNNet, n_networks=1, max_iter=3, random_state=0)
    with pytest.raises(FloatingPointError, match="NaNNet"):
        est.fit(X, y)


# -- memory in prediction -------------------------------------------------------


def test_predict_on_many_rows_works_in_blocks_of_rows():
    X, y = _regression(500)
    est = MDNRegressor(n_networks=2, max_iter=2, random_state=0).fit(X, y)
    X_big = np.random.RandomState(1).uniform(-1, 1, size=(300_000, 2))
    expected = np.concatenate(
        [est.predict(X_big[i : i + 50_000]) for i in range(0, 300_000, 50_000)]
    )
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean = est.predict(X_big)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert_array_equal(mean, expected)
    # about 1 KB a row and network unblocked: 600 MB here; blocked, the
    # result (8 bytes a row) and one block of 8,192 rows (about 20 MB)
    assert peak < 300_000 * 8 + 30e6


# -- saving ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"covariance_type": "full"},
        {"covariance_type": "spherical", "n_networks": 2},
        {"module": DropoutNet},
    ],
)
def test_skops_finds_only_skmdns_documented_types(params):
    sio = pytest.importorskip("skops.io")
    X, y = _regression(100)
    Y = np.c_[y, -y] if "covariance_type" in params else y
    est = MDNRegressor(max_iter=2, random_state=0, **params).fit(X, Y)
    untrusted = set(sio.get_untrusted_types(data=sio.dumps(est)))
    expected = set(skops_trusted_types())
    if "module" in params:
        expected.add(f"{DropoutNet.__module__}.DropoutNet")
    assert untrusted <= expected
    assert not any(t.startswith("sklearn.") for t in untrusted)
    assert len(est.networks_) == est.n_networks_  # still there, not stored
    assert "networks_" not in vars(est)


# -- rows of weight 0 -----------------------------------------------------------


@pytest.mark.parametrize("early_stopping", [True, False])
def test_rows_of_weight_zero_change_nothing(early_stopping):
    # a 3-valued target (dequantised by the 'auto' target noise) beside 2,500
    # rows of continuous junk of weight 0: the junk made the noise rule see a
    # continuous target, and the density spiked (held-out LL -4,279 vs -1.18)
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(500, 1))
    y = rng.randint(0, 3, size=500).astype(float)
    X_junk = rng.uniform(-1, 1, size=(2500, 1))
    y_junk = rng.normal(size=2500)
    w = np.r_[np.ones(500), np.zeros(2500)]
    params = {"max_iter": 30, "random_state": 0, "early_stopping": early_stopping}
    clean = MDNRegressor(**params).fit(X, y)
    mixed = MDNRegressor(**params).fit(np.r_[X, X_junk], np.r_[y, y_junk], w)
    assert mixed.n_networks_ == clean.n_networks_
    grid = np.linspace(-1, 1, 7)[:, None]
    a, b = clean.predict_dist(grid), mixed.predict_dist(grid)
    assert_array_equal(a.means, b.means)
    assert_array_equal(a.scales, b.scales)
