"""The skpro adapter: an MDN as a skpro probabilistic regressor.

Imported by :mod:`skmdn.interop` on first use of its skpro names, so that skpro
stays optional.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numbers
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr
from sklearn.base import clone
from skpro.distributions.base import BaseDistribution
from skpro.regression.base import BaseProbaRegressor

from skmdn._distribution import MixtureDistribution
from skmdn._unwrap import predict_dist

_SQRT_2PI = np.sqrt(2 * np.pi)


def _abs_mean(m, s):
    """``E|W|`` for ``W ~ N(m, s^2)``, elementwise."""
    a = m / s
    return m * (2 * ndtr(a) - 1) + 2 * s * np.exp(-0.5 * a * a) / _SQRT_2PI


def _sklearn_frame(X):
    """``X`` with string column names where they are mixed (scikit-learn refuses)."""
    if all(isinstance(c, str) for c in X.columns):
        return X
    return X.set_axis(X.columns.astype(str), axis=1)


def _is_scalar(i):
    return isinstance(i, numbers.Integral) or (np.ndim(i) == 0 and i is not None)


class SkproMixture(BaseDistribution):
    """A table of Gaussian mixtures, as a skpro distribution.

    Entry ``(i, d)`` is target ``d``'s marginal under row ``i``'s mixture of
    ``K`` Gaussians. Every method is skmdn's exact one: ``pdf``, ``log_pdf``,
    ``cdf`` and ``ppf`` (no bisection) come from
    :class:`~skmdn.MixtureDistribution`, ``mean`` and ``var`` are the mixture's
    moments, ``sample`` draws from the joint mixture of each row, and
    ``energy`` (from which skpro computes the CRPS) is the closed form
    ``E|X - x| = sum_k w_k A(mu_k - x, s_k)`` and ``E|X - X'| = sum_jk w_j w_k
    A(mu_j - mu_k, (s_j^2 + s_k^2)^(1/2))`` with ``A(m, s) = E|N(m, s^2)|``,
    summed over the columns as skpro's own distributions do.

    Usually made by ``MDNProbaRegressor.predict_proba``, or from a
    :class:`~skmdn.MixtureDistribution` with :meth:`from_mixture`.

    Parameters
    ----------
    weights : array-like of shape (n_samples, n_components)
        Mixing proportions of each row.
    means : array-like of shape (n_samples, n_components, n_outputs)
        Component means.
    scales : array-like of shape (n_samples, n_components, n_outputs), \
            default=None
        Component standard deviations (diagonal covariances). Give exactly one
        of ``scales`` and ``scale_tril``.
    scale_tril : array-like of shape \
            (n_samples, n_components, n_outputs, n_outputs), default=None
        Cholesky factors of full component covariances.
    index : pandas.Index, default=None
        Row labels (``RangeIndex`` when None and ``columns`` is given).
    columns : pandas.Index, default=None
        Column labels, one per target. When ``index`` and ``columns`` are both
        None, the distribution is scalar (one row, one target).

    See Also
    --------
    MDNProbaRegressor : The skpro regressor whose predictions these are.
    skmdn.MixtureDistribution : The numpy distribution behind it.

    Examples
    --------
    >>> from skmdn.interop import SkproMixture
    >>> d = SkproMixture([[0.5, 0.5]], [[[-1.0], [1.0]]], [[[0.5], [0.5]]],
    ...                  index=[0], columns=["y"])
    >>> d.mean()
         y
    0  0.0
    """

    _tags: ClassVar[dict] = {
        "authors": ["skmdn developers"],
        "capabilities:approx": ["pdfnorm"],
        "capabilities:exact": ["mean", "var", "energy", "pdf", "log_pdf", "cdf", "ppf"],
        "distr:measuretype": "continuous",
        "distr:paramtype": "parametric",
        "broadcast_init": "off",
    }

    def __init__(
        self, weights, means, scales=None, scale_tril=None, index=None, columns=None
    ):
        self.weights = weights
        self.means = means
        self.scales = scales
        self.scale_tril = scale_tril
        self._mixture = MixtureDistribution(
            weights, means, scales, scale_tril=scale_tril
        )
        n, D = len(self._mixture), self._mixture.n_outputs
        if index is None and columns is not None:
            index = pd.RangeIndex(n)
        if columns is None and index is not None:
            columns = pd.RangeIndex(D)
        super().__init__(index=index, columns=columns)

    @classmethod
    def from_mixture(cls, dist, index=None, columns=None):
        """Wrap a :class:`~skmdn.MixtureDistribution` as a skpro distribution.

        Parameters
        ----------
        dist : MixtureDistribution
            The mixtures, one per row.
        index : pandas.Index, default=None
            Row labels; ``RangeIndex`` when None.
        columns : pandas.Index, default=None
            Column labels; ``RangeIndex`` when None.

        Returns
        -------
        SkproMixture
            The same mixtures, of shape (n_samples, n_outputs).

        Raises
        ------
        TypeError
            If ``dist`` is a :class:`~skmdn.DiscretisedMixture` (integer
            targets) or the distribution of a bounded target (a model with
            ``target_bounds``), which this distribution would misrepresent.
        """
        from skmdn._distribution import DiscretisedMixture

        if isinstance(dist, DiscretisedMixture):
            raise TypeError(
                "SkproMixture is continuous: it cannot wrap a DiscretisedMixture "
                "(integer targets) without treating them as real-valued."
            )
        if not dist._change.is_identity:
            raise TypeError(
                "SkproMixture is a Gaussian mixture on the whole real line: it "
                "cannot wrap the distribution of a bounded target "
                f"({dist._change!r}, a model with target_bounds) without "
                "moving its mass outside the bounds."
            )
        index = pd.RangeIndex(len(dist)) if index is None else index
        columns = pd.RangeIndex(dist.n_outputs) if columns is None else columns
        tril = dist.scale_tril
        return cls(
            dist.weights,
            dist.means,
            None if tril is not None else dist.scales,
            tril,
            index=index,
            columns=columns,
        )

    # -- subsetting: rows and targets of the mixture ---------------------------

    def _subset(self, rows, cols, index, columns):
        mix = self._mixture[np.asarray(rows)].marginal(list(cols))
        tril = mix.scale_tril
        return type(self)(
            mix.weights,
            mix.means,
            None if tril is not None else mix.scales,
            tril,
            index=index,
            columns=columns,
        )

    def _iloc(self, rowidx=None, colidx=None):
        if _is_scalar(rowidx) and _is_scalar(colidx):
            return self._iat(rowidx, colidx)
        n, D = self.shape if self.ndim else (1, 1)
        rows = np.arange(n) if rowidx is None else np.atleast_1d(rowidx)
        cols = np.arange(D) if colidx is None else np.atleast_1d(colidx)
        return self._subset(rows, cols, self.index.take(rows), self.columns.take(cols))

    def _iat(self, rowidx=None, colidx=None):
        if rowidx is None or colidx is None:
            raise ValueError("iat method requires both row and column index")
        return self._subset([int(rowidx)], [int(colidx)], None, None)

    # -- the methods, from skmdn's exact ones ----------------------------------

    def _table(self, values):
        """``values`` of shape (n, D) as the result for this shape."""
        return values if self.ndim else values[0, 0]

    def _grid(self, x):
        """Points of the shape of self as an (n, D) array."""
        return np.asarray(x, dtype=np.float64).reshape(
            self.shape if self.ndim else (1, 1)
        )

    def _log_pdf(self, x):
        x = self._grid(x)
        mix = self._mixture
        out = np.column_stack(
            [mix.marginal([d]).logpdf(x[:, d]) for d in range(mix.n_outputs)]
        )
        return self._table(out)

    def _pdf(self, x):
        return np.exp(self._log_pdf(x))

    def _cdf(self, x):
        return self._table(self._mixture.cdf(self._grid(x)))

    def _ppf(self, p):
        return self._table(self._mixture.ppf(self._grid(p)))

    def _mean(self):
        return self._table(self._mixture.mean())

    def _var(self):
        return self._table(self._mixture.var())

    def _energy_x(self, x):
        mix = self._mixture
        x = self._grid(x)  # (n, D)
        m = mix.means - x[:, None, :]  # (n, K, D)
        out = np.einsum("nk,nkd->n", mix.weights, _abs_mean(m, mix.scales))
        return out if self.ndim else out[0]

    def _energy_self(self):
        mix = self._mixture
        m = mix.means[:, :, None, :] - mix.means[:, None, :, :]  # (n, K, K, D)
        s = np.hypot(mix.scales[:, :, None, :], mix.scales[:, None, :, :])
        w = mix.weights[:, :, None] * mix.weights[:, None, :]
        out = np.einsum("njk,njkd->n", w, _abs_mean(m, s))
        return out if self.ndim else out[0]

    def _sample(self, n_samples=None):
        draws = self._mixture.rvs(1 if n_samples is None else n_samples)
        if self.ndim == 0:
            if n_samples is None:
                return float(draws[0, 0, 0])
            return pd.DataFrame(draws[0, :, :1])
        if n_samples is None:
            return pd.DataFrame(draws[:, 0], index=self.index, columns=self.columns)
        frames = [
            pd.DataFrame(draws[:, i], index=self.index, columns=self.columns)
            for i in range(n_samples)
        ]
        return pd.concat(frames, keys=range(n_samples))

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Parameters of the instances that skpro's checks build.

        Parameters
        ----------
        parameter_set : str, default="default"
            Unused: skpro's checks pass "default".

        Returns
        -------
        params : list of dict
            A two-target table with diagonal covariances, a one-target table
            with a labelled index, and a scalar mixture.
        """
        rng = np.random.RandomState(0)
        weights = rng.dirichlet([1.0, 1.0, 1.0], size=4)
        means = rng.normal(size=(4, 3, 2))
        scales = rng.uniform(0.5, 2.0, size=(4, 3, 2))
        return [
            {
                "weights": weights,
                "means": means,
                "scales": scales,
                "index": pd.RangeIndex(4),
                "columns": pd.Index(["a", "b"]),
            },
            {
                "weights": weights,
                "means": means[..., :1],
                "scales": scales[..., :1],
                "index": pd.Index([10, 20, 30, 40]),
                "columns": pd.Index(["y"]),
            },
            {
                "weights": weights[:1],
                "means": means[:1, :, :1],
                "scales": scales[:1, :, :1],
            },
        ]


