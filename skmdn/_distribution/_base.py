"""MixtureDistribution's container: construction, validation, rows, draws.

Also the marginals and conditionals, and :func:`check_targets`.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numbers

import numpy as np
from sklearn.utils import check_random_state

from skmdn._mixture import covariance
from skmdn._mixture.change import IDENTITY


def check_targets(y, n, D, name="y"):
    """``y`` as an (n, D) float array paired with ``n`` rows of ``D`` targets.

    A 1-D ``y`` is accepted for one target. Raises ``ValueError`` otherwise.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1 and D == 1:
        y = y[:, None]
    if y.shape != (n, D):
        raise ValueError(
            f"{name} must have shape ({n}, {D})"
            + (f" or ({n},)" if D == 1 else "")
            + f" to pair with the rows; got {y.shape}."
        )
    return y


# Draws per chunk of the component search and of the gathers in ``rvs``.
_DRAW_CHUNK = 1 << 16


def _components(rng, weights, n_draws):
    """Component index of each draw, (n, n_draws), from ``n * n_draws`` uniforms.

    The index of a uniform ``u`` (scaled by the row's total weight) is the
    number of cumulative weights at or below it (capped at ``K - 1``), found
    by a binary search per draw over its row's cumulative weights, so that
    memory stays linear in the draws whatever ``K``. The uniforms are drawn
    in chunks, in the order of one ``uniform(size=(n, n_draws))``, so that
    the stream (and every seeded draw) is that of the full comparison.
    """
    n, K = weights.shape
    cum = np.cumsum(weights, axis=1)
    comp = np.empty(n * n_draws, dtype=np.int32 if K < 2**31 else np.intp)
    steps = [1 << j for j in range(int(K).bit_length() - 1, -1, -1)]
    for i in range(0, n * n_draws, _DRAW_CHUNK):
        j = min(i + _DRAW_CHUNK, n * n_draws)
        rows = np.arange(i, j) // n_draws
        u = rng.uniform(size=j - i)
        u *= cum[rows, -1]
        # pos: how many of the row's cumulative weights are <= u (binary lifting)
        pos = np.zeros(j - i, dtype=np.intp)
        for step in steps:
            cand = pos + step
            ok = cand <= K
            ok[ok] = cum[rows[ok], cand[ok] - 1] <= u[ok]
            pos[ok] = cand[ok]
        comp[i:j] = np.minimum(pos, K - 1)
    return comp.reshape(n, n_draws)


