"""Training: tensors, the batched epoch loop, early stopping and roll-back.

:func:`fit_networks` takes standardised numpy data and returns every
network's numpy state: every tensor, dtype and device decision of training
lives in this module. The ``M`` networks of an ensemble train together, as one
batched network (batched matrix products over a leading network axis, the
same hand-written gradient), each on its own rows, shuffles, noise, step size
and stopping rule. Nothing here knows about scikit-learn's estimator API.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

from skmdn._optim import LR_BACKOFF, MAX_ROLLBACKS, AdamState
from skmdn._preprocessing import (
    init_components,
    input_noise_level,
    resolve_batch_size,
    resolve_patience,
    target_noise_levels,
    validation_split,
)

# Rows scored per chunk when evaluating a whole data set, so that memory stays
# bounded by the chunk and not by the number of rows.
EVAL_CHUNK = 65536
# Batches per gather of shuffled rows in an epoch.
GATHER_BATCHES = 64
# verbose: at most one progress line per this many seconds.
PROGRESS_SECONDS = 1.0
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


@dataclass
class TrainingData:
    """Standardised tensors, and each network's training and validation rows.

    The targets are kept transposed, ``Y_t`` of shape (D, n): the fused step
    reads one contiguous row per target. Network ``m`` trains on rows
    ``rows[m]`` with weights ``w_rows[m]``; the rows are padded to a common
    length with weight-0 rows so that the networks step together.
    """

    X: torch.Tensor
    Y_t: torch.Tensor
    rows: torch.Tensor
    w_rows: torch.Tensor
    validation: list | None = None  # per network: (X, Y, w) tensors

    @classmethod
    def from_numpy(cls, X, Y, w, train_rows, val_rows, device):
        """Build the tensors on ``device``; ``val_rows`` may be None."""

        def tensor(a):
            return torch.from_numpy(np.ascontiguousarray(a)).to(device)

        n_max = max(len(r) for r in train_rows)
        rows = np.zeros((len(train_rows), n_max), dtype=np.int64)
        w_rows = np.zeros((len(train_rows), n_max), dtype=w.dtype)
        for m, r in enumerate(train_rows):
            rows[m, : len(r)] = r
            w_rows[m, : len(r)] = w[r]
        data = cls(
            X=tensor(X), Y_t=tensor(Y.T), rows=tensor(rows), w_rows=tensor(w_rows)
        )
        if val_rows is not None:
            data.validation = [
                (tensor(X[r]), tensor(Y[r]), tensor(w[r])) for r in val_rows
            ]
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


class EpochBatches:
    """One epoch's shuffled mini-batches of every network, with their weights.

    Iterating gives ``(j, X, Y_t, coef, stepping)`` per step ``j``: inputs
    (M, B, n_features) and transposed targets (M, D, B) with the trainer's
    noise added, the per-row loss weights ``w_i / sum(w)`` (M, B), and the
    networks that step (a bool array, or None when all do); steps where none
    does are skipped. Shuffled rows are gathered a chunk of batches at a
    time: one large gather is faster than many small ones, and memory stays
    O(chunk) instead of a shuffled copy of the whole data.

    Parameters
    ----------
    trainer : object
        Provides ``batch_size``, ``generator``, ``active`` (bool, (M,)),
        ``input_noise`` and ``target_noise`` (standard deviations that
        broadcast to (M, 1, 1) and (M, D, 1), or None).
    data : TrainingData
    """

    def __init__(self, trainer, data):
        self.trainer, self.data = trainer, data
        M, n = data.rows.shape
        device = data.X.device
        if trainer.batch_size >= n:  # one full batch: the order does not matter
            self.rows, self.w = data.rows, data.w_rows
        else:
            perm = torch.stack(
                [torch.randperm(n, generator=trainer.generator) for _ in range(M)]
            ).to(device)
            self.rows, self.w = data.rows.gather(1, perm), data.w_rows.gather(1, perm)
        self.starts = list(range(0, n, trainer.batch_size))
        self.stops = [min(start + trainer.batch_size, n) for start in self.starts]
        # every batch's total weight at once, in float64, without a sync per step
        cum = torch.cat([self.w.new_zeros(M, 1), self.w.double().cumsum(1)], 1)
        self.total = cum[:, -1]
        weight = (cum[:, self.stops] - cum[:, self.starts]).T.cpu().numpy()
        self.weight = weight  # (steps, M)
        self.weight_t = torch.as_tensor(weight, device=device)
        inv = np.divide(1.0, weight, out=np.zeros_like(weight), where=weight > 0)
        self.inv = torch.as_tensor(inv, dtype=self.w.dtype).to(device)
        self.stepping = trainer.active & (weight > 0)

    def _noise(self, like, std):
        noise = torch.randn(
            like.shape, generator=self.trainer.generator, dtype=like.dtype
        )
        return noise.mul_(std).to(like.device)

    def __iter__(self):
        data, trainer = self.data, self.trainer
        chunk = trainer.batch_size * GATHER_BATCHES
        all_step = self.stepping.all(1)
        for j, (start, stop) in enumerate(zip(self.starts, self.stops, strict=True)):
            if start % chunk == 0:
                idx = self.rows[:, start : start + chunk]
                flat = idx.reshape(-1)
                X_c = data.X.index_select(0, flat).view(*idx.shape, -1)  # (M, c, F)
                Y_c = data.Y_t.index_select(1, flat).view(-1, *idx.shape)
                Y_c = Y_c.transpose(0, 1)  # (M, D, c)
                w_c = self.w[:, start : start + chunk]
            stepping = None if all_step[j] else self.stepping[j]
            if stepping is not None and not stepping.any():
                continue
            lo, hi = start % chunk, start % chunk + (stop - start)
            coef = w_c[:, lo:hi] * self.inv[j][:, None]
            xb, yb = X_c[:, lo:hi], Y_c[:, :, lo:hi]
            if trainer.input_noise is not None:
                xb = xb + self._noise(xb, trainer.input_noise)
            if trainer.target_noise is not None:
                yb = yb + self._noise(yb, trainer.target_noise)
            yield j, xb, yb, coef, stepping


class Trainer:
    """Runs epochs of mini-batch Adam on the weighted mixture NLL of M networks.

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
    batch_size : int
        Rows per step (of every network).
    alpha : float
        L2 penalty on the weights, as in MLPRegressor.
    clip_grad_norm : float or None
        Maximum gradient norm of each network, or None for no clipping.
    log_det : float
        ``sum(log y_scale)``: subtracted from standardised log-densities to
        report them in original target units (the Jacobian of the scaling).
    generator : torch.Generator
        CPU generator for the shuffles and the noise.
    input_noise : ndarray of shape (M,)
        Standard deviation of the Gaussian noise added to the standardised
        inputs of every batch (noise regularisation), per network; 0 for none.
    target_noise : ndarray of shape (M, D)
        The same for the standardised targets, per network and target.
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
        input_noise,
        target_noise,
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
        self.active = np.ones(params.shape[0], dtype=bool)

        def noise_std(levels, shape):
            if not np.any(levels > 0):
                return None
            return torch.as_tensor(levels, dtype=params.dtype).reshape(shape)

        M = params.shape[0]
        self.input_noise = noise_std(np.asarray(input_noise), (M, 1, 1))
        self.target_noise = noise_std(np.asarray(target_noise), (M, -1, 1))
        self._mask = trunk.weight_mask(params.dtype).to(params.device)
        self._grad = torch.zeros_like(params)
        # a single network runs the unbatched kernels on row views
        single = M == 1
        self._layers = trunk.unflatten(params[0] if single else params)
        self._grad_layers = trunk.unflatten(self._grad[0] if single else self._grad)

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

        Returns
        -------
        ndarray of shape (M,)
            Mean training loss (original units, plus the L2 penalty); NaN
            for the networks that have stopped (they do not train).
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
        return losses + self.log_det

    def score(self, data):
        """Mean weighted validation log-likelihood (original units) per network.

        NaN for the networks that have stopped: they are not scored.
        """
        scores = np.full(self.params.shape[0], np.nan)
        with torch.no_grad():
            for m in np.flatnonzero(self.active):
                X, Y, w = data.validation[m]
                total = 0.0
                for start in range(0, X.shape[0], EVAL_CHUNK):
                    stop = start + EVAL_CHUNK
                    out = self.trunk.forward(self.params[m], X[start:stop])
                    lp = self.head.log_prob(out, Y[start:stop])
                    total += float((w[start:stop] * lp).sum())
                scores[m] = total / float(w.sum()) - self.log_det
        return scores


