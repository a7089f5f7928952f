"""Behaviour of MDNRegressor, one feature per test (in the style of test_mlp.py)."""

import dataclasses
import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skmdn._preprocessing
import skmdn._progress
import skmdn._training
from skmdn import MDNRegressor, MixtureDistribution
from skmdn.datasets import make_inverse_sine

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _regression(n=120, n_features=3, n_outputs=None, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, n_features))
    y = X @ rng.normal(size=n_features) + 0.3 * rng.normal(size=n)
    if n_outputs is not None:
        y = np.column_stack([y + i for i in range(n_outputs)])
    return X, y


def _fast(**params):
    # small and deterministic: no early stopping and no noise regularisation,
    # unless a test asks for them
    params = {
        "n_networks": 1,
        "max_iter": 5,
        "random_state": 0,
        "hidden_layer_sizes": (16,),
        "n_components": 5,
        "batch_size": 256,  # full batches on these small data sets
        "early_stopping": False,
        "input_noise": 0.0,
        "target_noise": 0.0,
        **params,
    }
    return MDNRegressor(**params)


@pytest.mark.parametrize(
    ("y_shape", "out_tail"), [((), ()), ((1,), (1,)), ((2,), (2,))]
)
def test_output_shapes_follow_y(y_shape, out_tail):
    X, y = _regression(n=60, n_outputs=y_shape[0] if y_shape else None)
    est = _fast(n_components=3).fit(X, y)
    n = 7
    assert est.n_outputs_ == (y_shape[0] if y_shape else 1)
    assert est.predict(X[:n]).shape == (n, *out_tail)
    mean, std = est.predict(X[:n], return_std=True)
    assert mean.shape == std.shape == (n, *out_tail)
    assert (std > 0).all()
    assert est.sample(X[:n], n_samples=4, random_state=0).shape == (n, 4, *out_tail)
    assert est.log_prob(X[:n], y[:n]).shape == (n,)
    candidates = y[:5]
    assert est.conditional_density(X[:n], candidates).shape == (n, 5)
    dist = est.predict_dist(X[:n])
    assert isinstance(dist, MixtureDistribution)
    D = est.n_outputs_
    assert dist.weights.shape == (n, 3)
    assert dist.means.shape == dist.scales.shape == (n, 3, D)


def test_conditional_density_agrees_with_log_prob():
    X, y = _regression(n=50, n_outputs=2)
    est = _fast().fit(X, y)
    grid = est.conditional_density(X[:6], y[:6], log=True)
    assert_allclose(np.diag(grid), est.log_prob(X[:6], y[:6]), rtol=1e-12)
    assert_allclose(est.conditional_density(X[:6], y[:6]), np.exp(grid), rtol=1e-12)


def test_density_integrates_to_one_in_original_units():
    # The Jacobian of the target standardisation must be applied: integrate the
    # density over a fine grid in original units, for a target on a large scale.
    X, y = _regression(n=80, n_features=1)
    y = 1000.0 * y + 5e4
    est = _fast(max_iter=10).fit(X, y)
    lo, hi = y.min() - 10 * y.std(), y.max() + 10 * y.std()
    grid = np.linspace(lo, hi, 20001)
    dens = est.conditional_density(X[:4], grid)
    assert_allclose(np.trapezoid(dens, grid, axis=1), 1.0, rtol=1e-4)


def test_warm_start_continues_training():
    X, y = _regression()
    est = _fast(max_iter=4, warm_start=True, n_iter_no_change=np.inf).fit(X, y)
    first_curve = list(est.loss_curve_)
    est.fit(X, y)
    assert est.n_iter_ == 8
    assert est.loss_curve_[:4] == first_curve
    assert est.t_ == 8  # one full batch per epoch here
    cold = _fast(max_iter=4, n_iter_no_change=np.inf).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 4


def test_warm_start_rejects_changed_architecture():
    X, y = _regression()
    est = _fast(warm_start=True).fit(X, y)
    est.set_params(n_components=2)
    with pytest.raises(ValueError, match="changed since the last fit"):
        est.fit(X, y)


