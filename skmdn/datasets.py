"""Synthetic conditional-density problems with multimodal or heteroscedastic targets."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_inverse_sine"]


def make_inverse_sine(n_samples=1000, *, noise=0.1, random_state=None):
    """Generate Bishop's inverse-sine problem: up to three targets per input.

    The forward map ``x = t + 0.3 sin(2 pi t) + u`` with ``t ~ U(0, 1)`` and
    ``u ~ U(-noise, noise)`` is easy to regress; the task is its inverse,
    predicting ``t`` from ``x``, where one input has up to three likely
    targets (Bishop, 1994).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    noise : float, default=0.1
        Half-width of the uniform noise added to ``x``.
    random_state : int, RandomState instance or None, default=None
        Pass an int for reproducible output across multiple function calls.

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
        Inputs ``x``.
    y : ndarray of shape (n_samples,)
        Targets ``t``.

    Examples
    --------
    >>> from skmdn.datasets import make_inverse_sine
    >>> X, y = make_inverse_sine(n_samples=5, random_state=0)
    >>> X.shape, y.shape
    ((5, 1), (5,))
    """
    rng = check_random_state(random_state)
    t = rng.uniform(0.0, 1.0, size=n_samples)
    x = t + 0.3 * np.sin(2 * np.pi * t) + rng.uniform(-noise, noise, size=n_samples)
    return x[:, None], t
