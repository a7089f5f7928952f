"""The piecewise-linear encoding of the built-in trunk's inputs.

Gorishniy et al. (2022, "On Embeddings for Numerical Features in Tabular Deep
Learning", NeurIPS) encode each numerical feature by its position in each of
``T`` bins between the feature's quantiles: 0 below the bin, 1 above it,
linear inside. The first layer of the network is then a piecewise-linear
function of each feature, so that a sharp change in a feature's effect costs
one weight, not many hidden units. Here the encoding sits inside the trunk,
after the input noise (which keeps its meaning, in standardised units) and
before the first layer, on the fused path: nothing is copied per network.

Both ends are clipped: outside the training range the encoding is constant,
as the inputs themselves are held at the edge of their range (see
:mod:`skmdn._preprocessing`).
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True, eq=False)
class PiecewiseLinear:
    """The bins of every feature, in standardised input units.

    Parameters
    ----------
    lower : ndarray of shape (n_features, n_bins)
        Left edge of each bin.
    inv_width : ndarray of shape (n_features, n_bins)
        One over each bin's width; 0 for the padding bins of a feature with
        fewer distinct quantiles than bins (their encoding is always 0).
    """

    lower: np.ndarray
    inv_width: np.ndarray

    @classmethod
    def from_data(cls, X, n_bins, sample_weight=None):
        """Bins between the (weighted) quantiles of each column of ``X``.

        The ``n_bins + 1`` edges are the quantiles at levels ``0, 1/T, ...,
        1`` by the inverted cdf (so they are values of the data, and the
        first and last are the column's minimum and maximum). Repeated edges
        are merged: a feature with ``v`` distinct values has at most ``v - 1``
        bins, a binary one a single bin (its standardised value, rescaled),
        a constant one none.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Standardised training inputs.
        n_bins : int
            Bins per feature, ``T >= 1``.
        sample_weight : ndarray of shape (n_samples,), default=None
            Positive weights of the rows.

        Returns
        -------
        PiecewiseLinear
        """
        X = np.asarray(X, dtype=np.float64)
        levels = np.linspace(0.0, 1.0, n_bins + 1)
        if sample_weight is None:
            edges = np.quantile(X, levels, axis=0, method="inverted_cdf")
        else:
            weights = np.asarray(sample_weight, dtype=np.float64)
            edges = np.quantile(
                X, levels, axis=0, method="inverted_cdf", weights=weights
            )
        n_features = X.shape[1]
        lower = np.zeros((n_features, n_bins))
        inv_width = np.zeros((n_features, n_bins))
        for j in range(n_features):
            distinct = np.unique(edges[:, j])
            k = len(distinct) - 1
            lower[j, :k] = distinct[:-1]
            inv_width[j, :k] = 1.0 / np.diff(distinct)
        return cls(lower, inv_width)

    @property
    def n_bins(self):
        """Bins per feature (padding included)."""
        return self.lower.shape[1]

    def __eq__(self, other):
        if not isinstance(other, PiecewiseLinear):
            return NotImplemented
        return np.array_equal(self.lower, other.lower) and np.array_equal(
            self.inv_width, other.inv_width
        )

    def __hash__(self):
        return hash((self.lower.tobytes(), self.inv_width.tobytes()))

    def numpy(self, X):
        """Encode ``X`` (..., n, n_features) into (..., n, n_features * n_bins)."""
        enc = (X[..., None] - self.lower.astype(X.dtype)) * self.inv_width.astype(
            X.dtype
        )
        np.clip(enc, 0.0, 1.0, out=enc)
        return enc.reshape(*X.shape[:-1], -1)

    def torch(self, X):
        """Encode a tensor the same way, in its dtype and on its device."""
        lower, inv_width = self._tensors(X.dtype, X.device)
        enc = (X.unsqueeze(-1) - lower).mul_(inv_width).clamp_(0.0, 1.0)
        return enc.reshape(*X.shape[:-1], -1)

    def _tensors(self, dtype, device):
        """``lower`` and ``inv_width`` as tensors, made once per dtype and device."""
        # kept out of the fields (and of pickles): a cache, not state
        cache = self.__dict__.setdefault("_cache", {})
        key = (dtype, str(device))
        if key not in cache:
            cache[key] = tuple(
                torch.as_tensor(a, dtype=dtype, device=device)
                for a in (self.lower, self.inv_width)
            )
        return cache[key]

    def __getstate__(self):
        return {"lower": self.lower, "inv_width": self.inv_width}

    def __setstate__(self, state):
        self.__dict__.update(state)
