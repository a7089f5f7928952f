"""The torch mixture log-likelihood against torch.distributions, scipy and numpy."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from skmdn import MixtureDistribution
from skmdn._head import log_prob


@st.composite
def mixtures(draw, max_k=6, max_d=3):
    n = draw(st.integers(1, 5))
    K = draw(st.integers(1, max_k))
    D = draw(st.integers(1, max_d))
    seed = draw(st.integers(0, 2**31 - 1))
    spread = draw(st.floats(0.1, 100.0))
    rng = np.random.RandomState(seed)
    logits = rng.normal(scale=draw(st.floats(0.0, 30.0)), size=(n, K))
    loc = rng.normal(scale=spread, size=(n, K, D))
    scale = np.exp(rng.uniform(-4, 3, size=(n, K, D)))
    y = rng.normal(scale=spread, size=(n, D))
    return logits, loc, scale, y


def _t(*arrays):
    return [torch.from_numpy(np.asarray(a, dtype=np.float64)) for a in arrays]


@settings(max_examples=60)
@given(mixtures())
def test_matches_torch_mixture_same_family(params):
    logits, loc, scale, y = params
    tl, tloc, tscale, ty = _t(logits, loc, scale, y)
    ref = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=tl),
        torch.distributions.Independent(torch.distributions.Normal(tloc, tscale), 1),
    ).log_prob(ty)
    assert_allclose(log_prob(tl, tloc, tscale, ty).numpy(), ref.numpy(), rtol=1e-10)


@settings(max_examples=60)
@given(mixtures(max_k=1, max_d=1))
def test_single_component_is_scipy_normal(params):
    logits, loc, scale, y = params
    got = log_prob(*_t(logits, loc, scale, y)).numpy()
    ref = stats.norm.logpdf(y[:, 0], loc[:, 0, 0], scale[:, 0, 0])
    assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


@settings(max_examples=60)
@given(mixtures())
def test_torch_and_numpy_distribution_agree(params):
    # The mixture log-density is written twice (torch for training, numpy for
    # MixtureDistribution); this guards that they stay the same.
    logits, loc, scale, y = params
    got = log_prob(*_t(logits, loc, scale, y)).numpy()
    weights = torch.softmax(torch.from_numpy(logits), -1).numpy()
    weights = weights / weights.sum(1, keepdims=True)
    dist = MixtureDistribution(weights, loc, scale)
    assert_allclose(dist.logpdf(y), got, rtol=1e-9, atol=1e-9)


@settings(max_examples=40)
@given(mixtures(), st.randoms(use_true_random=False))
def test_invariant_to_component_order(params, rnd):
    logits, loc, scale, y = params
    perm = list(range(logits.shape[1]))
    rnd.shuffle(perm)
    a = log_prob(*_t(logits, loc, scale, y))
    b = log_prob(*_t(logits[:, perm], loc[:, perm], scale[:, perm], y))
    assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


@settings(max_examples=40)
@given(mixtures(), st.floats(-1e3, 1e3), st.floats(1e-3, 1e3))
def test_affine_change_of_units_shifts_by_log_scale(params, shift, factor):
    # log p(a + b y) = log p(y) - D log b : the Jacobian the estimator relies on.
    logits, loc, scale, y = params
    D = y.shape[1]
    a = log_prob(*_t(logits, loc, scale, y))
    b = log_prob(*_t(logits, shift + factor * loc, factor * scale, shift + factor * y))
    assert_allclose(b.numpy(), a.numpy() - D * np.log(factor), rtol=1e-9, atol=1e-8)


def test_vanishing_component_changes_nothing():
    rng = np.random.RandomState(0)
    logits, loc, scale, y = (
        rng.normal(size=(4, 2)),
        rng.normal(size=(4, 2, 1)),
        np.ones((4, 2, 1)),
        rng.normal(size=(4, 1)),
    )
    base = log_prob(*_t(logits, loc, scale, y))
    extra = log_prob(
        *_t(
            np.column_stack([logits, np.full(4, -1e4)]),
            np.concatenate([loc, np.zeros((4, 1, 1))], 1),
            np.concatenate([scale, np.ones((4, 1, 1))], 1),
            y,
        )
    )
    assert_allclose(extra.numpy(), base.numpy(), rtol=1e-14)


def test_finite_for_extreme_logits_and_far_targets():
    logits = torch.tensor([[1e4, -1e4], [-1e4, 1e4]], dtype=torch.float64)
    loc = torch.zeros(2, 2, 1, dtype=torch.float64)
    scale = torch.full((2, 2, 1), 1e-3, dtype=torch.float64)
    y = torch.tensor([[1e3], [-1e3]], dtype=torch.float64)
    lp = log_prob(logits, loc, scale, y)
    assert torch.isfinite(lp).all()
    lp.sum().backward() if lp.requires_grad else None


def test_gradients_are_finite_for_extreme_inputs():
    logits = torch.tensor([[80.0, -80.0, 0.0]], dtype=torch.float64, requires_grad=True)
    loc = torch.tensor([[[0.0], [5.0], [1e3]]], dtype=torch.float64, requires_grad=True)
    scale = torch.full((1, 3, 1), 1e-3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[500.0]], dtype=torch.float64)
    (-log_prob(logits, loc, scale, y).sum()).backward()
    for t in (logits, loc, scale):
        assert torch.isfinite(t.grad).all()
