"""Full and spherical covariances: the distribution's maths and the estimator."""

import dataclasses
import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from scipy import integrate
from scipy.stats import multivariate_normal

from skmdn import MDNRegressor, MixtureDistribution
from skmdn._head import log_prob, make_head
from skmdn.datasets import (
    correlated_targets_log_density,
    correlated_targets_params,
    make_correlated_targets,
)
from skmdn.metrics import log_likelihood_scorer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _random_full(n=4, K=3, D=3, seed=0):
    rng = np.random.default_rng(seed)
    tril = np.tril(rng.normal(size=(n, K, D, D)), -1)
    tril += np.eye(D) * rng.uniform(0.3, 2.0, size=(n, K, 1, D))
    means = rng.normal(size=(n, K, D)) * 2
    weights = rng.dirichlet(np.ones(K), size=n)
    return MixtureDistribution(weights, means, scale_tril=tril)


# ------------------------------------------------------------ the distribution


@pytest.mark.parametrize("D", [1, 2, 5])
def test_one_component_logpdf_is_scipys_multivariate_normal(D):
    dist = _random_full(n=6, K=1, D=D, seed=D)
    y = np.random.default_rng(1).normal(size=(6, D)) * 3
    for i in range(6):
        L = dist.scale_tril[i, 0]
        ref = multivariate_normal(dist.means[i, 0], L @ L.T).logpdf(y[i])
        assert_allclose(dist[i].logpdf(y[i : i + 1]), [ref], rtol=1e-10, atol=1e-10)
    # the torch reference of the head, on the same factors
    torch_lp = log_prob(
        torch.zeros(6, 1, dtype=torch.float64),
        torch.from_numpy(dist.means),
        torch.from_numpy(dist.scale_tril),
        torch.from_numpy(y),
    ).numpy()
    assert_allclose(torch_lp, dist.logpdf(y), rtol=1e-10, atol=1e-10)


def test_full_form_of_a_diagonal_mixture_gives_the_same_answers():
    rng = np.random.default_rng(2)
    n, K, D = 5, 3, 3
    scales = rng.uniform(0.2, 2.0, size=(n, K, D))
    means = rng.normal(size=(n, K, D))
    weights = rng.dirichlet(np.ones(K), size=n)
    diag = MixtureDistribution(weights, means, scales)
    full = MixtureDistribution(weights, means, scale_tril=scales[..., None] * np.eye(D))
    y = rng.normal(size=(n, D))
    assert_allclose(full.logpdf(y), diag.logpdf(y), rtol=1e-12)
    assert_allclose(full.cov(), diag.cov(), rtol=1e-12, atol=1e-14)
    assert_allclose(full.scales, diag.scales, rtol=1e-15)
    assert_allclose(full.ppf(0.3), diag.ppf(0.3), rtol=1e-12)
    assert_allclose(full.mode(), diag.mode(), rtol=1e-9, atol=1e-9)
    assert_allclose(full.entropy(), diag.entropy(), rtol=1e-10)
    given = full.condition([0.5, -1.0], dims=[2, 0])
    assert_allclose(
        given.logpdf(y[:, 1]),
        diag.condition([0.5, -1.0], dims=[2, 0]).logpdf(y[:, 1]),
        rtol=1e-12,
    )


def test_marginal_equals_integrating_the_other_target_out():
    dist = _random_full(n=2, K=3, D=2, seed=3)
    for i in range(2):
        row = dist[i]
        for keep in (0, 1):
            marg = row.marginal(keep)
            for value in (-1.0, 0.7, 2.5):

                def joint(t, keep=keep, value=value, row=row):
                    y = np.empty((1, 2))
                    y[0, keep], y[0, 1 - keep] = value, t
                    return row.pdf(y)[0]

                total, _ = integrate.quad(joint, -np.inf, np.inf, epsabs=1e-13)
                assert marg.pdf([value])[0] == pytest.approx(total, rel=1e-8)


