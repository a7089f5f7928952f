"""The MDN network: an MLP trunk and one fused mixture head, on a flat parameter vector.

The parameters of every layer live in one flat vector, so that the optimiser,
gradient clipping, snapshots and roll-back each act on a single tensor. The
fitted estimator keeps them as numpy arrays (``coefs_``, ``intercepts_``, in
``MLPRegressor``'s layout), so a pickled model holds no torch objects.
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
from scipy.special import expit

from skmdn._mixture import nll_and_head_grad


def _np_relu(a):
    return np.maximum(a, 0, out=a)


def _identity(a):
    return a


# activation name -> (torch function, numpy function); names as in MLPRegressor.
ACTIVATIONS = {
    "identity": (_identity, _identity),
    "logistic": (torch.sigmoid, expit),
    "tanh": (torch.tanh, np.tanh),
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
    "tanh": (torch.tanh_, _tanh_grad_),
    "relu": (torch.relu_, _relu_grad_),
}


def _softplus_np(a):
    # log(1 + exp(a)), stably; several times faster than np.logaddexp(0, a)
    out = np.exp(-np.abs(a))
    np.log1p(out, out=out)
    out += np.maximum(a, 0)
    return out


def inverse_softplus(a):
    """Inverse of ``softplus(t) = log(1 + exp(t))`` for positive ``a``."""
    a = np.asarray(a, dtype=np.float64)
    return a + np.log(-np.expm1(-a))


@dataclass(frozen=True)
class NetworkLayout:
    """Shapes of the MDN and the map between its flat vector and its layers.

    Parameters
    ----------
    n_features : int
        Number of inputs.
    hidden_layer_sizes : tuple of int
        Width of each hidden layer.
    n_components : int
        Number of mixture components ``K``.
    n_outputs : int
        Number of targets ``D``.
    activation : str
        Key of :data:`ACTIVATIONS`.
    min_scale : float
        Floor added to every component scale (standardised target units).
    """

    n_features: int
    hidden_layer_sizes: tuple
    n_components: int
    n_outputs: int
    activation: str
    min_scale: float

    @property
    def n_head(self):
        """Width of the output layer: ``K`` logits, ``K*D`` means, ``K*D`` scales."""
        return self.n_components * (1 + 2 * self.n_outputs)

    @property
    def layer_sizes(self):
        """Widths of all layers, input first."""
        return [self.n_features, *self.hidden_layer_sizes, self.n_head]

    @property
    def shapes(self):
        """``(fan_in, fan_out)`` of every linear layer."""
        sizes = self.layer_sizes
        return list(pairwise(sizes))

    @property
    def n_params(self):
        """Length of the flat parameter vector."""
        return sum(i * o + o for i, o in self.shapes)

    def unflatten(self, flat):
        """Return views ``[(W, b), ...]`` into ``flat``; ``W`` is (fan_in, fan_out)."""
        layers, start = [], 0
        for fan_in, fan_out in self.shapes:
            stop = start + fan_in * fan_out
            layers.append(
                (flat[start:stop].view(fan_in, fan_out), flat[stop : stop + fan_out])
            )
            start = stop + fan_out
        return layers

    def weight_mask(self, dtype):
        """Return a mask of the flat vector: 1 on weights, 0 on biases (L2 penalty)."""
        mask = torch.zeros(self.n_params, dtype=dtype)
        for weight, _ in self.unflatten(mask):
            weight.fill_(1.0)
        return mask

    def init_params(self, generator, dtype, loc_bias, scale_bias):
        """Glorot-uniform weights; head biases place the components on the data.

        Parameters
        ----------
        generator : torch.Generator
            Source of randomness.
        dtype : torch.dtype
            Dtype of the returned vector.
        loc_bias : ndarray of shape (K, D)
            Initial component means (standardised units).
        scale_bias : ndarray of shape (K, D)
            Initial component scales (standardised units), above ``min_scale``.

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
                # A small head starts every row at the same, data-placed mixture.
                bound *= 0.1
            weight.copy_(torch.rand(weight.shape, generator=generator) * 2 - 1)
            weight.mul_(bound)
            bias.copy_(torch.rand(bias.shape, generator=generator) * 2 - 1)
            bias.mul_(bound)
        head_bias = layers[-1][1]
        K, D = self.n_components, self.n_outputs
        head_bias[:K] = 0.0  # near-uniform mixing proportions
        head_bias[K : K + K * D] = torch.as_tensor(loc_bias.reshape(-1))
        raw = inverse_softplus(np.asarray(scale_bias) - self.min_scale)
        head_bias[K + K * D :] = torch.as_tensor(raw.reshape(-1))
        return flat.to(dtype)

    def split_head(self, out):
        """Split head outputs ``(..., n_head)`` into logits, means and raw scales."""
        K, D = self.n_components, self.n_outputs
        lead = out.shape[:-1]
        logits = out[..., :K]
        loc = out[..., K : K + K * D].reshape(*lead, K, D)
        raw_scale = out[..., K + K * D :].reshape(*lead, K, D)
        return logits, loc, raw_scale

    def forward(self, flat, X):
        """Mixture parameters for inputs ``X`` (torch; differentiable in ``flat``).

        Returns
        -------
        logits : Tensor of shape (n, K)
        loc : Tensor of shape (n, K, D)
        scale : Tensor of shape (n, K, D)
        """
        act = ACTIVATIONS[self.activation][0]
        layers = self.unflatten(flat)
        h = X
        for weight, bias in layers[:-1]:
            h = act(torch.addmm(bias, h, weight))
        weight, bias = layers[-1]
        logits, loc, raw = self.split_head(torch.addmm(bias, h, weight))
        scale = torch.nn.functional.softplus(raw) + self.min_scale
        return logits, loc, scale

    def loss_and_grad(self, layers, grad_layers, X, Y_t, coef):
        """Weighted NLL of a batch; its gradient is written into ``grad_layers``.

        A hand-written backward pass: the closed-form gradient of the mixture
        NLL at the head (:func:`~skmdn._mixture.nll_and_head_grad`), then one
        matrix product per weight and input gradient, written straight into
        the flat gradient vector. No autograd graph is built.

        Parameters
        ----------
        layers : list of (Tensor, Tensor)
            ``unflatten(params)``.
        grad_layers : list of (Tensor, Tensor)
            ``unflatten(grad)``: overwritten with the gradient.
        X : Tensor of shape (n, n_features)
        Y_t : Tensor of shape (D, n)
            Targets, transposed.
        coef : Tensor of shape (n,)
            Per-row loss weights ``w_i / sum(w)``.

        Returns
        -------
        Tensor of shape ()
            The loss ``-sum_i coef_i log p(y_i | x_i)``.
        """
        act, act_grad_ = _TRAIN_ACTIVATIONS[self.activation]
        acts = [X]
        h = X
        for weight, bias in layers[:-1]:
            h = act(torch.addmm(bias, h, weight))
            acts.append(h)
        weight, bias = layers[-1]
        # the head is computed transposed, so its parts are contiguous rows
        out_t = torch.addmm(bias.unsqueeze(1), weight.T, h.T)
        loss, delta_t = nll_and_head_grad(
            out_t, Y_t, coef, self.n_components, self.min_scale
        )
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

    def forward_numpy(self, coefs, intercepts, X):
        """Compute :meth:`forward` in numpy, for fast CPU prediction.

        Weights with a leading axis of ``M`` networks, ``(M, fan_in, fan_out)``
        and biases ``(M, fan_out)``, give outputs with that leading axis.
        """
        act = ACTIVATIONS[self.activation][1]
        h = X
        for weight, bias in zip(coefs[:-1], intercepts[:-1], strict=True):
            h = h @ weight
            h += bias[..., None, :]
            h = act(h)
        out = h @ coefs[-1]
        out += intercepts[-1][..., None, :]
        logits, loc, raw = self.split_head(out)
        scale = _softplus_np(raw) + self.min_scale
        return logits, loc, scale

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
