"""A user's torch module as the trunk: building, autograd training, numpy state.

The built-in MLP (:mod:`skmdn._network`) has a hand-written backward pass; a
user's ``torch.nn.Module`` is trained by autograd instead. :class:`ModuleTrunk`
is the trunk protocol of :mod:`skmdn._trunk` for it: it builds the network
(the user's module, then a linear mixture head on its ``m`` outputs), and its
:class:`ModuleTrainer` runs the epochs with torch's Adam behind
:class:`skmdn._training.BaseTrainer`, so that :func:`skmdn._training.train`
drives early stopping, best-weight restore and roll-back unchanged. The
trained network is kept as its ``state_dict`` in numpy arrays.

Snapshots, restores and the finiteness test of ``train`` act on one flat
tensor (``ModuleTrainer.params``): after the network is built, every
parameter and floating-point buffer of it is re-pointed to a view into that
tensor, so ``params.copy_(snapshot)`` restores the whole network in place.
"""

# SPDX-License-Identifier: BSD-3-Clause

import inspect
import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import torch

from skmdn._batches import EpochBatches
from skmdn._optim import TorchAdam
from skmdn._training import EVAL_CHUNK, BaseTrainer

# The keyword through which a module's constructor learns the input width.
N_FEATURES = "n_features"
# Rows of the probe batch that finds the width of the module's outputs.
PROBE_ROWS = 2
# The head's initial weights are this share of Glorot's bound, as in the MLP:
# every row starts near the mixture that the head's bias gives.
HEAD_WEIGHT_SCALE = 0.1


