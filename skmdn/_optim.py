"""The optimisers of the trunks, and the stopping rule that drives their step size.

As scikit-learn's ``neural_network/_stochastic_optimizers.py``: the update
rules, the state they keep and the schedule of their step size, in one place.

Both optimisers have one interface, which :func:`skmdn._training.train` uses:
``lr``, an ndarray of shape (M,) with each network's step size, read at
every step (the training loop cuts it in place); ``t``, the steps taken;
:meth:`~AdamState.step`; :meth:`~AdamState.clone` (a snapshot);
:meth:`~AdamState.restore_row` and :meth:`~AdamState.back_off` (roll-back of
one network); :meth:`~AdamState.to_numpy` (one network's state, numpy and
plain values) and a ``from_numpy`` class method.

- :class:`AdamState` is Adam on the rows of one ``(M, n_params)`` tensor: the
  ``M`` networks of an ensemble that train together (the built-in MLP),
  each with its own step size and moments.
- :class:`TorchAdam` is ``torch.optim.Adam`` on a user's module (one
  network, ``M = 1``), for the autograd path.

:class:`StoppingRule` holds each network's patience, its remaining step-size
cuts (``learning_rate='adaptive'``) and its noise-free final phase
(``learning_rate='constant'``); it says after each epoch what the loop does
next.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
from dataclasses import dataclass

import numpy as np
import torch

# Learning-rate cut after a non-finite epoch, and how many cuts are tried.
LR_BACKOFF = 0.1
MAX_ROLLBACKS = 4
# learning_rate='adaptive': the step size is divided by this factor each time
# the stopping rule would stop, ADAPTIVE_CUTS times before it does (as
# MLPRegressor's 'adaptive' schedule), and the input noise is switched off at
# the first cut, so that the fine-tuning phases sharpen what the noise blurred
# (docs/evidence.rst and the sharp-conditional test in tests/test_recipe.py).
LR_CUT_FACTOR = 5.0
ADAPTIVE_CUTS = 2
# learning_rate='constant' ends with a noise-free phase: when the stopping
# rule would stop a network that trains with input noise (and early
# stopping), its best weights are restored, the noise is switched off, its
# step size is divided by FINAL_LR_FACTOR and it trains on with
# FINAL_PATIENCE_SHARE of the patience; the validation score decides, as for
# every epoch, whether the noise-free weights replace the best noisy ones.
# The noise blurs p(y|x) by about |dy/dx| times its level, which sharp
# conditionals cannot afford (docs/evidence.rst, tests/test_recipe.py).
# Half the patience at a tenth of the step size: with the step size 3e-3,
# a quarter at a fifth left Bishop's gap at 0.100, this 0.097 (6 seeds).
FINAL_PATIENCE_SHARE = 0.5
FINAL_LR_FACTOR = 10.0
# Devices where torch.optim.Adam runs fused (one kernel for all parameters).
FUSED_ADAM_DEVICES = ("cpu", "cuda")


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


def _clone_optimizer_state(state_dict):
    """Return a deep copy of an optimizer's ``state_dict`` (tensors cloned)."""
    return {
        "state": {
            i: {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()}
            for i, s in state_dict["state"].items()
        },
        "param_groups": [dict(g) for g in state_dict["param_groups"]],
    }


class TorchAdam:
    """``torch.optim.Adam`` on one network, with the interface of :class:`AdamState`.

    ``lr`` is an ndarray of shape (1,), as :class:`AdamState`'s for one
    network; every :meth:`step` passes it to torch's parameter groups.

    Parameters
    ----------
    params : list of torch.nn.Parameter
        The trained parameters.
    lr : float
        Step size.
    t : int, default=0
        Steps taken so far.
    """

    def __init__(self, params, lr, t=0):
        self.param_list = list(params)
        # one fused kernel per step where torch has it (the same update)
        fused = bool(self.param_list) and all(
            p.device.type in FUSED_ADAM_DEVICES for p in self.param_list
        )
        self.torch_optimizer = torch.optim.Adam(
            self.param_list, lr=lr, fused=fused or None
        )
        self.lr = np.array([float(lr)])
        self.t = t

    def step(self):
        """One Adam update from the parameters' ``.grad``."""
        for group in self.torch_optimizer.param_groups:
            group["lr"] = float(self.lr[0])
        self.torch_optimizer.step()
        self.t += 1

    def clone(self):
        """Return an optimizer of the same parameters with a copy of this state."""
        new = TorchAdam(self.param_list, self.lr[0], self.t)
        new.torch_optimizer.load_state_dict(
            _clone_optimizer_state(self.torch_optimizer.state_dict())
        )
        return new

    def back_off(self, i=0):
        """Cut the step size after a rolled-back, non-finite epoch."""
        self.lr[i] *= LR_BACKOFF

    def restore_row(self, other, i=0):
        """Take the moments and step size of the snapshot ``other``."""
        self.torch_optimizer.load_state_dict(
            _clone_optimizer_state(other.torch_optimizer.state_dict())
        )
        self.lr[i] = other.lr[i]

    def to_numpy(self, i=0):
        """Plain-python/numpy form: the step size, the step count and the moments.

        ``m``, ``v`` and ``steps`` list each parameter's first and second
        moments and step count (None where the parameter has no state yet).
        """
        state = self.torch_optimizer.state_dict()["state"]
        moments = [state.get(j, {}) for j in range(len(self.param_list))]

        def array(s, key):
            return s[key].detach().cpu().numpy().copy() if key in s else None

        return {
            "lr": float(self.lr[i]),
            "t": self.t,
            "m": [array(s, "exp_avg") for s in moments],
            "v": [array(s, "exp_avg_sq") for s in moments],
            "steps": [float(s["step"]) if "step" in s else None for s in moments],
        }

    @classmethod
    def from_numpy(cls, state, params, lr):
        """Inverse of :meth:`to_numpy`, with the step size ``lr``."""
        new = cls(params, lr, state["t"])
        restored = {}
        for i, (p, m, v, step) in enumerate(
            zip(new.param_list, state["m"], state["v"], state["steps"], strict=True)
        ):
            if step is None:
                continue
            restored[i] = {
                "step": torch.tensor(step, dtype=torch.float32),
                "exp_avg": torch.from_numpy(m.copy()).to(p.device, p.dtype),
                "exp_avg_sq": torch.from_numpy(v.copy()).to(p.device, p.dtype),
            }
        saved = new.torch_optimizer.state_dict()
        new.torch_optimizer.load_state_dict(
            {"state": restored, "param_groups": saved["param_groups"]}
        )
        return new


