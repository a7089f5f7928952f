"""Log-likelihood of a diagonal Gaussian mixture, in torch, in log space."""

# SPDX-License-Identifier: BSD-3-Clause

import math

import torch

LOG_2PI = math.log(2.0 * math.pi)


def component_log_prob(loc, scale, y):
    """Log-density of ``y`` under each diagonal Gaussian component.

    Parameters
    ----------
    loc : Tensor of shape (n, K, D)
        Component means.
    scale : Tensor of shape (n, K, D)
        Component standard deviations, positive.
    y : Tensor of shape (n, D)
        Targets.

    Returns
    -------
    Tensor of shape (n, K)
        ``log N(y; loc_k, diag(scale_k**2))`` for every row and component.
    """
    z = (y.unsqueeze(1) - loc) / scale
    return -0.5 * (z * z).sum(-1) - scale.log().sum(-1) - 0.5 * y.shape[-1] * LOG_2PI


def log_prob(logits, loc, scale, y):
    """Log-density of ``y`` under each row's mixture.

    Parameters
    ----------
    logits : Tensor of shape (n, K)
        Unnormalised log mixing proportions.
    loc, scale : Tensor of shape (n, K, D)
        Component means and standard deviations.
    y : Tensor of shape (n, D)
        Targets.

    Returns
    -------
    Tensor of shape (n,)
        ``log sum_k softmax(logits)_k N(y; loc_k, scale_k)``, computed with
        ``log_softmax`` and ``logsumexp`` so that it never under- or overflows.
    """
    log_weights = torch.log_softmax(logits, dim=-1)
    return torch.logsumexp(log_weights + component_log_prob(loc, scale, y), dim=-1)


def weighted_nll(logits, loc, scale, y, weight):
    """Sample-weighted mean negative log-likelihood.

    Parameters
    ----------
    logits, loc, scale, y
        As in :func:`log_prob`.
    weight : Tensor of shape (n,)
        Non-negative sample weights with a positive sum.

    Returns
    -------
    Tensor of shape ()
        ``-sum(weight * log_prob) / sum(weight)``.
    """
    return -(weight * log_prob(logits, loc, scale, y)).sum() / weight.sum()


def nll_and_head_grad(out_t, y_t, coef, n_components, min_scale):
    """Weighted NLL of a batch and its gradient with respect to the head outputs.

    The fused training path. The head's raw outputs are split into mixing
    logits ``a``, means ``mu`` and raw scales ``r`` with
    ``sigma = softplus(r) + min_scale``. With the responsibilities
    ``gamma = softmax_k(log pi_k + log N_k)``, the gradient of ``log p(y)``
    is, in closed form, ``d/da = gamma - pi``, ``d/dmu = gamma z / sigma``
    and ``d/dr = gamma (z**2 - 1) / sigma * sigmoid(r)`` with
    ``z = (y - mu) / sigma``: one pass gives the loss and the gradient,
    without an autograd graph.

    Everything is laid out component-major (rows of the transposed head
    output), so that every slice is contiguous: strided element-wise kernels
    are several times slower on the CPU.

    Parameters
    ----------
    out_t : Tensor of shape (K * (1 + 2 * D), n)
        Raw head outputs, transposed (rows as in :meth:`NetworkLayout.split_head`).
    y_t : Tensor of shape (D, n)
        Targets, transposed.
    coef : Tensor of shape (n,)
        Per-row weight of the loss, ``w_i / sum(w)``.
    n_components : int
        ``K``.
    min_scale : float
        Floor added to the scales.

    Returns
    -------
    loss : Tensor of shape ()
        ``-sum_i coef_i log p(y_i)``.
    grad_t : Tensor of shape (K * (1 + 2 * D), n)
        Gradient of ``loss`` with respect to ``out_t``.
    """
    D, n = y_t.shape
    K = n_components
    KD = K * D
    logits = out_t[:K]
    loc = out_t[K : K + KD].view(K, D, n)
    raw = out_t[K + KD :].view(K, D, n)
    scale = torch.nn.functional.softplus(raw).add_(min_scale)
    inv = scale.reciprocal()
    z = (y_t - loc).mul_(inv)
    if D == 1:
        half_sq = (z * z).view(K, n)
        log_scale = scale.log().view(K, n)
    else:
        half_sq = (z * z).sum(1)
        log_scale = scale.log().sum(1)
    # softmax of the logits and of the joint log-densities, by hand: the
    # built-in logsumexp and log_softmax cost several small kernels each
    a_max = logits.amax(0)
    shifted = logits - a_max
    joint = shifted - log_scale
    joint.sub_(half_sq, alpha=0.5)  # log pi_k + log N_k + const(row)
    exp_a = shifted.exp_()
    sum_a = exp_a.sum(0)
    j_max = joint.amax(0)
    exp_j = joint.sub_(j_max).exp_()
    sum_j = exp_j.sum(0)
    ll = (sum_j / sum_a).log_().add_(j_max)  # log p(y) + 0.5 * D * log(2 pi)
    loss = 0.5 * D * LOG_2PI * coef.sum() - torch.dot(coef, ll)
    grad_t = torch.empty_like(out_t)
    exp_a.mul_(coef / sum_a)  # coef * pi
    exp_j.mul_(coef / sum_j)  # coef * gamma
    torch.sub(exp_a, exp_j, out=grad_t[:K])
    g = exp_j.view(K, 1, n) * inv  # coef * gamma / sigma
    torch.mul(g, z, out=grad_t[K : K + KD].view(K, D, n)).neg_()
    g.mul_(torch.sigmoid(raw))
    torch.mul(g, z.mul_(z).sub_(1.0), out=grad_t[K + KD :].view(K, D, n)).neg_()
    return loss, grad_t
