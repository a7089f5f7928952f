"""What the targets are: real, integer-valued or bounded, resolved once per fit.

The estimator's ``target_type`` and ``target_bounds`` become one
:class:`Target`, the only place that knows what they mean:

- a bounded target is modelled as a Gaussian mixture on ``t = g(y)``, with
  ``g`` the change of variables of :mod:`skmdn._mixture.change` (``Log`` for
  one bound, ``Logit`` for two); the networks see only ``t``, the Jacobian
  ``log g'(y)`` turns every reported log-likelihood into one of ``y``, and
  the predicted distributions answer on the scale of ``y``;
- an integer target is modelled as the discretised mixture
  ``P(Y = k) = F(k + 1/2) - F(k - 1/2)``, trained by the likelihood of those
  probabilities (:class:`skmdn._head.DiscretisedHead`) and predicted as a
  :class:`~skmdn.DiscretisedMixture`.
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass
from numbers import Real

import numpy as np

from skmdn._distribution import DiscretisedMixture, MixtureDistribution
from skmdn._head import DiscretisedHead
from skmdn._mixture.change import IDENTITY, Log, Logit

TARGET_TYPES = ("continuous", "integer")


def _bound(value, name):
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, Real) or isinstance(value, bool) or np.isnan(value):
        raise ValueError(f"target_bounds: the {name} bound must be a number or None.")
    return None if np.isinf(value) else float(value)


def check_bounds(target_bounds):
    """``target_bounds`` as ``(lower, upper)``, None for an unbounded side.

    ``None`` or an infinite value leaves that side unbounded. Raises
    ``ValueError`` for anything but None or a pair of such values, lower
    first.
    """
    if target_bounds is None:
        return None, None
    if isinstance(target_bounds, str) or len(target_bounds) != 2:
        raise ValueError(
            "target_bounds must be None or a pair (lower, upper), each a number "
            "or None, one pair for every target; got "
            f"{target_bounds!r}."
        )
    if np.ndim(target_bounds[0]) or np.ndim(target_bounds[1]):
        raise ValueError(
            "target_bounds is one pair (lower, upper) for every target; bounds "
            f"of each target are not supported yet. Got {target_bounds!r}."
        )
    lower, upper = _bound(target_bounds[0], "lower"), _bound(target_bounds[1], "upper")
    if lower is not None and upper is not None and not lower < upper:
        raise ValueError(
            f"target_bounds: the lower bound {lower} must be below the upper "
            f"bound {upper}."
        )
    return lower, upper


@dataclass(frozen=True)
class Target:
    """The resolved ``target_type`` and ``target_bounds`` of a fit."""

    integer: bool = False
    lower: float | None = None
    upper: float | None = None

    @classmethod
    def from_params(cls, target_type, target_bounds, covariance_type):
        """Resolve the estimator's parameters; raise ``ValueError`` on a misfit."""
        integer = target_type == "integer"
        lower, upper = check_bounds(target_bounds)
        if integer and (lower, upper) != (None, None):
            raise ValueError(
                "target_type='integer' does not take target_bounds yet: integer "
                "targets are modelled on the whole line of integers."
            )
        if integer and covariance_type == "full":
            raise ValueError(
                "target_type='integer' needs covariance_type='diagonal' or "
                "'spherical': the probability of a cell of several correlated "
                "targets has no closed form."
            )
        return cls(integer, lower, upper)

    @property
    def change(self):
        """The change of variables ``t = g(y)`` (:mod:`skmdn._mixture.change`)."""
        if self.lower is None and self.upper is None:
            return IDENTITY
        if self.lower is None:
            return Log(upper=self.upper)
        if self.upper is None:
            return Log(lower=self.lower)
        return Logit(self.lower, self.upper)

    def check(self, Y):
        """Raise ``ValueError`` if a target lies outside what the model can give."""
        if self.integer and not (Y == np.round(Y)).all():
            bad = Y[Y != np.round(Y)].ravel()[0].item()
            raise ValueError(
                "target_type='integer' needs integer-valued targets; got "
                f"{bad!r}. Round the targets, or use target_type='continuous'."
            )
        change = self.change
        if change.is_identity:
            return
        for side, outside in (
            ("lower", Y <= change.lower),
            ("upper", Y >= change.upper),
        ):
            if outside.any():
                bound = getattr(change, side)
                worst = (Y.min() if side == "lower" else Y.max()).item()
                raise ValueError(
                    f"target_bounds: {int(outside.sum())} target value(s) lie at or "
                    f"beyond the {side} bound {bound} (e.g. {worst!r}); the support "
                    "is the open interval between the bounds, so a value on a "
                    "bound has no density. Move the bound beyond the data."
                )

    def to_model(self, Y):
        """Return the targets on the scale of the mixture: ``g(Y)``, float64."""
        return Y if self.change.is_identity else self.change.forward(Y)

    def log_jacobian(self, Y):
        """``sum_d log g'(Y_d)`` per row (n,), or None without a change."""
        if self.change.is_identity:
            return None
        return self.change.log_jacobian(Y).sum(axis=1)

    def distribution(self, weights, means, cov, squeeze):
        """Return the distribution of the targets, from the mixture on ``t``."""
        if self.integer:
            return DiscretisedMixture._from_cov(weights, means, cov, squeeze)
        return MixtureDistribution._from_cov(weights, means, cov, squeeze, self.change)

    def head(self, head, y_scale):
        """Return the head to train: ``head``, or its discretised form for integers.

        ``y_scale`` (D,) is the standardisation's scale: a cell of width 1
        in the units of ``y`` is ``1 / y_scale`` wide in standardised units.
        """
        if not self.integer:
            return head
        return DiscretisedHead(head, tuple(float(h) for h in 0.5 / y_scale))

    def log_det(self, y_scale):
        """Return the log-Jacobian of the scaling: ``sum(log y_scale)``, or 0.

        Probabilities of integers have none.
        """
        return 0.0 if self.integer else float(np.log(y_scale).sum())
