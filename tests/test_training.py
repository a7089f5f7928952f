"""The training loop and the trunk protocol, without the estimator's API.

``train`` is driven here by a scripted trainer (its losses and validation
scores are given), and ``fit_networks`` and the estimator by a trunk written
for the test against the protocol of ``skmdn._trunk``: what a new trunk needs.
"""

from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import pytest
import torch

import skmdn._estimator
from skmdn import MDNRegressor
from skmdn._batches import EpochBatches
from skmdn._head import MixtureHead
from skmdn._optim import FINAL_LR_FACTOR, LR_BACKOFF, MAX_ROLLBACKS, AdamState
from skmdn._training import (
    BaseTrainer,
    History,
    TrainingConfig,
    TrainingPlan,
    fit_networks,
    train,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class ScriptedTrainer(BaseTrainer):
    """Epoch ``i`` returns ``losses[i]`` and ``scores[i]`` and moves the weights."""

    def __init__(self, losses, scores=None, input_noise=0.0):
        M = len(losses[0])
        params = torch.zeros(M, 2, dtype=torch.float64)
        super().__init__(
            MixtureHead(1, 1, 1e-3),
            params,
            AdamState.zeros_like(params, 0.01),
            batch_size=1,
            alpha=0.0,
            clip_grad_norm=None,
            log_det=0.0,
            generator=torch.Generator(),
            input_noise=np.full(M, input_noise),
            target_noise=np.zeros((M, 1)),
        )
        self.losses, self.scores, self.epoch = losses, scores, 0
        self.seen = []  # (params, lr, noise) at the start of each epoch

    def run_epoch(self, data):
        noise = None if self.input_noise is None else self.input_noise[:, 0, 0]
        noise = None if noise is None else noise.clone()
        self.seen.append((self.params.clone(), self.optimizer.lr.copy(), noise))
        self.params[torch.as_tensor(self.active)] += 1.0  # the active ones move
        loss = np.array(self.losses[self.epoch], dtype=float)
        self.epoch += 1
        return loss

    def score(self, data):
        return np.array(self.scores[self.epoch - 1], dtype=float)


def _train(trainer, early_stopping, **rule):
    plan = TrainingPlan(
        batch_size=1,
        learning_rate_init=0.01,
        alpha=0.0,
        clip_grad_norm=None,
        tol=0.0,
        verbose=False,
        early_stopping=early_stopping,
        max_iter=rule.pop("max_iter", 100),
        stopping=True,
        patience=rule.pop("patience", 1),
        lr_cuts=0,
        final_patience=rule.pop("final_patience", None),
        input_noise=np.asarray(
            [0.0 if trainer.input_noise is None else 1.0] * trainer.params.shape[0]
        ),
        target_noise=np.zeros((trainer.params.shape[0], 1)),
    )
    histories = [History(early_stopping) for _ in range(trainer.params.shape[0])]
    status = train(
        trainer, None, histories, plan.stopping_rule(), tol=0.0, verbose=False
    )
    return status, histories


def test_early_stopping_restores_each_networks_best_epoch():
    scores = [[1.0, 5.0], [3.0, 4.0], [2.0, 3.0], [2.0, 2.0], [2.0, 1.0]]
    trainer = ScriptedTrainer([[0.0, 0.0]] * 5, scores)
    status, histories = _train(trainer, True)
    assert status == "converged"
    # network 0 was best after epoch 2 (params 2), network 1 after epoch 1
    assert trainer.params[:, 0].tolist() == [2.0, 1.0]
    assert [h.n_iter for h in histories] == [4, 3]
    assert [h.best_validation_score for h in histories] == [3.0, 5.0]


def test_a_non_finite_epoch_is_undone_for_its_network_alone():
    losses = [[1.0, 1.0], [np.nan, 0.5], [0.9, 0.4]]
    trainer = ScriptedTrainer(losses)
    _train(trainer, False, max_iter=2)
    # network 0's second epoch was rolled back and retried with a lower step
    assert trainer.seen[2][1].tolist() == [0.01 * LR_BACKOFF, 0.01]
    assert trainer.seen[2][0][:, 0].tolist() == [1.0, 2.0]
    assert trainer.params[:, 0].tolist() == [2.0, 2.0]


def test_a_persistent_non_finite_loss_raises():
    trainer = ScriptedTrainer([[np.nan]] * (MAX_ROLLBACKS + 2))
    with pytest.raises(FloatingPointError, match="non-finite loss"):
        _train(trainer, False)


def test_the_final_phase_starts_from_the_best_weights_without_noise():
    scores = [[1.0], [2.0], [1.0], [1.0], [1.0], [1.0], [1.0]]
    trainer = ScriptedTrainer([[0.0]] * 7, scores, input_noise=0.1)
    status, _ = _train(trainer, True, patience=1, final_patience=2)
    assert status == "converged"
    lrs = [float(lr[0]) for _, lr, _ in trainer.seen]
    noise = [None if n is None else float(n[0]) for _, _, n in trainer.seen]
    # epochs 3 and 4 without progress: the final phase from epoch 2's weights
    assert lrs == [0.01] * 4 + [0.01 / FINAL_LR_FACTOR] * 3
    assert noise == [0.1] * 4 + [0.0] * 3
    assert trainer.seen[4][0][0, 0] == 2.0
    assert trainer.params[0, 0] == 2.0  # no later epoch beat it


def test_an_interruption_keeps_the_best_weights():
    class Interrupted(ScriptedTrainer):
        def run_epoch(self, data):
            if self.epoch == 2:
                raise KeyboardInterrupt
            return super().run_epoch(data)

    trainer = Interrupted([[0.0]] * 5, [[2.0], [1.0]])
    status, _ = _train(trainer, True)
    assert status == "interrupted"
    assert trainer.params[0, 0] == 1.0


# -- a trunk written against the protocol ------------------------------------


class LinearTrainer(BaseTrainer):
    """Autograd on the rows of one (M, n_features * width + width) tensor."""

    def __init__(self, trunk, head, params, optimizer, **kwargs):
        super().__init__(head, params, optimizer, **kwargs)
        self.trunk = trunk

    def forward(self, m, X):
        W, b = self.trunk.unflatten(self.params[m])
        return X @ W + b

    def run_epoch(self, data):
        batches = EpochBatches(self, data)
        total = torch.zeros(self.params.shape[0], dtype=torch.float64)
        for j, xb, yb, coef, stepping in batches:
            params = self.params.detach().requires_grad_(True)
            W, b = self.trunk.unflatten(params)
            out = torch.bmm(xb, W) + b[:, None]
            lp = torch.stack(
                [self.head.log_prob(out[m], yb[m].T) for m in range(len(out))]
            )
            loss = -(coef * lp).sum(1)
            loss.sum().backward()
            with torch.no_grad():
                self.optimizer.step(self.params, params.grad, stepping)
            total += loss.detach() * torch.as_tensor(batches.weight[j])
        losses = np.full(self.params.shape[0], np.nan)
        active = self.active
        losses[active] = (total / batches.total).numpy()[active] + self.log_det
        return losses

    def weights(self, m):
        W, b = self.trunk.unflatten(self.params[m].detach())
        return {"W": W.numpy().copy(), "b": b.numpy().copy()}


@dataclass(frozen=True)
class LinearTrunk:
    """The mixture's parameters linear in the inputs: the smallest trunk."""

    n_features: int
    n_out: int
    batched: ClassVar[bool] = True
    reexpresses_inputs: ClassVar[bool] = False
    public_names: ClassVar[tuple] = ()

    def unflatten(self, flat):
        F, W = self.n_features, self.n_out
        lead = flat.shape[:-1]
        return flat[..., : F * W].reshape(*lead, F, W), flat[..., F * W :]

    def fitted(self, X, sample_weight):
        return self

    def random_scope(self, seed, device):
        return nullcontext()

    def new_trainer(
        self, head, data, previous, *, out_biases, generator, plan, log_det
    ):
        size = (self.n_features + 1) * self.n_out
        if previous is None:
            params = 0.01 * torch.randn(len(out_biases), size, generator=generator)
            params = params.to(torch.float64)
            params[:, self.n_features * self.n_out :] = torch.as_tensor(
                np.stack(out_biases)
            )
            optimizer = AdamState.zeros_like(params, plan.learning_rate_init)
        else:
            params = torch.stack(
                [
                    torch.from_numpy(np.r_[p.weights["W"].ravel(), p.weights["b"]])
                    for p in previous
                ]
            )
            optimizer = AdamState.from_numpy(
                [p.optimizer for p in previous], torch.float64, "cpu"
            )
        return LinearTrainer(
            self,
            head,
            params,
            optimizer,
            **plan.trainer_kwargs(log_det, generator),
        )

    def outputs(self, states, X, device):
        return np.stack([X @ s.weights["W"] + s.weights["b"] for s in states])

    def dtype(self, states):
        return np.dtype(np.float64)

    def public_attributes(self, states):
        return {}

    def reexpressed(self, state, head, old_x, old_y, new_x, new_y):
        W, b = [state.weights["W"].copy()], [state.weights["b"].copy()]
        head.reexpress_outputs(
            W, b, old_y.location, old_y.scale, new_y.location, new_y.scale
        )
        return replace(state, weights={"W": W[0], "b": b[0]})


def _linear_data(n=600, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = 2.0 * X[:, 0] - X[:, 1] + 0.1 * rng.normal(size=n)
    return X, y


def test_fit_networks_trains_a_new_trunk():
    X, y = _linear_data()
    Xs = (X - X.mean(0)) / X.std(0)
    Y = ((y - y.mean()) / y.std())[:, None]
    head = MixtureHead(2, 1, 1e-3)
    config = TrainingConfig(
        learning_rate="constant",
        learning_rate_init=0.05,
        batch_size=64,
        alpha=0.0,
        clip_grad_norm=None,
        max_iter=30,
        tol=1e-4,
        n_iter_no_change=5,
        early_stopping=True,
        validation_fraction=0.2,
        input_noise=0.0,
        target_noise=0.0,
        verbose=False,
    )
    states, status = fit_networks(
        LinearTrunk(2, head.width),
        head,
        Xs,
        Y,
        np.ones(len(y)),
        config=config,
        log_det=0.0,
        seeds=np.array([[1, 2, 3], [4, 5, 6]]),
        previous=[None, None],
        incremental=False,
        device="cpu",
    )
    assert status in ("converged", "max_iter")
    assert len(states) == 2
    for state in states:
        # the noise is 0.1 / std(y): a log-likelihood far above the marginal's
        assert state.history.best_validation_score > 1.0
        assert set(state.weights) == {"W", "b"}


def test_the_estimator_fits_and_predicts_with_a_new_trunk(monkeypatch):
    def make_trunk(*, n_features, n_out, **params):
        return LinearTrunk(n_features, n_out)

    monkeypatch.setattr(skmdn._estimator, "make_trunk", make_trunk)
    X, y = _linear_data()
    est = MDNRegressor(
        n_components=2, n_networks=2, learning_rate_init=0.05, random_state=0
    ).fit(X, y)
    X_test, y_test = _linear_data(300, seed=1)
    assert est.score(X_test, y_test) > 0.98
    assert est.log_prob(X_test, y_test).mean() > 0.5  # true value: 0.88
    assert not hasattr(est, "coefs_")
    # warm start and partial_fit go through the protocol too
    est.set_params(warm_start=True, max_iter=2).fit(X, y)
    est.partial_fit(X[:100], y[:100] + 0.05)
    assert est.score(X_test, y_test) > 0.95
