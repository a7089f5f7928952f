"""A fit's data as tensors, and the shuffled mini-batches of an epoch.

:class:`TrainingData` holds the standardised tensors of every network of a
group and each one's training and validation rows; :class:`EpochBatches`
walks one epoch of shuffled batches of them, with the noise of the
regularisation, for every trainer of :mod:`skmdn._training`.
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass

import numpy as np
import torch

# Batches per gather of shuffled rows in an epoch.
GATHER_BATCHES = 64


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
    # per network, the weighted mean of the targets' log-Jacobian over its
    # training rows (M,), and the log-Jacobian of each validation row
    train_jacobian: np.ndarray | float = 0.0
    val_jacobian: list | None = None
    val_jacobian_mean: np.ndarray | None = None

    @classmethod
    def from_numpy(cls, X, Y, w, train_rows, val_rows, device, log_jacobian=None):
        """Build the tensors on ``device``; ``val_rows`` may be None.

        ``log_jacobian`` (n,) is ``log g'(y)`` of each row for targets under
        a change of variables ``t = g(y)`` (see :mod:`skmdn._target`), or
        None; it turns the losses and scores of ``t`` into those of ``y``.
        """

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
        if log_jacobian is not None:

            def means(rows):
                return np.array(
                    [np.average(log_jacobian[r], weights=w[r]) for r in rows]
                )

            data.train_jacobian = means(train_rows)
            if val_rows is not None:
                data.val_jacobian = [log_jacobian[r] for r in val_rows]
                data.val_jacobian_mean = means(val_rows)
        return data

    def validation_jacobian(self, m, mean=False):
        """Network ``m``'s validation log-Jacobians (rows,), or their mean.

        0 for targets without a change of variables.
        """
        if self.val_jacobian is None:
            return 0.0
        return float(self.val_jacobian_mean[m]) if mean else self.val_jacobian[m]


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
        if len(self.starts) > 1 and n - self.starts[-1] == 1:
            # no batch of one row (BatchNorm cannot train on it): the last
            # row joins the batch before it
            del self.starts[-1], self.stops[-1]
            self.stops[-1] = n
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
        all_step = self.stepping.all(1)
        for j, (start, stop) in enumerate(zip(self.starts, self.stops, strict=True)):
            if j % GATHER_BATCHES == 0:
                if j and trainer.progress is not None:
                    trainer.progress.step(j)
                first = start
                last = self.stops[min(j + GATHER_BATCHES, len(self.stops)) - 1]
                idx = self.rows[:, first:last]
                flat = idx.reshape(-1)
                X_c = data.X.index_select(0, flat).view(*idx.shape, -1)  # (M, c, F)
                Y_c = data.Y_t.index_select(1, flat).view(-1, *idx.shape)
                Y_c = Y_c.transpose(0, 1)  # (M, D, c)
                w_c = self.w[:, first:last]
            stepping = None if all_step[j] else self.stepping[j]
            if stepping is not None and not stepping.any():
                continue
            lo, hi = start - first, stop - first
            coef = w_c[:, lo:hi] * self.inv[j][:, None]
            xb, yb = X_c[:, lo:hi], Y_c[:, :, lo:hi]
            if trainer.input_noise is not None:
                xb = xb + self._noise(xb, trainer.input_noise)
            if trainer.target_noise is not None:
                yb = yb + self._noise(yb, trainer.target_noise)
            yield j, xb, yb, coef, stepping


def noise_std(levels, shape, dtype):
    """Return the noise levels as a tensor of ``shape``, or None if all are 0."""
    levels = np.asarray(levels, dtype=np.float64)
    if not np.any(levels > 0):
        return None
    return torch.as_tensor(levels, dtype=dtype).reshape(shape)
