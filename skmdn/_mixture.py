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
