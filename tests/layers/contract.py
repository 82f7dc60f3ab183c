"""The layer contract, run under whichever Keras backend is active (``KERAS_BACKEND``).

Every custom layer of :mod:`kerasinv.layers` (and the twins :func:`kerasinv.antialias` makes) must,
on every backend:

1. compute the NumPy reference's values (``tests/layers/reference.py``) with the shape its
   ``compute_output_shape`` announces;
2. survive a config round trip (``from_config(get_config())``) with the same outputs;
3. pass gradients: a small model around it trains (the conv before it changes, stays finite);
4. save to ``.keras`` and load back with the same predictions, built for any input size.

Values and round trips are checked for every configuration in :data:`CASES`; training and saving
for one configuration per layer class (:data:`TRAINED`).

This module imports only Keras, NumPy and kerasinv. ``tests/layers/test_contract.py`` runs these
checks as ordinary pytest tests under the active backend; ``tests/layers/test_backends.py`` runs
that module again under JAX, in a fresh process (a Keras backend is fixed at import).
"""

from __future__ import annotations

import doctest
import importlib
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

import kerasinv
from kerasinv import layers as L
from kerasinv.layers.antialias import BLURRED
from tests.layers import reference as ref

ATOL = 1e-4


@dataclass(frozen=True)
class Case:
    """One layer configuration: ``make()`` builds it, ``expected(x, layer)`` is the NumPy reference
    (``layer`` gives a weighted layer's variables)."""

    id: str
    make: object
    shape: tuple
    expected: object


def _blur(k, padding, offset):
    def expected(x, layer):
        o = ref.same_offset(int(offset[5:]), x.shape[1]) if isinstance(offset, str) else offset
        return ref.blurpool(x, k, 2, padding, o)

    return Case(
        f"BlurPool2D-{k}-{padding}-{offset}",
        lambda: L.BlurPool2D(k, 2, padding, offset),
        (9, 9, 3) if k == 3 else (8, 8, 3),
        expected,
    )


def _stock_then_blur(base, kwargs, antialias, k):
    """A ``Blurred<base>``: the stock layer with the twin's variables, then the NumPy blur."""

    def expected(x, layer):
        stock = getattr(keras.layers, base)(**kwargs)
        stock.build(x.shape)
        stock.set_weights(layer.get_weights())
        dense = np.asarray(keras.ops.convert_to_numpy(stock(x)), np.float64)
        return (
            ref.blurpool(dense, k, 2, "reflect")
            if antialias.startswith("blur")
            else ref.aps(dense, k)
        )

    return Case(
        f"Blurred{base}-{antialias}",
        lambda: BLURRED[base](antialias=antialias, **kwargs),
        (8, 8, 4),
        expected,
    )


CASES = [
    *(_blur(k, p, 0) for k in (1, 3, 4) for p in ("reflect", "zero")),
    *(_blur(4, p, 0) for p in ("symmetric", "circular")),
    _blur(3, "reflect", 1),
    _blur(3, "reflect", "same-3"),
    Case(
        "Pad2D-circular",
        lambda: L.Pad2D(1, 2, "circular"),
        (5, 6, 2),
        lambda x, _: np.pad(x, [(0, 0), (1, 2), (1, 2), (0, 0)], mode="wrap"),
    ),
    Case(
        "Pad2D-reflect",
        lambda: L.Pad2D(2, 1, "reflect"),
        (5, 6, 2),
        lambda x, _: np.pad(x, [(0, 0), (2, 1), (2, 1), (0, 0)], mode="reflect"),
    ),
    Case("PolyphasePool2D", lambda: L.PolyphasePool2D(), (8, 8, 3), lambda x, _: ref.aps(x)),
    Case("PolyphasePool2D-odd", lambda: L.PolyphasePool2D(), (9, 7, 3), lambda x, _: ref.aps(x)),
    Case(
        "PolyphasePool2D-blur-3",
        lambda: L.PolyphasePool2D(3),
        (8, 8, 3),
        lambda x, _: ref.aps(x, 3),
    ),
    Case(
        "LearnablePolyphasePool2D",
        lambda: L.LearnablePolyphasePool2D(),
        (8, 8, 3),
        lambda x, layer: ref.lps(x, layer),
    ),
    Case(
        "LearnablePolyphasePool2D-odd-blur-3",
        lambda: L.LearnablePolyphasePool2D(3, hidden=5),
        (9, 7, 4),
        lambda x, layer: ref.lps(x, layer, 3),
    ),
    Case(
        "MaxBlurPool2D-blur-3",
        lambda: L.MaxBlurPool2D(2, antialias="blur-3"),
        (9, 9, 3),
        lambda x, _: ref.blurpool(ref.max_pool_dense(x, 2), 3, 2, "reflect"),
    ),
    Case(
        "MaxBlurPool2D-aps",
        lambda: L.MaxBlurPool2D(2, antialias="aps"),
        (9, 9, 3),
        lambda x, _: ref.aps(ref.max_pool_dense(x, 2)),
    ),
    _stock_then_blur("Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same"}, "blur-4", 4),
    _stock_then_blur("DepthwiseConv2D", {"kernel_size": 3, "padding": "same"}, "blur-3", 3),
    _stock_then_blur("ReLU", {}, "aps", 1),
    _stock_then_blur("BatchNormalization", {}, "blur-2", 2),
]


