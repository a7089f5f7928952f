"""Reach the MDN behind a Pipeline, a search or a wrapper, for scorers and plots.

The public functions (:func:`predict_dist` and the views computed from it) are
documented in, and exported from, :mod:`skmdn.interop`.
"""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

from skmdn._views import _is_dataframe, _to_pandas

# Target transformers whose inverse is y = a * z + b per target with a > 0, so
# that a Gaussian mixture over z maps to a Gaussian mixture over y exactly.
_AFFINE_TRANSFORMERS = (StandardScaler, MaxAbsScaler, RobustScaler, MinMaxScaler)

# Levels at which a non-affine target transform is checked to be monotone
# before quantiles are mapped through it.
_PROBE_LEVELS = np.array(
    [1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999]
)


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
    never reached by itself. A
    :class:`~sklearn.compose.TransformedTargetRegressor`'s ``regressor_``
    is reached too; its target transform is the caller's concern (see
    :func:`_reach`).
    """
    if isinstance(estimator, TransformedTargetRegressor):
        inner = getattr(estimator, "regressor_", None)
        return inner if inner is not None and _is_fitted(inner) else None
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


def _reach(estimator, X):
    """Return ``(mdn, X_mdn, targets)``: the MDN, its inputs and target maps.

    ``X_mdn`` is ``X`` transformed by every Pipeline step on the way;
    ``targets`` lists the fitted TransformedTargetRegressors passed, the
    outermost first.
    """
    if not hasattr(final_estimator(estimator), "predict_dist"):
        raise TypeError(
            "estimator must have a predict_dist method (an MDNRegressor, or a "
            "Pipeline, search, TransformedTargetRegressor or wrapper such as "
            "dask-ml's Incremental ending in a fitted one); got "
            f"{type(estimator).__name__}."
        )
    targets = []
    while not hasattr(estimator, "predict_dist"):
        steps = getattr(estimator, "steps", None)
        if steps:
            check_is_fitted(estimator)
            X = estimator[:-1].transform(X)
            estimator = steps[-1][1]
            continue
        if isinstance(estimator, TransformedTargetRegressor):
            targets.append(estimator)
        estimator = _wrapped(estimator)
    check_is_fitted(estimator)
    return estimator, X, targets


def _affine(ttr):
    """Return ``(a, b)``, ``y = a * z + b`` per target for ``ttr``, or None.

    None unless the fitted target transformer is the identity or one of the
    scalers in ``_AFFINE_TRANSFORMERS`` (MinMaxScaler without ``clip``).
    """
    t = ttr.transformer_
    identity = isinstance(t, FunctionTransformer) and (
        t.func is None and t.inverse_func is None
    )
    if not identity and not (
        isinstance(t, _AFFINE_TRANSFORMERS) and not getattr(t, "clip", False)
    ):
        return None
    D = t.n_features_in_
    b = np.asarray(t.inverse_transform(np.zeros((1, D))), dtype=np.float64)[0]
    a = np.diag(np.asarray(t.inverse_transform(np.eye(D)), dtype=np.float64) - b)
    return (np.ones(D), np.zeros(D)) if identity else (a, b)


def _inverse(ttr, z):
    """``ttr``'s inverse target transform applied to each value of ``z``.

    ``z`` is of shape (n, m), one target, or (n, m, D).
    """
    D = z.shape[2] if z.ndim == 3 else 1
    y = ttr.transformer_.inverse_transform(z.reshape(-1, D))
    return np.asarray(y, dtype=np.float64).reshape(z.shape)


def _not_exact(ttr, what):
    inverse = getattr(ttr.inverse_func, "__name__", ttr.inverse_func)
    given = "" if inverse is None else f" with inverse_func={inverse}"
    return ValueError(
        f"{what} through a TransformedTargetRegressor is exact only when its "
        "target transform is affine (no func/transformer, or a StandardScaler, "
        "MinMaxScaler without clip, MaxAbsScaler or RobustScaler); got "
        f"{type(ttr.transformer_).__name__}{given}. Quantiles, intervals and "
        "samples stay exact through a monotone transform "
        "(skmdn.interop.predict_quantiles, predict_interval, sample)."
    )


def _map_affine(dist, a, b):
    """Return the distribution of ``a * Z + b`` for ``Z ~ dist`` (``a > 0``)."""
    from skmdn._distribution import DiscretisedMixture, MixtureDistribution

    if isinstance(dist, DiscretisedMixture):
        raise ValueError(
            "A TransformedTargetRegressor around a model of integer targets maps "
            "them off the integers: the distribution of the original targets is "
            "no discretised mixture. Fit the integer model on the targets as they "
            "are."
        )

    if not dist._change.is_identity:
        return _map_affine_changed(dist, a, b)
    means = dist.means * a + b
    if dist.scale_tril is not None:
        return MixtureDistribution(
            dist.weights,
            means,
            scale_tril=dist.scale_tril * a[:, None],
            squeeze=dist.squeeze,
        )
    return MixtureDistribution(
        dist.weights, means, dist.scales * a, squeeze=dist.squeeze
    )


def _map_affine_changed(dist, a, b):
    """:func:`_map_affine` of a bounded target, ``Z = g^{-1}(T)``: exact.

    ``a Z + b`` is again ``h^{-1}(T')``: for ``Z = l + e^T``, the bound
    ``a l + b`` and ``T' = T + log a``; for ``Z = u - e^{-T}``, ``a u + b`` and
    ``T - log a``; for ``Z = l + (u - l) expit(T)``, the bounds ``a l + b``,
    ``a u + b`` and ``T`` itself. One target only: a change has one pair of
    bounds for every target.
    """
    from skmdn._mixture.change import Log, Logit

    if dist.n_outputs != 1:
        raise ValueError(
            "A TransformedTargetRegressor around a model of several bounded "
            "targets would give each target bounds of its own; predict the "
            "distribution of the model inside it instead."
        )
    change, a, b = dist._change, float(a[0]), float(b[0])
    lower, upper = change.support()
    means = dist.means
    if isinstance(change, Logit):
        mapped = Logit(a * lower + b, a * upper + b)
    elif isinstance(change, Log) and np.isfinite(lower):
        mapped, means = Log(lower=a * lower + b), means + np.log(a)
    elif isinstance(change, Log):
        mapped, means = Log(upper=a * upper + b), means - np.log(a)
    else:
        raise ValueError(f"No affine map of the change {change!r} is known.")
    return dist._trusted(dist.weights, means, dist.scales, dist.squeeze, change=mapped)


def predict_dist(estimator, X):
    """Predict the conditional distribution, through any composite ending in an MDN.

    The function form of :meth:`MDNRegressor.predict_dist
    <skmdn.MDNRegressor.predict_dist>`. It reaches the MDN through fitted
    searches (``best_estimator_``, e.g.
    :class:`~sklearn.model_selection.GridSearchCV`), Pipelines (the preceding
    steps transform ``X``), a
    :class:`~sklearn.compose.TransformedTargetRegressor` whose target
    transform is affine (its distribution is mapped back exactly) and
    wrappers that keep the fitted model and predict with it unchanged:
    dask-ml's ``Incremental`` and ``ParallelPostFit``, or any wrapper with a
    fitted ``estimator_``, in any nesting. These are the composites skmdn's
    scorers (:mod:`skmdn.metrics`) reach too.

    Parameters
    ----------
    estimator : estimator object
        A fitted :class:`~skmdn.MDNRegressor`, or a fitted Pipeline, search,
        TransformedTargetRegressor or wrapper ending in one.
    X : array-like of shape (n_samples, n_features)
        Inputs, as the outer estimator takes them.

    Returns
    -------
    dist : MixtureDistribution
        One Gaussian mixture per row of ``X``, in the units of the targets the
        outer estimator was fitted on.

    Raises
    ------
    TypeError
        If no ``predict_dist`` can be reached.
    NotFittedError
        If an estimator on the way is not fitted.
    ValueError
        If a TransformedTargetRegressor on the way has a target transform
        that is not affine: the targets' distribution is then no Gaussian
        mixture.

    See Also
    --------
    predict_quantiles, predict_interval, log_prob, sample : The other views,
        through the same composites.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skmdn import MDNRegressor
    >>> from skmdn.datasets import make_heteroscedastic
    >>> from skmdn.interop import predict_dist
    >>> from skmdn.metrics import log_likelihood_scorer
    >>> X, y = make_heteroscedastic(200, random_state=0)
    >>> pipe = make_pipeline(StandardScaler(), MDNRegressor(max_iter=5, random_state=0))
    >>> search = GridSearchCV(
    ...     pipe, {"mdnregressor__n_components": [1, 2]}, cv=2,
    ...     scoring=log_likelihood_scorer,
    ... ).fit(X, y)
    >>> predict_dist(search, X[:3]).mean().shape
    (3,)
    """
    mdn, X, targets = _reach(estimator, X)
    dist = mdn.predict_dist(X)
    for ttr in reversed(targets):
        affine = _affine(ttr)
        if affine is None:
            raise _not_exact(ttr, "predict_dist")
        dist = _map_affine(dist, *affine)
    return dist


def _quantiles(estimator, X, q):
    """Quantiles at levels ``q``, of shape (n, L) or (n, L, D), through composites."""
    mdn, Xt, targets = _reach(estimator, X)
    dist = mdn.predict_dist(Xt)
    inner = []  # the non-affine maps, applied to quantiles
    for ttr in reversed(targets):
        affine = _affine(ttr)
        if affine is None:
            inner.append(ttr)
        elif not inner:
            dist = _map_affine(dist, *affine)
        else:
            inner.append(ttr)
    if not inner:
        return dist.quantiles(q)
    # Through a monotone map g, the q-quantile of g(Z) is g of Z's q-quantile
    # (increasing g) or of its (1 - q)-quantile (decreasing g). Monotonicity
    # is checked on each row at the levels asked for and at probe levels.
    grid = np.unique(np.concatenate([q, 1 - q, _PROBE_LEVELS]))
    values = dist.quantiles(grid)
    for ttr in inner:
        values = _inverse(ttr, values)
    steps = np.diff(values, axis=1)
    if (steps >= 0).all():
        return values[:, np.searchsorted(grid, q)]
    if (steps <= 0).all():
        return values[:, np.searchsorted(grid, 1 - q)]
    raise ValueError(
        "The target transform of a TransformedTargetRegressor is not monotone "
        "over the predicted distributions, so their quantiles cannot be mapped "
        "through it exactly."
    )


def _levels(values, name):
    """``values`` as a 1-D float array of probabilities, and whether it was scalar."""
    a = np.asarray(values, dtype=np.float64)
    scalar = a.ndim == 0
    a = np.atleast_1d(a)
    if a.ndim != 1 or not ((a >= 0) & (a <= 1)).all():
        raise ValueError(f"{name} must be a scalar or 1-D, in [0, 1]; got {values!r}.")
    return a, scalar


def predict_quantiles(estimator, X, quantiles):
    """Predict marginal quantiles of the targets, through any composite.

    The function form of :meth:`MDNRegressor.predict_quantiles
    <skmdn.MDNRegressor.predict_quantiles>`, reaching the MDN as
    :func:`predict_dist` does. Through a
    :class:`~sklearn.compose.TransformedTargetRegressor` the quantiles stay
    exact for any monotone target transform (``func=np.log``, a
    QuantileTransformer, ...): the ``q`` quantile of ``g(Z)`` is ``g`` of a
    quantile of ``Z``.

    Parameters
    ----------
    estimator : estimator object
        A fitted :class:`~skmdn.MDNRegressor`, or a fitted Pipeline, search,
        TransformedTargetRegressor or wrapper ending in one.
    X : array-like of shape (n_samples, n_features)
        Inputs, as the outer estimator takes them. A pandas DataFrame gives a
        DataFrame indexed like it, as the method does.
    quantiles : float or array-like of shape (n_quantiles,)
        Probabilities in [0, 1].

    Returns
    -------
    y_quantiles : ndarray of shape (n_samples, n_quantiles) or \
            (n_samples, n_quantiles, n_outputs), or DataFrame
        ``y_quantiles[i, j]`` is the ``quantiles[j]`` quantile for input
        ``i``; laid out as by the method.

    Raises
    ------
    TypeError
        If no ``predict_dist`` can be reached.
    ValueError
        If ``quantiles`` is not a scalar or 1-D in [0, 1], or a target
        transform on the way is not monotone over the predicted
        distributions (checked on every row at the levels asked for and at
        eleven levels from 0.001 to 0.999).

    See Also
    --------
    predict_dist : The distribution itself.
    skmdn.MDNRegressor.predict_quantiles : The method of a bare model.
    """
    q, _ = _levels(quantiles, "quantiles")
    out = _quantiles(estimator, X, q)
    if _is_dataframe(X):
        return _to_pandas(out, X, levels=q, level_name="quantile")
    return out


def predict_interval(estimator, X, confidence=0.9):
    """Predict equal-tailed intervals of each target, through any composite.

    The function form of :meth:`MDNRegressor.predict_interval
    <skmdn.MDNRegressor.predict_interval>`, reaching the MDN as
    :func:`predict_dist` does; exact through a monotone target transform, as
    :func:`predict_quantiles`.

    Parameters
    ----------
    estimator : estimator object
        A fitted :class:`~skmdn.MDNRegressor`, or a fitted Pipeline, search,
        TransformedTargetRegressor or wrapper ending in one.
    X : array-like of shape (n_samples, n_features)
        Inputs, as the outer estimator takes them. A pandas DataFrame gives
        pandas bounds indexed like it, as the method does.
    confidence : float or array-like of shape (n_levels,), default=0.9
        Probability mass inside each interval.

    Returns
    -------
    lower, upper : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles;
        for a sequence of levels of shape (n_samples, n_levels) or
        (n_samples, n_levels, n_outputs). Pandas for a DataFrame ``X``, laid
        out as by the method.

    Raises
    ------
    TypeError
        If no ``predict_dist`` can be reached.
    ValueError
        If a level lies outside [0, 1], or a target transform on the way is
        not monotone over the predicted distributions.

    See Also
    --------
    predict_quantiles : Any quantiles, through the same composites.
    """
    c, scalar = _levels(confidence, "confidence")
    L = c.size
    out = _quantiles(estimator, X, np.concatenate([(1 - c) / 2, (1 + c) / 2]))
    lower, upper = out[:, :L], out[:, L:]
    if scalar:
        lower, upper = lower[:, 0], upper[:, 0]
    if not _is_dataframe(X):
        return lower, upper
    if scalar:
        return _to_pandas(lower, X, name="lower"), _to_pandas(upper, X, name="upper")
    return tuple(
        _to_pandas(bound, X, levels=c, level_name="confidence")
        for bound in (lower, upper)
    )


def log_prob(estimator, X, y):
    """Log-density of each target under its input's distribution, through any composite.

    The function form of :meth:`MDNRegressor.log_prob
    <skmdn.MDNRegressor.log_prob>`, from :func:`predict_dist`.

    Parameters
    ----------
    estimator : estimator object
        A fitted :class:`~skmdn.MDNRegressor`, or a fitted Pipeline, search,
        TransformedTargetRegressor (affine target transform) or wrapper
        ending in one.
    X : array-like of shape (n_samples, n_features)
        Inputs, as the outer estimator takes them.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        One target per input, in the units the outer estimator was fitted on.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        ``log p(y[i] | X[i])``.

    Raises
    ------
    TypeError
        If no ``predict_dist`` can be reached.
    ValueError
        If ``y`` does not pair with the rows of ``X``, or a
        TransformedTargetRegressor on the way has a target transform that is
        not affine.

    See Also
    --------
    skmdn.metrics.log_likelihood_scorer : Its mean, as a scorer.
    """
    return predict_dist(estimator, X).logpdf(y)


def sample(estimator, X, n_samples=1, random_state=None):
    """Draw targets from each input's predicted distribution, through any composite.

    The function form of :meth:`MDNRegressor.sample <skmdn.MDNRegressor.sample>`,
    reaching the MDN as :func:`predict_dist` does. Through a
    :class:`~sklearn.compose.TransformedTargetRegressor` the draws of the
    MDN are mapped by its inverse target transform, which is exact for any
    transform.

    Parameters
    ----------
    estimator : estimator object
        A fitted :class:`~skmdn.MDNRegressor`, or a fitted Pipeline, search,
        TransformedTargetRegressor or wrapper ending in one.
    X : array-like of shape (n_samples_X, n_features)
        Inputs, as the outer estimator takes them.
    n_samples : int, default=1
        Draws per input.
    random_state : int, RandomState instance or None, default=None
        Pass an int for reproducible draws across multiple function calls.
        See :term:`Glossary <random_state>`.

    Returns
    -------
    y_samples : ndarray of shape (n_samples_X, n_samples) or \
            (n_samples_X, n_samples, n_outputs)
        Draws; the target axis is present when the model was fitted on 2-D
        ``y``.

    Raises
    ------
    TypeError
        If no ``predict_dist`` can be reached.
    ValueError
        If ``n_samples`` is not a positive integer.
    """
    if not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples}.")
    mdn, Xt, targets = _reach(estimator, X)
    draws = mdn.sample(Xt, n_samples, random_state=random_state)
    for ttr in reversed(targets):
        draws = _inverse(ttr, draws)
    return draws