class Progress:
    """A throttled progress line for ``verbose`` fits.

    The first epoch, then at most one line every ``PROGRESS_SECONDS``, and the
    last epoch: epochs and steps, the losses (the mean over the networks),
    the time spent and an estimate of the time left (to the stopping rule if
    no progress is made, and to ``max_iter`` at most).
    """

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.printed = None  # the epoch last printed

    def _line(self, histories, steps):
        n_iter = max(h.n_iter for h in histories)
        loss = np.mean([h.loss_curve[-1] for h in histories if h.loss_curve])
        line = f"Iteration {n_iter} ({steps:,} steps), loss = {loss:.6f}"
        if histories[0].early_stopping:
            score = np.mean([h.validation_scores[-1] for h in histories])
            best = np.mean([h.best_validation_score for h in histories])
            line += f", validation log-likelihood = {score:.6f} (best {best:.6f})"
        if len(histories) > 1:
            line += f", {len(histories)} networks"
        return line + f", {time.perf_counter() - self.start:.1f} s"

    def update(self, histories, steps, epoch, max_iter, waits):
        """Print a line if the first epoch or ``PROGRESS_SECONDS`` have passed.

        ``waits`` holds, per network still training, the epochs left if it
        makes no more progress (None without a stopping rule).
        """
        now = time.perf_counter()
        if self.printed is not None and now - self.last < PROGRESS_SECONDS:
            return
        per_epoch = (now - self.start) / epoch
        to_max = (max_iter - epoch) * per_epoch
        line = self._line(histories, steps)
        if waits is not None:
            to_stop = max([0, *waits]) * per_epoch
            line += f", {min(to_stop, to_max):.0f} s left without progress"
        print(f"{line}, at most {to_max:.0f} s left")
        self.last, self.printed = now, epoch

    def close(self, histories, steps, epoch):
        """Print the last epoch's line, unless it was just printed."""
        if epoch and self.printed != epoch:
            print(self._line(histories, steps) + ", done")


