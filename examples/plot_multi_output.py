"""
=========================================
Several targets: a joint, bimodal density
=========================================

With a 2-D ``y`` the model predicts a joint distribution over all targets:
a mixture of Gaussians with diagonal covariances. Each component is
uncorrelated, but the mixture is not, so the model captures dependence
between targets, including several modes in the joint space.

Here the input ``x`` sets an angle and the two targets are a point on a ring
near that angle, or near its mirror image, with equal probability. Each target on
its own is a poor description: the pair is either up or down, never in the
middle.
"""

# %%
# Data
# ----

import matplotlib.pyplot as plt
import numpy as np

from skmdn import MDNRegressor
from skmdn.plotting import ConditionalDensityDisplay


def make_ring(n_samples, rng):
    x = rng.uniform(0.2, 2.8, size=n_samples)
    side = rng.choice([-1.0, 1.0], size=n_samples)
    angle = x + 0.15 * rng.standard_normal(n_samples)
    radius = 1 + 0.05 * rng.standard_normal(n_samples)
    y = np.column_stack([radius * np.cos(angle), side * radius * np.sin(angle)])
    return x[:, None], y


rng = np.random.RandomState(0)
X, Y = make_ring(2000, rng)
X_test, Y_test = make_ring(2000, rng)

# %%
# Fit
# ---
#
# The same estimator as for one target; ``Y`` has shape ``(n_samples, 2)``.
# Predictions keep the target axis.

mdn = MDNRegressor(n_components=4, n_iter_no_change=30, random_state=0)
mdn.fit(X, Y)
print("predict:", mdn.predict(X_test[:2]).shape)
print("sample:", mdn.sample(X_test[:2], n_samples=5).shape)
print(f"held-out log-likelihood: {mdn.log_prob(X_test, Y_test).mean():+.3f}")

# %%
# The joint density at three inputs
# ---------------------------------
#
# :meth:`~skmdn.MDNRegressor.conditional_density` evaluates ``p(y | x)`` at
# any candidate targets, here a grid over the plane. At each input the
# density has two peaks, mirror images of each other, each stretched along the
# ring: a shape no single diagonal Gaussian has. Samples from the model fall
# on them; the red crosses mark the noise-free points.

grid = np.linspace(-1.4, 1.4, 120)
Y1, Y2 = np.meshgrid(grid, grid)
candidates = np.column_stack([Y1.ravel(), Y2.ravel()])
x_values = [0.6, 1.5, 2.4]
density = mdn.conditional_density(np.array(x_values)[:, None], candidates)
samples = mdn.sample(np.array(x_values)[:, None], n_samples=200, random_state=0)

fig, axes = plt.subplots(1, 3, figsize=(12, 4.8), sharey=True, layout="constrained")
for i, (ax, x) in enumerate(zip(axes, x_values, strict=True)):
    ax.contourf(Y1, Y2, density[i].reshape(Y1.shape), levels=12, cmap="viridis")
    ax.scatter(samples[i, :, 0], samples[i, :, 1], s=2, c="white", alpha=0.5)
    ax.plot(np.cos(x), np.sin(x), "r+", ms=12, mew=2)
    ax.plot(np.cos(x), -np.sin(x), "r+", ms=12, mew=2)
    ax.set(title=f"p(y | x={x})", xlabel="y[0]", aspect="equal")
_ = axes[0].set_ylabel("y[1]")

# %%
# Each target's marginal
# ----------------------
#
# The marginal of a Gaussian mixture is again a Gaussian mixture, so the
# per-target densities are exact. With ``output=``, the plotting displays draw
# one target at a time. The first target, ``cos(x)``, is unimodal; the
# second, ``± sin(x)``, has two branches. The conditional mean of the second
# target is zero everywhere, a value it never takes.

fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for output, ax in enumerate(axes):
    ConditionalDensityDisplay.from_estimator(mdn, X, Y, output=output, ax=ax)
    ax.plot(np.sort(X[:, 0]), mdn.predict(np.sort(X, axis=0))[:, output], "r--")
    ax.set_title(f"marginal density of y[{output}]; dashed: mean")
