"""
=============================================
Correlated targets: full covariance matrices
=============================================

When two targets move together within one outcome, each component of the
conditional mixture is a tilted ellipse. Diagonal components are
axis-aligned, so a diagonal mixture can only approximate a tilted ellipse by
stacking several of them. ``covariance_type='full'`` gives every component a
full covariance matrix (through its Cholesky factor), so two components are
enough.

The data come from :func:`skmdn.datasets.make_correlated_targets`: for each
input ``x``, the pair ``y`` comes from one of two bivariate Gaussians whose
correlations are +0.8 to +0.95 and -0.95 to -0.8, changing with ``x``. Its
true density is known, so we can say how far each model is from it.
"""

# %%
# Data and two models with the same number of components
# ------------------------------------------------------

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skmdn import MDNRegressor
from skmdn.datasets import correlated_targets_log_density, make_correlated_targets
from skmdn.plotting import JointDensityDisplay

X, Y = make_correlated_targets(n_samples=3000, random_state=0)
X_test, Y_test = make_correlated_targets(n_samples=5000, random_state=1)
truth = -correlated_targets_log_density(X_test, Y_test).mean()

models = {}
for covariance_type in ("diagonal", "full"):
    est = MDNRegressor(
        n_components=2, n_networks=1, covariance_type=covariance_type, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        models[covariance_type] = est.fit(X, Y)
    nll = -est.log_prob(X_test, Y_test).mean()
    print(f"{covariance_type:>8}: held-out NLL {nll:.3f} (truth {truth:.3f})")

# %%
# The joint density at two inputs
# -------------------------------
#
# :class:`~skmdn.plotting.JointDensityDisplay` draws the predicted density of
# the two targets at one input; the white points are data whose input lies
# within 0.05 of it. The full model draws two tilted ellipses of opposite
# slopes; the diagonal one, with the same two components, can only draw two
# upright blobs that cover them.

fig, axes = plt.subplots(2, 2, figsize=(9, 8), sharex=True, sharey=True)
for row, x in enumerate((-0.5, 0.6)):
    near = np.abs(X[:, 0] - x) < 0.05
    for col, (name, est) in enumerate(models.items()):
        disp = JointDensityDisplay.from_estimator(
            est,
            [x],
            Y[near],
            ranges=((-3.5, 3.5), (-3.5, 3.5)),
            grid_resolution=150,
            ax=axes[row, col],
            colorbar=False,
        )
        disp.ax_.set_title(f"{name}, x = {x}")
fig.tight_layout()

# %%
# The fitted correlations
# -----------------------
#
# Each component's covariance matrix is in
# :attr:`~skmdn.MixtureDistribution.covariances`; its correlation follows the
# truth along the input.

x_grid = np.linspace(-1, 1, 9)[:, None]
dist = models["full"].predict_dist(x_grid)
cov = dist.covariances
rho = cov[..., 0, 1] / np.sqrt(cov[..., 0, 0] * cov[..., 1, 1])
order = np.argsort(rho, axis=1)  # negative component first
fitted = np.take_along_axis(rho, order, axis=1)
true = np.c_[
    -(0.95 - 0.15 * (x_grid[:, 0] + 1) / 2), 0.8 + 0.15 * (x_grid[:, 0] + 1) / 2
]
for x, f, t in zip(x_grid[:, 0], fitted, true, strict=True):
    print(f"x = {x:+.2f}: fitted {f[0]:+.3f} {f[1]:+.3f}, true {t[0]:+.3f} {t[1]:+.3f}")

# %%
# Conditioning on one target
# --------------------------
#
# :meth:`~skmdn.MixtureDistribution.condition` answers "given the first target,
# where is the second?" exactly: each component is reweighted by how well it
# explains the given value, and (for full covariances) its mean slides along
# its correlation. The diagonal model can only reweight its components, so its
# conditional density stays wide.

y0 = 0.8
y1 = np.linspace(-3, 3, 400)
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, est in models.items():
    given = est.predict_dist([[0.6]]).condition(y0, dims=0)
    ax.plot(y1, np.exp(given.cross_logpdf(y1)[0]), label=name)
ax.set_xlabel("y[1]")
ax.set_ylabel(f"p(y[1] | y[0] = {y0}, x = 0.6)")
ax.legend()
fig.tight_layout()
plt.show()