def train(
    trainer,
    data,
    histories,
    *,
    max_iter,
    tol,
    n_iter_no_change,
    verbose,
    stopping=True,
    lr_cuts=0,
    final_patience=None,
):
    """Run up to ``max_iter`` epochs of every network, with roll-back.

    Each network has its own stopping rule: after ``n_iter_no_change`` epochs
    without progress its learning rate is divided by ``LR_CUT_FACTOR`` (up to
    ``lr_cuts`` times, the 'adaptive' schedule) and training goes on; the next
    such run of epochs stops it, and it stays frozen while the others train.
    An epoch whose loss is not finite is rolled back for that network, with a
    ten times smaller step size. With early stopping, the parameters with the
    best validation score are restored at the end. Without ``stopping``
    (``partial_fit``), epochs are run unconditionally.

    With ``final_patience`` (and early stopping), a network that the rule
    would stop while it still trains with input noise enters a noise-free
    final phase instead: its best weights are restored, its input noise is
    switched off, its step size divided by ``FINAL_LR_FACTOR``, and it trains
    on until ``final_patience`` epochs pass without progress. Its validation
    score decides, as for every epoch, whether the noise-free weights replace
    the best noisy ones.

    Returns
    -------
    status : {'converged', 'max_iter', 'interrupted'}
        Why training ended: every network stopped for lack of progress, some
        network ran ``max_iter`` epochs, or a ``KeyboardInterrupt`` (the best
        parameters so far are kept).
    """
    M = len(histories)
    early_stopping = histories[0].early_stopping
    params = trainer.params
    best_params = params.clone() if early_stopping else None
    rollbacks = np.zeros(M, dtype=int)
    cuts_left = np.full(M, lr_cuts)
    patience = np.full(M, n_iter_no_change, dtype=float)
    final_phase = final_patience is not None and early_stopping
    # the final phase's patience, for the networks still to enter it
    final_left = np.array(
        [
            final_patience if final_phase and _has_input_noise(trainer, m) else 0
            for m in range(M)
        ],
        dtype=float,
    )
    epochs = np.zeros(M, dtype=int)
    stopped = np.zeros(M, dtype=bool)
    hit_max_iter = False
    status = None
    epoch = 0
    progress = Progress() if verbose else None
    try:
        while not stopped.all():
            snapshot = (params.clone(), trainer.optimizer.clone())
            trainer.active = ~stopped
            losses = trainer.run_epoch(data)
            scores = trainer.score(data) if early_stopping else [None] * M
            finite_params = torch.isfinite(params).all(1).cpu().numpy()
            epoch += 1
            for m in np.flatnonzero(~stopped):
                loss = float(losses[m])
                score = None if scores[m] is None else float(scores[m])
                finite = math.isfinite(loss) and finite_params[m]
                if not (finite and (score is None or math.isfinite(score))):
                    _roll_back(trainer, snapshot, m, rollbacks, verbose, histories)
                    continue
                epochs[m] += 1
                history = histories[m]
                improved = history.update(loss, score, tol)
                if early_stopping and improved:
                    best_params[m] = params[m]
                if stopping and history.no_improvement_count > patience[m]:
                    if cuts_left[m] > 0:
                        cuts_left[m] -= 1
                        history.no_improvement_count = 0
                        trainer.optimizer.lr[m] /= LR_CUT_FACTOR
                        _drop_input_noise(trainer, m)
                    elif final_left[m] > 0:
                        final_left[m] = 0
                        history.no_improvement_count = 0
                        params[m] = best_params[m]
                        _drop_input_noise(trainer, m)
                        trainer.optimizer.lr[m] /= FINAL_LR_FACTOR
                        patience[m] = final_patience
                        if verbose:
                            print(
                                f"Network {m}: noise-free final phase from the "
                                f"best epoch, learning rate "
                                f"{trainer.optimizer.lr[m]:.3g}"
                            )
                    else:
                        stopped[m] = True
                if epochs[m] >= max_iter and not stopped[m]:
                    stopped[m] = hit_max_iter = True
            if progress is not None:
                waits = None
                if stopping:  # epochs left without progress, later phases included
                    left = patience - _counts(histories) + cuts_left * n_iter_no_change
                    waits = list((left + final_left)[~stopped])
                progress.update(histories, trainer.optimizer.t, epoch, max_iter, waits)
    except KeyboardInterrupt:
        status = "interrupted"
    if progress is not None:
        progress.close(histories, trainer.optimizer.t, epoch)
    if early_stopping:
        params.copy_(best_params)
    if status is None:
        status = "max_iter" if hit_max_iter and stopping else "converged"
    return status


