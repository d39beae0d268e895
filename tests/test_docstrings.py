"""Every docstring example of the package runs and prints what it shows (doctest)."""

import doctest
import importlib
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "jaxrnn"
MODULES = sorted(
    f"jaxrnn.{path.stem}" for path in PACKAGE.glob("*.py") if ">>>" in path.read_text()
)


def test_the_examples_are_found():
    assert len(MODULES) >= 5, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    failed, attempted = doctest.testmod(module, optionflags=flags, report=True)
    assert attempted > 0, f"{name}: its '>>>' examples were not collected"
    assert failed == 0, f"{name}: {failed} of {attempted} docstring examples failed (above)"
