"""Regularisation where the data cannot tell: wide data keeps the marginal of y."""

import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

import skmdn._marginal
from skmdn import MDNRegressor


def _wide(n, seed, d=1000):
    # a weak signal in 2 of 1,000 features: 200 rows cannot find it
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    return X, 0.5 * X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n)


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MDNRegressor(**params).fit(X, y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wide_data_does_no_worse_than_the_marginal_of_y(seed):
    # 1,000 features x 200 rows scored 0.06-0.08 nats below a Gaussian fitted
    # to the training targets (the model stayed near the initial k-means
    # mixture, itself 0.08 nats below that Gaussian): the Gaussian is the
    # reference, as in the issue, and the stronger one here
    X, y = _wide(200, seed)
    Xt, yt = _wide(5000, 1000 + seed)
    est = _fit(X, y, n_networks=1, random_state=seed)
    marginal = stats.norm(y.mean(), y.std()).logpdf(yt).mean()
    assert est.log_prob(Xt, yt).mean() >= marginal - 0.005


class Tanh8(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.layer = nn.Linear(n_features, 8)

    def forward(self, x):
        return torch.tanh(self.layer(x))


@pytest.mark.parametrize("module", [None, Tanh8])
def test_a_kept_marginal_predicts_the_same_density_for_every_row(module):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(100, 50)), rng.normal(size=100)
    est = _fit(X, y, n_networks=1, module=module, n_iter_no_change=20, random_state=0)
    mean, std = est.predict(X[:5], return_std=True)
    np.testing.assert_allclose(mean, mean[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(std, std[0], rtol=0, atol=1e-12)
    # the Gaussian candidate: every component at the mean and spread of y
    assert abs(std[0] - y.std()) < 0.2 * y.std()


def test_fits_that_beat_the_marginal_are_unchanged(monkeypatch):
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(400, 2))
    y = np.sin(3 * X[:, 0]) + 0.1 * rng.normal(size=400)
    params = {
        "n_networks": 2,
        "hidden_layer_sizes": (16,),
        "n_iter_no_change": 10,
        "random_state": 0,
    }
    est = _fit(X, y, **params)
    monkeypatch.setattr(skmdn._marginal, "MARGINAL_SE", -np.inf)  # never kept
    never = _fit(X, y, **params)
    for a, b in zip(est.coefs_, never.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert est.best_validation_score_ == never.best_validation_score_


def _vanishing_noise(n, seed):
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1, 1, size=n)
    return x[:, None], 8 * x + x**3 * rng.normal(size=n)


@pytest.mark.xfail(
    strict=True,
    reason="issue 25: near x = 0 the predicted mean is off by 20 times the true "
    "80% width (a fit of the mean to 1e-5 of y's spread, ill-conditioned for "
    "Adam and full-batch L-BFGS alike; docs/evidence.rst, vanishing noise)",
)
def test_intervals_stay_calibrated_where_the_noise_vanishes():
    # y = 8x + x**3 eps: the noise vanishes at x = 0
    X, y = _vanishing_noise(3000, 0)
    Xt, yt = _vanishing_noise(20000, 1)
    est = _fit(X, y, n_networks=1, random_state=0)
    lo, hi = est.predict_interval(Xt, 0.8)
    inside = (yt >= lo) & (yt <= hi)
    a = np.abs(Xt[:, 0])
    for low, high in [(0, 0.1), (0.1, 0.2), (0.2, 0.5), (0.5, 1.01)]:
        in_bin = (a >= low) & (a < high)
        assert abs(inside[in_bin].mean() - 0.8) <= 0.1, (low, high)