def test_partial_fit_runs_one_epoch_and_keeps_running_statistics():
    X, y = _regression(n=300)
    est = _fast(batch_size=100)
    est.partial_fit(X[:150], y[:150])
    assert est.n_iter_ == 1
    assert est.t_ == 2
    est.partial_fit(X[150:], y[150:] + 100.0)
    assert est.n_iter_ == 2
    assert est.t_ == 4
    # the standardisation is that of every row seen, as StandardScaler's
    both = np.r_[y[:150], y[150:] + 100.0]
    assert_allclose(est._y_scaler.location, [both.mean()], rtol=1e-12)
    assert_allclose(est._y_scaler.scale, [both.std()], rtol=1e-12)
    assert_allclose(est._x_scaler.scale, X.std(axis=0), rtol=1e-12)
    assert len(est.loss_curve_) == 2


def test_running_statistics_reexpress_the_network_exactly():
    # moving the input statistics and the target location changes nothing;
    # a target scale change acts on the component scales to first order
    X, y = _regression(n=200, n_outputs=2)
    est = _fast(batch_size=50, n_components=3).partial_fit(X, y)
    dist = est.predict_dist(X[:20])
    old_x, old_y = est._x_scaler, est._y_scaler
    shifted = [replace_loc(old_x, 0.3, 1.7), replace_loc(old_y, -2.0, 1.0)]
    net = est._reexpressed(est._networks[0], est._trunk, est._head, *shifted)
    est._networks = [net]
    est._x_scaler, est._y_scaler = shifted
    est._set_public_attributes()
    moved = est.predict_dist(X[:20])
    assert_allclose(moved.weights, dist.weights, rtol=1e-10)
    assert_allclose(moved.means, dist.means, rtol=1e-10, atol=1e-10)
    assert_allclose(moved.scales, dist.scales, rtol=1e-10)


def replace_loc(scaler, shift, factor):
    return dataclasses.replace(
        scaler, location=scaler.location + shift, scale=scaler.scale * factor
    )


def test_partial_fit_does_not_depend_much_on_the_order_of_chunks():
    # the first chunk is a calm period (|x| < 0.05): statistics frozen from it
    # squashed the later inputs (R2 0.944 against 0.995 shuffled)
    rng = np.random.RandomState(0)
    x = rng.uniform(-3, 3, size=4000)
    y = np.sin(x) + 0.05 * rng.normal(size=x.size)
    calm = np.flatnonzero(np.abs(x) < 0.05)
    rest = rng.permutation(np.flatnonzero(np.abs(x) >= 0.05))
    orders = {
        "calm first": [calm, *np.array_split(rest, 8)],
        "shuffled": np.array_split(rng.permutation(x.size), 9),
    }
    scores = {}
    for name, chunks in orders.items():
        est = MDNRegressor(n_components=3, n_networks=1, random_state=0)
        for _ in range(15):
            for chunk in chunks:
                est.partial_fit(x[chunk, None], y[chunk])
        assert_allclose(est._x_scaler.scale, [x.std()], rtol=1e-10)
        scores[name] = est.score(x[:, None], y)
    assert scores["shuffled"] > 0.99
    assert scores["calm first"] > scores["shuffled"] - 0.02


def test_partial_fit_ignores_early_stopping():
    # a stream has no held-out data: partial_fit trains on every row given
    X, y = _regression()
    est = _fast(early_stopping=True).partial_fit(X, y)
    assert est.validation_scores_ is None
    assert est.n_iter_ == 1


def test_early_stopping_restores_best_weights(monkeypatch):
    X, y = make_inverse_sine(400, random_state=0)
    splits = []

    def recording_split(*args, **kwargs):
        splits.append(skmdn._preprocessing.validation_split(*args, **kwargs))
        return splits[-1]

    monkeypatch.setattr(skmdn._training, "validation_split", recording_split)
    est = MDNRegressor(
        n_components=3,
        n_networks=1,
        hidden_layer_sizes=(16,),
        early_stopping=True,
        validation_fraction=0.25,
        learning_rate_init=0.02,
        n_iter_no_change=5,
        max_iter=300,
        random_state=0,
        scale_calibration=None,  # the restored weights' own scales
    ).fit(X, y)
    assert est.best_loss_ is None
    assert len(est.validation_scores_) == est.n_iter_ == len(est.loss_curve_)
    assert est.n_iter_ < 300  # stopped early
    best = int(np.argmax(est.validation_scores_))
    assert est.best_validation_score_ == est.validation_scores_[best]
    assert best < est.n_iter_ - 1  # the last epochs were worse, so a restore happened
    _, val_idx = splits[0]
    assert len(val_idx) == pytest.approx(100, abs=3)
    held_out = est.log_prob(X[val_idx], y[val_idx]).mean()
    assert held_out == pytest.approx(est.best_validation_score_, rel=1e-9)


