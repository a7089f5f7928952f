"""
==================================
Training curves and early stopping
==================================

A density model over-fits in its own way: components shrink onto training
points, the training log-likelihood keeps rising, and the held-out one falls,
often steeply, because held-out points now land between the narrow bumps.
With ``early_stopping=True`` (the default), :class:`~skmdn.MDNRegressor` holds out
``validation_fraction`` of the data, tracks its log-likelihood after every
epoch, stops when it no longer improves and keeps the weights of the best
epoch. :class:`~skmdn.plotting.LossCurveDisplay` draws both curves.
"""

# %%
# A small training set and a large network: easy to over-fit.

import matplotlib.pyplot as plt
import numpy as np

from skmdn import MDNRegressor
from skmdn.datasets import make_inverse_sine
from skmdn.plotting import LossCurveDisplay

X, y = make_inverse_sine(n_samples=200, random_state=0)
X_test, y_test = make_inverse_sine(n_samples=3000, random_state=1)

params = {
    "n_networks": 1,  # one network, so one training curve per run
    "n_components": 5,
    "hidden_layer_sizes": (128, 128),
    "learning_rate_init": 1e-2,
    "max_iter": 500,
    "input_noise": 0.0,  # no noise regularisation: show over-fitting plainly
    "random_state": 0,
}

# %%
# Three runs:
#
# - all 500 epochs on all the data, without a validation set;
# - all 500 epochs while recording the validation curve
#   (``n_iter_no_change=np.inf`` never stops early), to see the whole story;
# - early stopping with a patience of 20 epochs without improvement.

plain = MDNRegressor(early_stopping=False, n_iter_no_change=np.inf, **params)
plain.fit(X, y)
full = MDNRegressor(
    early_stopping=True, validation_fraction=0.3, n_iter_no_change=np.inf, **params
).fit(X, y)
stopped = MDNRegressor(
    early_stopping=True, validation_fraction=0.3, n_iter_no_change=20, **params
)
stopped.fit(X, y)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
LossCurveDisplay.from_estimator(full, ax=axes[0])
axes[0].set_title("500 epochs, validation recorded")
LossCurveDisplay.from_estimator(stopped, ax=axes[1])
axes[1].set_title(f"early stopping: {stopped.n_iter_} epochs")

# %%
# The training loss keeps falling while the validation loss turns up after a
# hundred epochs or so. Without a validation set, nothing stops the model, and
# its held-out log-likelihood ends below that of the early-stopped
# models, which keep the weights of their best validation epoch.

for name, est in [
    ("500 epochs, no validation", plain),
    ("500 epochs, best validation epoch kept", full),
    ("early stopping", stopped),
]:
    print(f"{name}: held-out log-likelihood {est.log_prob(X_test, y_test).mean():+.3f}")