def _counts(histories):
    """Each network's epochs without progress so far, shape (M,)."""
    return np.array([h.no_improvement_count for h in histories], dtype=float)


def _has_input_noise(trainer, m):
    return trainer.input_noise is not None and bool(trainer.input_noise[m] > 0)


def _drop_input_noise(trainer, m):
    """Switch network ``m``'s input noise off."""
    if trainer.input_noise is not None:
        trainer.input_noise[m] = 0.0


def _roll_back(trainer, snapshot, m, rollbacks, verbose, histories):
    """Undo network ``m``'s last epoch and lower its step size, or raise."""
    if rollbacks[m] == MAX_ROLLBACKS:
        raise FloatingPointError(
            "Training produced a non-finite loss even after lowering the "
            f"learning rate {MAX_ROLLBACKS} times (now "
            f"{snapshot[1].lr[m] * LR_BACKOFF:.3g}). Check the data for "
            "extreme values, or raise 'min_scale', lower "
            "'learning_rate_init' or set 'clip_grad_norm'."
        )
    rollbacks[m] += 1
    trainer.params[m] = snapshot[0][m]
    trainer.optimizer.restore_row(snapshot[1], m)
    trainer.optimizer.back_off(m)
    if verbose:
        print(
            f"Non-finite loss at iteration {histories[m].n_iter + 1}: rolled "
            f"back, learning rate lowered to {trainer.optimizer.lr[m]:.3g}"
        )


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
    """The estimator's training parameters, as :func:`fit_networks` needs them."""

    learning_rate: str
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