def test_marginal_of_several_targets_in_any_order_is_the_sub_covariance():
    dist = _random_full(n=4, K=3, D=4, seed=4)
    for keep in ([0, 1], [2, 0], [3, 1, 2]):
        marg = dist.marginal(keep)
        assert marg.covariance_type == "full"
        assert_allclose(marg.cov(), dist.cov()[:, keep][:, :, keep], rtol=1e-12)
        assert_allclose(marg.means, dist.means[..., keep])
        # and its density integrates the others out: by Monte Carlo of the
        # joint, E[1{Y_keep near y}] is checked through the mean and covariance,
        # and through a one-dimensional check of one target
        assert_allclose(
            marg.marginal(0).pdf([0.3] * 4),
            dist.marginal(keep[0]).pdf([0.3] * 4),
            rtol=1e-12,
        )
    with pytest.raises(ValueError, match="repeat"):
        dist.marginal([1, 1])


def test_condition_equals_the_normalised_slice_of_the_joint_density():
    # brute force: the density of the joint along the line where the given
    # targets hold their values, normalised by quadrature
    dist = _random_full(n=3, K=3, D=3, seed=5)
    values = np.array([[0.4, -1.1], [2.0, 0.0], [-0.5, 1.5]])
    given = dist.condition(values, dims=[2, 0])
    assert given.squeeze
    assert given.n_outputs == 1
    grid = np.linspace(-40, 40, 400_001)
    for i in range(3):
        Y = np.empty((grid.size, 3))
        Y[:, 2], Y[:, 0], Y[:, 1] = values[i, 0], values[i, 1], grid
        lp = dist[i].cross_logpdf(Y)[0]
        p = np.exp(lp - lp.max())
        p /= integrate.trapezoid(p, grid)
        mean = integrate.trapezoid(p * grid, grid)
        var = integrate.trapezoid(p * (grid - mean) ** 2, grid)
        assert given[i].mean()[0] == pytest.approx(mean, rel=1e-7, abs=1e-9)
        assert given[i].var()[0] == pytest.approx(var, rel=1e-6)
        for j in (150_000, 200_000, 230_000):
            assert np.exp(given[i].logpdf([grid[j]]))[0] == pytest.approx(
                p[j], rel=1e-6, abs=1e-12
            )


def test_condition_of_a_correlated_pair_moves_the_mean_along_the_correlation():
    dist = MixtureDistribution(
        weights=[[1.0]], means=[[[1.0, 2.0]]], scale_tril=[[[[2.0, 0.0], [0.9, 0.3]]]]
    )
    # y1 = 2 + 0.9 z0 + 0.3 z1 with y0 = 1 + 2 z0: given y0 = 3, z0 = 1
    given = dist.condition(3.0, dims=0)
    assert_allclose(given.mean(), [2.9])
    assert_allclose(given.std(), [0.3])
    # several targets remaining keep the target axis
    three = _random_full(n=2, K=2, D=3, seed=6)
    rest = three.condition([0.0, 0.0], dims=1)
    assert rest.n_outputs == 2
    assert not rest.squeeze
    assert rest.covariance_type == "full"
    for bad, match in (
        ([0, 1, 2], "between 1 and 2"),
        ([], "between 1 and 2"),
        ([3], "index"),
        ([1, 1], "repeat"),
    ):
        with pytest.raises(ValueError, match=match):
            three.condition(0.0, dims=bad)
    with pytest.raises(ValueError, match="finite"):
        three.condition(np.nan, dims=0)
    with pytest.raises(ValueError, match="broadcast"):
        three.condition(np.zeros((2, 3)), dims=[0, 1])


def test_rvs_moments_match_mean_and_cov():
    dist = _random_full(n=3, K=3, D=3, seed=7)
    draws = dist.rvs(size=200_000, random_state=0)  # (n, size, D)
    assert draws.shape == (3, 200_000, 3)
    assert_allclose(draws.mean(1), dist.mean(), atol=0.03)
    dev = draws - draws.mean(1, keepdims=True)
    emp = np.einsum("nsd,nse->nde", dev, dev) / draws.shape[1]
    scale = np.sqrt(np.einsum("ndd->nd", dist.cov()))
    assert_allclose(
        emp / scale[:, :, None] / scale[:, None, :],
        dist.cov() / scale[:, :, None] / scale[:, None, :],
        atol=0.01,
    )


