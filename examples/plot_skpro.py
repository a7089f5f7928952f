"""
=====================================================
skmdn in skpro: exact distributions and exact CRPS
=====================================================

`skpro <https://skpro.readthedocs.io>`_ is a library of probabilistic
regressors that return distribution objects, with its own metrics, pipelines
and benchmarking. :class:`skmdn.interop.MDNProbaRegressor` wraps an
:class:`~skmdn.MDNRegressor` as a skpro regressor: its ``predict_proba``
returns a :class:`skmdn.interop.SkproMixture`, whose ``pdf``, ``cdf``,
``ppf``, ``mean``, ``var``, ``sample`` and ``energy`` are skmdn's exact
methods. This example fits one on a problem whose noise grows along the input,
scores it with skpro's metrics, and shows why the exact ``energy`` matters:
skpro's CRPS is computed from it.

It needs skpro (``pip install "skmdn[skpro]"``, part of skmdn's ``docs``
extras).
"""

# %%
# Fit through skpro's interface
# -----------------------------
#
# skpro takes pandas frames; the targets keep their column name.

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from skpro.distributions import NormalMixture
from skpro.metrics import CRPS, LogLoss

from skmdn import MDNRegressor
from skmdn.datasets import make_heteroscedastic
from skmdn.interop import MDNProbaRegressor, SkproMixture
from skmdn.metrics import crps, log_likelihood

X, y = make_heteroscedastic(1000, random_state=0)
X_test, y_test = make_heteroscedastic(2000, random_state=1)
X, X_test = pd.DataFrame(X, columns=["x"]), pd.DataFrame(X_test, columns=["x"])
y, y_test = pd.DataFrame({"y": y}), pd.DataFrame({"y": y_test})

mdn = MDNRegressor(n_components=2, n_networks=1, random_state=0)
reg = MDNProbaRegressor(mdn).fit(X, y)
proba = reg.predict_proba(X_test)
print(type(proba).__name__, proba.shape)

# %%
# skpro's metrics agree with skmdn's
# ----------------------------------
#
# skpro's CRPS is ``energy(y) - energy() / 2``; with the adapter's exact
# energies it equals skmdn's closed-form CRPS, and skpro's log-loss is minus
# skmdn's log-likelihood.

dist = reg.estimator_.predict_dist(X_test)
print(
    f"CRPS     skpro {CRPS()(y_test, proba):.4f}   skmdn {crps(y_test['y'], dist):.4f}"
)
print(
    f"log-loss skpro {LogLoss()(y_test, proba):.4f}   "
    f"skmdn {-log_likelihood(y_test['y'], dist):.4f}"
)

# %%
# skpro's own normal mixture
# --------------------------
#
# skpro's own ``NormalMixture`` approximates the
# self-energy ``E|X - X'|`` from the components' average variance and leaves
# out the distance between their means, so its CRPS is off wherever the
# components are apart. On one mixture, ``0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2)``
# at ``y = 0.5``, the exact CRPS (also found by numerical integration of
# ``(F(z) - 1{z >= y})^2``) is 0.859:

w, mu, s = np.array([[0.5, 0.5]]), np.array([[[-2.0], [2.0]]]), np.array([[[0.5]] * 2])
at = pd.DataFrame({"y": [0.5]})
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    theirs = NormalMixture(pi=w, mu=mu, sigma=s, index=at.index, columns=at.columns)
    ours = SkproMixture(w, mu, s, index=at.index, columns=at.columns)
    print(f"CRPS with skmdn's SkproMixture: {CRPS()(at, ours):.3f}")
    print(f"CRPS with skpro's NormalMixture: {CRPS()(at, theirs):.3f}")

# %%
# Intervals from skpro's interface
# --------------------------------
#
# ``predict_interval`` and ``predict_quantiles`` are skpro's, computed from
# the exact quantiles of the mixtures.

intervals = reg.predict_interval(X_test, coverage=0.9)
order = np.argsort(X_test["x"].to_numpy())
x_sorted = X_test["x"].to_numpy()[order]
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
ax.fill_between(
    x_sorted,
    intervals.iloc[order, 0],
    intervals.iloc[order, 1],
    alpha=0.3,
    label="90% interval (skpro predict_interval)",
)
ax.scatter(X_test["x"], y_test["y"], s=2, alpha=0.3, color="k", label="test data")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(loc="upper left")
plt.show()
