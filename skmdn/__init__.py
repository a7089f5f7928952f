"""Mixture density networks for scikit-learn."""

# SPDX-License-Identifier: BSD-3-Clause

from skmdn._distribution import DiscretisedMixture, MixtureDistribution
from skmdn._estimator import MDNRegressor

__version__ = "0.1.0.dev0"

__all__ = ["DiscretisedMixture", "MDNRegressor", "MixtureDistribution", "__version__"]
