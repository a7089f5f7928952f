"""The numpy mixture maths: densities, cdfs, pooling, quantiles, modes, HPD, CRPS.

The only numpy source of Gaussian-mixture maths in skmdn: the distribution,
the estimator's prediction path, the metrics and the plots call it. It imports
no torch. A mixture is given by ``weights`` (..., K), ``means`` (..., K, D)
and its components' covariances ``cov`` in one of two forms, told apart by
their number of axes: standard deviations ``scales`` (..., K, D) (diagonal
covariances; spherical ones are diagonal with equal scales), or lower
Cholesky factors ``tril`` (..., K, D, D) with a positive diagonal (full
covariances, ``Sigma = tril @ tril.T``). Per-target (marginal) functions take
``scales``, which for a full covariance are the row norms of ``tril``.
The one-dimensional solvers take ``P``
independent problems at once, each a mixture given by rows of ``w``, ``mu``
and ``s`` of shape (P, K).
"""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

import numpy as np
from scipy.special import log_ndtr, logsumexp, ndtr, ndtri
from sklearn.exceptions import ConvergenceWarning

LOG_2PI = np.log(2.0 * np.pi)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
# Problems per block, so temporaries of shape (block, K) stay small.
_BLOCK = 1 << 16
# Rows per block in the (rows x candidate targets) density, to bound memory.
_CROSS_BLOCK = 1 << 22


def _blocked(func, n, *arrays):
    """Apply ``func`` to blocks of rows of ``arrays`` and concatenate."""
    if n <= _BLOCK:
        return func(*arrays)
    parts = [func(*(a[i : i + _BLOCK] for a in arrays)) for i in range(0, n, _BLOCK)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))
    return np.concatenate(parts)


# ---------------------------------------------------------- transforms


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


# ------------------------------------------------------- covariance forms


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


# ---------------------------------------------------------- densities


def component_logpdf(means, cov, y):
    """``log N(y; means_k, Sigma_k)`` for every component.

    Parameters
    ----------
    means : ndarray of shape (..., K, D)
    cov : ndarray of shape (..., K, D) or (..., K, D, D)
        Scales (diagonal) or Cholesky factors (full): through triangular
        solves and the log-diagonal, never an inverse or a determinant.
    y : ndarray of shape (..., D)
        Broadcast against the leading axes of ``means``.

    Returns
    -------
    ndarray of shape (..., K)
    """
    z = whiten(means, cov, y)
    D = means.shape[-1]
    return (
        -0.5 * np.einsum("...d,...d->...", z, z)
        - log_diag_sum(means, cov)
        - (0.5 * D * LOG_2PI)
    )


def logpdf(weights, means, cov, y):
    """Log-density of ``y[i]`` under mixture ``i``.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means : ndarray of shape (n, K, D)
    cov : ndarray of shape (n, K, D) or (n, K, D, D)
    y : ndarray of shape (n, D)

    Returns
    -------
    ndarray of shape (n,)
    """
    comp = component_logpdf(means, cov, y)
    return logsumexp(log_weights(weights) + comp, axis=-1)


