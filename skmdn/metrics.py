"""Scores of predictive distributions, and scorers for model selection.

Every metric takes the observed targets and a :class:`~skmdn.MixtureDistribution`
(as returned by :meth:`MDNRegressor.predict_dist <skmdn.MDNRegressor.predict_dist>`).
The scorers plug into ``scoring=`` of :class:`~sklearn.model_selection.GridSearchCV`
and :func:`~sklearn.model_selection.cross_validate`; greater is better.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn import get_config
from sklearn.utils.metadata_routing import UNCHANGED, MetadataRequest

from skmdn._blockwise import blockwise_score, is_dask_array
from skmdn._distribution import DiscretisedMixture, MixtureDistribution, check_targets
from skmdn._unwrap import predict_dist

__all__ = [
    "calibration_error",
    "crps",
    "interval_coverage",
    "log_likelihood",
    "log_likelihood_scorer",
    "neg_crps_scorer",
    "pit",
]


def _check(y_true, y_dist, sample_weight=None):
    if not isinstance(y_dist, MixtureDistribution):
        raise TypeError(
            "y_dist must be a MixtureDistribution, e.g. est.predict_dist(X); got "
            f"{type(y_dist).__name__}."
        )
    y = check_targets(y_true, len(y_dist), y_dist.n_outputs, name="y_true")
    if not np.isfinite(y).all():
        raise ValueError("y_true contains NaN or infinity.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (len(y),):
            raise ValueError(
                f"sample_weight must have shape ({len(y)},); got {sample_weight.shape}."
            )
        if (sample_weight < 0).any() or sample_weight.sum() <= 0:
            raise ValueError("sample_weight must be non-negative with a positive sum.")
    return y, sample_weight


def _average(values, sample_weight, multioutput):
    """Weighted mean over rows, then over targets unless ``raw_values``."""
    per_target = np.average(values, axis=0, weights=sample_weight)
    if multioutput == "raw_values":
        return per_target
    if multioutput != "uniform_average":
        raise ValueError(
            "multioutput must be 'uniform_average' or 'raw_values'; got "
            f"{multioutput!r}."
        )
    return float(per_target.mean())


def log_likelihood(y_true, y_dist, *, sample_weight=None):
    """Mean log-density of the observed targets under their predicted distributions.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    y_dist : MixtureDistribution
        Predicted distributions, one per row.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    float
        ``mean_i log p(y_i | x_i)`` in nats per row (joint over targets);
        greater is better.

    Examples
    --------
    >>> from skmdn import MixtureDistribution
    >>> from skmdn.metrics import log_likelihood
    >>> dist = MixtureDistribution([[1.0]], [[[0.0]]], [[[1.0]]], squeeze=True)
    >>> round(log_likelihood([0.0], dist), 4)
    -0.9189
    """
    y, sample_weight = _check(y_true, y_dist, sample_weight)
    return float(np.average(y_dist.logpdf(y), weights=sample_weight))


def crps(y_true, y_dist, *, sample_weight=None, multioutput="uniform_average"):
    """Compute the continuous ranked probability score of a distribution, exactly.

    ``CRPS(F, y) = E|X - y| - 0.5 E|X - X'|`` with ``X, X'`` independent draws
    from ``F``; for a Gaussian mixture both terms are exact sums over
    components and pairs of components; for a bounded target's distribution
    it is computed by quadrature on its scale, and for a
    :class:`~skmdn.DiscretisedMixture` it is the exact CRPS of its step cdf.
    For several targets it is computed per target marginal.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    y_dist : MixtureDistribution
        Predicted distributions, one per row.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {'uniform_average', 'raw_values'}, default='uniform_average'
        Average over targets, or return one score per target.

    Returns
    -------
    float or ndarray of shape (n_outputs,)
        Mean CRPS in target units; lower is better.

    Examples
    --------
    >>> from skmdn import MixtureDistribution
    >>> from skmdn.metrics import crps
    >>> dist = MixtureDistribution(
    ...     [[0.5, 0.5]], [[[-3.0], [3.0]]], [[[1.0], [1.0]]], squeeze=True)
    >>> round(crps([0.0], dist), 3)
    1.219
    """
    y, sample_weight = _check(y_true, y_dist, sample_weight)
    values = y_dist._crps(y)
    return _average(values, sample_weight, multioutput)


def pit(y_true, y_dist):
    """Probability integral transform: each target's predicted cdf at the outcome.

    For a calibrated model the values are uniform on [0, 1].

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    y_dist : MixtureDistribution
        Predicted distributions, one per row.

    Returns
    -------
    ndarray of shape (n_samples,) or (n_samples, n_outputs)
        ``F_i(y_i)`` per row (and target marginal). For integer targets (a
        :class:`~skmdn.DiscretisedMixture`) this is the step cdf at the
        outcome, which is not uniform even for a calibrated model (each
        outcome's PIT could lie anywhere in ``[F(y - 1), F(y)]``):
        :func:`calibration_error` and :class:`~skmdn.plotting.PITDisplay`
        use the non-randomised PIT there instead.

    Examples
    --------
    >>> from skmdn import MixtureDistribution
    >>> from skmdn.metrics import pit
    >>> dist = MixtureDistribution([[1.0]], [[[0.0]]], [[[1.0]]], squeeze=True)
    >>> pit([0.0], dist)
    array([0.5])
    """
    y, _ = _check(y_true, y_dist)
    return y_dist.cdf(y[:, 0] if y_dist.squeeze else y)


def interval_coverage(
    y_true, y_dist, confidence=0.9, *, sample_weight=None, multioutput="uniform_average"
):
    """Share of outcomes inside the predicted equal-tailed intervals.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    y_dist : MixtureDistribution
        Predicted distributions, one per row.
    confidence : float, default=0.9
        Nominal mass of the intervals.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {'uniform_average', 'raw_values'}, default='uniform_average'
        Average over targets, or return one value per target.

    Returns
    -------
    float or ndarray of shape (n_outputs,)
        Observed coverage; close to ``confidence`` for a calibrated model.

    Examples
    --------
    >>> import numpy as np
    >>> from skmdn import MixtureDistribution
    >>> from skmdn.metrics import interval_coverage
    >>> dist = MixtureDistribution(
    ...     np.ones((3, 1)), np.zeros((3, 1, 1)), np.ones((3, 1, 1)), squeeze=True)
    >>> interval_coverage([0.0, 1.0, 3.0], dist, confidence=0.9)
    0.666...
    """
    y, sample_weight = _check(y_true, y_dist, sample_weight)
    lower, upper = y_dist.interval(confidence)
    lower, upper = lower.reshape(y.shape), upper.reshape(y.shape)
    inside = ((y >= lower) & (y <= upper)).astype(np.float64)
    return _average(inside, sample_weight, multioutput)


def calibration_error(y_true, y_dist, *, n_bins=10, sample_weight=None):
    """Distance between the PIT histogram and the uniform one.

    The total-variation distance ``0.5 * sum_b |f_b - 1 / n_bins|`` between the
    (weighted) share ``f_b`` of PIT values in each of ``n_bins`` equal bins and
    the uniform share: the probability mass the predictions put in the wrong
    bins. 0 is perfect; for several targets the marginals' values are averaged.
    For integer targets (a :class:`~skmdn.DiscretisedMixture`), whose PIT
    values are not uniform even when calibrated, each outcome spreads its
    weight uniformly over ``[F(y - 1), F(y)]`` (the non-randomised PIT of
    Czado, Gneiting and Held, 2009: the expected shares of the randomised
    PIT, without its noise).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    y_dist : MixtureDistribution
        Predicted distributions, one per row.
    n_bins : int, default=10
        Number of equal-width PIT bins (10 gives deciles).
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    float
        In [0, 1 - 1/n_bins]; lower is better.

    Examples
    --------
    >>> import numpy as np
    >>> from skmdn import MixtureDistribution
    >>> from skmdn.metrics import calibration_error
    >>> rng = np.random.RandomState(0)
    >>> dist = MixtureDistribution(
    ...     np.ones((5000, 1)), np.zeros((5000, 1, 1)), np.ones((5000, 1, 1)))
    >>> calibration_error(rng.normal(size=5000), dist) < 0.03
    True
    >>> calibration_error(rng.normal(scale=3, size=5000), dist) > 0.2
    True
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins}.")
    y, sample_weight = _check(y_true, y_dist, sample_weight)
    yy = y[:, 0] if y_dist.squeeze else y
    u = y_dist.cdf(yy).reshape(y.shape)
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    below = None
    if isinstance(y_dist, DiscretisedMixture):
        below = y_dist.cdf(yy - 1).reshape(y.shape)
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    errors = []
    for d in range(y.shape[1]):
        lower = None if below is None else below[:, d]
        share = w @ _pit_shares(u[:, d], edges, lower) / w.sum()
        errors.append(0.5 * np.abs(share - 1.0 / n_bins).sum())
    return float(np.mean(errors))