def test_early_stopping_needs_two_distinct_samples():
    est = MDNRegressor(early_stopping=True)
    with pytest.raises(ValueError, match="validation set is too small"):
        est.fit(np.ones((5, 1)), np.ones(5))


def test_n_iter_no_change_inf_runs_to_max_iter_with_warning():
    X, y = _regression()
    est = _fast(max_iter=7, n_iter_no_change=np.inf)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        est.fit(X, y)
    assert est.n_iter_ == 7


def test_training_stops_when_loss_stalls():
    X, y = _regression()
    est = _fast(max_iter=500, n_iter_no_change=3, tol=1.0, learning_rate="constant")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    # as in MLPRegressor: the first epoch sets best_loss_, then it stops at the
    # (n_iter_no_change + 1)-th epoch in a row without progress
    assert est.n_iter_ == 5
    assert est.best_loss_ == min(est.loss_curve_)
    assert est.validation_scores_ is None
    assert est.best_validation_score_ is None


def test_verbose_prints_a_throttled_progress_line(capsys, monkeypatch):
    X, y = _regression()
    _fast(max_iter=3, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1 (1 steps), loss = " in out
    assert "Iteration 3 (3 steps), loss = " in out
    assert "done" in out
    assert "s left" in out
    _fast(max_iter=2, verbose=True, early_stopping=True).fit(X, y)
    out = capsys.readouterr().out
    assert "validation log-likelihood" in out
    # the last line: what the scale calibration did
    assert out.splitlines()[-1].startswith("Scale calibration on the validation rows")
    # one line for the first epoch and one for the last, however many epochs
    # a first line before training, one for the first epoch and one for the
    # last, which says why training ended, however many epochs
    monkeypatch.setattr(skmdn._progress, "PROGRESS_SECONDS", 1e9)
    _fast(max_iter=40, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Training 1 network on 120 rows: 1 steps")
    assert lines[1].startswith("Iteration 1 ")
    assert lines[2].startswith("Iteration 40 ")
    assert lines[2].endswith("done: max_iter epochs reached")
    _fast(max_iter=3).fit(X, y)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compute_dtype_follows_input(dtype):
    X, y = _regression()
    est = _fast().fit(X.astype(dtype), y.astype(dtype))
    assert all(c.dtype == dtype for c in est.coefs_)
    assert est._networks[0].optimizer["m"].dtype == dtype
    pred = est.predict(X.astype(dtype))
    assert pred.dtype == np.float64
    # float32 and float64 fits describe nearly the same model
    other = _fast().fit(X, y)
    assert_allclose(pred, other.predict(X), rtol=1e-3, atol=1e-3)


def test_feature_names_are_kept():
    pd = pytest.importorskip("pandas")
    X, y = _regression()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    est = _fast().fit(df, y)
    assert_array_equal(est.feature_names_in_, ["a", "b", "c"])
    with pytest.warns(UserWarning, match="feature names"):
        est.predict(X)


def test_pickle_and_joblib_round_trips_are_exact_and_torch_free():
    X, y = _regression(n_outputs=2)
    est = _fast().fit(X, y)
    blob = pickle.dumps(est)
    assert b"torch" not in blob
    for clone_ in (pickle.loads(blob), _joblib_round_trip(est)):
        d1, d2 = est.predict_dist(X), clone_.predict_dist(X)
        assert_array_equal(d1.weights, d2.weights)
        assert_array_equal(d1.means, d2.means)
        assert_array_equal(d1.scales, d2.scales)
    # a round-tripped model keeps training where it stopped
    restored = pickle.loads(blob)
    restored.set_params(warm_start=True).fit(X, y)
    assert restored.n_iter_ == 2 * est.n_iter_


def _joblib_round_trip(est):
    buf = io.BytesIO()
    joblib.dump(est, buf)
    buf.seek(0)
    return joblib.load(buf)


def test_random_state_gives_bit_identical_fits_and_leaves_torch_alone():
    X, y = _regression()
    rng_state = torch.get_rng_state()
    threads = torch.get_num_threads()
    default_dtype = torch.get_default_dtype()
    a = _fast(batch_size=32).fit(X, y)
    b = _fast(batch_size=32).fit(X, y)
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert_array_equal(ca, cb)
    c = _fast(batch_size=32, random_state=1).fit(X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert torch.get_num_threads() == threads
    assert torch.get_default_dtype() == default_dtype


def test_unit_weights_equal_no_weights_and_zero_weights_remove_rows():
    X, y = _regression(n=60)
    plain = _fast(max_iter=20, random_state=0).fit(X, y)
    ones = _fast(max_iter=20, random_state=0).fit(X, y, sample_weight=np.ones(60))
    assert_allclose(plain.predict(X), ones.predict(X), rtol=1e-12)

    w = np.ones(60)
    w[::3] = 0
    weighted = _fast(max_iter=20, random_state=0).fit(X, y, sample_weight=w)
    removed = _fast(max_iter=20, random_state=0).fit(X[w > 0], y[w > 0])
    assert_allclose(weighted.predict(X), removed.predict(X), rtol=1e-9)


def test_integer_weights_equal_repeated_rows_with_early_stopping():
    rng = np.random.RandomState(0)
    X, y = _regression(n=40)
    w = rng.randint(0, 4, size=40)
    params = {"max_iter": 15, "early_stopping": True, "validation_fraction": 0.25}
    weighted = _fast(**params).fit(X, y, sample_weight=w)
    repeated = _fast(**params).fit(X.repeat(w, axis=0), y.repeat(w))
    assert_allclose(weighted.validation_scores_, repeated.validation_scores_, rtol=1e-9)
    assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9)


@pytest.mark.parametrize("n_networks", [1, 2])
def test_weights_of_any_scale_give_the_same_model(n_networks):
    # weights normalised to sum to about 1 once counted as one row in the
    # standard error of early stopping's test against the marginal of y: every
    # network then kept the marginal (-1.02 here, against -0.44)
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(1000, 3))
    y = np.sin(2 * X[:, 0]) + 0.3 * rng.normal(size=1000)
    params = {"max_iter": 40, "n_networks": n_networks, "random_state": 0}
    params["hidden_layer_sizes"] = (16,)
    plain = MDNRegressor(**params).fit(X, y)
    assert plain.best_validation_score_ > -0.6
    for scale in (2.0**-10, 2.0**-30):  # exact in binary: the same roundings
        scaled = MDNRegressor(**params).fit(X, y, sample_weight=np.full(1000, scale))
        assert_allclose(scaled.validation_scores_, plain.validation_scores_)
        assert scaled.best_validation_score_ == pytest.approx(
            plain.best_validation_score_
        )
        assert_allclose(scaled.scale_factors_, plain.scale_factors_)
        assert_allclose(scaled.predict(X), plain.predict(X), rtol=1e-9)


def test_recovers_the_branches_of_the_inverse_sine_problem():
    X, y = make_inverse_sine(3000, random_state=0)
    X_test, y_test = make_inverse_sine(5000, random_state=1)
    params = {
        "hidden_layer_sizes": (32, 32),
        "learning_rate_init": 5e-3,
        "random_state": 0,
    }
    mdn = MDNRegressor(n_components=5, max_iter=150, **params).fit(X, y)
    single = MDNRegressor(n_components=1, max_iter=150, **params).fit(X, y)
    ll_mdn = mdn.log_prob(X_test, y_test).mean()
    ll_single = single.log_prob(X_test, y_test).mean()
    # Bayes log-likelihood is 1.28; a Gaussian cannot get much beyond 0.6.
    assert ll_mdn > ll_single + 0.3
    assert ll_mdn > 0.9
    # at x = 0.5 the target has three branches, near 0.21, 0.5 and 0.79
    draws = mdn.sample(np.array([[0.5]]), n_samples=4000, random_state=0)[0]
    for branch in (0.21, 0.5, 0.79):
        share = np.mean(np.abs(draws - branch) < 0.08)
        assert share > 0.15, (branch, share)
    assert (
        np.mean(np.abs(single.sample([[0.5]], 4000, random_state=0)[0] - 0.5) < 0.08)
        < 0.4
    )


def test_pipeline_and_grid_search():
    X, y = _regression(n=90)
    pipe = make_pipeline(StandardScaler(), _fast(max_iter=3))
    grid = GridSearchCV(pipe, {"mdnregressor__n_components": [1, 2]}, cv=3)
    grid.fit(X, y)
    assert grid.best_params_["mdnregressor__n_components"] in (1, 2)
    assert grid.predict(X).shape == (90,)


def test_non_finite_epoch_is_rolled_back_with_a_lower_learning_rate(patch_run_epoch):
    X, y = _regression()
    calls = {"n": 0}

    def flaky_run_epoch(real, self, data):
        calls["n"] += 1
        loss = real(self, data)
        if calls["n"] == 2:
            self.params.fill_(float("nan"))
            return np.full_like(loss, np.nan)
        return loss

    patch_run_epoch(flaky_run_epoch)
    est = _fast(max_iter=4, learning_rate_init=1e-2, n_iter_no_change=np.inf)
    est.fit(X, y)
    assert est.n_iter_ == 4
    assert np.isfinite(est.loss_curve_).all()
    assert est._networks[0].optimizer["lr"] == pytest.approx(1e-3)
    assert np.isfinite(est.predict(X)).all()


def test_a_non_finite_network_is_rolled_back_alone(patch_run_epoch):
    X, y = _regression()
    calls = {"n": 0}

    def flaky_run_epoch(real, self, data):
        calls["n"] += 1
        loss = real(self, data)
        if calls["n"] == 2:  # network 1 of 2 diverges in the second epoch
            self.params[1].fill_(float("nan"))
            loss[1] = np.nan
        return loss

    patch_run_epoch(flaky_run_epoch)
    est = _fast(n_networks=2, max_iter=4, learning_rate_init=1e-2)
    est.set_params(n_iter_no_change=np.inf).fit(X, y)
    assert [net.n_iter for net in est.networks_] == [4, 4]
    lrs = [net.optimizer["lr"] for net in est._networks]
    assert lrs == pytest.approx([1e-2, 1e-3])
    assert np.isfinite(est.predict(X)).all()


def test_persistent_non_finite_loss_raises_and_loses_nothing(patch_run_epoch):
    X, y = _regression()
    est = _fast().fit(X, y)
    before = est.predict(X)
    state = dict(est.__dict__)
    patch_run_epoch(lambda real, self, data: np.full(self.params.shape[0], np.nan))
    with pytest.raises(FloatingPointError, match="non-finite loss"):
        est.set_params(warm_start=True).fit(X, y)
    with pytest.raises(FloatingPointError):
        est.set_params(warm_start=False).fit(X[:, :2], y)
    assert est.n_features_in_ == 3
    assert_array_equal(est.predict(X), before)
    assert est.__dict__.keys() == state.keys()


def test_components_start_spread_over_the_targets():
    rng = np.random.RandomState(0)
    y = np.concatenate([rng.normal(-5, 0.1, 200), rng.normal(5, 0.1, 200)])
    X = rng.normal(size=(400, 1))
    est = MDNRegressor(
        n_components=2, n_networks=1, max_iter=1, learning_rate_init=1e-6
    ).fit(X, y)
    dist = est.predict_dist(X[:1])
    assert_allclose(np.sort(dist.means.ravel()), [-5, 5], atol=0.5)
    assert_allclose(dist.weights, 0.5, atol=0.05)


def test_alpha_shrinks_the_weights():
    X, y = _regression()
    free = _fast(max_iter=30).fit(X, y)
    ridge = _fast(max_iter=30, alpha=50.0).fit(X, y)
    norm = lambda est: sum(float((c**2).sum()) for c in est.coefs_)
    assert norm(ridge) < norm(free)
    assert ridge.loss_curve_[-1] > free.loss_curve_[-1]


def test_clipping_can_be_disabled_and_changes_the_path():
    X, y = _regression()
    clipped = _fast(clip_grad_norm=1e-3).fit(X, y)
    free = _fast(clip_grad_norm=None).fit(X, y)
    assert not np.allclose(clipped.coefs_[0], free.coefs_[0])


def test_torch_and_numpy_forward_agree():
    X, y = _regression(n_outputs=2)
    est = _fast(activation="relu").fit(X, y)
    trunk, head = est._trunk, est._head
    Xs = est._x_scaler.transform(X, np.float64)
    coefs, intercepts = [c[0] for c in est.coefs_], [b[0] for b in est.intercepts_]
    np_out = head.params_numpy(trunk.forward_numpy(coefs, intercepts, Xs))
    flat = trunk.from_numpy(coefs, intercepts, torch.float64)
    torch_out = head.params(trunk.forward(flat, torch.from_numpy(Xs)))
    for a, b in zip(np_out, torch_out, strict=True):
        assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-12)