# torch's global generators are process-wide: fits and rebuilds with a
# module hold this lock while they fork, seed and draw from them, so that
# fits in threads run one after another and each is the fit it would be alone.
_GLOBAL_RNG_LOCK = threading.RLock()


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
    with (
        _GLOBAL_RNG_LOCK,
        torch.random.fork_rng(devices=devices, device_type=device_type),
    ):
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

    # the trunk protocol (skmdn._trunk.Trunk): one network at a time; a
    # module's first layer cannot be re-expressed for new inputs in general
    batched: ClassVar[bool] = False
    reexpresses_inputs: ClassVar[bool] = False
    public_names: ClassVar[tuple] = ("state_dicts_",)

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
            name = getattr(self.factory, "__name__", repr(self.factory))
            raise ValueError(
                f"module must map inputs of shape (batch, n_features) to one tensor "
                f"of shape (batch, m); {name} gave {shape} for inputs "
                f"{tuple(X_probe.shape)}."
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
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            network = MixtureNetwork(self.make_module(), torch.nn.Linear(m, width))
        # in the trained dtype before loading: copying would cast silently
        network.to(dtype=torch.from_numpy(state_dict["head.weight"]).dtype)
        network.load_state_dict(
            {k: torch.from_numpy(np.array(v)) for k, v in state_dict.items()}
        )
        return network.to(device).eval()

    # -- the trunk protocol (skmdn._trunk.Trunk) ---------------------------

    def fitted(self, X, sample_weight):
        """Return the module trunk itself: it learns nothing before training."""
        return self

    @staticmethod
    def random_scope(seed, device):
        """Fork and seed torch's global generators for the whole fit.

        The module's constructor and its dropout layers draw from them; they
        get a stream of their own, derived from ``seed`` (not a copy of the
        shuffles'). See :func:`seeded_rng`.
        """
        global_seed = int(np.random.SeedSequence(seed).generate_state(1)[0])
        return seeded_rng(global_seed, device)

    def new_trainer(
        self, head, data, previous, *, out_biases, generator, plan, log_det
    ):
        """Return the :class:`ModuleTrainer` of a fresh network or of ``previous[0]``.

        Call it inside :meth:`random_scope`.
        """
        if previous is None:
            network = self.new_network(
                head, data.X[:PROBE_ROWS], out_biases[0], generator
            )
        else:
            network = self.load_network(previous[0].weights, data.X.device).train()
        params = flatten_(network, data.X.dtype)
        trained = [p for p in network.parameters() if p.requires_grad]
        lr = plan.learning_rate_init
        if previous is None:
            optimizer = TorchAdam(trained, lr)
        else:
            # the step size is a parameter: a warm start uses the current one
            optimizer = TorchAdam.from_numpy(previous[0].optimizer, trained, lr)
        return ModuleTrainer(
            network,
            params,
            head,
            optimizer,
            **plan.trainer_kwargs(log_det, generator),
        )

    def outputs(self, states, X, device):
        """Return the head's outputs of every network; numpy in and out.

        Parameters
        ----------
        states : list of NetworkState
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
                network = state.built(
                    str(device), lambda s=state: self.load_network(s.weights, device)
                )
                out = [
                    network(X_t[start : start + EVAL_CHUNK])
                    for start in range(0, X_t.shape[0], EVAL_CHUNK)
                ]
                outputs.append(torch.cat(out).cpu().numpy())
        return np.stack(outputs)

    @staticmethod
    def dtype(states):
        """Return the numpy dtype the networks were trained in."""
        return states[0].weights["head.weight"].dtype

    @staticmethod
    def public_attributes(states):
        """``state_dicts_``: one ``state_dict`` of numpy arrays per network."""
        return {"state_dicts_": [dict(s.weights) for s in states]}

    def reexpressed(self, state, head, old_x, old_y, new_x, new_y):
        """``state`` with its head rewritten for targets standardised anew.

        See :meth:`MixtureHead.reexpress_outputs`; the inputs of a module
        cannot be re-expressed in general (``reexpresses_inputs`` is False),
        so their standardisation is kept and ``old_x``, ``new_x`` are unused.
        """
        state_dict = dict(state.weights)
        coefs = [state_dict["head.weight"].T.copy()]  # (m, width), the MLP layout
        intercepts = [state_dict["head.bias"].copy()]
        head.reexpress_outputs(
            coefs, intercepts, old_y.location, old_y.scale, new_y.location, new_y.scale
        )
        state_dict["head.weight"] = np.ascontiguousarray(coefs[0].T)
        state_dict["head.bias"] = intercepts[0]
        return replace(state, weights=state_dict)


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


class ModuleTrainer(BaseTrainer):
    """Runs epochs of mini-batch Adam on the weighted mixture NLL, by autograd.

    One network (``M = 1``): ``params`` is the flat tensor that the network
    views, as a row.

    Parameters
    ----------
    network : MixtureNetwork
        Flattened by :func:`flatten_`; trained in place.
    params : Tensor of shape (n_values,)
        The flat tensor that ``network`` views.
    head : MixtureHead
    optimizer : TorchAdam
    **kwargs
        The keywords of :class:`~skmdn._training.BaseTrainer`. The L2
        penalty ``alpha`` applies to the parameters of two or more
        dimensions (weight matrices, kernels, embeddings), not to biases or
        normalisation scales.
    """

    def __init__(self, network, params, head, optimizer, **kwargs):
        super().__init__(head, params.unsqueeze(0), optimizer, **kwargs)
        self.network = network
        self._trained = [p for p in network.parameters() if p.requires_grad]
        alpha = self.alpha
        self._weights = [p for p in self._trained if p.ndim >= 2] if alpha > 0 else []

    def penalty(self):
        """``0.5 * sum(W**2)``: the L2 term before division by the batch weight."""
        with torch.no_grad():
            return 0.5 * sum(float((w * w).sum()) for w in self._weights)

    def run_epoch(self, data):
        """One pass over shuffled mini-batches in training mode; the mean NLL.

        ``data`` is a :class:`~skmdn._batches.TrainingData` of one network;
        returns its mean training loss as an array of shape (1,).
        """
        self.network.train()
        self._probe = data.X  # the rows that advice() tries the module on
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
        return np.array([loss]) - data.train_jacobian

    def marginal_params(self, m, bias):
        """Return the flat parameters, the head's weight zeroed, its bias ``bias``."""
        head = self.network.head
        with torch.no_grad():
            saved = self.params[0].clone()
            head.weight.zero_()
            head.bias.copy_(torch.as_tensor(bias))
            row = self.params[0].clone()
            self.params[0].copy_(saved)
        return row

    def forward(self, m, X):
        """Return the network's outputs (n, width) for inputs ``X`` (``m`` is 0)."""
        return self.network(X)

    @contextmanager
    def _evaluating(self):
        """Eval mode (dropout off, batch norm's running statistics) inside."""
        self.network.eval()
        try:
            yield
        finally:
            self.network.train()

    def score(self, data):
        """Mean weighted validation log-likelihood (original units), in eval mode."""
        with self._evaluating():
            return super().score(data)

    def validation_log_prob(self, m, data):
        """Per-row validation log-likelihood, in eval mode."""
        with self._evaluating():
            return super().validation_log_prob(m, data)

    def scale_factor(self, m, data):
        """Return the validation rows' best factor of the scales, in eval mode."""
        with self._evaluating():
            return super().scale_factor(m, data)

    def advice(self, probe_rows=1024):
        """Name the module when its outputs are not finite for finite inputs."""
        name = type(self.network.trunk).__name__
        X = self._probe
        with torch.no_grad():
            finite = [
                bool(torch.isfinite(self.network.train(mode)(X[:probe_rows])).all())
                for mode in (False, True)
            ]
        self.network.train()
        if not all(finite):
            mode = "evaluation" if not finite[0] else "training"
            return (
                f"The module {name} returns non-finite outputs for finite inputs "
                f"(in {mode} mode): check its forward pass."
            )
        return f"Check the module {name}'s forward pass, or " + (
            super().advice()[0].lower() + super().advice()[1:]
        )

    def weights(self, m):
        """Return the network's ``state_dict`` as numpy arrays on the CPU."""
        self.network.eval()
        return {
            k: v.detach().cpu().numpy().copy()
            for k, v in self.network.state_dict().items()
        }


class ModuleParamsMixin:
    """``get_params`` and ``set_params`` that route ``module__<name>`` parameters.

    Each entry of an estimator's ``module_params`` dict is also a parameter
    ``module__<name>``, as skorch's are, so that a grid search can tune the
    arguments of a user's module.
    """

    def get_params(self, deep=True):
        """Get parameters for this estimator.

        Parameters
        ----------
        deep : bool, default=True
            If True, will return the parameters for this estimator and
            contained subobjects that are estimators, and each entry of
            ``module_params`` as ``module__<name>``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        if deep and isinstance(self.module_params, dict):
            params.update({f"module__{k}": v for k, v in self.module_params.items()})
        return params

    def set_params(self, **params):
        """Set the parameters of this estimator.

        ``module__<name>=value`` sets the entry ``name`` of ``module_params``
        (in a new dict), as skorch's ``module__`` parameters do; every other
        parameter is set as by :meth:`sklearn.base.BaseEstimator.set_params`.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.

        Raises
        ------
        ValueError
            If a parameter is not one of the estimator's, or ``module__`` is
            given without a name.
        """
        prefix = "module__"
        routed = {
            k[len(prefix) :]: params.pop(k)
            for k in list(params)
            if k.startswith(prefix)
        }
        super().set_params(**params)
        if routed:
            if "" in routed:
                raise ValueError("module__ needs the name of a module argument.")
            current = self.module_params if isinstance(self.module_params, dict) else {}
            self.module_params = {**current, **routed}
        return self
