"""Data preparation: weighted statistics, the validation split, initial components.

Everything here is numpy, and runs once per fit before any tensor exists.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np

from skmdn.exceptions import SortedBlocksWarning

# Targets: a column whose standard deviation exceeds this many times its
# normal-consistent interquartile range is standardised robustly (median and
# IQR / NORMAL_IQR): a few glitches must not set the resolution of the model.
# Normal, uniform, bimodal, exponential and lognormal(sigma=1) columns stay
# below 2.2 and keep their mean and standard deviation.
ROBUST_RATIO = 3.0
# Interquartile range of the standard normal distribution.
NORMAL_IQR = 1.3489795003921634
# Row cap for the k-means that places the initial components.
INIT_MAX_ROWS = 20000
# Smallest initial component scale, in standardised target units.
INIT_MIN_SCALE = 0.3
# input_noise="auto" is this share of the kernel-density rule of thumb
# n ** (-1 / (4 + d)) (Rothfuss et al., 2019): the full rule blurs sharp
# conditional densities and inputs on a grid (yacht); three hundredths still
# regularise small data sets.
INPUT_NOISE_FACTOR = 0.03
# With target_noise="auto", a target is treated as discrete when it has at
# most this share of distinct values among the training rows.
DISCRETE_MAX_SHARE = 0.1
# batch_size="auto": n_train // 32 rows, at least AUTO_BATCH_MIN (small data
# sets get enough steps per epoch) and at most AUTO_BATCH_SIZE.
AUTO_BATCH_SIZE = 256
AUTO_BATCH_MIN = 32
# n_iter_no_change="auto": patience counted in optimiser steps, about
# PATIENCE_STEPS, in whole epochs, clipped to [MIN_PATIENCE, MAX_PATIENCE].
# With the 'auto' batch size that is 200 epochs for yacht (8 steps per
# epoch: fewer stopped it before it had fitted the mean), 75-100 for concrete
# and energy, about 60 from 1,300 to 8,000 training rows, 56 at 10,000 and 10
# from 50,000 rows, where the validation NLL is near its best within a few
# dozen epochs. With learning_rate_init=3e-3 no UCI set is worse than with
# 200 epochs and 1e-3, and fits are 1.2-3x faster (docs/evidence.rst).
PATIENCE_STEPS = 2000
MIN_PATIENCE = 10
MAX_PATIENCE = 200
# Long epochs: the floor of MIN_PATIENCE epochs waits at most MAX_WAIT_STEPS
# optimiser steps, in whole epochs, so only fits of more than 256,000
# training rows (1,000 steps of 256 an epoch) wait fewer than 10 epochs: a
# million rows (3,516 steps an epoch) wait 3, and the fit took 69 CPU s
# instead of 173 at the same held-out NLL (0.8906, the true density's
# 0.8898); from 2.56 million rows one epoch is waited: at 10 million rows,
# 230 CPU s and 7 epochs against 324 s and 11 with 3 epochs, NLL 0.8927
# against 0.8924 (true 0.8917; benchmarks/large_n.py, docs/evidence.rst).
MAX_WAIT_STEPS = 10_000
# partial_fit warns (SortedBlocksWarning) when the blocks of two successive
# calls each have a column whose mean lies more than SORTED_BLOCK_Z standard
# errors from the running mean (block_z). Shuffled blocks give |z| of about a
# normal maximum, except for heavy tails: one block of lognormal(sigma=2) data
# can reach 35, but not two in a row, whereas sorted blocks stand out at
# every call. Measured over 370 streams of 20 blocks of 1,000 to 100,000 rows
# (benchmarks/dask_stream.py rates): no false alarm in 3 passes of shuffled
# normal, lognormal, Student-t(3), Bernoulli(0.01) and lognormal(2) columns,
# where one outlying block would have warned in 15% of the lognormal(2)
# streams; blocks sorted by a continuous column warn in 95-100% of the
# streams within their first pass.
SORTED_BLOCK_Z = 8.0
# Rows per block where a fit passes over all its data in numpy (the split
# keys, the standardised copy): memory beyond the data stays O(block).
BLOCK_ROWS = 65_536


def row_blocks(n):
    """``(start, stop)`` of the blocks of ``BLOCK_ROWS`` rows of ``n`` rows."""
    return [(a, min(a + BLOCK_ROWS, n)) for a in range(0, n, BLOCK_ROWS)]


def _is_constant(var, mean, n_rows):
    """Columns whose variance is within the rounding error of a float64 mean.

    The bound of scikit-learn's ``StandardScaler`` (``_is_constant_feature``):
    summing ``n`` values leaves an error of about ``n * eps`` relative to the
    mean, so a variance below ``n * eps * var + (n * mean * eps) ** 2`` cannot
    be told from zero. A fixed threshold misses it once ``n`` is large.
    """
    eps = np.finfo(np.float64).eps
    return var <= n_rows * eps * var + (n_rows * mean * eps) ** 2


def _moments(A, w):
    """Weighted column means and variances, in float64 whatever ``A``'s dtype."""
    A = np.asarray(A, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    mean = np.average(A, axis=0, weights=w)
    var = np.average((A - mean) ** 2, axis=0, weights=w)
    return mean, var


def effective_rows(w):
    """Return the number of rows that weights ``w`` stand for, in a standard error.

    Integer weights are frequency weights, their sum (a weight of 3 is three
    repeated rows, as scikit-learn's sample-weight equivalence asks); any
    other weights are importance weights, with Kish's effective number of
    rows ``(sum w)^2 / sum w^2``, which does not change when every weight is
    multiplied by one constant (weights normalised to sum to 1 count as the
    rows themselves, not as one row).
    """
    w = np.asarray(w, dtype=np.float64)
    if np.all(w == np.round(w)):
        return float(w.sum())
    return float(w.sum() ** 2 / np.sum(w * w))


def weighted_mean_std(A, w):
    """Sample-weighted column means and standard deviations, in float64.

    Constant columns (see :func:`_is_constant`) get a standard deviation of 1,
    as in ``StandardScaler``.
    """
    mean, var = _moments(A, w)
    return mean, _scale(mean, var, np.count_nonzero(w))


def _range(A):
    """Column minima and maxima, in float64."""
    A = np.asarray(A)
    return A.min(0).astype(np.float64), A.max(0).astype(np.float64)


def block_z(scaler, A, w):
    """Largest |z| of a new block's column means against the running moments.

    ``z = (block mean - running mean) / (running std * sqrt(1 / n_block +
    1 / n_seen))`` per column, with ``n_block`` the block's effective number
    of rows ``sum(w) ** 2 / sum(w ** 2)`` and ``n_seen`` the rows merged so
    far: about standard normal when the rows are shuffled across blocks.
    Columns constant so far are left out (their standard error is 0).
    """
    w = np.asarray(w, dtype=np.float64)
    if w.size == 0 or scaler.rows == 0:
        return 0.0
    mean, _ = _moments(A, w)
    n_block = w.sum() ** 2 / np.sum(w**2)
    live = ~_is_constant(scaler.var, scaler.mean, scaler.rows)
    se = np.sqrt(scaler.var[live] * (1.0 / n_block + 1.0 / scaler.rows))
    z = np.abs(mean[live] - scaler.mean[live]) / se
    return float(z.max()) if z.size else 0.0


def check_block_order(x_scaler, X, y_scaler, Y, w):
    """Warn with :class:`~skmdn.exceptions.SortedBlocksWarning` if blocks look sorted.

    Called by ``partial_fit`` before the running moments take the block in.
    A block stands out when the largest :func:`block_z` of its inputs and
    targets exceeds ``SORTED_BLOCK_Z``; the warning comes at the second
    successive block that does. Returns ``x_scaler`` with the count of
    successive outlying blocks.
    """
    z = max(block_z(x_scaler, X, w), block_z(y_scaler, Y, w))
    outlying = x_scaler.outlying_blocks + 1 if z > SORTED_BLOCK_Z else 0
    if outlying >= 2:
        warnings.warn(
            f"The mean of a column in this block lies {z:.0f} standard errors "
            "from the mean of the rows seen before, as it did in the previous "
            "block: the blocks look sorted (by an input, the target or time). "
            "partial_fit trains one epoch per block, so a model fitted on "
            "sorted blocks forgets the earlier ones. Shuffle the rows across "
            "the blocks first (see the Dask guide of skmdn's documentation).",
            SortedBlocksWarning,
            stacklevel=4,
        )
    return replace(x_scaler, outlying_blocks=outlying)


def _scale(mean, var, n_rows):
    """Return the standard deviations, 1 for the constant columns."""
    std = np.sqrt(var)
    std[_is_constant(var, mean, n_rows)] = 1.0
    return std


@dataclass
class Standardisation:
    """Location and scale of the columns of a data set, and its running moments.

    ``transform`` maps data to ``(A - location) / scale``. The moments (total
    weight, mean and variance of every row seen, float64) let ``partial_fit``
    merge later chunks with :meth:`updated`. ``lower`` and ``upper`` are the
    columns' smallest and largest values over the rows seen so far (the
    estimator passes only rows of positive weight; None in models saved
    before they existed): :meth:`clip` keeps inputs inside them.
    ``outlying_blocks`` counts the successive ``partial_fit`` blocks that
    stood out from the rows seen before them (:func:`check_block_order`).
    """

    location: np.ndarray
    scale: np.ndarray
    weight: float
    rows: int
    mean: np.ndarray
    var: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    outlying_blocks: int = 0

    @classmethod
    def from_data(cls, A, w, robust=False):
        """Weighted mean and standard deviation of ``A``; robust ones if asked.

        With ``robust``, a column whose standard deviation exceeds
        ``ROBUST_RATIO`` times its normal-consistent interquartile range
        ``IQR / 1.349`` (a few extreme rows dominate it) is centred on its
        weighted median and scaled by that range instead, so that the bulk of
        the data, not its outliers, sets the model's resolution.
        """
        mean, var = _moments(A, w)
        rows = int(np.count_nonzero(w))
        location, scale = mean.copy(), _scale(mean, var, rows)
        if robust:
            A = np.asarray(A, dtype=np.float64)
            for d in range(A.shape[1]):
                q1, q2, q3 = np.quantile(
                    A[:, d], [0.25, 0.5, 0.75], method="inverted_cdf", weights=w
                )
                spread = (q3 - q1) / NORMAL_IQR
                if spread > 0 and scale[d] > ROBUST_RATIO * spread:
                    location[d], scale[d] = q2, spread
        lower, upper = _range(A)
        weight = float(np.sum(w, dtype=np.float64))
        return cls(location, scale, weight, rows, mean, var, lower, upper)

    def updated(self, A, w):
        """Return the standardisation of all rows seen so far and of ``A``.

        Location and scale become the merged weighted mean and standard
        deviation (the constant-column rule applies to the merged variance);
        the moments are merged as in Chan, Golub and LeVeque (1982).
        """
        mean, var = _moments(A, w)
        weight = float(np.sum(w, dtype=np.float64))
        total = self.weight + weight
        delta = mean - self.mean
        merged_mean = self.mean + delta * (weight / total)
        merged_var = (
            self.var * self.weight
            + var * weight
            + delta**2 * self.weight * weight / total
        ) / total
        rows = self.rows + int(np.count_nonzero(w))
        scale = _scale(merged_mean, merged_var, rows)
        merged = Standardisation(
            merged_mean.copy(), scale, total, rows, merged_mean, merged_var
        )
        grown = self.widened(A)
        return replace(
            merged,
            lower=grown.lower,
            upper=grown.upper,
            outlying_blocks=self.outlying_blocks,
        )

    def widened(self, A):
        """Return this standardisation with its range grown to hold ``A``'s rows."""
        lower, upper = _range(A)
        if self.lower is not None:
            lower, upper = np.fmin(lower, self.lower), np.fmax(upper, self.upper)
        return replace(self, lower=lower, upper=upper)

    def clip(self, A):
        """Return ``A`` with every column held inside the range seen in fitting.

        Inputs beyond the training data are predicted as at its edge: a
        network extrapolates its scales with no data to tell them, and with a
        relu trunk became ever more confident the further out it went
        (benchmarks/extrapolation.py). Models saved before the range existed
        are not clipped.
        """
        if self.lower is None:
            return A
        inside = (A >= self.lower) & (A <= self.upper)
        if inside.all():
            return A
        return np.clip(A, self.lower, self.upper).astype(A.dtype, copy=False)

    def transform(self, A, dtype):
        """Return ``(A - location) / scale``, computed in float64, in ``dtype``.

        A block of rows at a time: no float64 temporary of the whole data.
        """
        A = np.asarray(A)
        out = np.empty(A.shape, dtype=dtype)
        for a, b in row_blocks(len(A)):
            block = np.asarray(A[a:b], dtype=np.float64)
            out[a:b] = (block - self.location) / self.scale
        return out


def init_components(Y, w, n_components, rng, min_scale):
    """Place the initial components by weighted k-means of the targets.

    Lloyd iterations start from per-target weighted quantiles, so the result
    is deterministic and integer weights act exactly as repeated rows.

    Parameters
    ----------
    Y : ndarray of shape (n, D)
        Standardised targets.
    w : ndarray of shape (n,)
        Sample weights.
    n_components : int
        Number of components ``K``.
    rng : numpy.random.RandomState
        Used only to subsample more than ``INIT_MAX_ROWS`` rows.
    min_scale : float
        Scale floor; initial scales stay well above it.

    Returns
    -------
    loc : ndarray of shape (K, D)
    scale : ndarray of shape (K, D)
    """
    Y = np.asarray(Y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if Y.shape[0] > INIT_MAX_ROWS:
        idx = np.sort(rng.choice(Y.shape[0], INIT_MAX_ROWS, replace=False))
        Y, w = Y[idx], w[idx]
    keep = w > 0
    Y, w = Y[keep], w[keep]
    q = (np.arange(n_components) + 0.5) / n_components
    centres = np.stack(
        [
            np.quantile(Y[:, d], q, method="inverted_cdf", weights=w)
            for d in range(Y.shape[1])
        ],
        axis=1,
    )
    for _ in range(25):
        dist = ((Y[:, None, :] - centres[None]) ** 2).sum(-1)
        labels = dist.argmin(1)
        mass = np.bincount(labels, weights=w, minlength=n_components)
        new = np.stack(
            [
                np.bincount(labels, weights=w * Y[:, d], minlength=n_components)
                for d in range(Y.shape[1])
            ],
            axis=1,
        )
        filled = mass > 0
        new[filled] /= mass[filled, None]
        new[~filled] = centres[~filled]
        if np.allclose(new, centres, rtol=0, atol=1e-10):
            centres = new
            break
        centres = new
    dist = ((Y[:, None, :] - centres[None]) ** 2).sum(-1)
    resid = Y - centres[dist.argmin(1)]
    pooled = np.sqrt(np.average(resid**2, axis=0, weights=w))
    # Components start wide enough to overlap their neighbours: narrow ones
    # tile the target range like a histogram, and the network then fits the
    # mean by switching weights between them instead of moving them.
    pooled = np.maximum(pooled, max(INIT_MIN_SCALE, 4 * min_scale))
    scale = np.broadcast_to(pooled, centres.shape).copy()
    return centres, scale


def _splitmix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def row_hashes(A, seed):
    """Hash each row's exact values to 64 bits, seeded; identical rows collide."""
    A = np.ascontiguousarray(A, dtype=np.float64) + 0.0  # -0.0 -> 0.0
    bits = A.view(np.uint64)
    h = np.full(A.shape[0], seed, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h *= np.uint64(0x9E3779B97F4A7C15)
        for j in range(bits.shape[1]):
            h = _splitmix64(h ^ bits[:, j])
    return h


class SplitKeys:
    """The values that :func:`validation_split` hashes, a block of rows at a time.

    The rows of ``[X | Y]``, standardised with weighted statistics and
    rounded to 9 decimals, so that the split does not depend on the units of
    the data. Built once per fit; the keys are computed in blocks of
    ``BLOCK_ROWS`` rows when hashed, never all at once (at a million rows
    they were a copy of the data the size of the data).
    """

    def __init__(self, X, Y, w):
        self.X, self.Y = X, Y
        w = np.asarray(w, dtype=np.float64)
        total = w.sum()
        mean = sum(self._raw(a, b).T @ w[a:b] for a, b in row_blocks(len(w))) / total
        var = (
            sum(
                ((self._raw(a, b) - mean) ** 2).T @ w[a:b]
                for a, b in row_blocks(len(w))
            )
            / total
        )
        self.mean, self.std = mean, _scale(mean, var, np.count_nonzero(w))

    def __len__(self):
        return len(self.X)

    def _raw(self, a, b):
        return np.hstack([self.X[a:b], self.Y[a:b]]).astype(np.float64, copy=False)

    def block(self, a, b):
        """Return the keys of rows ``a`` to ``b``, (b - a, n_features + D) float64."""
        A = self._raw(a, b)
        A -= self.mean
        A /= self.std
        return np.round(A, 9, out=A)

    def hashes(self, seed):
        """:func:`row_hashes` of every row's keys, (n,) uint64."""
        blocks = row_blocks(len(self)) or [(0, 0)]
        return np.concatenate([row_hashes(self.block(a, b), seed) for a, b in blocks])


def validation_split(keys, w, fraction, seed):
    """Hold out about ``fraction`` of the total sample weight for validation.

    Rows go to the validation set in the order of a seeded hash of their
    ``keys`` (:class:`SplitKeys`), whole groups of identical rows at a time,
    until the held-out weight reaches ``fraction`` of the total. Identical
    rows therefore do not straddle the split, and an integer weight acts
    exactly as that many repeated rows, except in a group of at least
    ``1 / fraction`` rows (a cell of discrete inputs and targets, say): it
    lends ``fraction`` of its weight, its first rows in hash order, so that
    no such cell leaves the training set and the held-out share stays the
    one asked (to within a row per group).

    When the data is discrete (at most ``DISCRETE_MAX_SHARE`` of the rows
    are distinct), groups are the cells of the data rather than duplicates,
    and every group lends ``fraction`` of its weight: the number of its rows
    held out is rounded down or up at random (seeded by the group's hash),
    so that a small cell is not held out whole (the model would never learn
    it) and the held-out share is the one asked on average.

    Returns
    -------
    train_idx, val_idx : ndarray of int
    """
    h = keys.hashes(seed)
    order = np.argsort(h, kind="stable")
    h = h[order]  # sorted; the (n,) temporaries are let go as soon as done
    starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
    group_hash = h[starts]
    del h
    w_sorted = np.asarray(w, dtype=np.float64)[order]
    sizes = np.diff(np.r_[starts, len(order)])
    group_w = np.add.reduceat(w_sorted, starts)
    # a group large enough to lend the fraction of its rows does so: whole
    # cells of discrete data must not leave the training set
    large = sizes >= math.ceil(1.0 / fraction)
    discrete = len(sizes) <= DISCRETE_MAX_SHARE * len(order)
    if discrete:
        large[:] = True
    small_w = np.where(large, 0.0, group_w)
    before = np.cumsum(small_w) - small_w
    val_group = ~large & (before < fraction * small_w.sum())
    del small_w, before
    in_val = np.repeat(val_group, sizes)
    if large.any():
        # within a large group, its first rows up to the fraction of its weight
        group_start = np.repeat(np.cumsum(group_w) - group_w, sizes)
        earlier = np.cumsum(w_sorted) - w_sorted - group_start
        share = np.repeat(np.where(large, fraction * group_w, 0.0), sizes)
        if discrete:  # rows of the share and one more at random, in weight
            u = (group_hash >> np.uint64(11)) * 2.0**-53
            earlier += np.repeat(1.0 - u, sizes) * w_sorted
            in_val |= earlier <= share
        else:
            in_val |= earlier < share
    val_idx = np.sort(order[in_val])
    train_idx = np.sort(order[~in_val])
    if w[train_idx].sum() <= 0 or w[val_idx].sum() <= 0:
        raise ValueError(
            "The validation set is too small: early stopping needs at least 2 "
            f"distinct samples with positive weight, got {len(w)} samples. "
            "Increase 'validation_fraction', add data or set early_stopping=False."
        )
    return train_idx, val_idx


def resolve_batch_size(batch_size, n_train):
    """Rows per mini-batch: an int clipped to ``n_train``, or the 'auto' rule."""
    if batch_size == "auto":
        return min(AUTO_BATCH_SIZE, max(AUTO_BATCH_MIN, n_train // 32), n_train)
    return min(int(batch_size), n_train)


def resolve_patience(n_iter_no_change, n_train, batch_size):
    """Epochs without progress before a cut or a stop: an int, or the 'auto' rule.

    'auto' waits about ``PATIENCE_STEPS`` optimiser steps, in whole epochs of
    ``ceil(n_train / batch_size)`` steps, clipped to [``MIN_PATIENCE``,
    ``MAX_PATIENCE``]; the floor is lowered to the whole epochs of
    ``MAX_WAIT_STEPS`` steps when epochs are long.
    """
    if n_iter_no_change != "auto":
        return n_iter_no_change
    steps = -(-max(1, n_train) // max(1, batch_size))
    epochs = -(-PATIENCE_STEPS // steps)
    floor = min(MIN_PATIENCE, -(-MAX_WAIT_STEPS // steps))
    return int(np.clip(epochs, floor, MAX_PATIENCE))


def input_noise_level(noise, n_train, n_dims):
    """Return the standard deviation of the input noise (standardised units).

    'auto' is ``INPUT_NOISE_FACTOR`` times the kernel rule of thumb
    ``n_train ** (-1 / (4 + n_dims))`` with ``n_dims`` features plus targets.
    """
    if noise != "auto":
        return float(noise)
    return INPUT_NOISE_FACTOR * float(n_train ** (-1.0 / (4.0 + n_dims)))


def target_noise_levels(noise, Y):
    """Per-target noise std (standardised units), as a (D, 1) array.

    With 'auto', a target with few distinct values (counts, ratings) gets
    noise with the variance of a uniform over one step between values
    (dequantisation), so the density cannot collapse onto the discrete
    values; continuous targets get none.
    """
    if noise != "auto":
        return np.full((Y.shape[1], 1), float(noise))
    levels = np.zeros((Y.shape[1], 1))
    for d in range(Y.shape[1]):
        values = np.unique(Y[:, d])
        if 1 < len(values) <= DISCRETE_MAX_SHARE * Y.shape[0]:
            levels[d] = np.median(np.diff(values)) / np.sqrt(12.0)
    return levels
