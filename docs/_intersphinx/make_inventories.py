"""Write the small intersphinx inventories that let the docs build offline.

The documentation links to scikit-learn, matplotlib, joblib and Python
objects. Instead of downloading those projects' full inventories at build
time, ``docs/conf.py`` reads the small ``*.inv`` files next to this script,
which list only the targets these docs reference, with their public URLs.
Run this script after adding a reference to another external object::

    python docs/_intersphinx/make_inventories.py

A reference that is missing here makes the nitpicky build (``-n``) fail with
"reference target not found", which names the object to add. The files are
written with Sphinx's own inventory writer.
"""

from pathlib import Path
from types import SimpleNamespace

from sphinx.util.inventory import InventoryFile

# project: (base URL, version, {(domain, type): [(name, page, anchor, title)]})
# The page is relative to the base URL, without ".html"; the anchor "$" stands
# for the object's name, as in Sphinx's own inventories.
_SKLEARN_API = [
    ("sklearn.compose.TransformedTargetRegressor", "class"),
    ("sklearn.ensemble.BaggingRegressor", "class"),
    ("sklearn.exceptions.ConvergenceWarning", "class"),
    ("sklearn.preprocessing.OneHotEncoder", "class"),
    ("sklearn.preprocessing.TargetEncoder", "class"),
    ("sklearn.base.clone", "function"),
    ("sklearn.ensemble.HistGradientBoostingRegressor", "class"),
    ("sklearn.gaussian_process.GaussianProcessRegressor", "class"),
    ("sklearn.mixture.GaussianMixture", "class"),
    ("sklearn.model_selection.GridSearchCV", "class"),
    ("sklearn.multioutput.MultiOutputRegressor", "class"),
    ("sklearn.neural_network.MLPRegressor", "class"),
    ("sklearn.pipeline.Pipeline", "class"),
    ("sklearn.preprocessing.StandardScaler", "class"),
    ("sklearn.preprocessing.MinMaxScaler", "class"),
    ("sklearn.preprocessing.MaxAbsScaler", "class"),
    ("sklearn.preprocessing.SplineTransformer", "class"),
    ("sklearn.preprocessing.RobustScaler", "class"),
    ("sklearn.preprocessing.QuantileTransformer", "class"),
    ("sklearn.utils.metadata_routing.MetadataRequest", "class"),
    ("sklearn.metrics.mean_pinball_loss", "function"),
    ("sklearn.metrics.r2_score", "function"),
    ("sklearn.model_selection.cross_validate", "function"),
    ("sklearn.set_config", "function"),
]

# Glossary terms and user-guide sections that scikit-learn's docstrings, which
# skmdn's estimator inherits, refer to.
_SKLEARN_TERMS = ["fit", "meta-estimator", "random_state"]
_SKLEARN_LABELS = [
    ("metadata_routing", "metadata_routing", "metadata-routing", "Metadata Routing"),
    (
        "r2_score",
        "modules/model_evaluation",
        "r2-score",
        "R² score, the coefficient of determination",
    ),
]

_SKLEARN_METHODS = [
    ("sklearn.base.BaseEstimator", "set_params"),
    ("sklearn.preprocessing.StandardScaler", "partial_fit"),
]

_SCIPY_FUNCTIONS = [
    "scipy.integrate.quad",
    "scipy.linalg.solve_triangular",
    "scipy.special.log_ndtr",
    "scipy.stats.multivariate_normal",
]
_SCIPY_METHODS = [
    "scipy.stats.rv_continuous.expect",
    "scipy.stats.rv_continuous.moment",
    "scipy.stats.rv_continuous.stats",
    "scipy.stats.rv_discrete.entropy",
    "scipy.stats.rv_discrete.expect",
    "scipy.stats.rv_discrete.interval",
    "scipy.stats.rv_discrete.isf",
    "scipy.stats.rv_discrete.moment",
    "scipy.stats.rv_discrete.ppf",
    "scipy.stats.rv_discrete.stats",
    "scipy.stats.rv_discrete.support",
]
_SCIPY_CLASSES = ["scipy.stats.rv_discrete"]
_DASK_ML_CLASSES = [
    "dask_ml.model_selection.GridSearchCV",
    "dask_ml.wrappers.Incremental",
    "dask_ml.wrappers.ParallelPostFit",
]

