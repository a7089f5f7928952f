"""Progress of a ``verbose`` fit: the lines a person reads while it trains."""

# SPDX-License-Identifier: BSD-3-Clause

import time

import numpy as np

# verbose: at most one progress line per this many seconds, and within an
# epoch (a large data set's) one per EPOCH_PROGRESS_SECONDS.
PROGRESS_SECONDS = 1.0
EPOCH_PROGRESS_SECONDS = 5.0


# What the last progress line says of why training ended.
_ENDINGS = {
    "converged": "every network stopped for lack of progress",
    "max_iter": "max_iter epochs reached",
    "interrupted": "interrupted; the best weights so far are kept",
}


class Progress:
    """A throttled progress line for ``verbose`` fits.

    A first line before the first step (what will be trained), a line within
    long epochs, then after the first epoch at most one line every
    ``PROGRESS_SECONDS``, and a last line that says why training ended.
    Each epoch's line gives the epochs and steps, the losses (the mean over
    the networks), the time spent and the time left: an estimate, between
    the time to the stopping rule if no more progress is made and the time
    to ``max_iter``. The estimate assumes that a network goes on improving
    for as long again as it has improved so far (the epoch of its best
    score), less the epochs it has already waited.
    """

    def __init__(self, data, trainer, max_iter):
        M, n = data.rows.shape
        self.steps = -(-n // trainer.batch_size)
        self.start = self.last = self.epoch_start = time.perf_counter()
        self.printed = None  # the epoch last printed
        self.epoch = 0
        networks = f"{M} networks" if M > 1 else "1 network"
        print(
            f"Training {networks} on {n:,} rows: {self.steps:,} steps of "
            f"{trainer.batch_size:,} rows an epoch, at most {max_iter:,} epochs"
        )

    def step(self, j):
        """Within a long epoch: a line every ``EPOCH_PROGRESS_SECONDS``."""
        now = time.perf_counter()
        if min(now - self.last, now - self.epoch_start) >= EPOCH_PROGRESS_SECONDS:
            print(
                f"Iteration {self.epoch + 1}: {j:,} of {self.steps:,} steps, "
                f"{now - self.start:.1f} s"
            )
            self.last = now

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

    def update(self, histories, steps, epoch, max_iter, waits, guesses=None):
        """Print a line if the first epoch or ``PROGRESS_SECONDS`` have passed.

        ``waits`` holds, per network still training, the epochs left if it
        makes no more progress (None without a stopping rule), and
        ``guesses`` the estimated epochs left (see
        :meth:`~skmdn._optim.StoppingRule.guesses`).
        """
        self.epoch = epoch
        now = self.epoch_start = time.perf_counter()
        if self.printed is not None and now - self.last < PROGRESS_SECONDS:
            return
        per_epoch = (now - self.start) / epoch
        to_max = (max_iter - epoch) * per_epoch
        line = self._line(histories, steps)
        if waits is None:
            line += f", {to_max:.0f} s left"
        else:
            to_stop = min(max([0, *waits]) * per_epoch, to_max)
            guess = min(max([0, *(guesses or waits)]) * per_epoch, to_max)
            line += (
                f", about {guess:.0f} s left (at least {to_stop:.0f}, "
                f"at most {to_max:.0f})"
            )
        print(line)
        self.last, self.printed = now, epoch

    def epoch_done(self, histories, steps, epoch, rule):
        """:meth:`update` after an epoch, with the waits of the stopping rule."""
        waits, guesses = rule.waits(histories), rule.guesses(histories)
        self.update(histories, steps, epoch, rule.max_iter, waits, guesses)

    def close(self, histories, steps, epoch, status):
        """Print the last line: the last epoch (unless printed) and why it ended."""
        ending = _ENDINGS[status]
        if epoch and self.printed != epoch:
            print(self._line(histories, steps) + f", done: {ending}")
        else:
            seconds = time.perf_counter() - self.start
            print(f"Done after {epoch:,} epochs, {seconds:.1f} s: {ending}")