def test_bad_inputs_get_clear_errors():
    X, y = _regression()
    with pytest.raises(NotFittedError):
        MDNRegressor().predict(X)
    y_nan = y.copy()
    y_nan[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _fast().fit(X, y_nan)
    est = _fast().fit(X, y)
    with pytest.raises(ValueError, match="target column"):
        est.conditional_density(X[:2], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="different numbers of rows"):
        est.log_prob(X[:3], y[:4])
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        est.sample(X[:2], n_samples=0)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :2])
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        _fast(hidden_layer_sizes=(4, 0)).fit(X, y)
    with pytest.raises(ValueError, match="n_components"):
        _fast(n_components=0).fit(X, y)


def test_predictions_are_finite_far_outside_the_training_range():
    X, y = _regression(n_features=1)
    est = _fast(activation="tanh").fit(X, y)
    assert np.isfinite(est.predict(np.array([[1e6], [-1e6]]))).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_keeps_the_fitted_state_on_cpu():
    X, y = _regression()
    est = _fast(device="cuda").fit(X, y)
    assert isinstance(est.coefs_[0], np.ndarray)
    cpu = pickle.loads(pickle.dumps(est)).set_params(device="cpu")
    assert_allclose(est.predict(X), cpu.predict(X), rtol=1e-6, atol=1e-8)


