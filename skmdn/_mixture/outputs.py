"""From network outputs to mixture parameters: softplus, softmax, pooling."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np


def softplus(a):
    """``log(1 + exp(a))``, stably; several times faster than ``np.logaddexp(0, a)``."""
    out = np.exp(-np.abs(a))
    np.log1p(out, out=out)
    out += np.maximum(a, 0)
    return out


def inverse_softplus(a):
    """Inverse of :func:`softplus` for positive ``a``."""
    a = np.asarray(a, dtype=np.float64)
    return a + np.log(-np.expm1(-a))


def softmax(logits):
    """Softmax over the last axis (a new array)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def log_softmax(logits):
    """Log-softmax over the last axis (a new array)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def log_weights(weights):
    """``log(weights)``, with ``-inf`` for zero weights and no warning."""
    with np.errstate(divide="ignore"):
        return np.log(weights)


def pool_networks(logits, loc, cov):
    """One mixture of ``M * K`` components from ``M`` networks' outputs.

    The ensemble's density is the average of the networks' densities, so
    component ``k`` of network ``m`` gets weight ``pi_mk / M``: its logit is
    the network's log-softmax minus ``log M``.

    Parameters
    ----------
    logits : ndarray of shape (M, n, K)
    loc : ndarray of shape (M, n, K, D)
    cov : ndarray of shape (M, n, K, D) or (M, n, K, D, D)
        Scales or Cholesky factors.

    Returns
    -------
    logits : ndarray of shape (n, M * K)
    loc : ndarray of shape (n, M * K, D)
    cov : ndarray of shape (n, M * K, D) or (n, M * K, D, D)
    """
    M, n, K = logits.shape
    logits = log_softmax(logits) - np.log(M)
    logits = logits.transpose(1, 0, 2).reshape(n, M * K)
    loc, cov = (
        np.swapaxes(a, 0, 1).reshape(n, M * K, *a.shape[3:]) for a in (loc, cov)
    )
    return logits, loc, cov