# What StoppingRule.after_epoch asks the loop to do for a network.
CUT = "cut"  # divide the step size by LR_CUT_FACTOR, drop the input noise
FINAL_PHASE = "final_phase"  # best weights back, no input noise, FINAL_LR_FACTOR


class StoppingRule:
    """Each network's patience, step-size cuts, final phase and epoch budget.

    After ``patience`` epochs without progress a network's step size is cut
    (up to ``lr_cuts`` times, the 'adaptive' schedule); then, if it trains
    with input noise, it enters the noise-free final phase with
    ``final_patience``; the next such run of epochs stops it. A network also
    stops after ``max_iter`` epochs. Without ``stopping`` (``partial_fit``)
    only ``max_iter`` stops.

    Parameters
    ----------
    n_networks : int
    patience : float
        Epochs without progress before a cut, the final phase or a stop
        (``n_iter_no_change``, resolved).
    max_iter : int
        Epochs of each network in this call.
    stopping : bool
        Whether lack of progress stops (False for ``partial_fit``).
    lr_cuts : int
        Step-size cuts before a stop.
    final_patience : int or None
        Patience of the noise-free final phase, or None for none.
    noisy : array-like of bool, shape (n_networks,)
        The networks that train with input noise (and so have a final phase).
    """

    def __init__(
        self,
        n_networks,
        *,
        patience,
        max_iter,
        stopping,
        lr_cuts,
        final_patience,
        noisy,
    ):
        self.n_iter_no_change = patience
        self.max_iter = max_iter
        self.stopping = stopping
        self.final_patience = final_patience
        self.patience = np.full(n_networks, patience, dtype=float)
        self.cuts_left = np.full(n_networks, lr_cuts)
        # the final phase's patience, for the networks still to enter it
        has_final = final_patience is not None
        self.final_left = np.array(
            [final_patience if has_final and bool(n) else 0 for n in noisy],
            dtype=float,
        )
        self.epochs = np.zeros(n_networks, dtype=int)
        self.stopped = np.zeros(n_networks, dtype=bool)
        self.hit_max_iter = False

    def after_epoch(self, m, history):
        """Count network ``m``'s finite epoch; return ``CUT``, ``FINAL_PHASE`` or None.

        Sets ``stopped[m]`` when the network stops; resets the history's
        count of epochs without progress when a new phase starts.
        """
        self.epochs[m] += 1
        action = None
        if self.stopping and history.no_improvement_count > self.patience[m]:
            if self.cuts_left[m] > 0:
                self.cuts_left[m] -= 1
                history.no_improvement_count = 0
                action = CUT
            elif self.final_left[m] > 0:
                self.final_left[m] = 0
                history.no_improvement_count = 0
                self.patience[m] = self.final_patience
                action = FINAL_PHASE
            else:
                self.stopped[m] = True
        if self.epochs[m] >= self.max_iter and not self.stopped[m]:
            self.stopped[m] = self.hit_max_iter = True
        return action

    def waits(self, histories):
        """Per network still training, the epochs left without progress (or None).

        Later phases included; None without a stopping rule.
        """
        if not self.stopping:
            return None
        counts = np.array([h.no_improvement_count for h in histories], dtype=float)
        left = self.patience - counts + self.cuts_left * self.n_iter_no_change
        return list((left + self.final_left)[~self.stopped])

    def guesses(self, histories):
        """Per network still training, an estimate of the epochs left (or None).

        The waits of :meth:`waits`, plus as many epochs again as the network
        improved for (the epoch of its best score) less those it has already
        waited: a network that has improved for ``b`` epochs is assumed to
        improve for about ``b`` more.
        """
        if not self.stopping:
            return None
        counts = np.array([h.no_improvement_count for h in histories], dtype=float)
        best = np.array([h.n_iter for h in histories], dtype=float) - counts
        waits = self.waits(histories)
        more = np.maximum(0.0, best - counts)[~self.stopped]
        return list(np.asarray(waits) + more)

    def status(self):
        """Why training ended: 'max_iter' or 'converged'."""
        return "max_iter" if self.hit_max_iter and self.stopping else "converged"


def final_patience(learning_rate, patience):
    """Return the final phase's patience for a schedule, or None for none."""
    if learning_rate != "constant" or not math.isfinite(patience):
        return None
    return max(1, math.ceil(FINAL_PATIENCE_SHARE * patience))
