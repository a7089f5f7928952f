"""A minimal, carefully hand-written torch MDN training loop: the speed reference.

It is what an expert would write by hand for this model, with no library
around it: the data lives in memory as tensors and is shuffled once per epoch
by indexing, batches are slices, the output layer is one fused ``Linear``, the
loss uses ``log_softmax`` and ``logsumexp``, gradients are clipped with
``clip_grad_norm_(foreach=True)`` and Adam runs with ``fused=True``.
"""

import math

import torch
from torch import nn

LOG_2PI = math.log(2 * math.pi)
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


class ReferenceMDN(nn.Module):
    def __init__(
        self, n_features, n_outputs, n_components, hidden=(64, 64), activation="tanh"
    ):
        super().__init__()
        layers, width = [], n_features
        for h in hidden:
            layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
            width = h
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(width, n_components * (1 + 2 * n_outputs))
        self.K, self.D = n_components, n_outputs

    def forward(self, x):
        out = self.head(self.trunk(x))
        K, D = self.K, self.D
        logits = out[:, :K]
        loc = out[:, K : K + K * D].view(-1, K, D)
        scale = nn.functional.softplus(out[:, K + K * D :]).view(-1, K, D) + 1e-3
        return logits, loc, scale


def nll(logits, loc, scale, y):
    z = (y.unsqueeze(1) - loc) / scale
    log_comp = -0.5 * (z * z).sum(-1) - scale.log().sum(-1) - 0.5 * y.shape[1] * LOG_2PI
    return -torch.logsumexp(torch.log_softmax(logits, -1) + log_comp, -1).mean()


def fit_reference(
    X,
    Y,
    *,
    n_components=5,
    hidden=(64, 64),
    activation="tanh",
    batch_size=256,
    epochs=10,
    lr=1e-3,
    clip=10.0,
    seed=0,
):
    """Train on float tensors ``X`` (n, p) and ``Y`` (n, D); return the model."""
    torch.manual_seed(seed)  # a script's own global seed, as a user would write it
    model = ReferenceMDN(X.shape[1], Y.shape[1], n_components, hidden, activation)
    model.to(X.dtype)
    opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    params = list(model.parameters())
    n = X.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n)
        Xs, Ys = X[perm], Y[perm]
        for start in range(0, n, batch_size):
            xb, yb = Xs[start : start + batch_size], Ys[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = nll(*model(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, clip, foreach=True)
            opt.step()
    return model


@torch.inference_mode()
def predict_mean(model, X):
    """Conditional mean of the fitted reference (its forward pass for prediction)."""
    logits, loc, _ = model(X)
    return (torch.softmax(logits, -1).unsqueeze(-1) * loc).sum(1)


class MLPModule(nn.Module):
    """skmdn's built-in trunk as a torch module, for ``MDNRegressor(module=...)``.

    Linear layers with Glorot-uniform weights and biases and ``tanh`` between
    them, as ``skmdn._network.MLP``; skmdn appends the mixture head. Trained
    by autograd, it is the like-for-like comparison of the two training paths.
    """

    def __init__(self, n_features, hidden=(64, 64)):
        super().__init__()
        layers, width = [], n_features
        for h in hidden:
            linear = nn.Linear(width, h)
            bound = math.sqrt(6.0 / (width + h))
            nn.init.uniform_(linear.weight, -bound, bound)
            nn.init.uniform_(linear.bias, -bound, bound)
            layers += [linear, nn.Tanh()]
            width = h
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
