"""The views of a fitted model's predictive distribution, as estimator methods.

``predict`` (the mean), ``predict_var``, ``predict_quantiles``,
``predict_interval``, ``predict_mode``, ``log_prob``, ``conditional_density``
and ``sample`` are each a view of ``predict_dist(X)``: the mixin that
:class:`~skmdn.MDNRegressor` inherits them from needs only ``predict_dist``,
``n_outputs_`` and whether ``y`` was 1-D at fit time (``_y_ndim``), and
``_validate_X_predict`` and ``_predict_dist_validated`` to compute a
view in blocks of rows: memory is then bounded by a block's mixtures, not by
the number of rows.
"""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import _num_samples

from skmdn._threads import map_blocks


def _is_dataframe(X):
    """Whether ``X`` is a pandas DataFrame (without importing pandas)."""
    return type(X).__module__.split(".")[0] == "pandas" and hasattr(X, "columns")


def _to_pandas(values, X, levels=None, level_name=None, name=None):
    """Quantile or interval ``values`` as pandas, indexed like the DataFrame ``X``.

    ``values`` of shape (n,) gives a Series called ``name``; (n, D) a
    DataFrame with one column per target (``0 .. D - 1``, named ``target``);
    (n, L) a DataFrame with one column per level of ``levels`` (named
    ``level_name``); (n, L, D) a DataFrame with (target, level) columns.
    """
    import pandas as pd

    if levels is None:
        if values.ndim == 1:
            return pd.Series(values, index=X.index, name=name)
        columns = pd.RangeIndex(values.shape[1], name="target")
        return pd.DataFrame(values, index=X.index, columns=columns)
    levels = pd.Index(np.asarray(levels, dtype=np.float64), name=level_name)
    if values.ndim == 2:
        return pd.DataFrame(values, index=X.index, columns=levels)
    n, L, D = values.shape
    columns = pd.MultiIndex.from_product(
        [pd.RangeIndex(D), levels], names=["target", level_name]
    )
    flat = values.transpose(0, 2, 1).reshape(n, D * L)
    return pd.DataFrame(flat, index=X.index, columns=columns)


# Rows per block of a view: the default trunk's activations and a row's
# mixture take about 1 KB a row per network, so a block of five networks
# stays near 40 MB, and a million-row prediction costs its result plus one
# block (tests/test_misuse.py).
PREDICT_BLOCK = 1 << 13


