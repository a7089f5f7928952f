"""Sphinx configuration for the skmdn documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``. The
build is offline by default: intersphinx links to the scikit-learn, numpy,
scipy, matplotlib and Python docs are made only when ``SKMDN_DOCS_INTERSPHINX=1``
is set (their inventories are downloaded).
"""

import os
import pkgutil
import re
import warnings
from importlib import import_module
from pathlib import Path

import skmdn

# -- project -------------------------------------------------------------------

project = "skmdn"
author = "skmdn developers"
copyright = "skmdn developers, BSD-3-Clause"
release = skmdn.__version__
version = ".".join(release.split(".")[:2])

# -- general -------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.md5"]
default_role = "literal"
pygments_style = "sphinx"

autosummary_generate = True
autodoc_typehints = "none"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- intersphinx: off unless asked for, so that CI builds offline ---------------

if os.environ.get("SKMDN_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
    }
else:
    intersphinx_mapping = {}

# -- HTML ----------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skmdn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False

# -- sphinx-gallery ------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skmdn",),
    "backreferences_dir": "generated",
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "matplotlib_animations": False,
    "abort_on_example_error": True,
}

# Examples run on the Agg backend, and their warnings are not the docs' concern.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is")

# -- references that can only resolve online -------------------------------------
#
# Docstrings point at scikit-learn's glossary (:term:`fit`) and user guide
# (:ref:`metadata_routing`, through inherited methods). Offline, those targets
# are unknown: render them as plain text instead of failing the build. References
# written in these pages themselves (outside the generated API pages) still warn.


def _offline_reference(app, env, node, contnode):
    if intersphinx_mapping:
        return None
    if node.get("reftype") == "term":
        return contnode
    if node.get("reftype") == "ref" and node.get("refdoc", "").startswith("generated/"):
        return contnode
    return None


# -- every public object is in the API reference ---------------------------------


def _public_modules():
    yield skmdn
    for info in pkgutil.iter_modules(skmdn.__path__):
        if not info.name.startswith("_"):
            yield import_module(f"skmdn.{info.name}")


def _documented_names(api_rst):
    """Qualified names listed in api.rst's autosummary tables."""
    names, module, in_table = set(), "skmdn", False
    for line in api_rst.read_text().splitlines():
        match = re.match(r"\.\. currentmodule:: ([\w.]+)", line)
        if match:
            module = match.group(1)
        if line.startswith(".. autosummary::"):
            in_table = True
            continue
        if in_table:
            if line and not line[0].isspace():
                in_table = False
                continue
            entry = line.strip()
            if entry and not entry.startswith(":"):
                names.add(f"{module}.{entry.lstrip('~')}")
    return names


def _check_api_reference(app):
    from sphinx.util import logging

    logger = logging.getLogger("skmdn.docs")
    api_rst = Path(app.srcdir) / "api.rst"
    documented = _documented_names(api_rst)
    for module in _public_modules():
        if module.__name__ == "skmdn.__main__":
            continue
        for name in getattr(module, "__all__", []):
            qualified = f"{module.__name__}.{name}"
            if not name.startswith("__") and qualified not in documented:
                logger.warning(
                    "%s is public (in %s.__all__) but missing from api.rst",
                    qualified,
                    module.__name__,
                    location=str(api_rst),
                )


def setup(app):
    app.connect("missing-reference", _offline_reference)
    app.connect("builder-inited", _check_api_reference)
