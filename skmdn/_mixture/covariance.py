"""The two forms of covariance parameters: scales and Cholesky factors."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skmdn._mixture.outputs import log_weights, softmax


def is_full(means, cov):
    """Whether ``cov`` holds Cholesky factors (one more axis than ``means``)."""
    return cov.ndim == means.ndim + 1


def solve_tril(tril, b):
    """Solve ``tril @ z = b`` for lower-triangular ``tril``, batched and broadcast.

    Forward substitution, one target at a time over every matrix at once:
    :func:`scipy.linalg.solve_triangular` loops over a batch one matrix at a
    time, which took 0.68 s against 3 ms here for 100,000 systems of 3
    targets.

    Parameters
    ----------
    tril : ndarray of shape (..., D, D)
        Lower-triangular, with a non-zero diagonal; the upper part is not read.
    b : ndarray of shape (..., D)
        Right-hand sides, broadcast against ``tril``'s leading axes.

    Returns
    -------
    ndarray of shape broadcast(tril.shape[:-1], b.shape)
    """
    D = tril.shape[-1]
    z = np.empty(np.broadcast_shapes(tril.shape[:-1], b.shape))
    for d in range(D):
        acc = b[..., d]
        if d:
            acc = acc - (tril[..., d, :d] * z[..., :d]).sum(-1)
        z[..., d] = acc / tril[..., d, d]
    return z


def log_diag_sum(means, cov):
    """``log sqrt(det Sigma_k)``: the sum of the log scales or log diagonal (..., K)."""
    if is_full(means, cov):
        return np.log(np.diagonal(cov, axis1=-2, axis2=-1)).sum(-1)
    return np.log(cov).sum(-1)


def whiten(means, cov, y):
    """Return ``z = L_k^{-1} (y - mu_k)`` per component (``L``: factor or ``diag(s)``).

    Parameters
    ----------
    means : ndarray of shape (..., K, D)
    cov : ndarray of shape (..., K, D) or (..., K, D, D)
    y : ndarray of shape (..., D)
        Broadcast against the leading axes of ``means``.

    Returns
    -------
    ndarray of shape (..., K, D)
    """
    r = y[..., None, :] - means
    if is_full(means, cov):
        return solve_tril(cov, r)
    return r / cov


def covariances(means, cov):
    """Each component's covariance matrix, (..., K, D, D)."""
    if is_full(means, cov):
        return cov @ np.swapaxes(cov, -1, -2)
    D = means.shape[-1]
    return cov[..., :, None] * np.eye(D) * cov[..., None, :]


def marginal_scales(tril):
    """Return each target's standard deviation per component: ``tril``'s row norms."""
    return np.hypot.reduce(tril, axis=-1)  # no overflow or underflow of squares


def marginal_tril(tril, keep):
    """Return the Cholesky factors of the targets ``keep`` (a list, in order).

    A leading block in order is a slice (the factor of a leading block is the
    leading block of the factor). Otherwise the rows ``keep`` of ``L`` give
    ``Sigma_keep = L_keep L_keep^T``, and the QR factorisation
    ``L_keep^T = Q R`` gives ``Sigma_keep = R^T R``: ``R^T``, with its
    columns' signs made positive, is the factor, computed without forming
    the covariance (whose condition number is the square of ``L``'s), so it
    holds for nearly singular components such as a duplicated target.
    """
    k = len(keep)
    if keep == list(range(k)):
        return np.ascontiguousarray(tril[..., :k, :k])
    r = np.linalg.qr(np.swapaxes(tril[..., keep, :], -1, -2), mode="r")
    sign = np.where(np.diagonal(r, axis1=-2, axis2=-1) < 0, -1.0, 1.0)
    return np.swapaxes(r * sign[..., :, None], -1, -2)


def condition(weights, means, cov, values, given):
    """Mixture of the other targets given that the targets ``given`` equal ``values``.

    For each component, with the targets ordered ``(a, b) = (given, rest)``
    and the Cholesky factor of that order ``[[L_aa, 0], [L_ba, L_bb]]``:
    ``mu_b|a = mu_b + L_ba L_aa^{-1} (x_a - mu_a)``, covariance factor
    ``L_bb`` (the Schur complement's), and weight proportional to
    ``w_k N(x_a; mu_a, L_aa L_aa^T)``. Diagonal components keep their other
    means and scales and only reweight.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means : ndarray of shape (n, K, D)
    cov : ndarray of shape (n, K, D) or (n, K, D, D)
    values : ndarray of shape (n, A)
        The given targets' values.
    given : list of int
        The given targets, ``A`` distinct indices, fewer than ``D``.

    Returns
    -------
    weights : ndarray of shape (n, K)
    means : ndarray of shape (n, K, D - A)
    cov : ndarray of shape (n, K, D - A) or (n, K, D - A, D - A)
    """
    D = means.shape[-1]
    rest = [d for d in range(D) if d not in given]
    A = len(given)
    if is_full(means, cov):
        order = given + rest
        factor = cov if order == list(range(D)) else marginal_tril(cov, order)
        tril_aa = factor[..., :A, :A]
        z = solve_tril(tril_aa, values[:, None, :] - means[..., given])
        new_means = means[..., rest] + np.einsum(
            "nkba,nka->nkb", factor[..., A:, :A], z
        )
        new_cov = np.ascontiguousarray(factor[..., A:, A:])
        log_det = np.log(np.diagonal(tril_aa, axis1=-2, axis2=-1)).sum(-1)
    else:
        scales_a = cov[..., given]
        z = (values[:, None, :] - means[..., given]) / scales_a
        new_means, new_cov = means[..., rest], cov[..., rest]
        log_det = np.log(scales_a).sum(-1)
    logc = log_weights(weights) - log_det - 0.5 * (z * z).sum(-1)
    return softmax(logc), new_means, new_cov
