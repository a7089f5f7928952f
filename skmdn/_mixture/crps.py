"""The continuous ranked probability score of 1-D mixtures, in closed form."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skmdn._mixture import _blocks
from skmdn._mixture.component import INV_SQRT_2PI, cdf, kernel


def _abs_normal_mean(m, v):
    """``E|Z|`` for ``Z ~ N(m, v)``."""
    sd = np.sqrt(v)
    z = m / sd
    return 2 * sd * kernel(z) * INV_SQRT_2PI + m * (2 * cdf(z) - 1)


def crps(w, mu, s, y):
    """Closed-form CRPS of 1-D mixtures at ``y`` (Grimit et al., 2006).

    ``E|X - y| - 0.5 E|X - X'|`` with ``X, X'`` independent draws from the
    mixture; both expectations are sums of folded-normal means.
    """
    return _blocks.blocked(_crps_block, len(y), w, mu, s, y)


def _crps_block(w, mu, s, y):
    v = s * s
    first = (w * _abs_normal_mean(y[:, None] - mu, v)).sum(1)
    pair = _abs_normal_mean(mu[:, :, None] - mu[:, None, :], v[:, :, None] + v[:, None])
    second = np.einsum("pk,pkl,pl->p", w, pair, w)
    return first - 0.5 * second
