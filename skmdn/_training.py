"""Training: mixture initialisation, validation split, Adam and the epoch loop.

Nothing here knows about scikit-learn's estimator API: the functions take
arrays and tensors and return plain results, so the loop is testable alone.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from skmdn._mixture import log_prob

# Rows scored per chunk when evaluating a whole data set, so that memory stays
# bounded by the chunk and not by the number of rows.
EVAL_CHUNK = 65536
# Row cap for the k-means that places the initial components.
INIT_MAX_ROWS = 20000
# Smallest initial component scale, in standardised target units.
INIT_MIN_SCALE = 0.3
# Batches per gather of shuffled rows in an epoch.
GATHER_BATCHES = 64
# Learning-rate cut after a non-finite epoch, and how many cuts are tried.
LR_BACKOFF = 0.1
MAX_ROLLBACKS = 4


# ---------------------------------------------------------------------------
# statistics and initialisation (numpy)


def weighted_mean_std(A, w):
    """Sample-weighted column means and standard deviations (zero std -> 1)."""
    mean = np.average(A, axis=0, weights=w)
    var = np.average((A - mean) ** 2, axis=0, weights=w)
    std = np.sqrt(var)
    tiny = 10 * np.finfo(A.dtype).eps * np.maximum(np.abs(mean), 1.0)
    std[std <= tiny] = 1.0
    return mean, std


def init_components(Y, w, n_components, rng, min_scale):
    """Place the initial components by weighted k-means of the targets.

    Lloyd iterations start from per-target weighted quantiles, so the result
    is deterministic and integer weights act exactly as repeated rows.

    Parameters
    ----------
    Y : ndarray of shape (n, D)
        Standardised targets.
    w : ndarray of shape (n,)
        Sample weights.
    n_components : int
        Number of components ``K``.
    rng : numpy.random.RandomState
        Used only to subsample more than ``INIT_MAX_ROWS`` rows.
    min_scale : float
        Scale floor; initial scales stay well above it.

    Returns
    -------
    loc : ndarray of shape (K, D)
    scale : ndarray of shape (K, D)
    """
    Y = np.asarray(Y, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if Y.shape[0] > INIT_MAX_ROWS:
        idx = np.sort(rng.choice(Y.shape[0], INIT_MAX_ROWS, replace=False))
        Y, w = Y[idx], w[idx]
    keep = w > 0
    Y, w = Y[keep], w[keep]
    q = (np.arange(n_components) + 0.5) / n_components
    centres = np.stack(
        [
            np.quantile(Y[:, d], q, method="inverted_cdf", weights=w)
            for d in range(Y.shape[1])
        ],
        axis=1,
    )
    for _ in range(25):
        dist = ((Y[:, None, :] - centres[None]) ** 2).sum(-1)
        labels = dist.argmin(1)
        mass = np.bincount(labels, weights=w, minlength=n_components)
        new = np.stack(
            [
                np.bincount(labels, weights=w * Y[:, d], minlength=n_components)
                for d in range(Y.shape[1])
            ],
            axis=1,
        )
        filled = mass > 0
        new[filled] /= mass[filled, None]
        new[~filled] = centres[~filled]
        if np.allclose(new, centres, rtol=0, atol=1e-10):
            centres = new
            break
        centres = new
    dist = ((Y[:, None, :] - centres[None]) ** 2).sum(-1)
    resid = Y - centres[dist.argmin(1)]
    pooled = np.sqrt(np.average(resid**2, axis=0, weights=w))
    # Components start wide enough to overlap their neighbours: narrow ones
    # tile the target range like a histogram, and the network then fits the
    # mean by switching weights between them instead of moving them.
    pooled = np.maximum(pooled, max(INIT_MIN_SCALE, 4 * min_scale))
    scale = np.broadcast_to(pooled, centres.shape).copy()
    return centres, scale


def _splitmix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def row_hashes(A, seed):
    """Hash each row's exact values to 64 bits, seeded; identical rows collide."""
    A = np.ascontiguousarray(A, dtype=np.float64) + 0.0  # -0.0 -> 0.0
    bits = A.view(np.uint64)
    h = np.full(A.shape[0], seed, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h *= np.uint64(0x9E3779B97F4A7C15)
        for j in range(bits.shape[1]):
            h = _splitmix64(h ^ bits[:, j])
    return h


def validation_split(X, Y, w, fraction, seed):
    """Hold out about ``fraction`` of the total sample weight for validation.

    Rows go to the validation set in the order of a seeded hash of their
    values, whole groups of identical rows at a time, until the held-out
    weight reaches ``fraction`` of the total. Identical rows therefore never
    straddle the split, and an integer weight acts exactly as that many
    repeated rows. The values are standardised (with weighted statistics)
    and rounded to 9 decimals before hashing, so the split does not depend
    on the units of the data either.

    Returns
    -------
    train_idx, val_idx : ndarray of int
    """
    A = np.hstack([X, Y]).astype(np.float64)
    mean, std = weighted_mean_std(A, w)
    h = row_hashes(np.round((A - mean) / std, 9), seed)
    order = np.argsort(h, kind="stable")
    h_sorted = h[order]
    w_sorted = np.asarray(w, dtype=np.float64)[order]
    starts = np.flatnonzero(np.r_[True, h_sorted[1:] != h_sorted[:-1]])
    group_w = np.add.reduceat(w_sorted, starts)
    before = np.cumsum(group_w) - group_w
    val_group = before < fraction * w_sorted.sum()
    in_val = np.repeat(val_group, np.diff(np.r_[starts, len(order)]))
    val_idx = np.sort(order[in_val])
    train_idx = np.sort(order[~in_val])
    if w[train_idx].sum() <= 0 or w[val_idx].sum() <= 0:
        raise ValueError(
            "The validation set is too small: early stopping needs at least 2 "
            f"distinct samples with positive weight, got {X.shape[0]} samples. "
            "Increase 'validation_fraction', add data or set early_stopping=False."
        )
    return train_idx, val_idx


# ---------------------------------------------------------------------------
# optimiser


@dataclass
class AdamState:
    """Adam on one flat parameter vector; ``lr`` shrinks after a roll-back."""

    lr: float
    m: torch.Tensor
    v: torch.Tensor
    t: int = 0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    @classmethod
    def zeros_like(cls, params, lr):
        """Return a fresh state for ``params``."""
        return cls(lr=lr, m=torch.zeros_like(params), v=torch.zeros_like(params))

    def step(self, params, grad):
        """One in-place Adam update of ``params``."""
        self.t += 1
        self.m.lerp_(grad, 1 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        bc1 = 1 - self.beta1**self.t
        bc2 = 1 - self.beta2**self.t
        denom = (self.v / bc2).sqrt_().add_(self.eps)
        params.addcdiv_(self.m, denom, value=-self.lr / bc1)

    def clone(self):
        """Return a deep copy (for roll-back snapshots)."""
        return AdamState(
            self.lr, self.m.clone(), self.v.clone(), self.t, self.beta1, self.beta2
        )

    def to_numpy(self):
        """Plain-python/numpy form, for persistence."""
        return {
            "lr": self.lr,
            "m": self.m.detach().cpu().numpy().copy(),
            "v": self.v.detach().cpu().numpy().copy(),
            "t": self.t,
        }

    @classmethod
    def from_numpy(cls, state, device):
        """Inverse of :meth:`to_numpy`."""
        return cls(
            lr=state["lr"],
            m=torch.from_numpy(state["m"].copy()).to(device),
            v=torch.from_numpy(state["v"].copy()).to(device),
            t=state["t"],
        )


# ---------------------------------------------------------------------------
# epoch loop


@dataclass
class TrainingData:
    """Standardised tensors for training, and optionally for validation."""

    X: torch.Tensor
    Y: torch.Tensor
    w: torch.Tensor
    X_val: torch.Tensor | None = None
    Y_val: torch.Tensor | None = None
    w_val: torch.Tensor | None = None


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
    layout : NetworkLayout
        The network's shapes.
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
        layout,
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
        self.layout = layout
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
            layout.weight_mask(params.dtype).to(params.device) if alpha > 0 else None
        )
        self._layers = layout.unflatten(params)
        self._grad = torch.zeros_like(params)
        self._grad_layers = layout.unflatten(self._grad)

    def _noise(self, shape, std, like):
        noise = torch.randn(shape, generator=self.generator, dtype=like.dtype)
        return noise.to(like.device).mul_(std)

    def penalty(self):
        """``0.5 * sum(W**2)``: the L2 term before division by the batch weight."""
        if self._mask is None:
            return 0.0
        return 0.5 * float((self.params * self.params * self._mask).sum())

    def run_epoch(self, X, Y, w):
        """One pass over shuffled mini-batches; return the mean training NLL."""
        n = X.shape[0]
        perm = torch.randperm(n, generator=self.generator).to(X.device)
        Y_t = Y.T.contiguous()  # one row per target: contiguous batch slices
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
            loss = self.layout.loss_and_grad(
                self._layers, self._grad_layers, xb, yb, coef
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
                logits, loc, scale = self.layout.forward(self.params, X[start:stop])
                lp = log_prob(logits, loc, scale, Y[start:stop])
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
            loss = trainer.run_epoch(data.X, data.Y, data.w)
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
                trainer.optimizer.lr *= LR_BACKOFF
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