def test_full_distribution_validates_its_factors_and_pickles():
    good = _random_full(n=2, K=2, D=2, seed=8)
    with pytest.raises(ValueError, match="exactly one"):
        MixtureDistribution(good.weights, good.means)
    with pytest.raises(ValueError, match="lower triangular"):
        MixtureDistribution(
            good.weights, good.means, scale_tril=np.swapaxes(good.scale_tril, -1, -2)
        )
    bad = good.scale_tril.copy()
    bad[0, 0, 1, 1] = -1.0
    with pytest.raises(ValueError, match="positive diagonal"):
        MixtureDistribution(good.weights, good.means, scale_tril=bad)
    with pytest.raises(ValueError, match="shape"):
        MixtureDistribution(good.weights, good.means, scale_tril=bad[..., :1])
    restored = pickle.loads(pickle.dumps(good))
    assert_array_equal(restored.scale_tril, good.scale_tril)
    assert restored.covariance_type == "full"
    assert "covariance_type='full'" in repr(good)
    # a state pickled before full covariances existed restores as diagonal
    state = good.__getstate__()
    del state["scale_tril"]
    old = MixtureDistribution.__new__(MixtureDistribution)
    old.__setstate__(state)
    assert old.covariance_type == "diagonal"
    # rows keep their factors
    assert_array_equal(good[1].scale_tril, good.scale_tril[1:2])
    assert len(list(good)) == 2


def _assert_local_maximum(row, x, h=1e-4):
    """The log-density at ``x`` is above its value at every nearby point."""
    centre = row.logpdf(x[None])[0]
    D = x.size
    rng = np.random.default_rng(0)
    directions = np.r_[np.eye(D), -np.eye(D), rng.normal(size=(20, D))]
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    around = row.cross_logpdf(x + h * directions)[0]
    assert (around < centre).all(), (x, centre, around.max())


def test_modes_of_a_full_mixture_are_local_maxima():
    dist = _random_full(n=5, K=3, D=2, seed=9)
    for i, modes in enumerate(dist.modes()):
        for x in modes.locations:
            _assert_local_maximum(dist[i], x)
    assert_allclose(
        dist.logpdf(dist.mode()),
        [np.log(m.densities[0]) for m in dist.modes()],
        rtol=1e-10,
    )


@pytest.mark.parametrize("form", ["diagonal", "full"])
def test_a_component_mean_on_a_minimum_or_a_saddle_is_not_a_mode(form):
    # a climb that starts exactly on a critical point does not move: it must
    # be recognised as no maximum, nudged and climbed on
    cases = [
        # a wide component centred on the minimum between four sharp ones
        (
            [0.2475] * 4 + [0.01],
            [[2, 0], [-2, 0], [0, 2], [0, -2], [0, 0]],
            [[0.5, 0.5]] * 4 + [[3.0, 3.0]],
            4,
        ),
        # a component centred on the saddle between two others
        ([0.45, 0.45, 0.1], [[1, 0], [-1, 0], [0, 0]], [[0.5, 0.5]] * 3, 2),
    ]
    for weights, means, scales, n_modes in cases:
        scales = np.asarray([scales], dtype=float)
        if form == "diagonal":
            dist = MixtureDistribution([weights], [means], scales)
        else:
            dist = MixtureDistribution(
                [weights], [means], scale_tril=scales[..., None] * np.eye(2)
            )
        modes = dist.modes()[0]
        assert len(modes.locations) == n_modes
        for x in modes.locations:
            _assert_local_maximum(dist, x)
        assert modes.masses.sum() == pytest.approx(1.0)


# ------------------------------------------------------------------ the head


