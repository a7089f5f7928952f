"""
========================================================
Comparison with a point regressor and a Gaussian process
========================================================

Three ways to regress Bishop's inverse-sine data, where one input has up to
three likely targets:

- :class:`~sklearn.neural_network.MLPRegressor` predicts one number per input.
  Turned into a distribution with a Gaussian of constant width (the spread of
  its training residuals), it is the usual baseline;
- :class:`~sklearn.gaussian_process.GaussianProcessRegressor` predicts a
  Gaussian per input, with a mean and a standard deviation;
- :class:`~skmdn.MDNRegressor` predicts a Gaussian mixture per input.

All three are compared on held-out data with R² (the mean only) and with
scores of the whole distribution: the log-likelihood and the CRPS (both
from :mod:`skmdn.metrics`), and the coverage of 90% intervals.
"""

# %%
# Data and models
# ---------------
#
# Gaussian processes scale with the cube of the number of training points, so
# the comparison uses 500.

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, WhiteKernel
from sklearn.neural_network import MLPRegressor

from skmdn import MDNRegressor, MixtureDistribution
from skmdn.datasets import make_inverse_sine
from skmdn.metrics import crps, interval_coverage, log_likelihood
from skmdn.plotting import ConditionalDensityDisplay, PredictionIntervalDisplay

X, y = make_inverse_sine(n_samples=500, random_state=0)
X_test, y_test = make_inverse_sine(n_samples=2000, random_state=1)

mlp = MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=2000, random_state=0)
mlp.fit(X, y)

gpr = GaussianProcessRegressor(
    kernel=1.0 * RBF(length_scale=0.2) + WhiteKernel(noise_level=0.01),
    normalize_y=True,
    random_state=0,
)
gpr.fit(X, y)

mdn = MDNRegressor(n_components=5, learning_rate_init=3e-3, random_state=0)
mdn.fit(X, y)

# %%
# Every prediction as a distribution
# ----------------------------------
#
# A Gaussian prediction is a one-component mixture, so the GP's and the
# baseline's predictions can be wrapped in a
# :class:`~skmdn.MixtureDistribution` and scored with the same metrics.


def gaussian(mean, std):
    """One-component mixtures with the given means and standard deviations."""
    n = len(mean)
    std = np.broadcast_to(std, (n,))
    return MixtureDistribution(
        np.ones((n, 1)), mean[:, None, None], std[:, None, None], squeeze=True
    )


residual_std = np.std(y - mlp.predict(X))
dists = {
    "MLP ± constant": gaussian(mlp.predict(X_test), residual_std),
    "Gaussian process": gaussian(*gpr.predict(X_test, return_std=True)),
    "MDN": mdn.predict_dist(X_test),
}

# %%
# Scores
# ------
#
# R² is about the same for all three: they estimate the conditional mean
# about equally well. The scores of the distribution separate them. The two
# Gaussian models spread one bump over all three branches; the MDN puts a
# narrow bump on each branch, so it gives the observed targets a much higher
# density (log-likelihood) and a lower CRPS.

scores = pd.DataFrame(
    {
        name: {
            "R²": 1
            - np.sum((y_test - dist.mean()) ** 2)
            / np.sum((y_test - y_test.mean()) ** 2),
            "log-likelihood": log_likelihood(y_test, dist),
            "CRPS": crps(y_test, dist),
            "90% coverage": interval_coverage(y_test, dist, 0.9),
        }
        for name, dist in dists.items()
    }
).T
print(scores.round(3))

# %%
# Pictures
# --------
#
# The baseline's and the GP's 50% and 90% intervals, drawn with
# :meth:`PredictionIntervalDisplay.from_predictions
# <skmdn.plotting.PredictionIntervalDisplay.from_predictions>` (which takes
# any :class:`~skmdn.MixtureDistribution`), cover the gaps between the
# branches as much as the branches themselves: a single Gaussian has no other
# choice. The MDN's density follows the branches.

x_grid = np.linspace(X.min(), X.max(), 200)
grid_dists = {
    "MLP ± constant": gaussian(mlp.predict(x_grid[:, None]), residual_std),
    "Gaussian process": gaussian(*gpr.predict(x_grid[:, None], return_std=True)),
}

fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True, layout="constrained")
for ax, (name, dist) in zip(axes[:2], grid_dists.items(), strict=True):
    ax.scatter(X, y, s=4, c="0.6", label="training data")
    PredictionIntervalDisplay.from_predictions(
        x_grid,
        dist,
        kind="equal_tailed",
        confidences=(0.5, 0.9),
        show_mean=False,
        ax=ax,
    )
    ax.set_title(name)
ConditionalDensityDisplay.from_estimator(mdn, X, y, ax=axes[2], colorbar=False)
_ = axes[2].set_title("MDN: conditional density")
