"""MDNRegressor: the scikit-learn estimator around the network and training loop."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from skmdn._head import COVARIANCE_TYPES, make_head
from skmdn._mixture import covariance, outputs
from skmdn._module import ModuleParamsMixin
from skmdn._network import ACTIVATIONS
from skmdn._preprocessing import Standardisation, check_block_order
from skmdn._target import TARGET_TYPES, Target
from skmdn._threads import one_thread, openmp_threads
from skmdn._training import History, TrainingConfig, fit_networks
from skmdn._trunk import DEVICE_TYPES, PUBLIC_NAMES, is_cpu, make_trunk
from skmdn._views import DistributionViewsMixin

# n_networks="auto": as many networks as cost about one network on
# AUTO_ENSEMBLE_ROWS rows, at most AUTO_MAX_NETWORKS (small data sets gain
# most from an ensemble and cost least).
AUTO_ENSEMBLE_ROWS = 10_000
AUTO_MAX_NETWORKS = 5


class MDNRegressor(
    ModuleParamsMixin, DistributionViewsMixin, RegressorMixin, BaseEstimator
):
    """Mixture density network regressor.

    A feed-forward network maps each input ``x`` to the parameters of a
    Gaussian mixture over the targets,
    ``p(y | x) = sum_k pi_k(x) N(y; mu_k(x), Sigma_k(x))`` (diagonal
    ``Sigma_k`` by default, see ``covariance_type``), and is
    trained by minimising the sample-weighted negative log-likelihood with
    mini-batch Adam. It is a drop-in regressor (``predict`` returns the
    conditional mean and ``score`` is R²) that also exposes the whole
    conditional distribution through :meth:`predict_dist`,
    :meth:`conditional_density`, :meth:`log_prob` and :meth:`sample`.

    Inputs and targets are standardised internally with sample-weighted
    statistics computed in float64 (a target dominated by a few extreme
    values is scaled robustly; constant columns are recognised; sparse ``X``
    is densified); densities are reported in the original target units. See
    the "Your data" page of the user guide.

    Parameters
    ----------
    n_components : int, default=10
        Number of mixture components ``K``. Unused components are harmless:
        their weights shrink. See the "choosing hyperparameters" page for the
        evidence behind every default.

    n_networks : int or 'auto', default='auto'
        Number of networks trained independently (own initial weights,
        shuffles, noise and validation split) whose densities are averaged:
        the model is then one exact mixture of ``n_networks * n_components``
        Gaussians, so every distribution method works unchanged. An ensemble
        mostly removes the variance of a single fit, which matters most on
        small data sets. 'auto' uses ``10000 // n_samples`` networks, clipped
        to [1, 5]: the cost of about one network on 10,000 rows, so data sets
        of 10,000 rows or more get a single network. The number is fixed by
        the first call to ``fit`` (or ``partial_fit``); warm starts keep it.

    hidden_layer_sizes : array-like of shape (n_layers,), default=(64, 64)
        Width of each hidden layer of the trunk; ``()`` gives a linear model
        of the mixture parameters.

    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='tanh'
        Activation of the hidden layers.

    piecewise_linear_bins : int or None, default=None
        Number of bins ``T`` of a piecewise-linear encoding of every input
        before the built-in trunk's first layer (Gorishniy et al. 2022, "On
        Embeddings for Numerical Features in Tabular Deep Learning"): beside
        each standardised feature, the first layer reads its position in
        each of ``T`` bins between its training quantiles at levels ``0,
        1/T, ..., 1`` (0 below the bin, 1 above, linear inside), so it is a
        piecewise-linear function of each feature. Repeated quantiles (a
        feature with few distinct values) merge bins, and a binary or
        constant feature gets none. The features themselves stay beside
        their bins: with the bins alone yacht's log-likelihood was 0.058
        nats worse than without them, with both 0.083 better (20 splits).
        The input noise is added before the encoding. The bins come from the
        first call to ``fit`` (or the first block of ``partial_fit``, whose
        standardisation then stays fixed); warm starts keep them. None: the
        features themselves. It sharpens tabular sets whose features act
        through thresholds and loses where the target is a smooth function
        of sums of the features; see "Choosing hyperparameters" for what it
        did on the UCI sets and on such problems. With ``module``, raises
        ValueError.

    module : type or callable, default=None
        Your own trunk instead of the built-in MLP: a ``torch.nn.Module``
        subclass, or a callable returning a module, called as
        ``module(n_features=n_features_in_, **module_params)`` (``n_features``
        is left out when the constructor has no parameter of that name nor
        ``**kwargs``). The module maps standardised inputs of shape
        ``(batch, n_features)`` to features of shape ``(batch, m)``; fit
        finds ``m`` and appends the linear mixture head, and trains the whole
        network by autograd with torch's Adam. It must be importable by name
        (defined at the top level of a module, not in ``__main__`` or a
        function) for a fitted model to be unpickled. ``hidden_layer_sizes``
        and ``activation`` are then unused. See the user guide, "Your own
        network".

    module_params : dict, default=None
        Keyword arguments of ``module``. As in skorch, each is also a
        parameter ``module__<name>`` of :meth:`get_params` and
        :meth:`set_params`, so that ``GridSearchCV`` can search over it.

    alpha : float, default=0.0
        Strength of the L2 penalty on the weights, scaled by the batch's total
        sample weight as in :class:`~sklearn.neural_network.MLPRegressor`.

    batch_size : int or 'auto', default='auto'
        Rows per mini-batch; 'auto' uses ``n_samples // 32`` clipped to
        [32, 256], so small data sets still take enough steps per epoch.
        Values above the number of training rows are clipped.

    learning_rate : {'constant', 'adaptive'}, default='constant'
        Step-size schedule, as MLPRegressor's names it. 'constant' keeps the
        step size until the stopping rule sees no progress; then, if the
        network trains with input noise and early stopping, it ends with a
        short noise-free phase: the best weights are restored, the noise is
        switched off, the step size divided by 10, and training goes on for
        half the patience without progress, the validation
        log-likelihood deciding whether the noise-free weights are kept. The
        noise blurs near-deterministic conditional densities (80% intervals
        that covered 100% there cover about 82%). 'adaptive' divides the step
        size by 5 instead, twice, from the current weights, switching the
        input noise off at the first cut, and stops the third time. With a
        short patience it reached the same held-out NLL in 2 to 3 times fewer
        epochs on 1,000 and 10,000 rows, but it cost the small UCI sets up to
        0.2 nats (energy), so it is not the default; see the "Evidence" page.

    learning_rate_init : float, default=3e-3
        Adam's initial step size. 3e-3 against the earlier 1e-3, on the 20
        splits of each UCI set of the benchmark: 0.01 to 0.12 nats better on
        concrete, energy and yacht, wine equal, and fits 1.2 to 3 times
        faster; Bishop's sharp-edged density 0.008 nats further from the
        truth (0.097); see the "Evidence" page. A fit of fixed epochs
        (``early_stopping=False``) has no final phase at a tenth of the step:
        there 1e-3 was 0.02 nats better (inverse sine, 5,000 rows, 1,000
        epochs; ``benchmarks/speed.py --sections recipe``).

    max_iter : int, default=2000
        Maximum number of epochs (passes over the training data).

    tol : float, default=1e-4
        Minimum improvement of the training loss (or, with early stopping, of
        the validation log-likelihood) that counts as progress.

    n_iter_no_change : int, np.inf or 'auto', default='auto'
        Epochs without progress before training stops (or, with
        ``learning_rate='adaptive'``, the step size is cut). 'auto' waits
        about 2,000 optimiser steps, in whole epochs, clipped to [10, 200]:
        with the 'auto' batch size, 200 epochs for a few hundred rows (8
        steps per epoch), about 60 from 1,300 to 8,000 training rows, 56 at
        10,000 and 10 from 50,000, where the model learns enough per epoch;
        above 256,000 rows at most 10,000 steps (3 epochs at a million rows, 1
        from 2.56 million).
        ``np.inf`` always runs ``max_iter`` epochs.

    early_stopping : bool, default=True
        Whether to hold out ``validation_fraction`` of the data, stop on its
        log-likelihood and restore the weights of the best epoch. A fresh
        network whose best epoch does not beat the marginal of the targets (a
        Gaussian fitted to them, or their k-means mixture) by one standard
        error on the validation rows keeps that marginal: on wide data the
        model is then no worse than the distribution of ``y`` alone.

    validation_fraction : float, default=0.1
        Share of the total sample weight held out for early stopping. Rows are
        assigned by a seeded hash of their values, so identical rows never
        straddle the split.

    scale_calibration : {'auto'} or None, default='auto'
        'auto': a single network trained with early stopping (what
        ``n_networks='auto'`` gives from 5,001 rows) has every component's
        scale (Cholesky factor) multiplied, at prediction, by one factor
        fitted to its validation rows by maximum likelihood, the means and
        mixing proportions kept ("sigma scaling", Laves et al. 2020,
        "Well-calibrated regression uncertainty in medical imaging with deep
        learning"). A network's scales fit its training residuals, which
        are smaller than those of new rows: on concrete, energy and yacht
        (20 splits each) the 90% intervals of single networks covered 83 to
        84% of the test targets, 85 to 86% calibrated, and the NLL fell by
        0.02 to 0.08 nats. The factor is at least 1 (the validation rows
        also chose the best epoch, which flatters it, and every factor
        below 1 we measured made new rows worse), and it is kept only where
        it gains more than 1 nat over the validation rows (Akaike's
        criterion). An ensemble is left as it is: its members' disagreement
        already widens the mixture, and calibrating each member made its
        intervals over-cover. Dequantised targets (``target_noise``) are
        not calibrated: the validation rows hold the raw values, which the
        network never saw. ``partial_fit`` and fits without early stopping
        have no held-out rows: they set the factor to 1 (a ``partial_fit``
        after a calibrated ``fit`` drops the factor). The factors are in
        ``scale_factors_``; see "Choosing hyperparameters". None: never.

    warm_start : bool, default=False
        Whether ``fit`` continues from the previous solution (weights,
        optimiser state and standardisation) instead of starting afresh. It
        holds out the validation rows that the first fit held out, so that
        its early stopping and scale calibration score rows that no call
        trained on. Training parameters changed since
        (``learning_rate_init``, ``batch_size``, ``alpha``, the noise,
        ``clip_grad_norm``, the stopping rule, ``max_iter``) take effect;
        changing the architecture raises.

    clip_grad_norm : float or None, default=10.0
        Maximum Euclidean norm of the gradient of each step; None disables
        clipping.

    min_scale : float, default=1e-3
        Floor added to every component's standard deviation, in units of the
        standardised targets; it keeps the likelihood bounded.

    input_noise : float or 'auto', default='auto'
        Standard deviation of Gaussian noise added to the standardised inputs
        of every mini-batch during training (noise regularisation, Rothfuss
        et al. 2019; never at prediction). 'auto' uses three hundredths of the
        kernel rule of thumb,
        ``0.03 * n_samples ** (-1 / (4 + n_features + n_outputs))``. With
        early stopping, training ends with a noise-free phase (see
        ``learning_rate``); ``partial_fit`` and fits without early stopping
        have no held-out data to validate it on, and train with the noise on
        every epoch. A warm start trains with the noise again, then ends with
        a noise-free phase of its own.

    target_noise : float or 'auto', default='auto'
        The same for the standardised targets. 'auto' adds noise only to a
        target with few distinct values (at most a tenth of the rows, e.g.
        ratings or counts), with the variance of a uniform over one step
        between values (dequantisation), so the density cannot spike on the
        discrete values; continuous targets get none.

    covariance_type : {'diagonal', 'spherical', 'full'}, default='diagonal'
        Form of each component's covariance, with
        :class:`~sklearn.mixture.GaussianMixture`'s names. 'diagonal': one
        scale per component and target (targets independent within a
        component). 'spherical': one scale per component, shared by the
        standardised targets (``predict_dist`` gives the diagonal form in
        the original units). 'full': any covariance, through a lower
        Cholesky factor whose diagonal is ``softplus + min_scale``, so that
        targets correlated within a component (positions, a quantity and its
        rate) need no extra components; it costs ``D (D - 1) / 2`` more
        outputs per component. Diagonal stays the default: it is exact for
        one target, and the cheapest. See the user guide, "Correlated
        targets".

    target_type : {'continuous', 'integer'}, default='continuous'
        What the targets are. 'continuous': a Gaussian mixture density.
        'integer': integer-valued targets (counts, ratings, scores), modelled
        as the discretised mixture ``P(Y = k | x) = F(k + 1/2) - F(k - 1/2)``
        of the continuous mixture ``F``, trained by the likelihood of those
        probabilities (no target noise); :meth:`predict_dist` returns a
        :class:`~skmdn.DiscretisedMixture`, and :meth:`log_prob`, the
        ``score`` of the scorers and the validation scores are
        log-probabilities. Needs ``covariance_type`` 'diagonal' or
        'spherical'. Integer-valued data is not detected: the two models'
        log-likelihoods are not on the same scale (a probability against a
        density). See the user guide, "Your target".

    target_bounds : tuple (lower, upper) or None, default=None
        Bounds of the support of every target, each a number or None
        (unbounded), e.g. ``(0, None)`` for a positive target or ``(0, 1)``
        for a share. With one bound the mixture is fitted to
        ``t = log(y - lower)`` (or ``-log(upper - y)``), with two to
        ``t = log((y - lower) / (upper - y))``; every prediction is on the
        scale of ``y`` (densities with the Jacobian, no mass outside the
        bounds, exact quantiles). Targets on or beyond a bound raise a
        ``ValueError``. See the user guide, "Your target".

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffles and the validation split.
        Pass an int for reproducible results across multiple function calls.
        See :term:`Glossary <random_state>`.

    verbose : bool, default=False
        Whether to print progress: a first line before training (rows, steps
        an epoch, the epoch budget), at most one line a second with the
        losses, the time spent and an estimate of the time left (between the
        time to the stopping rule without further progress and the time to
        ``max_iter``), a line every 5 s within long epochs, a line that says
        why training ended and, for a calibrated network, one with its
        scale factor (``scale_calibration``).

    device : str or torch.device, default='cpu'
        Where training and prediction run, e.g. ``'cuda'``. The fitted state
        is kept on the CPU in every case.

    n_jobs : int or None, default=None
        Number of threads torch's CPU kernels use during ``fit`` and
        ``partial_fit``, and over which the prediction methods spread their
        blocks of 8,192 rows (each block on one BLAS and torch thread;
        ``sample`` keeps one thread, for its generator's order). None means 1
        (as everywhere in scikit-learn), -1 all cores. The limit is set with
        threadpoolctl for the duration of the call: torch's setting for the
        calling thread only, so torch's global setting is untouched and fits
        in other threads are unaffected; numpy's BLAS, whose setting is the
        process's, is held at one thread while any prediction runs. One
        thread is the default because these models are small: a second core
        made a 10,000-row fit 1.2 to 1.3 times faster when it was free, and
        1.5 to 50 times slower when other processes held the cores (OpenMP
        threads spin-wait); ``log_prob`` of 100,000 rows with numpy's two
        BLAS threads took 0.22 s against 0.13 s with one on a busy machine.
        See the "Performance" page.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    n_outputs_ : int
        Number of targets ``D``.

    n_networks_ : int
        Number of networks in the model (``n_networks`` resolved).

    n_iter_ : int
        Number of epochs run, over all calls (the most of any network).

    t_ : int
        Number of optimiser steps taken, over all calls (the most of any
        network).

    loss_ : float
        Training loss of the last epoch (the mean over the networks).

    loss_curve_ : list of float
        Training loss per epoch: the mean negative log-likelihood in original
        target units, plus the L2 penalty. With several networks, the mean
        over the networks that ran that epoch.

    best_loss_ : float or None
        Lowest training loss (the mean over the networks); None with early
        stopping.

    validation_scores_ : list of float or None
        Mean validation log-likelihood (original units, higher is better) per
        epoch, averaged over the networks as ``loss_curve_``; None without
        early stopping.

    best_validation_score_ : float or None
        Highest validation log-likelihood, whose weights are kept (the mean
        over the networks; the marginal's score for a network that kept the
        marginal); None without early stopping.

    networks_ : list of Bunch
        One entry per network, as ``estimators_`` of
        :class:`~sklearn.ensemble.BaggingRegressor`: each network's own
        ``loss_curve``, ``validation_scores``, ``loss``, ``best_loss``,
        ``best_validation_score``, ``n_iter``, ``t`` and ``scale_factor``.
        Built from the fitted state when read (it is not stored, so that a
        saved model holds no scikit-learn type; see :ref:`persistence`).

    scale_factors_ : ndarray of shape (`n_networks_`,)
        Each network's factor of its component scales at prediction (see
        ``scale_calibration``): 1.0 for a network that was not calibrated.
        The validation scores above are those of the scales themselves.

    coefs_ : list of ndarray
        Weight matrices, ``coefs_[i]`` of shape
        ``(n_networks_, fan_in, fan_out)``: the layout of
        :class:`~sklearn.neural_network.MLPRegressor` with a leading network
        axis, present for one network too so that the shapes do not depend on
        the number of rows. The last layer is the mixture head. With
        ``piecewise_linear_bins``, the first layer's ``fan_in`` is
        ``n_features_in_`` (the features) plus the number of bins of all
        features (at most ``n_features_in_ * piecewise_linear_bins``),
        feature by feature.

    intercepts_ : list of ndarray
        Bias vectors, ``intercepts_[i]`` of shape ``(n_networks_, fan_out)``.
        ``coefs_`` and ``intercepts_`` are defined only for the built-in MLP.

    state_dicts_ : list of dict
        Defined only with ``module``: one ``state_dict`` per network, as numpy
        arrays on the CPU, with the module's entries prefixed ``trunk.`` and
        the mixture head's ``head.weight`` of shape ``(width, m)`` and
        ``head.bias``.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : Point-prediction network regressor.
    sklearn.gaussian_process.GaussianProcessRegressor : Gaussian predictive
        distributions.
    MixtureDistribution : The distribution returned by :meth:`predict_dist`.

    Notes
    -----
    The network outputs ``K`` mixing logits, ``K * D`` means and ``K * D``
    raw scales (``K`` for 'spherical'; for 'full', also the ``K D (D - 1) / 2``
    entries of the Cholesky factors below their diagonals); a component's
    standard deviation (the factor's diagonal) is
    ``softplus(raw) + min_scale`` in standardised units, times the network's
    entry of ``scale_factors_`` at prediction. The loss is computed
    with ``log_softmax`` and ``logsumexp``. An epoch whose loss is not finite
    is rolled back and retried with a ten times smaller learning rate; if
    that keeps failing a ``FloatingPointError`` is raised and the estimator is
    left as it was before the call.

    References
    ----------
    C. M. Bishop, "Mixture Density Networks", Technical Report NCRG/94/004,
    Aston University, 1994.

    B. Lakshminarayanan, A. Pritzel and C. Blundell, "Simple and Scalable
    Predictive Uncertainty Estimation using Deep Ensembles", NeurIPS 2017.

    Examples
    --------
    >>> from skmdn import MDNRegressor
    >>> from skmdn.datasets import make_inverse_sine
    >>> X, y = make_inverse_sine(n_samples=500, random_state=0)
    >>> est = MDNRegressor(n_components=3, max_iter=20, random_state=0)
    >>> est = est.fit(X, y)
    >>> est.predict(X[:2]).shape
    (2,)
    >>> est.sample(X[:2], n_samples=4, random_state=0).shape
    (2, 4)
    """

    _doc_link_module = "skmdn"
    _doc_link_template = (
        "https://skmdn.readthedocs.io/en/stable/generated/"
        "{estimator_module}.{estimator_name}.html"
    )

    # models pickled before target_type and target_bounds: real targets
    _target = Target()

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "n_networks": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "piecewise_linear_bins": [Interval(Integral, 2, None, closed="left"), None],
        "module": [None, callable],
        "module_params": [None, dict],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
            StrOptions({"auto"}),
        ],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "scale_calibration": [StrOptions({"auto"}), None],
        "warm_start": ["boolean"],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "min_scale": [Interval(Real, 0, None, closed="neither")],
        "input_noise": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "target_noise": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "target_type": [StrOptions(set(TARGET_TYPES))],
        "target_bounds": ["array-like", None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [*DEVICE_TYPES],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        n_components=10,
        *,
        n_networks="auto",
        hidden_layer_sizes=(64, 64),
        activation="tanh",
        piecewise_linear_bins=None,
        module=None,
        module_params=None,
        alpha=0.0,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=3e-3,
        max_iter=2000,
        tol=1e-4,
        n_iter_no_change="auto",
        early_stopping=True,
        validation_fraction=0.1,
        scale_calibration="auto",
        warm_start=False,
        clip_grad_norm=10.0,
        min_scale=1e-3,
        input_noise="auto",
        target_noise="auto",
        covariance_type="diagonal",
        target_type="continuous",
        target_bounds=None,
        random_state=None,
        verbose=False,
        device="cpu",
        n_jobs=None,
    ):
        self.n_components = n_components
        self.n_networks = n_networks
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.piecewise_linear_bins = piecewise_linear_bins
        self.module = module
        self.module_params = module_params
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.scale_calibration = scale_calibration
        self.warm_start = warm_start
        self.clip_grad_norm = clip_grad_norm
        self.min_scale = min_scale
        self.input_noise = input_noise
        self.target_noise = target_noise
        self.covariance_type = covariance_type
        self.target_type = target_type
        self.target_bounds = target_bounds
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network by maximising the conditional log-likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Training targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; they enter the standardisation, the loss,
            the validation split and the initial components as repeated rows
            would. Mini-batches, noise and the 'auto' sizes count rows, so an
            integer weight equals that many repeated rows exactly only with
            full batches, no noise and an int ``n_networks``.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch of training on the given data.

        The first call initialises the network and the standardisation from
        this data; later calls continue from the current state, update the
        running means and variances of the inputs and targets with the new
        rows (as ``StandardScaler.partial_fit``) and re-express the networks
        in the new units. Blocks must be random samples of the data: a call
        warns (:class:`~skmdn.exceptions.SortedBlocksWarning`) when its block
        and the previous call's stand out from the rows seen before them.
        ``early_stopping`` does not apply: a stream has no held-out data, so
        every row given is trained on, and the input noise stays on (there is
        no validated noise-free phase; pass ``input_noise=0`` to later calls
        through :meth:`set_params` to switch it off).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Training targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _fit(self, X, y, sample_weight, incremental):
        # A failed call leaves the estimator exactly as it was.
        saved = dict(self.__dict__)
        try:
            # torch's intra-op threads, for this thread only and this call only
            with openmp_threads(effective_n_jobs(self.n_jobs)):
                self._fit_unsafe(X, y, sample_weight, incremental)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        return self

    def _fit_unsafe(self, X, y, sample_weight, incremental):
        first_pass = not hasattr(self, "_networks") or (
            not self.warm_start and not incremental
        )
        X, Y, sample_weight, y_ndim = self._validate_fit_data(
            X, y, sample_weight, first_pass
        )
        trunk, head = self._architecture(X.shape[1], Y.shape[1])
        target = Target.from_params(
            self.target_type, self.target_bounds, self.covariance_type
        )
        target.check(Y)
        log_jacobian = target.log_jacobian(Y)
        Y = target.to_model(Y)  # the scale of the mixture
        if first_pass:
            previous = [None] * self._resolve_n_networks(X.shape[0])
            # one standardisation for every network, from all the rows given;
            # a stream cannot see its outliers coming, so it keeps moments
            x_scaler = Standardisation.from_data(X, sample_weight)
            y_scaler = Standardisation.from_data(
                Y, sample_weight, robust=not incremental
            )
        else:
            self._check_same_architecture(trunk, head, target)
            trunk = self._trunk  # with what the first fit learnt (the bins)
            previous = self._networks
            # the range of the inputs grows with every call's rows
            x_scaler = self._x_scaler.widened(X)
            y_scaler = self._y_scaler
            if incremental:
                x_scaler = check_block_order(x_scaler, X, y_scaler, Y, sample_weight)
                # running statistics: later chunks move the standardisation,
                # and every network is re-expressed in the new units
                if trunk.reexpresses_inputs:
                    x_scaler = x_scaler.updated(X, sample_weight)
                y_scaler = y_scaler.updated(Y, sample_weight)
                previous = [
                    self._reexpressed(net, trunk, head, x_scaler, y_scaler)
                    for net in previous
                ]
        # each datum is standardised once, in float64, then cast to X's dtype
        Xs = x_scaler.transform(X, X.dtype)
        Ys = y_scaler.transform(Y, X.dtype)
        if first_pass:
            trunk = trunk.fitted(Xs, sample_weight)
        head = target.head(head, y_scaler.scale)
        networks, validation_seeds = self._fit_networks(
            trunk,
            head,
            (Xs, Ys, sample_weight),
            log_det=target.log_det(y_scaler.scale),
            log_jacobian=log_jacobian,
            previous=previous,
            incremental=incremental,
        )
        # Commit the fitted state (numpy and plain values only).
        self._trunk, self._head, self._target = trunk, head, target
        self._x_scaler, self._y_scaler = x_scaler, y_scaler
        self._y_ndim = y_ndim
        self.n_outputs_ = Y.shape[1]
        self._networks = networks
        self._validation_seeds = validation_seeds
        self._set_public_attributes()

    def _validate_fit_data(self, X, y, sample_weight, reset):
        """Return ``X``, ``Y`` (n, D) in ``X``'s dtype, weights (> 0) and ``y.ndim``."""
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            dtype=[np.float64, np.float32],
            accept_sparse=["csr", "csc", "coo"],
            reset=reset,
        )
        if sp.issparse(X):
            X = np.ascontiguousarray(X.toarray())  # the first layer is dense
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        # the targets' statistics are computed in float64 whatever X's dtype
        Y = np.asarray(y, dtype=np.float64).reshape(X.shape[0], -1)
        if not reset and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} targets, but the model was fitted on "
                f"{self.n_outputs_}."
            )
        if not (keep := sample_weight > 0).all():  # weight 0 changes nothing
            X, Y, sample_weight = X[keep], Y[keep], sample_weight[keep]
        return X, Y, sample_weight, y.ndim

    def _architecture(self, n_features, n_outputs):
        """Return the trunk and the mixture head that the parameters describe."""
        hidden = self.hidden_layer_sizes
        hidden = (hidden,) if isinstance(hidden, Integral) else tuple(hidden)
        if any(not isinstance(h, Integral) or h < 1 for h in hidden):
            raise ValueError(
                f"hidden_layer_sizes must hold positive integers, got {hidden}."
            )
        head = make_head(
            self.covariance_type,
            n_components=int(self.n_components),
            n_outputs=n_outputs,
            min_scale=float(self.min_scale),
        )
        trunk = make_trunk(
            module=self.module,
            module_params=self.module_params,
            n_features=n_features,
            hidden_layer_sizes=tuple(int(h) for h in hidden),
            activation=self.activation,
            piecewise_linear_bins=(
                None
                if self.piecewise_linear_bins is None
                else int(self.piecewise_linear_bins)
            ),
            n_out=head.width,
        )
        return trunk, head

    def _check_same_architecture(self, trunk, head, target):
        old = self._head
        changed = [
            name
            for name, differs in (
                ("covariance_type", head.covariance_type != old.covariance_type),
                ("n_components", head.n_components != old.n_components),
                ("min_scale", head.min_scale != old.min_scale),
                (
                    "the trunk (hidden_layer_sizes, activation, "
                    "piecewise_linear_bins, module or module_params)",
                    trunk != self._trunk,
                ),
                ("n_networks", self.n_networks not in ("auto", self.n_networks_)),
                ("target_type or target_bounds", target != self._target),
            )
            if differs
        ]
        if changed:
            raise ValueError(
                f"{', '.join(changed)} changed since the last fit, which fixed the "
                "network's shape; refit with warm_start=False."
            )

    def _reexpressed(self, net, trunk, head, x_scaler, y_scaler):
        """``net`` for new standardisations (see the trunk's ``reexpressed``)."""
        return trunk.reexpressed(
            net, head, self._x_scaler, self._y_scaler, x_scaler, y_scaler
        )

    def _resolve_n_networks(self, n_samples):
        if self.n_networks != "auto":
            return int(self.n_networks)
        return int(np.clip(AUTO_ENSEMBLE_ROWS // n_samples, 1, AUTO_MAX_NETWORKS))

    def _training_config(self):
        return TrainingConfig(
            learning_rate=self.learning_rate,
            learning_rate_init=float(self.learning_rate_init),
            batch_size=self.batch_size,
            alpha=float(self.alpha),
            clip_grad_norm=self.clip_grad_norm,
            max_iter=self.max_iter,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            early_stopping=bool(self.early_stopping),
            validation_fraction=self.validation_fraction,
            input_noise=self.input_noise,
            # integers: the likelihood of the cells needs no dequantisation
            target_noise=(
                0.0
                if self.target_type == "integer" and self.target_noise == "auto"
                else self.target_noise
            ),
            verbose=self.verbose,
            scale_calibration=self.scale_calibration,
        )

    def _fit_networks(
        self, trunk, head, data, *, log_det, log_jacobian, previous, incremental
    ):
        """Train (or continue) every network, together; return their states.

        Each network draws its own validation split and initial components
        from its own seeds; the shuffles and noise of all come from one
        generator. A ``KeyboardInterrupt`` keeps every network's best weights
        so far. Also returns the seeds of the validation splits, which later
        calls reuse: a warm start holds out the rows that the first fit held
        out, so that its early stopping and scale calibration score rows that
        no call trained on.
        """
        base_seed = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max
        )
        step = 0 if previous[0] is None else self.t_
        seeds = (
            np.random.SeedSequence([base_seed, step])
            .generate_state(3 * len(previous))
            .reshape(len(previous), 3)
        )
        if previous[0] is not None and hasattr(self, "_validation_seeds"):
            seeds[:, 0] = self._validation_seeds
        kwargs = {
            "config": self._training_config(),
            "log_det": log_det,
            "log_jacobian": log_jacobian,
            "incremental": incremental,
            "device": self.device,
        }
        networks, status = fit_networks(
            trunk, head, *data, seeds=seeds, previous=previous, **kwargs
        )
        if status == "interrupted":
            warnings.warn(
                "Training interrupted by the user; the best weights so far are kept.",
                stacklevel=4,
            )
        elif not incremental and status == "max_iter":
            warnings.warn(
                f"Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return networks, seeds[:, 0].copy()

    def _set_public_attributes(self):
        """Derive every public fitted attribute from the per-network states.

        The weights gain a leading network axis and the histories are summed
        up over the networks; each network's own history is in ``networks_``.
        """
        networks = self._networks
        histories = [net.history for net in networks]
        self.n_networks_ = len(networks)
        public = self._trunk.public_attributes(networks)
        for name in PUBLIC_NAMES:  # those of an earlier fit with another trunk
            self.__dict__.pop(name, None)
        self.__dict__.update(public)
        self.n_iter_ = max(h.n_iter for h in histories)
        self.t_ = max(n.optimizer["t"] for n in networks)
        self.scale_factors_ = np.array([n.scale_factor for n in networks])
        self.__dict__.update(History.means(histories))

    @property
    def networks_(self):
        """Each network's own history (see the class docstring)."""
        check_is_fitted(self)
        return [
            Bunch(
                **n.history.summary(), t=n.optimizer["t"], scale_factor=n.scale_factor
            )
            for n in self._networks
        ]

    # --------------------------------------------------------------- prediction

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_networks")

    def _validate_X_predict(self, X):
        """``validate_data(reset=False)``, with a fast path for plain float arrays.

        For a finite, 2-D float ndarray of the fitted width, from a model fitted
        without feature names, ``validate_data`` would return it unchanged; it
        is returned directly, which keeps single-row prediction cheap.
        Anything else goes through ``validate_data`` and its usual messages.
        """
        check_is_fitted(self)
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in (np.float64, np.float32)
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
            and np.isfinite(X).all()
        ):
            return X
        X = validate_data(
            self,
            X,
            reset=False,
            dtype=[np.float64, np.float32],
            accept_sparse=["csr", "csc", "coo"],
        )
        return np.ascontiguousarray(X.toarray()) if sp.issparse(X) else X

    def _mixture_params(self, X):
        """Weights (n, M*K), means (n, M*K, D) and covariance parameters.

        Of validated inputs ``X`` (:meth:`_validate_X_predict`), in original
        target units: scales (n, M*K, D) or Cholesky factors (n, M*K, D, D).
        """
        # beyond the training data, predict as at its edge (see Standardisation)
        X = self._x_scaler.clip(X)
        Xs = self._x_scaler.transform(X, self._trunk.dtype(self._networks))
        out = self._trunk.outputs(self._networks, Xs, self.device)
        return self._pooled(out)

    def _pooled(self, out):
        """Mixture parameters in original units from the outputs (M, n, width)."""
        logits, loc, cov = self._head.params_numpy(out)
        factors = np.array([net.scale_factor for net in self._networks])
        if (factors != 1.0).any():  # calibrated scales (scale_calibration)
            cov = cov * factors.reshape(-1, *(1,) * (cov.ndim - 1))
        if self.n_networks_ > 1:
            logits, loc, cov = outputs.pool_networks(logits, loc, cov)
        else:
            logits, loc, cov = logits[0], loc[0], cov[0]
        logits = np.asarray(logits, dtype=np.float64)
        y_scale = self._y_scaler.scale
        means = loc.astype(np.float64) * y_scale + self._y_scaler.location
        if covariance.is_full(loc, cov):  # row d of each factor scales by s_d
            cov = cov.astype(np.float64) * y_scale[:, None]
        else:
            cov = cov.astype(np.float64) * y_scale
        if not (np.isfinite(logits).all() and np.isfinite(means).all()):
            raise ValueError(
                "The network produced non-finite mixture parameters for these "
                "inputs (held inside the training range)."
            )
        return outputs.softmax(logits), means, cov

    def predict_dist(self, X):
        """Predict the conditional distribution of the targets for each input.

        Each input column is first held inside the range it had in the
        training rows: beyond the data, the distribution is the one at its
        edge (see :ref:`your_data`). The other prediction methods are views
        of this distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        dist : MixtureDistribution or DiscretisedMixture
            One Gaussian mixture per row, in original target units (of the
            targets' scale for ``target_bounds``, see
            :class:`~skmdn.MixtureDistribution`), discretised for
            ``target_type='integer'``.
        """
        X = self._validate_X_predict(X)
        with one_thread(X.shape[0]):
            return self._predict_dist_validated(X)

    def _predict_dist_validated(self, X):
        """:meth:`predict_dist` of inputs that :meth:`_validate_X_predict` checked."""
        weights, means, cov = self._mixture_params(X)
        # valid by construction (softmax weights, positive finite scales)
        return self._target.distribution(weights, means, cov, self._y_ndim == 1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        tags.non_deterministic = not is_cpu(self.device)
        return tags
