"""A user's torch module as the trunk: the autograd path of MDNRegressor."""

import dataclasses
import io
import math
import pickle

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from torch import nn

import skmdn._module
import skmdn._training
from skmdn import MDNRegressor
from skmdn._batches import TrainingData
from skmdn._head import MixtureHead
from skmdn._module import ModuleTrainer, flatten_
from skmdn._network import MLP, FusedTrainer
from skmdn._optim import LR_BACKOFF, AdamState, TorchAdam
from skmdn.metrics import log_likelihood_scorer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# -- modules (at the top level, so that fitted models unpickle) --------------


class DropoutTrunk(nn.Module):
    """Two tanh layers with dropout and layer norm."""

    def __init__(self, n_features, width=16, dropout=0.2):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_features, width),
            nn.Tanh(),
            nn.Dropout(dropout),
            nn.Linear(width, width),
            nn.LayerNorm(width),
            nn.Tanh(),
        )

    def forward(self, x):
        return self.layers(x)


class MLPTrunk(nn.Module):
    """The built-in MLP's trunk as a module (tanh hidden layers)."""

    def __init__(self, n_features, hidden=(16,)):
        super().__init__()
        layers, width = [], n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.Tanh()]
            width = h
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class BatchNormTrunk(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.linear = nn.Linear(n_features, 8)
        self.norm = nn.BatchNorm1d(8)

    def forward(self, x):
        return torch.tanh(self.norm(self.linear(x)))


class ModeRecorder(nn.Module):
    """Records ``self.training`` at every forward pass, in a class-level list."""

    modes: list = []  # noqa: RUF012

    def __init__(self, n_features):
        super().__init__()
        self.linear = nn.Linear(n_features, 4)

    def forward(self, x):
        ModeRecorder.modes.append(self.training)
        return torch.tanh(self.linear(x))


class FlakyTrunk(nn.Module):
    """Gives non-finite features at its fourth training forward pass."""

    def __init__(self, n_features):
        super().__init__()
        self.linear = nn.Linear(n_features, 8)
        self.calls = 0

    def forward(self, x):
        h = torch.tanh(self.linear(x))
        if self.training:
            self.calls += 1
            if self.calls == 4:
                return h * float("nan")
        return h


class KwargsTrunk(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs
        self.linear = nn.Linear(kwargs["n_features"], 4)

    def forward(self, x):
        return self.linear(x)


def lazy_trunk(width=8):
    """A factory without ``n_features``: the first layer infers it."""
    return nn.Sequential(nn.LazyLinear(width), nn.Tanh())


def not_a_module(n_features):
    return "a string"


class FlatOutput(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.linear = nn.Linear(n_features, 3)

    def forward(self, x):
        return self.linear(x).sum(-1)  # (batch,), not (batch, m)


def _regression(n=120, n_features=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_features))
    y = X @ rng.normal(size=n_features) + 0.3 * rng.normal(size=n)
    return X, y


def _fast(**params):
    params = {
        "module": DropoutTrunk,
        "n_networks": 1,
        "max_iter": 5,
        "random_state": 0,
        "n_components": 3,
        "batch_size": 32,
        "early_stopping": False,
        "input_noise": 0.0,
        "target_noise": 0.0,
        **params,
    }
    return MDNRegressor(**params)


def _assert_same_dist(a, b):
    assert_array_equal(a.weights, b.weights)
    assert_array_equal(a.means, b.means)
    assert_array_equal(a.scales, b.scales)


# -- the trainer against the fused path ------------------------------------


@pytest.mark.parametrize(("alpha", "clip"), [(0.0, None), (0.1, None), (0.0, 1.0)])
def test_two_epochs_match_the_fused_path_on_the_same_mlp(alpha, clip):
    # same weights, shuffles and Adam: the autograd trainer retraces the
    # fused one step by step (L2 on the weight matrices, not the biases);
    # torch's clipping divides by norm + 1e-6, the fused path by norm + 1e-12
    n, p, K, D = 100, 3, 4, 2
    rng = np.random.RandomState(0)
    X = torch.from_numpy(rng.normal(size=(n, p)))
    Y = torch.from_numpy(rng.normal(size=(n, D)))
    w = torch.from_numpy(rng.uniform(0.5, 2.0, size=n))
    head = MixtureHead(K, D, 1e-3)
    mlp = MLP(
        n_features=p, hidden_layer_sizes=(8, 8), n_out=head.width, activation="tanh"
    )
    out_bias = head.init_bias(rng.normal(size=(K, D)), np.ones((K, D)))
    flat = mlp.init_params(torch.Generator().manual_seed(0), torch.float64, out_bias)
    common = {
        "batch_size": 16,
        "alpha": alpha,
        "clip_grad_norm": clip,  # 1.0 is active: the gradients here exceed it
        "log_det": 0.0,
    }
    fused = FusedTrainer(
        mlp,
        head,
        flat.clone()[None],
        AdamState.zeros_like(flat[None], 0.01),
        generator=torch.Generator().manual_seed(1),
        input_noise=[0.0],
        target_noise=[[0.0] * D],
        **common,
    )

    trunk = MLPTrunk(p, hidden=(8, 8)).double()
    network = skmdn._module.MixtureNetwork(trunk, nn.Linear(8, head.width).double())
    linears = [*trunk.layers[::2], network.head]
    with torch.no_grad():
        for linear, (W, b) in zip(linears, mlp.unflatten(flat), strict=True):
            linear.weight.copy_(W.T)
            linear.bias.copy_(b)
    params = flatten_(network, torch.float64)
    trained = list(network.parameters())
    autograd = ModuleTrainer(
        network,
        params,
        head,
        TorchAdam(trained, 0.01),
        generator=torch.Generator().manual_seed(1),
        input_noise=[0.0],
        target_noise=[[0.0] * D],
        **common,
    )
    tol = 1e-10 if clip is None else 1e-6
    rows = [np.arange(n)]
    data = TrainingData.from_numpy(X.numpy(), Y.numpy(), w.numpy(), rows, rows, "cpu")
    for _ in range(2):
        loss_fused = fused.run_epoch(data)
        loss_autograd = autograd.run_epoch(data)
        assert loss_autograd == pytest.approx(loss_fused, rel=tol)
    for linear, (W, b) in zip(linears, mlp.unflatten(fused.params[0]), strict=True):
        assert_allclose(linear.weight.detach().numpy(), W.T.numpy(), rtol=tol, atol=tol)
        assert_allclose(linear.bias.detach().numpy(), b.numpy(), rtol=tol, atol=tol)
    assert autograd.optimizer.t == fused.optimizer.t == 14
    assert autograd.score(data) == pytest.approx(fused.score(data), rel=tol)


def test_the_flat_tensor_is_the_network():
    # parameters and floating buffers are views: writing the flat tensor
    # restores a whole network (running statistics included), and Adam's
    # in-place steps write into it
    network = BatchNormTrunk(3).double()
    params = flatten_(network, torch.float64)
    n_params = sum(p.numel() for p in network.parameters())
    assert params.numel() == n_params + 2 * 8  # running mean and variance
    snapshot = params.clone()
    optimizer = TorchAdam(list(network.parameters()), 0.1)
    X = torch.randn(20, 3, dtype=torch.float64)
    network(X).sum().backward()
    optimizer.step()
    assert not torch.equal(params, snapshot)
    assert not torch.equal(
        network.norm.running_mean, torch.zeros(8, dtype=torch.float64)
    )
    params.copy_(snapshot)
    assert torch.equal(network.norm.running_mean, torch.zeros(8, dtype=torch.float64))
    assert torch.equal(network.linear.weight.reshape(-1), snapshot[: 3 * 8])


# -- the estimator with a module --------------------------------------------


def test_fit_predict_with_dropout_is_deterministic_in_eval_mode():
    X, y = _regression()
    est = _fast().fit(X, y)
    assert not hasattr(est, "coefs_")
    assert len(est.state_dicts_) == 1
    assert est.state_dicts_[0]["head.weight"].shape == (3 * 3, 16)
    assert all(isinstance(v, np.ndarray) for v in est.state_dicts_[0].values())
    first = est.predict_dist(X)
    _assert_same_dist(first, est.predict_dist(X))
    # and equal to the network rebuilt by hand from the public state, in eval
    trunk = DropoutTrunk(3).double()
    trunk.load_state_dict(
        {
            k.removeprefix("trunk."): torch.from_numpy(v)
            for k, v in est.state_dicts_[0].items()
            if k.startswith("trunk.")
        }
    )
    head = est.state_dicts_[0]
    Xs = torch.from_numpy(est._x_scaler.transform(X, np.float64))
    with torch.no_grad():
        out = trunk.eval()(Xs).numpy() @ head["head.weight"].T + head["head.bias"]
    logits, _, _ = est._head.params_numpy(out)
    assert_allclose(
        first.weights, np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    )
    # every distribution method works
    assert est.predict_interval(X[:3])[0].shape == (3,)
    assert est.predict_mode(X[:3]).shape == (3,)
    assert est.sample(X[:3], 4, random_state=0).shape == (3, 4)


def test_train_mode_in_training_and_eval_mode_at_prediction():
    X, y = _regression()
    ModeRecorder.modes.clear()
    est = _fast(module=ModeRecorder, max_iter=2, early_stopping=True).fit(X, y)
    modes = ModeRecorder.modes
    assert modes[0] is False  # the probe that finds the width
    assert True in modes  # the mini-batches
    assert modes[-1] is False  # the validation score of the last epoch
    ModeRecorder.modes.clear()
    est.predict(X)
    assert ModeRecorder.modes == [False]


def test_random_state_gives_bit_identical_fits_and_leaves_torch_alone():
    X, y = _regression()
    rng_state = torch.get_rng_state()
    a = _fast().fit(X, y)
    b = _fast().fit(X, y)
    for key, value in a.state_dicts_[0].items():
        assert_array_equal(value, b.state_dicts_[0][key])
    c = _fast(random_state=1).fit(X, y)
    assert not np.array_equal(
        a.state_dicts_[0]["head.weight"], c.state_dicts_[0]["head.weight"]
    )
    a.predict(X)
    assert torch.equal(torch.get_rng_state(), rng_state)


def test_pickle_and_joblib_round_trips_are_exact_and_hold_no_torch():
    X, y = _regression()
    est = _fast().fit(X, y)
    est.predict(X)  # builds and caches the network
    blob = pickle.dumps(est)
    assert b"torch" not in blob
    buf = io.BytesIO()
    joblib.dump(est, buf)
    buf.seek(0)
    for restored in (pickle.loads(blob), joblib.load(buf)):
        _assert_same_dist(restored.predict_dist(X), est.predict_dist(X))
    restored = pickle.loads(blob)
    restored.set_params(warm_start=True).fit(X, y)
    assert restored.n_iter_ == 2 * est.n_iter_


def test_skops_trusts_the_users_class_and_skmdns_own_types():
    sio = pytest.importorskip("skops.io")
    X, y = _regression()
    builtin = sio.get_untrusted_types(data=sio.dumps(_fast(module=None).fit(X, y)))
    est = _fast().fit(X, y)
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    extra = set(untrusted) - set(builtin)
    assert extra == {
        f"{DropoutTrunk.__module__}.DropoutTrunk",
        "skmdn._module.ModuleTrunk",
    }
    assert set(builtin) - set(untrusted) == {"skmdn._network.MLP"}
    assert {t for t in untrusted if not t.startswith(("skmdn.", "sklearn."))} == {
        f"{DropoutTrunk.__module__}.DropoutTrunk"
    }
    loaded = sio.loads(data, trusted=untrusted)
    _assert_same_dist(loaded.predict_dist(X), est.predict_dist(X))


def test_module_params_are_parameters_for_clone_and_set_params():
    est = MDNRegressor(module=DropoutTrunk, module_params={"dropout": 0.1})
    params = est.get_params()
    assert params["module__dropout"] == 0.1
    assert "module__dropout" not in est.get_params(deep=False)
    copy = clone(est)
    assert copy.module is DropoutTrunk
    assert copy.module_params == {"dropout": 0.1}
    assert copy.module_params is not est.module_params
    original = est.module_params
    est.set_params(module__dropout=0.3, module__width=8, max_iter=3)
    assert est.module_params == {"dropout": 0.3, "width": 8}
    assert original == {"dropout": 0.1}  # a new dict: clones are unaffected
    assert est.max_iter == 3
    with pytest.raises(ValueError, match="needs the name"):
        est.set_params(module__=1)
    with pytest.raises(ValueError, match="Invalid parameter"):
        est.set_params(modul__dropout=1)


def test_grid_search_over_a_module_argument():
    X, y = _regression(n=90)
    search = GridSearchCV(
        _fast(max_iter=3),
        {"module__dropout": [0.0, 0.5], "module__width": [4]},
        scoring=log_likelihood_scorer,
        cv=2,
    ).fit(X, y)
    assert search.best_params_["module__dropout"] in (0.0, 0.5)
    best = search.best_estimator_
    assert best.module_params == {
        "width": 4,
        "dropout": search.best_params_["module__dropout"],
    }
    assert best.state_dicts_[0]["head.weight"].shape[1] == 4
    assert len(search.cv_results_["params"]) == 2


def test_ensembles_and_warm_starts_with_a_module():
    X, y = _regression()
    est = _fast(n_networks=3, warm_start=True, n_iter_no_change=np.inf).fit(X, y)
    assert est.n_networks_ == 3
    assert est.predict_dist(X[:2]).weights.shape == (2, 9)
    heads = [sd["head.weight"] for sd in est.state_dicts_]
    assert not np.array_equal(heads[0], heads[1])
    t = est.t_
    est.fit(X, y)
    assert est.n_iter_ == 10
    assert est.t_ == 2 * t
    est.set_params(module_params={"dropout": 0.2, "width": 8})
    with pytest.raises(ValueError, match="changed since the last fit"):
        est.fit(X, y)


def test_partial_fit_keeps_the_input_standardisation_and_reexpresses_the_head():
    X, y = _regression(n=200)
    est = _fast(module=MLPTrunk).partial_fit(X[:100], y[:100])
    x_scale = est._x_scaler.scale.copy()
    est.partial_fit(X[100:] * 3, y[100:] + 10)
    assert_array_equal(est._x_scaler.scale, x_scale)
    assert est._y_scaler.location[0] == pytest.approx(
        np.r_[y[:100], y[100:] + 10].mean()
    )
    # re-expressing the head for other target units keeps the means exactly
    dist = est.predict_dist(X[:10])
    old_y = est._y_scaler
    new_y = dataclasses.replace(old_y, location=old_y.location - 2.0)
    est._networks = [
        est._reexpressed(est._networks[0], est._trunk, est._head, None, new_y)
    ]
    est._y_scaler = new_y
    moved = est.predict_dist(X[:10])
    assert_allclose(moved.means, dist.means, rtol=1e-10, atol=1e-10)
    assert_allclose(moved.weights, dist.weights, rtol=1e-10)


def test_non_finite_epoch_is_rolled_back_with_a_lower_learning_rate():
    X, y = _regression()
    est = _fast(
        module=FlakyTrunk, max_iter=4, learning_rate_init=1e-2, n_iter_no_change=np.inf
    )
    est.fit(X, y)  # 4 batches an epoch: the fourth forward spoils epoch 1
    assert est.n_iter_ == 4
    assert np.isfinite(est.loss_curve_).all()
    assert est._networks[0].optimizer["lr"] == pytest.approx(1e-2 * LR_BACKOFF)
    assert np.isfinite(est.predict(X)).all()


def test_early_stopping_restores_the_best_weights(monkeypatch):
    X, y = _regression(n=300)
    splits = []

    def recording_split(*args, **kwargs):
        splits.append(skmdn._preprocessing.validation_split(*args, **kwargs))
        return splits[-1]

    monkeypatch.setattr(skmdn._training, "validation_split", recording_split)
    est = _fast(
        module=BatchNormTrunk,
        early_stopping=True,
        validation_fraction=0.3,
        learning_rate_init=0.05,
        n_iter_no_change=3,
        max_iter=200,
        scale_calibration=None,  # the restored weights' own scales
    ).fit(X, y)
    best = int(np.argmax(est.validation_scores_))
    assert best < est.n_iter_ - 1  # worse epochs followed: a restore happened
    _, val_idx = splits[0]
    held_out = est.log_prob(X[val_idx], y[val_idx]).mean()
    assert held_out == pytest.approx(est.best_validation_score_, rel=1e-9)


def test_integer_weights_equal_repeated_rows():
    rng = np.random.RandomState(0)
    X, y = _regression(n=40)
    w = rng.randint(0, 4, size=40)
    params = {"module": MLPTrunk, "max_iter": 10, "batch_size": 500}
    weighted = _fast(**params).fit(X, y, sample_weight=w)
    repeated = _fast(**params).fit(X.repeat(w, axis=0), y.repeat(w))
    assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9)


def test_float32_inputs_train_in_float32():
    X, y = _regression()
    est = _fast().fit(X.astype(np.float32), y.astype(np.float32))
    assert est.state_dicts_[0]["head.weight"].dtype == np.float32
    assert np.isfinite(est.predict(X)).all()


@pytest.mark.parametrize("module", [lazy_trunk, KwargsTrunk])
def test_n_features_is_passed_only_where_accepted(module):
    X, y = _regression()
    est = _fast(module=module).fit(X, y)
    _assert_same_dist(
        pickle.loads(pickle.dumps(est)).predict_dist(X), est.predict_dist(X)
    )


def test_refitting_switches_between_the_mlp_and_a_module():
    X, y = _regression()
    est = _fast(module=None).fit(X, y)
    assert hasattr(est, "coefs_")
    est.set_params(module=MLPTrunk).fit(X, y)
    assert not hasattr(est, "coefs_")
    assert hasattr(est, "state_dicts_")
    est.set_params(module=None).fit(X, y)
    assert hasattr(est, "coefs_")
    assert not hasattr(est, "state_dicts_")


def test_bad_modules_get_clear_errors():
    X, y = _regression()
    with pytest.raises(TypeError, match="not a module instance"):
        _fast(module=DropoutTrunk(3)).fit(X, y)
    with pytest.raises(TypeError, match=r"must return a torch\.nn\.Module"):
        _fast(module=not_a_module).fit(X, y)
    with pytest.raises(ValueError, match=r"shape \(batch, m\)"):
        _fast(module=FlatOutput).fit(X, y)
    with pytest.raises(ValueError, match="must not set 'n_features'"):
        _fast(module_params={"n_features": 3}).fit(X, y)
    with pytest.raises(ValueError, match="module is None"):
        _fast(module=None, module_params={"dropout": 0.1}).fit(X, y)
    with pytest.raises(ValueError, match="module_params"):
        _fast(module_params=[("dropout", 0.1)]).fit(X, y)


def _devices():
    cuda = torch.cuda.is_available()
    mps = (
        getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available()
    )
    return [
        pytest.param(
            "cuda", marks=pytest.mark.skipif(not cuda, reason="needs a CUDA device")
        ),
        pytest.param(
            "mps", marks=pytest.mark.skipif(not mps, reason="needs an MPS device")
        ),
    ]


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("module", [None, DropoutTrunk])
def test_accelerator_training_keeps_the_fitted_state_on_cpu(device, module):
    X, y = _regression()
    est = _fast(module=module, device=device, n_networks=2).fit(X.astype(np.float32), y)
    arrays = est.coefs_ if module is None else list(est.state_dicts_[0].values())
    assert all(isinstance(a, np.ndarray) for a in arrays)
    on_device = est.predict(X)
    cpu = pickle.loads(pickle.dumps(est)).set_params(device="cpu")
    assert_allclose(on_device, cpu.predict(X), rtol=1e-4, atol=1e-5)
    _assert_same_dist(est.predict_dist(X), est.predict_dist(X))  # eval mode


def test_autograd_mlp_module_is_as_good_as_the_fused_mlp():
    # same architecture and training: held-out log-likelihoods agree within
    # the spread over seeds (the benchmark, benchmarks/speed.py, uses more)
    from skmdn.datasets import make_inverse_sine

    X, y = make_inverse_sine(600, random_state=0)
    X_test, y_test = make_inverse_sine(3000, random_state=1)
    params = {
        "n_networks": 1,
        "n_components": 3,
        "max_iter": 60,
        "learning_rate_init": 1e-2,
        "early_stopping": False,
        "batch_size": 64,
    }
    lls = {}
    for name, module in (("fused", None), ("autograd", MLPTrunk)):
        lls[name] = [
            MDNRegressor(
                module=module,
                module_params=None if module is None else {"hidden": (16,)},
                hidden_layer_sizes=(16,),
                random_state=seed,
                **params,
            )
            .fit(X, y)
            .log_prob(X_test, y_test)
            .mean()
            for seed in range(2)
        ]
    spread = max(np.ptp(lls["fused"]), np.ptp(lls["autograd"]), 0.05)
    assert abs(np.mean(lls["fused"]) - np.mean(lls["autograd"])) < 2 * spread
    assert min(lls["autograd"]) > 0.5  # far beyond a Gaussian's reach (~0.3)
    assert math.isfinite(lls["autograd"][0])
