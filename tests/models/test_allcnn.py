import keras
import numpy as np
import pytest

from kerasinv import models
from kerasinv.errors import UnknownNameError

# papers.md §1.3: exact counts (with biases) for 10 classes.
PARAMS = {
    "model-a": 839_242,
    "strided-cnn-a": 839_242,
    "convpool-cnn-a": 1_254_250,
    "all-cnn-a": 1_254_250,
    "model-b": 885_610,
    "strided-cnn-b": 885_610,
    "convpool-cnn-b": 1_300_618,
    "all-cnn-b": 1_300_618,
    "model-c": 954_730,
    "strided-cnn-c": 954_730,
    "convpool-cnn-c": 1_369_738,
    "all-cnn-c": 1_369_738,
}


def test_registry_has_the_twelve_paper_models():
    assert set(PARAMS) <= set(models.names())


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_count_and_shapes(name):
    model = models.get(name)
    assert model.count_params() == PARAMS[name]
    assert model.output_shape == (None, 10)
    # the global average runs over 6x6 (Caffe-style ceil pooling, valid 3x3 head conv)
    gap_input = model.get_layer("global_average").input.shape
    assert tuple(gap_input[1:3]) == (6, 6)
    probs = model(np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32"))
    np.testing.assert_allclose(np.sum(probs, axis=1), 1.0, rtol=1e-5)


def test_layer_structure_follows_the_paper():
    c = models.get("all-cnn-c")
    convs = [layer for layer in c.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(layer.kernel_size[0], layer.strides[0], layer.filters) for layer in convs] == [
        (3, 1, 96), (3, 1, 96), (3, 2, 96), (3, 1, 192), (3, 1, 192), (3, 2, 192),
        (3, 1, 192), (1, 1, 192), (1, 1, 10),
    ]  # fmt: skip
    assert all(layer.activation.__name__ == "relu" for layer in convs)  # class conv too (paper)
    drops = [layer.rate for layer in c.layers if isinstance(layer, keras.layers.Dropout)]
    assert drops == [0.2, 0.5, 0.5]
    strided = models.get("strided-cnn-b")
    s_convs = [layer for layer in strided.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.strides[0] for layer in s_convs[:4]] == [1, 2, 1, 2]  # the 1x1 before each pool
    pools = [
        layer
        for layer in models.get("model-a").layers
        if isinstance(layer, keras.layers.MaxPooling2D)
    ]
    assert [(p.pool_size, p.strides, p.padding) for p in pools] == [((3, 3), (2, 2), "same")] * 2


def test_options():
    no_relu = models.get("model-c", class_relu=False)
    assert no_relu.get_layer("conv7").activation.__name__ == "linear"
    small = models.get("all-cnn-c", width=0.25, classes=100)
    assert small.output_shape == (None, 100)
    assert small.get_layer("conv1").filters == 24
    no_drop = models.get("model-a", dropout=False)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in no_drop.layers)
    decayed = models.get("model-a", weight_decay=1e-3)
    decayed(np.zeros((1, 32, 32, 3), "float32"))
    kernel_sq = sum(float(np.sum(np.square(w))) for w in decayed.trainable_weights if w.ndim == 4)
    assert float(sum(decayed.losses)) == pytest.approx(
        0.5e-3 * kernel_sq, rel=1e-4
    )  # Caffe's λ/2·‖w‖²


def test_unknown_name():
    with pytest.raises(UnknownNameError, match="all-cnn-c"):
        models.get("all-cnn-x")
    assert models.get("ALL_CNN_C").name == "all_cnn_c"


