"""The ``Example:`` sections of the public layers' and ``antialias``'s docstrings run as written."""

import doctest
import importlib

import pytest

MODULES = [
    importlib.import_module(name)
    for name in (
        "kerasinv.layers.antialias",
        "kerasinv.layers.aps",
        "kerasinv.layers.blurpool",
        "kerasinv.models.twins",
    )
]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_examples_run_as_written(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
