"""Data preparation before any tensor: the validation split and the 'auto' rules."""

import numpy as np
import pytest

import skmdn._preprocessing
from skmdn._preprocessing import (
    AUTO_BATCH_MIN,
    AUTO_BATCH_SIZE,
    SplitKeys,
    effective_rows,
    input_noise_level,
    resolve_batch_size,
    resolve_patience,
    target_noise_levels,
    validation_split,
)


def test_effective_rows_counts_integer_weights_as_repeats_and_others_by_kish():
    assert effective_rows(np.array([1.0, 3.0, 0.0, 2.0])) == 6.0  # repeated rows
    rng = np.random.RandomState(0)
    w = rng.uniform(0.1, 2.0, size=50)
    kish = w.sum() ** 2 / np.sum(w**2)
    assert effective_rows(w) == pytest.approx(kish)
    assert 1 < kish < 50
    # a constant factor changes nothing, so weights summing to 1 count as rows
    assert effective_rows(w / w.sum()) == pytest.approx(kish)
    assert effective_rows(np.full(40, 1 / 40)) == pytest.approx(40)


def _split(X, Y, w, fraction, seed):
    return validation_split(SplitKeys(X, Y, w), w, fraction, seed)


def test_validation_split_keeps_identical_rows_together_and_weights_count():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 2)).repeat(3, axis=0)
    Y = rng.normal(size=(50, 1)).repeat(3, axis=0)
    w = rng.uniform(0.5, 2.0, size=50).repeat(3)
    train_idx, val_idx = _split(X, Y, w, 0.2, seed=3)
    assert set(train_idx).isdisjoint(val_idx)
    assert len(train_idx) + len(val_idx) == 150
    # whole groups of 3 identical rows on each side
    assert len(val_idx) % 3 == 0
    assert np.isin(val_idx // 3 * 3, val_idx).all()
    share = w[val_idx].sum() / w.sum()
    assert 0.2 <= share < 0.2 + 3 * w.max() / w.sum()


def test_split_keys_do_not_depend_on_the_units_and_leave_the_data_alone():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(200, 3))
    Y = rng.normal(size=(200, 1))
    w = rng.uniform(0.5, 2.0, size=200)
    X_copy = X.copy()
    keys = SplitKeys(X, Y, w)
    assert keys.block(0, 200).shape == (200, 4)
    assert np.array_equal(X, X_copy)
    # -0.0 and 0.0 hash alike; an affine change of units splits alike
    moved = _split(X * [10.0, 1e-3, 2.0] + 5.0, Y * 100.0, w, 0.1, seed=7)
    for a, b in zip(_split(X, Y, w, 0.1, seed=7), moved, strict=True):
        assert np.array_equal(a, b)
    # float32 data is keyed in float64
    keys32 = SplitKeys(X.astype(np.float32), Y.astype(np.float32), w)
    assert keys32.block(0, 200).dtype == np.float64


def test_different_seeds_give_different_splits_of_the_same_keys():
    rng = np.random.RandomState(2)
    X, Y, w = rng.normal(size=(300, 2)), rng.normal(size=(300, 1)), np.ones(300)
    keys = SplitKeys(X, Y, w)
    a = validation_split(keys, w, 0.1, seed=1)[1]
    b = validation_split(keys, w, 0.1, seed=2)[1]
    assert len(a) == len(b) == 30
    assert not np.array_equal(a, b)


def test_a_split_without_two_weighted_rows_is_an_error():
    X, Y, w = np.ones((5, 1)), np.ones((5, 1)), np.ones(5)
    with pytest.raises(ValueError, match="validation set is too small"):
        _split(X, Y, w, 0.1, seed=0)


def test_auto_batch_size():
    assert resolve_batch_size("auto", 100) == AUTO_BATCH_MIN
    assert resolve_batch_size("auto", 20) == 20
    assert resolve_batch_size("auto", 32 * 100) == 100
    assert resolve_batch_size("auto", 10**6) == AUTO_BATCH_SIZE
    assert resolve_batch_size(64, 10) == 10


def test_auto_noise_levels():
    factor = skmdn._preprocessing.INPUT_NOISE_FACTOR
    assert input_noise_level("auto", 1000, 3) == pytest.approx(
        factor * 1000 ** (-1 / 7)
    )
    assert input_noise_level(0.2, 1000, 3) == 0.2
    # a rating (5 values, a step of 1) is dequantised; a continuous target is not
    Y = np.c_[np.arange(1000) % 5, np.random.RandomState(0).normal(size=1000)]
    levels = target_noise_levels("auto", Y)
    assert levels.shape == (2, 1)
    assert levels[0, 0] == pytest.approx(1 / np.sqrt(12))
    assert levels[1, 0] == 0.0
    assert np.array_equal(target_noise_levels(0.1, Y), np.full((2, 1), 0.1))


