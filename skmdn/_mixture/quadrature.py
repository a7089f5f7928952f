"""Gauss-Legendre quadrature of 1-D mixtures: expectations and entropies."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from scipy.special import logsumexp

from skmdn._mixture.component import LOG_2PI, at, mixture_pdf, quantile
from skmdn._mixture.covariance import is_full, log_diag_sum
from skmdn._mixture.density import component_logpdf
from skmdn._mixture.outputs import log_weights

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
    cuts = at(mu[:, :, None], s[:, :, None], _QUAD_CUTS).reshape(P, -1)
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
    pdf = mixture_pdf(w, mu, s, x)
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

    def values(rows, x):
        fx = x if func is None else np.asarray(func(x), dtype=np.float64)
        if fx.ndim == 0:  # a constant
            fx = np.broadcast_to(fx, x.shape)
        if fx.shape != x.shape:
            raise ValueError(
                "func must act elementwise: given points of shape "
                f"{x.shape} it returned shape {fx.shape}."
            )
        return fx

    out, mass = integrate(w, mu, s, values, lb, ub)
    if conditional:
        with np.errstate(invalid="ignore", divide="ignore"):
            out /= mass
    return out


def wide_bounds(mu, s, width=16.0):
    """Bounds ``width`` standard deviations beyond every component, per row.

    For functions that grow fast in the tails (the moments of a target under
    a change of variables, such as ``exp(4 t)``), whose mass lies further out
    than the eight standard deviations that :func:`expect` covers.
    """
    return (mu - width * s).min(1), (mu + width * s).max(1)


def integrate(w, mu, s, func, lb, ub):
    """``int_lb^ub f(x) p(x) dx`` and the mass between the bounds, per row.

    The composite rule of :func:`expect`, for a function of the rows too.

    Parameters
    ----------
    w, mu, s : ndarray of shape (P, K)
    func : callable
        ``func(rows, x)``: the values at the nodes ``x`` (m, M) of the rows
        ``rows`` (a slice), an array of the shape of ``x``.
    lb, ub : ndarray of shape (P,)

    Returns
    -------
    out, mass : ndarray of shape (P,)
    """
    out = np.empty(len(w))
    mass = np.empty(len(w))
    for rows, x, weight, _ in _quadrature_blocks(w, mu, s, lb, ub):
        out[rows] = (weight * func(rows, x)).sum(1)
        mass[rows] = weight.sum(1)
    return out, mass


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
    z = quantile(qmc.Sobol(D, scramble=True, seed=seed).random(n_points))  # (M, D)
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
