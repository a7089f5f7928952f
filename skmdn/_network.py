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

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
from scipy.special import expit


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
    """

    n_features: int
    hidden_layer_sizes: tuple
    n_out: int
    activation: str

    @property
    def layer_sizes(self):
        """Widths of all layers, input first."""
        return [self.n_features, *self.hidden_layer_sizes, self.n_out]

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
        h = X
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
        if X.dim() == 3:
            return self._batched_loss_and_grad(
                layers, grad_layers, X, loss_and_out_grad
            )
        act, act_grad_ = _TRAIN_ACTIVATIONS[self.activation]
        acts = [X]
        h = X
        for weight, bias in layers[:-1]:
            h = act(torch.addmm(bias, h, weight))
            acts.append(h)
        weight, bias = layers[-1]
        out_t = torch.addmm(bias.unsqueeze(1), weight.T, h.T)
        loss, delta_t = loss_and_out_grad(out_t)
        grad_w, grad_b = grad_layers[-1]
        torch.mm(h.T, delta_t.T, out=grad_w)
        torch.sum(delta_t, 1, out=grad_b)
        delta = torch.mm(delta_t.T, weight.T)
        for i in range(len(layers) - 2, -1, -1):
            act_grad_(delta, acts[i + 1])
            grad_w, grad_b = grad_layers[i]
            torch.mm(acts[i].T, delta, out=grad_w)
            torch.sum(delta, 0, out=grad_b)
            if i > 0:
                delta = torch.mm(delta, layers[i][0].T)
        return loss

    def _batched_loss_and_grad(self, layers, grad_layers, X, loss_and_out_grad):
        """:meth:`loss_and_grad` for ``M`` networks at once (``bmm``)."""
        act, act_grad_ = _TRAIN_ACTIVATIONS[self.activation]
        acts = [X]
        h = X
        for weight, bias in layers[:-1]:
            h = act(torch.baddbmm(bias.unsqueeze(1), h, weight))
            acts.append(h)
        weight, bias = layers[-1]
        out_t = torch.baddbmm(
            bias.unsqueeze(2), weight.transpose(1, 2), h.transpose(1, 2)
        )
        loss, delta_t = loss_and_out_grad(out_t)
        grad_w, grad_b = grad_layers[-1]
        grad_w.copy_(torch.bmm(h.transpose(1, 2), delta_t.transpose(1, 2)))
        grad_b.copy_(delta_t.sum(2))
        delta = torch.bmm(delta_t.transpose(1, 2), weight.transpose(1, 2))
        for i in range(len(layers) - 2, -1, -1):
            act_grad_(delta, acts[i + 1])
            grad_w, grad_b = grad_layers[i]
            grad_w.copy_(torch.bmm(acts[i].transpose(1, 2), delta))
            grad_b.copy_(delta.sum(1))
            if i > 0:
                delta = torch.bmm(delta, layers[i][0].transpose(1, 2))
        return loss

    def forward_numpy(self, coefs, intercepts, X):
        """Compute :meth:`forward` in numpy, for fast CPU prediction.

        Weights with a leading axis of ``M`` networks, ``(M, fan_in, fan_out)``
        and biases ``(M, fan_out)``, give outputs ``(M, n, n_out)``.
        """
        act = ACTIVATIONS[self.activation][1]
        h = X
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
