"""A user's torch module as the trunk: building, autograd training, numpy state.

The built-in MLP (:mod:`skmdn._network`) has a hand-written backward pass; a
user's ``torch.nn.Module`` is trained by autograd instead. This module builds
the network (the user's module, then a linear mixture head on its ``m``
outputs), runs its epochs with torch's Adam behind the interface of
:class:`skmdn._training.Trainer`, so that :func:`skmdn._training.train` drives
early stopping, best-weight restore and roll-back unchanged, and turns the
trained network into numpy arrays (:class:`ModuleNetworkState`).

Snapshots, restores and the finiteness test of ``train`` act on one flat
tensor (``ModuleTrainer.params``): after the network is built, every
parameter and floating-point buffer of it is re-pointed to a view into that
tensor, so ``params.copy_(snapshot)`` restores the whole network in place.
"""

# SPDX-License-Identifier: BSD-3-Clause

import inspect
import math
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from skmdn._optim import LR_BACKOFF
from skmdn._preprocessing import (
    init_components,
    input_noise_level,
    resolve_batch_size,
    target_noise_levels,
)
from skmdn._training import (
    EVAL_CHUNK,
    EpochBatches,
    History,
    TrainingData,
    schedule,
    split_rows,
    train,
)

_TORCH_DTYPES = {
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
}
# The keyword through which a module's constructor learns the input width.
N_FEATURES = "n_features"
# Rows of the probe batch that finds the width of the module's outputs.
PROBE_ROWS = 2
# Devices where torch.optim.Adam runs fused (one kernel for all parameters).
FUSED_ADAM_DEVICES = ("cpu", "cuda")
# The head's initial weights are this share of Glorot's bound, as in the MLP:
# every row starts near the mixture that the head's bias gives.
HEAD_WEIGHT_SCALE = 0.1


@contextmanager
def seeded_rng(seed, device):
    """Run the block with torch's global generators forked and seeded.

    A module's constructor and its dropout layers draw from torch's global
    generators (the CPU one, and the accelerator's for dropout there). They
    are forked, so that the caller's random state is left as it was, and
    seeded, so that a fit is reproducible.

    Parameters
    ----------
    seed : int
        Seed of the forked generators.
    device : torch.device
        Where training runs; its generator is forked as well.
    """
    if device.type == "cpu":
        devices, device_type = [], "cuda"
    elif device.type == "cuda":
        index = device.index if device.index is not None else None
        if index is None:
            index = torch.cuda.current_device()
        devices, device_type = [index], "cuda"
    else:  # mps and other accelerators with a torch.<type> module
        devices, device_type = [device.index or 0], device.type
    with torch.random.fork_rng(devices=devices, device_type=device_type):
        torch.random.default_generator.manual_seed(seed)
        if device.type == "cuda":
            torch.cuda.default_generators[devices[0]].manual_seed(seed)
        elif device.type != "cpu":
            getattr(torch, device.type).manual_seed(seed)
        yield


class MixtureNetwork(torch.nn.Module):
    """The user's module followed by the linear mixture head.

    Its ``state_dict`` holds the module's entries under ``trunk.`` and the
    head's ``head.weight`` of shape (width, m) and ``head.bias`` of shape
    (width,).

    Parameters
    ----------
    trunk : torch.nn.Module
        Maps inputs (batch, n_features) to features (batch, m).
    head : torch.nn.Linear
        Maps the features to the mixture head's outputs (batch, width).
    """

    def __init__(self, trunk, head):
        super().__init__()
        self.trunk = trunk
        self.head = head

    def forward(self, x):
        """Return the head's outputs (batch, width) for inputs (batch, n_features)."""
        return self.head(self.trunk(x))


