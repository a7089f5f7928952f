"""skmdn on a Dask cluster: a search through joblib, an incremental fit, prediction.

One small LocalCluster (two worker processes on 127.0.0.1), started once;
what it computes must equal the same computation in this process.
"""

import logging
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skmdn import MDNRegressor
from skmdn.exceptions import SortedBlocksWarning
from skmdn.metrics import log_likelihood_scorer, neg_crps_scorer

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
wrappers = pytest.importorskip("dask_ml.wrappers")
joblib = pytest.importorskip("joblib")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _data(n=240, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = (
        np.sin(3 * X[:, 0])
        + X[:, 1]
        + rng.normal(scale=0.1 + 0.3 * (X[:, 0] > 0), size=n)
    )
    return X, y


def test_workers_run_torch_on_one_thread(client):
    # distributed starts workers with OMP_NUM_THREADS=1 (its nanny's
    # pre-spawn environment), which bounds torch's intra-op threads
    # torch's own function, pickled by reference: the workers import torch
    # only, not this test module and its imports
    threads = client.run(torch.get_num_threads)
    assert len(threads) == 2
    assert set(threads.values()) == {1}


def test_grid_search_on_the_cluster_matches_the_local_one(client):
    X, y = _data()
    search = GridSearchCV(
        MDNRegressor(n_networks=1, max_iter=15, random_state=0),
        {"n_components": [1, 2], "hidden_layer_sizes": [(8,), (16,)]},
        scoring=log_likelihood_scorer,
        cv=2,
        n_jobs=-1,
    )
    local = clone(search).set_params(n_jobs=None).fit(X, y)
    with distributed.get_task_stream(client) as stream:
        with joblib.parallel_config(backend="dask"):
            search.fit(X, y)
    # the 8 fits (4 candidates x 2 folds) ran on the workers, in joblib batches
    assert stream.data
    assert {task["worker"] for task in stream.data} <= set(client.run(lambda: 0))
    assert_allclose(
        search.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        rtol=1e-12,
    )
    assert search.best_params_ == local.best_params_


def test_incremental_fit_and_prediction_over_dask_arrays(client):
    X, y = _data(n=300, seed=1)
    dX = da.from_array(X, chunks=(100, 2))
    dy = da.from_array(y, chunks=100)
    est = MDNRegressor(n_components=2, n_networks=1, random_state=0)
    incremental = wrappers.Incremental(clone(est), shuffle_blocks=False)
    incremental.fit(dX, dy)  # one partial_fit per block, on the workers
    local = clone(est)
    for block in range(3):
        rows = slice(100 * block, 100 * (block + 1))
        local.partial_fit(X[rows], y[rows])
    model = incremental.estimator_
    assert model.n_iter_ == local.n_iter_ == 3
    for ours, theirs in zip(model.coefs_, local.coefs_, strict=True):
        assert_array_equal(ours, theirs)
    assert log_likelihood_scorer(incremental, X, y) == log_likelihood_scorer(
        local, X, y
    )
    # predicting block by block on the cluster
    post = wrappers.ParallelPostFit(model)
    mean = post.predict(dX)
    assert isinstance(mean, da.Array)
    assert_allclose(mean.compute(), local.predict(X), rtol=1e-12)
    # map_blocks as docs/dask.rst shows it
    quantiles = dX.map_blocks(
        model.predict_quantiles, [0.1, 0.9], chunks=(dX.chunks[0], (2,)), dtype=float
    )
    assert_allclose(
        quantiles.compute(), local.predict_quantiles(X, [0.1, 0.9]), rtol=1e-12
    )
    std = dX.map_blocks(
        lambda X: model.predict(X, return_std=True)[1], drop_axis=1, dtype=float
    )
    assert_allclose(std.compute(), local.predict(X, return_std=True)[1], rtol=1e-12)


def _blocks(X, y, n_blocks, sort):
    order = (
        np.argsort(X[:, 0]) if sort else np.random.RandomState(0).permutation(len(X))
    )
    return [(X[rows], y[rows]) for rows in np.array_split(order, n_blocks)]


@pytest.mark.parametrize("sort", [True, False])
def test_sorted_blocks_warn_and_shuffled_ones_do_not(sort):
    X, y = _data(n=1200, seed=2)
    est = MDNRegressor(n_components=2, n_networks=1, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # two passes, as Incremental makes them
            for X_block, y_block in _blocks(X, y, 6, sort):
                est.partial_fit(X_block, y_block)
    sorted_warnings = [w for w in caught if w.category is SortedBlocksWarning]
    # sorted: at least from the third block of the first pass on (two
    # successive blocks stand out)
    assert len(sorted_warnings) >= (4 if sort else 0)
    assert bool(sorted_warnings) is sort


def test_sorted_blocks_fail_on_workers_that_make_the_warning_an_error(client):
    X, y = _data(n=600, seed=3)
    order = np.argsort(X[:, 0])
    dX = da.from_array(X[order], chunks=(150, 2))
    dy = da.from_array(y[order], chunks=150)
    est = MDNRegressor(n_components=2, n_networks=1, random_state=0)
    client.run(warnings.simplefilter, "error", SortedBlocksWarning)
    try:
        with pytest.raises(SortedBlocksWarning, match="look sorted"):
            wrappers.Incremental(est, shuffle_blocks=True, random_state=0).fit(dX, dy)
        # shuffled rows train without it
        perm = np.random.RandomState(0).permutation(len(X))
        shuffled = wrappers.Incremental(est, shuffle_blocks=True, random_state=0)
        shuffled.fit(dX[perm], dy[perm])
    finally:
        client.run(warnings.filterwarnings, "default", category=SortedBlocksWarning)
    assert shuffled.estimator_.n_iter_ == 4


def test_scoring_keeps_the_arrays_keys_as_the_arrays_define_them():
    # the scorer's graph must not redefine the keys of the arrays it scores:
    # Incremental.partial_fit submits the same keys as the arrays define them,
    # and a distributed scheduler given two definitions of one key failed the
    # next computation now and then (KeyError; dask#9888)
    X, y = _data(n=60, seed=5)
    model = MDNRegressor(n_networks=1, max_iter=2, random_state=0).fit(X, y)
    A = da.random.default_rng(0).random((60, 3), chunks=(20, 3))
    dX, dy = A[:, :-1], A[:, -1]  # getitem tasks, which optimisation fuses
    for scorer in (log_likelihood_scorer, neg_crps_scorer):
        graph = dict(scorer(model, dX, dy, compute=False).dask)
        for arr in (dX, dy, A):
            own = dict(arr.__dask_graph__())
            assert own.keys() <= graph.keys()
            assert [k for k in own if own[k] != graph[k]] == []


def test_scorers_score_dask_arrays_block_by_block(client):
    X, y = _data(n=400, seed=4)
    w = np.random.RandomState(4).uniform(0.5, 2, size=len(y))
    dX = da.from_array(X, chunks=(100, 2))
    dy = da.from_array(y, chunks=100)
    dw = da.from_array(w, chunks=100)
    incremental = wrappers.Incremental(
        MDNRegressor(n_components=2, n_networks=1, random_state=0),
        scoring=log_likelihood_scorer,
    ).fit(dX, dy)
    model = incremental.estimator_
    for scorer in (log_likelihood_scorer, neg_crps_scorer):
        # targets in other blocks than X's are aligned to them
        assert_allclose(
            scorer(incremental, dX, dy.rechunk(150)), scorer(model, X, y), rtol=1e-12
        )
        assert_allclose(
            scorer(incremental, dX, dy, sample_weight=dw),
            scorer(model, X, y, sample_weight=w),
            rtol=1e-12,
        )
    lazy = log_likelihood_scorer(incremental, dX, dy, compute=False)
    with distributed.get_task_stream(client) as stream:
        value = lazy.compute()
    assert stream.data  # the blocks were scored on the workers
    assert_allclose(value, log_likelihood_scorer(model, X, y), rtol=1e-12)
    # in-memory data through the wrapper's score; Dask arrays through it
    # reach the scorer as a metric of point predictions (dask-ml's make_scorer)
    assert incremental.score(X, y) == log_likelihood_scorer(model, X, y)
    with pytest.raises(TypeError, match="called as a metric"):
        incremental.score(dX, dy)