def test_fit_does_not_depend_on_the_units():
    # default early stopping: the validation split must not depend on units
    X, y = make_inverse_sine(300, random_state=0)
    params = {"n_components": 3, "max_iter": 20, "random_state": 0}
    base = MDNRegressor(**params).fit(X, y)
    scaled = MDNRegressor(**params).fit(10 * X - 3, 100 * y + 7)
    assert scaled.n_iter_ == base.n_iter_
    shift = scaled.log_prob(10 * X - 3, 100 * y + 7) - base.log_prob(X, y)
    assert_allclose(shift, -np.log(100), atol=1e-6)


# -- ensembles ---------------------------------------------------------------


def _network(est, m):
    """Network ``m`` of a fitted ensemble, as a one-network estimator."""
    single = MDNRegressor(n_networks=1)
    single.__dict__.update(est.__dict__)
    single._networks = [est._networks[m]]
    single._set_public_attributes()
    return single


def test_ensemble_density_is_the_average_of_its_networks():
    X, y = _regression()
    est = _fast(n_networks=3, early_stopping=True).fit(X, y)
    assert est.n_networks_ == 3
    assert [c.shape[0] for c in est.coefs_ + est.intercepts_] == [3] * 4
    dist = est.predict_dist(X[:20])
    # one exact mixture of M * K components, each network holding mass 1/M
    assert dist.weights.shape == (20, 3 * 5)
    assert_allclose(dist.weights.reshape(20, 3, 5).sum(-1), 1 / 3, rtol=1e-12)
    members = np.array([_network(est, m).log_prob(X[:20], y[:20]) for m in range(3)])
    expected = np.logaddexp.reduce(members, axis=0) - np.log(3)
    assert_allclose(est.log_prob(X[:20], y[:20]), expected, rtol=1e-12)
    assert_allclose(
        est.predict(X[:20]),
        np.mean([_network(est, m).predict(X[:20]) for m in range(3)], axis=0),
        rtol=1e-10,
    )
    # the networks differ: own weights, shuffles and validation split
    assert not np.allclose(est.coefs_[0][0], est.coefs_[0][1])
    assert len(est.networks_) == 3
    assert est.n_iter_ == max(net.n_iter for net in est.networks_)
    # the summaries are the networks' means, epoch by epoch
    assert est.loss_ == pytest.approx(np.mean([net.loss for net in est.networks_]))
    assert est.best_validation_score_ == pytest.approx(
        np.mean([net.best_validation_score for net in est.networks_])
    )
    assert len(est.loss_curve_) == len(est.validation_scores_) == est.n_iter_
    first = [net.loss_curve[0] for net in est.networks_]
    assert est.loss_curve_[0] == pytest.approx(np.mean(first))
    single = _fast(n_networks=1, early_stopping=True).fit(X, y)
    assert single.loss_curve_ == single.networks_[0].loss_curve