def test_auto_patience_counts_optimiser_steps():
    steps = skmdn._preprocessing.PATIENCE_STEPS
    # one step per epoch: the patience is the step count, within the clip
    assert resolve_patience("auto", 100, 100) == skmdn._preprocessing.MAX_PATIENCE
    assert resolve_patience("auto", 100 * (steps // 20), 100) == 20
    # 10,000 rows, 10% held out: 36 batches of 256 rows, about 2,000 steps
    assert resolve_patience("auto", 9_000, 256) == 56
    # yacht (246 training rows, 8 batches of 32) keeps the 200 epochs it needs
    assert resolve_patience("auto", 246, 32) == skmdn._preprocessing.MAX_PATIENCE
    assert resolve_patience("auto", 800, 32) == -(-steps // 25)
    # long epochs wait at most MAX_WAIT_STEPS steps, in whole epochs
    assert resolve_patience("auto", 256_000, 256) == skmdn._preprocessing.MIN_PATIENCE
    assert resolve_patience("auto", 256_256, 256) == 10  # ceil(10,000 / 1,001)
    assert resolve_patience("auto", 400_000, 256) == 7  # ceil(10,000 / 1,563)
    assert resolve_patience("auto", 900_000, 256) == 3
    assert resolve_patience("auto", 2_000_000, 256) == 2  # ceil(10,000 / 7,813)
    assert resolve_patience("auto", 10**7, 256) == 1
    assert resolve_patience(7, 3, 1) == 7
    assert resolve_patience(np.inf, 3, 1) == np.inf


def test_cells_of_discrete_data_lend_their_share_and_stay_in_training():
    # x in {0..5}, y in {0..4}: a group of identical rows is a whole (x, y)
    # cell; holding whole cells out removed 1-3 cells from training and held
    # out 18-25% of the rows instead of 10%
    rng = np.random.RandomState(0)
    x = rng.randint(0, 6, size=3000)
    y = np.clip(np.round(x / 2 + rng.normal(scale=0.7, size=3000)), 0, 4)
    X, Y, w = x[:, None].astype(float), y[:, None], np.ones(3000)
    cells, counts = np.unique(np.c_[X, Y], axis=0, return_counts=True)
    large = {tuple(c) for c in cells[counts >= 10]}
    assert len(large) > 10
    for seed in range(5):
        train, val = _split(X, Y, w, 0.1, seed)
        assert abs(len(val) / 3000 - 0.1) <= len(cells) / 3000
        assert large <= {tuple(r) for r in np.c_[X[train], Y[train]]}
        # every large cell lends about a tenth of its rows
        for cell in large:
            rows = np.flatnonzero((X[:, 0] == cell[0]) & (Y[:, 0] == cell[1]))
            if len(rows) >= 10:
                held = np.isin(rows, val).sum()
                assert abs(held - 0.1 * len(rows)) <= 1


def test_small_cells_of_discrete_data_are_never_held_out_whole():
    # 30 cells with probabilities from a Dirichlet: cells of 2-9 rows went to
    # validation whole, the model never saw them and its validation score fell
    # as it learnt the others (cell probabilities 0.09 off the truth)
    rng = np.random.RandomState(0)
    P = rng.dirichlet(np.full(5, 0.7), size=6)
    x = rng.randint(0, 6, size=3000)
    y = np.array([rng.choice(5, p=P[i]) for i in x])
    X, Y, w = x[:, None].astype(float), y[:, None].astype(float), np.ones(3000)
    cells, counts = np.unique(np.c_[X, Y], axis=0, return_counts=True)
    assert (counts < 10).sum() >= 2
    shares = []
    for seed in range(20):
        train, val = _split(X, Y, w, 0.1, seed)
        assert {tuple(c) for c in cells} == {tuple(r) for r in np.c_[X, Y][train]}
        for cell, count in zip(cells, counts, strict=True):
            rows = np.flatnonzero((X[:, 0] == cell[0]) & (Y[:, 0] == cell[1]))
            held = np.isin(rows, val).sum()
            assert np.floor(0.1 * count) <= held <= np.ceil(0.1 * count)
        shares.append(len(val) / 3000)
    # the rounding is up or down at random: the share asked, on average
    assert np.mean(shares) == pytest.approx(0.1, abs=0.003)


def test_weighted_cells_lend_their_share_of_weight():
    X = np.zeros((40, 1))
    Y = np.zeros((40, 1))
    w = np.r_[np.full(20, 2.0), np.ones(20)]
    train, val = _split(X, Y, w, 0.25, seed=0)
    assert len(train)
    assert len(val)
    assert w[val].sum() / w.sum() == pytest.approx(0.25, abs=2 / w.sum())


def test_keys_and_the_standardised_copy_are_the_same_in_blocks(monkeypatch):
    # the keys and Standardisation.transform pass over the data a block of
    # rows at a time (memory O(block)); the block size must not change them
    rng = np.random.RandomState(3)
    X = rng.normal(size=(1000, 3)) * [1.0, 50.0, 1e-3]
    Y = rng.exponential(size=(1000, 1))
    w = rng.uniform(0.5, 2.0, size=1000)
    whole = SplitKeys(X, Y, w)
    scaler = skmdn._preprocessing.Standardisation.from_data(X, w)
    monkeypatch.setattr(skmdn._preprocessing, "BLOCK_ROWS", 7)
    blocked = SplitKeys(X, Y, w)
    np.testing.assert_allclose(blocked.mean, whole.mean, rtol=1e-14)
    np.testing.assert_allclose(blocked.std, whole.std, rtol=1e-14)
    keys = np.vstack([blocked.block(a, min(a + 7, 1000)) for a in range(0, 1000, 7)])
    np.testing.assert_array_equal(keys, whole.block(0, 1000))
    np.testing.assert_array_equal(blocked.hashes(5), whole.hashes(5))
    expected = (X - scaler.location) / scaler.scale
    np.testing.assert_array_equal(scaler.transform(X, np.float64), expected)
    np.testing.assert_array_equal(
        scaler.transform(X, np.float32), expected.astype(np.float32)
    )
