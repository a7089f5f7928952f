"""Speed benchmarks: skmdn against a hand-written torch loop, skorch and MLPRegressor.

Usage::

    python benchmarks/speed.py                # full suite (several minutes)
    python benchmarks/speed.py --quick        # smaller sizes, for a smoke run

Prints markdown tables and writes JSON (``--out``). Every contender trains the
same architecture (MLP 64x64 tanh, K=5 diagonal components) on the same data
with the same batch size and number of epochs, early stopping off, one torch
thread, and the reference's recipe: skmdn is passed ``learning_rate_init=1e-3``
and ``input_noise=0`` (``RECIPE``), as the reference trains (Adam 1e-3, no
noise), instead of its defaults (3e-3 and 'auto' noise, which with early
stopping off is on every epoch). The ``recipe`` section reports the held-out
log-likelihood of the reference, of skmdn at that recipe and of skmdn at its
defaults, at the same fixed number of epochs. "skmdn autograd" is
``MDNRegressor(module=MLPModule)``: the built-in trunk written as a torch
module, trained by autograd instead of the fused backward pass (the ``module``
section compares the two paths' per-epoch time and held-out log-likelihood,
beside skorch when it is installed). Ratios are measured in one process run:
each contender is timed several times with the order rotated, and the best time
is kept.
"""

import argparse
import gc
import json
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from reference import MLPModule, fit_reference, predict_mean

import skmdn
from skmdn import MDNRegressor, MixtureDistribution
from skmdn.datasets import make_inverse_sine

HIDDEN = (64, 64)
K = 5
# The reference's training recipe, passed explicitly so that the fixed-recipe
# comparisons are like for like: Adam at 1e-3 and no input noise. skmdn's
# defaults differ (learning_rate_init=3e-3, input_noise='auto'); the rest
# (clip 10, Glorot trunk, batch, epochs) is the same or a detail of the model.
RECIPE = {"learning_rate_init": 1e-3, "input_noise": 0.0}


def make_data(n, p=8, D=1, seed=0, dtype=np.float32):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, p))
    branch = rng.randint(0, 2, size=(n, 1))
    Y = np.sin(X[:, :1]) + (2 * branch - 1) * (1 + 0.5 * np.tanh(X[:, 1:2]))
    Y = Y + 0.3 * rng.normal(size=(n, D))
    return X.astype(dtype), Y.astype(dtype)


def skmdn_fitter(X, Y, epochs, batch_size, dtype=None, module=None):
    X = X if dtype is None else X.astype(dtype)
    y = (Y[:, 0] if Y.shape[1] == 1 else Y).astype(X.dtype)

    def fit():
        MDNRegressor(
            module=module,
            module_params=None if module is None else {"hidden": HIDDEN},
            n_components=K,
            n_networks=1,  # like for like with the one reference network
            hidden_layer_sizes=HIDDEN,
            batch_size=batch_size,
            max_iter=epochs,
            n_iter_no_change=np.inf,
            early_stopping=False,
            random_state=0,
            **RECIPE,
        ).fit(X, y)

    return fit


def reference_fitter(X, Y, epochs, batch_size):
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

    def fit():
        fit_reference(
            Xt, Yt, n_components=K, hidden=HIDDEN, batch_size=batch_size, epochs=epochs
        )

    return fit


def skorch_fitter(X, Y, epochs, batch_size):
    try:
        from skorch import NeuralNetRegressor
    except ImportError:
        return None
    from reference import ReferenceMDN, nll

    class Criterion(torch.nn.Module):
        def forward(self, out, y):
            return nll(*out, y)

    def fit():
        net = NeuralNetRegressor(
            ReferenceMDN,
            module__n_features=X.shape[1],
            module__n_outputs=Y.shape[1],
            module__n_components=K,
            module__hidden=HIDDEN,
            criterion=Criterion,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            batch_size=batch_size,
            max_epochs=epochs,
            train_split=None,
            verbose=0,
        )
        net.fit(X, Y)

    return fit


def mlp_fitter(X, Y, epochs, batch_size):
    from sklearn.neural_network import MLPRegressor

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MLPRegressor(
                hidden_layer_sizes=HIDDEN,
                activation="tanh",
                batch_size=batch_size,
                max_iter=epochs,
                n_iter_no_change=epochs + 1,
                tol=0.0,
                random_state=0,
            ).fit(X, Y[:, 0])

    return fit


