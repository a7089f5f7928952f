"""Training of one network: tensors, the epoch loop, early stopping and roll-back.

:func:`fit_network` takes standardised numpy data and returns the network's
numpy state: every tensor, dtype and device decision of training lives in this
module. Nothing here knows about scikit-learn's estimator API.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

from skmdn._optim import LR_BACKOFF, MAX_ROLLBACKS, AdamState
from skmdn._preprocessing import (
    init_components,
    input_noise_level,
    resolve_batch_size,
    target_noise_levels,
    validation_split,
)

# Rows scored per chunk when evaluating a whole data set, so that memory stays
# bounded by the chunk and not by the number of rows.
EVAL_CHUNK = 65536
# Batches per gather of shuffled rows in an epoch.
GATHER_BATCHES = 64


@dataclass
class TrainingData:
    """Standardised tensors for training, and optionally for validation.

    The training targets are kept transposed, ``Y_t`` of shape (D, n): the
    fused step reads one contiguous row per target.
    """

    X: torch.Tensor
    Y_t: torch.Tensor
    w: torch.Tensor
    X_val: torch.Tensor | None = None
    Y_val: torch.Tensor | None = None
    w_val: torch.Tensor | None = None

    @classmethod
    def from_numpy(cls, train, validation, device):
        """Build tensors on ``device`` from ``(X, Y, w)`` triples (or None)."""

        def tensor(a):
            return torch.from_numpy(np.ascontiguousarray(a)).to(device)

        X, Y, w = train
        data = cls(X=tensor(X), Y_t=tensor(Y.T), w=tensor(w))
        if validation is not None:
            data.X_val, data.Y_val, data.w_val = (tensor(a) for a in validation)
        return data


@dataclass
class History:
    """Per-epoch bookkeeping, in MLPRegressor's terms.

    ``loss_curve`` holds the mean training negative log-likelihood (original
    target units) plus the L2 penalty; ``validation_scores`` the mean
    validation log-likelihood (original units), or None without early stopping.
    """

    early_stopping: bool
    loss_curve: list = field(default_factory=list)
    validation_scores: list | None = None
    best_loss: float | None = None
    best_validation_score: float | None = None
    no_improvement_count: int = 0
    n_iter: int = 0

    def __post_init__(self):
        if self.early_stopping:
            if self.validation_scores is None:
                self.validation_scores = []
            if self.best_validation_score is None:
                self.best_validation_score = -np.inf
        elif self.best_loss is None:
            self.best_loss = np.inf

    def resumed(self, early_stopping):
        """Return a copy that continues this history in a new call (warm start)."""
        return History(
            early_stopping=early_stopping,
            loss_curve=list(self.loss_curve),
            validation_scores=(
                None if self.validation_scores is None else list(self.validation_scores)
            ),
            best_loss=self.best_loss,
            best_validation_score=self.best_validation_score,
            n_iter=self.n_iter,
        )

    def update(self, loss, val_score, tol):
        """Record one epoch; return True when it is the best so far."""
        self.n_iter += 1
        self.loss_curve.append(loss)
        if self.early_stopping:
            self.validation_scores.append(val_score)
            if val_score < self.best_validation_score + tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            improved = val_score > self.best_validation_score
            if improved:
                self.best_validation_score = val_score
            return improved
        if loss > self.best_loss - tol:
            self.no_improvement_count += 1
        else:
            self.no_improvement_count = 0
        improved = loss < self.best_loss
        if improved:
            self.best_loss = loss
        return improved


class Trainer:
    """Runs epochs of mini-batch Adam on the weighted mixture NLL.

    Parameters
    ----------
    trunk : MLP
        The network's trunk.
    head : MixtureHead
        The mixture head on the trunk's outputs.
    params : Tensor of shape (n_params,)
        Flat parameters, updated in place.
    optimizer : AdamState
        Adam moments and learning rate, updated in place.
    batch_size : int
        Rows per step.
    alpha : float
        L2 penalty on the weights, as in MLPRegressor.
    clip_grad_norm : float or None
        Maximum gradient norm, or None for no clipping.
    log_det : float
        ``sum(log y_scale)``: subtracted from standardised log-densities to
        report them in original target units (the Jacobian of the scaling).
    generator : torch.Generator
        CPU generator for the shuffles and the noise.
    input_noise : float
        Standard deviation of the Gaussian noise added to the standardised
        inputs of every batch (noise regularisation); 0 for none.
    target_noise : float or ndarray of shape (D, 1)
        The same for the standardised targets, overall or per target.
    """

    def __init__(
        self,
        trunk,
        head,
        params,
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
        self.trunk = trunk
        self.head = head
        self.params = params
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.alpha = alpha
        self.clip_grad_norm = clip_grad_norm
        self.log_det = log_det
        self.generator = generator
        self.input_noise = input_noise
        self.target_noise = (
            torch.as_tensor(target_noise, dtype=params.dtype).to(params.device)
            if np.any(np.asarray(target_noise) > 0)
            else None
        )
        self._mask = (
            trunk.weight_mask(params.dtype).to(params.device) if alpha > 0 else None
        )
        self._layers = trunk.unflatten(params)
        self._grad = torch.zeros_like(params)
        self._grad_layers = trunk.unflatten(self._grad)

    def _noise(self, shape, std, like):
        noise = torch.randn(shape, generator=self.generator, dtype=like.dtype)
        return noise.to(like.device).mul_(std)

    def penalty(self):
        """``0.5 * sum(W**2)``: the L2 term before division by the batch weight."""
        if self._mask is None:
            return 0.0
        return 0.5 * float((self.params * self.params * self._mask).sum())

    def run_epoch(self, X, Y_t, w):
        """One pass over shuffled mini-batches; return the mean training NLL.

        ``Y_t`` holds the targets transposed, (D, n).
        """
        n = X.shape[0]
        perm = torch.randperm(n, generator=self.generator).to(X.device)
        starts = list(range(0, n, self.batch_size))
        # every batch's total weight at once, in float64, without a sync per step
        w_perm = w.double()[perm]
        cum = torch.cat([w_perm.new_zeros(1), w_perm.cumsum(0)])
        stops = [min(start + self.batch_size, n) for start in starts]
        batch_w = (cum[stops] - cum[starts]).tolist()
        total = torch.zeros((), dtype=torch.float64, device=X.device)
        penalty_total = 0.0
        grad, params, optimizer = self._grad, self.params, self.optimizer
        chunk = self.batch_size * GATHER_BATCHES
        for start, stop, w_sum in zip(starts, stops, batch_w, strict=True):
            if start % chunk == 0:
                # Shuffled rows are gathered a chunk of batches at a time: one
                # large gather is faster than many small ones, and memory stays
                # O(chunk) instead of a shuffled copy of the whole data.
                idx = perm[start : start + chunk]
                X_c, Y_c, w_c = (
                    X.index_select(0, idx),
                    Y_t.index_select(1, idx),
                    w.index_select(0, idx),
                )
            if w_sum <= 0:
                continue
            lo, hi = start % chunk, start % chunk + (stop - start)
            coef = w_c[lo:hi] * (1.0 / w_sum)
            xb, yb = X_c[lo:hi], Y_c[:, lo:hi]
            if self.input_noise:
                xb = xb + self._noise(xb.shape, self.input_noise, xb)
            if self.target_noise is not None:
                yb = yb + self._noise(yb.shape, self.target_noise, yb)
            loss = self.trunk.loss_and_grad(
                self._layers,
                self._grad_layers,
                xb,
                partial(self.head.loss_and_grad, y_t=yb, coef=coef),
            )
            if self._mask is not None:
                grad.addcmul_(self._mask, params, value=self.alpha / w_sum)
                penalty_total += self.alpha * self.penalty()
            if self.clip_grad_norm is not None:
                norm = torch.linalg.vector_norm(grad)
                grad.mul_(torch.clamp(self.clip_grad_norm / (norm + 1e-12), max=1.0))
            optimizer.step(params, grad)
            total.add_(loss, alpha=w_sum)
        w_total = float(cum[-1])
        return float(total) / w_total + self.log_det + penalty_total / w_total

    def score(self, X, Y, w):
        """Mean weighted log-likelihood (original units) of a whole data set."""
        total = 0.0
        with torch.no_grad():
            for start in range(0, X.shape[0], EVAL_CHUNK):
                stop = start + EVAL_CHUNK
                out = self.trunk.forward(self.params, X[start:stop])
                lp = self.head.log_prob(out, Y[start:stop])
                total += float((w[start:stop] * lp).sum())
        return total / float(w.sum()) - self.log_det


def train(
    trainer,
    data,
    history,
    *,
    max_iter,
    tol,
    n_iter_no_change,
    verbose,
    stopping=True,
):
    """Run up to ``max_iter`` epochs with roll-back on non-finite losses.

    With early stopping, the parameters with the best validation score are
    restored at the end. Without ``stopping`` (``partial_fit``), epochs are
    run unconditionally.

    Returns
    -------
    status : {'converged', 'max_iter', 'interrupted'}
        Why training ended: no progress for ``n_iter_no_change`` epochs,
        ``max_iter`` epochs run, or a ``KeyboardInterrupt`` (the best
        parameters so far are kept).
    """
    early_stopping = history.early_stopping
    best_params = trainer.params.clone() if early_stopping else None
    rollbacks = 0
    status = "max_iter"
    epoch = 0
    try:
        while epoch < max_iter:
            snapshot = (trainer.params.clone(), trainer.optimizer.clone())
            loss = trainer.run_epoch(data.X, data.Y_t, data.w)
            val_score = (
                trainer.score(data.X_val, data.Y_val, data.w_val)
                if early_stopping
                else None
            )
            finite = math.isfinite(loss) and (
                val_score is None or math.isfinite(val_score)
            )
            finite = finite and bool(torch.isfinite(trainer.params).all())
            if not finite:
                if rollbacks == MAX_ROLLBACKS:
                    raise FloatingPointError(
                        "Training produced a non-finite loss even after lowering the "
                        f"learning rate {MAX_ROLLBACKS} times (now "
                        f"{snapshot[1].lr * LR_BACKOFF:.3g}). Check the data for "
                        "extreme values, or raise 'min_scale', lower "
                        "'learning_rate_init' or set 'clip_grad_norm'."
                    )
                rollbacks += 1
                trainer.params.copy_(snapshot[0])
                trainer.optimizer = snapshot[1]
                trainer.optimizer.back_off()
                if verbose:
                    print(
                        f"Non-finite loss at iteration {history.n_iter + 1}: rolled "
                        f"back, learning rate lowered to {trainer.optimizer.lr:.3g}"
                    )
                continue
            epoch += 1
            improved = history.update(loss, val_score, tol)
            if early_stopping and improved:
                best_params = trainer.params.clone()
            if verbose:
                msg = f"Iteration {history.n_iter}, loss = {loss:.8f}"
                if early_stopping:
                    msg += f", validation log-likelihood = {val_score:.8f}"
                print(msg)
            if stopping and history.no_improvement_count > n_iter_no_change:
                status = "converged"
                if verbose:
                    what = "Validation score" if early_stopping else "Training loss"
                    print(
                        f"{what} did not improve more than tol={tol} for "
                        f"{n_iter_no_change} consecutive epochs. Stopping."
                    )
                break
    except KeyboardInterrupt:
        status = "interrupted"
    if early_stopping:
        trainer.params.copy_(best_params)
    return status


@dataclass
class NetworkState:
    """One trained network, numpy and plain values only (safe to pickle).

    Attributes
    ----------
    coefs, intercepts : list of ndarray
        Weights ``(fan_in, fan_out)`` and biases ``(fan_out,)`` of each layer.
    optimizer : dict
        Adam's state (:meth:`AdamState.to_numpy`).
    history : History
        Losses and validation scores of every epoch so far.
    """

    coefs: list
    intercepts: list
    optimizer: dict
    history: History


@dataclass(frozen=True)
class TrainingConfig:
    """The estimator's training parameters, as :func:`fit_network` needs them."""

    learning_rate_init: float
    batch_size: object  # int or 'auto'
    alpha: float
    clip_grad_norm: float | None
    max_iter: int
    tol: float
    n_iter_no_change: float
    early_stopping: bool
    validation_fraction: float
    input_noise: object  # float or 'auto'
    target_noise: object  # float or 'auto'
    verbose: bool


