"""The built-in MLP trunk: its hand-written backward pass, batching, numpy state."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from skmdn._head import COVARIANCE_TYPES, MixtureHead, make_head
from skmdn._network import MLP
from skmdn._training import History, NetworkState


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("hidden", [(), (7,), (6, 5)])
@pytest.mark.parametrize("bins", [None, 4])
def test_network_gradient_matches_autograd(activation, hidden, bins):
    head = MixtureHead(n_components=4, n_outputs=2, min_scale=1e-3)
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(11, 3, generator=gen, dtype=torch.float64)
    trunk = MLP(3, hidden, head.width, activation, piecewise_linear_bins=bins)
    # with bins: learnt from 8 rows, so that 3 fall outside them
    trunk = trunk.fitted(X[:8].numpy(), None)
    bias = head.init_bias(np.zeros((4, 2)), np.ones((4, 2)))
    params = trunk.init_params(gen, torch.float64, bias)
    params += 0.3 * torch.randn(params.shape, generator=gen, dtype=torch.float64)
    Y = torch.randn(11, 2, generator=gen, dtype=torch.float64)
    coef = torch.rand(11, generator=gen, dtype=torch.float64)
    coef /= coef.sum()

    ref = params.clone().requires_grad_(True)
    ref_loss = -(coef * head.log_prob(trunk.forward(ref, X), Y)).sum()
    ref_loss.backward()

    grad = torch.full_like(params, np.nan)  # every entry must be overwritten
    Y_t = Y.T.contiguous()
    loss = trunk.loss_and_grad(
        trunk.unflatten(params),
        trunk.unflatten(grad),
        X,
        lambda out_t: head.loss_and_grad(out_t, Y_t, coef),
    )
    assert float(loss) == pytest.approx(ref_loss.item(), rel=1e-12)
    assert_allclose(grad.numpy(), ref.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("hidden", [(), (7,), (6, 5)])
def test_batched_networks_match_one_after_another(hidden, covariance_type):
    # M networks in one batched step: each network's loss and gradient are
    # those of its own unbatched step
    head = make_head(covariance_type, n_components=3, n_outputs=2, min_scale=1e-3)
    trunk = MLP(4, hidden, head.width, "tanh")
    gen = torch.Generator().manual_seed(1)
    M, n = 3, 9
    bias = head.init_bias(np.zeros((3, 2)), np.ones((3, 2)))
    params = torch.stack(
        [trunk.init_params(gen, torch.float64, bias) for _ in range(M)]
    )
    params += 0.3 * torch.randn(params.shape, generator=gen, dtype=torch.float64)
    X = torch.randn(M, n, 4, generator=gen, dtype=torch.float64)
    Y_t = torch.randn(M, 2, n, generator=gen, dtype=torch.float64)
    coef = torch.rand(M, n, generator=gen, dtype=torch.float64)
    coef /= coef.sum(1, keepdim=True)

    grad = torch.full_like(params, np.nan)
    loss = trunk.loss_and_grad(
        trunk.unflatten(params),
        trunk.unflatten(grad),
        X,
        lambda out_t: head.loss_and_grad(out_t, Y_t, coef),
    )
    for m in range(M):
        grad_m = torch.full_like(params[m], np.nan)
        loss_m = trunk.loss_and_grad(
            trunk.unflatten(params[m]),
            trunk.unflatten(grad_m),
            X[m],
            lambda out_t, m=m: head.loss_and_grad(out_t, Y_t[m], coef[m]),
        )
        assert float(loss[m]) == pytest.approx(float(loss_m), rel=1e-12)
        assert_allclose(grad[m].numpy(), grad_m.numpy(), rtol=1e-10, atol=1e-13)


def _states(trunk, head, M, seed=0):
    """M NetworkStates of random weights (the trunk protocol's fitted state)."""
    gen = torch.Generator().manual_seed(seed)
    bias = head.init_bias(np.zeros((head.n_components, 1)), np.ones((3, 1)))
    states = []
    for _ in range(M):
        flat = trunk.init_params(gen, torch.float64, bias)
        flat += 0.3 * torch.randn(flat.shape, generator=gen, dtype=torch.float64)
        coefs, intercepts = trunk.to_numpy(flat)
        weights = {"coefs": coefs, "intercepts": intercepts}
        states.append(NetworkState(weights, {}, History(early_stopping=False)))
    return states


def test_flat_vector_round_trips_through_numpy():
    head = MixtureHead(3, 1, 1e-3)
    trunk = MLP(2, (5, 4), head.width, "relu")
    flat = trunk.init_params(torch.Generator().manual_seed(0), torch.float64, 0.0)
    coefs, intercepts = trunk.to_numpy(flat)
    assert [c.shape for c in coefs] == [(2, 5), (5, 4), (4, head.width)]
    assert torch.equal(trunk.from_numpy(coefs, intercepts, torch.float64), flat)


@pytest.mark.parametrize("M", [1, 3])
def test_outputs_of_an_ensemble_are_each_networks_forward_pass(M):
    head = MixtureHead(3, 1, 1e-3)
    trunk = MLP(2, (6,), head.width, "tanh")
    states = _states(trunk, head, M)
    X = np.random.RandomState(0).normal(size=(7, 2))
    out = trunk.outputs(states, X, "cpu")
    assert out.shape == (M, 7, head.width)
    for m, state in enumerate(states):
        flat = trunk.from_numpy(
            state.weights["coefs"], state.weights["intercepts"], torch.float64
        )
        expected = trunk.forward(flat, torch.from_numpy(X)).numpy()
        assert_allclose(out[m], expected, rtol=1e-12, atol=1e-12)
    public = trunk.public_attributes(states)
    assert [c.shape[0] for c in public["coefs_"] + public["intercepts_"]] == [M] * 4
    assert trunk.dtype(states) == np.float64


def _scaler(location, scale):
    return SimpleNamespace(location=np.array(location), scale=np.array(scale))


def test_reexpressed_weights_give_the_same_function_of_the_raw_data():
    # the first layer absorbs a new input standardisation exactly, the head a
    # new target location and scale exactly for the means
    head = MixtureHead(3, 1, 1e-3)
    trunk = MLP(2, (6,), head.width, "tanh")
    (state,) = _states(trunk, head, 1)
    rng = np.random.RandomState(1)
    X_raw = rng.normal(size=(9, 2)) * [3.0, 0.5] + [1.0, -2.0]
    old_x = _scaler([0.5, -1.0], [2.0, 1.0])
    new_x = _scaler([1.5, -2.5], [3.5, 0.4])
    old_y, new_y = _scaler([0.0], [1.0]), _scaler([2.0], [3.0])
    moved = trunk.reexpressed(state, head, old_x, old_y, new_x, new_y)
    before = trunk.outputs([state], (X_raw - old_x.location) / old_x.scale, "cpu")
    after = trunk.outputs([moved], (X_raw - new_x.location) / new_x.scale, "cpu")
    _, loc_before, _ = head.params_numpy(before)
    _, loc_after, _ = head.params_numpy(after)
    # the component means in original units are unchanged
    assert_allclose(loc_after * 3.0 + 2.0, loc_before, rtol=1e-10, atol=1e-10)
    assert state.weights["coefs"][0] is not moved.weights["coefs"][0]