@pytest.mark.parametrize(("n", "expected"), [(100, 5), (3000, 3), (12000, 1)])
def test_auto_n_networks_keeps_the_cost_of_one_network_on_10k_rows(n, expected):
    X, y = _regression(n=n)
    est = _fast(n_networks="auto", max_iter=1, hidden_layer_sizes=(2,)).fit(X, y)
    assert est.n_networks_ == expected
    assert est.coefs_[0].shape == (expected, 3, 2)


def test_ensemble_warm_start_and_partial_fit_continue_every_network():
    X, y = _regression()
    est = _fast(n_networks=2, warm_start=True, max_iter=3).fit(X, y)
    first = [list(net.loss_curve) for net in est.networks_]
    est.fit(X, y)
    assert [len(net.loss_curve) for net in est.networks_] == [6, 6]
    assert [net.loss_curve[:3] for net in est.networks_] == first
    with pytest.raises(ValueError, match="changed since the last fit"):
        est.set_params(n_networks=3).fit(X, y)
    stream = _fast(n_networks=2)
    stream.partial_fit(X, y).partial_fit(X, y)
    assert stream.n_networks_ == 2
    assert stream.n_iter_ == 2


def test_interrupted_ensemble_keeps_the_networks_trained(patch_run_epoch):
    X, y = _regression()
    calls = {"n": 0}

    def interrupted_run_epoch(real, self, data):
        calls["n"] += 1
        if calls["n"] == 3:  # during the third epoch of every network
            raise KeyboardInterrupt
        return real(self, data)

    patch_run_epoch(interrupted_run_epoch)
    est = _fast(n_networks=3, max_iter=5, early_stopping=True)
    with pytest.warns(UserWarning, match="interrupted"):
        est.fit(X, y)
    # the networks train together: each keeps its best weights of two epochs
    assert est.n_networks_ == 3
    assert [len(net.loss_curve) for net in est.networks_] == [2, 2, 2]
    assert np.isfinite(est.predict(X)).all()


