"""The mixture head: its fused loss and gradient against autograd on the reference."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from skmdn._head import COVARIANCE_TYPES, log_prob, make_head


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
