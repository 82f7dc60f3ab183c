"""The layer contract under JAX: ``tests/layers/test_contract.py`` run by pytest in a fresh process
with ``KERAS_BACKEND=jax`` (a Keras backend is fixed at import; this process is TensorFlow's, where
the same module runs as part of the suite). PyTorch is not run: the registry's torch wheel pulls
the CUDA libraries, gigabytes beyond the test budget."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "selection", ["not slow", pytest.param("", marks=pytest.mark.slow)], ids=["quick", "whole"]
)  # quick: every configuration's values, three trained; the whole contract with -m slow
def test_the_contract_under_jax(selection):
    pytest.importorskip("jax", reason="JAX is a test extra: pip install -e .[test]")
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/layers/test_contract.py", "-q", "-p",
         "no:cacheprovider", "-m", selection, "-W", "ignore"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    tail = result.stdout[-3000:]
    assert result.returncode == 0, tail or result.stderr[-2000:]
    assert re.search(r"\d+ passed", tail) and "failed" not in tail, tail