@pytest.mark.parametrize("name", ["model-a", "strided-cnn-b", "convpool-cnn-c", "all-cnn-c"])
@pytest.mark.parametrize("antialias", ["blur-4", "blur-1", "aps", "aps-3"])
def test_antialiased_twin_keeps_every_weight(name, antialias):
    plain = models.get(name)
    twin = models.get(name, antialias=antialias)
    assert [(w.path, tuple(w.shape)) for w in twin.weights] == [
        (w.path, tuple(w.shape)) for w in plain.weights
    ]
    twin.set_weights(plain.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    assert twin(x).shape == (2, 10)
    downsamplers = [layer for layer in twin.layers if "pool" in type(layer).__name__.lower()]
    assert downsamplers and not any(
        type(layer) is keras.layers.MaxPooling2D for layer in twin.layers
    )
    strided = [
        layer
        for layer in twin.layers
        if isinstance(layer, keras.layers.Conv2D) and layer.strides != (1, 1)
    ]
    assert strided == []


def test_blur_1_is_the_plain_network_on_the_even_sampling_grid():
    """With the 1-tap filter the twin subsamples the dense maps at even positions (Zhang's grid);
    Keras's stride-2 'same' ops on even maps sample odd positions. Check the documented phase on
    the first strided conv of All-CNN-C."""
    plain = models.get("all-cnn-c", dropout=False)
    twin = models.get("all-cnn-c", dropout=False, antialias="blur-1")
    twin.set_weights(plain.get_weights())
    x = np.random.default_rng(1).normal(size=(2, 32, 32, 3)).astype("float32")
    dense = keras.Model(twin.input, twin.get_layer("conv3").output)(x)
    strided = keras.Model(plain.input, plain.get_layer("conv3").output)(x)
    subsampled = keras.Model(twin.input, twin.get_layer("blur_conv3").output)(x)
    np.testing.assert_allclose(np.asarray(subsampled), np.asarray(dense)[:, ::2, ::2], atol=1e-6)
    np.testing.assert_allclose(np.asarray(strided), np.asarray(dense)[:, 1::2, 1::2], atol=1e-5)


def test_bad_antialias_spec():
    with pytest.raises(ValueError, match="blur-K"):
        models.get("all-cnn-c", antialias="blur-9")


def test_even_grid_samples_the_positions_caffe_samples_and_equals_the_blur_1_twin():
    """``sampling_grid="even"``: a stride-2 conv samples positions 0, 2, 4, … (Caffe's pad 1), so the
    plain network and its blur-1 twin are one function; weights are unchanged."""
    plain = models.get("all-cnn-c", dropout=False, sampling_grid="even")
    dense = models.get("all-cnn-c", dropout=False, antialias="blur-1")
    assert [w.shape for w in plain.weights] == [w.shape for w in dense.weights]
    dense.set_weights(plain.get_weights())
    x = np.random.default_rng(2).normal(size=(2, 32, 32, 3)).astype("float32")
    full = keras.Model(dense.input, dense.get_layer("conv3").output)(x)
    strided = keras.Model(plain.input, plain.get_layer("conv3").output)(x)
    np.testing.assert_allclose(np.asarray(strided), np.asarray(full)[:, ::2, ::2], atol=1e-5)
    np.testing.assert_allclose(np.asarray(plain(x)), np.asarray(dense(x)), rtol=1e-5, atol=1e-6)
    a5 = models.get("strided-cnn-a", dropout=False, sampling_grid="even")
    assert a5.get_layer("pad2").padding == ((2, 2), (2, 2))  # 5x5 conv: pad 2, as Caffe's


def test_lecun_uniform_is_caffes_fan_in_xavier_and_biases_can_be_decayed():
    """Caffe's ``xavier`` filler (FAN_IN default): U(±√(3/fan_in)); the first conv of All-CNN-C
    has fan-in 27 (Glorot's bound there would be √(6/(27+864)), 4x smaller)."""
    keras.utils.set_random_seed(0)
    model = models.get(
        "all-cnn-c", kernel_initializer="lecun_uniform", weight_decay=0.001, bias_decay=True
    )
    for name, fan_in in (("conv1", 27), ("conv4", 9 * 96), ("conv8", 192)):
        kernel = np.asarray(model.get_layer(name).kernel)
        bound = np.sqrt(3.0 / fan_in)
        assert np.abs(kernel).max() <= bound
        assert np.abs(kernel).max() > 0.95 * bound  # fills the range
        np.testing.assert_allclose(kernel.std(), bound / np.sqrt(3.0), rtol=0.1)
    conv = model.get_layer("conv1")
    assert conv.bias_regularizer is not None and conv.kernel_regularizer is not None
    # Caffe's convention: the decay term's gradient is λ·w, for biases as for weights
    assert conv.bias_regularizer.l2 == pytest.approx(0.0005)
    plain = models.get("all-cnn-c", weight_decay=0.001)
    assert plain.get_layer("conv1").bias_regularizer is None
