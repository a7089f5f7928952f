"""Threads of the prediction paths: one by default, ``n_jobs`` when asked.

A prediction's work is numpy's (the built-in network's forward pass, a BLAS
matrix product) and scipy's (the solvers' ufuncs), which release the GIL.
numpy's BLAS (OpenBLAS) threads its products over every core unless told
otherwise, and its threads spin-wait: with other processes on both cores of
the development machine, ``log_prob`` of 100,000 rows took 0.22 s of wall
time with its two BLAS threads against 0.13 s with one (the issue-26 "busy
machine"). So a prediction runs its blocks of rows with one BLAS and OpenMP
thread each, in the calling thread by default, or in a pool of ``n_jobs``
threads when the estimator asks for more.

OpenBLAS's thread count is process-wide (set through threadpoolctl's
library controllers, as scikit-learn's KMeans limits it), so the limit is
counted: the first prediction to start sets it and the last to finish
restores it, whatever the threads' order. OpenMP's (torch's intra-op
threads) is per thread, and each worker sets its own. Each limit restores
only its own library's count.
"""

# SPDX-License-Identifier: BSD-3-Clause

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from joblib import effective_n_jobs
from threadpoolctl import ThreadpoolController

# Fewer rows than this run as they are, without limits: setting and
# restoring them costs about 60 microseconds, more than a one-row prediction
# (0.04 ms), and a product of so few rows is too small for OpenBLAS to
# thread at the default width (it threads from 262,144 multiply-adds, 64
# rows of a 64 x 64 layer).
FEW_ROWS = 32

_LOCK = threading.Lock()
_STATE = {"libs": {}, "users": 0, "blas": None}


def _libs(user_api):
    """Return the loaded libraries of ``user_api`` ('blas' or 'openmp').

    Found once per process (inspecting the libraries is slow). Each library
    is limited on its own below, not through ``ThreadpoolController.limit``,
    whose ``restore_original_limits`` sets every library back to its count
    at the start, undoing what other threads set in the meantime (a BLAS
    limit restored OpenMP's counts, and an OpenMP limit BLAS's).
    """
    libs = _STATE["libs"]
    if not libs:
        controller = ThreadpoolController()
        for api in ("blas", "openmp"):
            libs[api] = controller.select(user_api=api).lib_controllers
    return libs[user_api]


def _set(libs, counts):
    for lib, count in zip(libs, counts, strict=True):
        lib.set_num_threads(count)


@contextmanager
def _one_blas_thread():
    """BLAS at one thread while any prediction runs (counted, see the module)."""
    libs = _libs("blas")
    with _LOCK:
        if _STATE["users"] == 0:
            _STATE["blas"] = [lib.num_threads for lib in libs]
            _set(libs, [1] * len(libs))
        _STATE["users"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["users"] -= 1
            if _STATE["users"] == 0:
                _set(libs, _STATE["blas"])
                _STATE["blas"] = None


@contextmanager
def openmp_threads(n_threads):
    """OpenMP (torch's intra-op pool) at ``n_threads`` for the calling thread.

    OpenMP's count is each thread's own, so this touches no other thread;
    BLAS is left alone.
    """
    libs = _libs("openmp")
    saved = [lib.num_threads for lib in libs]
    _set(libs, [n_threads] * len(libs))
    try:
        yield
    finally:
        _set(libs, saved)


def one_openmp_thread():
    """OpenMP at one thread for the calling thread (:func:`openmp_threads`)."""
    return openmp_threads(1)


@contextmanager
def one_thread(n_rows):
    """Run the calling thread's prediction of ``n_rows`` rows on one thread.

    One BLAS and one OpenMP thread, unless ``n_rows < FEW_ROWS``.
    """
    if n_rows < FEW_ROWS:
        yield
        return
    with _one_blas_thread(), one_openmp_thread():
        yield


def map_blocks(function, blocks, n_rows, n_jobs=None):
    """``[function(b) for b in blocks]``, one thread per block, ``n_jobs`` at once.

    Parameters
    ----------
    function : callable
        The work of one block; it returns the block's result.
    blocks : list
        The blocks' arguments, in order.
    n_rows : int
        Rows in all the blocks together; under ``FEW_ROWS`` the blocks run
        as they are, in the calling thread.
    n_jobs : int or None, default=None
        Threads over which the blocks are spread, as joblib counts them
        (None means 1, -1 every core). The results keep the blocks' order.

    Returns
    -------
    results : list
        ``function(block)`` for each block, in order.
    """
    n_threads = 1 if len(blocks) == 1 else min(effective_n_jobs(n_jobs), len(blocks))
    if n_threads == 1:
        with one_thread(n_rows):
            return [function(block) for block in blocks]

    def run(block):
        with one_openmp_thread():
            return function(block)

    with _one_blas_thread(), ThreadPoolExecutor(max_workers=n_threads) as pool:
        return list(pool.map(run, blocks))
