"""The built-in trunk's piecewise-linear encoding of the inputs."""

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from skmdn import MDNRegressor
from skmdn._encoding import PiecewiseLinear
from skmdn._head import MixtureHead
from skmdn._network import MLP

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_bins_lie_between_the_quantiles_and_merge_repeated_ones():
    rng = np.random.RandomState(0)
    X = np.column_stack(
        [
            rng.normal(size=1001),  # continuous: 4 bins between quantiles
            rng.randint(0, 3, size=1001).astype(float),  # 3 values: 2 bins
            np.ones(1001),  # constant: the feature alone
            rng.randint(0, 2, size=1001).astype(float),  # binary: the feature alone
        ]
    )
    enc = PiecewiseLinear.from_data(X, 4)
    assert_array_equal(enc.feature, [0, 0, 0, 0, 1, 1])
    assert enc.n_outputs == 4 + 6  # the features, then their bins
    edges = np.quantile(X[:, 0], [0, 0.25, 0.5, 0.75, 1], method="inverted_cdf")
    assert_array_equal(enc.lower[:4], edges[:-1])
    assert_allclose(enc.inv_width[:4], 1 / np.diff(edges))
    assert_array_equal(enc.lower[4:], [0.0, 1.0])
    assert_array_equal(enc.inv_width[4:], [1.0, 1.0])
    # binary and constant features only: the features themselves
    alone = PiecewiseLinear.from_data(X[:, 2:], 4)
    assert alone.n_outputs == 2
    assert_array_equal(alone.numpy(X[:5, 2:]), X[:5, 2:])
    assert_array_equal(alone.torch(torch.as_tensor(X[:5, 2:])).numpy(), X[:5, 2:])


def test_weights_act_as_repeated_rows():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(50, 2))
    w = rng.randint(1, 4, size=50)
    weighted = PiecewiseLinear.from_data(X, 5, w.astype(float))
    repeated = PiecewiseLinear.from_data(np.repeat(X, w, axis=0), 5)
    assert weighted == repeated
    assert weighted != PiecewiseLinear.from_data(X, 5)


def test_the_encoding_is_each_inputs_position_in_each_bin():
    enc = PiecewiseLinear(
        n_features=3,
        feature=np.array([0, 0, 0, 1, 2]),
        lower=np.array([0.0, 1.0, 3.0, -1.0, 5.0]),
        inv_width=np.array([1.0, 0.5, 1.0, 1.0, 0.0]),
    )
    X = np.array(
        [
            [-5.0, 7.0, 5.0],
            [0.5, -0.5, 5.0],
            [2.0, 0.0, 5.0],
            [3.5, -2.0, 5.0],
            [9.0, 1.0, 6.0],
        ]
    )
    bins = np.array(
        [
            [0, 0, 0, 1, 0],  # below the first bin, above the only one
            [0.5, 0, 0, 0.5, 0],
            [1, 0.5, 0, 1, 0],
            [1, 1, 0.5, 0, 0],  # a bin of zero slope stays 0
            [1, 1, 1, 1, 0],  # above the range: constant
        ]
    )
    expected = np.hstack([X, bins])  # the features, then their bins
    assert_array_equal(enc.numpy(X), expected)
    for dtype in (torch.float64, torch.float32):
        out = enc.torch(torch.as_tensor(X, dtype=dtype))
        assert out.dtype == dtype
        assert_array_equal(out.numpy(), expected)
    # a leading axis of networks
    stacked = np.stack([X, X[::-1]])
    assert_array_equal(enc.numpy(stacked)[1], expected[::-1])
    assert_array_equal(enc.torch(torch.as_tensor(stacked)).numpy(), enc.numpy(stacked))


def test_the_cached_tensors_are_not_pickled():
    enc = PiecewiseLinear.from_data(np.arange(10.0)[:, None], 3)
    enc.torch(torch.zeros(2, 1, dtype=torch.float64))
    again = pickle.loads(pickle.dumps(enc))
    assert "_cache" not in again.__dict__
    assert again == enc
    assert hash(again) == hash(enc)


def test_the_numpy_forward_of_prediction_is_the_training_forward():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(40, 3, generator=gen, dtype=torch.float64)
    head = MixtureHead(n_components=3, n_outputs=1, min_scale=1e-3)
    trunk = MLP(3, (6, 5), head.width, "tanh", piecewise_linear_bins=4)
    trunk = trunk.fitted(X[:30].numpy(), None)  # 10 rows fall outside the bins
    bias = head.init_bias(np.zeros((3, 1)), np.ones((3, 1)))
    params = trunk.init_params(gen, torch.float64, bias)
    coefs, intercepts = trunk.to_numpy(params)
    assert_allclose(
        trunk.forward_numpy(coefs, intercepts, X.numpy()),
        trunk.forward(params, X).numpy(),
        rtol=1e-12,
    )
    # (the hand-written gradient through the encoding: tests/test_network.py)


