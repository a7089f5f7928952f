"""The mixture head: output layout, scale transform, reference and fused losses.

A network's last layer has ``K * (1 + 2 * D)`` outputs: ``K`` mixing logits,
``K * D`` means and ``K * D`` raw scales, in that order. A component's
standard deviation is ``softplus(raw) + min_scale`` (standardised target
units). This module is the only place that knows that layout: the trunk
(:mod:`skmdn._network`) sees only "n outputs, and a gradient at the outputs",
and the numpy mixture maths (:mod:`skmdn._numerics`) sees only weights, means
and scales.
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass

import numpy as np
import torch

from skmdn._numerics import LOG_2PI, inverse_softplus, softplus


def component_log_prob(loc, scale, y):
    """Log-density of ``y`` under each diagonal Gaussian component (torch).

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
    """Log-density of ``y`` under each row's mixture: the torch reference.

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


@dataclass(frozen=True)
class MixtureHead:
    """Layout and transforms of the mixture head.

    Parameters
    ----------
    n_components : int
        Number of mixture components ``K``.
    n_outputs : int
        Number of targets ``D``.
    min_scale : float
        Floor added to every component scale (standardised target units).
    """

    n_components: int
    n_outputs: int
    min_scale: float

    @property
    def width(self):
        """Number of network outputs: ``K`` logits, ``K*D`` means, ``K*D`` scales."""
        return self.n_components * (1 + 2 * self.n_outputs)

    def split(self, out):
        """Split outputs ``(..., width)`` into logits, means and raw scales.

        Works on torch tensors and numpy arrays alike.
        """
        K, D = self.n_components, self.n_outputs
        lead = out.shape[:-1]
        logits = out[..., :K]
        loc = out[..., K : K + K * D].reshape(*lead, K, D)
        raw_scale = out[..., K + K * D :].reshape(*lead, K, D)
        return logits, loc, raw_scale

    def params(self, out):
        """Logits ``(..., K)``, means and scales ``(..., K, D)`` from torch outputs."""
        logits, loc, raw = self.split(out)
        return logits, loc, torch.nn.functional.softplus(raw) + self.min_scale

    def params_numpy(self, out):
        """:meth:`params` for numpy outputs (the fast CPU prediction path)."""
        logits, loc, raw = self.split(out)
        return logits, loc, softplus(raw) + self.min_scale

    def init_bias(self, loc, scale):
        """Output bias that starts every row at the given mixture.

        Parameters
        ----------
        loc : ndarray of shape (K, D)
            Initial component means (standardised units).
        scale : ndarray of shape (K, D)
            Initial component scales (standardised units), above ``min_scale``.

        Returns
        -------
        ndarray of shape (width,)
            Zero logits (uniform mixing proportions), the means, and the raw
            scales that the scale transform maps to ``scale``.
        """
        K = self.n_components
        raw = inverse_softplus(np.asarray(scale, dtype=np.float64) - self.min_scale)
        return np.concatenate([np.zeros(K), np.ravel(loc), raw.ravel()])

    def reexpress_outputs(
        self, coefs, intercepts, old_loc, old_scale, new_loc, new_scale
    ):
        """Rewrite the head's layer in place for targets standardised anew.

        The means are affine in the head's outputs, so they are re-expressed
        exactly: ``mu_new = mu_old * r + (old_loc - new_loc) / new_scale`` with
        ``r = old_scale / new_scale``. The scales become
        ``softplus(raw + log r) + min_scale``, which is ``r`` times the old
        scale where the softplus is exponential (small scales) and a
        first-order approximation elsewhere.
        """
        K, D = self.n_components, self.n_outputs
        W, b = coefs[-1].astype(np.float64), intercepts[-1].astype(np.float64)
        ratio = old_scale / new_scale
        loc_cols = np.arange(K * D) + K  # component-major: k * D + d
        raw_cols = loc_cols + K * D
        per_col = np.tile(ratio, K)
        shift = np.tile((old_loc - new_loc) / new_scale, K)
        W[:, loc_cols] *= per_col
        b[loc_cols] = b[loc_cols] * per_col + shift
        b[raw_cols] += np.log(per_col)
        coefs[-1][...] = W
        intercepts[-1][...] = b

    def log_prob(self, out, y):
        """Log-density of ``y`` (n, D) under the mixtures of outputs (n, width)."""
        return log_prob(*self.params(out), y)

    def loss_and_grad(self, out_t, y_t, coef):
        """Weighted NLL of a batch and its gradient with respect to the outputs.

        The fused training path. With the responsibilities
        ``gamma = softmax_k(log pi_k + log N_k)``, the gradient of ``log p(y)``
        is, in closed form, ``d/da = gamma - pi`` for the logits,
        ``d/dmu = gamma z / sigma`` and
        ``d/dr = gamma (z**2 - 1) / sigma * sigmoid(r)`` with
        ``z = (y - mu) / sigma``: one pass gives the loss and the gradient,
        without an autograd graph.

        Everything is laid out component-major (rows of the transposed
        outputs), so that every slice is contiguous: strided element-wise
        kernels are several times slower on the CPU.

        Parameters
        ----------
        out_t : Tensor of shape (..., width, n)
            Raw outputs, transposed (rows in the order of :meth:`split`);
            leading axes (e.g. one per network) are batch axes.
        y_t : Tensor of shape (..., D, n)
            Targets, transposed.
        coef : Tensor of shape (..., n)
            Per-row weight of the loss, ``w_i / sum(w)``.

        Returns
        -------
        loss : Tensor of shape (...)
            ``-sum_i coef_i log p(y_i)``.
        grad_t : Tensor of shape (..., width, n)
            Gradient of ``loss`` with respect to ``out_t``.
        """
        D, n = y_t.shape[-2:]
        lead = out_t.shape[:-2]
        K = self.n_components
        KD = K * D
        logits = out_t[..., :K, :]
        loc = out_t[..., K : K + KD, :].view(*lead, K, D, n)
        raw = out_t[..., K + KD :, :].view(*lead, K, D, n)
        scale = torch.nn.functional.softplus(raw).add_(self.min_scale)
        inv = scale.reciprocal()
        z = (y_t.unsqueeze(-3) - loc).mul_(inv)
        if D == 1:
            half_sq = (z * z).view(*lead, K, n)
            log_scale = scale.log().view(*lead, K, n)
        else:
            half_sq = (z * z).sum(-2)
            log_scale = scale.log().sum(-2)
        # softmax of the logits and of the joint log-densities, by hand: the
        # built-in logsumexp and log_softmax cost several small kernels each
        a_max = logits.amax(-2, keepdim=True)
        shifted = logits - a_max
        joint = shifted - log_scale
        joint.sub_(half_sq, alpha=0.5)  # log pi_k + log N_k + const(row)
        exp_a = shifted.exp_()
        sum_a = exp_a.sum(-2, keepdim=True)
        j_max = joint.amax(-2, keepdim=True)
        exp_j = joint.sub_(j_max).exp_()
        sum_j = exp_j.sum(-2, keepdim=True)
        ll = (sum_j / sum_a).log_().add_(j_max)  # log p(y) + 0.5 * D * log(2 pi)
        coef_row = coef.unsqueeze(-2)
        if lead:
            weighted = (coef_row * ll).sum((-2, -1))
        else:  # one network: a single dot product
            weighted = torch.dot(coef, ll.view(n))
        loss = 0.5 * D * LOG_2PI * coef.sum(-1) - weighted
        grad_t = torch.empty_like(out_t)
        exp_a.mul_(coef_row / sum_a)  # coef * pi
        exp_j.mul_(coef_row / sum_j)  # coef * gamma
        torch.sub(exp_a, exp_j, out=grad_t[..., :K, :])
        g = exp_j.view(*lead, K, 1, n) * inv  # coef * gamma / sigma
        grad_loc = grad_t[..., K : K + KD, :].view(*lead, K, D, n)
        torch.mul(g, z, out=grad_loc).neg_()
        g.mul_(torch.sigmoid(raw))
        grad_raw = grad_t[..., K + KD :, :].view(*lead, K, D, n)
        torch.mul(g, z.mul_(z).sub_(1.0), out=grad_raw).neg_()
        return loss, grad_t
