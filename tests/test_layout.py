"""The package's layout rules that a refactor could silently break."""

import subprocess
import sys
import textwrap


def test_distribution_and_numpy_maths_import_no_torch():
    # load the two modules by file, without skmdn/__init__ (which imports the
    # estimator and so torch), and check that torch was never imported
    code = textwrap.dedent(
        """
        import importlib.util, pathlib, sys, types
        spec = importlib.util.find_spec("skmdn")
        root = pathlib.Path(spec.submodule_search_locations[0])
        package = types.ModuleType("skmdn")
        package.__path__ = [str(root)]
        sys.modules["skmdn"] = package
        for name in ("_numerics", "_distribution"):
            module_spec = importlib.util.spec_from_file_location(
                f"skmdn.{name}", root / f"{name}.py"
            )
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[f"skmdn.{name}"] = module
            module_spec.loader.exec_module(module)
        assert "MixtureDistribution" in dir(sys.modules["skmdn._distribution"])
        print("torch" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False", result.stderr