def fit_network(
    trunk, head, X, Y, w, *, config, log_det, seeds, previous, incremental, device
):
    """Train one network on standardised data.

    Parameters
    ----------
    trunk : MLP
    head : MixtureHead
    X : ndarray of shape (n, n_features)
        Standardised inputs, float32 or float64 (the training dtype).
    Y : ndarray of shape (n, D)
        Standardised targets, in ``X``'s dtype.
    w : ndarray of shape (n,)
        Sample weights, in ``X``'s dtype.
    config : TrainingConfig
    log_det : float
        ``sum(log y_scale)``, to report losses in original target units.
    seeds : sequence of 3 ints
        Seeds of the torch generator (initial weights, shuffles, noise), of
        the validation split, and of the component initialisation.
    previous : NetworkState or None
        The state to continue from (a warm start or ``partial_fit``).
    incremental : bool
        One epoch, no early stopping (``partial_fit``).
    device : str or torch.device

    Returns
    -------
    state : NetworkState
    status : {'converged', 'max_iter', 'interrupted'}
        See :func:`train`.
    """
    torch_seed, split_seed, init_seed = seeds
    early_stopping = bool(config.early_stopping) and not incremental
    validation = None
    if early_stopping:
        train_idx, val_idx = validation_split(
            X, Y, w, config.validation_fraction, split_seed
        )
        validation = X[val_idx], Y[val_idx], w[val_idx]
        X, Y, w = X[train_idx], Y[train_idx], w[train_idx]
    n_train = X.shape[0]

    device = torch.device(device)
    generator = torch.Generator().manual_seed(int(torch_seed))
    dtype = torch.float64 if X.dtype == np.float64 else torch.float32
    if previous is None:
        loc, scale = init_components(
            Y, w, head.n_components, np.random.RandomState(init_seed), head.min_scale
        )
        out_bias = head.init_bias(loc, scale)
        params = trunk.init_params(generator, dtype, out_bias).to(device)
        optimizer = AdamState.zeros_like(params, float(config.learning_rate_init))
        history = History(early_stopping=early_stopping)
    else:
        params = trunk.from_numpy(previous.coefs, previous.intercepts, dtype)
        params = params.to(device)
        optimizer = AdamState.from_numpy(previous.optimizer, dtype, device)
        # the step size is a parameter: a warm start uses the current one
        optimizer.lr = float(config.learning_rate_init)
        history = previous.history.resumed(early_stopping)

    trainer = Trainer(
        trunk,
        head,
        params,
        optimizer,
        batch_size=resolve_batch_size(config.batch_size, n_train),
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
        TrainingData.from_numpy((X, Y, w), validation, device),
        history,
        max_iter=1 if incremental else config.max_iter,
        tol=config.tol,
        n_iter_no_change=config.n_iter_no_change,
        verbose=config.verbose,
        stopping=not incremental,
    )
    coefs, intercepts = trunk.to_numpy(trainer.params)
    return NetworkState(
        coefs, intercepts, trainer.optimizer.to_numpy(), history
    ), status
