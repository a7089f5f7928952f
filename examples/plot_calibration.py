"""
===========================================
Checking calibration with the PIT histogram
===========================================

A predicted distribution is *calibrated* when its probabilities match the
frequencies observed: 90% intervals hold 90% of the outcomes, and so on for
every level. The probability integral transform (PIT) checks all levels at
once. For each held-out pair, the PIT value is the predicted cdf at the
observed target, ``F_i(y_i)``. For a calibrated model these values are uniform
on [0, 1], so their histogram is flat:

- a **U shape** (too many values near 0 and 1) means the outcomes often fall
  in the tails: the predictions are too narrow, i.e. overconfident;
- a **hump** means the predictions are too wide;
- a **slope** means they are biased.

This example shows all three cases on data whose noise grows with the input.
"""

# %%
# Data and three models
# ---------------------
#
# - an MDN fitted on 1500 points;
# - a point regressor with a Gaussian of constant width around it, the width
#   set by the spread of the training residuals;
# - an MDN fitted to only 60 points for many epochs without early stopping,
#   which over-fits.

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skmdn import MDNRegressor, MixtureDistribution
from skmdn.metrics import calibration_error, interval_coverage
from skmdn.plotting import PITDisplay


def make_data(n_samples, rng):
    x = rng.uniform(0, 10, size=n_samples)
    noise_std = 0.05 + 0.095 * x
    y = np.sin(x) + 0.3 * x + noise_std * rng.standard_normal(n_samples)
    return x[:, None], y


rng = np.random.RandomState(0)
X, y = make_data(1500, rng)
X_test, y_test = make_data(3000, rng)
X_small, y_small = make_data(60, rng)

mdn = MDNRegressor(n_components=2, random_state=0).fit(X, y)

overfit = MDNRegressor(
    n_components=2,
    n_networks=1,  # an ensemble would average much of the over-fitting away
    early_stopping=False,
    learning_rate_init=1e-2,
    max_iter=1000,
    n_iter_no_change=np.inf,
    random_state=0,
)
# With nothing to stop it, training runs all 1000 epochs, which is the point
# here; skmdn says so with a ConvergenceWarning, silenced for this fit only.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    overfit.fit(X_small, y_small)

# %%
# Any Gaussian (mixture) prediction can be wrapped in a
# :class:`~skmdn.MixtureDistribution` and checked the same way: here one
# component per row, centred on the point prediction.

mlp = MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=1000, random_state=0)
mlp.fit(X, y)
residual_std = np.std(y - mlp.predict(X))
n_test = len(X_test)
constant = MixtureDistribution(
    weights=np.ones((n_test, 1)),
    means=mlp.predict(X_test)[:, None, None],
    scales=np.full((n_test, 1, 1), residual_std),
    squeeze=True,
)

dists = {
    "MDN": mdn.predict_dist(X_test),
    "constant width": constant,
    "over-fitted MDN": overfit.predict_dist(X_test),
}

# %%
# PIT histograms
# --------------
#
# :class:`~skmdn.plotting.PITDisplay` draws the histogram with the band that
# a uniform sample of the same size stays inside, bar by bar, 95% of the time.
# The MDN's histogram is flat. The constant-width model shows a hump: at most
# test points, those where the noise is small, its distribution is too wide.
# Where the noise is large it is too narrow; those points are fewer, but they
# pull the coverage of its widest intervals back to the nominal level, which
# is why a single coverage number (90% intervals hold about 90%) looks fine.
# The over-fitted MDN is overconfident: a U shape.

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True, layout="constrained")
for ax, (name, dist) in zip(axes, dists.items(), strict=True):
    PITDisplay.from_predictions(y_test, dist, ax=ax)
    ax.set_title(f"{name}\ncalibration error {calibration_error(y_test, dist):.3f}")
for ax in axes[1:]:
    ax.get_legend().remove()

# %%
# Coverage at every level
# -----------------------
#
# The same information as a reliability curve: the share of held-out
# outcomes inside the central intervals of each nominal level. A calibrated
# model follows the diagonal.

levels = np.linspace(0.05, 0.95, 19)
fig, ax = plt.subplots(figsize=(5, 4.5), layout="constrained")
ax.plot([0, 1], [0, 1], "k:", lw=1, label="calibrated")
for name, dist in dists.items():
    coverage = [interval_coverage(y_test, dist, level) for level in levels]
    ax.plot(levels, coverage, "o-", ms=3, label=name)
ax.set(xlabel="nominal level", ylabel="observed coverage", aspect="equal")
_ = ax.legend()
