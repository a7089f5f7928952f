"""The training recipe: patience in steps, the adaptive schedule, noise that
does not blur sharp conditionals, scoped threads."""

import threading
import warnings

import numpy as np
import pytest
import torch

import skmdn._preprocessing
import skmdn._training
from skmdn import MDNRegressor
from skmdn._preprocessing import resolve_patience


def test_auto_patience_counts_optimiser_steps():
    steps = skmdn._preprocessing.PATIENCE_STEPS
    assert resolve_patience("auto", steps // 10) == 10
    assert resolve_patience("auto", steps // 50) == 50
    assert resolve_patience("auto", 1) == skmdn._preprocessing.MAX_PATIENCE
    assert resolve_patience("auto", 10 * steps) == skmdn._preprocessing.MIN_PATIENCE
    assert resolve_patience(7, 3) == 7
    assert resolve_patience(np.inf, 3) == np.inf


def _fit_recording(monkeypatch, **params):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 1))
    y = X[:, 0] + 0.1 * rng.normal(size=300)
    seen = []
    real = skmdn._training.Trainer.run_epoch

    def recording(self, data):
        noise = self.input_noise
        seen.append(
            (self.optimizer.lr.copy(), None if noise is None else float(noise[0]))
        )
        return real(self, data)

    monkeypatch.setattr(skmdn._training.Trainer, "run_epoch", recording)
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
    est = MDNRegressor(**params).fit(X, y)
    return est, seen


def test_adaptive_schedule_cuts_twice_then_stops_and_drops_the_noise(monkeypatch):
    est, seen = _fit_recording(monkeypatch, learning_rate="adaptive")
    # the first epoch improves on nothing; 3 epochs without progress, a cut;
    # 3 more, a cut; 3 more, stop
    assert est.n_iter_ == 10
    rates = [float(lr[0]) for lr, _ in seen]
    assert rates == pytest.approx([1e-3] * 4 + [2e-4] * 3 + [4e-5] * 3)
    noise = [level for _, level in seen]
    assert noise == [0.1] * 4 + [0.0] * 6


def test_constant_schedule_stops_at_the_first_plateau(monkeypatch):
    est, seen = _fit_recording(monkeypatch, learning_rate="constant")
    assert est.n_iter_ == 4
    assert [float(lr[0]) for lr, _ in seen] == [1e-3] * 4


def test_intervals_are_sharp_where_the_noise_vanishes():
    # the noise is 0.002 for x < 0: input noise at a fixed share of the rule
    # of thumb blurs it by |dy/dx| x noise, and 80% intervals covered 100%;
    # the adaptive schedule switches the noise off for its last phases
    def make(n, seed):
        rng = np.random.RandomState(seed)
        x = rng.uniform(-1, 1, size=n)
        s = np.where(x < 0, 0.002, 0.3 * x + 0.002)
        return x[:, None], np.sin(3 * x) + s * rng.normal(size=n)

    X, y = make(2000, 0)
    Xt, yt = make(4000, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MDNRegressor(n_networks=1, learning_rate="adaptive", random_state=0).fit(
            X, y
        )
    lo, hi = est.predict_interval(Xt, 0.8)
    inside = (yt >= lo) & (yt <= hi)
    sharp = Xt[:, 0] < 0
    assert abs(inside[sharp].mean() - 0.8) <= 0.1
    assert abs(inside[~sharp].mean() - 0.8) <= 0.1


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_threads_are_scoped_to_the_fit_and_to_its_thread(monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2))
    y = X[:, 0] + 0.1 * rng.normal(size=200)
    before = torch.get_num_threads()
    seen = {}
    real = skmdn._training.Trainer.run_epoch

    def recording(self, data):
        seen.setdefault(threading.get_ident(), set()).add(torch.get_num_threads())
        return real(self, data)

    monkeypatch.setattr(skmdn._training.Trainer, "run_epoch", recording)
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
