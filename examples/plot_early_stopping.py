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
# A small training set (100 rows) and a large network: easy to over-fit.

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skmdn import MDNRegressor
from skmdn.datasets import make_inverse_sine
from skmdn.plotting import LossCurveDisplay

X, y = make_inverse_sine(n_samples=100, random_state=0)
X_test, y_test = make_inverse_sine(n_samples=3000, random_state=1)

params = {
    "n_networks": 1,  # one network, so one training curve per run
    "n_components": 5,
    "hidden_layer_sizes": (128, 128),
    "learning_rate_init": 3e-3,
    "max_iter": 1000,
    "input_noise": 0.0,  # no noise regularisation: show over-fitting plainly
    "random_state": 0,
}

# %%
# Three runs:
#
# - all 1000 epochs on all the data, without a validation set;
# - all 1000 epochs while recording the validation curve
#   (``n_iter_no_change=np.inf`` never stops early), to see the whole story;
# - early stopping with a patience of 20 epochs without improvement.

plain = MDNRegressor(early_stopping=False, n_iter_no_change=np.inf, **params)
full = MDNRegressor(
    early_stopping=True, validation_fraction=0.3, n_iter_no_change=np.inf, **params
)
# The first two runs train all 1000 epochs on purpose. skmdn warns when
# training ends at max_iter (a ConvergenceWarning); that is expected here, so
# it is silenced for these two fits only.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    plain.fit(X, y)
    full.fit(X, y)
stopped = MDNRegressor(
    early_stopping=True, validation_fraction=0.3, n_iter_no_change=20, **params
)
stopped.fit(X, y)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
LossCurveDisplay.from_estimator(full, ax=axes[0])
axes[0].set_title("1000 epochs, validation recorded")
LossCurveDisplay.from_estimator(stopped, ax=axes[1])
_ = axes[1].set_title(f"early stopping: {stopped.n_iter_} epochs")

# %%
# The training loss keeps falling while the validation loss turns up after
# about two hundred epochs. Without a validation set, nothing stops the model,
# and its held-out log-likelihood ends far below that of the early-stopped
# models, which keep the weights of their best validation epoch. With a
# patience of 20 epochs, early stopping ends long before the full run's best
# epoch, at almost the same held-out log-likelihood; the default patience,
# 200 epochs, is safer on noisier curves.

for name, est in [
    ("1000 epochs, no validation", plain),
    ("1000 epochs, best validation epoch kept", full),
    ("early stopping", stopped),
]:
    print(f"{name}: held-out log-likelihood {est.log_prob(X_test, y_test).mean():+.3f}")
