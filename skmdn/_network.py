"""The trunk: an MLP on one flat parameter vector, with a hand-written backward pass.

The parameters of every layer live in one flat vector, so that the optimiser,
gradient clipping, snapshots and roll-back each act on a single tensor. The
trunk knows only its number of outputs and, in training, a gradient at the
outputs to back-propagate: what the outputs mean is the mixture head's
business (:mod:`skmdn._head`). The fitted estimator keeps the parameters as
numpy arrays (``coefs_``, ``intercepts_``, in ``MLPRegressor``'s layout), so
a pickled model holds no torch objects.
"""

# SPDX-License-Identifier: BSD-3-Clause

from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import pairwise
from typing import ClassVar

import numpy as np
import torch
from scipy.special import expit

from skmdn._batches import EpochBatches
from skmdn._encoding import PiecewiseLinear
from skmdn._optim import AdamState
from skmdn._training import BaseTrainer


def _np_relu(a):
    return np.maximum(a, 0, out=a)


def _identity(a):
    return a


def _tanh(a):
    """tanh; on the CPU as ``2 sigmoid(2 a) - 1`` (see :func:`_tanh_`)."""
    if not a.is_cpu:
        return torch.tanh(a)
    return torch.sigmoid(2.0 * a) * 2.0 - 1.0


def _tanh_(a):
    """In-place tanh; on the CPU as ``2 sigmoid(2 a) - 1``.

    torch's CPU tanh kernel is several times slower than its sigmoid kernel
    (torch 2.13: 43 against 7 microseconds on a (5, 32, 64) float64 batch);
    the identity costs an absolute error of about one unit in the last place
    of 1, far below the gradient noise of a mini-batch. Training and
    validation only: predictions use numpy's tanh.
    """
    if not a.is_cpu:
        return a.tanh_()
    return torch.sigmoid_(a.mul_(2.0)).mul_(2.0).sub_(1.0)


# activation name -> (torch function, numpy function); names as in MLPRegressor.
ACTIVATIONS = {
    "identity": (_identity, _identity),
    "logistic": (torch.sigmoid, expit),
    "tanh": (_tanh, np.tanh),
    "relu": (torch.relu, _np_relu),
}


def _tanh_grad_(d, t):
    d.addcmul_(d, t * t, value=-1.0)  # d * (1 - t**2)


def _logistic_grad_(d, t):
    d.mul_(t).mul_(1.0 - t)  # d * t * (1 - t)


def _relu_grad_(d, t):
    d.masked_fill_(t <= 0, 0.0)


def _identity_grad_(d, t):
    pass


# activation name -> (in-place torch function, in-place multiplication of an
# upstream gradient by the derivative, written through the activation's output)
_TRAIN_ACTIVATIONS = {
    "identity": (_identity, _identity_grad_),
    "logistic": (torch.sigmoid_, _logistic_grad_),
    "tanh": (_tanh_, _tanh_grad_),
    "relu": (torch.relu_, _relu_grad_),
}


def _addmm(bias, a, b):
    """Return ``bias + a @ b``, one product per network with a leading axis."""
    if a.dim() == 2:
        return torch.addmm(bias, a, b)
    return torch.baddbmm(bias, a, b)


def _mm(a, b):
    """Return ``a @ b``; with a leading network axis, one product per network."""
    return torch.mm(a, b) if a.dim() == 2 else torch.bmm(a, b)


def _mm_into(out, a, b):
    """Write ``a @ b`` into the view ``out`` (of the flat gradient)."""
    if a.dim() == 2:
        torch.mm(a, b, out=out)
    else:  # the views of M networks are not contiguous: one copy
        out.copy_(torch.bmm(a, b))


def _sum_into(out, a, dim):
    """Write the sum of ``a`` over ``dim`` into the view ``out``."""
    if a.dim() == 2:
        torch.sum(a, dim, out=out)
    else:
        out.copy_(a.sum(dim))