def _pit_shares(pit, edges, below=None):
    """Share of each observation's PIT in each bin, of shape (n_samples, n_bins).

    One bin per value (for equal bins ``edges``), or, given ``below`` (the
    cdf just below integer outcomes), the share of ``[below, pit]`` in each
    bin: the non-randomised PIT, uniform over the interval (a point where
    the interval is empty).
    """
    pit = np.clip(np.asarray(pit, dtype=np.float64), 0.0, 1.0)
    n_bins = len(edges) - 1
    point = np.minimum((pit * n_bins).astype(int), n_bins - 1)
    shares = np.zeros((len(pit), n_bins))
    shares[np.arange(len(pit)), point] = 1.0
    if below is None:
        return shares
    below = np.clip(np.minimum(np.asarray(below, dtype=np.float64), pit), 0.0, 1.0)
    width = pit - below
    spread = width > 0
    lo, hi = below[spread, None], pit[spread, None]
    overlap = np.clip(edges[None, 1:], lo, hi) - np.clip(edges[None, :-1], lo, hi)
    shares[spread] = overlap / width[spread, None]
    return shares


def _called_as_metric(name, estimator):
    """Return the error of a scorer called without targets (as a metric)."""
    if hasattr(estimator, "fit"):
        return TypeError(f"{name}(estimator, X, y_true) needs the targets y_true.")
    return TypeError(
        f"{name} was called as a metric, scorer(y_true, y_pred): it scores "
        "predicted distributions, and needs the fitted estimator, "
        f"{name}(estimator, X, y_true). dask-ml's Incremental.score and "
        "ParallelPostFit.score call a callable 'scoring' so on Dask arrays, "
        "with point predictions; call the scorer on the wrapper instead, "
        f"{name}(incremental, dX, dy), which scores the blocks on the workers."
    )


