"""The mixture head: output layout, scale transform, reference and fused losses.

A network's last layer has ``K * (1 + D + P)`` outputs: ``K`` mixing logits,
``K * D`` means and ``K * P`` raw covariance parameters, in that order, each
block component-major. ``P`` depends on the covariance type:

- ``'diagonal'``: ``P = D`` raw scales; a component's standard deviation of
  target ``d`` is ``softplus(raw) + min_scale`` (standardised target units);
- ``'spherical'``: ``P = 1``, one such scale shared by the targets;
- ``'full'``: ``P = D (D + 1) / 2``: first the ``K * D`` raw diagonals of the
  lower Cholesky factors (``softplus(raw) + min_scale``, as the diagonal
  scales), then the ``K * D (D - 1) / 2`` entries below the diagonal, free,
  row by row (``(1, 0), (2, 0), (2, 1), (3, 0), ...``). With those entries
  zero it is the diagonal head, output for output.

This module is the only place that knows that layout: the trunk
(:mod:`skmdn._network`) sees only "n outputs, and a gradient at the outputs",
and the numpy mixture maths (:mod:`skmdn._mixture`) sees only weights, means
and scales or Cholesky factors.
"""

# SPDX-License-Identifier: BSD-3-Clause

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from skmdn._mixture.component import LOG_2PI
from skmdn._mixture.outputs import inverse_softplus, softplus


def component_log_prob(loc, cov, y):
    """Log-density of ``y`` under each Gaussian component (torch).

    Parameters
    ----------
    loc : Tensor of shape (n, K, D)
        Component means.
    cov : Tensor of shape (n, K, D) or (n, K, D, D)
        Component standard deviations, positive, or lower Cholesky factors
        with a positive diagonal.
    y : Tensor of shape (n, D)
        Targets.

    Returns
    -------
    Tensor of shape (n, K)
        ``log N(y; loc_k, Sigma_k)`` for every row and component.
    """
    r = y.unsqueeze(-2) - loc
    if cov.dim() == loc.dim() + 1:  # Cholesky factors: one triangular solve
        z = torch.linalg.solve_triangular(cov, r.unsqueeze(-1), upper=False)[..., 0]
        log_det = torch.diagonal(cov, dim1=-2, dim2=-1).log().sum(-1)
    else:
        z = r / cov
        log_det = cov.log().sum(-1)
    return -0.5 * (z * z).sum(-1) - log_det - 0.5 * y.shape[-1] * LOG_2PI


def log_prob(logits, loc, cov, y):
    """Log-density of ``y`` under each row's mixture: the torch reference.

    Parameters
    ----------
    logits : Tensor of shape (n, K)
        Unnormalised log mixing proportions.
    loc : Tensor of shape (n, K, D)
        Component means.
    cov : Tensor of shape (n, K, D) or (n, K, D, D)
        Component standard deviations or Cholesky factors.
    y : Tensor of shape (n, D)
        Targets.

    Returns
    -------
    Tensor of shape (n,)
        ``log sum_k softmax(logits)_k N(y; loc_k, Sigma_k)``, computed with
        ``log_softmax`` and ``logsumexp`` so that it never under- or overflows.
    """
    log_weights = torch.log_softmax(logits, dim=-1)
    return torch.logsumexp(log_weights + component_log_prob(loc, cov, y), dim=-1)


def _nll_and_logit_grad(logits, sq, log_det, coef, D, grad_logits):
    """Compute the mixture's share of the fused loss: NLL and logits' gradient.

    With ``joint_k = log pi_k + log N_k`` and the responsibilities
    ``gamma = softmax_k(joint)``, ``d log p / d a_k = gamma_k - pi_k``.

    Parameters
    ----------
    logits : Tensor of shape (..., K, n)
    sq : Tensor of shape (..., K, n)
        Squared norm of each component's whitened residual, ``|z|**2``.
    log_det : Tensor of shape (..., K, n)
        ``log sqrt(det Sigma_k)``.
    coef : Tensor of shape (..., n)
        Per-row weight of the loss.
    D : int
        Number of targets.
    grad_logits : Tensor of shape (..., K, n)
        Written with the gradient of the loss with respect to the logits.

    Returns
    -------
    loss : Tensor of shape (...)
        ``-sum_i coef_i log p(y_i)``.
    g : Tensor of shape (..., K, n)
        ``coef * gamma``: each component's weight in the gradients of its
        own parameters.
    """
    lead = logits.shape[:-2]
    n = logits.shape[-1]
    # softmax of the logits and of the joint log-densities, by hand: the
    # built-in logsumexp and log_softmax cost several small kernels each
    a_max = logits.amax(-2, keepdim=True)
    shifted = logits - a_max
    joint = shifted - log_det
    joint.sub_(sq, alpha=0.5)  # log pi_k + log N_k + const(row)
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
    exp_a.mul_(coef_row / sum_a)  # coef * pi
    exp_j.mul_(coef_row / sum_j)  # coef * gamma
    torch.sub(exp_a, exp_j, out=grad_logits)
    return loss, exp_j


