"""Adapters that let other libraries use skmdn's predictive distributions.

:class:`MDNQuantileRegressor` exposes one quantile of a mixture density
network as an ordinary point regressor, which is the form in which conformal
prediction libraries accept quantile models: with MAPIE,
``ConformalizedQuantileRegressor(mapie_quantile_estimators(est, 0.9),
confidence_level=0.9, prefit=True)`` conformalises skmdn's own quantiles.
Nothing here imports MAPIE.
"""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Real
from typing import ClassVar

from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from skmdn._estimator import MDNRegressor
from skmdn._unwrap import (
    log_prob,
    predict_dist,
    predict_interval,
    predict_quantiles,
    sample,
)

__all__ = [
    "MDNProbaRegressor",  # noqa: F822 (from __getattr__)
    "MDNQuantileRegressor",
    "SkproMixture",  # noqa: F822 (from __getattr__)
    "log_prob",
    "mapie_quantile_estimators",
    "predict_dist",
    "predict_interval",
    "predict_quantiles",
    "sample",
    "skops_trusted_types",
]

# Defined in skmdn._skpro, which imports skpro: loaded on first use, so that
# skpro stays an optional dependency.
_SKPRO_NAMES = ("MDNProbaRegressor", "SkproMixture")


def __getattr__(name):
    if name in _SKPRO_NAMES:
        try:
            from skmdn import _skpro
        except ImportError as exc:
            raise ImportError(
                f"skmdn.interop.{name} needs skpro: pip install 'skmdn[skpro]'."
            ) from exc
        return getattr(_skpro, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# skmdn's own types in a saved model or distribution: the estimator, the
# distribution, the trunk (and its inputs' encoding), the head, the
# standardisation and each network's state and history. Everything else in
# them is numpy arrays and plain values.
_SKOPS_TYPES = (
    "skmdn._distribution.DiscretisedMixture",
    "skmdn._distribution.MixtureDistribution",
    "skmdn._encoding.PiecewiseLinear",
    "skmdn._estimator.MDNRegressor",
    "skmdn._head.DiscretisedHead",
    "skmdn._head.FullHead",
    "skmdn._head.MixtureHead",
    "skmdn._head.SphericalHead",
    "skmdn._mixture.change.Log",
    "skmdn._mixture.change.Logit",
    "skmdn._module.ModuleTrunk",
    "skmdn._network.MLP",
    "skmdn._preprocessing.Standardisation",
    "skmdn._target.Target",
    "skmdn._training.History",
    "skmdn._training.NetworkState",
    "skmdn.interop.MDNQuantileRegressor",
)


def skops_trusted_types():
    """Return the names of skmdn's own types that a saved model may hold.

    ``skops.io.get_untrusted_types`` of a fitted :class:`~skmdn.MDNRegressor` (or
    of a :class:`~skmdn.MixtureDistribution`) lists only these, plus your module's
    class when the model was fitted with ``module=``: numpy arrays and plain
    Python values make up the rest. Compare the two lists before you trust a
    file, as in :ref:`howto_saving`.

    Returns
    -------
    list of str
        Fully qualified type names, as ``get_untrusted_types`` prints them.

    Examples
    --------
    >>> from skmdn.interop import skops_trusted_types
    >>> "skmdn._estimator.MDNRegressor" in skops_trusted_types()
    True
    """
    return list(_SKOPS_TYPES)


class MDNQuantileRegressor(RegressorMixin, BaseEstimator):
    """One conditional quantile of a mixture density network, as a regressor.

    ``predict(X)`` returns the ``quantile`` quantile of the distribution that
    ``estimator`` predicts for each row (exact, from
    :meth:`MixtureDistribution.ppf <skmdn.MixtureDistribution.ppf>`). Use it
    wherever a library expects quantile regressors, such as MAPIE's
    ``ConformalizedQuantileRegressor``; several views of one fitted model
    (``prefit=True``) share its single fit.

    Parameters
    ----------
    estimator : estimator object
        An :class:`~skmdn.MDNRegressor`, or a Pipeline or search ending in
        one. Cloned and fitted by :meth:`fit` unless ``prefit``.
    quantile : float, default=0.5
        The probability level, in (0, 1).
    prefit : bool, default=False
        Whether ``estimator`` is already fitted. Then :meth:`fit` is not
        needed (it leaves the estimator alone) and this view predicts with
        ``estimator`` itself.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted estimator that predictions come from: a fitted clone of
        ``estimator``, or ``estimator`` itself when ``prefit``. Only set by
        :meth:`fit`; a prefit view predicts with ``estimator`` without it.
    n_features_in_ : int
        Number of features of the fitted estimator.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when the fitted estimator has them.

    See Also
    --------
    mapie_quantile_estimators : The three views MAPIE's conformalized
        quantile regression takes, from one fitted model.
    skmdn.MDNRegressor.predict_quantiles : Several quantiles at once.

    Examples
    --------
    >>> from skmdn import MDNRegressor
    >>> from skmdn.datasets import make_heteroscedastic
    >>> from skmdn.interop import MDNQuantileRegressor
    >>> X, y = make_heteroscedastic(500, random_state=0)
    >>> est = MDNRegressor(n_components=2, max_iter=50, random_state=0)
    >>> est = est.fit(X, y)
    >>> upper = MDNQuantileRegressor(est, quantile=0.95, prefit=True)
    >>> bool((upper.predict(X) > est.predict(X)).all())
    True
    """

    # the HTML repr's link to this class's page in the API reference
    _doc_link_module = "skmdn"
    _doc_link_template = MDNRegressor._doc_link_template

    _parameter_constraints: ClassVar[dict] = {
        "estimator": [HasMethods(["fit"])],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
        "prefit": ["boolean"],
    }

    def __init__(self, estimator, quantile=0.5, prefit=False):
        self.estimator = estimator
        self.quantile = quantile
        self.prefit = prefit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator``, or check that a prefit one is fitted.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        **fit_params : dict
            Passed to the estimator's ``fit`` (e.g. ``sample_weight``);
            ignored when ``prefit``.

        Returns
        -------
        self : MDNQuantileRegressor
            The fitted view.

        Raises
        ------
        NotFittedError
            If ``prefit`` and ``estimator`` is not fitted.
        """
        if self.prefit:
            check_is_fitted(self.estimator)
            self.estimator_ = self.estimator
        else:
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        return self

    def _fitted(self):
        """Return the fitted estimator, or raise NotFittedError."""
        if hasattr(self, "estimator_"):
            return self.estimator_
        if self.prefit:
            check_is_fitted(self.estimator)
            return self.estimator
        raise NotFittedError(
            f"This {type(self).__name__} instance is not fitted yet: call fit, "
            "or pass a fitted estimator with prefit=True."
        )

    def __sklearn_is_fitted__(self):
        """Whether the view can predict (fitted, or prefit on a fitted model)."""
        try:
            self._fitted()
        except NotFittedError:
            return False
        return True

    @property
    def n_features_in_(self):
        """Number of features of the fitted estimator."""
        try:
            return self._fitted().n_features_in_
        except NotFittedError as exc:
            raise AttributeError(str(exc)) from exc

    @property
    def feature_names_in_(self):
        """Feature names of the fitted estimator, when it has them."""
        try:
            return self._fitted().feature_names_in_
        except NotFittedError as exc:
            raise AttributeError(str(exc)) from exc

    def predict(self, X):
        """Predict the ``quantile`` quantile of the targets for each input.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_quantile : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The quantile of each target's conditional distribution.

        Raises
        ------
        NotFittedError
            If the view is not fitted and not prefit.
        """
        return predict_dist(self._fitted(), X).ppf(self.quantile)

    def __sklearn_tags__(self):
        """Scikit-learn's tags: several targets are allowed."""
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def mapie_quantile_estimators(estimator, confidence_level=0.9):
    """Return the lower, upper and median views that MAPIE's CQR takes.

    MAPIE's ``ConformalizedQuantileRegressor`` with ``prefit=True`` expects
    three fitted quantile regressors, in this order: the ``(1 -
    confidence_level) / 2`` quantile, the ``(1 + confidence_level) / 2``
    quantile and the median. A mixture density network gives all three
    from one fit, which these views share.

    Parameters
    ----------
    estimator : estimator object
        A fitted :class:`~skmdn.MDNRegressor`, or a fitted Pipeline or
        search ending in one.
    confidence_level : float, default=0.9
        The nominal coverage, in (0, 1); pass the same value to MAPIE.

    Returns
    -------
    list of MDNQuantileRegressor
        Three prefit views of ``estimator``: lower, upper, median.

    Raises
    ------
    NotFittedError
        If ``estimator`` is not fitted.
    ValueError
        If ``confidence_level`` is not in (0, 1).

    See Also
    --------
    MDNQuantileRegressor : One quantile of a model as a regressor.

    Examples
    --------
    >>> from skmdn import MDNRegressor
    >>> from skmdn.datasets import make_heteroscedastic
    >>> from skmdn.interop import mapie_quantile_estimators
    >>> X, y = make_heteroscedastic(500, random_state=0)
    >>> est = MDNRegressor(n_components=2, max_iter=50, random_state=0)
    >>> est = est.fit(X, y)
    >>> [round(view.quantile, 6) for view in mapie_quantile_estimators(est, 0.8)]
    [0.1, 0.9, 0.5]

    With MAPIE installed, the views plug into its conformalized quantile
    regression (``X_cal, y_cal`` a calibration set the model did not see)::

        from mapie.regression import ConformalizedQuantileRegressor

        cqr = ConformalizedQuantileRegressor(
            mapie_quantile_estimators(est, 0.9), confidence_level=0.9, prefit=True
        ).conformalize(X_cal, y_cal)
        y_pred, y_intervals = cqr.predict_interval(X_test)
    """
    if not isinstance(confidence_level, Real) or not 0 < confidence_level < 1:
        raise ValueError(
            f"confidence_level must lie in (0, 1); got {confidence_level!r}."
        )
    check_is_fitted(estimator)
    levels = (0.5 - confidence_level / 2, 0.5 + confidence_level / 2, 0.5)
    return [MDNQuantileRegressor(estimator, q, prefit=True) for q in levels]
