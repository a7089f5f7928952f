"""The optimisers (one interface) and the stopping rule, without the estimator."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from torch import nn

from skmdn._optim import (
    CUT,
    FINAL_PHASE,
    LR_BACKOFF,
    AdamState,
    StoppingRule,
    TorchAdam,
    final_patience,
)
from skmdn._training import History


class MLPTrunk(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(n_features, 4), nn.Tanh())

    def forward(self, x):
        return self.layers(x)


def test_adam_state_is_torch_adam_row_by_row():
    # M rows with their own step sizes: each row follows torch's Adam
    gen = torch.Generator().manual_seed(0)
    params = torch.randn(3, 5, generator=gen, dtype=torch.float64)
    state = AdamState.zeros_like(params, 0.01)
    state.lr[:] = [0.01, 0.003, 0.1]
    rows = [nn.Parameter(params[m].clone()) for m in range(3)]
    refs = [torch.optim.Adam([p], lr=lr) for p, lr in zip(rows, state.lr, strict=True)]
    for _ in range(4):
        grad = torch.randn(3, 5, generator=gen, dtype=torch.float64)
        state.step(params, grad)
        for m, (p, ref) in enumerate(zip(rows, refs, strict=True)):
            p.grad = grad[m].clone()
            ref.step()
    for m in range(3):
        torch.testing.assert_close(params[m], rows[m].detach(), rtol=1e-12, atol=0)
    assert state.t == 4


def test_adam_state_freezes_inactive_rows_and_takes_and_puts_rows():
    params = torch.ones(3, 2, dtype=torch.float64)
    state = AdamState.zeros_like(params, 0.1)
    state.step(params, torch.ones(3, 2, dtype=torch.float64), np.array([1, 0, 1], bool))
    assert_array_equal(params[1].numpy(), [1.0, 1.0])
    assert (params[[0, 2]] < 1).all()
    part = state.take(np.array([2]))
    sub = params[[2]].clone()
    part.step(sub, torch.ones(1, 2, dtype=torch.float64))
    part.lr[0] = 0.5
    state.put(np.array([2]), part)
    assert state.lr[2] == 0.5
    assert state.t == 2
    assert torch.equal(state.m[2], part.m[0])


def test_adam_state_snapshots_round_trip_and_back_off():
    params = torch.zeros(2, 3, dtype=torch.float64)
    state = AdamState.zeros_like(params, 0.01)
    state.step(params, torch.ones(2, 3, dtype=torch.float64))
    snapshot = state.clone()
    state.step(params, torch.ones(2, 3, dtype=torch.float64))
    state.restore_row(snapshot, 1)
    assert torch.equal(state.m[1], snapshot.m[1])
    assert not torch.equal(state.m[0], snapshot.m[0])
    state.back_off(1)
    assert state.lr.tolist() == [0.01, pytest.approx(0.01 * LR_BACKOFF)]
    back = AdamState.from_numpy(
        [state.to_numpy(i) for i in range(2)], torch.float64, "cpu"
    )
    assert torch.equal(back.m, state.m)
    assert torch.equal(back.v, state.v)
    assert back.lr.tolist() == state.lr.tolist()
    assert back.t == state.t


def test_torch_adam_reads_its_step_size_array_at_every_step():
    network = MLPTrunk(3).double()
    optimizer = TorchAdam(list(network.parameters()), 0.01)
    assert isinstance(optimizer.lr, np.ndarray)
    assert optimizer.lr.shape == (1,)
    optimizer.lr[0] /= 4  # what the training loop does
    network(torch.randn(5, 3, dtype=torch.float64)).sum().backward()
    optimizer.step()
    assert optimizer.torch_optimizer.param_groups[0]["lr"] == 0.0025


def test_optimizer_snapshots_are_independent_and_round_trip_through_numpy():
    network = MLPTrunk(3).double()
    trained = list(network.parameters())
    optimizer = TorchAdam(trained, 0.01)
    network(torch.randn(5, 3, dtype=torch.float64)).sum().backward()
    optimizer.step()
    snapshot = optimizer.clone()
    optimizer.step()
    state, saved = optimizer.to_numpy(), snapshot.to_numpy()
    assert (state["t"], saved["t"]) == (2, 1)
    assert not np.array_equal(state["m"][0], saved["m"][0])
    snapshot.back_off()
    assert snapshot.lr[0] == pytest.approx(0.01 * LR_BACKOFF)
    assert optimizer.lr[0] == 0.01
    restored = TorchAdam.from_numpy(state, trained, 0.01).to_numpy()
    for key in ("m", "v"):
        for a, b in zip(restored[key], state[key], strict=True):
            assert_array_equal(a, b)
    assert restored["steps"] == state["steps"] == [2.0] * len(trained)


def _history(counts):
    history = History(early_stopping=False)
    history.no_improvement_count = counts
    return history


def _rule(**params):
    params = {
        "patience": 2,
        "max_iter": 100,
        "stopping": True,
        "lr_cuts": 0,
        "final_patience": None,
        "noisy": [False],
        **params,
    }
    return StoppingRule(len(params["noisy"]), **params)


def test_stopping_rule_waits_its_patience_then_stops():
    rule = _rule()
    assert rule.after_epoch(0, _history(2)) is None
    assert not rule.stopped[0]
    assert rule.after_epoch(0, _history(3)) is None
    assert rule.stopped[0]
    assert rule.status() == "converged"


def test_stopping_rule_cuts_then_enters_the_final_phase_then_stops():
    rule = _rule(lr_cuts=1, final_patience=5, noisy=[True, False])
    history = _history(3)
    assert rule.after_epoch(0, history) == CUT
    assert history.no_improvement_count == 0
    assert rule.waits([history, _history(0)]) == [2 + 5, 2 + 2]
    history.no_improvement_count = 3
    assert rule.after_epoch(0, history) == FINAL_PHASE
    assert rule.patience[0] == 5
    assert rule.final_left[0] == 0
    history.no_improvement_count = 5
    assert rule.after_epoch(0, history) is None
    assert not rule.stopped[0]
    history.no_improvement_count = 6
    assert rule.after_epoch(0, history) is None
    assert rule.stopped[0]
    # the network without input noise has no final phase
    other = _history(3)
    assert rule.after_epoch(1, other) == CUT
    other.no_improvement_count = 3
    assert rule.after_epoch(1, other) is None
    assert rule.stopped.all()


def test_stopping_rule_max_iter_and_partial_fit():
    rule = _rule(max_iter=2, patience=np.inf)
    rule.after_epoch(0, _history(0))
    assert not rule.stopped[0]
    rule.after_epoch(0, _history(0))
    assert rule.stopped[0]
    assert rule.status() == "max_iter"
    # partial_fit: one epoch, never a stop for lack of progress
    rule = _rule(max_iter=1, stopping=False)
    assert rule.after_epoch(0, _history(50)) is None
    assert rule.stopped[0]
    assert rule.status() == "converged"
    assert rule.waits([_history(0)]) is None


def test_final_patience_belongs_to_the_constant_schedule():
    assert final_patience("constant", 10) == 5
    assert final_patience("constant", 1) == 1
    assert final_patience("constant", np.inf) is None
    assert final_patience("adaptive", 10) is None