def _accepts_keyword(factory, name):
    """Whether ``factory(name=...)`` is accepted, as far as its signature tells."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # no signature (a builtin): pass it
        return True
    return any(
        p.kind is p.VAR_KEYWORD
        or (p.name == name and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        for p in parameters
    )


@dataclass(frozen=True)
class ModuleTrunk:
    """How to build a user's module: the factory, its arguments, the input width.

    Parameters
    ----------
    factory : type or callable
        A ``torch.nn.Module`` subclass, or a callable returning a module. It
        must be importable by name for a fitted model to be unpickled.
    params : dict
        Keyword arguments of ``factory`` (the estimator's ``module_params``).
    n_features : int
        Number of inputs; passed as ``n_features=`` when ``factory``
        accepts a keyword of that name (or ``**kwargs``).
    """

    factory: object
    params: dict
    n_features: int

    @classmethod
    def from_params(cls, module, module_params, n_features):
        """Validate the estimator's ``module`` and ``module_params``.

        Raises
        ------
        TypeError
            If ``module`` is a module instance rather than a class or a
            factory, or a key of ``module_params`` is not a string.
        ValueError
            If ``module_params`` sets ``n_features``, which ``fit`` sets.
        """
        if isinstance(module, torch.nn.Module):
            raise TypeError(
                "module must be a torch.nn.Module class or a callable returning a "
                f"module, not a module instance ({type(module).__name__}): pass the "
                "class, and its arguments in module_params."
            )
        params = dict(module_params or {})
        if any(not isinstance(k, str) for k in params):
            raise TypeError(
                f"module_params must have string keys; got {sorted(map(repr, params))}."
            )
        if N_FEATURES in params:
            raise ValueError(
                f"module_params must not set '{N_FEATURES}': fit passes the number "
                "of input columns itself."
            )
        return cls(factory=module, params=params, n_features=int(n_features))

    @property
    def kwargs(self):
        """The keyword arguments the factory is called with."""
        if _accepts_keyword(self.factory, N_FEATURES):
            return {N_FEATURES: self.n_features, **self.params}
        return dict(self.params)

    def make_module(self):
        """Call the factory; return the user's module (its own initial weights).

        Raises
        ------
        TypeError
            If the factory does not return a ``torch.nn.Module``.
        """
        module = self.factory(**self.kwargs)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(
                f"module must return a torch.nn.Module; {self.factory!r} returned "
                f"{type(module).__name__}."
            )
        return module

    def new_network(self, head, X_probe, out_bias, generator):
        """Build a freshly initialised network on ``X_probe``'s device and dtype.

        Call it inside :func:`seeded_rng`: the module's constructor draws its
        initial weights from torch's global generator.

        Parameters
        ----------
        head : MixtureHead
        X_probe : Tensor of shape (n_probe, n_features)
            A few training rows, to find the width ``m`` of the module's
            outputs (a forward pass in eval mode, without gradients).
        out_bias : ndarray of shape (head.width,)
            Initial bias of the head (:meth:`MixtureHead.init_bias`).
        generator : torch.Generator
            Source of the head's initial weights.

        Returns
        -------
        MixtureNetwork
            In training mode.

        Raises
        ------
        ValueError
            If the module's outputs are not of shape (n_probe, m).
        """
        trunk = self.make_module().to(device=X_probe.device, dtype=X_probe.dtype)
        trunk.eval()
        with torch.no_grad():
            out = trunk(X_probe)
        if not (
            isinstance(out, torch.Tensor)
            and out.ndim == 2
            and out.shape[0] == X_probe.shape[0]
            and out.shape[1] >= 1
        ):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
            raise ValueError(
                "module must map inputs of shape (batch, n_features) to one tensor "
                f"of shape (batch, m); inputs {tuple(X_probe.shape)} gave {shape}."
            )
        m = out.shape[1]
        linear = torch.nn.Linear(
            m, head.width, device=X_probe.device, dtype=X_probe.dtype
        )
        bound = HEAD_WEIGHT_SCALE * math.sqrt(6.0 / (m + head.width))
        with torch.no_grad():
            weight = torch.rand(linear.weight.shape, generator=generator) * 2 - 1
            linear.weight.copy_(weight.mul_(bound))
            linear.bias.copy_(torch.as_tensor(out_bias))
        return MixtureNetwork(trunk, linear).train()

    def load_network(self, state_dict, device):
        """Rebuild a trained network from its numpy ``state_dict``.

        The module is constructed with torch's global generator forked, so
        that rebuilding (for a prediction, say) leaves it untouched.

        Returns
        -------
        MixtureNetwork
            On ``device``, in the state dict's dtype, in eval mode.
        """
        width, m = state_dict["head.weight"].shape
        with torch.random.fork_rng(devices=[]):
            network = MixtureNetwork(self.make_module(), torch.nn.Linear(m, width))
        # in the trained dtype before loading: copying would cast silently
        network.to(dtype=_TORCH_DTYPES[state_dict["head.weight"].dtype])
        network.load_state_dict(
            {k: torch.from_numpy(np.array(v)) for k, v in state_dict.items()}
        )
        return network.to(device).eval()

    def forward_numpy(self, states, X, device):
        """Return the head's outputs of every network; numpy in and out.

        Parameters
        ----------
        states : list of ModuleNetworkState
        X : ndarray of shape (n, n_features)
            Standardised inputs, in the networks' dtype.
        device : str or torch.device

        Returns
        -------
        ndarray of shape (n_networks, n, width)
        """
        device = torch.device(device)
        X_t = torch.from_numpy(X).to(device)
        outputs = []
        with torch.inference_mode():
            for state in states:
                network = state.network(self, device)
                out = [
                    network(X_t[start : start + EVAL_CHUNK])
                    for start in range(0, X_t.shape[0], EVAL_CHUNK)
                ]
                outputs.append(torch.cat(out).cpu().numpy())
        return np.stack(outputs)

    def reexpressed(self, state, head, old_y, new_y):
        """``state`` with its head rewritten for targets standardised anew.

        See :meth:`MixtureHead.reexpress_outputs`; the inputs of a module
        cannot be re-expressed in general, so their standardisation is kept.
        """
        state_dict = dict(state.state_dict)
        coefs = [state_dict["head.weight"].T.copy()]  # (m, width), the MLP layout
        intercepts = [state_dict["head.bias"].copy()]
        head.reexpress_outputs(
            coefs,
            intercepts,
            old_y.location,
            old_y.scale,
            new_y.location,
            new_y.scale,
        )
        state_dict["head.weight"] = np.ascontiguousarray(coefs[0].T)
        state_dict["head.bias"] = intercepts[0]
        return replace(state, state_dict=state_dict)


def flatten_(network, dtype):
    """Re-point every parameter and floating buffer to a view into one tensor.

    Parameters
    ----------
    network : torch.nn.Module
        Already on its device and in ``dtype``; changed in place.
    dtype : torch.dtype
        Tensors of another dtype are left out.

    Returns
    -------
    Tensor of shape (n_values,)
        The flat tensor: writing into it writes into the network.
    """
    tensors = [p for p in network.parameters() if p.dtype == dtype]
    owners = []  # (module, name, buffer): buffers are re-pointed by name
    seen = {id(t) for t in tensors}
    for module in network.modules():
        for name, buffer in module.named_buffers(recurse=False):
            if buffer.dtype == dtype:
                owners.append((module, name, buffer))
                if id(buffer) not in seen:
                    seen.add(id(buffer))
                    tensors.append(buffer)
    if not tensors:
        return torch.zeros(0, dtype=dtype)
    flat = torch.cat([t.detach().reshape(-1) for t in tensors])
    views, start = {}, 0
    for t in tensors:
        views[id(t)] = flat[start : start + t.numel()].view(t.shape)
        start += t.numel()
    for p in network.parameters():
        if id(p) in views:
            p.data = views[id(p)]
    for module, name, buffer in owners:
        setattr(module, name, views[id(buffer)])
    return flat


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
    """``torch.optim.Adam`` behind the interface of :class:`skmdn._optim.AdamState`.

    ``train`` snapshots the optimizer with :meth:`clone` before every epoch
    and, after a non-finite epoch, puts the snapshot back and calls
    :meth:`back_off`.

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
        self.t = t

    @property
    def lr(self):
        """The step size, as a one-network row of :class:`AdamState`'s ``lr``."""
        return _StepSize(self.torch_optimizer)

    def step(self):
        """One Adam update from the parameters' ``.grad``."""
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
        """Cut the learning rate after a rolled-back, non-finite epoch."""
        self.lr[i] *= LR_BACKOFF

    def restore_row(self, other, i=0):
        """Take the moments and step size of the snapshot ``other``."""
        self.torch_optimizer.load_state_dict(
            _clone_optimizer_state(other.torch_optimizer.state_dict())
        )

    def to_numpy(self):
        """Plain-python/numpy form: the step size, the step count and the moments.

        ``m``, ``v`` and ``steps`` list each parameter's first and second
        moments and step count (None where the parameter has no state yet).
        """
        state = self.torch_optimizer.state_dict()["state"]
        moments = [state.get(i, {}) for i in range(len(self.param_list))]

        def array(s, key):
            return s[key].detach().cpu().numpy().copy() if key in s else None

        return {
            "lr": self.lr[0],
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


class _StepSize:
    """``lr[0]`` reads and writes the step size of a torch optimizer."""

    def __init__(self, torch_optimizer):
        self.groups = torch_optimizer.param_groups

    def __getitem__(self, i):
        return self.groups[0]["lr"]

    def __setitem__(self, i, value):
        for group in self.groups:
            group["lr"] = float(value)


class _MixtureNLL(torch.autograd.Function):
    """The head's weighted NLL, with its closed-form gradient as the backward.

    Autograd differentiates the user's module; at the outputs it starts from
    :meth:`MixtureHead.loss_and_grad`, the gradient the fused path uses
    (pinned against autograd on :meth:`MixtureHead.log_prob` by the tests),
    which saves the graph of the log-sum-exp.
    """

    @staticmethod
    def forward(ctx, out, y_t, coef, head):
        loss, grad_t = head.loss_and_grad(out.detach().T.contiguous(), y_t, coef)
        ctx.save_for_backward(grad_t)
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        (grad_t,) = ctx.saved_tensors
        return grad_t.T * grad_loss, None, None, None


class ModuleTrainer:
    """Runs epochs of mini-batch Adam on the weighted mixture NLL, by autograd.

    The interface of :class:`skmdn._training.Trainer`: ``params`` (one flat
    tensor, viewed by the network), ``optimizer`` (with ``clone``,
    ``back_off`` and ``lr``), :meth:`run_epoch` and :meth:`score`.

    Parameters
    ----------
    network : MixtureNetwork
        Flattened by :func:`flatten_`; trained in place.
    params : Tensor of shape (n_values,)
        The flat tensor that ``network`` views.
    head : MixtureHead
    optimizer : TorchAdam
    batch_size, alpha, clip_grad_norm, log_det, generator, input_noise, \
target_noise
        As for :class:`skmdn._training.Trainer`. The L2 penalty ``alpha``
        applies to the parameters of two or more dimensions (weight
        matrices, kernels, embeddings), not to biases or normalisation
        scales.
    """

    def __init__(
        self,
        network,
        params,
        head,
        optimizer,
        *,
        batch_size,
        alpha,
        clip_grad_norm,
        log_det,
        generator,
        input_noise=0.0,
        target_noise=0.0,
    ):
        self.network = network
        self.params = params.unsqueeze(0)  # one network's row, a view
        self.head = head
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.alpha = alpha
        self.clip_grad_norm = clip_grad_norm
        self.log_det = log_det
        self.generator = generator
        self.input_noise = (
            torch.full((1, 1, 1), float(input_noise), dtype=params.dtype)
            if input_noise > 0
            else None
        )
        self.target_noise = (
            torch.as_tensor(target_noise, dtype=params.dtype).to(params.device)
            if np.any(np.asarray(target_noise) > 0)
            else None
        )
        self.active = np.ones(1, dtype=bool)
        self._trained = [p for p in network.parameters() if p.requires_grad]
        self._weights = [p for p in self._trained if p.ndim >= 2] if alpha > 0 else []

    def penalty(self):
        """``0.5 * sum(W**2)``: the L2 term before division by the batch weight."""
        with torch.no_grad():
            return 0.5 * sum(float((w * w).sum()) for w in self._weights)

    def run_epoch(self, data):
        """One pass over shuffled mini-batches in training mode; the mean NLL.

        ``data`` is a :class:`~skmdn._training.TrainingData` of one network;
        returns its mean training loss as an array of shape (1,).
        """
        self.network.train()
        batches = EpochBatches(self, data)
        total = torch.zeros((), dtype=torch.float64, device=data.X.device)
        penalty_total = 0.0
        for j, xb, yb, coef, _ in batches:
            w_sum = float(batches.weight[j, 0])
            for p in self._trained:
                p.grad = None
            loss = _MixtureNLL.apply(self.network(xb[0]), yb[0], coef[0], self.head)
            loss.backward()
            if self._weights:
                with torch.no_grad():
                    for weight in self._weights:
                        if weight.grad is not None:
                            weight.grad.add_(weight, alpha=self.alpha / w_sum)
                penalty_total += self.alpha * self.penalty()
            if self.clip_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(self._trained, self.clip_grad_norm)
            self.optimizer.step()
            total.add_(loss.detach(), alpha=w_sum)
        w_total = float(batches.total[0])
        loss = float(total) / w_total + self.log_det + penalty_total / w_total
        return np.array([loss])

    def score(self, data):
        """Mean weighted validation log-likelihood (original units), shape (1,)."""
        return np.array([self._score(*data.validation[0])])

    def _score(self, X, Y, w):
        self.network.eval()
        total = 0.0
        with torch.no_grad():
            for start in range(0, X.shape[0], EVAL_CHUNK):
                stop = start + EVAL_CHUNK
                lp = self.head.log_prob(self.network(X[start:stop]), Y[start:stop])
                total += float((w[start:stop] * lp).sum())
        self.network.train()
        return total / float(w.sum()) - self.log_det


@dataclass(eq=False)
class ModuleNetworkState:
    """One trained network with a user's module; numpy and plain values only.

    Attributes
    ----------
    state_dict : dict of str to ndarray
        The network's ``state_dict`` (:class:`MixtureNetwork`) as numpy
        arrays, on the CPU.
    optimizer : dict
        Adam's state (:meth:`TorchAdam.to_numpy`).
    history : History
        Losses and validation scores of every epoch so far.
    """

    state_dict: dict
    optimizer: dict
    history: History
    # rebuilt networks by device, never persisted (see __getstate__)
    _built: dict = field(default_factory=dict, init=False, repr=False)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_built"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._built = {}

    def network(self, trunk, device):
        """Return the network rebuilt on ``device`` in eval mode (cached)."""
        key = str(device)
        if key not in self._built:
            self._built[key] = trunk.load_network(self.state_dict, device)
        return self._built[key]

    @property
    def dtype(self):
        """The numpy dtype the network was trained in."""
        return self.state_dict["head.weight"].dtype


def _to_numpy(network):
    return {k: v.detach().cpu().numpy().copy() for k, v in network.state_dict().items()}


def fit_module_network(
    trunk, head, X, Y, w, *, config, log_det, seeds, previous, incremental, device
):
    """Train one network with a user's module on standardised data.

    The one-network counterpart of :func:`skmdn._training.fit_networks`,
    with the same parameters, except that ``trunk`` is a :class:`ModuleTrunk`,
    ``seeds`` one network's row of seeds and ``previous`` a
    :class:`ModuleNetworkState` or None.

    Returns
    -------
    state : ModuleNetworkState
    status : {'converged', 'max_iter', 'interrupted'}
        See :func:`skmdn._training.train`.
    """
    _, init_seed, torch_seed = seeds
    early_stopping = bool(config.early_stopping) and not incremental
    train_rows, val_rows = split_rows(X, Y, w, config, [seeds], early_stopping)
    data = TrainingData.from_numpy(X, Y, w, train_rows, val_rows, device)
    X, Y, w = X[train_rows[0]], Y[train_rows[0]], w[train_rows[0]]
    n_train = X.shape[0]
    batch_size = resolve_batch_size(config.batch_size, n_train)

    device = torch.device(device)
    generator = torch.Generator().manual_seed(int(torch_seed))
    # torch's global generators (module initialisation, dropout) get a
    # stream of their own, not a copy of the shuffles'
    global_seed = int(np.random.SeedSequence(int(torch_seed)).generate_state(1)[0])
    dtype = torch.float64 if X.dtype == np.float64 else torch.float32
    with seeded_rng(global_seed, device):
        if previous is None:
            loc, scale = init_components(
                Y,
                w,
                head.n_components,
                np.random.RandomState(init_seed),
                head.min_scale,
            )
            network = trunk.new_network(
                head, data.X[:PROBE_ROWS], head.init_bias(loc, scale), generator
            )
        else:
            network = trunk.load_network(previous.state_dict, device).train()
        params = flatten_(network, dtype)
        trained = [p for p in network.parameters() if p.requires_grad]
        lr = float(config.learning_rate_init)
        if previous is None:
            optimizer = TorchAdam(trained, lr)
            history = History(early_stopping=early_stopping)
        else:
            # the step size is a parameter: a warm start uses the current one
            optimizer = TorchAdam.from_numpy(previous.optimizer, trained, lr)
            history = previous.history.resumed(early_stopping)
        trainer = ModuleTrainer(
            network,
            params,
            head,
            optimizer,
            batch_size=batch_size,
            alpha=float(config.alpha),
            clip_grad_norm=config.clip_grad_norm,
            log_det=log_det,
            generator=generator,
            input_noise=input_noise_level(
                config.input_noise, n_train, trunk.n_features + head.n_outputs
            ),
            target_noise=target_noise_levels(config.target_noise, Y),
        )
        status = train(
            trainer,
            data,
            [history],
            **schedule(config, n_train, batch_size, incremental),
        )
    network.eval()
    state = ModuleNetworkState(
        _to_numpy(network), trainer.optimizer.to_numpy(), history
    )
    return state, status
