"""The trunk protocol: what the estimator and the training loop ask of a trunk.

A trunk maps standardised inputs to the mixture head's outputs. Two kinds
implement the protocol: the built-in MLP (:class:`skmdn._network.MLP`, a
hand-written fused gradient, the ``M`` networks of an ensemble batched) and a
user's ``torch.nn.Module`` (:class:`skmdn._module.ModuleTrunk`, autograd, one
network at a time). The estimator (:mod:`skmdn._estimator`) and
:func:`skmdn._training.fit_networks` know only this protocol; nothing else
branches on the kind of trunk. :func:`make_trunk` picks one from the
estimator's parameters.

A trunk is a frozen dataclass of its architecture (compared by value: a warm
start checks that it did not change, and it is pickled with the fitted
model, so it holds numpy and plain values only). Each network's fitted state
is one :class:`skmdn._training.NetworkState` whose ``weights`` dict is laid
out as the trunk says.
"""

# SPDX-License-Identifier: BSD-3-Clause

from typing import ClassVar, Protocol

import torch

from skmdn._module import ModuleTrunk
from skmdn._network import MLP

# What the estimator's ``device`` parameter accepts.
DEVICE_TYPES = (str, torch.device)


class Trunk(Protocol):
    """What a trunk provides (a :class:`typing.Protocol`, for the docs and tests).

    Attributes
    ----------
    n_features : int
        Number of inputs.
    batched : bool
        True: the ``M`` networks of an ensemble train together, with one
        trainer (rows of one parameter tensor); False: one network at a time.
    reexpresses_inputs : bool
        Whether :meth:`reexpressed` rewrites the weights for a new input
        standardisation (``partial_fit`` then updates it with every block).
    public_names : tuple of str
        The public fitted attributes of :meth:`public_attributes`.
    """

    n_features: int
    batched: ClassVar[bool]
    reexpresses_inputs: bool
    public_names: ClassVar[tuple]

    def fitted(self, X, sample_weight):
        """Return the trunk with what it learns from the inputs before training.

        Called on a first fit only, with the standardised training inputs
        and their weights: the built-in MLP learns its piecewise-linear
        encoding's bins; a warm start or ``partial_fit`` keeps the trunk of
        the first fit.
        """

    def random_scope(self, seed, device):
        """Return a context manager around the training of a group of networks.

        Where a trunk draws from torch's global generators (a module's
        initialisation, dropout), it scopes and seeds them here.
        """

    def new_trainer(
        self, head, data, previous, *, out_biases, generator, plan, log_det
    ):
        """Return a :class:`~skmdn._training.BaseTrainer` for a group of networks.

        Parameters
        ----------
        head : MixtureHead
        data : TrainingData
            The group's standardised tensors (their dtype and device are the
            training's).
        previous : list of NetworkState or None
            The states to continue from, or None for fresh networks.
        out_biases : list of ndarray of shape (head.width,)
            Fresh networks' initial output biases (the initial components).
        generator : torch.Generator
            Source of the initial weights, then of the shuffles and noise.
        plan : TrainingPlan
            The resolved settings (step size, batch size, noise, penalty).
        log_det : float
            ``sum(log y_scale)``.

        The trainer may implement ``marginal_params`` (see
        :class:`~skmdn._training.BaseTrainer`): early stopping then keeps
        the marginal of the targets for a network that does not beat it.
        """

    def outputs(self, states, X, device):
        """Return every network's head outputs (M, n, width); numpy in and out."""

    def dtype(self, states):
        """Return the numpy dtype the networks were trained in (for prediction)."""

    def public_attributes(self, states):
        """Return the public fitted attributes, a dict keyed by ``public_names``."""

    def reexpressed(self, state, head, old_x, old_y, new_x, new_y):
        """``state`` with weights for new input and target standardisations."""


# Every public weight attribute of every trunk: a refit with another trunk
# removes those of the previous one.
PUBLIC_NAMES = (*MLP.public_names, *ModuleTrunk.public_names)


def make_trunk(
    *,
    module,
    module_params,
    n_features,
    hidden_layer_sizes,
    activation,
    piecewise_linear_bins,
    n_out,
):
    """Return the trunk that the estimator's parameters describe.

    Raises
    ------
    ValueError
        If ``module_params`` is set without a ``module``, or
        ``piecewise_linear_bins`` with one; see also
        :meth:`ModuleTrunk.from_params`.
    """
    if module is not None:
        if piecewise_linear_bins is not None:
            raise ValueError(
                "piecewise_linear_bins encodes the built-in trunk's inputs; with "
                "your own module, encode them inside it (or in a Pipeline step) "
                "and leave piecewise_linear_bins=None."
            )
        return ModuleTrunk.from_params(module, module_params, n_features)
    if module_params:
        raise ValueError("module_params is set but module is None.")
    return MLP(
        n_features=n_features,
        hidden_layer_sizes=hidden_layer_sizes,
        n_out=n_out,
        activation=activation,
        piecewise_linear_bins=piecewise_linear_bins,
    )


def is_cpu(device):
    """Whether ``device`` (a string or a ``torch.device``) is the CPU."""
    return torch.device(device).type == "cpu"
