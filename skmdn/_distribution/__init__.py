"""MixtureDistribution: per-row Gaussian mixtures, in numpy and scipy.

The class is assembled from one part per concern, each a module of this
package: the container (construction, validation, rows, marginals,
conditionals and draws, :mod:`._base`), the densities and tails
(:mod:`._densities`), the quantiles and intervals (:mod:`._quantiles`), the
moments, expectations, entropy and CRPS (:mod:`._summaries`) and the modes
and highest-density sets (:mod:`._regions`). Every method delegates the maths
to :mod:`skmdn._mixture`. :class:`DiscretisedMixture` (:mod:`._integer`), the
law of integer targets, subclasses it.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skmdn._distribution._base import MixtureBase, check_targets
from skmdn._distribution._densities import DensityMethods
from skmdn._distribution._quantiles import QuantileMethods
from skmdn._distribution._regions import Modes, RegionMethods
from skmdn._distribution._summaries import SummaryMethods

__all__ = ["DiscretisedMixture", "MixtureDistribution", "Modes", "check_targets"]


class MixtureDistribution(
    RegionMethods, SummaryMethods, QuantileMethods, DensityMethods, MixtureBase
):
    """Conditional distribution of the targets: one Gaussian mixture per row.

    Row ``i`` is the mixture
    ``sum_k weights[i, k] N(means[i, k], Sigma[i, k])`` over the ``D``
    targets, with diagonal covariances ``Sigma = diag(scales**2)`` or full
    ones ``Sigma = scale_tril @ scale_tril.T`` (their lower Cholesky
    factors). Methods follow scipy's frozen distributions and
    act row-wise: ``logpdf(y)`` pairs row ``i`` with ``y[i]``. For ``D > 1``,
    ``cdf``, ``ppf`` and ``interval`` are per-target marginals, which are
    exact: a marginal of a Gaussian mixture is a Gaussian mixture; so are
    :meth:`marginal` and :meth:`condition`.

    Parameters
    ----------
    weights : array-like of shape (n_samples, n_components)
        Mixing proportions; each row is non-negative and sums to one.
    means : array-like of shape (n_samples, n_components, n_outputs)
        Component means.
    scales : array-like of shape (n_samples, n_components, n_outputs), \
            default=None
        Component standard deviations (the square roots of the diagonal
        covariances), positive. Give either ``scales`` or ``scale_tril``.
    scale_tril : array-like of shape (n_samples, n_components, n_outputs, \
            n_outputs), default=None
        Lower Cholesky factors of full component covariances: lower
        triangular (the part above the diagonal must be zero) with a
        positive diagonal, as ``scale_tril`` of torch's
        ``MultivariateNormal``.
    squeeze : bool, default=False
        Whether the targets are one-dimensional: results then drop the
        trailing target axis (as for a model fitted on ``y`` of shape
        ``(n_samples,)``) and ``y`` arguments may be 1-D.

    Attributes
    ----------
    weights : ndarray of shape (n_samples, n_components)
        Mixing proportions.
    means : ndarray of shape (n_samples, n_components, n_outputs)
        Component means.
    scales : ndarray of shape (n_samples, n_components, n_outputs)
        Component standard deviations of each target: for full covariances,
        the square roots of their diagonals (the row norms of
        ``scale_tril``), which are all that the per-target marginals need.
    scale_tril : ndarray of shape (n_samples, n_components, n_outputs, \
            n_outputs) or None
        The Cholesky factors of full covariances; None for diagonal ones.
    squeeze : bool
        Whether results drop the trailing target axis.

    See Also
    --------
    MDNRegressor.predict_dist : Returns this object for new inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from skmdn import MixtureDistribution
    >>> dist = MixtureDistribution(
    ...     weights=[[0.5, 0.5]], means=[[[-3.0], [3.0]]], scales=[[[1.0], [1.0]]],
    ...     squeeze=True)
    >>> dist.mean()
    array([0.])
    >>> dist.std().round(4)
    array([3.1623])
    >>> dist.cdf([0.0])
    array([0.5])
    """

    __slots__ = ()


# The discretised mixture of integer targets builds on MixtureDistribution.
from skmdn._distribution._integer import DiscretisedMixture  # noqa: E402

DiscretisedMixture.__module__ = __name__
