"""The density of a changed target, on the scale of ``t``: a tilted Gaussian mixture.

For a target ``y = g^{-1}(t)`` with ``t`` a Gaussian mixture, the density of
``y`` at ``y = g^{-1}(t)`` is ``p_T(t) g'(g^{-1}(t))`` (one factor per
target). Where the Jacobian is a sum of exponentials of ``t``,
``g'(g^{-1}(t)) = sum_j c_j e^{a_j t}`` (:meth:`Change.exp_tilts
<skmdn._mixture.change.Change.exp_tilts>`), each component times each
exponential is again a Gaussian, exactly:

``w N(t; mu, Sigma) c e^{a^T t}``
``= w c e^{a^T mu + a^T Sigma a / 2} N(t; mu + Sigma a, Sigma)``

(complete the square). So ``p_Y(g^{-1}(t)) = e^C q(t)`` for a Gaussian
mixture ``q`` of the same covariances, the *tilted* mixture, and a constant
``C`` per row. Since ``g`` is increasing, ``y`` is a mode of ``p_Y`` exactly
where ``g(y)`` is a mode of ``q``, and ``{y : p_Y(y) >= e^C l} = g^{-1}({t :
q(t) >= l})``, a set whose probability is that of the ``t``-set under the
original mixture on ``t``. ``Log(lower=a)`` has ``g'(g^{-1}(t)) = e^{-t}``
(one tilt per component: means ``mu - Sigma 1``), ``Log(upper=b)`` has
``e^{t}``, and ``Logit(a, b)`` has ``(e^{-t} + 2 + e^{t}) / (b - a)`` (three
tilts per component and target: ``3^D`` per component for ``D`` targets).
"""

# SPDX-License-Identifier: BSD-3-Clause

import itertools

import numpy as np
from scipy.special import logsumexp

from skmdn._mixture.covariance import is_full

# Tilts per component beyond which the modes of several targets are not
# sought (3^D for Logit: D = 3 makes 27 starts per component).
MAX_TILTS = 27


def tilts(change, D):
    """Return the Jacobian of ``D`` targets, ``prod_d g'(y_d)``, as exponentials.

    Returns
    -------
    slopes : ndarray of shape (J, D)
    log_c : ndarray of shape (J,)
        ``prod_d g'(g^{-1}(t_d)) = sum_j exp(log_c[j] + slopes[j] . t)``.

    Raises
    ------
    NotImplementedError
        Where the change gives no such form, or it has more than
        ``MAX_TILTS`` terms for ``D > 1``.
    """
    form = change.exp_tilts()
    if form is None:
        raise NotImplementedError(
            f"The Jacobian of {change!r} is not a sum of exponentials of t: modes "
            "and highest-density sets of the target are not available."
        )
    a, log_c = (np.asarray(v, dtype=np.float64) for v in form)
    if D > 1 and a.size**D > MAX_TILTS:
        raise NotImplementedError(
            f"The modes of {D} targets under {change!r} would climb from "
            f"{a.size**D} tilted copies of every component (at most {MAX_TILTS} "
            "are): use the modes of a marginal, or of fewer targets."
        )
    pick = np.array(list(itertools.product(range(a.size), repeat=D)), dtype=np.intp)
    return a[pick], log_c[pick].sum(1)


def tilted(change, weights, means, cov):
    """Return the tilted mixture ``q`` with ``p_Y(g^{-1}(t)) = e^C q(t)``.

    Parameters
    ----------
    change : Change
        With :meth:`~skmdn._mixture.change.Change.exp_tilts`.
    weights : ndarray of shape (n, K)
    means : ndarray of shape (n, K, D)
    cov : ndarray of shape (n, K, D) or (n, K, D, D)
        Scales (diagonal) or Cholesky factors (full).

    Returns
    -------
    weights, means, cov : ndarray
        Of ``J K`` components, component ``k`` tilted by ``j`` at ``k J + j``;
        the weights sum to one (computed in logs: ``e^{a^T mu}`` overflows).
    log_const : ndarray of shape (n,)
        ``C``.
    share : ndarray of shape (n, J K)
        The weight of component ``k`` split over its tilts in proportion to
        their weights (sums to one per row).
    """
    slopes, log_c = tilts(change, means.shape[2])
    n, K, D = means.shape
    J = slopes.shape[0]
    if is_full(means, cov):
        # L^T a, then Sigma a = L (L^T a)
        lt_a = np.einsum("nkji,tj->nkti", cov, slopes)
        shift = np.einsum("nkij,nktj->nkti", cov, lt_a)
        quad = (lt_a * lt_a).sum(-1)
        new_cov = np.repeat(cov[:, :, None], J, axis=2).reshape(n, K * J, D, D)
    else:
        var = (cov * cov)[:, :, None, :]
        shift = var * slopes
        quad = (shift * slopes).sum(-1)
        new_cov = np.repeat(cov[:, :, None], J, axis=2).reshape(n, K * J, D)
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)[:, :, None]
    log_w = log_w + log_c + (means[:, :, None, :] * slopes).sum(-1) + 0.5 * quad
    log_const = logsumexp(log_w.reshape(n, K * J), axis=1)
    new_w = np.exp(log_w - log_const[:, None, None])
    with np.errstate(invalid="ignore"):
        share = weights[:, :, None] * new_w / new_w.sum(2, keepdims=True)
    share = np.where(np.isfinite(share), share, 0.0)
    new_means = (means[:, :, None, :] + shift).reshape(n, K * J, D)
    return new_w.reshape(n, K * J), new_means, new_cov, log_const, share.reshape(n, -1)
