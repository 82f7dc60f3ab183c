import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasinv.layers import Pad2D, PolyphasePool2D
from tests.layers import reference as ref


def reference(x):
    return ref.aps(x)


@pytest.mark.parametrize("hw", [(8, 8), (9, 7), (2, 2), (1, 1)])
def test_selects_the_largest_component(hw):
    x = np.random.default_rng(0).normal(size=(4, *hw, 3)).astype(np.float32)
    layer = PolyphasePool2D()
    got = np.asarray(layer(x))
    np.testing.assert_array_equal(got, reference(x))
    assert tuple(got.shape) == layer.compute_output_shape(x.shape)


def test_circular_shift_permutes_components():
    x = np.random.default_rng(1).normal(size=(3, 8, 8, 2)).astype(np.float32)
    layer = PolyphasePool2D()
    base = np.asarray(layer(x))
    for dy, dx in [(1, 0), (0, 1), (1, 1), (3, 5)]:
        shifted = np.asarray(layer(np.roll(x, (dy, dx), axis=(1, 2))))
        # each example keeps the same content, circularly shifted by a coarse offset of its own
        for b in range(len(x)):
            assert any(
                np.array_equal(shifted[b], np.roll(base[b], (p, q), axis=(0, 1)))
                for p in range(4)
                for q in range(4)
            )


def test_a_circular_aps_network_is_invariant_to_every_circular_shift():
    keras.utils.set_random_seed(0)

    def net(pool):
        inputs = keras.Input((16, 16, 3))
        x = inputs
        for filters in (8, 16):
            x = Pad2D(1, 1, "circular")(x)
            x = keras.layers.Conv2D(filters, 3, activation="relu")(x)
            x = pool()(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(10)(x))

    aps = net(lambda: PolyphasePool2D(filter_size=3))
    plain = net(lambda: keras.layers.MaxPooling2D(1, 2))  # stride-2 subsampling, same convs
    rng = np.random.default_rng(2)
    x = rng.normal(size=(32, 16, 16, 3)).astype(np.float32)
    ref_aps = np.argmax(aps.predict(x, verbose=0), axis=1)
    ref_plain = np.argmax(plain.predict(x, verbose=0), axis=1)
    agree_aps, agree_plain = [], []
    for _ in range(10):
        dy, dx = rng.integers(-8, 8, size=2)
        xs = np.roll(x, (dy, dx), axis=(1, 2))
        agree_aps.append(np.argmax(aps.predict(xs, verbose=0), axis=1) == ref_aps)
        agree_plain.append(np.argmax(plain.predict(xs, verbose=0), axis=1) == ref_plain)
    assert np.mean(agree_aps) == 1.0  # 100 % consistency
    assert np.mean(agree_plain) < 1.0  # while plain subsampling is not shift-invariant


def test_xla_and_round_trip(tmp_path):
    x = tf.constant(np.random.default_rng(3).normal(size=(2, 10, 10, 4)).astype(np.float32))
    layer = PolyphasePool2D(filter_size=4, criterion="l1")
    np.testing.assert_allclose(
        layer(x).numpy(), tf.function(layer, jit_compile=True)(x).numpy(), atol=1e-6
    )
    inputs = keras.Input((10, 10, 4))
    model = keras.Model(
        inputs, PolyphasePool2D(filter_size=4, criterion="l1")(Pad2D(1, 1, "reflect")(inputs))
    )
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError):
        PolyphasePool2D(criterion="l3")