class _DistributionScorer:
    """Score a fitted estimator's predictive distributions; greater is better.

    Called as ``scorer(estimator, X, y_true, sample_weight=None)``, as
    scikit-learn's scorers are. Takes part in scikit-learn's metadata
    routing: with ``sklearn.set_config(enable_metadata_routing=True)``, a
    scorer whose :meth:`set_score_request` asked for ``sample_weight``
    receives the weights routed by ``cross_validate(..., params=...)`` or a
    search. Dask arrays are scored block by block on the workers (see
    ``compute``).

    Parameters
    ----------
    estimator : object
        Fitted estimator with a ``predict_dist`` method, or a Pipeline,
        search or wrapper (such as dask-ml's ``Incremental``) ending in one.
    X : array-like of shape (n_samples, n_features)
        Inputs.
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    compute : bool, default=True
        For Dask arrays: return the score (True) or a ``dask.delayed``
        object of it (False).
    """

    def __init__(self, name, metric, sign, sample_weight_request=None):
        """Build the scorer of ``metric``, negated when ``sign`` is -1."""
        self._name = name
        self._metric = metric
        self._sign = sign
        self._sample_weight_request = sample_weight_request

    def __call__(self, estimator, X, y_true=None, sample_weight=None, *, compute=True):
        """Score ``estimator`` on ``X`` against ``y_true``.

        When ``X``, ``y_true`` or ``sample_weight`` is a Dask array, each
        block of rows is scored on the worker that holds it, the fitted
        model entering the graph once, and the blocks' weighted means are
        combined: the same mean over rows as for numpy data.

        Parameters
        ----------
        estimator : object
            Fitted estimator with a ``predict_dist`` method, or a Pipeline,
            search or wrapper (such as dask-ml's ``Incremental``) ending in
            one.
        X : array-like or Dask array of shape (n_samples, n_features)
            Inputs.
        y_true : array-like or Dask array of shape (n_samples,) or \
                (n_samples, n_outputs)
            Observed targets; required (the default None only reports a
            scorer called as a metric of point predictions).
        sample_weight : array-like or Dask array of shape (n_samples,), \
                default=None
            Row weights.
        compute : bool, default=True
            For Dask data, False returns a ``dask.delayed`` object of the
            score instead of computing it; in-memory data are scored at once.

        Returns
        -------
        float or dask.delayed.Delayed
            The score; greater is better.

        Raises
        ------
        TypeError
            If called as a metric, ``scorer(y_true, y_pred)``: dask-ml's
            ``Incremental.score`` and ``ParallelPostFit.score`` do so with a
            callable ``scoring`` on Dask arrays, and point predictions hold
            no distribution to score.
        """
        if y_true is None:
            raise _called_as_metric(self._name, estimator)
        if any(map(is_dask_array, (X, y_true, sample_weight))):
            score = blockwise_score(
                estimator, self._metric, X, y_true, sample_weight, compute
            )
            return self._sign * score
        dist = predict_dist(estimator, X)
        return self._sign * self._metric(y_true, dist, sample_weight=sample_weight)

    def set_score_request(self, *, sample_weight=UNCHANGED):
        """Return a copy of this scorer that requests ``sample_weight`` or not.

        Only available with ``sklearn.set_config(enable_metadata_routing=True)``;
        see scikit-learn's metadata routing guide. Unlike scikit-learn's
        scorers, which :func:`~sklearn.metrics.get_scorer` copies for each
        caller, skmdn's scorers are shared module constants, so this returns
        a new scorer and leaves this one unchanged: pass the result to
        ``scoring=``.

        Parameters
        ----------
        sample_weight : bool, None or str, default=UNCHANGED
            True to receive the routed ``sample_weight``, False not to, None
            to raise an error if weights are passed (the default request), a
            string to receive the metadata of that name instead; the default,
            ``sklearn.utils.metadata_routing.UNCHANGED``, keeps the request.

        Returns
        -------
        scorer : object
            A scorer with the request; this scorer is unchanged.

        Raises
        ------
        RuntimeError
            If metadata routing is not enabled.
        """
        if not get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                "This method is only available when metadata routing is enabled."
                " You can enable it using"
                " sklearn.set_config(enable_metadata_routing=True)."
            )
        request = self._sample_weight_request
        if sample_weight != UNCHANGED:
            request = sample_weight
        return type(self)(self._name, self._metric, self._sign, request)

    def get_metadata_routing(self):
        """Return the scorer's metadata request (scikit-learn's routing).

        Returns
        -------
        routing : MetadataRequest
            The request of ``score`` for ``sample_weight``.
        """
        routing = MetadataRequest(owner=self._name)  # names it in messages
        routing.score.add_request(
            param="sample_weight", alias=self._sample_weight_request
        )
        return routing

    def __repr__(self):
        if self._sample_weight_request is None:
            return self._name
        return (
            f"{self._name}.set_score_request("
            f"sample_weight={self._sample_weight_request!r})"
        )


log_likelihood_scorer = _DistributionScorer("log_likelihood_scorer", log_likelihood, 1)
"""Scorer for ``scoring=``: mean held-out log-likelihood (greater is better)."""

neg_crps_scorer = _DistributionScorer("neg_crps_scorer", crps, -1)
"""Scorer for ``scoring=``: negated mean CRPS (greater is better)."""
