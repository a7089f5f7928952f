"""Reach the MDN behind a Pipeline or a search: shared by the scorers and the plots."""

# SPDX-License-Identifier: BSD-3-Clause

from sklearn.utils.validation import check_is_fitted


def final_estimator(estimator):
    """Return the estimator at the end of a fitted search and/or pipeline."""
    if hasattr(estimator, "best_estimator_"):
        estimator = estimator.best_estimator_
    if hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


def predict_dist(estimator, X):
    """``predict_dist`` of an MDN, of a Pipeline ending in one, or of a search.

    Parameters
    ----------
    estimator : object
        A fitted MDNRegressor, or a fitted Pipeline or search ending in one.
    X : array-like of shape (n_samples, n_features)
        Inputs, as the outer estimator takes them.

    Returns
    -------
    MixtureDistribution

    Raises
    ------
    TypeError
        If no ``predict_dist`` can be reached.
    """
    if hasattr(estimator, "best_estimator_"):
        estimator = estimator.best_estimator_
    if hasattr(estimator, "predict_dist"):
        check_is_fitted(estimator)
        return estimator.predict_dist(X)
    steps = getattr(estimator, "steps", None)
    if steps and hasattr(steps[-1][1], "predict_dist"):
        check_is_fitted(estimator)
        return steps[-1][1].predict_dist(estimator[:-1].transform(X))
    raise TypeError(
        "estimator must have a predict_dist method (an MDNRegressor, or a "
        f"Pipeline or search ending in one); got {type(estimator).__name__}."
    )
