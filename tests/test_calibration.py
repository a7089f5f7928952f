"""Scale calibration: one network's scales fitted to its validation rows."""

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import skmdn._training
from skmdn import MDNRegressor
from skmdn._head import DiscretisedHead, make_head
from skmdn._training import CALIBRATION_BOUND, BaseTrainer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class SmallTrunk(torch.nn.Module):
    """A user's module: one tanh layer."""

    def __init__(self, n_features):
        super().__init__()
        self.layer = torch.nn.Linear(n_features, 32)

    def forward(self, X):
        return torch.tanh(self.layer(X))


class FixedTrainer(BaseTrainer):
    """A trainer whose network gives every row the same outputs."""

    def __init__(self, head, out):
        self.head = head
        self.out = torch.as_tensor(out, dtype=torch.float64)

    def forward(self, m, X):
        return self.out.expand(X.shape[0], -1)


def _validation(Y, w):
    n = len(Y)
    columns = torch.as_tensor(np.asarray(Y, dtype=np.float64).reshape(n, -1))
    weights = torch.as_tensor(np.asarray(w, dtype=np.float64))
    return SimpleNamespace(validation=[(torch.zeros(n, 1), columns, weights)])


def _one_gaussian(head, scale):
    return head.init_bias(np.zeros((1, 1)), np.full((1, 1), scale))


def test_the_factor_is_the_weighted_maximum_likelihood_scale():
    # one Gaussian at 0 with scale 0.5: the best factor is the weighted root
    # mean square of the targets over 0.5
    rng = np.random.RandomState(0)
    y = 1.3 * rng.normal(size=3000)
    w = rng.uniform(0.2, 3.0, size=y.size)
    head = make_head("diagonal", 1, 1, 1e-3)
    trainer = FixedTrainer(head, _one_gaussian(head, 0.5))
    factor = trainer.scale_factor(0, _validation(y, w))
    expected = np.sqrt(np.sum(w * y**2) / np.sum(w)) / 0.5
    assert factor == pytest.approx(expected, rel=2e-3)
    # the weights matter: unweighted, the answer moves
    unweighted = trainer.scale_factor(0, _validation(y, np.ones_like(w)))
    assert unweighted == pytest.approx(np.sqrt(np.mean(y**2)) / 0.5, rel=2e-3)
    assert abs(unweighted - factor) > 0.01


def test_the_factor_stays_within_its_bound():
    head = make_head("diagonal", 1, 1, 1e-3)
    trainer = FixedTrainer(head, _one_gaussian(head, 1.0))
    y = 50.0 * np.random.RandomState(1).normal(size=500)
    factor = trainer.scale_factor(0, _validation(y, np.ones_like(y)))
    assert factor == pytest.approx(CALIBRATION_BOUND, rel=1e-2)


def test_the_factor_of_integer_cells_maximises_their_probability():
    # a discretised Gaussian at 0.3 with scale 0.4, cells of width 1 (in
    # standardised units): the search finds the grid's best factor
    rng = np.random.RandomState(2)
    y = np.round(0.3 + 1.5 * rng.normal(size=2000))
    w = np.ones_like(y)
    head = DiscretisedHead(make_head("diagonal", 1, 1, 1e-3), (0.5,))
    out = head.init_bias(np.full((1, 1), 0.3), np.full((1, 1), 0.4))
    trainer = FixedTrainer(head, out)
    factor = trainer.scale_factor(0, _validation(y, w))
    grid = np.exp(np.linspace(np.log(1.0), np.log(8.0), 2001))
    outs = torch.as_tensor(out).expand(len(y), -1)
    Y = torch.as_tensor(y[:, None])
    scores = [float(head.log_prob(outs, Y, c).sum()) for c in grid]
    assert factor == pytest.approx(grid[np.argmax(scores)], rel=2e-3)


def _data(n=800, seed=0, D=1):
    # eight of the ten features are noise: a network over-fits them
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n, 10))
    y = np.sin(2 * X[:, :1]) + 0.5 * X[:, 1:2] + 0.3 * rng.normal(size=(n, D))
    return X, (y[:, 0] if D == 1 else y)


FAST = {"max_iter": 40, "n_networks": 1, "random_state": 0}


