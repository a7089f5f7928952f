import os

# One thread per test process. The models in the tests are tiny, so torch's
# intra-op threads buy nothing, and on a busy machine their OpenMP spin-wait
# costs a lot: on a loaded 2-core machine the suite took 31 minutes with
# torch's default threads and about 2 with one. This must happen before numpy,
# scipy and torch are imported, so that their thread pools start with one
# thread (subprocesses inherit it too). An OMP_NUM_THREADS set by the caller
# is respected. The library itself never changes torch's threads; only the
# tests do, here.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# scikit-learn's array-API common check runs only when SciPy's array API
# support is switched on, which must happen before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import pytest
import torch
from hypothesis import settings

from skmdn._module import ModuleTrainer
from skmdn._network import FusedTrainer

try:
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
except ValueError:  # e.g. a nested setting such as "4,2": leave torch's choice
    pass

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def patch_run_epoch(monkeypatch):
    """Wrap ``run_epoch`` of every trainer: ``patch(wrapper)``.

    ``wrapper(real, trainer, data)`` runs in place of each epoch, with
    ``real(trainer, data)`` the trainer's own ``run_epoch`` (the fused
    trainer of the built-in MLP and the autograd trainer of a module alike).
    """

    def patch(wrapper):
        for cls in (FusedTrainer, ModuleTrainer):
            real = cls.run_epoch

            def run_epoch(self, data, real=real):
                return wrapper(real, self, data)

            monkeypatch.setattr(cls, "run_epoch", run_epoch)

    return patch