class MixtureBase:
    """The container: construction, validation, rows, shapes, marginals, draws."""

    __slots__ = ("_change", "means", "scale_tril", "scales", "squeeze", "weights")

    def __init__(self, weights, means, scales=None, *, scale_tril=None, squeeze=False):
        weights = np.asarray(weights, dtype=np.float64)
        means = np.asarray(means, dtype=np.float64)
        if (scales is None) == (scale_tril is None):
            raise ValueError("Give exactly one of scales and scale_tril.")
        if scale_tril is not None:
            scale_tril = np.asarray(scale_tril, dtype=np.float64)
            if scale_tril.shape != means.shape + means.shape[-1:]:
                raise ValueError(
                    "Expected scale_tril of shape (n, K, D, D) for means of shape "
                    f"(n, K, D); got {scale_tril.shape} and {means.shape}."
                )
            if not np.isfinite(scale_tril).all():
                raise ValueError("Mixture parameters must be finite.")
            if (np.triu(scale_tril, 1) != 0).any():
                raise ValueError("scale_tril must be lower triangular.")
            if (np.diagonal(scale_tril, axis1=-2, axis2=-1) <= 0).any():
                raise ValueError("scale_tril must have a positive diagonal.")
            scales = covariance.marginal_scales(scale_tril)
        scales = np.asarray(scales, dtype=np.float64)
        if weights.ndim != 2 or means.ndim != 3 or means.shape != scales.shape:
            raise ValueError(
                "Expected weights of shape (n, K) and means and scales of shape "
                f"(n, K, D); got {weights.shape}, {means.shape} and {scales.shape}."
            )
        if means.shape[:2] != weights.shape:
            raise ValueError(
                f"weights {weights.shape} and means {means.shape} disagree on (n, K)."
            )
        if squeeze and means.shape[2] != 1:
            raise ValueError("squeeze=True needs a single target (D == 1).")
        if not (
            np.isfinite(weights).all()
            and np.isfinite(means).all()
            and np.isfinite(scales).all()
        ):
            raise ValueError("Mixture parameters must be finite.")
        if (weights < 0).any() or not np.allclose(weights.sum(1), 1.0, atol=1e-6):
            raise ValueError("Each row of weights must be non-negative and sum to 1.")
        if (scales <= 0).any():
            raise ValueError("scales must be positive.")
        self.weights = weights / weights.sum(1, keepdims=True)
        self.means = means
        self.scales = scales
        self.scale_tril = scale_tril
        self.squeeze = bool(squeeze)
        self._change = IDENTITY

    def __len__(self):
        """Return the number of rows."""
        return self.weights.shape[0]

    def __getitem__(self, index):
        """Rows selected by ``index``, as a new distribution (an int keeps one row)."""
        if isinstance(index, numbers.Integral):
            n = len(self)
            if not -n <= index < n:
                raise IndexError(f"row {index} is out of range for {n} rows.")
            index = int(index) % n
            index = slice(index, index + 1)
        tril = None if self.scale_tril is None else self.scale_tril[index]
        return self._trusted(
            self.weights[index],
            self.means[index],
            self.scales[index],
            self.squeeze,
            scale_tril=tril,
            change=self._change,
        )

    def __iter__(self):
        """Iterate over the rows, each a one-row distribution."""
        return (self[i] for i in range(len(self)))

    @classmethod
    def _trusted(
        cls, weights, means, scales, squeeze, scale_tril=None, change=IDENTITY
    ):
        """Build from parameters known to be valid, skipping the checks.

        ``scales`` may be None when ``scale_tril`` is given; ``change`` is the
        change of variables of the targets (see :meth:`_with_change`).
        """
        dist = cls.__new__(cls)
        if scales is None:
            scales = covariance.marginal_scales(scale_tril)
        dist.weights, dist.means, dist.scales = weights, means, scales
        dist.scale_tril = scale_tril
        dist.squeeze = squeeze
        dist._change = change
        return dist

    @classmethod
    def _from_cov(cls, weights, means, cov, squeeze, change=IDENTITY):
        """Build from valid parameters with ``cov`` scales or Cholesky factors.

        One target's full covariance is a scale: it gives the diagonal form.
        """
        if covariance.is_full(means, cov):
            if means.shape[-1] == 1:
                return cls._trusted(weights, means, cov[..., 0], squeeze, None, change)
            return cls._trusted(weights, means, None, squeeze, cov, change)
        return cls._trusted(weights, means, cov, squeeze, None, change)

    def _with_change(self, change):
        """Return the law of ``y = g^{-1}(t)`` for ``t`` following this mixture.

        ``change`` follows the protocol of
        :class:`skmdn._mixture.change.Change` (for example
        ``Log(lower=0.0)`` or ``Logit(0.0, 1.0)``), and acts on every target.
        Densities, tails, quantiles, intervals, moments, the entropy, the
        expectations, draws, CRPS, modes and highest-density sets are then
        those of ``y`` (see :mod:`skmdn._mixture.tilt` for the last two).
        """
        return self._trusted(
            self.weights,
            self.means,
            self.scales,
            self.squeeze,
            self.scale_tril,
            change,
        )

    def _no_change(self, what):
        """Raise where ``what`` is not written for a change of variables yet."""
        if not self._change.is_identity:
            raise NotImplementedError(
                f"{what} is not implemented for a distribution under a change of "
                f"variables of its targets ({self._change!r}): the answer on the "
                "scale of the mixture would not be the answer for the targets."
            )

    @property
    def _cov(self):
        """The covariance parameters the numerics take: scales or Cholesky factors."""
        return self.scales if self.scale_tril is None else self.scale_tril

    def __getstate__(self):
        """Return the parameters as a dict (for pickle and skops)."""
        state = {name: getattr(self, name) for name in MixtureBase.__slots__}
        if self._change.is_identity:  # as before changes of variables existed
            del state["_change"]
        return state

    def __setstate__(self, state):
        """Restore the parameters from :meth:`__getstate__`'s dict."""
        for name in MixtureBase.__slots__:
            # distributions pickled before full covariances had no scale_tril
            setattr(self, name, state.get(name))
        if self._change is None:
            self._change = IDENTITY

    def __repr__(self):
        n, K, D = self.means.shape
        full = ", covariance_type='full'" if self.scale_tril is not None else ""
        if not self._change.is_identity:
            full += f", change={self._change!r}"
        return (
            f"MixtureDistribution(n_samples={n}, n_components={K}, n_outputs={D}{full})"
        )

    @property
    def covariance_type(self):
        """Form of the component covariances: ``'diagonal'`` or ``'full'``."""
        return "diagonal" if self.scale_tril is None else "full"

    @property
    def covariances(self):
        """Component covariance matrices, of shape (n_samples, n_components, D, D)."""
        return covariance.covariances(self.means, self._cov)

    @property
    def n_components(self):
        """Number of mixture components ``K``."""
        return self.weights.shape[1]

    @property
    def n_outputs(self):
        """Number of targets ``D``."""
        return self.means.shape[2]

    def _out(self, a):
        """Drop the target axis of ``(n, D)`` results when ``squeeze``."""
        return a[..., 0] if self.squeeze else a

    def _broadcast_rows(self, a, name):
        """Scalars or per-row / per-target arrays broadcast to (n, D)."""
        a = np.asarray(a, dtype=np.float64)
        n, D = len(self), self.n_outputs
        if a.ndim == 1 and self.squeeze and a.shape[0] == n:
            a = a[:, None]
        try:
            return np.broadcast_to(a, (n, D))
        except ValueError:
            raise ValueError(
                f"{name} of shape {a.shape} does not broadcast to the rows ({n}, {D})."
            ) from None

    def marginal(self, dims):
        """Distribution of a subset of the targets.

        Parameters
        ----------
        dims : int or sequence of int
            Target indices. An int gives a one-dimensional distribution
            (results without a target axis); a sequence keeps the axis.

        Returns
        -------
        MixtureDistribution
            The marginal mixture, which is exact: the same weights, and each
            component's means and covariance restricted to ``dims`` (for
            full covariances, the Cholesky factor of the sub-covariance).

        Raises
        ------
        ValueError
            If ``dims`` is empty, repeats a target or is out of range.
        """
        keep, squeeze = self._dims(dims, "dims")
        if not keep:
            raise ValueError("dims must name at least one target.")
        w, means, change = self.weights, self.means[..., keep], self._change
        if self.scale_tril is None or len(keep) == 1:
            scales = self.scales[..., keep]
            return self._trusted(w, means, scales, squeeze, None, change)
        tril = covariance.marginal_tril(self.scale_tril, keep)
        return self._trusted(w, means, None, squeeze, tril, change)

    def _dims(self, dims, name):
        """Target indices (a list, made non-negative) and whether an int was given."""
        D = self.n_outputs

        def is_index(d):
            return isinstance(d, numbers.Integral) and not isinstance(d, bool)

        if is_index(dims):
            dims, squeeze = [dims], True
        else:
            try:
                dims, squeeze = list(dims), False
            except TypeError:
                raise ValueError(
                    f"{name} must be an int or a sequence of ints; got {dims!r}."
                ) from None
        if any(not is_index(d) or not -D <= d < D for d in dims):
            raise ValueError(f"{name} must index the {D} target(s); got {dims!r}.")
        dims = [int(d) % D for d in dims]
        if len(set(dims)) != len(dims):
            raise ValueError(f"{name} must not repeat a target; got {dims!r}.")
        return dims, squeeze

    def condition(self, values, dims):
        """Distribution of the other targets given the targets ``dims`` at ``values``.

        Exact: conditioning a Gaussian mixture on some of its coordinates
        gives a Gaussian mixture. Each component ``k`` is reweighted by how
        well it explains the given values,
        ``w_k N(values; mu_k[dims], Sigma_k[dims, dims])``, normalised, and,
        for full covariances, its mean moves along the correlations,
        ``mu_k[rest] + Sigma_k[rest, dims] Sigma_k[dims, dims]^{-1}
        (values - mu_k[dims])``, and its covariance becomes the Schur
        complement (computed through Cholesky factors). With diagonal
        components only the weights change. This answers questions such as
        "given that the first target is 3, where is the second?".

        Parameters
        ----------
        values : float or array-like of shape (n_samples,), (n_given,) or \
                (n_samples, n_given)
            The given targets' values, per row (a scalar or a row of
            ``n_given`` values is broadcast to every row).
        dims : int or sequence of int
            The given targets, ``n_given`` distinct indices, fewer than
            ``n_outputs``.

        Returns
        -------
        MixtureDistribution
            Over the other targets, in increasing order; squeezed (results
            without a target axis) when one target remains.

        Raises
        ------
        ValueError
            If the distribution has one target, if ``dims`` is empty, repeats
            a target, is out of range or names every target, or if
            ``values`` does not broadcast to ``(n_samples, n_given)``, is not
            finite or lies beyond any representable conditional.

        Examples
        --------
        >>> import numpy as np
        >>> from skmdn import MixtureDistribution
        >>> dist = MixtureDistribution(
        ...     weights=[[1.0]], means=[[[0.0, 0.0]]],
        ...     scale_tril=[[[[1.0, 0.0], [0.8, 0.6]]]])  # correlation 0.8
        >>> given = dist.condition(1.0, dims=0)
        >>> given.mean().round(6), given.std().round(6)
        (array([0.8]), array([0.6]))
        """
        given, values = self._condition_args(values, dims)
        if not np.isfinite(values).all():
            raise ValueError("values must be finite.")
        if not self._change.is_identity:  # Y_dims = values where T_dims = g(values)
            if not self._change.inside(values).all():
                raise ValueError("values must lie inside the support of the targets.")
            values = self._change.forward(values)
        with np.errstate(over="ignore", invalid="ignore"):
            weights, means, cov = covariance.condition(
                self.weights, self.means, self._cov, values, given
            )
        if not (np.isfinite(weights).all() and np.isfinite(means).all()):
            raise ValueError(
                "values lie so far from every component (beyond about 1e150 of "
                "their scales) that the conditional is not representable."
            )
        squeeze = means.shape[-1] == 1
        return self._from_cov(weights, means, cov, squeeze, self._change)

    def _condition_args(self, values, dims):
        """Check :meth:`condition`'s arguments; return the dims and (n, m) values."""
        D = self.n_outputs
        if D == 1:
            raise ValueError("condition needs a distribution of several targets.")
        given, _ = self._dims(dims, "dims")
        if not given or len(given) >= D:
            raise ValueError(
                f"dims must name between 1 and {D - 1} of the {D} targets; "
                f"got {dims!r}."
            )
        values = np.asarray(values, dtype=np.float64)
        n = len(self)
        if values.ndim == 1 and len(given) == 1 and values.shape[0] == n:
            values = values[:, None]
        try:
            values = np.broadcast_to(values, (n, len(given)))
        except ValueError:
            raise ValueError(
                f"values of shape {values.shape} does not broadcast to the rows "
                f"({n}, {len(given)})."
            ) from None
        return given, values

    def rvs(self, size=None, random_state=None):
        """Draw samples from each row's mixture.

        Parameters
        ----------
        size : int or None, default=None
            Draws per row; None draws one and drops the draws axis.
        random_state : int, RandomState instance or None, default=None
            Pass an int for reproducible draws.

        Returns
        -------
        ndarray of shape (n_samples[, size][, n_outputs])
            The draws axis follows the rows; the target axis is dropped when
            ``squeeze``.
        """
        rng = check_random_state(random_state)
        n_draws = 1 if size is None else int(size)
        if n_draws < 0:
            raise ValueError(f"size must be non-negative, got {size}.")
        n, _, D = self.means.shape
        comp = _components(rng, self.weights, n_draws)
        # the draws are made in place in the normal deviates, in chunks, so
        # that no (n, draws, K) or (n, draws, D, D) temporary is needed
        draws = rng.standard_normal(size=(n, n_draws, D))
        flat, comp = draws.reshape(n * n_draws, D), comp.ravel()
        step = max(1, _DRAW_CHUNK // (D * D))
        for i in range(0, flat.shape[0], step):
            sl = slice(i, i + step)
            rows, k = np.arange(i, i + comp[sl].size) // max(1, n_draws), comp[sl]
            if self.scale_tril is None:
                flat[sl] *= self.scales[rows, k]
            else:  # through the factor: L eps has covariance L L^T
                flat[sl] = np.einsum("sde,se->sd", self.scale_tril[rows, k], flat[sl])
            flat[sl] += self.means[rows, k]
        if not self._change.is_identity:
            draws = self._change.inverse(draws)
        if self.squeeze:
            draws = draws[..., 0]
        return draws[:, 0] if size is None else draws
