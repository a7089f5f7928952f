"""The prediction paths' threads: one BLAS thread by default, ``n_jobs`` when asked."""

import threading

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController, threadpool_limits

from skmdn import MDNRegressor
from skmdn._threads import (
    FEW_ROWS,
    _one_blas_thread,
    map_blocks,
    one_openmp_thread,
    one_thread,
)
from skmdn._views import PREDICT_BLOCK


def _blas_threads():
    return {
        lib.num_threads
        for lib in ThreadpoolController().select(user_api="blas").lib_controllers
    }


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(300, 2))
    y = np.sin(X[:, 0]) + 0.2 * rng.normal(size=300)
    est = MDNRegressor(n_components=3, max_iter=5, n_networks=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    X_big = rng.uniform(-2, 2, size=(2 * PREDICT_BLOCK + 17, 2))
    return est, X_big, np.sin(X_big[:, 0])


def test_blocks_keep_their_order_in_threads():
    blocks = list(range(23))
    assert map_blocks(lambda b: b * b, blocks, 100, n_jobs=4) == [b * b for b in blocks]
    assert map_blocks(lambda b: b * b, blocks, 100) == [b * b for b in blocks]


def test_prediction_runs_on_one_blas_thread_and_restores_it(fitted):
    est, X, _ = fitted
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        seen = map_blocks(lambda _: _blas_threads(), [0, 1, 2], 100, n_jobs=2)
        assert seen == [{1}] * 3
        # a few rows run as they are (the limits would cost more than them)
        assert map_blocks(lambda _: _blas_threads(), [0], FEW_ROWS - 1) == [before]
        # two predictions whose ends come in either order (two threads)
        first, second = _one_blas_thread(), _one_blas_thread()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert _blas_threads() == {1}  # the second still runs
        second.__exit__(None, None, None)
        est.predict(X[:500])
        assert _blas_threads() == before


@pytest.mark.parametrize(
    "view",
    [
        lambda est, X, y: est.predict(X, return_std=True),
        lambda est, X, y: est.log_prob(X, y),
        lambda est, X, y: est.predict_interval(X, 0.8),
        lambda est, X, y: est.predict_quantiles(X, [0.1, 0.5]),
        lambda est, X, y: est.sample(X, 2, random_state=3),
    ],
    ids=["predict", "log_prob", "interval", "quantiles", "sample"],
)
def test_n_jobs_gives_the_serial_answer(fitted, view):
    est, X, y = fitted
    serial = view(est.set_params(n_jobs=None), X, y)
    threaded = view(est.set_params(n_jobs=2), X, y)
    est.set_params(n_jobs=None)
    for a, b in zip(np.atleast_1d(serial), np.atleast_1d(threaded), strict=True):
        np.testing.assert_array_equal(a, b)


def _openmp_threads():
    return {
        lib.num_threads
        for lib in ThreadpoolController().select(user_api="openmp").lib_controllers
    }


def _in_threads(*targets):
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)


def test_a_limit_restores_only_its_own_library():
    # threadpoolctl's limit() restores every library to its count at the
    # start; ours restore only their own, so that interleaved threads leave
    # each other's settings alone (two races a fresh reader found)
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        a_in, c_in, a_done = threading.Event(), threading.Event(), threading.Event()

        def prediction():  # holds the counted BLAS limit, then ends first
            with one_thread(1000):
                a_in.set()
                c_in.wait(10)
            a_done.set()

        def cdf():  # an OpenMP limit (the normal cdf), begun during it
            a_in.wait(10)
            with one_openmp_thread():
                c_in.set()
                a_done.wait(10)

        _in_threads(prediction, cdf)
        assert _blas_threads() == before  # was stuck at 1

    seen = {}
    b_in, a_done = threading.Event(), threading.Event()
    a_in = threading.Event()

    def first():  # a caller whose own OpenMP limit is 1
        with threadpool_limits(1, user_api="openmp"), one_thread(1000):
            a_in.set()
            b_in.wait(10)
        a_done.set()

    def second():  # one with 2, whose prediction ends last
        a_in.wait(10)
        with threadpool_limits(2, user_api="openmp"):
            seen["before"] = _openmp_threads()
            with one_thread(1000):
                b_in.set()
                a_done.wait(10)
            seen["after"] = _openmp_threads()

    _in_threads(first, second)
    assert seen["after"] == seen["before"] == {2}  # was set to the first's 1