@dataclass(frozen=True)
class MLP:
    """Shapes of the MLP and the map between its flat vector and its layers.

    Parameters
    ----------
    n_features : int
        Number of inputs.
    hidden_layer_sizes : tuple of int
        Width of each hidden layer.
    n_out : int
        Width of the (linear) output layer.
    activation : str
        Key of :data:`ACTIVATIONS`, for the hidden layers.
    piecewise_linear_bins : int or None, default=None
        Bins of each input's piecewise-linear encoding, at most
        (:mod:`skmdn._encoding`), in front of the first layer, which then
        reads the inputs and their bins; None: the inputs alone.
    encoding : PiecewiseLinear or None, default=None
        The bins, learnt from the training inputs by :meth:`fitted`. Not
        compared: a warm start keeps the first fit's.
    """

    n_features: int
    hidden_layer_sizes: tuple
    n_out: int
    activation: str
    piecewise_linear_bins: int | None = None
    encoding: PiecewiseLinear | None = field(default=None, compare=False)

    # the trunk protocol (skmdn._trunk.Trunk)
    batched: ClassVar[bool] = True
    public_names: ClassVar[tuple] = ("coefs_", "intercepts_")

    @property
    def reexpresses_inputs(self):
        """The raw inputs' first layer is affine; an encoding's bins are not."""
        return self.piecewise_linear_bins is None

    @property
    def layer_sizes(self):
        """Widths of all layers, input first (the encoding's width, if any)."""
        if self.piecewise_linear_bins is None:
            n_in = self.n_features
        elif self.encoding is None:
            raise RuntimeError("The encoding's bins come from fitted(X, ...).")
        else:
            n_in = self.encoding.n_outputs
        return [n_in, *self.hidden_layer_sizes, self.n_out]

    def fitted(self, X, sample_weight):
        """Return the trunk with its encoding's bins learnt from ``X``, if any.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The standardised training inputs.
        sample_weight : ndarray of shape (n_samples,)
            Their weights.
        """
        if self.piecewise_linear_bins is None:
            return self
        encoding = PiecewiseLinear.from_data(
            X, self.piecewise_linear_bins, sample_weight
        )
        return replace(self, encoding=encoding)

    def _encoded(self, X):
        """Return the first layer's inputs for standardised ``X`` (numpy or torch)."""
        if self.encoding is None:
            return X
        if isinstance(X, torch.Tensor):
            return self.encoding.torch(X)
        return self.encoding.numpy(X)

    @property
    def shapes(self):
        """``(fan_in, fan_out)`` of every linear layer."""
        return list(pairwise(self.layer_sizes))

    @property
    def n_params(self):
        """Length of the flat parameter vector."""
        return sum(i * o + o for i, o in self.shapes)

    def unflatten(self, flat):
        """Return views ``[(W, b), ...]`` into ``flat``; ``W`` is (fan_in, fan_out).

        A flat tensor of shape ``(M, n_params)`` (``M`` networks) gives views
        with that leading axis, ``(M, fan_in, fan_out)`` and ``(M, fan_out)``.
        """
        lead = flat.shape[:-1]
        layers, start = [], 0
        for fan_in, fan_out in self.shapes:
            stop = start + fan_in * fan_out
            layers.append(
                (
                    flat[..., start:stop].view(*lead, fan_in, fan_out),
                    flat[..., stop : stop + fan_out],
                )
            )
            start = stop + fan_out
        return layers

    def weight_mask(self, dtype):
        """Return a mask of the flat vector: 1 on weights, 0 on biases (L2 penalty)."""
        mask = torch.zeros(self.n_params, dtype=dtype)
        for weight, _ in self.unflatten(mask):
            weight.fill_(1.0)
        return mask

    def init_params(self, generator, dtype, out_bias):
        """Glorot-uniform weights; a small output layer with the given bias.

        Parameters
        ----------
        generator : torch.Generator
            Source of randomness.
        dtype : torch.dtype
            Dtype of the returned vector.
        out_bias : ndarray of shape (n_out,)
            Bias of the output layer. Its weights are a tenth of Glorot's, so
            every row starts near the output that this bias gives.

        Returns
        -------
        Tensor of shape (n_params,)
        """
        flat = torch.empty(self.n_params, dtype=torch.float64)
        layers = self.unflatten(flat)
        factor = 2.0 if self.activation == "logistic" else 6.0
        for i, (weight, bias) in enumerate(layers):
            fan_in, fan_out = weight.shape
            bound = np.sqrt(factor / (fan_in + fan_out))
            if i == len(layers) - 1:
                bound *= 0.1
            weight.copy_(torch.rand(weight.shape, generator=generator) * 2 - 1)
            weight.mul_(bound)
            bias.copy_(torch.rand(bias.shape, generator=generator) * 2 - 1)
            bias.mul_(bound)
        layers[-1][1].copy_(torch.as_tensor(out_bias))
        return flat.to(dtype)

    def forward(self, flat, X):
        """Return the outputs ``(n, n_out)`` for ``X`` (differentiable in ``flat``)."""
        act = ACTIVATIONS[self.activation][0]
        layers = self.unflatten(flat)
        h = self._encoded(X)
        for weight, bias in layers[:-1]:
            h = act(torch.addmm(bias, h, weight))
        weight, bias = layers[-1]
        return torch.addmm(bias, h, weight)

    def loss_and_grad(self, layers, grad_layers, X, loss_and_out_grad):
        """Return a loss of the outputs; write its gradient into ``grad_layers``.

        A hand-written backward pass: ``loss_and_out_grad`` gives the loss and
        its gradient at the outputs, then one matrix product per weight and
        input gradient is written straight into the flat gradient vector. No
        autograd graph is built.

        Parameters
        ----------
        layers : list of (Tensor, Tensor)
            ``unflatten(params)``.
        grad_layers : list of (Tensor, Tensor)
            ``unflatten(grad)``: overwritten with the gradient.
        X : Tensor of shape (n, n_features) or (M, n, n_features)
            Inputs; with a leading axis, one batch per network, and
            ``layers`` carry the same leading axis (batched matrix products).
        loss_and_out_grad : callable
            ``out_t -> (loss, grad_t)`` for the transposed outputs ``out_t``
            of shape ([M,] n_out, n) (transposed, so that a head's parts are
            contiguous rows).

        Returns
        -------
        Tensor of shape () or (M,)
            The loss.
        """
        act, act_grad_ = _TRAIN_ACTIVATIONS[self.activation]
        h = self._encoded(X)
        acts = [h]
        for weight, bias in layers[:-1]:
            h = act(_addmm(bias.unsqueeze(-2), h, weight))
            acts.append(h)
        weight, bias = layers[-1]
        out_t = _addmm(bias.unsqueeze(-1), weight.mT, h.mT)
        loss, delta_t = loss_and_out_grad(out_t)
        grad_w, grad_b = grad_layers[-1]
        _mm_into(grad_w, h.mT, delta_t.mT)
        _sum_into(grad_b, delta_t, -1)
        delta = _mm(delta_t.mT, weight.mT)
        for i in range(len(layers) - 2, -1, -1):
            act_grad_(delta, acts[i + 1])
            grad_w, grad_b = grad_layers[i]
            _mm_into(grad_w, acts[i].mT, delta)
            _sum_into(grad_b, delta, -2)
            if i > 0:
                delta = _mm(delta, layers[i][0].mT)
        return loss

    def forward_numpy(self, coefs, intercepts, X):
        """Compute :meth:`forward` in numpy, for fast CPU prediction.

        Weights with a leading axis of ``M`` networks, ``(M, fan_in, fan_out)``
        and biases ``(M, fan_out)``, give outputs ``(M, n, n_out)``.
        """
        act = ACTIVATIONS[self.activation][1]
        h = self._encoded(X)
        for weight, bias in zip(coefs[:-1], intercepts[:-1], strict=True):
            h = h @ weight
            h += bias[..., None, :]
            h = act(h)
        out = h @ coefs[-1]
        out += intercepts[-1][..., None, :]
        return out

    def forward_on_device(self, coefs, intercepts, X, device):
        """Compute :meth:`forward` with torch on ``device``; numpy in and out.

        Weights carry a leading axis of ``M`` networks, as in
        :meth:`forward_numpy`; the networks run one after another.
        """
        X_t = torch.from_numpy(X).to(device)
        outputs = []
        with torch.inference_mode():
            for m in range(coefs[0].shape[0]):
                flat = self.from_numpy(
                    [c[m] for c in coefs], [b[m] for b in intercepts], X_t.dtype
                )
                outputs.append(self.forward(flat.to(device), X_t).cpu().numpy())
        return np.stack(outputs)

    @staticmethod
    def reexpress_inputs(coefs, intercepts, old_loc, old_scale, new_loc, new_scale):
        """Rewrite the first layer in place for inputs standardised anew.

        With ``x_old = (x - old_loc) / old_scale`` and ``x_new`` likewise, the
        first layer ``x_old @ W + b`` equals ``x_new @ W' + b'`` for
        ``W' = W * (new_scale / old_scale)[:, None]`` and
        ``b' = b + ((new_loc - old_loc) / old_scale) @ W``: the network's
        function of the raw inputs is unchanged.
        """
        W, b = coefs[0].astype(np.float64), intercepts[0].astype(np.float64)
        shift = (new_loc - old_loc) / old_scale
        intercepts[0][...] = b + shift @ W
        coefs[0][...] = W * (new_scale / old_scale)[:, None]

    def to_numpy(self, flat):
        """Copy the flat vector into ``coefs`` and ``intercepts`` lists of arrays."""
        layers = self.unflatten(flat.detach().cpu())
        coefs = [w.numpy().copy() for w, _ in layers]
        intercepts = [b.numpy().copy() for _, b in layers]
        return coefs, intercepts

    def from_numpy(self, coefs, intercepts, dtype):
        """Build a flat vector from ``coefs`` and ``intercepts``."""
        flat = torch.empty(self.n_params, dtype=dtype)
        for (weight, bias), c, b in zip(
            self.unflatten(flat), coefs, intercepts, strict=True
        ):
            weight.copy_(torch.from_numpy(np.asarray(c)))
            bias.copy_(torch.from_numpy(np.asarray(b)))
        return flat

    # -- the trunk protocol (skmdn._trunk.Trunk) ---------------------------

    def random_scope(self, seed, device):
        """Training draws only from its own generator: nothing to scope."""
        return nullcontext()

    def new_trainer(
        self, head, data, previous, *, out_biases, generator, plan, log_det
    ):
        """Return the :class:`FusedTrainer` of fresh networks, or of ``previous``."""
        dtype, device = data.X.dtype, data.X.device
        if previous is None:
            params = torch.stack(
                [self.init_params(generator, dtype, bias) for bias in out_biases]
            ).to(device)
            optimizer = AdamState.zeros_like(params, plan.learning_rate_init)
        else:
            params = torch.stack(
                [
                    self.from_numpy(p.weights["coefs"], p.weights["intercepts"], dtype)
                    for p in previous
                ]
            ).to(device)
            optimizer = AdamState.from_numpy(
                [p.optimizer for p in previous], dtype, device
            )
            # the step size is a parameter: a warm start uses the current one
            optimizer.lr[:] = plan.learning_rate_init
        return FusedTrainer(
            self,
            head,
            params,
            optimizer,
            **plan.trainer_kwargs(log_det, generator),
        )

    def outputs(self, states, X, device):
        """Return every network's head outputs (M, n, n_out); numpy in and out.

        On the CPU in numpy (broadcast over the leading network axis), else
        with torch on ``device``.
        """
        if len(states) == 1 and torch.device(device).type == "cpu":
            weights = states[0].weights
            return self.forward_numpy(weights["coefs"], weights["intercepts"], X)[None]
        public = self.public_attributes(states)
        coefs, intercepts = public["coefs_"], public["intercepts_"]
        if torch.device(device).type != "cpu":
            return self.forward_on_device(coefs, intercepts, X, device)
        return self.forward_numpy(coefs, intercepts, X)

    @staticmethod
    def dtype(states):
        """Return the numpy dtype the networks were trained in."""
        return states[0].weights["coefs"][0].dtype

    @staticmethod
    def public_attributes(states):
        """``coefs_`` and ``intercepts_``: each layer's arrays, networks stacked."""
        coefs = [s.weights["coefs"] for s in states]
        intercepts = [s.weights["intercepts"] for s in states]
        return {
            "coefs_": [np.stack(c) for c in zip(*coefs, strict=True)],
            "intercepts_": [np.stack(b) for b in zip(*intercepts, strict=True)],
        }

    def reexpressed(self, state, head, old_x, old_y, new_x, new_y):
        """``state`` with weights for new standardisations of inputs and targets.

        Exact for the inputs (the first layer is affine in them) and for the
        component means; the component scales are re-expressed by a shift of
        their raw outputs (see :meth:`MixtureHead.reexpress_outputs`).
        """
        coefs = [c.copy() for c in state.weights["coefs"]]
        intercepts = [b.copy() for b in state.weights["intercepts"]]
        if self.reexpresses_inputs:  # else the standardisation stays the first's
            self.reexpress_inputs(
                coefs,
                intercepts,
                old_x.location,
                old_x.scale,
                new_x.location,
                new_x.scale,
            )
        head.reexpress_outputs(
            coefs, intercepts, old_y.location, old_y.scale, new_y.location, new_y.scale
        )
        return replace(state, weights={"coefs": coefs, "intercepts": intercepts})


