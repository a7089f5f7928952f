"""Warnings of skmdn's own.

skmdn reuses scikit-learn's warnings where they fit (a fit that stopped
before converging raises :class:`~sklearn.exceptions.ConvergenceWarning`);
the classes here name what only a stream of blocks can get wrong.
"""

# SPDX-License-Identifier: BSD-3-Clause

__all__ = ["SortedBlocksWarning"]


class SortedBlocksWarning(UserWarning):
    """The blocks given to ``partial_fit`` look sorted, not shuffled.

    :meth:`MDNRegressor.partial_fit <skmdn.MDNRegressor.partial_fit>` trains
    one epoch on each block, so blocks must be random samples of the data:
    on blocks sorted by an input, the target or time, each call fits its
    block and forgets the earlier ones. A call warns when, in its block and
    in the previous call's, the mean of a column of the inputs or the
    targets lies more than 8 standard errors from the running mean of the
    rows seen before (one such block alone can be an outlier). Shuffle
    the rows across blocks (see the Dask guide, docs/dask.rst); shuffling
    the rows within each block, or the order of the blocks, is not enough.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skmdn import MDNRegressor
    >>> X = np.linspace(0, 1, 400).reshape(-1, 1)
    >>> y = np.sin(6 * X[:, 0])
    >>> est = MDNRegressor(n_networks=1, random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     for rows in np.array_split(np.arange(400), 4):  # sorted by x
    ...         est = est.partial_fit(X[rows], y[rows])
    >>> "SortedBlocksWarning" in {w.category.__name__ for w in caught}
    True
    """