def cross_logpdf(weights, means, cov, Y):
    """Log-density of every candidate target under every row's mixture.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means : ndarray of shape (n, K, D)
    cov : ndarray of shape (n, K, D) or (n, K, D, D)
    Y : ndarray of shape (m, D)

    Returns
    -------
    ndarray of shape (n, m)
        Computed in blocks of rows, so memory stays bounded.
    """
    n, K, D = means.shape
    m = Y.shape[0]
    out = np.empty((n, m))
    log_w = log_weights(weights)
    per_row = m * K * D * (D if is_full(means, cov) else 1)
    step = max(1, _CROSS_BLOCK // max(1, per_row))
    for start in range(0, n, step):
        sl = slice(start, start + step)
        # (rows, 1, K, D) against (1, m, 1, D)
        comp = component_logpdf(means[sl, None], cov[sl, None], Y[None, :, :])
        out[sl] = logsumexp(log_w[sl, None, :] + comp, axis=-1)
    return out


def cdf(weights, means, scales, y):
    """Marginal cdf of each target: ``P(Y_d <= y[i, d])`` under mixture ``i``.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    y : ndarray of shape (n, D)

    Returns
    -------
    ndarray of shape (n, D), clipped to [0, 1]
    """
    z = (y[:, None, :] - means) / scales
    return np.clip((weights[:, :, None] * ndtr(z)).sum(1), 0.0, 1.0)


def sf(weights, means, scales, y):
    """Marginal survival function ``P(Y_d > y[i, d])``, accurate in the upper tail.

    Summed from ``ndtr(-z)`` per component rather than taken as ``1 - cdf``,
    so that values far below machine epsilon keep their relative precision.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    y : ndarray of shape (n, D)

    Returns
    -------
    ndarray of shape (n, D), clipped to [0, 1]
    """
    z = (y[:, None, :] - means) / scales
    return np.clip((weights[:, :, None] * ndtr(-z)).sum(1), 0.0, 1.0)


def logcdf(weights, means, scales, y):
    """Log of the marginal cdf, finite far into the lower tail.

    ``logsumexp_k(log w_k + log_ndtr(z_k))``: ``log_ndtr`` keeps its relative
    accuracy where ``ndtr`` underflows to zero (``z`` far below -38).

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    y : ndarray of shape (n, D)

    Returns
    -------
    ndarray of shape (n, D), at most 0
    """
    z = (y[:, None, :] - means) / scales
    log_w = log_weights(weights)[:, :, None]
    return np.minimum(logsumexp(log_w + log_ndtr(z), axis=1), 0.0)


def logsf(weights, means, scales, y):
    """Log of the marginal survival function, finite far into the upper tail.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    y : ndarray of shape (n, D)

    Returns
    -------
    ndarray of shape (n, D), at most 0
    """
    return logcdf(weights, -means, scales, -y)


def _double_factorial(m):
    """``m!!`` for ``m >= -1`` (``(-1)!! = 0!! = 1``), as an exact integer."""
    from math import prod

    return prod(range(m, 0, -2))


def moment(weights, means, scales, order, center=None):
    """Marginal moments ``E[(Y_d - c_d)**order]`` of each row's mixture, exactly.

    For one Gaussian, ``E[(mu - c + s Z)**r]`` is
    ``sum_{j even} C(r, j) (mu - c)**(r - j) s**j (j - 1)!!``; the mixture's
    moment is the weighted sum over components.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    order : int
        Non-negative order ``r``.
    center : ndarray of shape (n, D) or None
        ``c``; None for the raw (non-central) moments.

    Returns
    -------
    ndarray of shape (n, D)
    """
    from math import comb

    dev = means if center is None else means - center[:, None, :]
    total = np.zeros_like(dev)
    for j in range(0, order + 1, 2):
        coef = comb(order, j) * _double_factorial(j - 1)
        total += coef * dev ** (order - j) * scales**j
    return np.einsum("nk,nkd->nd", weights, total)


# Composite Gauss-Legendre quadrature of 1-D mixtures. The line is cut at
# every component's mean and at 2, 4 and 8 standard deviations either side,
# and at the bounds (with cuts at 1 to 8 of each component's standard
# deviation inside them), and each piece gets a 10-node Gauss-Legendre rule.
_QUAD_CUTS = np.array([-8.0, -4.0, -2.0, 0.0, 2.0, 4.0, 8.0])
_BOUND_CUTS = np.array([0.0, 1.0, 2.0, 4.0, 8.0])
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(10)
# Elements of the (rows, nodes, components) temporaries per block.
_QUAD_BLOCK = 1 << 22


def _quadrature(w, mu, s, lb, ub):
    """Nodes, weights and density for ``int_lb^ub f(x) p(x) dx`` per row.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
    lb, ub : ndarray of shape (P,)
        Bounds, ``-inf`` and ``inf`` allowed, ``lb <= ub``.

    Returns
    -------
    x : ndarray of shape (P, M)
        Nodes.
    weight : ndarray of shape (P, M)
        Rule weight times the mixture density at the node, so that
        ``(weight * f(x)).sum(1)`` approximates the integral.
    pdf : ndarray of shape (P, M)
        Mixture density at the nodes.
    """
    P = len(w)
    cuts = (mu[:, :, None] + s[:, :, None] * _QUAD_CUTS).reshape(P, -1)
    pieces = [cuts]
    if np.isfinite(lb).any() or np.isfinite(ub).any():
        low = np.where(np.isfinite(lb), lb, cuts.min(1))
        high = np.where(np.isfinite(ub), ub, cuts.max(1))
        inner = s[:, :, None] * _BOUND_CUTS
        pieces += [
            (low[:, None, None] + inner).reshape(P, -1),
            (high[:, None, None] - inner).reshape(P, -1),
        ]
    cuts = np.sort(np.clip(np.concatenate(pieces, axis=1), lb[:, None], ub[:, None]))
    a, b = cuts[:, :-1], cuts[:, 1:]
    half = 0.5 * (b - a)
    x = ((a + half)[:, :, None] + half[:, :, None] * _GL_NODES).reshape(P, -1)
    # the density directly (one exp per node and component): at every node
    # some component is within eight standard deviations, so it cannot
    # underflow unless that component's weight does
    z = x[:, :, None] - mu[:, None, :]
    z *= (1.0 / s)[:, None, :]
    np.square(z, out=z)
    z *= -0.5
    np.exp(z, out=z)
    pdf = np.einsum("pmk,pk->pm", z, w / s) * _INV_SQRT_2PI
    weight = (half[:, :, None] * _GL_WEIGHTS).reshape(P, -1) * pdf
    return x, weight, pdf


def _quadrature_blocks(w, mu, s, lb, ub):
    """Yield ``(rows, x, weight, pdf)`` of :func:`_quadrature` block by block."""
    P, K = w.shape
    n_nodes = (len(_QUAD_CUTS) + 2 * len(_BOUND_CUTS)) * K * len(_GL_NODES)
    step = max(1, _QUAD_BLOCK // (n_nodes * K))
    for start in range(0, P, step):
        rows = slice(start, start + step)
        yield rows, *_quadrature(w[rows], mu[rows], s[rows], lb[rows], ub[rows])


def expect(w, mu, s, func, lb, ub, conditional=False):
    """``E[func(Y) 1{lb <= Y <= ub}]`` under 1-D mixtures, by composite quadrature.

    The mass beyond eight standard deviations of every component (below
    ``1e-15``) is left out.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
    func : callable or None
        Acts elementwise on an ndarray of points; None is the identity.
    lb, ub : ndarray of shape (P,)
    conditional : bool
        Whether to divide by the mass between the bounds.

    Returns
    -------
    ndarray of shape (P,)
    """
    out = np.empty(len(w))
    mass = np.empty(len(w))
    for rows, x, weight, _ in _quadrature_blocks(w, mu, s, lb, ub):
        fx = x if func is None else np.asarray(func(x), dtype=np.float64)
        if fx.ndim == 0:  # a constant
            fx = np.broadcast_to(fx, x.shape)
        if fx.shape != x.shape:
            raise ValueError(
                "func must act elementwise: given points of shape "
                f"{x.shape} it returned shape {fx.shape}."
            )
        out[rows] = (weight * fx).sum(1)
        mass[rows] = weight.sum(1)
    if conditional:
        with np.errstate(invalid="ignore", divide="ignore"):
            out /= mass
    return out


def entropy_1d(w, mu, s):
    """Differential entropy ``-int p log p`` of 1-D mixtures, by quadrature.

    The composite rule of :func:`expect` applied to ``-log p``.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)

    Returns
    -------
    ndarray of shape (P,)
    """
    out = np.empty(len(w))
    inf = np.full(len(w), np.inf)
    for rows, _, weight, pdf in _quadrature_blocks(w, mu, s, -inf, inf):
        with np.errstate(divide="ignore"):
            log_pdf = np.log(pdf)
        out[rows] = -np.where(pdf > 0, weight * log_pdf, 0.0).sum(1)
    return out


def entropy_qmc(weights, means, cov, n_points=2048, seed=0):
    """Joint differential entropy of D-dimensional mixtures by quasi-Monte Carlo.

    ``H = -sum_k w_k E_k[log p(X)]``, with ``X = mu_k + L_k Z`` (``L_k`` the
    component's scales or Cholesky factor) for ``Z`` at the same
    ``n_points`` scrambled Sobol points for every component and row (a
    fixed ``seed``, so the result is deterministic). The part
    ``E_k[log(w_k N_k(X))]`` is exact; only the overlap term
    ``E_k[log(p(X) / (w_k N_k(X)))]`` is averaged over the points.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means : ndarray of shape (n, K, D)
    cov : ndarray of shape (n, K, D) or (n, K, D, D)
    n_points : int
        Points per component, a power of two.
    seed : int
        Seed of the scrambling.

    Returns
    -------
    ndarray of shape (n,)
    """
    from scipy.stats import qmc  # scipy.stats is slow to import: only when needed

    n, K, D = means.shape
    full = is_full(means, cov)
    z = ndtri(qmc.Sobol(D, scramble=True, seed=seed).random(n_points))  # (M, D)
    # centred on each row's mean, so the expanded quadratic form below keeps
    # its precision for targets far from zero
    mu = means - np.einsum("nk,nkd->nd", weights, means)[:, None, :]
    log_w = log_weights(weights)
    log_norm = -log_diag_sum(means, cov) - 0.5 * D * LOG_2PI  # (n, K)
    if not full:
        prec = 1.0 / cov**2
        # log(w_j N_j(x)) = c_j + [x**2, x] @ A_j: one matrix product per block
        A = np.concatenate([-0.5 * prec, mu * prec], axis=2).transpose(0, 2, 1)
        c = log_w + log_norm - 0.5 * (mu * mu * prec).sum(-1)
    own = -0.5 * (z * z).sum(-1)  # log N_k(X) - log_norm_k, for X = mu_k + L_k z
    overlap = np.zeros((n, K))
    step = max(1, _QUAD_BLOCK // (n_points * K * K * (D if full else 1)))
    for start in range(0, n, step):
        rows = slice(start, start + step)
        if full:
            x = mu[rows, :, None, :] + np.einsum("rkde,me->rkmd", cov[rows], z)
            logc = log_w[rows, None, None, :] + component_logpdf(
                mu[rows, None, None], cov[rows, None, None], x
            )  # (r, K, M, K)
            logp = logsumexp(logc, axis=-1)
        else:
            x = mu[rows, :, None, :] + cov[rows, :, None, :] * z  # (r, K, M, D)
            x = x.reshape(-1, K * n_points, D)
            logc = np.concatenate([x * x, x], axis=2) @ A[rows] + c[rows, None, :]
            top = logc.max(2, keepdims=True)  # logsumexp, without its copies
            logc -= top
            np.exp(logc, out=logc)
            logp = (np.log(logc.sum(2)) + top[..., 0]).reshape(-1, K, n_points)
        generating = (log_w[rows] + log_norm[rows])[:, :, None] + own
        with np.errstate(invalid="ignore"):
            term = np.where(weights[rows, :, None] > 0, logp - generating, 0.0)
        overlap[rows] = term.mean(-1)
    exact = log_w + log_norm - 0.5 * D  # E_k[log(w_k N_k(X))]
    with np.errstate(invalid="ignore"):
        return -np.where(weights > 0, weights * (exact + overlap), 0.0).sum(1)


# ------------------------------------------------------ bracketed root finder

_EPS = np.finfo(np.float64).eps
_SIGN_MASK = np.int64(0x7FFFFFFFFFFFFFFF)
# Iteration cap of the root finder, which typically needs 5 to 15 iterations
# and halves its bracket at least every third iteration.
_MAX_ITER = 400
# Elements per (problems, components) array of a block of rows, which bounds
# the memory of the solvers whatever the number of rows; temporaries are
# computed in chunks of _CHUNK elements, which stay in the processor's cache.
_BUDGET = 1 << 20
_CHUNK = 1 << 15


def _float_key(x):
    """Integers in the order of the float64 values ``x``, one apart for neighbours."""
    i = np.ascontiguousarray(x, dtype=np.float64).view(np.int64)
    return i ^ ((i >> 63) & _SIGN_MASK)


def _bisect(lo, hi):
    """Return the midpoint of ``lo < hi``, geometric where they differ in scale.

    Where both ends have one sign and differ by more than a factor of four,
    the midpoint is taken in the order of the floats, which halves the
    number of floats in the bracket: no bracket needs more than 64 such
    steps to close, however many decades it spans.
    """
    a, b = _float_key(lo), _float_key(hi)
    k = (a >> 1) + (b >> 1) + (a & b & 1)
    by_key = (k ^ ((k >> 63) & _SIGN_MASK)).view(np.float64)
    wide = ((lo > 0) & (hi > 4 * lo)) | ((hi < 0) & (lo < 4 * hi))
    return np.where(wide, by_key, 0.5 * lo + 0.5 * hi)


def _solve_bracketed(fun, lo, hi, x=None, ftol=None, max_iter=None):
    """Roots of increasing functions in brackets, one independent problem per entry.

    A safeguarded Newton iteration. Each iteration evaluates the active
    problems at one point each and moves one end of their brackets there; a
    problem leaves the active set when it is solved, so no problem's iterates
    depend on which other problems are solved together.

    The next point is the Newton step from the end of the bracket with the
    smaller residual when it falls strictly inside the bracket, and otherwise
    the bisection of the bracket (:func:`_bisect`). When three iterations
    have not halved the bracket, the next point is twice that Newton step
    (once), which closes the bracket behind iterates that converge from one
    side, or else the bisection. A step smaller than the spacing of the
    floats moves to the neighbouring float.

    Parameters
    ----------
    fun : callable
        ``fun(x, idx)`` evaluates the problems ``idx`` at the points ``x``
        (both of shape (m,)) and returns ``(resid, step, right)``: a residual,
        the Newton step, and whether ``x`` lies at or right of the root.
    lo, hi : ndarray of shape (n,)
        Brackets: ``lo`` left of the root, ``hi`` at or right of it.
    x : ndarray of shape (n,), optional
        First points, in ``[lo, hi]``; the ends are then taken as given, not
        evaluated. By default both ends are evaluated first, and the
        iteration starts from the better one.
    ftol : float or ndarray of shape (n,), optional
        A problem is solved where ``|resid| <= ftol``; by default only when
        its bracket has closed.
    max_iter : int, optional
        Iteration cap, by default ``_MAX_ITER``.

    Returns
    -------
    lo, hi : ndarray of shape (n,)
        The final brackets: neighbouring floats (``hi`` right of the root,
        ``lo`` left of it), or both the point where ``|resid| <= ftol``.
    converged : ndarray of bool, shape (n,)
        False where ``max_iter`` iterations did not solve the problem.
    """
    lo = np.array(lo, dtype=np.float64)
    hi = np.array(hi, dtype=np.float64)
    n = lo.shape[0]
    max_iter = _MAX_ITER if max_iter is None else max_iter
    ftol = np.broadcast_to(-1.0 if ftol is None else ftol, (n,))
    # residual and Newton step at each end, once evaluated
    r_lo, r_hi = np.full(n, np.inf), np.full(n, np.inf)
    s_lo, s_hi = np.full(n, np.nan), np.full(n, np.nan)
    widths = np.full((n, 3), np.inf)  # of the last three brackets
    doubled = np.zeros(n, dtype=bool)
    converged = np.zeros(n, dtype=bool)
    active = np.arange(n)
    if x is None:
        x = np.empty(n)
        r_lo, s_lo, lo_right = fun(lo, active)
        r_hi, s_hi, hi_right = fun(hi, active)
        r_lo, r_hi = np.abs(r_lo), np.abs(r_hi)
        # a root at an end, or within tolerance of one
        at_lo = lo_right | (r_lo <= ftol)
        at_hi = ~at_lo & (~hi_right | (r_hi <= ftol))
        hi[at_lo], lo[at_hi] = lo[at_lo], hi[at_hi]
        done = at_lo | at_hi | (_float_key(lo) >= _float_key(hi) - 1)
        x = _next_point(lo, hi, r_lo, r_hi, s_lo, s_hi, r_lo <= r_hi, False, doubled)
        converged[done] = True
        active = active[~done]
    else:
        x = np.array(x, dtype=np.float64)
    for _ in range(max_iter):
        if active.size == 0:
            break
        xa = x[active]
        resid, step, right = fun(xa, active)
        resid = np.abs(resid)
        lo_a = np.where(right, lo[active], xa)
        hi_a = np.where(right, xa, hi[active])
        rl = np.where(right, r_lo[active], resid)
        rh = np.where(right, resid, r_hi[active])
        sl = np.where(right, s_lo[active], step)
        sh = np.where(right, step, s_hi[active])
        met = resid <= ftol[active]
        lo_a[met] = xa[met]
        hi_a[met] = xa[met]
        done = met | (_float_key(lo_a) >= _float_key(hi_a) - 1)
        width = hi_a - lo_a
        past = widths[active]
        stalled = width > 0.5 * past[:, 0]
        from_lo = np.where(right, rl < rh, rl <= rh)  # the new point on a tie
        use_double = stalled & ~doubled[active]
        x[active] = _next_point(
            lo_a, hi_a, rl, rh, sl, sh, from_lo, stalled, use_double
        )
        lo[active], hi[active] = lo_a, hi_a
        r_lo[active], r_hi[active], s_lo[active], s_hi[active] = rl, rh, sl, sh
        widths[active] = np.column_stack((past[:, 1:], width))
        doubled[active] = use_double
        converged[active[done]] = True
        active = active[~done]
    return lo, hi, converged


def _next_point(lo, hi, r_lo, r_hi, s_lo, s_hi, from_lo, stalled, double):
    """Newton from the better end if inside ``(lo, hi)``, doubled, or bisection."""
    base = np.where(from_lo, lo, hi)
    with np.errstate(invalid="ignore", over="ignore"):
        newton = base + np.where(from_lo, s_lo, s_hi)
        tiny = newton == base
        newton[tiny] = np.nextafter(base, np.where(from_lo, hi, lo))[tiny]
        newton = np.where(double, base + 2.0 * (newton - base), newton)
    inside = (newton > lo) & (newton < hi) & (double | ~stalled)
    return np.where(inside, newton, _bisect(lo, hi))


def _warn(message):
    warnings.warn(message, ConvergenceWarning, stacklevel=4)


def _contiguous(*arrays):
    """C-ordered float64 copies (or the arrays themselves, if they already are).

    numpy's vectorised ``exp`` and ``log`` may round differently for strided
    input, so a row's results would depend on how its batch was sliced.
    """
    return tuple(np.ascontiguousarray(a, dtype=np.float64) for a in arrays)


def _in_chunks(func, n, per_item, *arrays, scale=1):
    """``func`` over chunks of ``arrays`` of ``scale * _CHUNK // per_item`` items."""
    step = max(1, scale * _CHUNK // max(1, per_item))
    if n <= step:
        return func(*arrays)
    parts = [func(*(a[i : i + step] for a in arrays)) for i in range(0, n, step)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))
    return np.concatenate(parts)


# ----------------------------------------------------------------- quantiles

# Below this the cdf or density is recomputed in logs, from log_ndtr.
_TINY = 1e-280


def ppf(w, mu, s, q):
    """Quantiles of 1-D mixtures: the inverse of the cdf at ``q`` in (0, 1).

    The result is exact for the computed cdf: for ``q <= 1/2`` it is a float
    ``y`` where the computed cdf equals ``q`` or, if there is none, the
    smallest float where it exceeds ``q``. Above the median the problem is
    mirrored (``x -> -x``, ``q -> 1 - q``, exact) and the same holds for the
    survival function and ``1 - q``, with the survival function computed
    directly, at full relative precision. So ``|cdf(y) - q|`` is at most the
    density times the spacing of the floats at ``y``, plus the rounding of
    the cdf (about 1e-15 relative to ``min(q, 1 - q)``); and ``y`` is
    nondecreasing in ``q`` by construction on each side of 1/2 (the cdf is
    computed as a sum of nondecreasing terms, and ``cdf(y) >= q`` with either
    ``cdf(y) == q`` or ``cdf(y') < q`` at the float ``y'`` below ``y``).

    Solved by :func:`_solve_bracketed` on ``log cdf(y) = log q``, whose Newton
    steps converge fast even where the cdf is exponentially flat, inside the
    bracket of the components' own quantiles, which always holds the root.
    A :class:`~sklearn.exceptions.ConvergenceWarning` reports problems that
    do not converge.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
        Weights, means and standard deviations of ``P`` mixtures.
    q : ndarray of shape (P,)
        Probabilities, strictly between 0 and 1.

    Returns
    -------
    ndarray of shape (P,)
    """
    # chunks a few times larger than the cache-sized ones pay back the
    # iteration's overhead per chunk
    arrays = _contiguous(w, mu, s, q)
    return _in_chunks(_ppf_block, len(q), w.shape[1], *arrays, scale=4)


def _ppf_block(w, mu, s, q):
    upper = q > 0.5
    sign = np.where(upper, -1.0, 1.0)
    mu = mu * sign[:, None]
    p = np.where(upper, 1.0 - q, q)  # exact for q in [0.5, 1]
    log_p = np.log(p)
    # The components' quantiles at slightly lower and higher levels, a few
    # floats further out, bracket the mixture's quantile despite rounding.
    lo = (mu + s * ndtri(p * (1 - 1e-9))[:, None]).min(1)
    hi = (mu + s * ndtri(p * (1 + 1e-9))[:, None]).max(1)
    lo -= 4 * np.abs(np.spacing(lo))
    hi += 4 * np.abs(np.spacing(hi))
    x0 = np.clip((w * (mu + s * ndtri(p)[:, None])).sum(1), lo, hi)
    w_pdf = w / s * _INV_SQRT_2PI
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    log_s = np.log(s)

    def fun(x, idx):
        z = (x[:, None] - mu[idx]) / s[idx]
        cdf = (w[idx] * ndtr(z)).sum(1)
        pdf = (w_pdf[idx] * np.exp(-0.5 * z * z)).sum(1)
        pa, lpa, up = p[idx], log_p[idx], upper[idx]
        # Above the median (mirrored) the result is the last float with
        # cdf <= p, below it the first with cdf >= p.
        right = np.where(up, cdf > pa, cdf >= pa)
        exact = cdf == pa
        with np.errstate(divide="ignore"):
            log_cdf, log_pdf = np.log(cdf), np.log(pdf)
        small = cdf < _TINY
        if small.any():  # deep tails: the cdf from log_ndtr, compared in logs
            lw = log_w[idx[small]]
            log_cdf[small] = logsumexp(lw + log_ndtr(z[small]), axis=1)
            right[small] = np.where(
                up[small], log_cdf[small] > lpa[small], log_cdf[small] >= lpa[small]
            )
            exact[small] = log_cdf[small] == lpa[small]
        small = pdf < _TINY
        if small.any():
            zs, lw = z[small], log_w[idx[small]]
            log_pdf[small] = logsumexp(
                lw - 0.5 * zs * zs - log_s[idx[small]], axis=1
            ) - (0.5 * LOG_2PI)
        resid = np.where(exact, 0.0, log_cdf - lpa)
        with np.errstate(over="ignore", invalid="ignore"):
            step = -resid * np.exp(log_cdf - log_pdf)
        return resid, step, right

    # Solved where the computed cdf equals p, or else where it steps over p
    # between neighbouring floats: monotone in p either way.
    lo, hi, ok = _solve_bracketed(fun, lo, hi, x0, ftol=0.0)
    if not ok.all():
        _warn(
            f"{np.count_nonzero(~ok)} of {ok.size} quantiles did not converge in "
            f"{_MAX_ITER} iterations; their brackets are up to "
            f"{np.max((hi - lo)[~ok]):.3g} wide."
        )
    return np.where(upper, lo, hi) * sign


# ------------------------------------------------------ critical points (1-D)

# The density's derivatives share the factor 1/sqrt(2 pi), left out here.
# -z e^{-z^2/2} has its extrema at z = -1 (max) and z = 1 (min);
# (z^2 - 1) e^{-z^2/2} its minimum -1 at 0 and its maxima at +-sqrt(3).
_E_HALF = np.exp(-0.5)
_PSI2_MAX = 2.0 * np.exp(-1.5)
_SQRT3 = np.sqrt(3.0)
# A cell across which the density varies by less than this fraction of
# itself is not subdivided further: a bump so flat is not resolved. Nor is a
# cell where the density stays below _NEGLIGIBLE (in logs) of the height of
# the highest component, deep in the gap between far-apart components.
_FLAT = 1e-13
_NEGLIGIBLE = -700.0
_MAX_DEPTH = 200


class _Rows:
    """Components of 1-D mixtures, arrays of shape (P, K), gathered by row."""

    def __init__(self, w, mu, s):
        self.w, self.mu, self.s = w, mu, s
        self.K = w.shape[1]
        with np.errstate(divide="ignore"):
            # log(w / s); a zero weight becomes a term that underflows to 0
            self.lws = np.maximum(np.log(w) - np.log(s), -1e5)
        self.inv_s = 1.0 / s
        self.highest = self.lws.max(1)  # the density is at least this high

    def terms(self, rows, x):
        """Scaled component densities at ``x`` of the given rows.

        Returns ``z`` (m, K), ``h = exp(arg - top)`` (m, K) with ``arg`` the
        log of each component's density (less log sqrt(2 pi)) and ``top``
        (m,) its largest value, and the per-term relative rounding ``err``
        (m, K) of ``h``.
        """
        z = (x[:, None] - self.mu[rows]) / self.s[rows]
        arg = self.lws[rows] - 0.5 * z * z
        top = arg.max(1)
        h = np.exp(arg - top[:, None])
        err = _EPS * (self.K + 8 + 2 * np.abs(self.lws[rows]) + 3 * z * z)
        err += 2 * _EPS * np.abs(top)[:, None]
        return z, h, top, err

    def slope_sign(self, rows, x):
        """Sign of the density's derivative at ``x``: +1, -1, or 0 within rounding."""
        z, h, _, err = self.terms(rows, x)
        t = h * z * self.inv_s[rows]  # minus the derivative's terms
        d = -t.sum(1)
        noise = (np.abs(t) * err).sum(1)
        return np.where(d > noise, 1, np.where(d < -noise, -1, 0))

    def log_slope(self, rows, x):
        """``d log p / dx``, its derivative, and the rounding of the former."""
        z, h, _, err = self.terms(rows, x)
        r = h / h.sum(1, keepdims=True)
        inv_s = self.inv_s[rows]
        a = -z * inv_s
        g = (r * a).sum(1)
        dg = (r * (a * a - inv_s * inv_s)).sum(1) - g * g
        noise = (r * np.abs(a) * err).sum(1)
        return g, dg, noise

    def logpdf(self, rows, x):
        """Log-density and its derivative at ``x``."""
        z, h, top, _ = self.terms(rows, x)
        tot = h.sum(1)
        g = -(h * z * self.inv_s[rows]).sum(1) / tot
        return top + np.log(tot) - 0.5 * LOG_2PI, g

    def cdf(self, rows, x):
        """Mixture cdf at ``x``."""
        z = (x[:, None] - self.mu[rows]) / self.s[rows]
        return (self.w[rows] * ndtr(z)).sum(1)

    def certify(self, rows, a, b):
        """Which cells ``[a, b]`` need no further subdivision.

        Interval bounds of the density's first and second derivatives over
        the cell, term by term (each component's term is monotone between
        its landmarks), settle a cell when the first derivative keeps one
        sign (no critical point), when the second does (at most one, found
        by the signs at the ends), when the density varies across the cell
        by less than ``_FLAT`` of itself, or when it stays below
        ``exp(_NEGLIGIBLE)`` of the row's highest component peak.
        """
        mu, lws, inv_s = self.mu[rows], self.lws[rows], self.inv_s[rows]
        za = (a[:, None] - mu) * inv_s
        zb = (b[:, None] - mu) * inv_s
        arg_a = lws - 0.5 * za * za
        arg_b = lws - 0.5 * zb * zb
        top = np.maximum(arg_a.max(1), arg_b.max(1))[:, None]
        ha, hb = np.exp(arg_a - top), np.exp(arg_b - top)
        with np.errstate(over="ignore"):
            peak = np.exp(lws - top) * inv_s  # a term's height at its mean, / s
        # first derivative: terms -h z / s
        ta, tb = -ha * za * inv_s, -hb * zb * inv_s
        d1_hi = np.where((za < -1) & (zb > -1), _E_HALF * peak, np.maximum(ta, tb))
        d1_lo = np.where((za < 1) & (zb > 1), -_E_HALF * peak, np.minimum(ta, tb))
        d1_hi, d1_lo = d1_hi.sum(1), d1_lo.sum(1)
        # second derivative: terms h (z^2 - 1) / s^2
        ua, ub = ha * (za * za - 1) * inv_s, hb * (zb * zb - 1) * inv_s
        crest = ((za < -_SQRT3) & (zb > -_SQRT3)) | ((za < _SQRT3) & (zb > _SQRT3))
        d2_hi = np.where(crest, _PSI2_MAX * peak, np.maximum(ua, ub))
        d2_lo = np.where((za < 0) & (zb > 0), -peak, np.minimum(ua, ub))
        d2_hi, d2_lo = (d2_hi * inv_s).sum(1), (d2_lo * inv_s).sum(1)
        one_sign = (d1_lo > 0) | (d1_hi < 0)
        monotone = (d2_lo > 0) | (d2_hi < 0)
        with np.errstate(invalid="ignore"):
            change = (b - a) * np.maximum(d1_hi, -d1_lo)
            flat = change <= _FLAT * np.minimum(ha.sum(1), hb.sum(1))
        # the highest any term gets in the cell: at its mean, or the nearer end
        nearest = np.where((za < 0) & (zb > 0), 0.0, np.minimum(za * za, zb * zb))
        tallest = (lws - 0.5 * nearest).max(1) + np.log(self.K)
        negligible = tallest < self.highest[rows] + _NEGLIGIBLE
        return one_sign | monotone | flat | negligible


def _critical_block(w, mu, s):
    """Every critical point of 1-D mixtures (rows of ``w``, ``mu``, ``s``).

    All critical points lie between the smallest and largest mean (outside,
    every component's density slopes the same way). That range is cut at
    the component means, and cells are halved until :meth:`_Rows.certify`
    settles them. The signs of the derivative at
    the cell ends, where rounding cannot flip them, then place the critical
    points: one inside each cell whose ends have opposite signs (refined by
    :func:`_solve_bracketed` on ``d log p / dx``), and one at the middle of
    each run of ends where the derivative is zero within rounding. A point
    where the derivative changes from + to - is a mode, from - to + an
    antimode; so they alternate, beginning and ending with a mode.

    Returns
    -------
    row, x, kind : ndarray of shape (n_points,)
        Critical points sorted by row, then location; ``kind`` is 1 for a
        mode and -1 for an antimode.
    """
    P, K = w.shape
    m = _Rows(w, mu, s)
    live = w > 0
    lo = np.where(live, mu, np.inf).min(1)
    hi = np.where(live, mu, -np.inf).max(1)
    grid = np.sort(np.column_stack((lo, np.clip(mu, lo[:, None], hi[:, None]), hi)), 1)
    G = grid.shape[1]
    rows = np.repeat(np.arange(P), G - 1)
    a, b = grid[:, :-1].ravel(), grid[:, 1:].ravel()
    done_r, done_a, done_b = [], [], []
    for _ in range(_MAX_DEPTH):
        if rows.size == 0:
            break
        ok = _in_chunks(m.certify, rows.size, K, rows, a, b)
        done_r.append(rows[ok])
        done_a.append(a[ok])
        done_b.append(b[ok])
        rows, a, b = rows[~ok], a[~ok], b[~ok]
        mid = 0.5 * (a + b)
        rows = np.concatenate((rows, rows))
        a, b = np.concatenate((a, mid)), np.concatenate((mid, b))
    if rows.size:
        _warn(
            f"{rows.size} cells of {np.unique(rows).size} mixtures were not "
            f"resolved after {_MAX_DEPTH} halvings (the narrowest is "
            f"{np.min(b - a):.3g} wide); critical points inside them may be "
            "missed."
        )
    rows = np.concatenate([*done_r, rows])
    a = np.concatenate([*done_a, a])
    b = np.concatenate([*done_b, b])
    order = np.lexsort((b, a, rows))
    rows, a, b = rows[order], a[order], b[order]

    # The cell ends of each row in order: every cell's left end, then the
    # row's last right end.
    first = np.r_[True, rows[1:] != rows[:-1]]
    last = np.r_[first[1:], True]
    at = np.arange(rows.size) + np.cumsum(first) - 1  # index of each left end
    px = np.empty(rows.size + P)
    prow = np.empty(rows.size + P, dtype=np.intp)
    px[at], prow[at] = a, rows
    px[at[last] + 1], prow[at[last] + 1] = b[last], rows[last]
    sign = _in_chunks(m.slope_sign, px.size, K, prow, px)

    # a critical point inside each cell whose ends have opposite signs
    root = sign[at] * sign[at + 1] < 0
    r_kind = sign[at][root]  # +1: the density rises, then falls
    r_row, r_a, r_b = rows[root], a[root], b[root]
    orient = -r_kind.astype(np.float64)

    def fun(x, idx):
        g, dg, noise = m.log_slope(r_row[idx], x)
        f = orient[idx] * g
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            resid = np.where(noise > 0, f / noise, np.where(f == 0, 0.0, np.inf))
            step = -g / dg
        return resid, step, f >= 0

    r_lo, r_hi, ok = _solve_bracketed(fun, r_a, r_b, ftol=1.0)
    if not ok.all():
        _warn(
            f"{np.count_nonzero(~ok)} critical points did not converge in "
            f"{_MAX_ITER} iterations; they are located to within "
            f"{np.max((r_hi - r_lo)[~ok]):.3g}."
        )
    r_x = r_hi

    # one at the middle of each run of ends with a zero derivative
    zero = sign == 0
    same_prev = np.r_[False, prow[1:] == prow[:-1]]
    same_next = np.r_[same_prev[1:], False]
    start = np.flatnonzero(zero & ~(same_prev & np.r_[False, zero[:-1]]))
    end = np.flatnonzero(zero & ~(same_next & np.r_[zero[1:], False]))
    left = np.where(same_prev[start], sign[start - 1], 1)
    right = np.where(same_next[end], sign[(end + 1) % px.size], -1)
    z_kind = np.where(left > right, 1, np.where(left < right, -1, 0))
    keep = z_kind != 0
    z_row = prow[start[keep]]
    z_x = px[(start[keep] + end[keep]) // 2]

    key = np.concatenate((2 * at[root] + 1, 2 * start[keep]))
    order = np.argsort(key, kind="stable")
    return (
        np.concatenate((r_row, z_row))[order],
        np.concatenate((r_x, z_x))[order],
        np.concatenate((r_kind, z_kind[keep]))[order],
    )


def critical_points(w, mu, s):
    """Every mode and antimode of 1-D mixtures, in blocks of rows.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
        Weights, means and standard deviations of ``P`` mixtures.

    Returns
    -------
    row, x, kind : ndarray of shape (n_points,)
        Critical points sorted by row, then location; ``kind`` is 1 for a
        mode and -1 for an antimode. Each row has ``2 m - 1`` of them,
        alternating and beginning with a mode, for its ``m`` modes.
    """
    w, mu, s = _contiguous(w, mu, s)
    P, K = w.shape
    step = max(1, _BUDGET // (K * (K + 2)))
    parts = []
    for i in range(0, P, step):
        row, x, kind = _critical_block(
            w[i : i + step], mu[i : i + step], s[i : i + step]
        )
        parts.append((row + i, x, kind))
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def _ragged_to_padded(row, values, n_rows, width):
    """Values grouped by (sorted) ``row`` into (n_rows, width), NaN-padded."""
    counts = np.bincount(row, minlength=n_rows)
    rank = np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts)
    out = np.full((n_rows, width), np.nan)
    out[row, rank] = values
    return out, counts


def sorted_critical_points(w, mu, s):
    """Modes and antimodes of 1-D mixtures, padded to a common count.

    Every critical point is found (:func:`critical_points`); what is
    guaranteed is stated in :meth:`MixtureDistribution.modes`.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
        Weights, means and standard deviations of ``P`` mixtures.

    Returns
    -------
    modes : ndarray of shape (P, M)
        Modes in increasing order, ``M`` the larger of ``K`` and the most
        modes of any row; rows with fewer modes repeat their last one.
    n_modes : ndarray of shape (P,)
    anti : ndarray of shape (P, M - 1)
        The density minimum between consecutive modes (equal to the mode
        where the padding repeats it).
    """
    P, K = w.shape
    row, x, kind = critical_points(w, mu, s)
    is_mode = kind == 1
    n_modes = np.bincount(row[is_mode], minlength=P)
    M = max(K, int(n_modes.max(initial=1)))
    modes, _ = _ragged_to_padded(row[is_mode], x[is_mode], P, M)
    cols = np.arange(M)
    last = modes[np.arange(P), n_modes - 1]
    modes = np.where(cols < n_modes[:, None], modes, last[:, None])
    anti, _ = _ragged_to_padded(row[~is_mode], x[~is_mode], P, M - 1)
    anti = np.where(cols[:-1] < n_modes[:, None] - 1, anti, modes[:, :-1])
    return modes, n_modes, anti


def logpdf_points(w, mu, s, x):
    """Log-density of each row's mixture at several points, ``x`` of shape (P, M)."""
    w, mu, s, x = _contiguous(w, mu, s, x)
    P, M = x.shape
    m = _Rows(w, mu, s)
    rows = np.repeat(np.arange(P), M)
    out = _in_chunks(
        lambda r, xx: m.logpdf(r, xx)[0], P * M, w.shape[1], rows, x.ravel()
    )
    return out.reshape(P, M)


def cdf_points(w, mu, s, x):
    """Cdf of each row's mixture at several points, ``x`` of shape (P, M)."""
    w, mu, s, x = _contiguous(w, mu, s, x)
    P, M = x.shape
    m = _Rows(w, mu, s)
    rows = np.repeat(np.arange(P), M)
    return _in_chunks(m.cdf, P * M, w.shape[1], rows, x.ravel()).reshape(P, M)


# --------------------------------------------------------------- modes, D > 1


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
    w, mu, cov = _contiguous(w, mu, cov)
    n, K, D = mu.shape
    step = max(1, _BUDGET // (K * K * D * D))
    parts = [
        _find_modes_block(
            w[i : i + step], mu[i : i + step], cov[i : i + step], max_iter
        )
        for i in range(0, n, step)
    ]
    x, logp, ok = (np.concatenate(p) for p in zip(*parts, strict=True))
    if not ok.all():
        _warn(
            f"The hill-climbs of {np.count_nonzero(~ok)} of {n} rows did not "
            f"converge in {max_iter} iterations."
        )
    return x, logp


# A hill-climb end whose largest Hessian eigenvalue is above -_FLAT times the
# curvature of the sharpest component is not a strict maximum (a minimum or a
# saddle that a start sat on, where the gradient vanishes too): it is moved by
# _NUDGE of the smallest scale along that eigenvector and climbed again, at
# most _ESCAPES times (a flat-topped maximum climbs back to itself).
_FLAT = 1e-6
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
        flat = _FLAT / s_min[rows, None] ** 2
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
    step = max(1, _BUDGET // (K * K * D))
    for i in range(0, n, step):
        xb, scale = x[i : i + step], s[i : i + step].min(1)[:, None, None, :]
        close = np.abs(xb[:, :, None, :] - xb[:, None, :, :]) <= 1e-5 * scale
        label[i : i + len(xb)] = close.all(-1).argmax(2)  # first start within reach
    first = label == np.arange(K)
    return first, label


# ----------------------------------------------------------------------- HPD

# Highest-density sets hold their mass to this (absolute) tolerance.
_HPD_TOL = 1e-10


def hpd_sets(w, mu, s, confidence):
    """Highest-density sets of 1-D mixtures holding mass ``confidence``.

    The set is ``{x : p(x) >= level}``. The density is monotone between
    consecutive critical points (:func:`critical_points`, which finds them
    all), so for a given level the set is found segment by segment, each
    crossing solved by :func:`_solve_bracketed`; the level itself is solved
    for by the same safeguarded Newton iteration on the held mass, whose
    derivative in ``log level`` is ``level * sum(1 / |d log p / dx|)`` over
    the crossings. A set of very small mass, across which the density is
    flat to rounding (to 1e-8), is the interval centred on the highest mode
    that holds the mass. The mass is held to ``_HPD_TOL``, or as closely as
    the spacing of the floats at the ends of the intervals allows (twice the
    level times that spacing, per end); a
    :class:`~sklearn.exceptions.ConvergenceWarning` reports rows that miss it.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
        Weights, means and standard deviations of ``P`` mixtures.
    confidence : float
        Mass of the sets, strictly between 0 and 1.

    Returns
    -------
    list of ndarray of shape (m_i, 2)
        Disjoint sorted intervals per problem.
    """
    w, mu, s = _contiguous(w, mu, s)
    P, K = w.shape
    row, x, _ = critical_points(w, mu, s)
    n_crit = np.bincount(row, minlength=P)
    out = []
    rows_per_block = max(1, _BUDGET // (K * (int(n_crit.max()) + 1)))
    for i in range(0, P, rows_per_block):
        sl = slice(i, i + rows_per_block)
        j, k = np.searchsorted(row, [i, i + rows_per_block])  # row is sorted
        out.extend(_hpd_block(w[sl], mu[sl], s[sl], row[j:k] - i, x[j:k], confidence))
    return out


def _hpd_block(w, mu, s, crit_row, crit_x, confidence):
    P, K = w.shape
    m = _Rows(w, mu, s)
    live = w > 0
    far_lo = np.where(live, mu - 40 * s, np.inf).min(1)
    far_hi = np.where(live, mu + 40 * s, -np.inf).max(1)
    # Segment ends: far_lo, the critical points, then far_hi repeated, so
    # that padding (segments of length 0) comes last in every row.
    inner, _ = _ragged_to_padded(
        crit_row, crit_x, P, int(np.bincount(crit_row, minlength=P).max())
    )
    n_seg = inner.shape[1] + 1
    ends = np.empty((P, n_seg + 1))
    ends[:, 0] = far_lo
    ends[:, 1:-1] = np.where(np.isnan(inner), far_hi[:, None], inner)
    ends[:, -1] = far_hi
    rows_e = np.repeat(np.arange(P), n_seg + 1)
    log_e = _in_chunks(
        lambda r, xx: m.logpdf(r, xx)[0], rows_e.size, K, rows_e, ends.ravel()
    ).reshape(P, n_seg + 1)
    cdf_e = _in_chunks(m.cdf, rows_e.size, K, rows_e, ends.ravel()).reshape(
        P, n_seg + 1
    )
    A, B = ends[:, :-1], ends[:, 1:]
    rising = np.arange(n_seg) % 2 == 0  # far_lo -> first mode -> antimode -> ...
    top = np.where(rising, log_e[:, 1:], log_e[:, :-1])
    bottom = np.where(rising, log_e[:, :-1], log_e[:, 1:])
    F_a, F_b = cdf_e[:, :-1], cdf_e[:, 1:]
    roots = np.where(rising, A, B)  # last crossings, to start the next solve

    def pieces(lam, idx):
        """Held mass, its derivative in lam, and the pieces at levels lam (rows idx)."""
        level = lam[:, None]
        inside = top[idx] >= level
        full = inside & (bottom[idx] >= level)
        cut = inside & ~full
        ci, cj = np.nonzero(cut)
        seg_rows = idx[ci]
        sa, sb = A[seg_rows, cj], B[seg_rows, cj]
        up = rising[cj]
        lam_c = lam[ci]
        orient = np.where(up, 1.0, -1.0)

        def fun(x, k):
            logp, g = m.logpdf(seg_rows[k], x)
            d = logp - lam_c[k]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                step = -d / g
            return d, step, orient[k] * d >= 0

        prev = roots[seg_rows, cj]
        x0 = np.where((prev > sa) & (prev < sb), prev, _bisect(sa, sb))
        tol = 64 * _EPS * (1.0 + np.abs(lam_c))
        r_lo, r_hi, ok = _solve_bracketed(fun, sa, sb, x0, ftol=tol)
        r = np.where(up, r_hi, r_lo)  # the end inside the set
        roots[seg_rows, cj] = r
        _, g_r = m.logpdf(seg_rows, r)
        F_r = m.cdf(seg_rows, r)
        mass = np.where(full, F_b[idx] - F_a[idx], 0.0)
        mass[ci, cj] = np.where(up, F_b[seg_rows, cj] - F_r, F_r - F_a[seg_rows, cj])
        slope = np.zeros(mass.shape)
        with np.errstate(divide="ignore"):
            slope[ci, cj] = 1.0 / np.abs(g_r)
        lo = np.where(full, A[idx], 0.0)
        hi = np.where(full, B[idx], 0.0)
        lo[ci, cj] = np.where(up, r, sa)
        hi[ci, cj] = np.where(up, sb, r)
        # sums in segment order, whatever the padding (cumsum is sequential)
        total = np.cumsum(mass, axis=1)[:, -1]
        d_total = np.exp(lam) * np.cumsum(slope, axis=1)[:, -1]
        failed = np.zeros(idx.size, dtype=bool)
        failed[ci[~ok]] = True
        return total, d_total, inside, lo, hi, failed

    def fun(lam, idx):
        total, d_total, *_ = pieces(lam, idx)
        f = confidence - total  # increasing in the level
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = -f / d_total
        return f, step, f >= 0

    top_seg = np.argmax(np.where(rising, top, -np.inf), axis=1)
    lam_hi = top[np.arange(P), top_seg]  # the highest mode
    lam_lo = np.maximum(log_e[:, 0], log_e[:, -1]) - 1.0
    z = ndtri(0.5 + 0.5 * confidence)
    lam0 = np.clip(lam_hi - 0.5 * z * z, lam_lo, lam_hi)
    lam, _, ok = _solve_bracketed(fun, lam_lo, lam_hi, lam0, ftol=1e-12)
    total, _, inside, lo, hi, failed = pieces(lam, np.arange(P))
    miss = np.where(ok & ~failed, np.abs(total - confidence), np.inf)
    # merge pieces that touch (at a mode, or at an antimode inside the set)
    touch = np.zeros_like(inside)
    touch[:, 1:] = inside[:, 1:] & inside[:, :-1] & (hi[:, :-1] == lo[:, 1:])
    starts = inside & ~touch
    stops = inside & ~np.c_[touch[:, 1:], np.zeros(P, dtype=bool)]
    counts = starts.sum(1)
    intervals = np.column_stack((lo[starts], hi[stops]))
    # A set of very small mass lies so close to the top of the highest mode
    # that the density is flat across it to within rounding (to 1e-8), and
    # neighbouring levels differ in mass by more than the tolerance: there,
    # the interval centred on the mode that holds the mass is solved for.
    fix = np.flatnonzero((miss > _HPD_TOL) & (counts == 1) & (lam_hi - lam <= 1e-8))
    if fix.size:
        at = (np.cumsum(counts) - 1)[fix]
        mode = B[fix, top_seg[fix]]

        def half_width(h, k):
            r, m0 = fix[k], mode[k]
            held = m.cdf(r, m0 + h) - m.cdf(r, m0 - h) - confidence
            dens = np.exp(m.logpdf(r, m0 + h)[0]) + np.exp(m.logpdf(r, m0 - h)[0])
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                step = -held / dens
            return held, step, held >= 0

        h0 = 0.5 * (intervals[at, 1] - intervals[at, 0])
        far = (far_hi - far_lo)[fix]
        _, h, ok = _solve_bracketed(half_width, np.zeros(fix.size), far, h0, 1e-13)
        intervals[at] = np.column_stack((mode - h, mode + h))
        held = half_width(h, np.arange(fix.size))[0]
        miss[fix] = np.where(ok, np.abs(held), np.inf)
    # Where the density is steep, the spacing of the floats at the ends of
    # the intervals limits how closely any set can hold the mass.
    owner = np.repeat(np.arange(P), counts)
    grain = np.bincount(owner, np.abs(np.spacing(intervals)).sum(1), minlength=P)
    tol = _HPD_TOL + 2 * np.exp(lam) * grain
    bad = miss > tol
    if bad.any():
        worst = np.argmax(np.where(bad, miss - tol, -np.inf))
        _warn(
            f"The highest-density sets of {np.count_nonzero(bad)} of {P} rows "
            + (
                f"hold their mass only to {miss[worst]:.3g} (tolerance "
                f"{tol[worst]:.3g})."
                if np.isfinite(miss[worst])
                else f"did not converge in {_MAX_ITER} iterations."
            )
        )
    return np.split(intervals, np.cumsum(counts)[:-1])


# ---------------------------------------------------------------------- CRPS


def _abs_normal_mean(m, v):
    """``E|Z|`` for ``Z ~ N(m, v)``."""
    sd = np.sqrt(v)
    z = m / sd
    return 2 * sd * np.exp(-0.5 * z * z) * _INV_SQRT_2PI + m * (2 * ndtr(z) - 1)


def crps(w, mu, s, y):
    """Closed-form CRPS of 1-D mixtures at ``y`` (Grimit et al., 2006).

    ``E|X - y| - 0.5 E|X - X'|`` with ``X, X'`` independent draws from the
    mixture; both expectations are sums of folded-normal means.
    """
    return _blocked(_crps_block, len(y), w, mu, s, y)


def _crps_block(w, mu, s, y):
    v = s * s
    first = (w * _abs_normal_mean(y[:, None] - mu, v)).sum(1)
    pair = _abs_normal_mean(mu[:, :, None] - mu[:, None, :], v[:, :, None] + v[:, None])
    second = np.einsum("pk,pkl,pl->p", w, pair, w)
    return first - 0.5 * second