@functools.lru_cache
def _strict_lower(D):
    """Return the entries below the diagonal of a ``D x D`` factor, in output order.

    Returns their rows and columns (row by row: ``(1, 0), (2, 0), (2, 1),
    ...``), and for each column ``d`` the output positions of ``(j, d)``,
    ``j > d``: lists, computed once per ``D`` (the training step reads them).
    """
    rows, cols = (a.tolist() for a in np.tril_indices(D, -1))
    column = [[j * (j - 1) // 2 + d for j in range(d + 1, D)] for d in range(D)]
    return rows, cols, column


def _sum_targets(a):
    """Sum ``(..., K, D, n)`` over the targets; a view when ``D == 1``."""
    return a.squeeze(-2) if a.shape[-2] == 1 else a.sum(-2)


def _tril_from(diag, off, rows, cols):
    """Build lower-triangular ``(..., K, D, D)`` from diagonals and the rest."""
    D = diag.shape[-1]
    if isinstance(diag, torch.Tensor):
        tril = diag.new_zeros(*diag.shape, D)
    else:
        tril = np.zeros((*diag.shape, D), dtype=diag.dtype)
    idx = list(range(D))
    tril[..., idx, idx] = diag
    tril[..., rows, cols] = off
    return tril


@dataclass(frozen=True)
class MixtureHead:
    """Layout and transforms of the mixture head, for diagonal covariances.

    The subclasses :class:`SphericalHead` and :class:`FullHead` change only
    the covariance parameters; :func:`make_head` picks one by name.

    Parameters
    ----------
    n_components : int
        Number of mixture components ``K``.
    n_outputs : int
        Number of targets ``D``.
    min_scale : float
        Floor added to every component scale (to the diagonal of the
        Cholesky factor for full covariances), in standardised target units.
    """

    n_components: int
    n_outputs: int
    min_scale: float

    covariance_type: ClassVar[str] = "diagonal"

    @property
    def n_cov(self):
        """Raw covariance outputs per component, ``P``."""
        return self.n_outputs

    @property
    def width(self):
        """Number of network outputs: ``K`` logits, ``K*D`` means, ``K*P`` raw."""
        return self.n_components * (1 + self.n_outputs + self.n_cov)

    def split(self, out):
        """Split outputs ``(..., width)`` into logits, means and raw covariance outputs.

        Works on torch tensors and numpy arrays alike. The raw outputs are
        returned flat, ``(..., K * P)``.
        """
        K, D = self.n_components, self.n_outputs
        lead = out.shape[:-1]
        logits = out[..., :K]
        loc = out[..., K : K + K * D].reshape(*lead, K, D)
        return logits, loc, out[..., K + K * D :]

    def _cov(self, raw, softplus_):
        """Covariance parameters from the flat raw outputs: scales ``(..., K, D)``."""
        K, D = self.n_components, self.n_outputs
        return softplus_(raw.reshape(*raw.shape[:-1], K, D)) + self.min_scale

    def params(self, out):
        """Logits ``(..., K)``, means ``(..., K, D)`` and covariance parameters.

        From torch outputs; the covariance parameters are the scales
        ``(..., K, D)`` or, for full covariances, the Cholesky factors
        ``(..., K, D, D)``.
        """
        logits, loc, raw = self.split(out)
        return logits, loc, self._cov(raw, torch.nn.functional.softplus)

    def params_numpy(self, out):
        """:meth:`params` for numpy outputs (the fast CPU prediction path)."""
        logits, loc, raw = self.split(out)
        return logits, loc, self._cov(raw, softplus)

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
            outputs that the transform maps to ``scale`` (spherical: the
            geometric mean over the targets; full: a diagonal factor).
        """
        K = self.n_components
        scale = np.asarray(scale, dtype=np.float64)
        return np.concatenate([np.zeros(K), np.ravel(loc), self._init_raw(scale)])

    def _init_raw(self, scale):
        """Raw covariance outputs (flat) that the transform maps to ``scale``."""
        return inverse_softplus(scale - self.min_scale).ravel()

    def reexpress_outputs(
        self, coefs, intercepts, old_loc, old_scale, new_loc, new_scale
    ):
        """Rewrite the head's layer in place for targets standardised anew.

        The means are affine in the head's outputs, so they are re-expressed
        exactly: ``mu_new = mu_old * r + (old_loc - new_loc) / new_scale`` with
        ``r = old_scale / new_scale``. The scales become
        ``softplus(raw + log r) + min_scale``, which is ``r`` times the old
        scale where the softplus is exponential (small scales) and a
        first-order approximation elsewhere. (Spherical: ``r`` is the
        geometric mean over the targets; full: the entries below the
        diagonal of row ``d`` are multiplied by ``r_d``, exactly.)
        """
        K, D = self.n_components, self.n_outputs
        W, b = coefs[-1].astype(np.float64), intercepts[-1].astype(np.float64)
        ratio = old_scale / new_scale
        loc_cols = np.arange(K * D) + K  # component-major: k * D + d
        per_col = np.tile(ratio, K)
        shift = np.tile((old_loc - new_loc) / new_scale, K)
        W[:, loc_cols] *= per_col
        b[loc_cols] = b[loc_cols] * per_col + shift
        self._reexpress_raw(W, b, K + K * D, ratio)
        coefs[-1][...] = W
        intercepts[-1][...] = b

    def _reexpress_raw(self, W, b, first, ratio):
        K, D = self.n_components, self.n_outputs
        b[first : first + K * D] += np.log(np.tile(ratio, K))

    def log_prob(self, out, y, scale_factor=1.0):
        """Log-density of ``y`` (n, D) under the mixtures of outputs (n, width).

        ``scale_factor`` multiplies every component's scale (Cholesky
        factor), as a calibrated network's prediction does.
        """
        logits, loc, cov = self.params(out)
        return log_prob(logits, loc, cov * scale_factor, y)

    def loss_and_grad(self, out_t, y_t, coef):
        """Weighted NLL of a batch and its gradient with respect to the outputs.

        The fused training path. With the responsibilities
        ``gamma = softmax_k(log pi_k + log N_k)``, the gradient of ``log p(y)``
        is, in closed form, ``d/da = gamma - pi`` for the logits and
        ``gamma`` times the gradient of ``log N_k`` for component ``k``'s
        parameters: for diagonal scales, ``d/dmu = z / sigma`` and
        ``d/dr = (z**2 - 1) / sigma * sigmoid(r)`` with
        ``z = (y - mu) / sigma``. One pass gives the loss and the gradient,
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
        loc = out_t[..., K : K + KD, :].view(*lead, K, D, n)
        raw = out_t[..., K + KD :, :]
        grad_t = torch.empty_like(out_t)
        sq, log_det, state = self._whiten_t(loc, raw, y_t)
        loss, g = _nll_and_logit_grad(
            out_t[..., :K, :], sq, log_det, coef, D, grad_t[..., :K, :]
        )
        self._grad_t(
            g,
            state,
            grad_t[..., K : K + KD, :].view(*lead, K, D, n),
            grad_t[..., K + KD :, :],
        )
        return loss, grad_t

    def _whiten_t(self, loc, raw, y_t):
        """Return ``|z|**2``, ``log sqrt(det Sigma)`` (..., K, n) and a state.

        ``loc`` is (..., K, D, n), ``raw`` the transposed raw outputs
        (..., K * P, n) and ``y_t`` (..., D, n).
        """
        K, D = self.n_components, self.n_outputs
        lead, n = loc.shape[:-3], loc.shape[-1]
        raw = raw.view(*lead, K, D, n)
        scale = torch.nn.functional.softplus(raw).add_(self.min_scale)
        inv = scale.reciprocal()
        z = (y_t.unsqueeze(-3) - loc).mul_(inv)
        return _sum_targets(z * z), _sum_targets(scale.log()), (raw, inv, z)

    def _grad_t(self, g, state, grad_loc, grad_raw):
        """Write the means' and raw outputs' gradients, given ``g = coef * gamma``."""
        raw, inv, z = state
        lead, (K, n) = g.shape[:-2], g.shape[-2:]
        g = g.view(*lead, K, 1, n) * inv  # coef * gamma / sigma
        torch.mul(g, z, out=grad_loc).neg_()
        g.mul_(torch.sigmoid(raw))
        grad_raw = grad_raw.view(raw.shape)
        torch.mul(g, z.mul_(z).sub_(1.0), out=grad_raw).neg_()


@dataclass(frozen=True)
class SphericalHead(MixtureHead):
    """One scale per component, shared by the (standardised) targets.

    ``Sigma_k = sigma_k**2 I`` in standardised units, so
    ``diag(s_y**2) sigma_k**2`` in the original ones: a diagonal
    distribution whose targets' scales keep the ratio of the data's.
    """

    covariance_type: ClassVar[str] = "spherical"

    @property
    def n_cov(self):
        """One raw scale per component."""
        return 1

    def _cov(self, raw, softplus_):
        scale = softplus_(raw) + self.min_scale  # (..., K)
        lead = scale.shape
        if isinstance(scale, torch.Tensor):
            return scale.unsqueeze(-1).expand(*lead, self.n_outputs)
        return np.broadcast_to(scale[..., None], (*lead, self.n_outputs))

    def _init_raw(self, scale):
        # the geometric mean of each component's scales
        return super()._init_raw(np.exp(np.log(scale).mean(-1)))

    def _reexpress_raw(self, W, b, first, ratio):
        b[first : first + self.n_components] += np.log(ratio).mean()

    def _whiten_t(self, loc, raw, y_t):
        K, D = self.n_components, self.n_outputs
        lead, n = loc.shape[:-3], loc.shape[-1]
        raw = raw.view(*lead, K, 1, n)
        scale = torch.nn.functional.softplus(raw).add_(self.min_scale)
        inv = scale.reciprocal()
        z = (y_t.unsqueeze(-3) - loc).mul_(inv)
        sq = _sum_targets(z * z)
        log_det = scale.log().view(*lead, K, n).mul_(D)
        return sq, log_det, (raw, inv, z, sq)

    def _grad_t(self, g, state, grad_loc, grad_raw):
        # d log N / d mu = z / sigma; d log N / d sigma = (|z|**2 - D) / sigma
        raw, inv, z, sq = state
        lead, (K, n) = g.shape[:-2], g.shape[-2:]
        g = g.view(*lead, K, 1, n) * inv
        torch.mul(g, z, out=grad_loc).neg_()
        g.mul_(torch.sigmoid(raw))
        grad_raw = grad_raw.view(raw.shape)
        torch.mul(g, sq.view(raw.shape).sub(self.n_outputs), out=grad_raw).neg_()


@dataclass(frozen=True)
class FullHead(MixtureHead):
    """Full covariances through lower Cholesky factors with a positive diagonal.

    The log-density is ``-|z|**2 / 2 - sum_d log L_dd - D log(2 pi) / 2``
    with ``z = L^{-1} (y - mu)`` by forward substitution: no inverse and no
    determinant. With ``v = L^{-T} z`` (back substitution), the gradient of
    ``log N`` is ``v`` for the mean, ``v_d z_j`` for ``L_dj`` below the
    diagonal and ``v_d z_d - 1 / L_dd`` for the diagonal, times
    ``sigmoid(raw)`` for its raw output.
    """

    covariance_type: ClassVar[str] = "full"

    @property
    def n_cov(self):
        """``D`` raw diagonals and ``D (D - 1) / 2`` entries below the diagonal."""
        D = self.n_outputs
        return D * (D + 1) // 2

    def _cov(self, raw, softplus_):
        K, D = self.n_components, self.n_outputs
        lead = raw.shape[:-1]
        diag = softplus_(raw[..., : K * D].reshape(*lead, K, D)) + self.min_scale
        off = raw[..., K * D :].reshape(*lead, K, D * (D - 1) // 2)
        rows, cols, _ = _strict_lower(D)
        return _tril_from(diag, off, rows, cols)

    def _init_raw(self, scale):
        K, D = self.n_components, self.n_outputs
        diagonal = super()._init_raw(scale)
        return np.concatenate([diagonal, np.zeros(K * D * (D - 1) // 2)])

    def _reexpress_raw(self, W, b, first, ratio):
        K, D = self.n_components, self.n_outputs
        super()._reexpress_raw(W, b, first, ratio)
        rows, _, _ = _strict_lower(D)
        off_cols = first + K * D + np.arange(K * len(rows))
        per_col = np.tile(ratio[rows], K)  # row d of the factor scales by r_d
        W[:, off_cols] *= per_col
        b[off_cols] *= per_col

    def _whiten_t(self, loc, raw, y_t):
        K, D = self.n_components, self.n_outputs
        lead, n = loc.shape[:-3], loc.shape[-1]
        KD = K * D
        raw_diag = raw[..., :KD, :].view(*lead, K, D, n)
        off = raw[..., KD:, :].view(*lead, K, D * (D - 1) // 2, n)
        diag = torch.nn.functional.softplus(raw_diag).add_(self.min_scale)
        inv = diag.reciprocal()
        r = y_t.unsqueeze(-3) - loc
        z = torch.empty_like(r)
        for d in range(D):  # forward substitution, z = L^{-1} r
            acc = r[..., d, :]
            if d:
                start = d * (d - 1) // 2  # row d's entries: (d, 0) .. (d, d - 1)
                acc = acc - (off[..., start : start + d, :] * z[..., :d, :]).sum(-2)
            torch.mul(acc, inv[..., d, :], out=z[..., d, :])
        return _sum_targets(z * z), _sum_targets(diag.log()), (raw_diag, off, inv, z)

    def _grad_t(self, g, state, grad_loc, grad_raw):
        raw_diag, off, inv, z = state
        K, D = self.n_components, self.n_outputs
        lead, n = g.shape[:-2], g.shape[-1]
        rows, cols, column = _strict_lower(D)
        v = torch.empty_like(z)
        for d in reversed(range(D)):  # back substitution, v = L^{-T} z
            acc = z[..., d, :]
            if d < D - 1:
                acc = acc - (off[..., column[d], :] * v[..., d + 1 :, :]).sum(-2)
            torch.mul(acc, inv[..., d, :], out=v[..., d, :])
        g = g.view(*lead, K, 1, n)
        torch.mul(g, v, out=grad_loc).neg_()
        KD = K * D
        grad_diag = grad_raw[..., :KD, :].view(*lead, K, D, n)
        # d/dL_dd = v_d z_d - 1 / L_dd, then through softplus
        vz = (v * z).sub_(inv).mul_(torch.sigmoid(raw_diag))
        torch.mul(g, vz, out=grad_diag).neg_()
        if D > 1:
            grad_off = grad_raw[..., KD:, :].view(*lead, K, len(rows), n)
            torch.mul(v[..., rows, :], z[..., cols, :], out=grad_off)
            grad_off.mul_(g).neg_()


_HEADS = {head.covariance_type: head for head in (MixtureHead, SphericalHead, FullHead)}
COVARIANCE_TYPES = tuple(_HEADS)


def make_head(covariance_type, n_components, n_outputs, min_scale):
    """Return the head of a covariance type ('diagonal', 'spherical' or 'full')."""
    return _HEADS[covariance_type](n_components, n_outputs, min_scale)


def _log1mexp(d):
    """``log(1 - exp(d))`` for ``d < 0``, accurate at both ends (Maechler 2012)."""
    return torch.where(d > -0.6931471805599453, (-d.expm1()).log(), (-d.exp()).log1p())


def log_cell_prob(loc, scale, y, half):
    """``log(Phi(b) - Phi(a))`` per component: the mass of each cell (torch).

    ``a = (y - half - loc) / scale`` and ``b = (y + half - loc) / scale``,
    taken on the lower side of the component (reflected through its mean
    when the cell lies above it), where ``log_ndtr`` keeps its precision, and
    summed over the targets (the components are diagonal).

    Parameters
    ----------
    loc, scale : Tensor of shape (..., K, D)
    y : Tensor of shape (..., D)
    half : Tensor of shape (D,)
        Half the width of a cell, in the units of ``y``.

    Returns
    -------
    Tensor of shape (..., K)
    """
    _, _, _, log_cell = _cell_terms(y.unsqueeze(-2) - loc, scale.reciprocal(), half)
    return log_cell.sum(-1)


def _cell_terms(r, inv, half):
    """Return ``upper, a, b, log P`` of cells at residuals ``r = y - mu``.

    ``inv`` is ``1 / sigma`` and ``half`` the half width, broadcasting
    with ``r``. A cell whose centre lies above the mean (``upper``) is
    reflected through it, so that ``a < b`` are on the lower side, where
    ``log_ndtr`` keeps its precision.
    """
    upper = r > 0
    r = torch.where(upper, -r, r)
    a, b = (r - half) * inv, (r + half) * inv
    log_b = torch.special.log_ndtr(b)
    tiny = torch.finfo(r.dtype).tiny
    d = (torch.special.log_ndtr(a) - log_b).clamp_(max=-tiny)
    return upper, a, b, log_b + _log1mexp(d)


@dataclass(frozen=True)
class DiscretisedHead:
    """A head whose targets are integers: the discretised mixture's likelihood.

    ``P(Y = k) = F(k + 1/2) - F(k - 1/2)`` for the continuous mixture ``F``
    of the wrapped head (diagonal or spherical), with the cell's half width
    ``half`` in standardised units (``0.5 / y_scale``). Every method but
    the two losses is the wrapped head's: the layout, the transforms and the
    re-expression are unchanged. The loss is a log-probability, so the
    scaling of the targets has no Jacobian (``log_det = 0``), and it is
    bounded above by 0: a component may shrink onto one integer without
    the likelihood diverging.

    Parameters
    ----------
    base : MixtureHead or SphericalHead
    half : tuple of float
        Per target, half the width of a cell in standardised units.
    """

    base: MixtureHead
    half: tuple

    def __getattr__(self, name):
        if name == "base":  # not set yet (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.base, name)

    def log_prob(self, out, y, scale_factor=1.0):
        """Log-probability of the cells of ``y`` (n, D) under outputs (n, width).

        ``scale_factor`` multiplies every component's scale, as
        :meth:`MixtureHead.log_prob`'s.
        """
        logits, loc, scale = self.base.params(out)
        half = torch.as_tensor(self.half, dtype=out.dtype, device=out.device)
        scale = scale * scale_factor
        joint = torch.log_softmax(logits, dim=-1) + log_cell_prob(loc, scale, y, half)
        return torch.logsumexp(joint, dim=-1)

    def loss_and_grad(self, out_t, y_t, coef):
        """:meth:`MixtureHead.loss_and_grad` for the probabilities of the cells.

        With ``P_kd = Phi(b) - Phi(a)`` (on the lower side of the component,
        as :func:`log_cell_prob`), ``d log P / d r = (phi(b) - phi(a)) /
        (sigma P)`` for the residual ``r`` and ``d log P / d sigma =
        -(b phi(b) - a phi(a)) / (sigma P)``, each ratio computed as the
        exponential of a difference of logs; the logits' gradient and the
        responsibilities are those of the density's loss, with
        ``log P_k`` in place of ``log N_k``.
        """
        base = self.base
        K, D = base.n_components, base.n_outputs
        lead, n = out_t.shape[:-2], out_t.shape[-1]
        KD = K * D
        loc = out_t[..., K : K + KD, :].view(*lead, K, D, n)
        raw = out_t[..., K + KD :, :].view(*lead, K, -1, n)  # (K, D or 1, n)
        half = torch.as_tensor(self.half, dtype=out_t.dtype, device=out_t.device)
        half = half.view(D, 1)
        inv = torch.nn.functional.softplus(raw).add_(base.min_scale).reciprocal_()
        upper, a, b, log_cell = _cell_terms(y_t.unsqueeze(-3) - loc, inv, half)
        grad_t = torch.empty_like(out_t)
        # the mixture's part is the density's, with log P_k for log N_k
        loss, g = _nll_and_logit_grad(
            out_t[..., :K, :],
            torch.zeros((), dtype=out_t.dtype, device=out_t.device),
            -log_cell.sum(-2),
            coef,
            0,
            grad_t[..., :K, :],
        )
        log_norm = log_cell + 0.5 * LOG_2PI
        pa = torch.exp(-0.5 * a * a - log_norm)  # phi(a) / P
        pb = torch.exp(-0.5 * b * b - log_norm)
        g = g.unsqueeze(-2) * inv  # coef * gamma / sigma
        d_r = (pb - pa).mul_(g)
        # the residual is y - mu below the mean and mu - y above it
        grad_loc = grad_t[..., K : K + KD, :].view(*lead, K, D, n)
        torch.where(upper, -d_r, d_r, out=grad_loc)
        d_sigma = (b * pb - a * pa).mul_(g).mul_(torch.sigmoid(raw))
        if raw.shape[-2] == 1 < D:  # spherical: one scale for every target
            d_sigma = d_sigma.sum(-2, keepdim=True)
        grad_t[..., K + KD :, :].view(raw.shape).copy_(d_sigma)
        return loss, grad_t
