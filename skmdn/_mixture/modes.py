"""Modes of D-dimensional mixtures, by hill-climbing from every component mean."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from scipy.special import logsumexp

from skmdn._mixture import _blocks
from skmdn._mixture.covariance import is_full, marginal_scales, solve_tril
from skmdn._mixture.density import component_logpdf
from skmdn._mixture.outputs import log_weights


def find_modes(w, mu, cov, max_iter=500):
    """Hill-climb the mixture density from every component mean.

    Each start moves by Newton steps on the log-density when they go uphill
    and by the mean-shift (fixed-point) step otherwise, which always does.
    Rows are processed in blocks, so memory stays bounded; each row iterates
    until all its starts have converged, independently of the other rows.
    A :class:`~sklearn.exceptions.ConvergenceWarning` reports rows that do
    not converge in ``max_iter`` iterations.

    Parameters
    ----------
    w : ndarray of shape (n, K)
    mu : ndarray of shape (n, K, D)
        Component means.
    cov : ndarray of shape (n, K, D) or (n, K, D, D)
        Component scales (diagonal) or Cholesky factors (full).
    max_iter : int
        Iteration cap.

    Returns
    -------
    x : ndarray of shape (n, K, D)
        The local maximum reached from each component mean.
    logp : ndarray of shape (n, K)
        Log-density there.
    """
    w, mu, cov = _blocks.contiguous(w, mu, cov)
    n, K, D = mu.shape
    step = max(1, _blocks.BUDGET // (K * K * D * D))
    parts = [
        _find_modes_block(
            w[i : i + step], mu[i : i + step], cov[i : i + step], max_iter
        )
        for i in range(0, n, step)
    ]
    x, logp, ok = (np.concatenate(p) for p in zip(*parts, strict=True))
    if not ok.all():
        _blocks.warn(
            f"The hill-climbs of {np.count_nonzero(~ok)} of {n} rows did not "
            f"converge in {max_iter} iterations."
        )
    return x, logp


# A hill-climb end whose largest Hessian eigenvalue is above -_NOT_STRICT times the
# curvature of the sharpest component is not a strict maximum (a minimum or a
# saddle that a start sat on, where the gradient vanishes too): it is moved by
# _NUDGE of the smallest scale along that eigenvector and climbed again, at
# most _ESCAPES times (a flat-topped maximum climbs back to itself).
_NOT_STRICT = 1e-6
_NUDGE = 1e-3
_ESCAPES = 3


def _find_modes_block(w, mu, cov, max_iter):
    n, _, D = mu.shape
    logw = log_weights(w)
    if is_full(mu, cov):
        # precisions, for the steps only (densities go through the factor)
        inv_tril = solve_tril(cov[..., None, :, :], np.eye(D)).swapaxes(-1, -2)
        prec = np.swapaxes(inv_tril, -1, -2) @ inv_tril  # (n, K, D, D)
        s = marginal_scales(cov)
    else:
        prec = (1.0 / cov**2)[..., None] * np.eye(D)
        s = cov

    def evaluate(x, rows):
        # log-density, responsibilities at x (m, J, D) for the given rows
        logc = logw[rows, None] + component_logpdf(mu[rows, None], cov[rows, None], x)
        logp = logsumexp(logc, axis=2)
        r = np.exp(logc - logp[..., None])
        return logp, r

    def derivatives(x, rows):
        # log-density, mean-shift point, gradient and Hessian of the log-density
        logp, r = evaluate(x, rows)
        pa = prec[rows]  # (m, K, D, D)
        u = np.einsum("mkde,mjke->mjkd", pa, mu[rows, None] - x[:, :, None, :])
        weighted_prec = np.einsum("mjk,mkde->mjde", r, pa)  # sum_k r_k P_k
        grad = (r[..., None] * u).sum(2)
        # mean shift: the fixed point of sum_k r_k P_k (mu_k - x) = 0
        shift = x + np.linalg.solve(weighted_prec, grad[..., None])[..., 0]
        hess = np.einsum("mjk,mjkd,mjke->mjde", r, u, u)
        hess -= np.einsum("mjd,mje->mjde", grad, grad)
        hess -= weighted_prec
        return logp, shift, grad, hess

    tol = 1e-12 * s.min(1)[:, None, :]  # (n, 1, D)

    def climb(x, rows):
        # climb the starts of ``rows`` in place; return which rows converged
        converged = np.zeros(len(rows), dtype=bool)
        active = np.arange(len(rows))
        for _ in range(max_iter):
            if active.size == 0:
                break
            idx = rows[active]
            xa = x[idx]
            lpa, shift, grad, hess = derivatives(xa, idx)
            with np.errstate(all="ignore"):
                try:
                    newton = xa - np.linalg.solve(hess, grad[..., None])[..., 0]
                except np.linalg.LinAlgError:
                    newton = np.full_like(xa, np.nan)
            newton = np.where(np.isfinite(newton), newton, shift)
            lp_newton, _ = evaluate(newton, idx)
            # Uphill, or level within rounding where the log-density is concave
            # (flat tops, where only the gradient still resolves the mode).
            concave = np.linalg.eigvalsh(hess).max(-1) < 0
            slack = 8 * np.finfo(float).eps * np.maximum(np.abs(lpa), 1.0)
            take_newton = (lp_newton > lpa) | (concave & (lp_newton >= lpa - slack))
            x_new = np.where(take_newton[..., None], newton, shift)
            step = np.abs(x_new - xa)
            x[idx] = x_new
            done = (step <= tol[idx]).all(axis=(1, 2))
            converged[active[done]] = True
            active = active[~done]
        return converged

    x = mu.copy()
    rows = np.arange(n)
    converged = climb(x, rows)
    s_min = s.min(axis=(1, 2))  # (n,)
    for _ in range(_ESCAPES):
        _, _, _, hess = derivatives(x[rows], rows)
        vals, vecs = np.linalg.eigh(hess)  # ascending: the last is the top
        flat = _NOT_STRICT / s_min[rows, None] ** 2
        stuck = vals[..., -1] > -flat  # (m, J)
        if not stuck.any():
            break
        nudge = _NUDGE * s_min[rows, None, None] * vecs[..., :, -1]
        x[rows] += np.where(stuck[..., None], nudge, 0.0)
        rows = rows[stuck.any(1)]
        converged[rows] = climb(x, rows)
    logp, _ = evaluate(x, np.arange(n))
    return x, logp, converged


def unique_modes(x, s):
    """Mark distinct end points of :func:`find_modes` per row.

    Returns
    -------
    first : ndarray of bool, shape (n, K)
        True for the first start that reached each distinct mode.
    label : ndarray of int, shape (n, K)
        Index of the start that represents each start's mode.
    """
    n, K, D = x.shape
    label = np.empty((n, K), dtype=np.intp)
    step = max(1, _blocks.BUDGET // (K * K * D))
    for i in range(0, n, step):
        xb, scale = x[i : i + step], s[i : i + step].min(1)[:, None, None, :]
        close = np.abs(xb[:, :, None, :] - xb[:, None, :, :]) <= 1e-5 * scale
        label[i : i + len(xb)] = close.all(-1).argmax(2)  # first start within reach
    first = label == np.arange(K)
    return first, label