def schedule(config, n_train, batch_size, incremental):
    """Return the stopping rule and step-size schedule of :func:`train`, as keywords."""
    patience = resolve_patience(config.n_iter_no_change, n_train, batch_size)
    final_patience = None
    if (
        FINAL_PATIENCE_SHARE is not None
        and config.learning_rate == "constant"
        and math.isfinite(patience)
    ):
        final_patience = max(1, math.ceil(FINAL_PATIENCE_SHARE * patience))
    return {
        "max_iter": 1 if incremental else config.max_iter,
        "tol": config.tol,
        "n_iter_no_change": patience,
        "verbose": config.verbose,
        "stopping": not incremental,
        "lr_cuts": ADAPTIVE_CUTS if config.learning_rate == "adaptive" else 0,
        "final_patience": final_patience,
    }


def split_rows(X, Y, w, config, seeds, early_stopping):
    """Each network's training rows, and its validation rows (or None)."""
    if not early_stopping:
        return [np.arange(X.shape[0])] * len(seeds), None
    splits = [
        validation_split(X, Y, w, config.validation_fraction, seed[0]) for seed in seeds
    ]
    return [t for t, _ in splits], [v for _, v in splits]


def _resumed(trunk, previous, config, dtype, device, early_stopping):
    """Parameters, Adam state and histories that continue ``previous``."""
    params = torch.stack(
        [trunk.from_numpy(p.coefs, p.intercepts, dtype) for p in previous]
    ).to(device)
    optimizer = AdamState.from_numpy([p.optimizer for p in previous], dtype, device)
    # the step size is a parameter: a warm start uses the current one
    optimizer.lr[:] = float(config.learning_rate_init)
    return params, optimizer, [p.history.resumed(early_stopping) for p in previous]


def fit_networks(
    trunk, head, X, Y, w, *, config, log_det, seeds, previous, incremental, device
):
    """Train ``M`` networks together on standardised data.

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
    seeds : ndarray of shape (M, 2)
        Per network, the seeds of its validation split and of its component
        initialisation.
    previous : list of (NetworkState or None)
        The states to continue from (a warm start or ``partial_fit``), or
        None for fresh networks; its length is ``M``.
    incremental : bool
        One epoch, no early stopping (``partial_fit``).
    device : str or torch.device

    Returns
    -------
    states : list of NetworkState
    status : {'converged', 'max_iter', 'interrupted'}
        See :func:`train`.
    """
    early_stopping = bool(config.early_stopping) and not incremental
    train_rows, val_rows = split_rows(X, Y, w, config, seeds, early_stopping)
    n_train = max(len(r) for r in train_rows)
    batch_size = resolve_batch_size(config.batch_size, n_train)
    device = torch.device(device)
    generator = torch.Generator().manual_seed(int(seeds[0][2]))
    dtype = torch.float64 if X.dtype == np.float64 else torch.float32
    if previous[0] is None:
        flats = []
        for m, rows in enumerate(train_rows):
            loc, scale = init_components(
                Y[rows],
                w[rows],
                head.n_components,
                np.random.RandomState(seeds[m][1]),
                head.min_scale,
            )
            flats.append(
                trunk.init_params(generator, dtype, head.init_bias(loc, scale))
            )
        params = torch.stack(flats).to(device)
        optimizer = AdamState.zeros_like(params, config.learning_rate_init)
        histories = [History(early_stopping=early_stopping) for _ in previous]
    else:
        params, optimizer, histories = _resumed(
            trunk, previous, config, dtype, device, early_stopping
        )

    dims = trunk.n_features + head.n_outputs
    trainer = Trainer(
        trunk,
        head,
        params,
        optimizer,
        batch_size=batch_size,
        alpha=float(config.alpha),
        clip_grad_norm=config.clip_grad_norm,
        log_det=log_det,
        generator=generator,
        input_noise=[
            input_noise_level(config.input_noise, len(r), dims) for r in train_rows
        ],
        target_noise=[
            target_noise_levels(config.target_noise, Y[r])[:, 0] for r in train_rows
        ],
    )
    status = train(
        trainer,
        TrainingData.from_numpy(X, Y, w, train_rows, val_rows, device),
        histories,
        **schedule(config, n_train, batch_size, incremental),
    )
    states = [
        NetworkState(
            *trunk.to_numpy(trainer.params[m]), trainer.optimizer.to_numpy(m), history
        )
        for m, history in enumerate(histories)
    ]
    return states, status
