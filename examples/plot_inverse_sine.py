"""
================================================
The inverse-sine problem: mean, mode and samples
================================================

Bishop's inverse-sine problem is the classic case where one number per input
is not enough. The forward map ``x = t + 0.3 sin(2 pi t) + noise`` is easy to
learn; its inverse, predicting ``t`` from ``x``, has up to three likely
answers for the same input.

This example fits a mixture density network to it and compares the summaries
one can draw from the predicted distribution: the conditional mean (what
``predict`` returns and R² rewards), the mode (the most likely value) and
samples.
"""

# %%
# Data and model
# --------------
#
# Two thousand training points and a held-out set. The network outputs a
# 5-component Gaussian mixture for every input.

import matplotlib.pyplot as plt
import numpy as np

from skmdn import MDNRegressor
from skmdn.datasets import make_inverse_sine
from skmdn.plotting import ConditionalDensityDisplay, PredictionIntervalDisplay

X, y = make_inverse_sine(n_samples=2000, random_state=0)
X_test, y_test = make_inverse_sine(n_samples=2000, random_state=1)

mdn = MDNRegressor(n_components=5, n_iter_no_change=30, random_state=0)
mdn.fit(X, y)

# %%
# A one-component model is a Gaussian with an input-dependent mean and spread:
# the best it can do is one wide bump over all three branches. The held-out
# log-likelihood (higher is better) tells the two apart; R², which only looks
# at the mean, does not.

gauss = MDNRegressor(n_components=1, n_iter_no_change=30, random_state=0)
gauss.fit(X, y)

for name, est in [("5 components", mdn), ("1 component", gauss)]:
    print(
        f"{name}: held-out log-likelihood "
        f"{est.log_prob(X_test, y_test).mean():+.3f} nats/row, "
        f"R² {est.score(X_test, y_test):.3f}"
    )

# %%
# The conditional density
# -----------------------
#
# :class:`~skmdn.plotting.ConditionalDensityDisplay` draws ``p(y | x)`` as a
# heat map: each column is the predicted density at one input. The three
# branches of the data are three bright ridges.

disp = ConditionalDensityDisplay.from_estimator(mdn, X, y, ylabel="t")
_ = disp.ax_.set_title("p(t | x), 5-component MDN")

# %%
# Each column is shown relative to its own peak (the default,
# ``scale='column'``), so the colours compare targets at the same input. At
# the two ends of the input range the density is a single sharp peak, many
# times as high as the three branches in the middle: on the raw density scale
# (``scale='density'``, shared by all columns) the colour range is spent on
# those peaks and the branches almost vanish. ``scale='log'`` is the third
# choice.

disp = ConditionalDensityDisplay.from_estimator(mdn, X, y, scale="density", ylabel="t")
_ = disp.ax_.set_title("the same density, scale='density'")

# %%
# Mean, mode and samples
# ----------------------
#
# The conditional mean averages the branches: in the middle range it runs
# between them, through a region with hardly any data. The mode jumps from
# branch to branch, always choosing the most likely one. Samples reproduce the
# data's spread, branches included.

x_grid = np.linspace(X.min(), X.max(), 300)[:, None]
samples = mdn.sample(x_grid, n_samples=3, random_state=0)

fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True, layout="constrained")
for ax in axes:
    ax.scatter(X, y, s=3, c="0.75", label="training data")
ax = axes[0]
ax.plot(x_grid, mdn.predict(x_grid), lw=2.5, label="mean (predict)")
ax.plot(x_grid, mdn.predict_mode(x_grid), ".", ms=4, label="mode (predict_mode)")
ax.plot(x_grid, gauss.predict(x_grid), "--", lw=1.5, label="mean, 1 component")
ax.set(xlabel="x", ylabel="t", title="Point summaries")
_ = ax.legend(loc="upper left")

ax = axes[1]
ax.scatter(np.repeat(x_grid, 3), samples.ravel(), s=4, c="C3", label="samples (sample)")
ax.set(xlabel="x", title="Three draws per input")
_ = ax.legend(loc="upper left")

# %%
# Where the mean is the right answer (squared error, R²), use ``predict``;
# where a plausible value is needed, use the mode or a sample.
#
# Prediction sets
# ---------------
#
# Sets follow the same logic. An equal-tailed interval, between two
# quantiles, is one interval: in the middle range it spans the gaps between
# the branches. The highest-density (HPD) set,
# :meth:`~skmdn.MixtureDistribution.hpd`, is the shortest set with the given
# probability: for a multimodal input, several disjoint intervals, one per
# branch.

dist = mdn.predict_dist([[0.5]])
print("Modes at x = 0.5:", dist.modes()[0].locations.round(3))
print("90% highest-density set at x = 0.5:\n", dist.hpd(0.9)[0].round(3))
print("90% equal-tailed interval at x = 0.5:", np.round(dist.interval(0.9), 3).ravel())

# %%
# :class:`~skmdn.plotting.PredictionIntervalDisplay` draws either kind along
# the input: HPD sets (the default, centred on the mode) leave the gaps
# empty, equal-tailed intervals (centred on the median) fill them.

fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True, layout="constrained")
for ax, kind in zip(axes, ["hpd", "equal_tailed"], strict=True):
    PredictionIntervalDisplay.from_estimator(
        mdn, X, y, kind=kind, confidences=(0.5, 0.9), show_mean=False, ax=ax
    )
    ax.set(title=f"kind='{kind}'", ylabel="t")
