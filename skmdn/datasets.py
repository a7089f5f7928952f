"""Synthetic conditional-density problems with multimodal or heteroscedastic targets.

Every problem comes as a pair of public functions:

- ``make_<problem>(n_samples, *, noise, random_state)`` draws a data set
  ``X, y`` (float64; ``X`` of shape ``(n_samples, 1)``, ``y`` of shape
  ``(n_samples,)``, or ``(n_samples, 2)`` for the correlated targets), in the
  manner of :mod:`sklearn.datasets`;
- ``<problem>_log_density(X, y, *, noise)`` returns the exact conditional
  log-density ``log p(y[i] | X[i])`` of each row, paired like
  :meth:`skmdn.MDNRegressor.log_prob`, for the same ``noise``.

So ``-<problem>_log_density(X_test, y_test).mean()`` is the Bayes (optimal)
test negative log-likelihood on a sample, and the gap of a fitted model is
``-est.log_prob(X_test, y_test).mean()`` minus it.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_array, check_random_state, column_or_1d

__all__ = [
    "correlated_targets_log_density",
    "correlated_targets_params",
    "heteroscedastic_log_density",
    "inverse_sine_log_density",
    "make_correlated_targets",
    "make_heteroscedastic",
    "make_inverse_sine",
    "make_smooth_inverse_sine",
    "smooth_inverse_sine_log_density",
]

# Bishop's forward map g(t) = t + 0.3 sin(2 pi t) turns at cos(2 pi t) = -1/(0.6 pi):
# increasing on [0, T1], decreasing on [T1, 1 - T1], increasing on [1 - T1, 1].
_BISHOP_TURN = np.arccos(-1.0 / (0.6 * np.pi)) / (2.0 * np.pi)
_BISECTION_STEPS = 64

# The smooth inverse sine: y ~ U(-SMOOTH_HALF_WIDTH, SMOOTH_HALF_WIDTH).
SMOOTH_HALF_WIDTH = 10.5
# Entries of the (rows x quadrature nodes) matrix evaluated at once.
_QUADRATURE_CHUNK = 2**22


def _check_x(X):
    """Return the inputs ``x`` of a one-column ``X``, as a 1-D float array."""
    X = check_array(X, dtype=np.float64, input_name="X")
    if X.shape[1] != 1:
        raise ValueError(f"X must have exactly one column; got shape {X.shape}.")
    return X[:, 0]


def _check_xy(X, y):
    x = _check_x(X)
    y = column_or_1d(check_array(y, ensure_2d=False, dtype=np.float64), warn=True)
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"X and y have different numbers of rows: {x.shape[0]} and {y.shape[0]}."
        )
    return x, y


def _check_noise(noise):
    if not np.isfinite(noise) or noise <= 0:
        raise ValueError(f"noise must be a positive number, got {noise!r}.")
    return float(noise)


# ---------------------------------------------------------------------------
# Bishop's inverse sine


def _bishop_forward(t):
    return t + 0.3 * np.sin(2.0 * np.pi * t)


def _bishop_inverse(level, lo, hi, increasing):
    """Solve ``g(t) = level`` on a monotone piece ``[lo, hi]`` by bisection."""
    left = np.full_like(level, lo)
    right = np.full_like(level, hi)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (left + right)
        g = _bishop_forward(mid)
        go_right = g < level if increasing else g > level
        left = np.where(go_right, mid, left)
        right = np.where(go_right, right, mid)
    return 0.5 * (left + right)


def _bishop_preimage_length(x, noise):
    """Length of ``{t in [0, 1] : |x - g(t)| < noise}`` for each ``x``."""
    total = np.zeros_like(x)
    pieces = (
        (0.0, _BISHOP_TURN, True),
        (_BISHOP_TURN, 1.0 - _BISHOP_TURN, False),
        (1.0 - _BISHOP_TURN, 1.0, True),
    )
    for lo, hi, increasing in pieces:
        g_lo, g_hi = _bishop_forward(lo), _bishop_forward(hi)
        g_min, g_max = min(g_lo, g_hi), max(g_lo, g_hi)
        lower = np.clip(x - noise, g_min, g_max)
        upper = np.clip(x + noise, g_min, g_max)
        total += np.abs(
            _bishop_inverse(upper, lo, hi, increasing)
            - _bishop_inverse(lower, lo, hi, increasing)
        )
    return total


def make_inverse_sine(n_samples=1000, *, noise=0.1, random_state=None):
    """Generate Bishop's inverse-sine problem: up to three targets per input.

    The forward map ``x = t + 0.3 sin(2 pi t) + u`` with ``t ~ U(0, 1)`` and
    ``u ~ U(-noise, noise)`` is easy to regress; the task is its inverse,
    predicting ``t`` from ``x``, where one input has up to three likely
    targets (Bishop, 1994). The exact conditional density is given by
    :func:`inverse_sine_log_density`; with the default ``noise`` the Bayes
    negative log-likelihood is -1.2823 nats.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    noise : float, default=0.1
        Half-width of the uniform noise added to ``x``.
    random_state : int, RandomState instance or None, default=None
        Pass an int for reproducible output across multiple function calls.

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
        Inputs ``x``.
    y : ndarray of shape (n_samples,)
        Targets ``t``.

    See Also
    --------
    inverse_sine_log_density : The exact ``log p(t | x)`` of this problem.
    make_smooth_inverse_sine : A smooth, wider multimodal inverse problem.

    References
    ----------
    C. M. Bishop, "Mixture Density Networks", Technical Report NCRG/94/004,
    Aston University, 1994.

    Examples
    --------
    >>> from skmdn.datasets import make_inverse_sine
    >>> X, y = make_inverse_sine(n_samples=5, random_state=0)
    >>> X.shape, y.shape
    ((5, 1), (5,))
    """
    rng = check_random_state(random_state)
    t = rng.uniform(0.0, 1.0, size=n_samples)
    x = t + 0.3 * np.sin(2 * np.pi * t) + rng.uniform(-noise, noise, size=n_samples)
    return x[:, None], t


def inverse_sine_log_density(X, y, *, noise=0.1):
    """Exact conditional log-density of Bishop's inverse-sine problem.

    With ``t ~ U(0, 1)`` and uniform noise, ``p(t | x)`` is uniform on the
    set ``S(x) = {t in [0, 1] : |x - t - 0.3 sin(2 pi t)| < noise}``: it is
    ``1 / |S(x)|`` there and zero elsewhere. The length ``|S(x)|`` is
    computed exactly (to float64 precision) by inverting the forward map on
    each of its three monotone pieces with vectorised bisection.

    Parameters
    ----------
    X : array-like of shape (n_samples, 1)
        Inputs ``x``.
    y : array-like of shape (n_samples,)
        Targets ``t``, one per input.
    noise : float, default=0.1
        Half-width of the uniform noise, as in :func:`make_inverse_sine`.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        ``log p(y[i] | X[i])`` in nats; ``-inf`` outside the support.

    See Also
    --------
    make_inverse_sine : Draws data from this problem.

    Examples
    --------
    >>> from skmdn.datasets import inverse_sine_log_density, make_inverse_sine
    >>> X, y = make_inverse_sine(n_samples=20_000, random_state=0)
    >>> bayes_nll = -inverse_sine_log_density(X, y).mean()
    >>> bool(abs(bayes_nll - (-1.2823)) < 0.02)
    True
    """
    noise = _check_noise(noise)
    x, t = _check_xy(X, y)
    # The length depends on x alone: compute it once per distinct input.
    x_unique, inverse = np.unique(x, return_inverse=True)
    length = _bishop_preimage_length(x_unique, noise)[inverse]
    inside = (t >= 0.0) & (t <= 1.0) & (np.abs(x - _bishop_forward(t)) < noise)
    inside &= length > 0
    out = np.full(x.shape, -np.inf)
    out[inside] = -np.log(length[inside])
    return out


# ---------------------------------------------------------------------------
# the smooth inverse sine


def _smooth_forward(y):
    return 7.0 * np.sin(0.75 * y) + 0.5 * y


def make_smooth_inverse_sine(n_samples=1000, *, noise=1.0, random_state=None):
    """Generate the smooth inverse-sine problem: a wide, multimodal inverse.

    The forward map is ``x = 7 sin(0.75 y) + 0.5 y + e`` with
    ``y ~ U(-10.5, 10.5)`` and Gaussian noise ``e ~ N(0, noise**2)``; the
    task is to predict ``y`` from ``x``. One input has up to five likely
    targets, and, unlike Bishop's problem, the conditional density is
    smooth. It is given exactly by :func:`smooth_inverse_sine_log_density`;
    with the default ``noise`` the Bayes negative log-likelihood is 1.2880
    nats by quadrature over the joint density (1.2873 is the value usually
    quoted).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    noise : float, default=1.0
        Standard deviation of the Gaussian noise added to ``x``.
    random_state : int, RandomState instance or None, default=None
        Pass an int for reproducible output across multiple function calls.

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
        Inputs ``x``.
    y : ndarray of shape (n_samples,)
        Targets ``y``.

    See Also
    --------
    smooth_inverse_sine_log_density : The exact ``log p(y | x)`` of this
        problem.
    make_inverse_sine : Bishop's original inverse problem.

    Examples
    --------
    >>> from skmdn.datasets import make_smooth_inverse_sine
    >>> X, y = make_smooth_inverse_sine(n_samples=5, random_state=0)
    >>> X.shape, y.shape
    ((5, 1), (5,))
    """
    noise = _check_noise(noise)
    rng = check_random_state(random_state)
    y = rng.uniform(-SMOOTH_HALF_WIDTH, SMOOTH_HALF_WIDTH, size=n_samples)
    x = _smooth_forward(y) + noise * rng.standard_normal(size=n_samples)
    return x[:, None], y


def _smooth_log_normaliser(x, noise):
    """``log int N(x; h(y), noise**2) dy`` over the prior's support, per ``x``.

    Gauss-Legendre quadrature; the integrand is a smooth bump in ``y`` whose
    narrowest width is about ``noise / max|h'|`` = ``noise / 5.75``. Two
    nodes per such width on average (and at least 256 nodes) give an error
    of about 1e-11 at ``noise=1`` and below 1e-9 down to ``noise=0.1``.
    """
    n_nodes = max(256, int(np.ceil(2 * 2 * SMOOTH_HALF_WIDTH * 5.75 / noise)))
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    nodes = nodes * SMOOTH_HALF_WIDTH
    log_weights = np.log(weights * SMOOTH_HALF_WIDTH)
    h = _smooth_forward(nodes)
    out = np.empty_like(x)
    chunk = max(1, _QUADRATURE_CHUNK // n_nodes)
    for start in range(0, x.shape[0], chunk):
        z = (x[start : start + chunk, None] - h) / noise
        out[start : start + chunk] = logsumexp(-0.5 * z**2 + log_weights, axis=1)
    return out - 0.5 * np.log(2 * np.pi) - np.log(noise)


def smooth_inverse_sine_log_density(X, y, *, noise=1.0):
    """Exact conditional log-density of the smooth inverse-sine problem.

    By Bayes' rule ``p(y | x) = N(x; h(y), noise**2) / Z(x)`` on
    ``|y| <= 10.5``, with ``h(y) = 7 sin(0.75 y) + 0.5 y`` and the
    normaliser ``Z(x) = int N(x; h(u), noise**2) du`` over ``[-10.5, 10.5]``
    (the uniform prior cancels). ``Z`` is computed by Gauss-Legendre
    quadrature in log space, accurate to about 1e-10.

    Parameters
    ----------
    X : array-like of shape (n_samples, 1)
        Inputs ``x``.
    y : array-like of shape (n_samples,)
        Targets ``y``, one per input.
    noise : float, default=1.0
        Standard deviation of the noise, as in
        :func:`make_smooth_inverse_sine`.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        ``log p(y[i] | X[i])`` in nats; ``-inf`` outside the support.

    See Also
    --------
    make_smooth_inverse_sine : Draws data from this problem.

    Examples
    --------
    >>> from skmdn.datasets import (
    ...     make_smooth_inverse_sine,
    ...     smooth_inverse_sine_log_density,
    ... )
    >>> X, y = make_smooth_inverse_sine(n_samples=20_000, random_state=0)
    >>> bayes_nll = -smooth_inverse_sine_log_density(X, y).mean()
    >>> bool(abs(bayes_nll - 1.2873) < 0.02)
    True
    """
    noise = _check_noise(noise)
    x, y = _check_xy(X, y)
    z = (x - _smooth_forward(y)) / noise
    log_lik = -0.5 * z**2 - 0.5 * np.log(2 * np.pi) - np.log(noise)
    x_unique, inverse = np.unique(x, return_inverse=True)
    out = log_lik - _smooth_log_normaliser(x_unique, noise)[inverse]
    out[~(np.abs(y) <= SMOOTH_HALF_WIDTH)] = -np.inf
    return out


# ---------------------------------------------------------------------------
# heteroscedastic sine


def _heteroscedastic_mean_std(x, noise):
    return 2.0 * np.sin(2.0 * np.pi * x), noise * (0.5 + x)


def make_heteroscedastic(n_samples=1000, *, noise=1.0, random_state=None):
    """Generate a heteroscedastic sine: the noise grows threefold along ``x``.

    ``x ~ U(0, 1)`` and ``y = 2 sin(2 pi x) + noise * (0.5 + x) * e`` with
    ``e ~ N(0, 1)``: a unimodal Gaussian conditional density whose standard
    deviation rises linearly from ``0.5 * noise`` at ``x = 0`` to
    ``1.5 * noise`` at ``x = 1``, after Goldberg, Williams and Bishop (1998).
    A model with a constant variance cannot match it. The exact density is
    given by :func:`heteroscedastic_log_density`; the Bayes negative
    log-likelihood is, in closed form,
    ``0.5 log(2 pi e) + log(noise) + 1.5 log(1.5) - 0.5 log(0.5) - 1``
    (1.3737 nats with the default ``noise``).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    noise : float, default=1.0
        Multiplier of the noise's standard deviation ``0.5 + x``.
    random_state : int, RandomState instance or None, default=None
        Pass an int for reproducible output across multiple function calls.

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
        Inputs ``x``.
    y : ndarray of shape (n_samples,)
        Targets ``y``.

    See Also
    --------
    heteroscedastic_log_density : The exact ``log p(y | x)`` of this problem.

    References
    ----------
    P. W. Goldberg, C. K. I. Williams and C. M. Bishop, "Regression with
    input-dependent noise: a Gaussian process treatment", NIPS 10, 1998.

    Examples
    --------
    >>> from skmdn.datasets import make_heteroscedastic
    >>> X, y = make_heteroscedastic(n_samples=5, random_state=0)
    >>> X.shape, y.shape
    ((5, 1), (5,))
    """
    noise = _check_noise(noise)
    rng = check_random_state(random_state)
    x = rng.uniform(0.0, 1.0, size=n_samples)
    mean, std = _heteroscedastic_mean_std(x, noise)
    y = mean + std * rng.standard_normal(size=n_samples)
    return x[:, None], y


def heteroscedastic_log_density(X, y, *, noise=1.0):
    """Exact conditional log-density of the heteroscedastic sine.

    ``p(y | x) = N(y; 2 sin(2 pi x), (noise * (0.5 + x))**2)``, in closed
    form. The formula holds for any ``x > -0.5``; the data are drawn on
    ``[0, 1]``.

    Parameters
    ----------
    X : array-like of shape (n_samples, 1)
        Inputs ``x``.
    y : array-like of shape (n_samples,)
        Targets ``y``, one per input.
    noise : float, default=1.0
        Multiplier of the noise's standard deviation, as in
        :func:`make_heteroscedastic`.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        ``log p(y[i] | X[i])`` in nats.

    See Also
    --------
    make_heteroscedastic : Draws data from this problem.

    Examples
    --------
    >>> from skmdn.datasets import heteroscedastic_log_density, make_heteroscedastic
    >>> X, y = make_heteroscedastic(n_samples=20_000, random_state=0)
    >>> bayes_nll = -heteroscedastic_log_density(X, y).mean()
    >>> bool(abs(bayes_nll - 1.3737) < 0.02)
    True
    """
    noise = _check_noise(noise)
    x, y = _check_xy(X, y)
    mean, std = _heteroscedastic_mean_std(x, noise)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (y - mean) / std
        return -0.5 * z**2 - 0.5 * np.log(2 * np.pi) - np.log(std)


def correlated_targets_params(X, *, noise=1.0):
    """Mixture parameters of :func:`make_correlated_targets` at each input.

    Parameters
    ----------
    X : array-like of shape (n_samples, 1)
        Inputs ``x``.
    noise : float, default=1.0
        Multiplier of the components' standard deviations.

    Returns
    -------
    weights : ndarray of shape (n_samples, 2)
        Mixing proportions, one half each.
    means : ndarray of shape (n_samples, 2, 2)
        Component means.
    scale_tril : ndarray of shape (n_samples, 2, 2, 2)
        Lower Cholesky factors of the component covariances.
    correlations : ndarray of shape (n_samples, 2)
        Within-component correlation of the two targets.
    """
    noise = _check_noise(noise)
    x = _check_x(X)
    n = x.shape[0]
    t = np.clip((x + 1.0) / 2.0, 0.0, 1.0)
    wave = np.sin(np.pi * x)
    means = np.stack(
        [np.stack([wave, np.ones(n)], 1), np.stack([-wave, -np.ones(n)], 1)], 1
    )
    rho = np.stack([0.8 + 0.15 * t, -(0.95 - 0.15 * t)], 1)
    sd = noise * np.array([[0.6, 0.4], [0.4, 0.6]])  # (component, target)
    tril = np.zeros((n, 2, 2, 2))
    tril[:, :, 0, 0] = sd[:, 0]
    tril[:, :, 1, 0] = sd[:, 1] * rho
    tril[:, :, 1, 1] = sd[:, 1] * np.sqrt(1.0 - rho**2)
    return np.full((n, 2), 0.5), means, tril, rho


def make_correlated_targets(n_samples=1000, *, noise=1.0, random_state=None):
    """Generate two strongly correlated targets whose correlation moves with ``x``.

    ``x ~ U(-1, 1)``; with probability one half each, ``y`` is drawn from one
    of two bivariate Gaussians: means ``(sin(pi x), 1)`` and
    ``(-sin(pi x), -1)``, standard deviations ``noise * (0.6, 0.4)`` and
    ``noise * (0.4, 0.6)``, and within-component correlations
    ``0.8 + 0.15 t`` and ``-(0.95 - 0.15 t)`` with ``t = (x + 1) / 2``: at
    least 0.8 in absolute value everywhere, and of opposite signs. A mixture
    of diagonal Gaussians needs many components to approximate each tilted
    ellipse; two full-covariance components are exact
    (``covariance_type='full'``). The exact density is
    :func:`correlated_targets_log_density`; the parameters are
    :func:`correlated_targets_params`.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    noise : float, default=1.0
        Multiplier of the components' standard deviations.
    random_state : int, RandomState instance or None, default=None
        Pass an int for reproducible output across multiple function calls.

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
        Inputs ``x``.
    y : ndarray of shape (n_samples, 2)
        Targets.

    See Also
    --------
    correlated_targets_log_density : The exact ``log p(y | x)`` of this problem.

    Examples
    --------
    >>> from skmdn.datasets import make_correlated_targets
    >>> X, y = make_correlated_targets(n_samples=5, random_state=0)
    >>> X.shape, y.shape
    ((5, 1), (5, 2))
    """
    noise = _check_noise(noise)
    rng = check_random_state(random_state)
    x = rng.uniform(-1.0, 1.0, size=n_samples)
    _, means, tril, _ = correlated_targets_params(x[:, None], noise=noise)
    comp = (rng.uniform(size=n_samples) < 0.5).astype(np.intp)
    rows = np.arange(n_samples)
    e = rng.standard_normal(size=(n_samples, 2))
    y = means[rows, comp] + np.einsum("nde,ne->nd", tril[rows, comp], e)
    return x[:, None], y


def correlated_targets_log_density(X, y, *, noise=1.0):
    """Exact conditional log-density of :func:`make_correlated_targets`.

    Parameters
    ----------
    X : array-like of shape (n_samples, 1)
        Inputs ``x``.
    y : array-like of shape (n_samples, 2)
        Targets, one pair per input.
    noise : float, default=1.0
        Multiplier of the components' standard deviations, as in
        :func:`make_correlated_targets`.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        ``log p(y[i] | X[i])`` in nats (joint over the two targets).

    See Also
    --------
    make_correlated_targets : Draws data from this problem.

    Examples
    --------
    >>> from skmdn.datasets import (
    ...     correlated_targets_log_density, make_correlated_targets)
    >>> X, y = make_correlated_targets(n_samples=20_000, random_state=0)
    >>> bayes_nll = -correlated_targets_log_density(X, y).mean()
    >>> print(f"{bayes_nll:.2f}")
    1.33
    """
    y = check_array(y, dtype=np.float64, input_name="y")
    if y.shape != (len(y), 2):
        raise ValueError(f"y must have shape (n_samples, 2); got {y.shape}.")
    weights, means, tril, _ = correlated_targets_params(X, noise=noise)
    if y.shape[0] != means.shape[0]:
        raise ValueError(
            f"X and y have different numbers of rows: {means.shape[0]} and "
            f"{y.shape[0]}."
        )
    r = y[:, None, :] - means
    z0 = r[..., 0] / tril[..., 0, 0]
    z1 = (r[..., 1] - tril[..., 1, 0] * z0) / tril[..., 1, 1]
    log_det = np.log(tril[..., 0, 0]) + np.log(tril[..., 1, 1])
    comp = -0.5 * (z0**2 + z1**2) - log_det - np.log(2.0 * np.pi)
    return logsumexp(np.log(weights) + comp, axis=1)
