"""Reach the MDN behind a Pipeline, a search or a wrapper, for scorers and plots."""

# SPDX-License-Identifier: BSD-3-Clause

from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):
        return False
    return True


def _wrapped(estimator):
    """Return the fitted estimator that a wrapper predicts with, or None.

    A search's ``best_estimator_``; dask-ml's ``_postfit_estimator`` (its
    wrappers' own name for "the estimator used for score and predict": the
    fitted clone ``estimator_`` of ``Incremental``, the ``estimator`` that
    ``ParallelPostFit`` fits in place); else a fitted ``estimator_``, as
    :class:`~sklearn.linear_model.RANSACRegressor` keeps, unless there are
    also ``estimators_``: an ensemble (bagging, boosting) keeps its template
    in ``estimator_``, which may be a fitted model yet is not what the
    ensemble predicts with. For the same reason a parameter ``estimator`` is
    never reached by itself.
    """
    names = ["best_estimator_", "_postfit_estimator"]
    if not hasattr(estimator, "estimators_"):
        names.append("estimator_")
    for name in names:
        try:
            inner = getattr(estimator, name, None)
        except NotFittedError:
            continue
        if inner is not None and hasattr(inner, "fit") and _is_fitted(inner):
            return inner
    return None


def final_estimator(estimator):
    """Return the estimator at the end of searches, pipelines and wrappers.

    Walks through a search's ``best_estimator_``, a Pipeline's last step and
    the fitted model of a wrapper (see :func:`predict_dist`) until it meets
    an estimator with ``predict_dist``, or cannot go further.
    """
    while not hasattr(estimator, "predict_dist"):
        steps = getattr(estimator, "steps", None)
        inner = steps[-1][1] if steps else _wrapped(estimator)
        if inner is None:
            break
        estimator = inner
    return estimator


def predict_dist(estimator, X):
    """``predict_dist`` of an MDN, or of the MDN that a composite predicts with.

    Reached through fitted searches (``best_estimator_``), Pipelines (the
    preceding steps transform ``X``) and wrappers that keep the fitted model
    and predict with it unchanged: dask-ml's ``Incremental`` and
    ``ParallelPostFit``, or any wrapper with a fitted ``estimator_``, in any
    nesting.

    Parameters
    ----------
    estimator : object
        A fitted MDNRegressor, or a fitted Pipeline, search or wrapper ending
        in one.
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
    if not hasattr(final_estimator(estimator), "predict_dist"):
        raise TypeError(
            "estimator must have a predict_dist method (an MDNRegressor, or a "
            "Pipeline, search or wrapper such as dask-ml's Incremental ending "
            f"in a fitted one); got {type(estimator).__name__}."
        )
    while not hasattr(estimator, "predict_dist"):
        steps = getattr(estimator, "steps", None)
        if steps:
            check_is_fitted(estimator)
            X = estimator[:-1].transform(X)
            estimator = steps[-1][1]
        else:
            estimator = _wrapped(estimator)
    check_is_fitted(estimator)
    return estimator.predict_dist(X)
