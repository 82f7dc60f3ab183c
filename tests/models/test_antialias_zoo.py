"""``antialias`` over keras.applications: every CNN gets a twin, and the ``blur-1`` twin computes the
stock function (random weights, small inputs). One network per family runs in ``make test``, but
for the seven slowest families (:data:`SLOW_FAMILIES`); those and the rest of the zoo run with
``pytest -m slow``."""

import keras
import numpy as np
import pytest

import kerasinv
from kerasinv.models import plan_antialias

A = keras.applications

#: (builder, input size, extra keyword arguments): one per family, the smallest member
FAMILIES = {
    "ConvNeXtTiny": (A.ConvNeXtTiny, 32, {}),
    "DenseNet121": (A.DenseNet121, 32, {}),
    "EfficientNetB0": (A.EfficientNetB0, 32, {}),
    "EfficientNetV2B0": (A.EfficientNetV2B0, 32, {}),
    "InceptionV3": (A.InceptionV3, 75, {}),
    "InceptionResNetV2": (A.InceptionResNetV2, 75, {}),
    "MobileNet": (A.MobileNet, 32, {}),
    "MobileNetV2": (A.MobileNetV2, 32, {}),
    "MobileNetV3Small": (A.MobileNetV3Small, 32, {"include_preprocessing": False}),
    "NASNetMobile": (A.NASNetMobile, 32, {}),
    "ResNet50": (A.ResNet50, 32, {}),
    "ResNet50V2": (A.ResNet50V2, 32, {}),
    "VGG16": (A.VGG16, 32, {}),
    "Xception": (A.Xception, 71, {}),
}
#: the rest of keras.applications' CNNs
REST = {
    **{
        f"ConvNeXt{s}": (getattr(A, f"ConvNeXt{s}"), 32, {})
        for s in ("Small", "Base", "Large", "XLarge")
    },
    "DenseNet169": (A.DenseNet169, 32, {}),
    "DenseNet201": (A.DenseNet201, 32, {}),
    **{f"EfficientNetB{i}": (getattr(A, f"EfficientNetB{i}"), 32, {}) for i in range(1, 8)},
    **{
        f"EfficientNetV2{s}": (getattr(A, f"EfficientNetV2{s}"), 32, {})
        for s in ("B1", "B2", "B3", "S", "M", "L")
    },
    "MobileNetV3Large": (A.MobileNetV3Large, 32, {"include_preprocessing": False}),
    "NASNetLarge": (A.NASNetLarge, 32, {}),
    "ResNet101": (A.ResNet101, 32, {}),
    "ResNet152": (A.ResNet152, 32, {}),
    "ResNet101V2": (A.ResNet101V2, 32, {}),
    "ResNet152V2": (A.ResNet152V2, 32, {}),
    "VGG19": (A.VGG19, 32, {}),
}


def _check_twin(name, build, size, extra, tmp_path=None):
    stock = build(weights=None, include_top=False, input_shape=(size, size, 3), **extra)
    x = np.random.default_rng(0).normal(size=(2, size, size, 3)).astype("float32")
    plan = plan_antialias(stock, "blur-1")
    assert any(c.kind != "skipped" for c in plan), f"{name}: nothing anti-aliased"
    twin = kerasinv.antialias(stock, "blur-1")
    want, got = np.asarray(stock(x)), np.asarray(twin(x))
    scale = np.abs(want).max() + 1e-12
    assert np.abs(got - want).max() / scale < 1e-5, name
    # the twin's weights are the stock's, in the stock's order
    assert [tuple(w.shape) for w in twin.weights] == [tuple(w.shape) for w in stock.weights]
    return stock, twin, x


#: the slowest to build (5-12 s each on 2 cores) run with ``pytest -m slow``
SLOW_FAMILIES = (
    "ConvNeXtTiny", "DenseNet121", "EfficientNetV2B0", "InceptionResNetV2", "InceptionV3",
    "NASNetMobile", "Xception",
)  # fmt: skip


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if n in SLOW_FAMILIES else n
        for n in sorted(FAMILIES)
    ],
)
def test_blur_1_twin_is_the_stock_network(name):
    _check_twin(name, *FAMILIES[name])


@pytest.mark.parametrize(
    "name", ["MobileNetV3Small", "ResNet50", pytest.param("NASNetMobile", marks=pytest.mark.slow)]
)
def test_stock_weights_load_positionally_and_from_a_file_into_a_blurred_twin(name, tmp_path):
    build, size, extra = FAMILIES[name]
    stock = build(weights=None, include_top=False, input_shape=(size, size, 3), **extra)
    twin = kerasinv.antialias(stock, "blur-3")
    for w in twin.weights:  # start from other values, so loading is what makes them equal
        w.assign(np.zeros(w.shape, w.dtype))
    twin.set_weights(stock.get_weights())
    for a, b in zip(twin.get_weights(), stock.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    path = tmp_path / "stock.weights.h5"
    stock.save_weights(path)
    fresh = kerasinv.antialias(stock, "aps")
    for w in fresh.weights:
        w.assign(np.zeros(w.shape, w.dtype))
    fresh.load_weights(path)
    for a, b in zip(fresh.get_weights(), stock.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(1).normal(size=(2, size, size, 3)).astype("float32")
    blurred, plain = np.asarray(twin(x)), np.asarray(stock(x))
    assert blurred.shape == plain.shape
    assert np.abs(blurred - plain).max() > 1e-3 * np.abs(plain).max()  # it blurs


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REST))
def test_blur_1_twin_is_the_stock_network_rest_of_the_zoo(name):
    _check_twin(name, *REST[name])
