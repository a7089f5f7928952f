"""The fused training path (closed-form gradients) against autograd."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from skmdn._head import COVARIANCE_TYPES, MixtureHead, log_prob, make_head
from skmdn._network import MLP


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("K", "D"), [(1, 1), (5, 1), (3, 4)])
def test_head_loss_and_gradient_match_autograd(covariance_type, dtype, K, D):
    gen = torch.Generator().manual_seed(K * 10 + D)
    n = 37
    head = make_head(covariance_type, K, D, 1e-3)
    out = torch.randn(n, head.width, generator=gen, dtype=torch.float64) * 2
    y = torch.randn(n, D, generator=gen, dtype=torch.float64) * 2
    w = torch.rand(n, generator=gen, dtype=torch.float64)
    coef = w / w.sum()

    # the reference: autograd through the layout written out here and the
    # torch log-density (a triangular solve for full covariances)
    ref_out = out.clone().requires_grad_(True)
    logits = ref_out[:, :K]
    loc = ref_out[:, K : K + K * D].reshape(n, K, D)
    raw = ref_out[:, K + K * D :]
    if covariance_type == "diagonal":
        cov = torch.nn.functional.softplus(raw.reshape(n, K, D)) + 1e-3
    elif covariance_type == "spherical":
        cov = (torch.nn.functional.softplus(raw) + 1e-3)[..., None].expand(n, K, D)
    else:
        diag = torch.nn.functional.softplus(raw[:, : K * D].reshape(n, K, D)) + 1e-3
        below = raw[:, K * D :].reshape(n, K, -1)
        rows, cols = np.tril_indices(D, -1)
        cov = torch.diag_embed(diag)
        strict = torch.zeros(n, K, D, D, dtype=torch.float64)
        strict[:, :, rows, cols] = below  # out of place, so autograd follows
        cov = cov + strict
    ref_loss = -(coef * log_prob(logits, loc, cov, y)).sum()
    ref_loss.backward()

    loss, grad_t = head.loss_and_grad(
        out.T.contiguous().to(dtype), y.T.contiguous().to(dtype), coef.to(dtype)
    )
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    assert float(loss) == pytest.approx(ref_loss.item(), rel=tol, abs=tol)
    # float32 triangular solves lose digits to the factors' conditioning
    # (random factors here, with entries below the diagonal of size 2)
    grad_tol = 1e-5 if (dtype == torch.float32 and covariance_type == "full") else tol
    assert_allclose(
        grad_t.T.double().numpy(), ref_out.grad.numpy(), rtol=tol * 10, atol=grad_tol
    )


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("hidden", [(), (7,), (6, 5)])
def test_network_gradient_matches_autograd(activation, hidden):
    head = MixtureHead(n_components=4, n_outputs=2, min_scale=1e-3)
    trunk = MLP(3, hidden, head.width, activation)
    gen = torch.Generator().manual_seed(0)
    bias = head.init_bias(np.zeros((4, 2)), np.ones((4, 2)))
    params = trunk.init_params(gen, torch.float64, bias)
    params += 0.3 * torch.randn(params.shape, generator=gen, dtype=torch.float64)
    X = torch.randn(11, 3, generator=gen, dtype=torch.float64)
    Y = torch.randn(11, 2, generator=gen, dtype=torch.float64)
    coef = torch.rand(11, generator=gen, dtype=torch.float64)
    coef /= coef.sum()

    ref = params.clone().requires_grad_(True)
    ref_loss = -(coef * head.log_prob(trunk.forward(ref, X), Y)).sum()
    ref_loss.backward()

    grad = torch.full_like(params, np.nan)  # every entry must be overwritten
    Y_t = Y.T.contiguous()
    loss = trunk.loss_and_grad(
        trunk.unflatten(params),
        trunk.unflatten(grad),
        X,
        lambda out_t: head.loss_and_grad(out_t, Y_t, coef),
    )
    assert float(loss) == pytest.approx(ref_loss.item(), rel=1e-12)
    assert_allclose(grad.numpy(), ref.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("hidden", [(), (7,), (6, 5)])
def test_batched_networks_match_one_after_another(hidden, covariance_type):
    # M networks in one batched step: each network's loss and gradient are
    # those of its own unbatched step
    head = make_head(covariance_type, n_components=3, n_outputs=2, min_scale=1e-3)
    trunk = MLP(4, hidden, head.width, "tanh")
    gen = torch.Generator().manual_seed(1)
    M, n = 3, 9
    bias = head.init_bias(np.zeros((3, 2)), np.ones((3, 2)))
    params = torch.stack(
        [trunk.init_params(gen, torch.float64, bias) for _ in range(M)]
    )
    params += 0.3 * torch.randn(params.shape, generator=gen, dtype=torch.float64)
    X = torch.randn(M, n, 4, generator=gen, dtype=torch.float64)
    Y_t = torch.randn(M, 2, n, generator=gen, dtype=torch.float64)
    coef = torch.rand(M, n, generator=gen, dtype=torch.float64)
    coef /= coef.sum(1, keepdim=True)

    grad = torch.full_like(params, np.nan)
    loss = trunk.loss_and_grad(
        trunk.unflatten(params),
        trunk.unflatten(grad),
        X,
        lambda out_t: head.loss_and_grad(out_t, Y_t, coef),
    )
    for m in range(M):
        grad_m = torch.full_like(params[m], np.nan)
        loss_m = trunk.loss_and_grad(
            trunk.unflatten(params[m]),
            trunk.unflatten(grad_m),
            X[m],
            lambda out_t, m=m: head.loss_and_grad(out_t, Y_t[m], coef[m]),
        )
        assert float(loss[m]) == pytest.approx(float(loss_m), rel=1e-12)
        assert_allclose(grad[m].numpy(), grad_m.numpy(), rtol=1e-10, atol=1e-13)