def test_a_linear_head_on_the_encoding_fits_a_kinked_mean():
    # hidden_layer_sizes=() makes the mixture's parameters linear in the
    # first layer's inputs: a kink is out of reach of the raw input and in
    # reach of its encoding
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(2000, 1))
    y = np.abs(X[:, 0]) + 0.02 * rng.normal(size=2000)
    Xt = np.linspace(-0.95, 0.95, 200)[:, None]
    errors = {}
    for bins in (None, 8):
        model = MDNRegressor(
            n_components=1,
            hidden_layer_sizes=(),
            piecewise_linear_bins=bins,
            n_networks=1,
            random_state=0,
        ).fit(X, y)
        errors[bins] = np.sqrt(np.mean((model.predict(Xt) - np.abs(Xt[:, 0])) ** 2))
    assert errors[None] > 0.2  # a line through |x|
    assert errors[8] < 0.03


def test_warm_start_and_partial_fit_keep_the_first_bins():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 2))
    y = X[:, 0] + 0.1 * rng.normal(size=400)
    model = MDNRegressor(piecewise_linear_bins=4, max_iter=5, random_state=0)
    model.fit(X[:200], y[:200])
    bins = model._trunk.encoding
    model.set_params(warm_start=True).fit(X[200:] * 3, y[200:])
    assert model._trunk.encoding == bins
    stream = MDNRegressor(piecewise_linear_bins=4, max_iter=5, random_state=0)
    stream.partial_fit(X[:200], y[:200])
    bins, scaler = stream._trunk.encoding, stream._x_scaler
    stream.partial_fit(X[200:] * 3 + 1, y[200:])
    assert stream._trunk.encoding == bins
    # the standardisation stays the first block's (the bins are in its units)
    assert_array_equal(stream._x_scaler.location, scaler.location)
    assert_array_equal(stream._x_scaler.scale, scaler.scale)
    assert np.isfinite(stream.predict(X)).all()


def test_the_first_layer_takes_every_bin_and_a_refit_learns_new_bins():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=300)
    model = MDNRegressor(piecewise_linear_bins=5, max_iter=3, random_state=0)
    model.fit(X, y)
    assert model.coefs_[0].shape[1:] == (3 + 15, 64)  # 3 features, 5 bins each
    first = model._trunk.encoding
    model.fit(X**3, y)  # new quantiles, in standardised units too
    assert model._trunk.encoding != first
    with pytest.raises(ValueError, match="changed since the last fit"):
        model.set_params(warm_start=True, piecewise_linear_bins=6).fit(X, y)


def test_with_a_module_it_raises():
    class Trunk(torch.nn.Module):
        def __init__(self, n_features):
            super().__init__()
            self.linear = torch.nn.Linear(n_features, 4)

        def forward(self, x):
            return self.linear(x)

    model = MDNRegressor(module=Trunk, piecewise_linear_bins=4)
    with pytest.raises(ValueError, match="encode them inside it"):
        model.fit(np.zeros((20, 2)), np.arange(20.0))


def test_a_model_with_bins_round_trips_through_pickle_and_skops():
    from skmdn.interop import skops_trusted_types

    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2))
    y = X[:, 0] + 0.1 * rng.normal(size=200)
    model = MDNRegressor(piecewise_linear_bins=4, max_iter=5, random_state=0)
    model.fit(X, y)
    want = model.predict(X)
    assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), want)
    sio = pytest.importorskip("skops.io")
    blob = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=blob)
    assert "skmdn._encoding.PiecewiseLinear" in untrusted
    assert set(untrusted) <= set(skops_trusted_types())
    assert_array_equal(sio.loads(blob, trusted=untrusted).predict(X), want)


def test_float32_inputs_train_and_predict_in_float32():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 2)).astype(np.float32)
    y = np.sign(X[:, 0]) + 0.1 * rng.normal(size=300)
    model = MDNRegressor(piecewise_linear_bins=4, max_iter=5, random_state=0)
    model.fit(X, y)
    assert model.coefs_[0].dtype == np.float32
    assert np.isfinite(model.log_prob(X, y)).all()
