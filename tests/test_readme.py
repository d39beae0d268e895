"""The README's Python examples run as written."""

import pathlib
import re

import pytest
from conftest import import_torch

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_examples():
    assert BLOCKS


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
    if "import torch" in BLOCKS[index]:
        import_torch()  # skips without torch, unless CI requires it
    exec(compile(BLOCKS[index], f"README.md[python block {index}]", "exec"), {})
