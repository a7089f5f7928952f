"""The skpro adapter: skpro's own estimator checks, and exact CRPS."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

pytest.importorskip("skpro", reason="skpro is optional (pip install 'skmdn[skpro]')")

import pandas as pd
from scipy.integrate import quad
from scipy.stats import norm
from skpro.metrics import CRPS
from skpro.utils import check_estimator

from skmdn import MDNRegressor, MixtureDistribution
from skmdn.interop import MDNProbaRegressor, SkproMixture, predict_dist
from skmdn.metrics import crps

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    # skpro's checks call deprecated pandas and skbase APIs
    "ignore::DeprecationWarning",
    "ignore::FutureWarning",
)


@pytest.mark.parametrize("cls", [SkproMixture, MDNProbaRegressor])
def test_skpro_estimator_checks(cls):
    check_estimator(cls, raise_exceptions=True, verbose=False)


def test_predict_proba_is_the_mdns_distribution():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
    Y = pd.DataFrame({"u": X["a"] + rng.normal(size=60), "v": 2 * X["b"]})
    mdn = MDNRegressor(hidden_layer_sizes=(8,), max_iter=5, n_networks=1)
    reg = MDNProbaRegressor(mdn.set_params(random_state=0)).fit(X, Y)
    proba = reg.predict_proba(X)
    dist = predict_dist(reg.estimator_, X)
    assert proba.shape == (60, 2)
    assert list(proba.columns) == ["u", "v"]
    assert_allclose(proba.mean().to_numpy(), dist.mean())
    assert_allclose(proba.cdf(Y).to_numpy(), dist.cdf(Y.to_numpy()))
    assert_allclose(proba.ppf(0.9 * np.ones((60, 2))).to_numpy(), dist.ppf(0.9))
    marginal = dist.marginal([1])
    assert_allclose(proba.log_pdf(Y).to_numpy()[:, 1], marginal.logpdf(Y[["v"]]))
    q = reg.predict_quantiles(X, alpha=[0.1, 0.9])
    assert_allclose(q.to_numpy()[:, 1], dist.ppf(0.9)[:, 0])


def test_skpro_crps_is_exact():
    # two well separated components: skpro's own NormalMixture's self-energy
    # ignores the spread of the means; the adapter's is exact
    w, mu, s, y = np.array([0.5, 0.5]), np.array([-2.0, 2.0]), np.array([0.5, 0.5]), 0.5
    frame = pd.DataFrame({"y": [y]})
    ours = SkproMixture.from_mixture(
        MixtureDistribution(w[None], mu[None, :, None], s[None, :, None]),
        columns=frame.columns,
    )

    def cdf(z):
        return (w * norm.cdf((z - mu) / s)).sum()

    exact = quad(lambda z: cdf(z) ** 2, -np.inf, y)[0]
    exact += quad(lambda z: (1 - cdf(z)) ** 2, y, np.inf)[0]
    assert_allclose(CRPS()(frame, ours), exact, rtol=1e-7)
    dist = MixtureDistribution(w[None], mu[None, :, None], s[None, :, None])
    assert_allclose(crps(np.array([[y]]), dist), exact, rtol=1e-7)
