"""The package's layout rules that a refactor could silently break."""

import pathlib
import subprocess
import sys
import textwrap

import skmdn

MIXTURE = pathlib.Path(skmdn.__file__).parent / "_mixture"
# every module of the numpy maths package, and the distribution on top of it
MODULES = [
    *sorted(f"_mixture.{p.stem}" for p in MIXTURE.glob("*.py")),
    "_distribution",
]


def test_distribution_and_numpy_maths_import_no_torch():
    # import the modules without skmdn/__init__ (which imports the estimator
    # and so torch), and check that torch was never imported
    code = textwrap.dedent(
        f"""
        import importlib, importlib.util, pathlib, sys, types
        spec = importlib.util.find_spec("skmdn")
        package = types.ModuleType("skmdn")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["skmdn"] = package
        for name in {MODULES!r}:
            importlib.import_module(f"skmdn.{{name}}".removesuffix(".__init__"))
        assert "MixtureDistribution" in dir(sys.modules["skmdn._distribution"])
        print("torch" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False", result.stderr


def test_the_maths_package_lists_every_module():
    # a module left out of the check above would escape it
    assert "_mixture.density" in MODULES
    assert "_mixture.critical" in MODULES