#: trained and saved in ``make test`` (the rest of :data:`TRAINED` with ``-m slow``)
QUICK_TRAINED = (
    "BlurPool2D-3-reflect-same-3", "PolyphasePool2D-blur-3", "BlurredConv2D-blur-4",
    "LearnablePolyphasePool2D",
)  # fmt: skip
#: one configuration per layer class (and the offset path) for the training and saving check
TRAINED = (
    "BlurPool2D-4-reflect-0", "BlurPool2D-3-reflect-same-3", "Pad2D-circular",
    "PolyphasePool2D-blur-3", "MaxBlurPool2D-aps", "BlurredConv2D-blur-4",
    "BlurredBatchNormalization-blur-2", "LearnablePolyphasePool2D",
)  # fmt: skip


def _numpy(x) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x))


def check_values(case: Case) -> None:
    """Values against the NumPy reference, shape against ``compute_output_shape``."""
    x = np.random.default_rng(0).normal(size=(2, *case.shape)).astype("float32")
    layer = case.make()
    got = _numpy(layer(x))
    assert tuple(got.shape) == tuple(layer.compute_output_shape(x.shape)), case.id
    np.testing.assert_allclose(got, case.expected(x, layer), atol=ATOL, err_msg=case.id)
    twin = type(layer).from_config(layer.get_config())
    twin.build(x.shape)
    twin.set_weights(layer.get_weights())
    np.testing.assert_allclose(_numpy(twin(x)), got, atol=1e-6, err_msg=f"{case.id} round trip")


def _model(case: Case, size=None) -> keras.Model:
    h, w, c = case.shape
    inputs = keras.Input((size, size, c) if size is None else (h, w, c))
    x = keras.layers.Conv2D(c, 3, padding="same", name="before")(inputs)
    x = case.make()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


def check_training_and_saving(case: Case, folder: Path) -> None:
    """Gradients reach the conv before the layer; the trained model saves and loads, also when
    built for any input size."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, *case.shape)).astype("float32")
    y = rng.normal(size=(4, 2)).astype("float32")
    for size in (None,):  # any size: the static-size path is exercised by check_values
        model = _model(case, size=size)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        before = _numpy(model.get_layer("before").kernel).copy()
        model.train_on_batch(x, y)
        after = _numpy(model.get_layer("before").kernel)
        assert np.all(np.isfinite(after)) and not np.allclose(before, after), case.id
        path = folder / f"{case.id}-{size}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_allclose(
            _numpy(loaded.predict_on_batch(x)), _numpy(model.predict_on_batch(x)), atol=1e-5,
            err_msg=f"{case.id} save/load ({size})",
        )  # fmt: skip


def check_antialias_twins(folder: Path, methods=("blur-3", "aps", "lps")) -> None:
    """``kerasinv.antialias`` on a small CNN with every strided layer kind: blur-1 is the stock
    function; the blur-3 and APS twins run, train, save and load."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.AveragePooling2D(2, padding="same")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    stock = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    images = np.random.default_rng(2).uniform(0, 1, (4, 16, 16, 3)).astype("float32")
    plain = _numpy(stock.predict_on_batch(images))
    same = _numpy(kerasinv.antialias(stock, "blur-1").predict_on_batch(images))
    np.testing.assert_allclose(same, plain, rtol=1e-5, atol=1e-6)
    for method in methods:
        twin = kerasinv.antialias(stock, method)
        twin.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        loss = twin.train_on_batch(images, np.array([0, 1, 2, 0]))
        assert np.isfinite(float(np.asarray(loss).ravel()[0])), method
        path = folder / f"twin-{method}.keras"
        twin.save(path)
        np.testing.assert_allclose(
            _numpy(keras.saving.load_model(path).predict_on_batch(images)),
            _numpy(twin.predict_on_batch(images)), atol=1e-5, err_msg=method,
        )  # fmt: skip


#: modules whose ``Example:`` sections run under every backend
DOCTEST_MODULES = (
    "kerasinv.layers.antialias", "kerasinv.layers.aps", "kerasinv.layers.blurpool",
    "kerasinv.layers.lps",
)  # fmt: skip


def check_examples() -> None:
    for name in DOCTEST_MODULES:
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, name
