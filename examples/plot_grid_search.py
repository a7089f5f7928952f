"""
============================================
Tuning a pipeline on held-out log-likelihood
============================================

``score`` of a regressor is R², which only judges the conditional mean: it
cannot tell a model that finds all the modes of the data from one that
averages over them. To choose a *density* model, cross-validate a proper
scoring rule instead. :mod:`skmdn.metrics` provides scorers for ``scoring=``
(greater is better); here :data:`~skmdn.metrics.log_likelihood_scorer` tunes
a :class:`~sklearn.pipeline.Pipeline` with
:class:`~sklearn.model_selection.GridSearchCV`, with R² tracked alongside.
"""

# %%
# Pipeline and grid
# -----------------
#
# The pipeline scales the inputs and fits the MDN; the grid varies the number
# of mixture components and the size of the network. Step parameters are
# addressed as ``<step>__<parameter>``, as for any pipeline.

import warnings

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skmdn import MDNRegressor
from skmdn.datasets import make_inverse_sine
from skmdn.metrics import log_likelihood_scorer
from skmdn.plotting import ConditionalDensityDisplay

X, y = make_inverse_sine(n_samples=1500, random_state=0)
X_test, y_test = make_inverse_sine(n_samples=2000, random_state=1)

pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        (
            "mdn",
            # one network per candidate keeps the 25 fits quick; the default
            # would average five networks on data of this size
            MDNRegressor(
                n_networks=1, max_iter=60, learning_rate_init=1e-2, random_state=0
            ),
        ),
    ]
)
param_grid = {
    "mdn__n_components": [1, 2, 3, 5],
    "mdn__hidden_layer_sizes": [(16,), (32, 32)],
}

# %%
# Search
# ------
#
# With several scorers, ``refit`` names the one that picks the final model.
#
# Each candidate trains for a fixed budget of 60 epochs, shorter than early
# stopping's patience, to keep the 25 fits quick. Every fit therefore reaches
# ``max_iter``, and says so with a ``ConvergenceWarning``; here that is
# intended, so the search silences that warning (and only that one).

search = GridSearchCV(
    pipe,
    param_grid,
    scoring={"log_likelihood": log_likelihood_scorer, "r2": "r2"},
    refit="log_likelihood",
    cv=3,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X, y)
print("best parameters:", search.best_params_)
print(f"best mean CV log-likelihood: {search.best_score_:+.3f}")

# %%
# Results
# -------
#
# The log-likelihood jumps from one component (a single Gaussian stretched over
# all three branches of the data) to two or more, then levels off. R² moves
# only within its fold-to-fold noise, with no pattern: it cannot see what
# the extra components buy.

results = pd.DataFrame(search.cv_results_)
results["hidden"] = results["param_mdn__hidden_layer_sizes"].astype(str)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for hidden, rows in results.groupby("hidden"):
    for ax, metric in zip(axes, ["log_likelihood", "r2"], strict=True):
        ax.errorbar(
            rows["param_mdn__n_components"],
            rows[f"mean_test_{metric}"],
            yerr=rows[f"std_test_{metric}"],
            marker="o",
            capsize=3,
            label=f"hidden_layer_sizes={hidden}",
        )
axes[0].set(xlabel="n_components", ylabel="mean CV log-likelihood (nats/row)")
axes[1].set(xlabel="n_components", ylabel="mean CV R²")
for ax in axes:
    ax.set_xticks(param_grid["mdn__n_components"])
_ = axes[0].legend()

# %%
# The refitted best pipeline
# --------------------------
#
# ``search`` is itself a fitted model: its ``score`` uses the refit scorer,
# so it returns the held-out log-likelihood of the best pipeline on fresh
# data, and the plotting displays accept it (or ``search.best_estimator_``)
# directly.

print(f"test log-likelihood of the best pipeline: {search.score(X_test, y_test):+.3f}")

disp = ConditionalDensityDisplay.from_estimator(search, X_test, y_test)
_ = disp.ax_.set_title(
    "best: n_components={mdn__n_components}, "
    "hidden_layer_sizes={mdn__hidden_layer_sizes}".format(**search.best_params_)
)

# %%
# The same recipe works with
# :data:`~skmdn.metrics.neg_crps_scorer`, the negated continuous ranked
# probability score, which penalises rare surprises less than the
# log-likelihood does, and with
# :func:`~sklearn.model_selection.cross_validate` for a single model.