def test_verbose_ensemble_reports_the_networks_together(capsys):
    X, y = _regression()
    _fast(n_networks=2, max_iter=1, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("Iteration 1 (") == 1
    assert "2 networks" in out


def test_ensemble_warns_about_convergence_once():
    X, y = _regression()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _fast(n_networks=3, max_iter=2).fit(X, y)
    assert [type(w.message) for w in caught] == [ConvergenceWarning]


def test_fitted_attributes_keep_their_types_whatever_the_number_of_networks():
    # 'auto' trains 3 networks on 3,000 rows and one on 12,000 rows
    attrs = {}
    for n in (3000, 12000):
        X, y = _regression(n=n)
        est = _fast(n_networks="auto", max_iter=2, early_stopping=True).fit(X, y)
        attrs[n] = est
    small, large = attrs[3000], attrs[12000]
    assert (small.n_networks_, large.n_networks_) == (3, 1)
    for name in ("loss_", "best_validation_score_"):
        assert type(getattr(small, name)) is type(getattr(large, name)) is float
    for name in ("loss_curve_", "validation_scores_", "networks_"):
        assert type(getattr(small, name)) is type(getattr(large, name)) is list
    assert [c.ndim for c in small.coefs_ + small.intercepts_] == [
        c.ndim for c in large.coefs_ + large.intercepts_
    ]
    assert large.coefs_[0].shape == (1, 3, 16)
