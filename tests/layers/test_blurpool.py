import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasinv.layers import BlurPool2D, binomial_filter
from tests.layers import reference as ref


def reference(x, k, s, padding):
    return ref.blurpool(x, k, s, padding)


def test_binomial_rows_match_the_paper():
    assert np.allclose(binomial_filter(3)[1] / binomial_filter(3)[1].min(), [1, 2, 1])
    assert np.allclose(binomial_filter(5)[2] / binomial_filter(5)[2].min(), [1, 4, 6, 4, 1])
    for k in range(1, 8):
        assert binomial_filter(k).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        binomial_filter(8)


@pytest.mark.parametrize("k", range(1, 8))
@pytest.mark.parametrize("size", [8, 9])
def test_output_shape_table(k, size):
    x = np.zeros((1, size, size + 1, 2), np.float32)
    layer = BlurPool2D(k)
    expected = (1, -(-size // 2), -(-(size + 1) // 2), 2)
    assert tuple(layer(x).shape) == expected
    assert layer.compute_output_shape(x.shape) == expected


@pytest.mark.parametrize("padding", ["reflect", "symmetric", "zero"])
@pytest.mark.parametrize("k", [2, 3, 4, 5, 7])
@pytest.mark.parametrize("hw", [(9, 8), (2, 2), (1, 3), (16, 13)])
def test_values_against_numpy(padding, k, hw):
    x = np.random.default_rng(k).normal(size=(2, *hw, 3)).astype(np.float32)
    got = np.asarray(BlurPool2D(k, padding=padding)(x))
    np.testing.assert_allclose(got, reference(x, k, 2, padding), atol=1e-5)


@pytest.mark.parametrize("padding", ["reflect", "symmetric", "circular"])
@pytest.mark.parametrize(  # networks use stride 2; 1 and 3 re-prove the same code: -m slow
    "strides", [pytest.param(1, marks=pytest.mark.slow), 2, pytest.param(3, marks=pytest.mark.slow)]
)
def test_static_border_path_equals_padding_the_whole_map(padding, strides):
    """Known H, W take the fast path (interior conv + recomputed border strips); unknown H, W pad
    the whole map. Both must equal NumPy for every filter size and small and odd sizes."""
    rng = np.random.default_rng(strides)
    for k in range(2, 8):
        layer = BlurPool2D(k, strides=strides, padding=padding)
        dynamic = tf.function(layer, input_signature=[tf.TensorSpec((None, None, None, 2))])
        for h, w in [(2, 3), (5, 7), (8, 8), (11, 6), (12, 13)]:
            x = rng.normal(size=(2, h, w, 2)).astype(np.float32)
            expected = reference(x, k, strides, padding)
            np.testing.assert_allclose(np.asarray(layer(x)), expected, atol=1e-5)
            np.testing.assert_allclose(dynamic(x).numpy(), expected, atol=1e-5)


def test_filter_size_one_is_strided_slicing_and_strides_three():
    x = np.random.default_rng(0).normal(size=(2, 7, 6, 3)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(BlurPool2D(1)(x)), x[:, ::2, ::2, :])
    np.testing.assert_allclose(
        np.asarray(BlurPool2D(3, strides=3)(x)), reference(x, 3, 3, "reflect"), atol=1e-5
    )


def test_constant_input_stays_constant_and_no_weights():
    layer = BlurPool2D(5)
    out = layer(np.full((1, 6, 6, 4), 3.0, np.float32))
    np.testing.assert_allclose(np.asarray(out), 3.0, rtol=1e-6)
    assert layer.weights == []


def test_eager_equals_xla_and_float16():
    x = tf.constant(np.random.default_rng(1).normal(size=(2, 10, 10, 3)).astype(np.float32))
    layer = BlurPool2D(4)
    eager = layer(x)
    compiled = tf.function(layer, jit_compile=True)(x)
    np.testing.assert_allclose(eager.numpy(), compiled.numpy(), atol=1e-6)
    for policy, dtype in [("mixed_float16", tf.float16), ("mixed_bfloat16", tf.bfloat16)]:
        low = BlurPool2D(4, dtype=policy)(x)
        assert low.dtype == dtype
        np.testing.assert_allclose(tf.cast(low, tf.float32).numpy(), eager.numpy(), atol=5e-2)


def test_gradient_is_the_adjoint():
    x = tf.constant(np.random.default_rng(2).normal(size=(1, 6, 6, 2)).astype(np.float32))
    layer = BlurPool2D(3, padding="zero")
    v = tf.constant(np.random.default_rng(3).normal(size=(1, 3, 3, 2)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(layer(x) * v)
    grad = tape.gradient(y, x)
    # <A x, v> = <x, A^T v>: the gradient of <A x, v> is A^T v; check by finite linearity
    e = tf.constant(np.random.default_rng(4).normal(size=x.shape).astype(np.float32))
    lhs = tf.reduce_sum(layer(e) * v)
    np.testing.assert_allclose(lhs.numpy(), tf.reduce_sum(grad * e).numpy(), rtol=1e-4)


def test_serialisation_round_trip(tmp_path):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(
        inputs, BlurPool2D(5, padding="symmetric")(keras.layers.Conv2D(4, 3)(inputs))
    )
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(5).normal(size=(2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    layer = loaded.layers[-1]
    assert (layer.filter_size, layer.strides, layer.padding) == (5, 2, "symmetric")
    with pytest.raises(ValueError):
        BlurPool2D(4, padding="wrap")


def test_max_blur_pool_matches_the_pool_it_replaces():
    from kerasinv.layers import MaxBlurPool2D

    for pool, padding, size in [(2, "valid", 224), (3, "same", 32), (3, "same", 8)]:
        x = np.zeros((1, size, size, 2), np.float32)
        plain = keras.layers.MaxPooling2D(pool, strides=2, padding=padding)(x).shape
        for aa in ("blur-4", "aps"):
            assert MaxBlurPool2D(pool, padding=padding, antialias=aa)(x).shape == plain
    x = np.random.default_rng(6).normal(size=(1, 6, 6, 2)).astype(np.float32)
    layer = MaxBlurPool2D(2, antialias="blur-1")  # 1-tap: max at stride 1 then subsample = max pool
    np.testing.assert_array_equal(
        np.asarray(layer(x)), np.asarray(keras.layers.MaxPooling2D(2, 2)(x))
    )
    config = MaxBlurPool2D(3, "same", "aps-2").get_config()
    assert MaxBlurPool2D.from_config(config).antialias == "aps-2"