_MATPLOTLIB_METHODS = [
    "matplotlib.axes.Axes.pcolormesh",
    "matplotlib.axes.Axes.scatter",
]

INVENTORIES = {
    "sklearn": (
        "https://scikit-learn.org/stable",
        "1.9",
        {
            **{
                ("py", kind): [
                    (name, f"modules/generated/{name}", "$", "-")
                    for name, k in _SKLEARN_API
                    if k == kind
                ]
                for kind in ("class", "function")
            },
            ("py", "module"): [
                ("sklearn.datasets", "api/sklearn.datasets", "module-$", "-"),
            ],
            ("py", "method"): [
                (
                    f"{cls}.{meth}",
                    f"modules/generated/{cls}",
                    "$",
                    "-",
                )
                for cls, meth in _SKLEARN_METHODS
            ],
            ("std", "term"): [
                (term, "glossary", f"term-{term}", "-") for term in _SKLEARN_TERMS
            ],
            ("std", "label"): _SKLEARN_LABELS,
        },
    ),
    "matplotlib": (
        "https://matplotlib.org/stable",
        "3.11",
        {
            ("py", "method"): [
                (name, f"api/_as_gen/{name}", "$", "-") for name in _MATPLOTLIB_METHODS
            ],
        },
    ),
    "joblib": (
        "https://joblib.readthedocs.io/en/stable",
        "1.5",
        {("py", "function"): [("joblib.dump", "generated/joblib.dump", "$", "-")]},
    ),
    "scipy": (
        "https://docs.scipy.org/doc/scipy",
        "1.17",
        {
            ("py", "module"): [("scipy.stats", "reference/stats", "module-$", "-")],
            ("py", "function"): [
                (name, f"reference/generated/{name}", "$", "-")
                for name in _SCIPY_FUNCTIONS
            ],
            ("py", "method"): [
                (name, f"reference/generated/{name}", "$", "-")
                for name in _SCIPY_METHODS
            ],
            ("py", "class"): [
                (name, f"reference/generated/{name}", "$", "-")
                for name in _SCIPY_CLASSES
            ],
        },
    ),
    "dask_ml": (
        "https://ml.dask.org",
        "2025.1",
        {
            ("py", "class"): [
                (name, f"modules/generated/{name}", "$", "-")
                for name in _DASK_ML_CLASSES
            ],
        },
    ),
    "distributed": (
        "https://distributed.dask.org/en/stable",
        "2026.8",
        {
            ("py", "class"): [
                ("distributed.Client", "api", "$", "-"),
                ("distributed.LocalCluster", "api", "$", "-"),
            ],
        },
    ),
    "python": (
        "https://docs.python.org/3",
        "3.11",
        {("py", "module"): [("pickle", "library/pickle", "module-$", "-")]},
    ),
}


class _Domain:
    """The part of a Sphinx domain that the inventory writer reads."""

    def __init__(self, name, objects):
        self.name = name
        self._objects = objects

    def get_objects(self):
        for (_, kind), entries in self._objects.items():
            for name, page, anchor, title in entries:
                anchor = anchor.replace("$", name)
                yield name, name if title == "-" else title, kind, page, anchor, 1


def write(project, version, objects, path):
    """Write one inventory with Sphinx's writer, from stand-ins for its inputs.

    Parameters
    ----------
    project : str
        Name of the documented project.
    version : str
        Its version, for the header.
    objects : dict
        ``{(domain, type): [(name, page, anchor, title), ...]}``.
    path : pathlib.Path
        Where to write the inventory.
    """
    domains = [
        _Domain(domain, {k: v for k, v in objects.items() if k[0] == domain})
        for domain in sorted({domain for domain, _ in objects})
    ]
    env = SimpleNamespace(
        config=SimpleNamespace(project=project, version=version),
        domains=SimpleNamespace(sorted=lambda: domains),
    )
    builder = SimpleNamespace(get_target_uri=lambda page: f"{page}.html")
    InventoryFile.dump(path, env, builder)


def main():
    """Write every inventory next to this script."""
    here = Path(__file__).parent
    for project, (_, version, objects) in INVENTORIES.items():
        path = here / f"{project}.inv"
        write(project, version, objects, path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
