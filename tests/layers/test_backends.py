"""The layer contract (``tests/layers/contract.py``) under TensorFlow, in this process, and under JAX,
in a fresh process (a Keras backend is fixed at import). PyTorch is not run: the registry's torch
wheel pulls the CUDA libraries, gigabytes beyond the test budget."""

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from tests.layers import contract

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("case", contract.CASES, ids=lambda c: c.id)
def test_values_and_round_trip_under_tensorflow(case):
    assert keras.backend.backend() == "tensorflow"
    contract.check_values(case)


@pytest.mark.parametrize(
    "case",
    [
        c if c.id in contract.QUICK_TRAINED else pytest.param(c, marks=pytest.mark.slow)
        for c in contract.CASES
        if c.id in contract.TRAINED
    ],
    ids=lambda c: c.id,
)  # the three of --quick in make test, one per layer class with -m slow
def test_training_and_saving_under_tensorflow(case, tmp_path):
    contract.check_training_and_saving(case, tmp_path)


def test_antialias_twins_under_tensorflow(tmp_path):
    contract.check_antialias_twins(tmp_path)


@pytest.mark.parametrize(
    "extent", ["--quick", pytest.param("--whole", marks=pytest.mark.slow)]
)  # --quick: every configuration's values, three trained; the whole contract with -m slow
def test_the_contract_under_jax(extent):
    pytest.importorskip("jax", reason="JAX is a test extra: pip install -e .[test]")
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.layers.contract", extent], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    summary = [
        line for line in result.stdout.splitlines() if line.startswith(("backend", "FAILED"))
    ]
    assert result.returncode == 0, "\n".join(summary) or result.stderr[-2000:]
    assert summary[0].startswith("backend jax: ")