def best_times(fitters, repeats):
    """Best wall time of each fitter over ``repeats`` rounds, order rotated."""
    names = list(fitters)
    times = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            gc.collect()
            start = time.perf_counter()
            fitters[name]()
            times[name].append(time.perf_counter() - start)
    return {name: min(ts) for name, ts in times.items()}


def bench_fit(n, epochs, batch_size, repeats):
    X, Y = make_data(n)
    fitters = {
        "reference (hand-written torch)": reference_fitter(X, Y, epochs, batch_size),
        "skmdn (float32 input)": skmdn_fitter(X, Y, epochs, batch_size),
        "skmdn (float64 input)": skmdn_fitter(X, Y, epochs, batch_size, np.float64),
        "skmdn autograd (MLP module, float32 input)": skmdn_fitter(
            X, Y, epochs, batch_size, module=MLPModule
        ),
        "MLPRegressor (point, no mixture)": mlp_fitter(X, Y, epochs, batch_size),
    }
    skorch = skorch_fitter(X, Y, epochs, batch_size)
    if skorch is not None:
        fitters["skorch (same module)"] = skorch
    times = best_times(fitters, repeats)
    ref = times["reference (hand-written torch)"]
    rows = []
    for name, t in times.items():
        rows.append(
            {
                "contender": name,
                "fit_s": t,
                "ratio_to_reference": t / ref,
                "s_per_epoch": t / epochs,
                "samples_per_s": n * epochs / t,
            }
        )
    return rows


def median_latency(func, calls):
    func()
    ts = []
    for _ in range(calls):
        start = time.perf_counter()
        func()
        ts.append(time.perf_counter() - start)
    return float(np.median(ts))