@pytest.mark.parametrize("covariance_type", ["spherical", "full"])
def test_head_layout_and_initial_bias(covariance_type):
    K, D = 3, 3
    head = make_head(covariance_type, K, D, 1e-3)
    n_cov = {"spherical": 1, "full": D * (D + 1) // 2}[covariance_type]
    assert head.width == K * (1 + D + n_cov)
    loc = np.arange(K * D, dtype=float).reshape(K, D)
    scale = np.full((K, D), 0.5)
    bias = head.init_bias(loc, scale)
    logits, means, cov = head.params_numpy(bias[None])
    assert_allclose(logits, 0.0)
    assert_allclose(means[0], loc)
    if covariance_type == "full":
        assert_allclose(cov[0], 0.5 * np.broadcast_to(np.eye(D), (K, D, D)), rtol=1e-12)
    else:
        assert_allclose(cov[0], 0.5, rtol=1e-12)


# ------------------------------------------------------------- the estimator


def _fast(**params):
    base = {
        "n_components": 2,
        "n_networks": 1,
        "hidden_layer_sizes": (16,),
        "max_iter": 40,
        "input_noise": 0.0,
        "random_state": 0,
    }
    return MDNRegressor(**{**base, **params})


def test_full_covariance_learns_the_correlation_that_diagonal_cannot():
    X, y = make_correlated_targets(3000, random_state=0)
    X_test, y_test = make_correlated_targets(3000, random_state=1)
    truth = -correlated_targets_log_density(X_test, y_test).mean()
    nll = {}
    for cov in ("diagonal", "spherical", "full"):
        est = MDNRegressor(
            n_components=2,
            n_networks=1,
            covariance_type=cov,
            max_iter=150,
            random_state=0,
        ).fit(X, y)
        nll[cov] = -est.log_prob(X_test, y_test).mean()
        if cov == "full":
            dist = est.predict_dist(X_test)
            assert dist.covariance_type == "full"
    assert nll["full"] < nll["diagonal"] - 0.3
    assert nll["full"] - truth < 0.1
    # the fitted correlation of each true component, by nearest mean
    _, true_means, _, true_rho = correlated_targets_params(X_test)
    c = dist.covariances
    rho = c[..., 0, 1] / np.sqrt(c[..., 0, 0] * c[..., 1, 1])
    near = np.abs(dist.means[:, :, None, 1] - true_means[:, None, :, 1]).argmin(-1)
    for k in range(2):
        w = dist.weights * (near == k)
        fitted = (w * rho).sum(1) / w.sum(1)
        assert np.median(np.abs(fitted - true_rho[:, k])) < 0.05


def test_full_on_independent_targets_matches_diagonal():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(2000, 1))
    noise = np.c_[np.full(2000, 0.2), 0.1 + 0.1 * (X[:, 0] > 0)]
    y = np.c_[np.sin(3 * X[:, 0]), X[:, 0] ** 2] + noise * rng.normal(size=(2000, 2))
    X_test, y_test = X[1500:], y[1500:]
    scores = {}
    for cov in ("diagonal", "full"):
        # the step size of the earlier default: at 3e-3, with no noise and
        # 1,350 training rows, a full model overfits a spurious correlation
        # of 0.07-0.15 (docs/hyperparameters.rst); this checks the head
        est = _fast(
            covariance_type=cov,
            max_iter=200,
            hidden_layer_sizes=(32, 32),
            learning_rate_init=1e-3,
        )
        est.fit(X[:1500], y[:1500])
        scores[cov] = est.log_prob(X_test, y_test).mean()
        if cov == "full":
            c = est.predict_dist(X_test).covariances
            rho = c[..., 0, 1] / np.sqrt(c[..., 0, 0] * c[..., 1, 1])
            w = est.predict_dist(X_test).weights
            assert np.abs((w * rho).sum(1)).mean() < 0.1
    assert scores["full"] == pytest.approx(scores["diagonal"], abs=0.05)


def test_sixteen_targets_with_a_duplicate_and_a_constant_stay_finite():
    rng = np.random.default_rng(4)
    n = 600
    X = rng.normal(size=(n, 3))
    y = rng.normal(size=(n, 16)) + X[:, :1]
    y[:, 5] = y[:, 2]  # an exact copy: a singular covariance
    y[:, 9] = 4.0 + 1e-9 * rng.normal(size=n)  # near-zero variance
    est = _fast(covariance_type="full", n_components=3, max_iter=20).fit(X, y)
    dist = est.predict_dist(X[:50])
    arrays = [
        dist.weights,
        dist.means,
        dist.scale_tril,
        dist.cov(),
        dist.logpdf(y[:50]),
        est.predict(X[:50]),
        est.sample(X[:5], 3, random_state=0),
        dist.condition(y[:50, [2]], dims=2).mean(),
        dist.marginal([5, 2]).logpdf(y[:50, [5, 2]]),
        *est.coefs_,
        *est.intercepts_,
        est.loss_curve_,
    ]
    for a in arrays:
        assert np.isfinite(np.asarray(a)).all()
    # the floor holds, in each target's own units
    diag = np.diagonal(dist.scale_tril, axis1=-2, axis2=-1)
    assert (diag >= est.min_scale * est._y_scaler.scale * (1 - 1e-9)).all()


