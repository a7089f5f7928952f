"""The marginal of the targets as a candidate of early stopping.

On wide or signal-free data a network's best epoch may beat the marginal
distribution of ``y`` only by chance (the best of hundreds of noisy
validation scores): it is then replaced by that marginal, the network's
output bias alone with the output layer's weights zeroed
(``docs/evidence.rst``).
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skmdn._preprocessing import _moments, effective_rows

# With early stopping, a fresh network whose best epoch beats the marginal
# distribution of the targets (the k-means mixture or a Gaussian, as its
# output bias alone gives) by less than this many standard errors of the
# paired per-row validation difference is replaced by that marginal: 1,000
# features and 200 rows scored 0.08 nats below a Gaussian fitted to y
# (docs/evidence.rst). Ordinary fits beat the marginal by far more.
MARGINAL_SE = 1.0


def _marginal_candidates(trainer, data, marginals):
    """Each fresh network's marginal candidate: ``{m: (params, row_log_probs)}``.

    Before the first epoch, each output bias of ``marginals[m]`` (mixtures
    of the training targets that do not depend on the inputs, the simplest
    first), with the output layer's weights zeroed, is scored on network
    ``m``'s validation rows, outside the history, so that training runs as
    it would without them. A later candidate replaces an earlier one only
    if it is clearly better (:func:`_clearly_better`); :func:`_keep_marginal`
    keeps the chosen one if no epoch beat it clearly.
    """
    params = trainer.params
    saved = params.clone()
    best = {}
    try:
        for m, biases in enumerate(marginals):
            for bias in biases:
                row = trainer.marginal_params(m, bias)
                if row is None:
                    break
                params[m] = row
                lp = trainer.validation_log_prob(m, data)
                params[m] = saved[m]
                if not np.isfinite(lp).all():
                    continue
                w = _weights(data, m)
                if m not in best or _clearly_better(lp, best[m][1], w)[0]:
                    best[m] = (row, lp)
    finally:
        params.copy_(saved)
    return best


def _weights(data, m):
    return data.validation[m][2].double().cpu().numpy()


def _clearly_better(lp, other, w):
    """Whether per-row log-likelihoods ``lp`` beat ``other`` by ``MARGINAL_SE`` SEs.

    Returns the verdict, the weighted mean paired difference and its
    standard error.
    """
    diff = lp - other
    mean = np.average(diff, weights=w)
    # an integer weight acts as that many repeated rows (effective_rows)
    n_rows = effective_rows(w)
    se = np.sqrt(np.average((diff - mean) ** 2, weights=w) / max(n_rows - 1, 1))
    return mean >= MARGINAL_SE * se, mean, se


def _keep_marginal(trainer, data, marginal, histories, verbose):
    """Give the marginal to the networks that did not beat it clearly.

    Wide or signal-free data: a network whose best epoch beats the marginal
    of ``y`` on the validation rows by less than ``MARGINAL_SE`` standard
    errors of the paired per-row difference has only over-fitted (the best
    of hundreds of noisy validation scores is biased up), and the marginal
    is the better model.
    """
    params = trainer.params
    for m, (row, lp) in marginal.items():
        w = _weights(data, m)
        clear, mean, se = _clearly_better(trainer.validation_log_prob(m, data), lp, w)
        if clear:
            continue
        params[m] = row
        histories[m].best_validation_score = float(np.average(lp, weights=w))
        if verbose:
            print(
                f"Network {m}: its best epoch beat the marginal distribution of "
                f"the targets by {mean:.4f} nats on the validation data, less "
                f"than {MARGINAL_SE:g} standard errors ({se:.4f}): the marginal "
                "is kept"
            )


def _gaussian_bias(head, Y, w):
    """Output bias of a Gaussian fitted to the targets (independent per target).

    Every component gets the weighted mean and standard deviation: the
    mixture is that Gaussian, a marginal candidate smoother than the
    k-means mixture, which over-fits a few hundred targets.
    """
    mean, var = _moments(Y, w)
    scale = np.maximum(np.sqrt(var), 2 * head.min_scale)
    K = head.n_components
    return head.init_bias(np.tile(mean, (K, 1)), np.tile(scale, (K, 1)))