def bench_predict(n_train, quick):
    from sklearn.neural_network import MLPRegressor

    X, Y = make_data(n_train)
    y = Y[:, 0]
    est, ensemble = (
        MDNRegressor(
            n_components=K,
            n_networks=m,
            hidden_layer_sizes=HIDDEN,
            max_iter=2,
            random_state=0,
        )
        for m in (1, 5)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
        ensemble.fit(X, y)
        mlp = MLPRegressor(
            hidden_layer_sizes=HIDDEN, activation="tanh", max_iter=2
        ).fit(X, y)
    ref = fit_reference(
        torch.from_numpy(X), torch.from_numpy(Y), epochs=1, hidden=HIDDEN
    )
    rows = []
    for n_rows, calls in ((1, 300 if quick else 3000), (10_000, 10 if quick else 50)):
        Xq = make_data(n_rows, seed=1)[0]
        lat = {
            "skmdn predict": median_latency(lambda Xq=Xq: est.predict(Xq), calls),
            "skmdn predict, 5 networks": median_latency(
                lambda Xq=Xq: ensemble.predict(Xq), calls
            ),
            "MLPRegressor predict": median_latency(
                lambda Xq=Xq: mlp.predict(Xq), calls
            ),
            "reference forward (numpy in, mean out)": median_latency(
                lambda Xq=Xq: predict_mean(ref, torch.from_numpy(Xq)).numpy(), calls
            ),
        }
        for name, t in lat.items():
            rows.append({"rows": n_rows, "method": name, "median_ms": t * 1e3})
    return rows


def bench_scaling(quick):
    rows = []
    ns = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    for n in ns:
        rows.append(scaling_point(n=n))
    for k in (1, 5, 20, 50):
        rows.append(scaling_point(n=20_000, n_components=k))
    for d in (1, 4, 16):
        rows.append(scaling_point(n=20_000, D=d))
    return rows


def bench_covariance(n):
    """Per-epoch time of each covariance type at D = 2, 4, 8, and the head alone.

    The epoch rows are whole fits (trunk and head, 64x64 tanh, K=5). The head
    rows time one batch's loss and output gradient (256 rows, K=5, float32):
    the fused closed form against autograd through the torch reference
    log-density (a batched triangular solve for 'full').
    """
    rows, head_rows = [], []
    for D in (2, 4, 8):
        base = None
        for cov in ("diagonal", "spherical", "full"):
            row = scaling_point(n=n, D=D, covariance_type=cov)
            base = base or row["s_per_epoch"]
            row["ratio_to_diagonal"] = row["s_per_epoch"] / base
            rows.append(row)
        for cov in ("diagonal", "full"):
            head_rows.extend(head_step_times(D, cov))
    return {"epoch": rows, "head": head_rows}


def head_step_times(D, covariance_type, n=256, calls=300):
    from skmdn._head import make_head

    head = make_head(covariance_type, K, D, 1e-3)
    gen = torch.Generator().manual_seed(0)
    out = torch.randn(n, head.width, generator=gen)
    y = torch.randn(n, D, generator=gen)
    coef = torch.full((n,), 1.0 / n)
    out_t, y_t = out.T.contiguous(), y.T.contiguous()

    def fused():
        head.loss_and_grad(out_t, y_t, coef)

    def autograd():
        o = out.detach().requires_grad_(True)
        loss = -(coef * head.log_prob(o, y)).sum()
        loss.backward()

    result = []
    for name, step in (("fused", fused), ("autograd", autograd)):
        step()
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(calls):
                step()
            best = min(best, (time.perf_counter() - start) / calls)
        result.append(
            {"D": D, "covariance_type": covariance_type, "path": name, "us": best * 1e6}
        )
    for r in result:
        r["ratio_to_fused"] = r["us"] / result[0]["us"]
    return result


def scaling_point(n, n_components=K, D=1, epochs=(1, 3), covariance_type="diagonal"):
    """Time per epoch, without the fixed cost of a fit call.

    Two fresh fits of ``epochs[0]`` and ``epochs[1]`` epochs; the difference
    of their times over the difference of epochs is the cost of an epoch.
    """
    X, Y = make_data(n, D=D)
    y = Y[:, 0] if D == 1 else Y

    def fit_time(n_epochs):
        est = MDNRegressor(
            n_components=n_components,
            covariance_type=covariance_type,
            n_networks=1,
            hidden_layer_sizes=HIDDEN,
            batch_size=256,
            max_iter=n_epochs,
            n_iter_no_change=np.inf,
            early_stopping=False,
            random_state=0,
        )
        return _timed(lambda: est.fit(X, y))

    fit_time(epochs[0])  # warm-up
    per_epoch = (fit_time(epochs[1]) - fit_time(epochs[0])) / (epochs[1] - epochs[0])
    return {
        "n": n,
        "K": n_components,
        "D": D,
        "covariance_type": covariance_type,
        "s_per_epoch": per_epoch,
        "samples_per_s": n / per_epoch,
    }


def per_epoch(fit_time, epochs=(1, 3), repeats=2):
    """Seconds per epoch without the fixed cost of a fit: the best of ``repeats``."""
    fit_time(epochs[0])  # warm-up (imports, allocator)
    best = np.inf
    for _ in range(repeats):
        diff = fit_time(epochs[1]) - fit_time(epochs[0])
        best = min(best, diff / (epochs[1] - epochs[0]))
    return best


def _timed(func):
    """Seconds of one call of ``func``, its warnings silenced, after a collection."""
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        func()
        return time.perf_counter() - start


def bench_module(n, n_train, seeds, max_iter):
    """The fused MLP against the same MLP as a torch module, trained by autograd.

    Per-epoch time (float32, batch 256, fixed cost excluded) of both paths
    and of skorch running the reference module, and the held-out
    log-likelihood of both paths on the inverse-sine problem over seeds
    (default training otherwise: early stopping, noise, one network).
    """
    X, Y = make_data(n)
    y = Y[:, 0]

    def skmdn_time(module):
        def fit_time(epochs):
            est = MDNRegressor(
                module=module,
                module_params=None if module is None else {"hidden": HIDDEN},
                n_components=K,
                n_networks=1,
                hidden_layer_sizes=HIDDEN,
                batch_size=256,
                max_iter=epochs,
                n_iter_no_change=np.inf,
                early_stopping=False,
                random_state=0,
                **RECIPE,
            )
            return _timed(lambda: est.fit(X, y))

        return fit_time

    times = {
        "fused (built-in MLP)": per_epoch(skmdn_time(None)),
        "autograd (MLP module)": per_epoch(skmdn_time(MLPModule)),
    }
    if skorch_fitter(X, Y, 1, 256) is not None:
        times["skorch (reference module)"] = per_epoch(
            lambda epochs: _timed(skorch_fitter(X, Y, epochs, 256))
        )
    rows = [
        {
            "path": name,
            "s_per_epoch": t,
            "samples_per_s": n / t,
            "ratio_to_fused": t / times["fused (built-in MLP)"],
        }
        for name, t in times.items()
    ]

    X_train, y_train = make_inverse_sine(n_train, random_state=0)
    X_test, y_test = make_inverse_sine(50_000, random_state=1)
    quality = []
    for name, module in (
        ("fused (built-in MLP)", None),
        ("autograd (MLP module)", MLPModule),
    ):
        lls, fit_s = [], []
        for seed in range(seeds):
            est = MDNRegressor(
                module=module,
                module_params=None if module is None else {"hidden": HIDDEN},
                n_components=K,
                n_networks=1,
                hidden_layer_sizes=HIDDEN,
                max_iter=max_iter,
                random_state=seed,
            )
            fit_s.append(_timed(lambda est=est: est.fit(X_train, y_train)))
            lls.append(float(est.log_prob(X_test, y_test).mean()))
        quality.append(
            {
                "path": name,
                "heldout_ll_mean": float(np.mean(lls)),
                "heldout_ll_sd": float(np.std(lls, ddof=1)) if seeds > 1 else 0.0,
                "heldout_ll_seeds": lls,
                "fit_s_mean": float(np.mean(fit_s)),
            }
        )
    return {"n": n, "speed": rows, "n_train": n_train, "quality": quality}


def reference_log_prob(model, X, y):
    """Mean held-out log-likelihood of a fitted reference model (float32)."""
    from reference import nll

    Xt = torch.from_numpy(np.asarray(X, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.float32).reshape(len(y), -1))
    with torch.inference_mode():
        return -float(nll(*model(Xt), yt))


def bench_recipe(n_train, epochs, seeds, n_test=20_000):
    """Held-out log-likelihood at the fixed recipe of the ``fit`` section.

    The inverse-sine problem (``make_inverse_sine``, float32 as the
    reference), one network, batch 256, ``epochs`` epochs, early stopping
    off, seeds ``0..seeds-1`` (the reference's ``seed``, skmdn's
    ``random_state``): the reference, skmdn with the reference's recipe
    (``RECIPE``: Adam 1e-3, no input noise) and skmdn at its defaults
    (3e-3, 'auto' noise on every epoch).
    """
    X, y = make_inverse_sine(n_train, random_state=0)
    X_test, y_test = make_inverse_sine(n_test, random_state=1)
    X, y = X.astype(np.float32), y.astype(np.float32)

    def skmdn_ll(seed, params):
        est = MDNRegressor(
            n_components=K,
            n_networks=1,
            hidden_layer_sizes=HIDDEN,
            batch_size=256,
            max_iter=epochs,
            n_iter_no_change=np.inf,
            early_stopping=False,
            random_state=seed,
            **params,
        )
        seconds = _timed(lambda: est.fit(X, y))
        return float(est.log_prob(X_test, y_test).mean()), seconds

    def ref_ll(seed):
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(y[:, None])
        start = time.perf_counter()
        model = fit_reference(
            Xt, Yt, n_components=K, hidden=HIDDEN, epochs=epochs, seed=seed
        )
        seconds = time.perf_counter() - start
        return reference_log_prob(model, X_test, y_test), seconds

    contenders = {
        "reference (Adam 1e-3, no noise)": ref_ll,
        "skmdn, reference recipe (lr 1e-3, no noise)": lambda s: skmdn_ll(s, RECIPE),
        "skmdn defaults (lr 3e-3, 'auto' noise)": lambda s: skmdn_ll(s, {}),
    }
    rows = []
    for name, run in contenders.items():
        lls, secs = zip(*(run(seed) for seed in range(seeds)), strict=True)
        rows.append(
            {
                "contender": name,
                "heldout_ll_mean": float(np.mean(lls)),
                "heldout_ll_sd": float(np.std(lls, ddof=1)) if seeds > 1 else 0.0,
                "heldout_ll_seeds": [float(v) for v in lls],
                "fit_s_mean": float(np.mean(secs)),
            }
        )
    return {"n_train": n_train, "n_test": n_test, "epochs": epochs, "rows": rows}


def bench_memory(n):
    """Peak RSS added by a one-epoch fit, in a fresh process, beside the data size.

    The kernel's peak-RSS mark is reset (``/proc/self/clear_refs``) once the
    data exist, so the peak measured is the fit's own.
    """
    code = f"""
import warnings, numpy as np, torch
torch.set_num_threads(1)
import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})
from speed import make_data
from skmdn import MDNRegressor

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

X, Y = make_data({n})
MDNRegressor(max_iter=1).fit(X[:500], Y[:500, 0])  # warm up torch's allocator
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = rss("VmRSS:")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    MDNRegressor(
        n_components={K}, n_networks=1, max_iter=1, early_stopping=False,
        random_state=0,
    ).fit(X, Y[:, 0])
print(before, rss("VmHWM:"), X.nbytes + Y.nbytes)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    before, peak, data = (int(v) for v in out.stdout.split())
    extra = peak - before
    return {
        "n": n,
        "data_mb": data / 2**20,
        "extra_peak_mb": extra / 2**20,
        "extra_over_data": extra / data,
    }


def bench_quantiles(n, n_components=10):
    rng = np.random.RandomState(0)
    dist = MixtureDistribution(
        rng.dirichlet(np.ones(n_components), size=n),
        rng.normal(size=(n, n_components, 1)),
        np.exp(rng.normal(scale=0.5, size=(n, n_components, 1))),
        squeeze=True,
    )
    q = np.linspace(0.1, 0.9, 9)
    grid = np.broadcast_to(q[None, :, None], (n, 9, 1))
    start = time.perf_counter()
    dist._quantiles(grid)
    return {
        "rows": n,
        "K": n_components,
        "quantiles": 9,
        "seconds": time.perf_counter() - start,
    }


def _solver_dist(n, n_components, spiky, seed=0):
    """Random 1-D mixtures; ``spiky`` mixes scales from 1e-3 to 3 in a row."""
    rng = np.random.RandomState(seed)
    if spiky:
        scales = 10.0 ** rng.uniform(-3, 0.5, size=(n, n_components, 1))
    else:
        scales = np.exp(rng.normal(scale=0.5, size=(n, n_components, 1)))
    return MixtureDistribution(
        rng.dirichlet(np.ones(n_components), size=n),
        rng.normal(size=(n, n_components, 1)),
        scales,
        squeeze=True,
    )


def bench_solvers(n, n_components=10):
    """Cost per row of the quantile, mode and highest-density solvers."""
    grid = np.broadcast_to(np.linspace(0.1, 0.9, 9)[None, :, None], (n, 9, 1))
    rows = []
    for spiky in (False, True):
        dist = _solver_dist(n, n_components, spiky)
        methods = {
            "ppf, 9 levels": lambda dist=dist: dist._quantiles(grid),
            "mode": dist.mode,
            "modes": dist.modes,
            "hpd(0.9)": lambda dist=dist: dist.hpd(0.9),
        }
        for name, func in methods.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds = min(_timed(func) for _ in range(2))
            rows.append(
                {
                    "mixtures": "scales 1e-3..3" if spiky else "log-scales sd 0.5",
                    "K": n_components,
                    "method": name,
                    "us_per_row": seconds / n * 1e6,
                }
            )
    return rows


def bench_ensemble_mode(n_rows=4000):
    """``predict_mode`` of a 5-network x 10-component model: time and peak memory.

    The peak is the largest memory traced by ``tracemalloc`` during the call
    (numpy reports its buffers to it).
    """
    import tracemalloc

    X, Y = make_data(2000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MDNRegressor(
            n_components=10, n_networks=5, max_iter=20, random_state=0
        ).fit(X, Y[:, 0])
    Xq = make_data(n_rows, seed=1)[0]
    est.predict_dist(Xq[:10])  # warm up
    tracemalloc.start()
    start = time.perf_counter()
    est.predict_mode(Xq)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "rows": n_rows,
        "K": 50,
        "seconds": seconds,
        "peak_mb": peak / 2**20,
    }


def bench_precision(n_train):
    """Held-out log-likelihood of float32 and float64 fits of the same problem."""
    X, y = make_inverse_sine(n_train, random_state=0)
    X_test, y_test = make_inverse_sine(50_000, random_state=1)
    rows = []
    for dtype in (np.float32, np.float64):
        ll = []
        for seed in range(3):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = MDNRegressor(random_state=seed).fit(
                    X.astype(dtype), y.astype(dtype)
                )
            ll.append(est.log_prob(X_test, y_test).mean())
        rows.append(
            {
                "dtype": np.dtype(dtype).name,
                "heldout_ll_mean": float(np.mean(ll)),
                "heldout_ll_seeds": [float(v) for v in ll],
            }
        )
    return rows


def table(rows, columns):
    head = "| " + " | ".join(columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    lines = [head, sep]
    for row in rows:
        cells = []
        for c in columns:
            v = row[c]
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, for a smoke run"
    )
    parser.add_argument("--out", default="benchmarks/results/speed.json")
    parser.add_argument(
        "--sections",
        default=(
            "fit,recipe,module,predict,scaling,covariance,memory,quantiles,solvers,"
            "precision"
        ),
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # a benchmark script's own setting; skmdn never sets it
    sections = set(args.sections.split(","))
    quick = args.quick
    result = {
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "skmdn": skmdn.__version__,
            "processor": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(),
        },
        "quick": quick,
    }
    if "fit" in sections:
        n, epochs = (10_000, 3) if quick else (50_000, 10)
        rows = bench_fit(n, epochs, batch_size=256, repeats=2 if quick else 3)
        result["fit"] = {"n": n, "epochs": epochs, "batch_size": 256, "rows": rows}
        print(f"\n## Fit: n={n}, {epochs} epochs, batch 256, K={K}, 64x64 tanh\n")
        print(
            table(
                rows,
                [
                    "contender",
                    "fit_s",
                    "ratio_to_reference",
                    "s_per_epoch",
                    "samples_per_s",
                ],
            )
        )
    if "recipe" in sections:
        n_train, epochs, seeds = (1000, 100, 2) if quick else (5000, 1000, 3)
        res = bench_recipe(n_train, epochs, seeds)
        result["recipe"] = res
        print(
            f"\n## Quality at the fixed recipe: held-out log-likelihood, inverse "
            f"sine, {n_train} rows, {epochs} epochs, batch 256, {seeds} seeds, "
            f"{res['n_test']} test rows\n"
        )
        print(
            table(
                res["rows"],
                ["contender", "heldout_ll_mean", "heldout_ll_sd", "fit_s_mean"],
            )
        )
    if "module" in sections:
        n, n_train = (10_000, 1000) if quick else (50_000, 2000)
        seeds, max_iter = (2, 100) if quick else (3, 2000)
        res = bench_module(n, n_train, seeds, max_iter)
        result["module"] = res
        print(f"\n## Your own module: per-epoch time, n={n}, batch 256, float32\n")
        print(
            table(
                res["speed"], ["path", "s_per_epoch", "samples_per_s", "ratio_to_fused"]
            )
        )
        print(
            f"\n## Your own module: held-out log-likelihood, inverse sine, "
            f"{n_train} rows, {seeds} seeds, max_iter={max_iter}\n"
        )
        print(
            table(
                res["quality"],
                ["path", "heldout_ll_mean", "heldout_ll_sd", "fit_s_mean"],
            )
        )
    if "predict" in sections:
        rows = bench_predict(5000, quick)
        result["predict"] = rows
        print("\n## Predict latency (median)\n")
        print(table(rows, ["rows", "method", "median_ms"]))
    if "scaling" in sections:
        rows = bench_scaling(quick)
        result["scaling"] = rows
        print("\n## Scaling: time per epoch (batch 256)\n")
        print(table(rows, ["n", "K", "D", "s_per_epoch", "samples_per_s"]))
    if "covariance" in sections:
        n = 5000 if quick else 20_000
        res = bench_covariance(n)
        result["covariance"] = res
        print(f"\n## Covariance types: time per epoch, n={n}, K={K}, batch 256\n")
        print(
            table(
                res["epoch"],
                ["D", "covariance_type", "s_per_epoch", "ratio_to_diagonal"],
            )
        )
        print(f"\n## The head alone: one batch of 256 rows, K={K}, float32\n")
        print(
            table(res["head"], ["D", "covariance_type", "path", "us", "ratio_to_fused"])
        )
    if "memory" in sections:
        rows = [
            bench_memory(n) for n in ((100_000,) if quick else (100_000, 1_000_000))
        ]
        result["memory"] = rows
        print("\n## Memory: peak RSS added by one fit epoch\n")
        print(table(rows, ["n", "data_mb", "extra_peak_mb", "extra_over_data"]))
    if "quantiles" in sections:
        row = bench_quantiles(20_000 if quick else 100_000)
        result["quantiles"] = row
        print("\n## Quantiles: ppf of every row at 9 levels\n")
        print(table([row], ["rows", "K", "quantiles", "seconds"]))
    if "solvers" in sections:
        rows = bench_solvers(2000 if quick else 10_000)
        mode_row = bench_ensemble_mode(1000 if quick else 4000)
        result["solvers"] = {"per_row": rows, "ensemble_mode": mode_row}
        print("\n## Solvers: cost per row (one core)\n")
        print(table(rows, ["mixtures", "K", "method", "us_per_row"]))
        print("\n## predict_mode of a 5 x 10-component model\n")
        print(table([mode_row], ["rows", "K", "seconds", "peak_mb"]))
    if "precision" in sections:
        rows = bench_precision(2000 if quick else 10_000)
        result["precision"] = rows
        print("\n## Precision: held-out log-likelihood (inverse sine, 3 seeds)\n")
        print(table(rows, ["dtype", "heldout_ll_mean"]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
