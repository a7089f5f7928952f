"""Adam on the flat parameter vectors of ``M`` networks, and its back-off.

As scikit-learn's ``neural_network/_stochastic_optimizers.py``: the update
rule and the state it keeps, in one place. The parameters of the ``M``
networks of an ensemble are the rows of one ``(M, n_params)`` tensor; each
network has its own step size (cut after a roll-back, or by the 'adaptive'
schedule) and its own moments.
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass

import numpy as np
import torch

# Learning-rate cut after a non-finite epoch, and how many cuts are tried.
LR_BACKOFF = 0.1
MAX_ROLLBACKS = 4


@dataclass
class AdamState:
    """Adam on ``(M, n_params)`` parameters; ``lr`` holds one step size per row."""

    lr: np.ndarray
    m: torch.Tensor
    v: torch.Tensor
    t: int = 0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    @classmethod
    def zeros_like(cls, params, lr):
        """Return a fresh state for ``params`` of shape (M, n_params)."""
        lr = np.full(params.shape[0], float(lr))
        return cls(lr=lr, m=torch.zeros_like(params), v=torch.zeros_like(params))

    def step(self, params, grad, active=None):
        """One in-place Adam update of ``params``.

        ``active`` (bool array of shape (M,)) freezes the rows where it is
        False: their moments are updated, their parameters are not.
        """
        self.t += 1
        self.m.lerp_(grad, 1 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        bc1 = 1 - self.beta1**self.t
        bc2 = 1 - self.beta2**self.t
        denom = (self.v / bc2).sqrt_().add_(self.eps)
        lr = self.lr if active is None else np.where(active, self.lr, 0.0)
        if lr.size == 1:
            params.addcdiv_(self.m, denom, value=-float(lr[0]) / bc1)
        else:
            rate = torch.as_tensor(-lr / bc1, dtype=params.dtype, device=params.device)
            params.addcdiv_(self.m * rate[:, None], denom)

    def clone(self):
        """Return a deep copy (for roll-back snapshots)."""
        return AdamState(
            self.lr.copy(),
            self.m.clone(),
            self.v.clone(),
            self.t,
            self.beta1,
            self.beta2,
        )

    def take(self, rows):
        """Return a copy of the state of the networks ``rows`` (an index array)."""
        index = torch.as_tensor(rows, device=self.m.device)
        return AdamState(
            self.lr[rows].copy(),
            self.m.index_select(0, index),
            self.v.index_select(0, index),
            self.t,
            self.beta1,
            self.beta2,
            self.eps,
        )

    def put(self, rows, other):
        """Write back the state of :meth:`take`'s ``rows`` after it stepped."""
        index = torch.as_tensor(rows, device=self.m.device)
        self.m.index_copy_(0, index, other.m)
        self.v.index_copy_(0, index, other.v)
        self.lr[rows] = other.lr
        self.t = other.t

    def restore_row(self, other, i):
        """Copy network ``i``'s moments and step size from ``other``."""
        self.m[i] = other.m[i]
        self.v[i] = other.v[i]
        self.lr[i] = other.lr[i]

    def back_off(self, i):
        """Cut network ``i``'s step size after a rolled-back, non-finite epoch."""
        self.lr[i] *= LR_BACKOFF

    def to_numpy(self, i):
        """Network ``i``'s state in plain python/numpy form, for persistence."""
        return {
            "lr": float(self.lr[i]),
            "m": self.m[i].detach().cpu().numpy().copy(),
            "v": self.v[i].detach().cpu().numpy().copy(),
            "t": self.t,
        }

    @classmethod
    def from_numpy(cls, states, dtype, device):
        """Inverse of :meth:`to_numpy` for a list of networks' states."""

        def stack(key):
            return torch.from_numpy(np.stack([s[key] for s in states])).to(
                device=device, dtype=dtype
            )

        return cls(
            lr=np.array([s["lr"] for s in states], dtype=np.float64),
            m=stack("m"),
            v=stack("v"),
            t=max(s["t"] for s in states),
        )
