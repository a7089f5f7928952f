"""Blocks and chunks of rows, so that the maths runs in bounded memory."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

# Problems per block, so temporaries of shape (block, K) stay small.
BLOCK = 1 << 16
# Elements per (problems, components) array of a block of rows, which bounds
# the memory of the solvers whatever the number of rows; temporaries are
# computed in chunks of CHUNK elements, which stay in the processor's cache.
BUDGET = 1 << 20
CHUNK = 1 << 15


def blocked(func, n, *arrays):
    """Apply ``func`` to blocks of rows of ``arrays`` and concatenate."""
    if n <= BLOCK:
        return func(*arrays)
    parts = [func(*(a[i : i + BLOCK] for a in arrays)) for i in range(0, n, BLOCK)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))
    return np.concatenate(parts)


def warn(message):
    warnings.warn(message, ConvergenceWarning, stacklevel=4)


def contiguous(*arrays):
    """C-ordered float64 copies (or the arrays themselves, if they already are).

    numpy's vectorised ``exp`` and ``log`` may round differently for strided
    input, so a row's results would depend on how its batch was sliced.
    """
    return tuple(np.ascontiguousarray(a, dtype=np.float64) for a in arrays)


def in_chunks(func, n, per_item, *arrays, scale=1):
    """``func`` over chunks of ``arrays`` of ``scale * CHUNK // per_item`` items."""
    step = max(1, scale * CHUNK // max(1, per_item))
    if n <= step:
        return func(*arrays)
    parts = [func(*(a[i : i + step] for a in arrays)) for i in range(0, n, step)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))
    return np.concatenate(parts)
