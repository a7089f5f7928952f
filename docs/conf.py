"""Sphinx configuration for the skmdn documentation.

Build with ``sphinx-build -W -n --keep-going -b html docs docs/_build/html``.
The build is offline: intersphinx links to the scikit-learn, matplotlib,
joblib and Python docs come from small inventories in ``docs/_intersphinx``
(written by ``docs/_intersphinx/make_inventories.py``), not from the network.
"""

import os
import pkgutil
import re
import subprocess
import sys
import tarfile
import tempfile
import warnings
from importlib import import_module
from pathlib import Path

import skmdn

# docs/ itself, for the gallery's sort key (_gallery_order.py).
sys.path.insert(0, str(Path(__file__).parent))

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

# Every cross-reference must resolve: a broken one is a warning, and CI builds
# with -W.
nitpicky = True

# -- intersphinx: offline, from inventories checked into docs/_intersphinx -------
#
# Each inventory lists only the external objects these docs refer to, with their
# public URLs; the build never downloads anything. After referring to another
# external object, add it to docs/_intersphinx/make_inventories.py and run it.

intersphinx_mapping = {
    name: (url, f"_intersphinx/{name}.inv")
    for name, url in {
        "python": "https://docs.python.org/3",
        "sklearn": "https://scikit-learn.org/stable",
        "matplotlib": "https://matplotlib.org/stable",
        "joblib": "https://joblib.readthedocs.io/en/stable",
        "scipy": "https://docs.scipy.org/doc/scipy",
        "dask_ml": "https://ml.dask.org",
        "distributed": "https://distributed.dask.org/en/stable",
    }.items()
}

# -- HTML ----------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
# Where the site is published: the HTML repr of skmdn's estimators (in
# notebooks) links to {html_baseurl}generated/<module>.<Class>.html, the pages
# autosummary writes (MDNRegressor._doc_link_template).
html_baseurl = "https://skmdn.readthedocs.io/en/stable/"
html_title = f"skmdn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
# The page's table of contents names methods without their class
# ("conditional_density()", not "MDNRegressor.conditional_density()"), so that
# they fit the sidebar instead of being cut off (docs/_static/skmdn.css wraps
# what is still too long).
toc_object_entries_show_parents = "hide"
# The hand-written pages have no sub-pages: without this their (empty) section
# navigation would take a third of the width from the text. The API reference
# and the gallery keep theirs.
html_sidebars = {
    page: []
    for page in (
        "index",
        "getting_started",
        "user_guide",
        "hyperparameters",
        "howto",
        "comparison",
        "evidence",
        "performance",
        "changelog",
    )
}

html_static_path = ["_static"]
html_css_files = ["skmdn.css"]

# -- math: MathJax served by the built site itself, never by a CDN ---------------
#
# Sphinx's default MathJax comes from cdn.jsdelivr.net, so without a network every
# formula shows as raw LaTeX. The build instead unpacks MathJax from the npm
# registry (``npm pack``) into the git-ignored docs/_mathjax once, and copies it
# into the site's _static/mathjax. SKMDN_MATHJAX_DIR may name a folder whose
# mathjax/ subfolder already holds an unpacked copy (mathjax/tex-chtml.js,
# input/, output/ ...), for a build without the registry. .ci/run checks that
# no page loads a script from outside the site.

MATHJAX_VERSION = "3.2.2"
# Of the npm package's es5/ build: the TeX-to-CommonHTML bundle and the parts it
# loads on demand (fonts, TeX extensions, the menu, accessibility).
_MATHJAX_PARTS = ("tex-chtml.js", "input/", "output/chtml", "ui/", "a11y/", "sre/")


def _unpack_mathjax(target):
    with tempfile.TemporaryDirectory() as tmp:
        package = f"mathjax@{MATHJAX_VERSION}"
        subprocess.run(
            ["npm", "pack", "--silent", package, "--pack-destination", tmp],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (tarball,) = Path(tmp).glob("mathjax-*.tgz")
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                name = member.name.removeprefix("package/es5/")
                if member.isfile() and name.startswith(_MATHJAX_PARTS):
                    member.name = name
                    tar.extract(member, target, filter="data")


def _mathjax_static():
    """A folder holding ``mathjax/tex-chtml.js``, unpacked from npm if needed."""
    given = os.environ.get("SKMDN_MATHJAX_DIR")
    if given:
        return Path(given).resolve()
    root = Path(__file__).parent / "_mathjax" / MATHJAX_VERSION
    if not (root / "mathjax" / "tex-chtml.js").is_file():
        try:
            _unpack_mathjax(root / "mathjax")
        except (OSError, subprocess.CalledProcessError) as exc:
            raise RuntimeError(
                f"Could not unpack MathJax {MATHJAX_VERSION} with npm ({exc}); "
                "install npm, or set SKMDN_MATHJAX_DIR to a folder whose mathjax/ "
                "holds the npm package's es5/ files."
            ) from exc
    return root


html_static_path.append(str(_mathjax_static()))
mathjax_path = "mathjax/tex-chtml.js"

# -- sphinx-gallery ------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "within_subsection_order": "_gallery_order.ExampleOrder",
    "doc_module": ("skmdn",),
    "backreferences_dir": "generated",
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "matplotlib_animations": False,
    "abort_on_example_error": True,
    # Its page of computation times loads jQuery and DataTables from CDNs: the
    # site must load no script from outside itself (see .ci/run).
    "write_computation_times": False,
}

# Examples run on the Agg backend, and their warnings are not the docs' concern.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is")

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


def _skip_skpro_members(app, what, name, obj, skip, options):
    """Leave out the methods skpro's base classes add to skmdn's skpro adapters.

    skpro copies its public distribution methods (with its own docstrings)
    into every subclass; they are skpro's, documented by skpro.
    """
    function = getattr(obj, "__func__", obj)
    if str(getattr(function, "__module__", "")).startswith("skpro"):
        return True
    return None


def setup(app):
    app.connect("builder-inited", _check_api_reference)
    app.connect("autodoc-skip-member", _skip_skpro_members)
