"""The layer contract (``tests/layers/contract.py``) as ordinary tests, under whichever Keras
backend is active: TensorFlow in ``make test``'s own process, JAX in the fresh process that
``tests/layers/test_backends.py`` starts (``KERAS_BACKEND=jax``)."""

import keras
import pytest

from tests.layers import contract

#: the twins run in make test under TensorFlow; under another backend they wait for -m slow
slow_off_tensorflow = (lambda f: f) if keras.backend.backend() == "tensorflow" else pytest.mark.slow


@pytest.mark.parametrize("case", contract.CASES, ids=lambda c: c.id)
def test_values_and_config_round_trip(case):
    contract.check_values(case)


@pytest.mark.parametrize(
    "case",
    [
        c if c.id in contract.QUICK_TRAINED else pytest.param(c, marks=pytest.mark.slow)
        for c in contract.CASES
        if c.id in contract.TRAINED
    ],
    ids=lambda c: c.id,
)  # three in make test, one per layer class with -m slow
def test_training_and_saving(case, tmp_path):
    contract.check_training_and_saving(case, tmp_path)


@slow_off_tensorflow
def test_antialias_twins(tmp_path):
    contract.check_antialias_twins(tmp_path)


def test_docstring_examples():
    contract.check_examples()
