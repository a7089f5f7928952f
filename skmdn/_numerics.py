"""The numpy mixture maths: densities, cdfs, pooling, quantiles, modes, HPD, CRPS.

The only numpy source of Gaussian-mixture maths in skmdn: the distribution,
the estimator's prediction path, the metrics and the plots call it. It imports
no torch. A mixture is given by ``weights`` (..., K), ``means`` and ``scales``
(..., K, D) (diagonal covariances). The one-dimensional solvers take ``P``
independent problems at once, each a mixture given by rows of ``w``, ``mu``
and ``s`` of shape (P, K).
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import torch
from scipy.special import log_ndtr, logsumexp, ndtr, ndtri

LOG_2PI = np.log(2.0 * np.pi)
_LOG_2PI = LOG_2PI  # TODO(restructure): the solvers below still use this name
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
_SQRT_HALF = np.sqrt(0.5)
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


def pool_networks(logits, loc, scale):
    """One mixture of ``M * K`` components from ``M`` networks' outputs.

    The ensemble's density is the average of the networks' densities, so
    component ``k`` of network ``m`` gets weight ``pi_mk / M``: its logit is
    the network's log-softmax minus ``log M``.

    Parameters
    ----------
    logits : ndarray of shape (M, n, K)
    loc, scale : ndarray of shape (M, n, K, D)

    Returns
    -------
    logits : ndarray of shape (n, M * K)
    loc, scale : ndarray of shape (n, M * K, D)
    """
    M, n, K = logits.shape
    logits = log_softmax(logits) - np.log(M)
    logits = logits.transpose(1, 0, 2).reshape(n, M * K)
    loc, scale = (
        a.transpose(1, 0, 2, 3).reshape(n, M * K, a.shape[-1]) for a in (loc, scale)
    )
    return logits, loc, scale


# ---------------------------------------------------------- densities


def component_logpdf(means, scales, y):
    """``log N(y; means_k, diag(scales_k**2))`` for every component.

    Parameters
    ----------
    means, scales : ndarray of shape (..., K, D)
    y : ndarray of shape (..., D)
        Broadcast against the leading axes of ``means``.

    Returns
    -------
    ndarray of shape (..., K)
    """
    z = (y[..., None, :] - means) / scales
    D = means.shape[-1]
    return (
        -0.5 * np.einsum("...d,...d->...", z, z)
        - np.log(scales).sum(-1)
        - (0.5 * D * LOG_2PI)
    )


def logpdf(weights, means, scales, y):
    """Log-density of ``y[i]`` under mixture ``i``.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
    y : ndarray of shape (n, D)

    Returns
    -------
    ndarray of shape (n,)
    """
    comp = component_logpdf(means, scales, y)
    return logsumexp(log_weights(weights) + comp, axis=-1)


def cross_logpdf(weights, means, scales, Y):
    """Log-density of every candidate target under every row's mixture.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
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
    step = max(1, _CROSS_BLOCK // max(1, m * K * D))
    for start in range(0, n, step):
        sl = slice(start, start + step)
        # (rows, 1, K, D) against (1, m, 1, D)
        comp = component_logpdf(means[sl, None], scales[sl, None], Y[None, :, :])
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


def entropy_qmc(weights, means, scales, n_points=2048, seed=0):
    """Joint differential entropy of D-dimensional mixtures by quasi-Monte Carlo.

    ``H = -sum_k w_k E_k[log p(X)]``, with ``X = mu_k + s_k Z`` for ``Z`` at the
    same ``n_points`` scrambled Sobol points for every component and row (a
    fixed ``seed``, so the result is deterministic). The part
    ``E_k[log(w_k N_k(X))]`` is exact; only the overlap term
    ``E_k[log(p(X) / (w_k N_k(X)))]`` is averaged over the points.

    Parameters
    ----------
    weights : ndarray of shape (n, K)
    means, scales : ndarray of shape (n, K, D)
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
    z = ndtri(qmc.Sobol(D, scramble=True, seed=seed).random(n_points))  # (M, D)
    # centred on each row's mean, so the expanded quadratic form below keeps
    # its precision for targets far from zero
    mu = means - np.einsum("nk,nkd->nd", weights, means)[:, None, :]
    prec = 1.0 / scales**2
    log_w = log_weights(weights)
    log_norm = -np.log(scales).sum(-1) - 0.5 * D * LOG_2PI  # (n, K)
    # log(w_j N_j(x)) = c_j + [x**2, x] @ A_j: one matrix product per block
    A = np.concatenate([-0.5 * prec, mu * prec], axis=2).transpose(0, 2, 1)
    c = log_w + log_norm - 0.5 * (mu * mu * prec).sum(-1)
    own = -0.5 * (z * z).sum(-1)  # log N_k(X) - log_norm_k, for X = mu_k + s_k z
    overlap = np.zeros((n, K))
    step = max(1, _QUAD_BLOCK // (n_points * K * K))
    for start in range(0, n, step):
        rows = slice(start, start + step)
        x = mu[rows, :, None, :] + scales[rows, :, None, :] * z  # (r, K, M, D)
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


# ---------------------------------------------------------------- 1-D basics


def cdf_sf_pdf(w, mu, s, x):
    """Mixture cdf, survival function and density at ``x`` of shape (P,)."""
    z = (x[:, None] - mu) / s
    cdf = (w * ndtr(z)).sum(1)
    sf = (w * ndtr(-z)).sum(1)
    pdf = (w * np.exp(-0.5 * z * z) / s).sum(1) * _INV_SQRT_2PI
    return cdf, sf, pdf


def logpdf_and_grad(w, mu, s, x):
    """Log-density and its derivative ``d log p / dx`` at ``x`` of shape (P,)."""
    z = (x[:, None] - mu) / s
    with np.errstate(divide="ignore"):
        logc = np.log(w) - 0.5 * z * z - np.log(s) - 0.5 * _LOG_2PI
    logp = logsumexp(logc, axis=1)
    r = np.exp(logc - logp[:, None])
    grad = -(r * z / s).sum(1)
    return logp, grad


def _ndtr(z):
    """Evaluate the standard normal cdf with torch's vectorised ``erfc``.

    Several times faster than ``scipy.special.ndtr``, and as accurate in the
    lower tail.
    """
    out = torch.special.erfc(torch.from_numpy(z) * -_SQRT_HALF)
    return out.numpy() * 0.5


def ppf(w, mu, s, q):
    """Quantiles of 1-D mixtures: ``x`` with ``cdf(x) == q`` for ``q`` in (0, 1).

    Problems above the median are mirrored (``x -> -x``, ``q -> 1 - q``), so
    every solve works in a lower tail with full relative precision. Newton
    steps on ``log cdf(x) = log q``, which converge fast even where the cdf
    is exponentially flat, are safeguarded by bisection inside the bracket of
    the components' own quantiles, which always holds the root.
    """
    return _blocked(_ppf_block, len(q), w, mu, s, q)


def _ppf_block(w, mu, s, q):
    upper = q > 0.5
    sign = np.where(upper, -1.0, 1.0)[:, None]
    mu = mu * sign
    q = np.where(upper, 1.0 - q, q)  # exact for q in [0.5, 1]
    log_q = np.log(q)
    comp_q = mu + s * ndtri(q)[:, None]
    lo, hi = comp_q.min(1), comp_q.max(1)
    x = np.clip((w * comp_q).sum(1), lo, hi)
    tol = 1e-14 * (np.abs(mu).max(1) + s.min(1))
    inv_s = 1.0 / s
    w_pdf = w * inv_s * _INV_SQRT_2PI
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    log_s = np.log(s)
    active = np.arange(len(q))
    for _ in range(200):
        if active.size == 0:
            break
        # a view, not a gather, while nothing has converged yet
        sel = slice(None) if active.size == len(q) else active
        xa, wa, mua, inv_sa = x[sel], w[sel], mu[sel], inv_s[sel]
        z = xa[:, None] - mua
        z *= inv_sa
        t = torch.from_numpy(z).mul(-_SQRT_HALF)
        torch.special.erfc(t, out=t)
        phi = t.numpy()
        phi *= wa
        cdf = 0.5 * phi.sum(1)
        np.square(z, out=phi)
        phi *= -0.5
        np.exp(phi, out=phi)
        phi *= w_pdf[sel]
        pdf = phi.sum(1)
        with np.errstate(divide="ignore"):
            log_cdf, log_pdf = np.log(cdf), np.log(pdf)
        tiny = (cdf < 1e-280) | (pdf < 1e-280)
        if tiny.any():  # deep tails: the same quantities from log_ndtr
            lw, zt, ls = log_w[sel][tiny], z[tiny], log_s[sel][tiny]
            log_cdf[tiny] = logsumexp(lw + log_ndtr(zt), axis=1)
            log_pdf[tiny] = logsumexp(lw - 0.5 * zt * zt - ls, axis=1) - (
                0.5 * _LOG_2PI
            )
        h = log_cdf - log_q[active]  # increases with x, zero at the quantile
        lo_a = np.where(h < 0, xa, lo[active])
        hi_a = np.where(h > 0, xa, hi[active])
        with np.errstate(over="ignore", invalid="ignore"):
            newton = xa - h * np.exp(log_cdf - log_pdf)
        ok = np.isfinite(newton) & (newton > lo_a) & (newton < hi_a)
        x_new = np.where(ok, newton, 0.5 * (lo_a + hi_a))
        x_new = np.where(h == 0, xa, x_new)
        done = (np.abs(x_new - xa) <= tol[active]) | (h == 0) | (hi_a - lo_a <= 0)
        x[active], lo[active], hi[active] = x_new, lo_a, hi_a
        active = active[~done]
    return x * sign[:, 0]


# --------------------------------------------------------------------- modes


def find_modes(w, mu, s, max_iter=500):
    """Hill-climb the mixture density from every component mean.

    Each start moves by Newton steps on the log-density when they go uphill
    and by the mean-shift (fixed-point) step otherwise, which always does.

    Parameters
    ----------
    w : ndarray of shape (n, K)
    mu, s : ndarray of shape (n, K, D)
        Component means and standard deviations (diagonal).
    max_iter : int
        Iteration cap.

    Returns
    -------
    x : ndarray of shape (n, K, D)
        The local maximum reached from each component mean.
    logp : ndarray of shape (n, K)
        Log-density there.
    """
    n, _, D = mu.shape
    with np.errstate(divide="ignore"):
        logw = np.log(w)
    prec = 1.0 / s**2
    log_norm = -np.log(s).sum(-1) - 0.5 * D * _LOG_2PI  # (n, K)

    def evaluate(x, rows):
        # log-density, responsibilities at x (m, J, D) for the given rows
        z = (x[:, :, None, :] - mu[rows, None]) / s[rows, None]
        logc = logw[rows, None] + log_norm[rows, None] - 0.5 * (z * z).sum(-1)
        logp = logsumexp(logc, axis=2)
        r = np.exp(logc - logp[..., None])
        return logp, r

    x = mu.copy()
    logp, _ = evaluate(x, np.arange(n))
    tol = 1e-12 * s.min(1)[:, None, :]  # (n, 1, D)
    active = np.arange(n)
    for _ in range(max_iter):
        if active.size == 0:
            break
        xa = x[active]
        lpa, r = evaluate(xa, active)
        pr = prec[active, None]  # (m, 1, K, D)
        rp = r[..., None] * pr  # (m, J, K, D)
        shift = (rp * mu[active, None]).sum(2) / rp.sum(2)
        u = (mu[active, None] - xa[:, :, None, :]) * pr  # (m, J, K, D)
        grad = (r[..., None] * u).sum(2)
        hess = np.einsum("mjk,mjkd,mjke->mjde", r, u, u)
        hess -= np.einsum("mjd,mje->mjde", grad, grad)
        hess -= np.einsum("mjk,mkd->mjd", r, prec[active])[..., None] * np.eye(D)
        with np.errstate(all="ignore"):
            try:
                newton = xa - np.linalg.solve(hess, grad[..., None])[..., 0]
            except np.linalg.LinAlgError:
                newton = np.full_like(xa, np.nan)
        newton = np.where(np.isfinite(newton), newton, shift)
        lp_newton, _ = evaluate(newton, active)
        # Uphill, or level within rounding where the log-density is concave
        # (flat tops, where only the gradient still resolves the mode).
        concave = np.linalg.eigvalsh(hess).max(-1) < 0
        slack = 8 * np.finfo(float).eps * np.maximum(np.abs(lpa), 1.0)
        take_newton = (lp_newton > lpa) | (concave & (lp_newton >= lpa - slack))
        x_new = np.where(take_newton[..., None], newton, shift)
        step = np.abs(x_new - xa)
        x[active] = x_new
        done = (step <= tol[active]).all(axis=(1, 2))
        active = active[~done]
    logp, _ = evaluate(x, np.arange(n))
    return x, logp


def unique_modes(x, s):
    """Mark distinct end points of :func:`find_modes` per row.

    Returns
    -------
    first : ndarray of bool, shape (n, K)
        True for the first start that reached each distinct mode.
    label : ndarray of int, shape (n, K)
        Index of the start that represents each start's mode.
    """
    scale = s.min(1)[:, None, None, :]  # (n, 1, 1, D)
    close = (np.abs(x[:, :, None, :] - x[:, None, :, :]) <= 1e-5 * scale).all(-1)
    label = close.argmax(2)  # first start within reach
    first = label == np.arange(x.shape[1])
    return first, label


def antimodes(w, mu, s, left, right):
    """Minimum of the 1-D density between neighbouring modes ``left < right``.

    Bisection on the sign of ``d log p / dx``, which is negative just right of
    a mode and positive just left of the next one.
    """
    lo, hi = left.copy(), right.copy()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        _, g = logpdf_and_grad(w, mu, s, mid)
        lo = np.where(g < 0, mid, lo)
        hi = np.where(g < 0, hi, mid)
        if (hi - lo <= 1e-14 * (np.abs(hi) + s.min(1))).all():
            break
    return 0.5 * (lo + hi)


def sorted_critical_points(w, mu, s):
    """Modes and antimodes of 1-D mixtures, padded to a fixed count.

    Returns
    -------
    modes : ndarray of shape (P, K)
        Distinct modes in increasing order; rows with fewer than ``K`` modes
        repeat their last mode.
    n_modes : ndarray of shape (P,)
    anti : ndarray of shape (P, K - 1)
        The density minimum between consecutive modes (equal to the mode
        where the padding repeats it).
    """
    P, K = w.shape
    x, _ = find_modes(w, mu[..., None], s[..., None])
    first, _ = unique_modes(x, s[..., None])
    pos = np.where(first, x[..., 0], np.inf)
    pos.sort(axis=1)
    n_modes = first.sum(1)
    last = pos[np.arange(P), n_modes - 1]
    modes = np.where(np.isfinite(pos), pos, last[:, None])
    if K == 1:
        return modes, n_modes, np.empty((P, 0))
    left, right = modes[:, :-1], modes[:, 1:]
    flat = antimodes(
        np.repeat(w, K - 1, axis=0),
        np.repeat(mu, K - 1, axis=0),
        np.repeat(s, K - 1, axis=0),
        left.ravel(),
        right.ravel(),
    ).reshape(P, K - 1)
    anti = np.where(right > left, flat, left)
    return modes, n_modes, anti


# ----------------------------------------------------------------------- HPD


def _level_root(w, mu, s, a, b, log_level, increasing):
    """Root of ``log p(x) = log_level`` in monotone segments [a, b] (vectorised)."""
    lo, hi = a.copy(), b.copy()
    x = 0.5 * (lo + hi)
    sign = np.where(increasing, 1.0, -1.0)
    for _ in range(200):
        logp, g = logpdf_and_grad(w, mu, s, x)
        h = sign * (logp - log_level)  # increasing in x after the sign flip
        lo = np.where(h < 0, x, lo)
        hi = np.where(h > 0, x, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - (logp - log_level) / g
        ok = np.isfinite(newton) & (newton > lo) & (newton < hi)
        x_new = np.where(ok, newton, 0.5 * (lo + hi))
        if (np.abs(x_new - x) <= 1e-14 * (np.abs(x) + s.min(1))).all():
            x = x_new
            break
        x = x_new
    return x


def hpd_sets(w, mu, s, confidence):
    """Highest-density sets of 1-D mixtures holding mass ``confidence``.

    The density is monotone between consecutive critical points (modes and
    antimodes), so the set ``{p >= level}`` is found segment by segment;
    the level is solved for by the Illinois method on the held mass.

    Returns
    -------
    list of ndarray of shape (m_i, 2)
        Disjoint sorted intervals per problem.
    """
    P, K = w.shape
    modes, _, anti = sorted_critical_points(w, mu, s)
    far_lo = (mu - 40 * s).min(1)
    far_hi = (mu + 40 * s).max(1)
    crit = np.empty((P, 2 * K + 1))
    crit[:, 0], crit[:, -1] = far_lo, far_hi
    crit[:, 1:-1:2] = modes
    crit[:, 2:-1:2] = anti
    seg_a, seg_b = crit[:, :-1], crit[:, 1:]
    n_seg = 2 * K
    increasing = np.tile(np.arange(n_seg) % 2 == 0, (P, 1))

    rep = lambda a: np.repeat(a, n_seg, axis=0)
    W, MU, S = rep(w), rep(mu), rep(s)
    A, B, INC = seg_a.ravel(), seg_b.ravel(), increasing.ravel()
    logp_a, _ = logpdf_and_grad(W, MU, S, A)
    logp_b, _ = logpdf_and_grad(W, MU, S, B)
    F_a, _, _ = cdf_sf_pdf(W, MU, S, A)
    F_b, _, _ = cdf_sf_pdf(W, MU, S, B)
    top = np.where(INC, logp_b, logp_a)  # density at the segment's high end
    bottom = np.where(INC, logp_a, logp_b)

    def pieces(log_level):
        level = np.repeat(log_level, n_seg)
        inside = top >= level
        full = inside & (bottom >= level)
        cut = inside & ~full
        root = np.where(cut, _level_root(W, MU, S, A, B, level, INC), A)
        lo = np.where(INC & cut, root, A)
        hi = np.where(~INC & cut, root, B)
        F_root = cdf_sf_pdf(W, MU, S, root)[0]
        mass = np.where(
            full,
            F_b - F_a,
            np.where(cut, np.where(INC, F_b - F_root, F_root - F_a), 0.0),
        )
        return mass.reshape(P, n_seg).sum(1), lo, hi, inside

    # Illinois (regula falsi) on the held mass as a function of log level.
    peak = np.max(np.where(INC, logp_b, logp_a).reshape(P, n_seg), axis=1)
    x0 = peak.copy()  # mass 0 at the peak
    x1 = peak - 60.0  # practically all the mass
    f0 = -confidence * np.ones(P)
    f1 = pieces(x1)[0] - confidence
    for _ in range(100):
        with np.errstate(divide="ignore", invalid="ignore"):
            x2 = x1 - f1 * (x1 - x0) / (f1 - f0)
        x2 = np.where(np.isfinite(x2), x2, 0.5 * (x0 + x1))
        f2 = pieces(x2)[0] - confidence
        straddle = np.sign(f2) != np.sign(f1)
        x0 = np.where(straddle, x1, x0)
        f0 = np.where(straddle, f1, 0.5 * f0)
        x1, f1 = x2, f2
        if (np.abs(f1) < 1e-12).all():
            break
    _, lo, hi, inside = pieces(x1)
    lo, hi, inside = (
        lo.reshape(P, n_seg),
        hi.reshape(P, n_seg),
        inside.reshape(P, n_seg),
    )
    out = []
    for i in range(P):
        merged = []
        for a, b in zip(lo[i, inside[i]], hi[i, inside[i]], strict=True):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        out.append(np.array(merged, dtype=np.float64).reshape(-1, 2))
    return out


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
