"""Adam on one flat parameter vector, and its learning-rate back-off.

As scikit-learn's ``neural_network/_stochastic_optimizers.py``: the update
rule and the state it keeps, in one place.
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass

import torch

# Learning-rate cut after a non-finite epoch, and how many cuts are tried.
LR_BACKOFF = 0.1
MAX_ROLLBACKS = 4


@dataclass
class AdamState:
    """Adam on one flat parameter vector; ``lr`` shrinks after a roll-back."""

    lr: float
    m: torch.Tensor
    v: torch.Tensor
    t: int = 0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    @classmethod
    def zeros_like(cls, params, lr):
        """Return a fresh state for ``params``."""
        return cls(lr=lr, m=torch.zeros_like(params), v=torch.zeros_like(params))

    def step(self, params, grad):
        """One in-place Adam update of ``params``."""
        self.t += 1
        self.m.lerp_(grad, 1 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        bc1 = 1 - self.beta1**self.t
        bc2 = 1 - self.beta2**self.t
        denom = (self.v / bc2).sqrt_().add_(self.eps)
        params.addcdiv_(self.m, denom, value=-self.lr / bc1)

    def clone(self):
        """Return a deep copy (for roll-back snapshots)."""
        return AdamState(
            self.lr, self.m.clone(), self.v.clone(), self.t, self.beta1, self.beta2
        )

    def back_off(self):
        """Cut the learning rate after a rolled-back, non-finite epoch."""
        self.lr *= LR_BACKOFF

    def to_numpy(self):
        """Plain-python/numpy form, for persistence."""
        return {
            "lr": self.lr,
            "m": self.m.detach().cpu().numpy().copy(),
            "v": self.v.detach().cpu().numpy().copy(),
            "t": self.t,
        }

    @classmethod
    def from_numpy(cls, state, dtype, device):
        """Inverse of :meth:`to_numpy`, with the moments in ``dtype`` on ``device``."""
        return cls(
            lr=state["lr"],
            m=torch.from_numpy(state["m"].copy()).to(device=device, dtype=dtype),
            v=torch.from_numpy(state["v"].copy()).to(device=device, dtype=dtype),
            t=state["t"],
        )