@pytest.mark.parametrize(
    ("params", "D"),
    [
        ({}, 1),
        ({"covariance_type": "full", "max_iter": 100}, 2),
        ({"target_type": "integer"}, 1),
        ({"module": SmallTrunk, "random_state": 1}, 1),
    ],
)
def test_a_single_network_predicts_with_its_scales_times_the_factor(params, D):
    X, y = _data(D=D)
    if params.get("target_type") == "integer":
        y = np.round(3 * y)
    params = {**FAST, **params}
    calibrated = MDNRegressor(**params).fit(X, y)
    plain = MDNRegressor(**params, scale_calibration=None).fit(X, y)
    (factor,) = calibrated.scale_factors_
    assert plain.scale_factors_.tolist() == [1.0]
    assert factor != 1.0
    assert calibrated.networks_[0].scale_factor == factor
    # the training is the same; only the prediction's scales change
    if "module" in params:
        for a, b in zip(calibrated.state_dicts_, plain.state_dicts_, strict=True):
            np.testing.assert_array_equal(a["head.weight"], b["head.weight"])
    else:
        np.testing.assert_array_equal(calibrated.coefs_[-1], plain.coefs_[-1])
    a, b = calibrated.predict_dist(X[:50]), plain.predict_dist(X[:50])
    np.testing.assert_allclose(a.weights, b.weights)
    np.testing.assert_allclose(a.means, b.means)
    if params.get("covariance_type") == "full":
        np.testing.assert_allclose(a.scale_tril, factor * b.scale_tril)
    else:
        np.testing.assert_allclose(a.scales, factor * b.scales)
    if params.get("target_type") != "integer":  # the mean of cells moves
        np.testing.assert_allclose(calibrated.predict(X[:50]), plain.predict(X[:50]))
    restored = pickle.loads(pickle.dumps(calibrated))
    np.testing.assert_array_equal(restored.scale_factors_, [factor])
    np.testing.assert_allclose(
        restored.log_prob(X[:50], y[:50]), calibrated.log_prob(X[:50], y[:50])
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_the_factor_helps_an_overconfident_network_on_new_rows(seed):
    # the network fits its training residuals too closely (factors 1.5 to 2.1,
    # 0.13 to 0.30 nats gained on new rows, seeds 0 to 2)
    X, y = _data(seed=seed)
    X_new, y_new = _data(n=5000, seed=99)
    calibrated = MDNRegressor(**{**FAST, "random_state": seed}).fit(X, y)
    plain = MDNRegressor(**{**FAST, "random_state": seed}, scale_calibration=None)
    plain.fit(X, y)
    assert calibrated.scale_factors_[0] > 1.2
    gain = calibrated.log_prob(X_new, y_new) - plain.log_prob(X_new, y_new)
    assert gain.mean() > 0.05


def test_a_well_calibrated_network_keeps_its_scales():
    # the same signal without the noise features: Akaike's criterion finds
    # no factor worth its noise on the 80 validation rows
    X, y = _data()
    est = MDNRegressor(**FAST).fit(X[:, :2], y)
    assert est.scale_factors_.tolist() == [1.0]


def test_ensembles_and_fits_without_held_out_rows_keep_their_scales(monkeypatch):
    X, y = _data()
    ensemble = MDNRegressor(**{**FAST, "n_networks": 2}).fit(X, y)
    assert ensemble.scale_factors_.tolist() == [1.0, 1.0]
    assert MDNRegressor(**FAST, early_stopping=False).fit(X, y).scale_factors_ == 1.0
    # partial_fit trains on with no held-out rows: the factor is dropped
    est = MDNRegressor(**FAST).fit(X, y)
    assert est.scale_factors_[0] != 1.0
    est.partial_fit(X, y)
    assert est.scale_factors_.tolist() == [1.0]
    # a warm start with early stopping calibrates anew, as the parameter says
    calls = []
    search = BaseTrainer.scale_factor

    def spy(self, m, data):
        calls.append(search(self, m, data))
        return 2.5

    monkeypatch.setattr(BaseTrainer, "scale_factor", spy)
    est.set_params(warm_start=True).fit(X, y)
    assert len(calls) == 1
    assert est.scale_factors_.tolist() == [2.5]
    est.set_params(scale_calibration=None).fit(X, y)
    assert len(calls) == 1
    assert est.scale_factors_.tolist() == [1.0]


def test_the_factor_only_widens():
    # scales three times too wide: the best factor would be 1/3, and the
    # validation rows, which also chose the best epoch, flatter a network;
    # the factor stays 1
    head = make_head("diagonal", 1, 1, 1e-3)
    trainer = FixedTrainer(head, _one_gaussian(head, 3.0))
    y = np.random.RandomState(3).normal(size=2000)
    assert trainer.scale_factor(0, _validation(y, np.ones_like(y))) == 1.0


def test_dequantised_targets_are_not_calibrated(monkeypatch):
    # five distinct target values: target_noise='auto' dequantises them, and a
    # factor fitted to the raw values would narrow the density onto them
    calls = []
    monkeypatch.setattr(BaseTrainer, "scale_factor", lambda *a: calls.append(a) or 1.0)
    X, y = _data()
    y = np.digitize(y, [-1.0, -0.3, 0.3, 1.0]).astype(float)
    est = MDNRegressor(**FAST).fit(X, y)
    assert est.scale_factors_.tolist() == [1.0]
    assert calls == []
    MDNRegressor(**FAST, target_noise=0.0).fit(X, y)
    assert len(calls) == 1


def test_a_warm_start_holds_out_the_first_fits_validation_rows(monkeypatch):
    held_out = []
    split = skmdn._training.validation_split

    def recording(*args, **kwargs):
        held_out.append(split(*args, **kwargs)[1])
        return split(*args, **kwargs)

    monkeypatch.setattr(skmdn._training, "validation_split", recording)
    X, y = _data()
    est = MDNRegressor(**{**FAST, "random_state": None}, warm_start=True)
    est.fit(X, y).fit(X, y)
    assert len(held_out) == 2
    np.testing.assert_array_equal(held_out[0], held_out[1])
    # a fresh fit draws its own
    MDNRegressor(**{**FAST, "random_state": None}).fit(X, y)
    assert not np.array_equal(held_out[0], held_out[2])
