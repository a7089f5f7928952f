"""Training, for every trunk: the data, the epoch loop, early stopping, roll-back.

:func:`fit_networks` takes standardised numpy data and returns every
network's numpy :class:`NetworkState`: every tensor, dtype and device
decision of training is made below it. What a trunk is, and how it trains,
is the trunk's own business (the protocol in :mod:`skmdn._trunk`): the
built-in MLP (:mod:`skmdn._network`) trains the ``M`` networks of an
ensemble together, as one batched network with a hand-written gradient; a
user's module (:mod:`skmdn._module`) trains one network at a time by
autograd. Both run their epochs behind :class:`BaseTrainer`, and this
module drives them: the resolved :class:`TrainingPlan`, the shuffled
batches, the validation score, the loop of :func:`train` with the
:class:`~skmdn._optim.StoppingRule`, best-weight restore and roll-back.
Nothing here knows about scikit-learn's estimator API.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from skmdn._batches import TrainingData, noise_std
from skmdn._marginal import _gaussian_bias, _keep_marginal, _marginal_candidates
from skmdn._optim import (
    ADAPTIVE_CUTS,
    CUT,
    FINAL_LR_FACTOR,
    FINAL_PHASE,
    LR_BACKOFF,
    LR_CUT_FACTOR,
    MAX_ROLLBACKS,
    StoppingRule,
    final_patience,
)
from skmdn._preprocessing import (
    SplitKeys,
    effective_rows,
    init_components,
    input_noise_level,
    resolve_batch_size,
    resolve_patience,
    target_noise_levels,
    validation_split,
)
from skmdn._progress import Progress

# Rows scored per chunk when evaluating a whole data set, so that memory stays
# bounded by the chunk and not by the number of rows (at 64 hidden units a
# chunk of 65,536 rows took 120 MB, a million-row fit's peak).
EVAL_CHUNK = 16384
# scale_calibration='auto': the factor of the scales is searched within
# [1, CALIBRATION_BOUND], on at most CALIBRATION_ROWS validation rows (one
# scalar: its standard error is then below 1%), and kept where it gains more
# than AKAIKE_PENALTY in validation log-likelihood. With the 5%
# likelihood-ratio test's 1.92 nats instead, yacht's single networks gained
# 0.018 nats on new rows, against 0.095 with no test (benchmarks/levers.py,
# 20 splits); with none, a kept marginal on 20 validation rows lost up to
# 0.04 nats (tests/test_regularisation.py). Factors below 1, searched down to
# 1 / CALIBRATION_BOUND at first, never helped new rows: 0.83 to 0.94 on
# 40-100 validation rows cost 0.01 to 0.06 nats, 0.73 on 30 rows 0.11, 0.19
# on one row 20 nats, and the one kept on 1,000 rows (heteroscedastic,
# benchmarks/density.py) 0.001; the rows that chose the best epoch flatter it.
CALIBRATION_BOUND = 10.0
CALIBRATION_ROWS = 100_000
AKAIKE_PENALTY = 1.0  # nats: half of AIC's 2 per parameter
# Without early stopping, a network whose last epoch's training loss is more
# than this many nats per row above its best epoch's in the call has blown up
# (scales collapsing onto a few targets, a step too large): its best weights
# are restored. Two rows of one target at the default step size went from
# -2.76 to +4.95 (tests/test_misuse.py); ordinary epoch-to-epoch noise is
# hundredths of a nat.
BLOW_UP_NATS = 1.0


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

    def summary(self):
        """Return the public record of one network (``networks_``), but ``t``."""
        return {
            "loss_curve": self.loss_curve,
            "validation_scores": self.validation_scores,
            "loss": self.loss_curve[-1],
            "best_loss": self.best_loss,
            "best_validation_score": self.best_validation_score,
            "n_iter": self.n_iter,
        }

    @staticmethod
    def means(histories):
        """Return the estimator's summed-up attributes: means over the networks.

        ``loss_curve_`` and ``validation_scores_`` per epoch, over the
        networks that ran it; ``loss_``, ``best_loss_`` and
        ``best_validation_score_``; None where a value does not apply.
        """
        return {
            "loss_curve_": _mean_curve([h.loss_curve for h in histories]),
            "loss_": _mean([h.loss_curve[-1] for h in histories]),
            "best_loss_": _mean([h.best_loss for h in histories]),
            "validation_scores_": _mean_curve([h.validation_scores for h in histories]),
            "best_validation_score_": _mean(
                [h.best_validation_score for h in histories]
            ),
        }

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


def _mean(values):
    """Mean over the networks of a per-network value; None where it does not apply."""
    if all(v is None for v in values):
        return None
    return sum(values) / len(values)


def _mean_curve(curves):
    """Per-epoch mean over the networks that ran each epoch; None where none apply."""
    if all(c is None for c in curves):
        return None
    curves = [c for c in curves if c is not None]
    if len(curves) == 1:
        return list(curves[0])
    length = max(len(c) for c in curves)
    return [
        sum(values) / len(values)
        for values in ([c[e] for c in curves if len(c) > e] for e in range(length))
    ]


class BaseTrainer:
    """What every trainer has: its settings, noise levels and validation score.

    A trunk's trainer (:meth:`skmdn._trunk.Trunk.new_trainer`) subclasses it
    and adds :meth:`run_epoch`, :meth:`forward` and :meth:`weights`.
    :func:`train` uses ``params`` (a tensor of shape (M, n_values) that the
    networks view: writing a row writes a network), ``optimizer`` (the
    interface of :mod:`skmdn._optim`), ``active`` (the networks still
    training, set before each epoch) and ``input_noise`` (switched off per
    network in the final phase); :class:`EpochBatches` the batch size, the
    generator and the noise.

    Parameters
    ----------
    head : MixtureHead
        The mixture head on the trunk's outputs.
    params : Tensor of shape (M, n_values)
        Every network's parameters, updated in place.
    optimizer : AdamState or TorchAdam
        Updated in place.
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
    input_noise : array-like of shape (M,)
        Standard deviation of the Gaussian noise added to the standardised
        inputs of every batch (noise regularisation), per network; 0 for none.
    target_noise : array-like of shape (M, D)
        The same for the standardised targets, per network and target.
    """

    def __init__(
        self,
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
        self.head = head
        self.params = params
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.alpha = alpha
        self.clip_grad_norm = clip_grad_norm
        self.log_det = log_det
        self.generator = generator
        M = params.shape[0]
        self.active = np.ones(M, dtype=bool)
        self.progress = None  # a verbose fit's Progress, told of long epochs
        self.input_noise = noise_std(input_noise, (M, 1, 1), params.dtype)
        self.target_noise = noise_std(target_noise, (M, -1, 1), params.dtype)

    def run_epoch(self, data):
        """One pass over shuffled mini-batches; the mean training loss per network.

        Returns
        -------
        ndarray of shape (M,)
            Mean training loss (original units, plus the L2 penalty); NaN
            for the networks that have stopped (they do not train).
        """
        raise NotImplementedError

    def forward(self, m, X):
        """Network ``m``'s head outputs (n, width) for inputs ``X``, no gradient."""
        raise NotImplementedError

    def weights(self, m):
        """Network ``m``'s weights as numpy arrays (the trunk's layout)."""
        raise NotImplementedError

    def marginal_params(self, m, bias):
        """Network ``m``'s parameters, the output layer's weights zeroed, ``bias``.

        Every row then gets the mixture of the output bias ``bias`` (shape
        (width,), :meth:`MixtureHead.init_bias`), whatever the inputs.
        Returns a new tensor of shape (n_values,); the network is unchanged.
        Optional: None (this default) gives the network no marginal
        candidate.
        """
        return None

    def advice(self):
        """Return what to check when training stays non-finite (for the error)."""
        return (
            "Check the data for extreme values, or raise 'min_scale', lower "
            "'learning_rate_init' or set 'clip_grad_norm'."
        )

    def _validation_chunks(self, m, data):
        """Network ``m``'s validation log-densities and weights, chunk by chunk."""
        X, Y, w = data.validation[m]
        for start in range(0, X.shape[0], EVAL_CHUNK):
            stop = start + EVAL_CHUNK
            out = self.forward(m, X[start:stop])
            yield self.head.log_prob(out, Y[start:stop]), w[start:stop]

    def score(self, data):
        """Mean weighted validation log-likelihood (original units) per network.

        Of the targets ``y``: with a change of variables, the log-densities of
        ``t = g(y)`` plus the log-Jacobians of the rows.

        NaN for the networks that have stopped: they are not scored.
        """
        scores = np.full(self.params.shape[0], np.nan)
        with torch.no_grad():
            for m in np.flatnonzero(self.active):
                total = sum(
                    float((w * lp).sum()) for lp, w in self._validation_chunks(m, data)
                )
                mean = total / float(data.validation[m][2].sum())
                scores[m] = mean - self.log_det + data.validation_jacobian(m, True)
        return scores

    def scale_factor(self, m, data):
        """Return the factor of network ``m``'s scales that fits its validation rows.

        The maximiser of the weighted validation log-likelihood over one
        factor ``c >= 1`` of every component's scale (Cholesky factor), the
        means and the mixing proportions kept: the "sigma scaling" of Laves
        et al. (2020, "Well-calibrated regression uncertainty in medical
        imaging with deep learning"), by bounded Brent search on ``log c``
        in ``[0, log CALIBRATION_BOUND]``. The factor only widens: the
        validation rows also chose the best epoch, which makes the scales
        look a little too wide to them (see ``CALIBRATION_BOUND``). At most
        ``CALIBRATION_ROWS`` rows, evenly strided, are used. The factor is
        kept only where Akaike's criterion prefers it: where its gain in
        log-likelihood, summed over the rows (integer weights as repeated
        rows, others by Kish's effective number,
        :func:`~skmdn._preprocessing.effective_rows`), exceeds 1 nat, the
        penalty of one fitted parameter, so that a few validation rows do
        not move a model by their noise; else 1.0.
        """
        X, Y, w = data.validation[m]
        step = -(-X.shape[0] // CALIBRATION_ROWS)  # ceil
        X, Y, w = X[::step], Y[::step], w[::step].double()
        with torch.no_grad():
            chunks = [
                (self.forward(m, X[i : i + EVAL_CHUNK]), Y[i : i + EVAL_CHUNK])
                for i in range(0, X.shape[0], EVAL_CHUNK)
            ]

            def loss(log_c):  # the mean negative log-likelihood
                lp = torch.cat(
                    [self.head.log_prob(out, y, math.exp(log_c)) for out, y in chunks]
                )
                return -float((w * lp.double()).sum() / w.sum())

            found = minimize_scalar(
                loss,
                bounds=(0.0, math.log(CALIBRATION_BOUND)),
                method="bounded",
                options={"xatol": 1e-3},
            )
            gain = (loss(0.0) - found.fun) * effective_rows(w.cpu().numpy())
            if not (np.isfinite(found.fun) and gain > AKAIKE_PENALTY):
                return 1.0
            return math.exp(found.x)

    def validation_log_prob(self, m, data):
        """Network ``m``'s log-likelihood of each validation row (original units)."""
        with torch.no_grad():
            lp = [lp for lp, _ in self._validation_chunks(m, data)]
        lp = torch.cat(lp).double().cpu().numpy() - self.log_det
        return lp + data.validation_jacobian(m)


def train(trainer, data, histories, rule, *, tol, verbose, marginals=None):
    """Run epochs of every network until ``rule`` stops them, with roll-back.

    After every epoch each network's history records its loss and
    validation score, and ``rule`` (:class:`~skmdn._optim.StoppingRule`)
    says what comes next: nothing, a step-size cut (the 'adaptive'
    schedule; the input noise is dropped), the noise-free final phase (best
    weights back, no input noise, the step size divided by
    ``FINAL_LR_FACTOR``), or a stop; a stopped network stays frozen while
    the others train. An epoch whose loss is not finite is rolled back for
    that network, with a ten times smaller step size. With early stopping,
    the parameters with the best validation score are restored at the end.
    Without it (and with a stopping rule), an epoch whose training loss is
    more than ``BLOW_UP_NATS`` above the best of the call sends the network
    back to its best weights with a ten times smaller step size (up to
    ``MAX_ROLLBACKS`` times), and its best weights are restored at the end if
    the last epoch's loss is that far above the best.

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
    best_params = params.clone()
    best_loss = np.full(M, np.inf)  # of this call: the data may be new
    blow_ups = np.zeros(M, dtype=int)
    rollbacks = np.zeros(M, dtype=int)
    status = None
    epoch = 0
    marginal = {}
    if early_stopping and marginals is not None:
        marginal = _marginal_candidates(trainer, data, marginals)
    progress = Progress(data, trainer, rule.max_iter) if verbose else None
    trainer.progress = progress
    try:
        while not rule.stopped.all():
            snapshot = (params.clone(), trainer.optimizer.clone())
            trainer.active = ~rule.stopped
            losses = trainer.run_epoch(data)
            scores = trainer.score(data) if early_stopping else [None] * M
            finite_params = torch.isfinite(params).all(1).cpu().numpy()
            epoch += 1
            for m in np.flatnonzero(~rule.stopped):
                loss = float(losses[m])
                score = None if scores[m] is None else float(scores[m])
                finite = math.isfinite(loss) and finite_params[m]
                if not (finite and (score is None or math.isfinite(score))):
                    _roll_back(trainer, snapshot, m, rollbacks, verbose, histories)
                    continue
                improved = histories[m].update(loss, score, tol)
                if early_stopping and improved:
                    best_params[m] = params[m]
                elif not early_stopping and loss < best_loss[m]:
                    best_params[m] = params[m]
                elif _blew_up(loss, best_loss[m], early_stopping, rule, blow_ups[m]):
                    blow_ups[m] += 1
                    _back_to_best(trainer, m, best_params, verbose)
                best_loss[m] = min(best_loss[m], loss)
                action = rule.after_epoch(m, histories[m])
                if action is not None:
                    _next_phase(trainer, m, action, best_params, verbose)
            if progress is not None:
                progress.epoch_done(histories, trainer.optimizer.t, epoch, rule)
    except KeyboardInterrupt:
        status = "interrupted"
    trainer.progress = None
    if early_stopping:
        params.copy_(best_params)
        _keep_marginal(trainer, data, marginal, histories, verbose)
    elif rule.stopping:
        _restore_blown_up(params, best_params, best_loss, histories)
    status = rule.status() if status is None else status
    if progress is not None:
        progress.close(histories, trainer.optimizer.t, epoch, status)
    return status


def _back_to_best(trainer, m, best_params, verbose):
    """Send network ``m`` back to its best weights with a smaller step size."""
    trainer.params[m] = best_params[m]
    trainer.optimizer.back_off(m)
    if verbose:
        print(
            f"Network {m}: training loss over {BLOW_UP_NATS:g} nat above its best: "
            f"back to the best weights, learning rate {trainer.optimizer.lr[m]:.3g}"
        )


def _blew_up(loss, best_loss, early_stopping, rule, blow_ups):
    """Whether a training loss far above the call's best calls for a step back."""
    return (
        not early_stopping
        and rule.stopping
        and blow_ups < MAX_ROLLBACKS
        and loss > best_loss + BLOW_UP_NATS
    )


def _restore_blown_up(params, best_params, best_loss, histories):
    """Restore the best weights of the networks whose loss blew up at the end."""
    for m, history in enumerate(histories):
        if history.loss_curve and history.loss_curve[-1] > best_loss[m] + BLOW_UP_NATS:
            params[m] = best_params[m]


def _next_phase(trainer, m, action, best_params, verbose):
    """Start network ``m``'s next phase: a step-size cut or the final phase."""
    if trainer.input_noise is not None:
        trainer.input_noise[m] = 0.0
    if action == CUT:
        trainer.optimizer.lr[m] /= LR_CUT_FACTOR
    elif action == FINAL_PHASE:
        trainer.params[m] = best_params[m]
        trainer.optimizer.lr[m] /= FINAL_LR_FACTOR
        if verbose:
            print(
                f"Network {m}: noise-free final phase from the best epoch, "
                f"learning rate {trainer.optimizer.lr[m]:.3g}"
            )


def _roll_back(trainer, snapshot, m, rollbacks, verbose, histories):
    """Undo network ``m``'s last epoch and lower its step size, or raise."""
    if rollbacks[m] == MAX_ROLLBACKS:
        raise FloatingPointError(
            "Training produced a non-finite loss even after lowering the "
            f"learning rate {MAX_ROLLBACKS} times (now "
            f"{snapshot[1].lr[m] * LR_BACKOFF:.3g}). {trainer.advice()}"
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


@dataclass(eq=False)
class NetworkState:
    """One trained network, numpy and plain values only (safe to pickle).

    The same type for every trunk; what ``weights`` holds is the trunk's
    business.

    Attributes
    ----------
    weights : dict
        The network's weights as numpy arrays: for the built-in MLP
        ``coefs`` and ``intercepts`` (lists of ``(fan_in, fan_out)`` and
        ``(fan_out,)`` arrays), for a user's module its ``state_dict``.
    optimizer : dict
        The optimizer's state (``to_numpy`` of :mod:`skmdn._optim`).
    history : History
        Losses and validation scores of every epoch so far.
    scale_factor : float
        The factor of every component scale at prediction (1.0 but for a
        network calibrated on its validation rows,
        :meth:`BaseTrainer.scale_factor`).
    """

    weights: dict
    optimizer: dict
    history: History
    scale_factor: float = 1.0
    # objects a trunk rebuilds from the weights (a module per device), cached
    # here and never persisted (see __getstate__)
    _built: dict = field(default_factory=dict, init=False, repr=False)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_built"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._built = {}

    def built(self, key, build):
        """Return ``build()``, computed once per ``key`` and cached."""
        if key not in self._built:
            self._built[key] = build()
        return self._built[key]


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
    scale_calibration: object = "auto"  # 'auto' or None


@dataclass(frozen=True)
class TrainingPlan:
    """One group of networks' training, every 'auto' resolved, before it starts.

    Built by :meth:`resolve` from the :class:`TrainingConfig` and the
    networks' training rows; the trainers and the stopping rule read only
    this.
    """

    batch_size: int
    learning_rate_init: float
    alpha: float
    clip_grad_norm: float | None
    tol: float
    verbose: bool
    early_stopping: bool
    max_iter: int
    stopping: bool
    patience: float
    lr_cuts: int
    final_patience: int | None
    input_noise: np.ndarray  # (M,)
    target_noise: np.ndarray  # (M, D)

    @classmethod
    def resolve(cls, config, n_train, target_noise, *, n_dims, incremental):
        """Resolve ``config`` for networks with ``n_train`` training rows each.

        Parameters
        ----------
        config : TrainingConfig
        n_train : list of int
            Each network's number of training rows.
        target_noise : list of ndarray of shape (D,)
            Each network's resolved target noise.
        n_dims : int
            Features plus targets (the input-noise rule).
        incremental : bool
            One epoch, no stopping and no early stopping (``partial_fit``).
        """
        n_max = max(n_train)
        batch_size = resolve_batch_size(config.batch_size, n_max)
        patience = resolve_patience(config.n_iter_no_change, n_max, batch_size)
        return cls(
            batch_size=batch_size,
            learning_rate_init=float(config.learning_rate_init),
            alpha=float(config.alpha),
            clip_grad_norm=config.clip_grad_norm,
            tol=config.tol,
            verbose=config.verbose,
            early_stopping=bool(config.early_stopping) and not incremental,
            max_iter=1 if incremental else config.max_iter,
            stopping=not incremental,
            patience=patience,
            lr_cuts=ADAPTIVE_CUTS if config.learning_rate == "adaptive" else 0,
            final_patience=final_patience(config.learning_rate, patience),
            input_noise=np.array(
                [input_noise_level(config.input_noise, n, n_dims) for n in n_train]
            ),
            target_noise=np.array(target_noise),
        )

    def trainer_kwargs(self, log_det, generator):
        """Return the keywords of :class:`BaseTrainer`: the plan's, and these two."""
        return {
            "log_det": log_det,
            "generator": generator,
            "batch_size": self.batch_size,
            "alpha": self.alpha,
            "clip_grad_norm": self.clip_grad_norm,
            "input_noise": self.input_noise,
            "target_noise": self.target_noise,
        }

    def stopping_rule(self):
        """Return a fresh :class:`~skmdn._optim.StoppingRule` for this plan."""
        return StoppingRule(
            len(self.input_noise),
            patience=self.patience,
            max_iter=self.max_iter,
            stopping=self.stopping,
            lr_cuts=self.lr_cuts,
            final_patience=self.final_patience,
            # the final phase needs a validation score to choose its weights
            noisy=(self.input_noise > 0) & self.early_stopping,
        )


def split_rows(keys, w, config, seeds, early_stopping):
    """Each network's training rows, and its validation rows (or None).

    ``keys`` are the rows' split keys (:class:`~skmdn._preprocessing.SplitKeys`),
    computed once for every network.
    """
    if not early_stopping:
        return [np.arange(len(w))] * len(seeds), None
    splits = [
        validation_split(keys, w, config.validation_fraction, seed[0]) for seed in seeds
    ]
    return [t for t, _ in splits], [v for _, v in splits]


def fit_networks(
    trunk,
    head,
    X,
    Y,
    w,
    *,
    config,
    log_det,
    seeds,
    previous,
    incremental,
    device,
    log_jacobian=None,
):
    """Train ``M`` networks on standardised data; the trunk says which together.

    Parameters
    ----------
    trunk : Trunk
        The protocol of :mod:`skmdn._trunk`; ``trunk.batched`` networks
        train together as one batched network, else one after another.
    head : MixtureHead
    X : ndarray of shape (n, n_features)
        Standardised inputs, float32 or float64 (the training dtype).
    Y : ndarray of shape (n, D)
        Standardised targets, in ``X``'s dtype.
    w : ndarray of shape (n,)
        Sample weights, in ``X``'s dtype, positive (the estimator leaves
        the rows of weight 0 out).
    config : TrainingConfig
    log_det : float
        ``sum(log y_scale)``, to report losses in original target units.
    seeds : ndarray of shape (M, 3)
        Per network, the seeds of its validation split, of its component
        initialisation and of its generator (shuffles, noise, weights).
    previous : list of (NetworkState or None)
        The states to continue from (a warm start or ``partial_fit``), or
        None for fresh networks; its length is ``M``.
    incremental : bool
        One epoch, no early stopping (``partial_fit``).
    device : str or torch.device
    log_jacobian : ndarray of shape (n,), optional
        ``log g'(y)`` of each row, for targets modelled on ``t = g(y)``
        (``Y`` holds ``t``): added to the losses and scores, which are then
        those of ``y``.

    Returns
    -------
    states : list of NetworkState
        One per network; fewer than ``M`` when an interruption stopped the
        fit before a fresh network was trained.
    status : {'converged', 'max_iter', 'interrupted'}
        See :func:`train`; the first of 'interrupted' and 'max_iter' that a
        group of networks returned, else 'converged'.
    """
    early_stopping = bool(config.early_stopping) and not incremental
    keys = SplitKeys(X, Y, w) if early_stopping else None
    M = len(previous)
    # one network's scales are calibrated on its validation rows; an
    # ensemble's members are not (their disagreement widens the mixture)
    calibrate = early_stopping and M == 1 and config.scale_calibration == "auto"
    groups = [list(range(M))] if trunk.batched else [[m] for m in range(M)]
    states, statuses = [], []
    for group in groups:
        if "interrupted" in statuses:  # keep what was trained before it
            if previous[group[0]] is None:
                break
            states.extend(previous[m] for m in group)
            continue
        group_states, status = _fit_group(
            trunk,
            head,
            (X, Y, w, keys, log_jacobian),
            config=config,
            log_det=log_det,
            seeds=seeds[group],
            previous=[previous[m] for m in group],
            incremental=incremental,
            device=torch.device(device),
            calibrate=calibrate,
        )
        states.extend(group_states)
        statuses.append(status)
    status = next((s for s in ("interrupted", "max_iter") if s in statuses), None)
    return states, status or "converged"


def _fit_group(
    trunk,
    head,
    data,
    *,
    config,
    log_det,
    seeds,
    previous,
    incremental,
    device,
    calibrate=False,
):
    """Train the networks of one group together: :func:`fit_networks`'s step."""
    X, Y, w, keys, log_jacobian = data
    early_stopping = bool(config.early_stopping) and not incremental
    train_rows, val_rows = split_rows(keys, w, config, seeds, early_stopping)
    fresh = previous[0] is None
    target_noise, out_biases, marginals = [], [], []
    for m, rows in enumerate(train_rows):
        Y_m = Y[rows]  # one gather per network
        target_noise.append(target_noise_levels(config.target_noise, Y_m)[:, 0])
        if fresh:
            rng = np.random.RandomState(seeds[m][1])
            loc, scale = init_components(
                Y_m, w[rows], head.n_components, rng, head.min_scale
            )
            out_biases.append(head.init_bias(loc, scale))
            marginals.append([_gaussian_bias(head, Y_m, w[rows]), out_biases[-1]])
    plan = TrainingPlan.resolve(
        config,
        [len(r) for r in train_rows],
        target_noise,
        n_dims=trunk.n_features + head.n_outputs,
        incremental=incremental,
    )
    # dequantised targets: a factor fitted to the raw values, which the
    # network never saw, would narrow the density onto them again
    calibrate = calibrate and not (plan.target_noise > 0).any()
    data = TrainingData.from_numpy(X, Y, w, train_rows, val_rows, device, log_jacobian)
    if fresh:
        histories = [History(early_stopping=early_stopping) for _ in previous]
    else:
        histories = [p.history.resumed(early_stopping) for p in previous]
    seed = int(seeds[0][2])
    with trunk.random_scope(seed, device):
        trainer = trunk.new_trainer(
            head,
            data,
            None if fresh else previous,
            out_biases=out_biases,
            generator=torch.Generator().manual_seed(seed),
            plan=plan,
            log_det=log_det,
        )
        status = train(
            trainer,
            data,
            histories,
            plan.stopping_rule(),
            tol=plan.tol,
            verbose=plan.verbose,
            marginals=marginals if fresh else None,
        )
        factors = [
            trainer.scale_factor(m, data) if calibrate else 1.0
            for m in range(len(histories))
        ]
        states = [
            NetworkState(trainer.weights(m), trainer.optimizer.to_numpy(m), h, f)
            for m, (h, f) in enumerate(zip(histories, factors, strict=True))
        ]
    if calibrate and plan.verbose:
        print(
            "Scale calibration on the validation rows: "
            + (
                f"every component scale x {factors[0]:.3f}"
                if factors[0] != 1.0
                else "the scales are kept (no factor gains 1 nat, Akaike's criterion)"
            )
        )
    return states, status