class FusedTrainer(BaseTrainer):
    """Runs epochs of mini-batch Adam on the weighted mixture NLL of M MLPs.

    The ``M`` networks are the rows of one ``(M, n_params)`` tensor and step
    together (batched matrix products), each on its own rows, shuffles,
    noise and step size, with the hand-written gradient of
    :meth:`MLP.loss_and_grad` and the head's fused loss.

    Parameters
    ----------
    trunk : MLP
        The networks' trunk.
    head : MixtureHead
        The mixture head on the trunk's outputs.
    params : Tensor of shape (M, n_params)
        Flat parameters, one row per network, updated in place.
    optimizer : AdamState
        Adam moments and step sizes, updated in place.
    **kwargs
        The keywords of :class:`~skmdn._training.BaseTrainer`.
    """

    def __init__(self, trunk, head, params, optimizer, **kwargs):
        super().__init__(head, params, optimizer, **kwargs)
        self.trunk = trunk
        self._mask = trunk.weight_mask(params.dtype).to(params.device)
        self._grad = torch.zeros_like(params)
        # a single network runs the unbatched kernels on row views
        single = params.shape[0] == 1
        self._layers = trunk.unflatten(params[0] if single else params)
        self._grad_layers = trunk.unflatten(self._grad[0] if single else self._grad)

    def marginal_params(self, m, bias):
        """Network ``m``'s parameters, the output layer's weights zeroed, ``bias``."""
        row = self.params[m].clone()
        weight, out_bias = self.trunk.unflatten(row)[-1]
        weight.zero_()
        out_bias.copy_(torch.as_tensor(bias))
        return row

    def penalty(self, params):
        """``0.5 * sum(W**2)`` of each network (row of ``params``), shape (M,)."""
        return 0.5 * (params * params * self._mask).sum(1)

    def _working_set(self):
        """Parameters, gradient, optimiser and layer views of the active networks.

        With every network active these are the trainer's own tensors. Once
        some have stopped, the active rows are copied out for the epoch (and
        written back at the end of :meth:`run_epoch`): per step, only they
        are computed and updated, and a single one runs the unbatched kernels.
        """
        M = self.params.shape[0]
        rows = np.flatnonzero(self.active)
        if len(rows) == M:
            layers, grad_layers = self._layers, self._grad_layers
            return None, self.params, self._grad, self.optimizer, layers, grad_layers
        index = torch.as_tensor(rows, device=self.params.device)
        params = self.params.index_select(0, index)
        grad = torch.zeros_like(params)
        single = len(rows) == 1
        layers = self.trunk.unflatten(params[0] if single else params)
        grad_layers = self.trunk.unflatten(grad[0] if single else grad)
        optimizer = self.optimizer.take(rows)
        return index, params, grad, optimizer, layers, grad_layers

    def run_epoch(self, data):
        """One pass over shuffled mini-batches; the mean training NLL per network.

        See :meth:`skmdn._training.BaseTrainer.run_epoch`.
        """
        M = data.rows.shape[0]
        device = data.X.device
        batches = EpochBatches(self, data)
        index, params, grad, optimizer, layers, grad_layers = self._working_set()
        active = slice(None) if index is None else np.flatnonzero(self.active)
        k = params.shape[0]
        single = k == 1
        total = torch.zeros(k, dtype=torch.float64, device=device)
        penalty_total = torch.zeros(k, dtype=torch.float64, device=device)
        weight = batches.weight if index is None else batches.weight[:, active]
        weight_t = batches.weight_t if index is None else batches.weight_t[:, index]
        for j, xb, yb, coef, stepping in batches:
            inv = batches.inv[j]
            if index is not None:  # the stopped networks are left out
                xb, yb, coef, inv = xb[index], yb[index], coef[index], inv[index]
                stepping = None if stepping is None else stepping[active]
            if single:
                xb, yb, coef = xb[0], yb[0], coef[0]
            loss = self.trunk.loss_and_grad(
                layers,
                grad_layers,
                xb,
                partial(self.head.loss_and_grad, y_t=yb, coef=coef),
            )
            if self.alpha > 0:
                grad.addcmul_(self._mask, params * (self.alpha * inv[:, None]))
                penalty_total.add_(self.penalty(params), alpha=self.alpha)
            if self.clip_grad_norm is not None:
                norm = torch.linalg.vector_norm(grad, dim=1, keepdim=True)
                grad.mul_(torch.clamp(self.clip_grad_norm / (norm + 1e-12), max=1.0))
            optimizer.step(params, grad, stepping)
            if single:
                total.add_(loss, alpha=float(weight[j, 0]))
            else:
                total.add_(loss * weight_t[j])
        if index is not None:
            self.params.index_copy_(0, index, params)
            self.optimizer.put(active, optimizer)
        w_total = batches.total if index is None else batches.total[index]
        losses = np.full(M, np.nan)
        losses[active] = (total / w_total + penalty_total / w_total).cpu().numpy()
        return losses + self.log_det - data.train_jacobian

    def forward(self, m, X):
        """Network ``m``'s outputs (n, width) for inputs ``X``."""
        return self.trunk.forward(self.params[m], X)

    def weights(self, m):
        """Network ``m``'s ``coefs`` and ``intercepts`` (numpy)."""
        coefs, intercepts = self.trunk.to_numpy(self.params[m])
        return {"coefs": coefs, "intercepts": intercepts}