class MDNProbaRegressor(BaseProbaRegressor):
    """A mixture density network as a skpro probabilistic regressor.

    ``predict_proba`` returns a :class:`SkproMixture`: the MDN's exact
    predictive distributions, one row per input and one column per target,
    for skpro's metrics, pipelines and benchmarks. ``predict``,
    ``predict_quantiles``, ``predict_interval`` and ``predict_var`` come from
    the same distributions, exactly.

    Parameters
    ----------
    estimator : estimator object, default=None
        An :class:`~skmdn.MDNRegressor`, or a Pipeline or search ending in
        one; None means ``MDNRegressor()``. ``fit`` fits a clone.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.

    See Also
    --------
    SkproMixture : The distributions ``predict_proba`` returns.
    predict_dist : The same distributions as a :class:`~skmdn.MixtureDistribution`.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmdn import MDNRegressor
    >>> from skmdn.datasets import make_heteroscedastic
    >>> from skmdn.interop import MDNProbaRegressor
    >>> X, y = make_heteroscedastic(300, random_state=0)
    >>> X, y = pd.DataFrame(X, columns=["x"]), pd.DataFrame({"y": y})
    >>> reg = MDNProbaRegressor(MDNRegressor(max_iter=20, random_state=0))
    >>> reg = reg.fit(X, y)
    >>> reg.predict_proba(X.iloc[:2]).shape
    (2, 1)
    """

    _tags: ClassVar[dict] = {
        "authors": ["skmdn developers"],
        "capability:multioutput": True,
        "capability:missing": False,
        "X_inner_mtype": "pd_DataFrame_Table",
        "y_inner_mtype": "pd_DataFrame_Table",
    }

    def __init__(self, estimator=None):
        self.estimator = estimator
        super().__init__()

    def _fit(self, X, y):
        from skmdn import MDNRegressor

        est = MDNRegressor() if self.estimator is None else self.estimator
        self._y_columns = y.columns
        target = y.iloc[:, 0] if y.shape[1] == 1 else y
        self.estimator_ = clone(est).fit(_sklearn_frame(X), target)
        return self

    def _predict_proba(self, X):
        dist = predict_dist(self.estimator_, _sklearn_frame(X))
        return SkproMixture.from_mixture(dist, index=X.index, columns=self._y_columns)

    def _predict(self, X):
        dist = predict_dist(self.estimator_, _sklearn_frame(X))
        mean = dist.mean().reshape(len(X), -1)
        return pd.DataFrame(mean, index=X.index, columns=self._y_columns)

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Parameters of the instances that skpro's checks build.

        Parameters
        ----------
        parameter_set : str, default="default"
            Unused: skpro's checks pass "default".

        Returns
        -------
        params : list of dict
            Two small, briefly trained models (one and two components).
        """
        from skmdn import MDNRegressor

        small = {"hidden_layer_sizes": (8,), "max_iter": 5, "n_networks": 1}
        return [
            {"estimator": MDNRegressor(n_components=1, random_state=0, **small)},
            {"estimator": MDNRegressor(n_components=2, random_state=0, **small)},
        ]