class DistributionViewsMixin:
    """Prediction methods that are views of ``predict_dist``."""

    def _per_block(self, X, view, parallel=True):
        """``view(dist, rows)`` of every block of rows, joined along the rows.

        ``dist`` is the predicted distribution of the rows ``rows`` (a slice)
        of ``X``; a view returns an array or a tuple of arrays, one row per
        input row. The blocks run with one BLAS thread each, spread over the
        estimator's ``n_jobs`` threads when ``parallel`` (:mod:`skmdn._threads`).
        """
        X = self._validate_X_predict(X)
        blocks = [
            slice(start, start + PREDICT_BLOCK)
            for start in range(0, X.shape[0], PREDICT_BLOCK)
        ]

        def run(rows):
            return view(self._predict_dist_validated(X[rows]), rows)

        n_jobs = getattr(self, "n_jobs", None) if parallel else None
        parts = map_blocks(run, blocks, X.shape[0], n_jobs)
        if len(parts) == 1:
            return parts[0]
        if isinstance(parts[0], tuple):
            return tuple(np.concatenate(p) for p in zip(*parts, strict=True))
        return np.concatenate(parts)

    def predict(self, X, return_std=False):
        """Predict the conditional mean of the targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        return_std : bool, default=False
            Whether to also return the conditional standard deviation of each
            target.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Conditional mean; 1-D when the model was fitted on 1-D ``y``.
        y_std : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Conditional standard deviation. Only returned when ``return_std``
            is True.
        """
        if return_std:
            return self._per_block(X, lambda dist, _: (dist.mean(), dist.std()))
        return self._per_block(X, lambda dist, _: dist.mean())

    def predict_var(self, X):
        """Predict the conditional variance of each target.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_var : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The variance of each target's marginal (law of total variance
            over the components), in squared target units; the square of the
            ``y_std`` of ``predict(X, return_std=True)``.
        """
        return self._per_block(X, lambda dist, _: dist.var())

    def predict_quantiles(self, X, quantiles):
        """Predict marginal quantiles of the targets, exactly (no sampling).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs. When ``X`` is a pandas DataFrame the result is a DataFrame
            with the same index (see Returns).
        quantiles : float or array-like of shape (n_quantiles,)
            Probabilities in [0, 1], all computed in one call.

        Returns
        -------
        y_quantiles : ndarray of shape (n_samples, n_quantiles) or \
                (n_samples, n_quantiles, n_outputs), or DataFrame
            ``y_quantiles[i, j]`` is the ``quantiles[j]`` quantile for input
            ``i``; the target axis is present when the model was fitted on 2-D
            ``y``. For a DataFrame ``X``, a DataFrame indexed like ``X`` whose
            columns are the levels (an index named ``quantile``), or for 2-D
            ``y`` a (``target``, ``quantile``) MultiIndex with targets
            numbered from 0, as skpro's ``predict_quantiles``.

        Raises
        ------
        ValueError
            If ``quantiles`` is not a scalar or 1-D, or lies outside [0, 1].
        """
        q = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
        if q.ndim != 1:
            raise ValueError(f"quantiles must be a scalar or 1-D; got shape {q.shape}.")
        out = self._per_block(X, lambda dist, _: dist.quantiles(q))
        if _is_dataframe(X):
            return _to_pandas(out, X, levels=q, level_name="quantile")
        return out

    def predict_interval(self, X, confidence=0.9):
        """Predict equal-tailed intervals of each target's conditional distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs. When ``X`` is a pandas DataFrame the bounds are pandas
            objects with the same index (see Returns).
        confidence : float or array-like of shape (n_levels,), default=0.9
            Probability mass inside each interval; a sequence computes every
            level in one call.

        Returns
        -------
        lower, upper : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
            quantiles. For a sequence of levels, of shape (n_samples,
            n_levels) or (n_samples, n_levels, n_outputs). For a DataFrame
            ``X``, pandas indexed like ``X``: a Series named ``lower`` or
            ``upper`` (one level, one target), else a DataFrame whose columns
            are the targets (``target``, from 0), the levels (``confidence``)
            or both (a MultiIndex).

        Raises
        ------
        ValueError
            If a level lies outside [0, 1].
        """
        lower, upper = self._per_block(X, lambda dist, _: dist.interval(confidence))
        if not _is_dataframe(X):
            return lower, upper
        if np.ndim(confidence) == 0:
            return (
                _to_pandas(lower, X, name="lower"),
                _to_pandas(upper, X, name="upper"),
            )
        return tuple(
            _to_pandas(bound, X, levels=confidence, level_name="confidence")
            for bound in (lower, upper)
        )

    def predict_mode(self, X):
        """Predict the most likely target (the global mode of the density).

        Unlike :meth:`predict` (the mean, which can fall between branches of
        a multimodal distribution), the mode is a value the model considers
        most likely.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_mode : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The mode of the joint conditional density for each input.
        """
        return self._per_block(X, lambda dist, _: dist.mode())

    def _check_targets(self, y, name="y"):
        y = check_array(
            y, ensure_2d=False, dtype=np.float64, input_name=name, ensure_min_samples=1
        )
        if y.ndim == 1:
            if self.n_outputs_ != 1:
                raise ValueError(
                    f"{name} must have shape (n, {self.n_outputs_}) for a model with "
                    f"{self.n_outputs_} targets; got {y.shape}."
                )
            y = y[:, None]
        if y.ndim != 2 or y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"{name} must have {self.n_outputs_} target column(s); got shape "
                f"{y.shape}."
            )
        return y

    def log_prob(self, X, y):
        """Log-density of each target under its own input's predicted distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            One target per input.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            ``log p(y[i] | X[i])`` in original target units.
        """
        y = self._check_targets(y)
        n = _num_samples(X)
        if y.shape[0] != n:
            raise ValueError(
                f"X and y have different numbers of rows: {n} and {y.shape[0]}."
            )
        return self._per_block(X, lambda dist, rows: dist.logpdf(y[rows]))

    def conditional_density(self, X, y, log=False):
        """Density of every candidate target under every input's distribution.

        The analogue of ``predict_proba``: row ``i`` is input ``X[i]``, column
        ``j`` is candidate target ``y[j]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_candidates,) or (n_candidates, n_outputs)
            Candidate targets, e.g. a grid.
        log : bool, default=False
            Whether to return log-densities.

        Returns
        -------
        density : ndarray of shape (n_samples, n_candidates)
            ``p(y[j] | X[i])``, or its logarithm.
        """
        y = self._check_targets(y)
        out = self._per_block(X, lambda dist, _: dist.cross_logpdf(y))
        return out if log else np.exp(out)

    def sample(self, X, n_samples=1, random_state=None):
        """Draw targets from the predicted distribution of each input.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features)
            Inputs.
        n_samples : int, default=1
            Draws per input.
        random_state : int, RandomState instance or None, default=None
            Pass an int for reproducible draws across multiple function calls.
            See :term:`Glossary <random_state>`.

        Returns
        -------
        y_samples : ndarray of shape (n_samples_X, n_samples) or \
                (n_samples_X, n_samples, n_outputs)
            Draws; the target axis is present when the model was fitted on
            2-D ``y``.
        """
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples}.")
        rng = check_random_state(random_state)
        # one generator drawn in the blocks' order: never spread over threads
        return self._per_block(
            X, lambda dist, _: dist.rvs(n_samples, random_state=rng), parallel=False
        )
