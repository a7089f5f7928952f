"""MixtureDistribution's moments, expectations, entropy, support and CRPS."""

# SPDX-License-Identifier: BSD-3-Clause

import numbers

import numpy as np

from skmdn._mixture import crps, density, quadrature


class SummaryMethods:
    """Moments, expectations, the entropy, the support and CRPS."""

    __slots__ = ()

    def mean(self):
        """Mean of each row's mixture.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``sum_k w_k mu_k``.
        """
        if not self._change.is_identity:
            return self._out(self._y_expect(lambda rows, y, d: y))
        return self._out(np.einsum("nk,nkd->nd", self.weights, self.means))

    def var(self):
        """Marginal variance of each target (law of total variance).

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``sum_k w_k (sigma_k**2 + (mu_k - mean)**2)``.
        """
        if not self._change.is_identity:
            return self._out(self._y_central(2))
        mean = np.einsum("nk,nkd->nd", self.weights, self.means)
        dev = self.means - mean[:, None, :]
        var = np.einsum("nk,nkd->nd", self.weights, self.scales**2 + dev**2)
        return self._out(var)

    def std(self):
        """Marginal standard deviation of each target.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The square root of :meth:`var`.
        """
        return np.sqrt(self.var())

    def cov(self):
        """Covariance matrix of the targets for each row.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs, n_outputs)
            ``sum_k w_k (Sigma_k + (mu_k - mean)(mu_k - mean)^T)``; for
            diagonal components, off-diagonal terms come only from the spread
            of the component means.
        """
        if not self._change.is_identity:
            if self.n_outputs > 1:
                self._no_change("cov of several targets")
            return self._y_central(2)[:, :, None]
        mean = np.einsum("nk,nkd->nd", self.weights, self.means)
        dev = self.means - mean[:, None, :]
        cov = np.einsum("nk,nkd,nke->nde", self.weights, dev, dev)
        if self.scale_tril is not None:
            return cov + np.einsum("nk,nkde->nde", self.weights, self.covariances)
        diag = np.einsum("nk,nkd->nd", self.weights, self.scales**2)
        idx = np.arange(self.n_outputs)
        cov[:, idx, idx] += diag
        return cov

    def moment(self, order):
        """Non-central moment ``E[Y_d**order]`` of each target, in closed form.

        Each Gaussian component's raw moments are a finite sum (over even
        ``j``, of ``C(order, j) mu**(order - j) sigma**j (j - 1)!!``); the
        mixture's moment is their weighted sum. Like
        :meth:`scipy.stats.rv_continuous.moment`, the moment is about zero;
        high orders of targets far from zero lose precision to cancellation.

        Parameters
        ----------
        order : int
            Non-negative order of the moment.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The moment of each target's marginal.

        Raises
        ------
        ValueError
            If ``order`` is not a non-negative integer.
        """
        if not isinstance(order, numbers.Integral) or isinstance(order, bool):
            raise ValueError(f"order must be a non-negative integer; got {order!r}.")
        if order < 0:
            raise ValueError(f"order must be a non-negative integer; got {order!r}.")
        if not self._change.is_identity:
            return self._out(self._y_expect(lambda rows, y, d: y ** int(order)))
        return self._out(
            density.moment(self.weights, self.means, self.scales, int(order))
        )

    def stats(self, moments="mv"):
        """Mean, variance, skewness and/or excess kurtosis of each target.

        As :meth:`scipy.stats.rv_continuous.stats`: each statistic is exact,
        from the central moments of the mixture (see :meth:`moment`).

        Parameters
        ----------
        moments : str, default='mv'
            Which statistics, in order, from ``'m'`` (mean), ``'v'``
            (variance), ``'s'`` (skewness) and ``'k'`` (excess, Fisher,
            kurtosis: 0 for a Gaussian).

        Returns
        -------
        ndarray or tuple of ndarray, each of shape (n_samples,) or \
                (n_samples, n_outputs)
            One array for a single letter, otherwise a tuple in the order of
            ``moments``.

        Raises
        ------
        ValueError
            If ``moments`` has letters other than ``'mvsk'``.
        """
        if not isinstance(moments, str) or not moments or set(moments) - set("mvsk"):
            raise ValueError(
                f"moments must be a string of the letters 'mvsk'; got {moments!r}."
            )
        w, mu, s = self.weights, self.means, self.scales
        if self._change.is_identity:
            mean = np.einsum("nk,nkd->nd", w, mu)

            def central(order):
                return density.moment(w, mu, s, order, center=mean)

        else:
            mean = self._y_expect(lambda rows, y, d: y)

            def central(order):
                return self._y_central(order, mean)

        var = central(2)
        out = []
        for letter in moments:
            if letter == "m":
                out.append(mean)
            elif letter == "v":
                out.append(var)
            elif letter == "s":
                out.append(central(3) / var**1.5)
            else:
                out.append(central(4) / var**2 - 3.0)
        out = [self._out(a) for a in out]
        return out[0] if len(out) == 1 else tuple(out)

    def _y_expect(self, func):
        """``E[func(rows, Y_d, d)]`` of each target under the change, (n, D).

        By the quadrature of :meth:`expect` on the scale of the mixture,
        ``E[h(Y)] = E[h(g^{-1}(T))]``, out to 16 standard deviations of every
        component (the moments of ``Y`` may weigh ``T``'s tails heavily).
        ``func`` gets the rows (a slice), the targets at the nodes (m, M) and
        the target's index.
        """
        n, _, D = self.means.shape
        inverse = self._change.inverse
        out = np.empty((n, D))
        for d in range(D):

            def values(rows, t, d=d):
                return func(rows, inverse(t), d)

            mu, s = self.means[..., d], self.scales[..., d]
            lb, ub = quadrature.wide_bounds(mu, s)
            out[:, d] = quadrature.integrate(self.weights, mu, s, values, lb, ub)[0]
        return out

    def _y_central(self, order, mean=None):
        """Central moments of each target under the change, by quadrature."""
        if mean is None:
            mean = self._y_expect(lambda rows, y, d: y)
        return self._y_expect(lambda rows, y, d: (y - mean[rows, d, None]) ** order)

    def entropy(self):
        """Differential entropy of each row's joint distribution, in nats.

        A Gaussian mixture's entropy has no closed form; it is computed
        numerically:

        - one target: composite Gauss-Legendre quadrature of
          ``-p(y) log p(y)``, with the line cut at every component's mean and
          at 2, 4 and 8 standard deviations either side (12 nodes per piece).
          Against adaptive quadrature its error was below ``1e-9`` nats on
          random mixtures whose scales span three orders of magnitude.
        - several targets: ``-sum_k w_k E_k[log p(Y)]``, where each
          component's expectation is exact for its own log-density and
          averages the overlap term ``log(p / (w_k N_k))`` over 2048 scrambled
          Sobol points (quasi-Monte Carlo, fixed seed, so the result is
          deterministic). Against a tensor quadrature in two dimensions its
          error was about ``1e-3`` nats; it is exact when the components do
          not overlap.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``-E[log p(Y)]`` under each row (joint over the targets; use
            :meth:`marginal` for one target's entropy).
        """
        if self.n_outputs == 1:
            h = quadrature.entropy_1d(
                self.weights, self.means[..., 0], self.scales[..., 0]
            )
        else:
            h = quadrature.entropy_qmc(self.weights, self.means, self._cov)
        if self._change.is_identity:
            return h
        # H(Y) = H(T) - E[log g'(Y)], the last a sum of marginal expectations
        log_jac = self._change.log_jacobian_t
        for d in range(self.n_outputs):
            mu, s = self.means[..., d], self.scales[..., d]
            lb, ub = quadrature.wide_bounds(mu, s)
            h -= quadrature.integrate(
                self.weights, mu, s, lambda rows, t: log_jac(t), lb, ub
            )[0]
        return h

    def support(self):
        """Support of each target's distribution: the whole real line.

        Returns
        -------
        lower, upper : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``-inf`` and ``inf``.
        """
        shape = (len(self), self.n_outputs)
        lower, upper = self._change.support()
        return self._out(np.full(shape, lower)), self._out(np.full(shape, upper))

    def expect(self, func=None, lb=None, ub=None, conditional=False):
        """Compute the expectation of ``func(Y)`` under each row's distribution.

        As :meth:`scipy.stats.rv_continuous.expect`, but for every row at once
        and without :func:`scipy.integrate.quad`: composite Gauss-Legendre
        quadrature, with the line cut at every component's mean and at 2, 4
        and 8 standard deviations either side, and at the bounds (12 nodes per
        piece). For smooth ``func`` the error is near rounding (polynomials
        of low degree are integrated to about ``1e-12``); the mass beyond
        eight standard deviations of every component (below ``1e-15``) is
        left out. Kinks or jumps of ``func`` between the cuts, and
        oscillations faster than a component's scale, cost accuracy: for
        ``abs`` the relative error was about ``1e-6``.

        Parameters
        ----------
        func : callable, default=None
            Function of the target. It is called with ndarrays of points
            (rows of the distribution by quadrature nodes, in blocks) and
            must act elementwise, returning an array of the same shape (or a
            constant). None gives the mean.
        lb, ub : float or array-like of shape (n_samples,), default=None
            Lower and upper bounds of the integral, for all rows or one per
            row; None for ``-inf`` and ``inf``.
        conditional : bool, default=False
            Whether to divide by the probability of ``[lb, ub]``, giving
            ``E[func(Y) | lb <= Y <= ub]``.

        Returns
        -------
        ndarray of shape (n_samples,)
            ``E[func(Y) 1{lb <= Y <= ub}]``, or the conditional expectation.

        Raises
        ------
        ValueError
            If the distribution has several targets (use
            ``marginal(d).expect(...)``), if ``lb > ub`` for some row, or if
            ``func`` does not act elementwise.
        """
        if self.n_outputs != 1:
            raise ValueError(
                "expect is defined for a single target; use "
                "marginal(d).expect(...) for target d."
            )
        n = len(self)
        bounds = []
        for value, default, name in ((lb, -np.inf, "lb"), (ub, np.inf, "ub")):
            value = np.asarray(default if value is None else value, dtype=np.float64)
            try:
                bounds.append(np.broadcast_to(value, (n,)))
            except ValueError:
                raise ValueError(
                    f"{name} of shape {value.shape} does not broadcast to the {n} rows."
                ) from None
        lb, ub = bounds
        if np.isnan(lb).any() or np.isnan(ub).any() or (lb > ub).any():
            raise ValueError("Bounds must satisfy lb <= ub on every row.")
        if not self._change.is_identity:  # E[f(Y)] = E[f(g^{-1}(T))]
            inverse = self._change.inverse
            lb, ub = self._change.to_t(lb), self._change.to_t(ub)
            func = inverse if func is None else (lambda t, f=func: f(inverse(t)))
        return quadrature.expect(
            self.weights,
            self.means[..., 0],
            self.scales[..., 0],
            func,
            lb,
            ub,
            conditional=bool(conditional),
        )

    def _crps(self, y):
        """CRPS of each target at ``y`` of shape (n, D); (n, D).

        In closed form, or by quadrature on the scale of ``y`` under a change
        of variables.
        """
        w, mu, s = self.weights, self.means, self.scales
        if self._change.is_identity:
            score = [
                crps.crps(w, mu[..., d], s[..., d], y[:, d]) for d in range(y.shape[1])
            ]
        else:
            change = self._change
            score = [
                crps.crps_quadrature(w, mu[..., d], s[..., d], y[:, d], change)
                for d in range(y.shape[1])
            ]
        return np.column_stack(score)