@pytest.mark.parametrize("covariance_type", ["spherical", "full"])
def test_every_path_runs_with_other_covariances(covariance_type):
    X, y = make_correlated_targets(400, random_state=2)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=400)
    est = _fast(covariance_type=covariance_type, n_networks=2).fit(X, y, w)
    dist = est.predict_dist(X[:7])
    assert dist.n_components == 4  # two networks, pooled
    assert dist.covariance_type == ("full" if covariance_type == "full" else "diagonal")
    if covariance_type == "spherical":
        # one scale per component in standardised units
        ratio = dist.scales / est._y_scaler.scale
        assert_allclose(ratio[..., 0], ratio[..., 1], rtol=1e-12)
    # persistence: numpy state only, the same predictions after a round trip
    again = pickle.loads(pickle.dumps(est))
    assert_allclose(again.log_prob(X, y), est.log_prob(X, y), rtol=1e-12)
    # scorers, warm start, partial fit
    assert np.isfinite(log_likelihood_scorer(est, X, y))
    est.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert est.n_iter_ > 3
    est.partial_fit(X[:100], y[:100] + 1.0)
    assert np.isfinite(est.log_prob(X, y)).all()
    with pytest.raises(ValueError, match="covariance_type"):
        est.set_params(covariance_type="diagonal").fit(X, y)


def test_partial_fit_reexpresses_full_factors_exactly_below_the_diagonal():
    X, y = make_correlated_targets(300, random_state=3)
    est = _fast(covariance_type="full").partial_fit(X, y)
    dist = est.predict_dist(X[:20])
    old_y = est._y_scaler
    new_y = dataclasses.replace(
        old_y, location=old_y.location - 1.0, scale=old_y.scale * 1.5
    )
    net = est._reexpressed(
        est._networks[0], est._trunk, est._head, est._x_scaler, new_y
    )
    est._networks, est._y_scaler = [net], new_y
    est._set_public_attributes()
    moved = est.predict_dist(X[:20])
    assert_allclose(moved.means, dist.means, rtol=1e-10, atol=1e-10)
    assert_allclose(moved.weights, dist.weights, rtol=1e-10)
    assert_allclose(moved.scale_tril[..., 1, 0], dist.scale_tril[..., 1, 0], rtol=1e-10)
    # the diagonal follows to first order only (softplus): close, not equal
    assert_allclose(moved.scales, dist.scales, rtol=0.3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("covariance_type", ["spherical", "full"])
def test_cuda_step_and_fit_match_the_cpu(covariance_type):
    head = make_head(covariance_type, 3, 3, 1e-3)
    gen = torch.Generator().manual_seed(0)
    out_t = torch.randn(head.width, 50, generator=gen, dtype=torch.float64)
    y_t = torch.randn(3, 50, generator=gen, dtype=torch.float64)
    coef = torch.full((50,), 1 / 50, dtype=torch.float64)
    loss, grad = head.loss_and_grad(out_t, y_t, coef)
    loss_c, grad_c = head.loss_and_grad(out_t.cuda(), y_t.cuda(), coef.cuda())
    assert float(loss_c) == pytest.approx(float(loss), rel=1e-12)
    assert_allclose(grad_c.cpu().numpy(), grad.numpy(), rtol=1e-10, atol=1e-12)
    X, y = make_correlated_targets(300, random_state=0)
    est = _fast(covariance_type=covariance_type, device="cuda").fit(X, y)
    cpu = pickle.loads(pickle.dumps(est)).set_params(device="cpu")
    assert_allclose(est.log_prob(X, y), cpu.log_prob(X, y), rtol=1e-6, atol=1e-8)
