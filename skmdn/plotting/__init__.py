"""Plots of conditional densities, predictive intervals, calibration and training.

Each plot is a Display object, as in scikit-learn: build it with
``from_estimator`` (or ``from_predictions``), which computes what is drawn and
calls the display's ``plot`` method; call ``plot`` again to draw on other
axes. The computed values are kept as attributes and the matplotlib artists as
attributes with a trailing underscore.

matplotlib is imported only when something is drawn, so ``import skmdn`` and
``import skmdn.plotting`` work without it; install it with
``pip install "skmdn[plot]"``.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skmdn.plotting._density import ConditionalDensityDisplay, JointDensityDisplay
from skmdn.plotting._diagnostics import LossCurveDisplay, PITDisplay
from skmdn.plotting._intervals import PredictionIntervalDisplay

__all__ = [
    "ConditionalDensityDisplay",
    "JointDensityDisplay",
    "LossCurveDisplay",
    "PITDisplay",
    "PredictionIntervalDisplay",
]

# documented, pickled and cross-referenced under skmdn.plotting
for _display in (
    ConditionalDensityDisplay,
    JointDensityDisplay,
    LossCurveDisplay,
    PITDisplay,
    PredictionIntervalDisplay,
):
    _display.__module__ = __name__
del _display
