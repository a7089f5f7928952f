"""Image-free tests of skmdn.plotting: artists, axis labels, closed figures."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmdn import MDNRegressor
from skmdn.datasets import make_inverse_sine
from skmdn.plotting import (
    ConditionalDensityDisplay,
    JointDensityDisplay,
    LossCurveDisplay,
    PITDisplay,
    PredictionIntervalDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _fit(X, y, **params):
    params = {
        "n_components": 3,
        "n_networks": 1,
        "max_iter": 15,
        "early_stopping": False,
        "random_state": 0,
        **params,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MDNRegressor(**params).fit(X, y)


@pytest.fixture(scope="module")
def data():
    return make_inverse_sine(n_samples=200, random_state=0)


@pytest.fixture(scope="module")
def model(data):
    return _fit(*data)


@pytest.fixture(scope="module")
def model_2d():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(150, 1))
    Y = np.hstack([X, -2 * X]) + 0.1 * rng.standard_normal((150, 2))
    return _fit(X, Y), X, Y


# -- lazy import --------------------------------------------------------------


def test_import_skmdn_does_not_import_matplotlib():
    code = (
        "import sys, skmdn, skmdn.plotting, skmdn.datasets; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_matplotlib_raises_clear_error(monkeypatch, model, data):
    X, y = data
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install \"skmdn\[plot\]\""):
        ConditionalDensityDisplay.from_estimator(model, X, y)


# -- conditional density ------------------------------------------------------


def test_conditional_density_display(model, data):
    X, y = data
    disp = ConditionalDensityDisplay.from_estimator(model, X, y, grid_resolution=50)
    assert disp.density.shape == (50, 50)
    assert np.all(disp.density >= 0)
    assert isinstance(disp.mesh_, matplotlib.collections.QuadMesh)
    assert isinstance(disp.scatter_, matplotlib.collections.PathCollection)
    assert disp.scatter_.get_offsets().shape == (len(y), 2)
    assert disp.colorbar_ is not None
    assert disp.ax_.get_xlabel() == "x"
    assert disp.ax_.get_ylabel() == "y"
    assert disp.figure_ is disp.ax_.figure
    # The map covers the data, and each column integrates to about one.
    assert disp.y_grid[0] <= y.min()
    assert disp.y_grid[-1] >= y.max()
    mass = np.trapezoid(disp.density, disp.y_grid, axis=0)
    np.testing.assert_allclose(mass, 1.0, atol=0.05)


def test_conditional_density_display_scales(model, data):
    X, y = data
    disp = ConditionalDensityDisplay.from_estimator(model, X, y, grid_resolution=40)
    # The default shows each column relative to its own peak...
    np.testing.assert_allclose(disp.values_.max(axis=0), 1.0)
    np.testing.assert_allclose(disp.values_ * disp.density.max(axis=0), disp.density)
    np.testing.assert_allclose(disp.mesh_.get_array().reshape(40, 40), disp.values_)
    assert "maximum" in disp.colorbar_.ax.get_ylabel()
    # ... the raw density stays available, and drawn as it is on request.
    disp.plot(scale="density")
    np.testing.assert_allclose(disp.values_, disp.density)
    assert disp.colorbar_.ax.get_ylabel() == "p(y | x)"
    disp.plot(scale="log")
    norm = disp.mesh_.norm
    assert isinstance(norm, matplotlib.colors.LogNorm)
    np.testing.assert_allclose(norm.vmax, disp.density.max())
    np.testing.assert_allclose(norm.vmin, disp.density.max() * 1e-3)
    assert disp.values_.min() >= norm.vmin
    # A norm of the caller's own is kept.
    mine = matplotlib.colors.PowerNorm(0.5)
    assert disp.plot(scale="log", mesh_kwargs={"norm": mine}).mesh_.norm is mine
    with pytest.raises(ValueError, match="scale must be one of"):
        disp.plot(scale="sqrt")


def test_conditional_density_display_column_scale_shows_weak_branches():
    # One input where the density is a sharp peak and one where it has three
    # narrow branches: on the raw scale the branches are 30 times dimmer than
    # the peak; relative to each column's peak, they are as bright.
    from scipy.stats import norm

    y_grid = np.linspace(-3, 3, 601)
    peak = norm.pdf(y_grid, 0.0, 0.01)
    branches = sum(norm.pdf(y_grid, m, 0.1) for m in (-2.0, 0.0, 2.0)) / 3
    density = np.column_stack([peak, branches])
    disp = ConditionalDensityDisplay(
        x_grid=np.array([0.0, 1.0]), y_grid=y_grid, density=density
    )
    raw = disp.plot(scale="density").values_
    assert raw[:, 1].max() < raw[:, 0].max() / 25
    relative = disp.plot(scale="column").values_
    for branch in (-2.0, 0.0, 2.0):
        np.testing.assert_allclose(relative[np.argmin(abs(y_grid - branch)), 1], 1.0)


def test_conditional_density_display_on_given_axes_without_data(model, data):
    X, _ = data
    _fig, ax = plt.subplots()
    disp = ConditionalDensityDisplay.from_estimator(
        model,
        X,
        ax=ax,
        colorbar=False,
        grid_resolution=20,
        y_range=(0, 1),
        xlabel="input",
        ylabel="target",
    )
    assert disp.ax_ is ax
    assert disp.scatter_ is None
    assert disp.colorbar_ is None
    assert ax.get_xlabel() == "input"
    assert ax.get_ylabel() == "target"
    assert disp.y_grid[0] == 0
    assert disp.y_grid[-1] == 1
    # plot() redraws on other axes.
    _, ax2 = plt.subplots()
    assert disp.plot(ax=ax2).ax_ is ax2


def test_conditional_density_display_pipeline_and_dataframe(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame({"speed": X[:, 0]})
    pipe = make_pipeline(StandardScaler(), MDNRegressor(max_iter=5, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(frame, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no feature-name warning
        disp = ConditionalDensityDisplay.from_estimator(
            pipe, frame, y, grid_resolution=10
        )
    assert disp.ax_.get_xlabel() == "speed"


def test_conditional_density_display_multi_output(model_2d):
    est, X, Y = model_2d
    disp = ConditionalDensityDisplay.from_estimator(
        est, X, Y, output=1, grid_resolution=30
    )
    assert disp.ax_.get_ylabel() == "y[1]"
    np.testing.assert_allclose(disp.y_data, Y[:, 1])
    with pytest.raises(ValueError, match="out of range"):
        ConditionalDensityDisplay.from_estimator(est, X, Y, output=2)


def test_conditional_density_display_errors(model, data):
    X, y = data
    with pytest.raises(ValueError, match="single input feature"):
        ConditionalDensityDisplay.from_estimator(model, np.hstack([X, X]), y)
    with pytest.raises(NotFittedError):
        ConditionalDensityDisplay.from_estimator(MDNRegressor(), X, y)
    with pytest.raises(TypeError, match="predict_dist"):
        ConditionalDensityDisplay.from_estimator(StandardScaler().fit(X), X, y)


# -- fan chart ----------------------------------------------------------------


def test_prediction_interval_display(model, data):
    X, y = data
    disp = PredictionIntervalDisplay.from_estimator(
        model, X, y, kind="equal_tailed", confidences=(0.5, 0.9), grid_resolution=40
    )
    assert disp.sets is None
    assert disp.mode is None
    assert disp.mode_line_ is None
    assert disp.lower.shape == disp.upper.shape == (2, 40)
    # Wider confidence, wider interval; the median lies inside both.
    assert np.all(disp.lower[1] <= disp.lower[0] + 1e-9)
    assert np.all(disp.upper[1] >= disp.upper[0] - 1e-9)
    assert np.all((disp.lower[0] <= disp.median) & (disp.median <= disp.upper[0]))
    assert len(disp.bands_) == 2
    assert all(
        isinstance(b, matplotlib.collections.PolyCollection) for b in disp.bands_
    )
    assert isinstance(disp.median_line_, matplotlib.lines.Line2D)
    assert isinstance(disp.mean_line_, matplotlib.lines.Line2D)
    assert disp.scatter_ is not None
    labels = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert "50% interval" in labels
    assert "90% interval" in labels
    assert disp.ax_.get_xlabel() == "x"
    assert disp.ax_.get_ylabel() == "y"


def _two_branches(n):
    """n identical rows of an even mixture of two narrow bumps at -1 and +1."""
    from skmdn import MixtureDistribution

    return MixtureDistribution(
        weights=np.full((n, 2), 0.5),
        means=np.tile([[[-1.0], [1.0]]], (n, 1, 1)),
        scales=np.full((n, 2, 1), 0.1),
        squeeze=True,
    )


def test_prediction_interval_display_hpd_sets_leave_gaps_empty():
    x = np.linspace(0, 1, 30)
    dist = _two_branches(len(x))
    disp = PredictionIntervalDisplay.from_predictions(x, dist, confidences=(0.5, 0.9))
    assert len(disp.sets) == 2
    for level, confidence in zip(disp.sets, (0.5, 0.9), strict=True):
        assert len(level) == len(x)
        # Found on a grid of 1000 targets: the ends agree with the exact sets
        # to a small fraction of the bumps' width (0.1).
        for intervals, expected in zip(level, dist.hpd(confidence), strict=True):
            np.testing.assert_allclose(intervals, expected, atol=2e-3)
            assert intervals.shape == (2, 2)  # one interval around each bump
            assert intervals[0, 1] < 0 < intervals[1, 0]  # the gap stays out
    # lower and upper are the sets' outer ends; the centre is the mode.
    np.testing.assert_allclose(disp.lower[1], [s[0, 0] for s in disp.sets[1]])
    np.testing.assert_allclose(disp.upper[1], [s[-1, 1] for s in disp.sets[1]])
    np.testing.assert_allclose(np.abs(disp.mode), 1.0, atol=1e-6)
    assert disp.median is None
    assert disp.median_line_ is None
    assert isinstance(disp.mode_line_, matplotlib.lines.Line2D)
    labels = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert "90% HPD set" in labels
    # Each band is one rectangle per input and interval, and no rectangle
    # covers y = 0, in the gap.
    for band in disp.bands_:
        assert isinstance(band, matplotlib.collections.PolyCollection)
        paths = band.get_paths()
        assert len(paths) == 2 * len(x)
        for path in paths:
            lo, hi = path.vertices[:, 1].min(), path.vertices[:, 1].max()
            assert not lo <= 0 <= hi
    # The equal-tailed intervals, by contrast, run across the gap.
    equal = PredictionIntervalDisplay.from_predictions(
        x, dist, kind="equal_tailed", confidences=0.9
    )
    assert np.all((equal.lower[0] < 0) & (equal.upper[0] > 0))
    with pytest.raises(ValueError, match="kind must be one of"):
        PredictionIntervalDisplay.from_predictions(x, dist, kind="central")


def test_prediction_interval_display_hpd_sets_match_exact_sets(model, data):
    # On a fitted model, with skewed and multimodal rows: the grid's sets have
    # the exact sets' intervals, their ends within about one grid spacing (a
    # thousandth of each row's range, here at most 2e-3 of the data's).
    X, y = data
    disp = PredictionIntervalDisplay.from_estimator(
        model, X, confidences=(0.5, 0.95), grid_resolution=25
    )
    dist = model.predict_dist(disp.x[:, None])
    for level, confidence in zip(disp.sets, (0.5, 0.95), strict=True):
        for intervals, expected in zip(level, dist.hpd(confidence), strict=True):
            assert intervals.shape == expected.shape
            np.testing.assert_allclose(intervals, expected, atol=2e-3 * np.ptp(y))


def test_prediction_interval_display_from_predictions(model_2d):
    est, X, Y = model_2d
    dist = est.predict_dist(X)
    disp = PredictionIntervalDisplay.from_predictions(
        X[:, 0],
        dist,
        Y,
        output=1,
        confidences=0.8,
        show_mean=False,
        xlabel="feature 0",
        ylabel="second target",
    )
    assert np.all(np.diff(disp.x) >= 0)
    assert disp.lower.shape == (1, len(X))
    assert disp.mean_line_ is None
    assert disp.ax_.get_xlabel() == "feature 0"
    assert disp.ax_.get_ylabel() == "second target"
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        PredictionIntervalDisplay.from_predictions(X[:, 0], dist, confidences=1.0)
    with pytest.raises(ValueError, match="rows"):
        PredictionIntervalDisplay.from_predictions(X[:5, 0], dist)
    with pytest.raises(TypeError, match="MixtureDistribution"):
        PredictionIntervalDisplay.from_predictions(X[:, 0], Y)


# -- PIT ----------------------------------------------------------------------


def test_pit_display(model, data):
    X, y = data
    disp = PITDisplay.from_estimator(model, X, y, n_bins=8)
    assert disp.heights.shape == (8,)
    assert disp.bin_edges.shape == (9,)
    # Heights are a density: they average to one.
    np.testing.assert_allclose(disp.heights.mean(), 1.0)
    np.testing.assert_allclose(disp.pit, model.predict_dist(X).cdf(y))
    assert disp.band[0] < 1 < disp.band[1]
    assert len(disp.bars_.patches) == 8
    assert isinstance(disp.band_, matplotlib.patches.Rectangle)
    assert isinstance(disp.uniform_line_, matplotlib.lines.Line2D)
    assert disp.ax_.get_xlabel() == "PIT value"
    assert disp.ax_.get_ylabel() == "density"


def test_pit_display_band_and_validation():
    rng = np.random.RandomState(0)
    disp = PITDisplay(pit=rng.uniform(size=10_000), n_bins=10, confidence=0.99)
    lo, hi = disp.band
    assert 0.9 < lo < 1 < hi < 1.1
    assert np.all((disp.heights > lo) & (disp.heights < hi))
    with pytest.raises(ValueError, match="n_bins"):
        PITDisplay(pit=[0.5], n_bins=0)
    with pytest.raises(ValueError, match="confidence"):
        PITDisplay(pit=[0.5], confidence=1.5)


def test_pit_display_from_predictions_multi_output(model_2d):
    est, X, Y = model_2d
    dist = est.predict_dist(X)
    _fig, ax = plt.subplots()
    disp = PITDisplay.from_predictions(Y, dist, output=1, ax=ax)
    assert disp.ax_ is ax
    np.testing.assert_allclose(disp.pit, dist.cdf(Y)[:, 1])
    with pytest.raises(ValueError, match="rows"):
        PITDisplay.from_predictions(Y[:3], dist)


# -- loss curves --------------------------------------------------------------


def test_loss_curve_display_without_validation(model):
    disp = LossCurveDisplay.from_estimator(model)
    np.testing.assert_allclose(disp.loss_curve, model.loss_curve_)
    assert disp.validation_loss is None
    assert disp.validation_line_ is None
    assert disp.best_line_ is None
    assert len(disp.train_line_.get_xdata()) == model.n_iter_
    assert disp.ax_.get_xlabel() == "epoch"
    assert disp.ax_.get_ylabel()


def test_loss_curve_display_with_validation_in_search(data):
    X, y = data
    search = GridSearchCV(
        make_pipeline(
            StandardScaler(),
            MDNRegressor(
                n_networks=1, max_iter=10, early_stopping=True, random_state=0
            ),
        ),
        {"mdnregressor__n_components": [1, 2]},
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    mdn = search.best_estimator_[-1]
    disp = LossCurveDisplay.from_estimator(search)
    np.testing.assert_allclose(disp.validation_loss, -np.array(mdn.validation_scores_))
    assert isinstance(disp.validation_line_, matplotlib.lines.Line2D)
    best = np.argmax(mdn.validation_scores_) + 1
    assert disp.best_line_.get_xdata()[0] == best
    labels = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert "validation loss" in labels


def test_loss_curve_display_draws_every_network_of_an_ensemble(data):
    X, y = data
    mdn = _fit(X, y, n_networks=3, early_stopping=True, max_iter=6)
    disp = LossCurveDisplay.from_estimator(mdn)
    assert len(disp.train_line_) == len(disp.validation_line_) == 3
    curves = [net.validation_scores for net in mdn.networks_]
    for line, curve in zip(disp.validation_line_, curves, strict=True):
        np.testing.assert_allclose(line.get_ydata(), -np.asarray(curve))
    best = [int(np.argmax(c)) + 1 for c in curves]
    assert [b.get_xdata()[0] for b in disp.best_line_] == best
    labels = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert labels == [
        "training loss (3 networks)",
        "validation loss (3 networks)",
        "best epochs",
    ]
    without = LossCurveDisplay.from_estimator(_fit(X, y, n_networks=2))
    assert without.validation_line_ is None
    assert len(without.train_line_) == 2


def test_loss_curve_display_errors():
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(MDNRegressor())
    with pytest.raises(TypeError, match="loss_curve_"):
        LossCurveDisplay.from_estimator(StandardScaler().fit([[0.0], [1.0]]))


# -- the demo's picture -------------------------------------------------------


def test_demo_writes_png(tmp_path, capsys):
    from skmdn.__main__ import main

    path = tmp_path / "density.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        main(["--n-train", "100", "--n-test", "50", "--png", str(path)])
    out = capsys.readouterr().out
    assert "held-out log-likelihood" in out
    assert str(path) in out
    assert path.read_bytes().startswith(b"\x89PNG")


def test_demo_without_matplotlib_skips_png(tmp_path, capsys, monkeypatch):
    from skmdn.__main__ import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        main(["--n-train", "100", "--n-test", "50"])
    out = capsys.readouterr().out
    assert "matplotlib is not installed" in out
    assert "held-out log-likelihood" in out
    assert list(tmp_path.iterdir()) == []


def test_joint_density_display_draws_the_correlated_pair():
    from skmdn.datasets import make_correlated_targets

    X, Y = make_correlated_targets(300, random_state=0)
    est = _fit(X, Y, covariance_type="full", n_components=2)
    disp = JointDensityDisplay.from_estimator(est, [0.5], Y[:20], grid_resolution=40)
    assert disp.density.shape == (40, 40)
    assert disp.ax_.get_xlabel() == "y[0]"
    assert disp.scatter_ is not None
    # the values are the model's joint density on the grid
    dist = est.predict_dist([[0.5]])
    i, j = 17, 23
    expected = dist.pdf([[disp.grid0[j], disp.grid1[i]]])[0]
    assert disp.density[i, j] == pytest.approx(expected, rel=1e-12)
    # a conditioned or marginal distribution of one row works too
    swapped = JointDensityDisplay.from_predictions(dist, outputs=(1, 0), ax=disp.ax_)
    assert swapped.ax_.get_xlabel() == "y[1]"
    with pytest.raises(ValueError, match="one row"):
        JointDensityDisplay.from_predictions(est.predict_dist(X[:2]))
    for outputs in ((0,), (1, 1), (0, -2), (0, 2)):
        with pytest.raises(ValueError, match="two distinct targets"):
            JointDensityDisplay.from_predictions(dist, outputs=outputs)
    with pytest.raises(ValueError, match="at least two targets"):
        JointDensityDisplay.from_predictions(dist.marginal(0))
    with pytest.raises(ValueError, match="one input"):
        JointDensityDisplay.from_estimator(est, [[0.5], [0.6]])
    with pytest.raises(ValueError, match="finite"):
        JointDensityDisplay.from_predictions(dist, [[np.nan, 0.0]])


# -- integer targets -------------------------------------------------------------


class _IntegerModel(BaseEstimator):
    """A fitted stand-in whose predict_dist returns a DiscretisedMixture."""

    def __init__(self):
        self.n_outputs_ = 1

    def fit(self, X, y):
        return self

    def predict_dist(self, X):
        from skmdn import DiscretisedMixture

        x = np.asarray(X, dtype=np.float64)[:, :1]
        n = len(x)
        means = np.stack([5 + 3 * x, -4 + 0 * x], axis=1)  # (n, 2, 1)
        scales = np.stack([0.2 + np.abs(x), np.full_like(x, 0.05)], axis=1)
        weights = np.tile([0.7, 0.3], (n, 1))
        return DiscretisedMixture(weights, means, scales, squeeze=True)


@pytest.fixture
def integer_data():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 1))
    y = _IntegerModel().predict_dist(X).rvs(random_state=1)
    return X, y


def test_conditional_density_display_draws_integer_cells(integer_data):
    X, y = integer_data
    model = _IntegerModel()
    disp = ConditionalDensityDisplay.from_estimator(
        model, X, y, grid_resolution=50, scale="density"
    )
    # one cell per integer, centred on it: bars of the pmf, not a smooth curve
    np.testing.assert_array_equal(disp.y_grid, np.round(disp.y_grid))
    np.testing.assert_array_equal(np.diff(disp.y_grid), 1.0)
    assert disp.y_grid[0] <= y.min()
    assert disp.y_grid[-1] >= y.max()
    dist = model.predict_dist(disp.x_grid[:, None])
    np.testing.assert_allclose(
        disp.density, np.exp(dist.cross_logpdf(disp.y_grid)).T, rtol=1e-12
    )
    # columns are probabilities over the integers: they sum to about one
    np.testing.assert_allclose(disp.density.sum(0), 1.0, atol=0.02)
    # the mesh's cell edges lie on half-integers, one integer apart
    coords = disp.mesh_.get_coordinates()[:, 0, 1]
    np.testing.assert_allclose(coords - np.floor(coords), 0.5)
    np.testing.assert_allclose(np.diff(coords), 1.0)
    assert disp.colorbar_.ax.get_ylabel().startswith("P(")
    lo, hi = disp.ax_.get_ylim()
    assert lo == disp.y_grid[0] - 0.5
    assert hi == disp.y_grid[-1] + 0.5


def test_conditional_density_display_merges_integers_over_a_wide_range(
    integer_data,
):
    X, y = integer_data
    disp = ConditionalDensityDisplay.from_estimator(
        _IntegerModel(), X, y, grid_resolution=7, y_range=(-10, 20)
    )
    # 31 integers in 7 cells of 5: probabilities per integer of each cell
    assert len(disp.y_grid) == 7
    np.testing.assert_array_equal(np.diff(disp.y_grid), 5.0)
    assert disp.y_grid[0] - 2.5 == -10.5
    np.testing.assert_allclose(disp.density.sum(0) * 5, 1.0, atol=1e-6)


def test_joint_density_display_draws_integer_cells():
    from skmdn import DiscretisedMixture

    dist = DiscretisedMixture(
        [[0.4, 0.6]],
        [[[0.0, 2.0], [3.0, -1.0]]],
        [[[0.5, 0.8], [1.0, 0.3]]],
    )
    disp = JointDensityDisplay.from_predictions(dist, grid_resolution=100)
    np.testing.assert_array_equal(np.diff(disp.grid0), 1.0)
    np.testing.assert_array_equal(disp.grid1, np.round(disp.grid1))
    g0, g1 = np.meshgrid(disp.grid0, disp.grid1)
    pmf = np.exp(dist.cross_logpdf(np.column_stack([g0.ravel(), g1.ravel()]))[0])
    np.testing.assert_allclose(disp.density, pmf.reshape(g0.shape), rtol=1e-10)


def test_prediction_interval_display_covers_integer_cells(integer_data):
    X, y = integer_data
    model = _IntegerModel()
    disp = PredictionIntervalDisplay.from_estimator(
        model, X, y, confidences=(0.9,), kind="equal_tailed", grid_resolution=20
    )
    assert disp.discrete
    np.testing.assert_array_equal(disp.lower, np.round(disp.lower))
    # the band reaches the cells' edges, half an integer beyond the ends
    path = disp.bands_[0].get_paths()[0].vertices
    assert path[:, 1].min() == disp.lower.min() - 0.5
    assert path[:, 1].max() == disp.upper.max() + 0.5
    assert disp.median_line_.get_drawstyle() == "steps-mid"
    disp = PredictionIntervalDisplay.from_estimator(
        model, X, y, confidences=(0.5,), grid_resolution=10
    )
    dist = model.predict_dist(disp.x[:, None])
    for got, exact in zip(disp.sets[0], dist.hpd(0.5), strict=True):
        np.testing.assert_array_equal(got, exact)
    verts = disp.bands_[0].get_paths()[0].vertices[:, 1]
    np.testing.assert_allclose(verts - np.floor(verts), 0.5)


def test_pit_display_of_integer_targets_is_not_the_step_cdf(integer_data):
    X, y = integer_data
    model = _IntegerModel()
    disp = PITDisplay.from_estimator(model, X, y, n_bins=5)
    dist = model.predict_dist(X)
    np.testing.assert_allclose(disp.pit_below, dist.cdf(y - 1))
    # calibrated draws: the non-randomised PIT histogram is flat
    assert np.all((disp.heights > disp.band[0]) & (disp.heights < disp.band[1]))
    # while the step cdf at the outcomes piles up in the top bins
    naive = PITDisplay(pit=dist.cdf(y), n_bins=5)
    assert naive.heights[-1] > naive.band[1]
    # each observation's unit of mass is spread over [F(y - 1), F(y)]
    one = PITDisplay(pit=[0.6], pit_below=[0.2], n_bins=5)
    np.testing.assert_allclose(one.heights, [0, 2.5, 2.5, 0, 0], atol=1e-12)
