"""The training recipe: patience in steps, the adaptive schedule, noise that
does not blur sharp conditionals, scoped threads."""

import math
import threading
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import skmdn._module
import skmdn._preprocessing
import skmdn._progress
import skmdn._training
from skmdn import MDNRegressor


class Tanh8(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.layer = nn.Linear(n_features, 8)

    def forward(self, x):
        return torch.tanh(self.layer(x))


# the default step size, and the final phase's epochs at a patience of 4
LR0 = MDNRegressor().learning_rate_init
FINAL = math.ceil(skmdn._optim.FINAL_PATIENCE_SHARE * 4)


def _fit_recording(patch_run_epoch, fit=None, **params):
    """Fit, recording per epoch the step size, the input noise, the weights."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 1))
    y = X[:, 0] + 0.1 * rng.normal(size=300)
    seen = []

    def recording(real, self, data):
        noise = self.input_noise
        seen.append(
            (
                np.array([self.optimizer.lr[0]]),
                None if noise is None else float(noise[0]),
                self.params[0].clone(),
            )
        )
        return real(self, data)

    patch_run_epoch(recording)
    params = {
        "n_networks": 1,
        "n_components": 2,
        "hidden_layer_sizes": (8,),
        "n_iter_no_change": 2,
        "tol": 1e9,  # no epoch counts as progress
        "input_noise": 0.1,
        "random_state": 0,
        **params,
    }
    est = MDNRegressor(**params)
    if fit is None:
        est.fit(X, y)
    else:
        fit(est, X, y)
    return est, seen


def test_adaptive_schedule_cuts_twice_then_stops_and_drops_the_noise(patch_run_epoch):
    est, seen = _fit_recording(patch_run_epoch, learning_rate="adaptive")
    # the first epoch improves on nothing; 3 epochs without progress, a cut;
    # 3 more, a cut; 3 more, stop
    assert est.n_iter_ == 10
    rates = [float(lr[0]) for lr, _, _ in seen]
    cut = skmdn._optim.LR_CUT_FACTOR
    assert rates == pytest.approx([LR0] * 4 + [LR0 / cut] * 3 + [LR0 / cut**2] * 3)
    noise = [level for _, level, _ in seen]
    assert noise == [0.1] * 4 + [0.0] * 6


@pytest.mark.parametrize("module", [None, Tanh8])
def test_constant_schedule_ends_with_a_noise_free_phase(patch_run_epoch, module):
    est, seen = _fit_recording(
        patch_run_epoch, learning_rate="constant", n_iter_no_change=4, module=module
    )
    # the first epoch is the best; 5 epochs without progress, then the best
    # weights come back, the noise goes and the step size is cut, for a
    # share of the patience (FINAL epochs): FINAL + 1 more without progress
    assert est.n_iter_ == 6 + FINAL + 1
    rates = [float(lr[0]) for lr, _, _ in seen]
    factor = skmdn._optim.FINAL_LR_FACTOR
    assert rates == pytest.approx([LR0] * 6 + [LR0 / factor] * (FINAL + 1))
    assert [level for _, level, _ in seen] == [0.1] * 6 + [0.0] * (FINAL + 1)
    # the noise-free phase starts from the weights of the best noisy epoch
    best = int(np.argmax(est.validation_scores_[:6]))
    torch.testing.assert_close(seen[6][2], seen[best + 1][2], rtol=0, atol=0)


def test_verbose_announces_the_final_phase_and_counts_it_in_the_time_left(
    monkeypatch, patch_run_epoch, capsys
):
    waits = []
    real = skmdn._progress.Progress.update

    def recording(self, histories, steps, epoch, max_iter, left, guesses=None):
        waits.append([float(w) for w in left])
        return real(self, histories, steps, epoch, max_iter, left, guesses)

    monkeypatch.setattr(skmdn._progress.Progress, "update", recording)
    _fit_recording(patch_run_epoch, n_iter_no_change=4, verbose=True)
    out = capsys.readouterr().out
    assert out.count("Network 0: noise-free final phase") == 1
    factor = skmdn._optim.FINAL_LR_FACTOR
    assert f"learning rate {LR0 / factor:.3g}" in out
    # epochs left without progress: the noisy phase's, plus the final phase's
    # FINAL epochs until it starts; the last epoch stops the network
    noisy = [[4 + FINAL - i] for i in range(5)]
    assert waits == noisy + [[FINAL - i] for i in range(FINAL + 1)] + [[]]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "params",
    [
        {"input_noise": 0.0},  # nothing to switch off
        {"early_stopping": False},  # nothing to validate the switch on
        {"n_iter_no_change": np.inf, "max_iter": 5},
    ],
)
def test_constant_schedule_stops_at_the_first_plateau_otherwise(
    patch_run_epoch, params
):
    params = {"learning_rate": "constant", **params}
    est, seen = _fit_recording(patch_run_epoch, **params)
    expected = params.get("max_iter", 4)
    assert est.n_iter_ == expected
    assert [float(lr[0]) for lr, _, _ in seen] == [LR0] * expected
    noise = params.get("input_noise", 0.1)
    assert [level or 0.0 for _, level, _ in seen] == [noise] * expected


def test_warm_start_and_partial_fit_train_with_the_noise(patch_run_epoch):
    # a warm start trains with the noise again, then its own noise-free phase
    def fit_twice(est, X, y):
        est.fit(X, y)
        est.set_params(warm_start=True).fit(X, y)

    est, seen = _fit_recording(patch_run_epoch, fit=fit_twice, n_iter_no_change=4)
    # every epoch of the second fit counts as no progress: 5 epochs, then
    # FINAL + 1
    noise = [level for _, level, _ in seen]
    first = 6 + FINAL + 1
    assert noise == [0.1] * 6 + [0.0] * (FINAL + 1) + [0.1] * 5 + [0.0] * (FINAL + 1)
    # its noise-free phase starts from the best weights so far: its initial
    # ones (the first fit's best) or those of a better noisy epoch
    scores = est.validation_scores_
    best = int(np.argmax([max(scores[:first]), *scores[first : first + 5]]))
    torch.testing.assert_close(
        seen[first + 5][2], seen[first + best][2], rtol=0, atol=0
    )

    # partial_fit: no held-out data, so every epoch trains with the noise
    def three_epochs(est, X, y):
        for _ in range(3):
            est.partial_fit(X, y)

    _, seen = _fit_recording(patch_run_epoch, fit=three_epochs, n_iter_no_change=1)
    assert [level for _, level, _ in seen] == [0.1] * 3


@pytest.mark.parametrize("learning_rate", ["constant", "adaptive"])
def test_intervals_are_sharp_where_the_noise_vanishes(learning_rate):
    # the noise is 0.002 for x < 0: input noise at a fixed share of the rule
    # of thumb blurs it by |dy/dx| x noise, and 80% intervals covered 100%;
    # both schedules switch the noise off for their last phase
    def make(n, seed):
        rng = np.random.RandomState(seed)
        x = rng.uniform(-1, 1, size=n)
        s = np.where(x < 0, 0.002, 0.3 * x + 0.002)
        return x[:, None], np.sin(3 * x) + s * rng.normal(size=n)

    X, y = make(2000, 0)
    Xt, yt = make(4000, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MDNRegressor(
            n_networks=1, learning_rate=learning_rate, random_state=0
        ).fit(X, y)
    lo, hi = est.predict_interval(Xt, 0.8)
    inside = (yt >= lo) & (yt <= hi)
    sharp = Xt[:, 0] < 0
    assert abs(inside[sharp].mean() - 0.8) <= 0.1
    assert abs(inside[~sharp].mean() - 0.8) <= 0.1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_threads_are_scoped_to_the_fit_and_to_its_thread(patch_run_epoch):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2))
    y = X[:, 0] + 0.1 * rng.normal(size=200)
    before = torch.get_num_threads()
    seen = {}

    def recording(real, self, data):
        seen.setdefault(threading.get_ident(), set()).add(torch.get_num_threads())
        return real(self, data)

    patch_run_epoch(recording)
    params = {"n_networks": 1, "max_iter": 3, "hidden_layer_sizes": (4,)}
    MDNRegressor(**params).fit(X, y)
    assert seen.pop(threading.get_ident()) == {1}
    assert torch.get_num_threads() == before
    # a fit in another thread leaves this thread's setting alone
    fit = threading.Thread(target=MDNRegressor(n_jobs=1, **params).fit, args=(X, y))
    fit.start()
    fit.join()
    assert list(seen.values()) == [{1}]
    assert torch.get_num_threads() == before
