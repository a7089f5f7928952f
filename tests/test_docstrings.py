"""numpydoc validation of every public object's docstring."""

import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

import skmdn  # noqa: E402
import skmdn.datasets  # noqa: E402
import skmdn.exceptions  # noqa: E402
import skmdn.interop  # noqa: E402
import skmdn.metrics  # noqa: E402
import skmdn.plotting  # noqa: E402

# Checks left out, as in scikit-learn: extended summaries, examples and
# "See Also" sections are welcome but not required on every method.
IGNORED = {"ES01", "EX01", "SA01", "GL08", "RT02"}


def _public_objects():
    modules = (
        skmdn,
        skmdn.datasets,
        skmdn.exceptions,
        skmdn.interop,
        skmdn.metrics,
        skmdn.plotting,
    )
    for module in modules:
        for name in module.__all__:
            if name.startswith("__"):
                continue
            try:
                obj = getattr(module, name)
            except ImportError:  # an optional dependency (skpro) is absent
                continue
            qualname = f"{module.__name__}.{name}"
            yield qualname
            if inspect.isclass(obj):
                # its own methods and those of skmdn's mixins it inherits
                own = [
                    (attr, member)
                    for cls in reversed(obj.__mro__)
                    if cls.__module__.startswith("skmdn")
                    for attr, member in vars(cls).items()
                ]
                for attr, member in dict(own).items():
                    is_method = callable(member) or isinstance(
                        member, (classmethod, staticmethod)
                    )
                    if attr.startswith("_") or not is_method:
                        continue
                    function = getattr(member, "__func__", member)
                    if not getattr(function, "__module__", "").startswith("skmdn"):
                        continue  # skpro's methods, which its base classes add
                    yield f"{qualname}.{attr}"


@pytest.mark.parametrize("name", sorted(set(_public_objects())))
def test_docstring(name):
    result = numpydoc_validate.validate(name)
    errors = [(code, msg) for code, msg in result["errors"] if code not in IGNORED]
    assert not errors, "\n".join(f"{code}: {msg}" for code, msg in errors)
