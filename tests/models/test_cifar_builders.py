"""VGG-CIFAR and the downsampling-variant CNN (Ruderman recipe); All-CNN's batch-norm options."""

import keras
import numpy as np
import pytest

from kerasinv import models
from kerasinv.models.downsampling_cnn import DOWNSAMPLING


@pytest.mark.parametrize("depth, convs", [(11, 8), (13, 10), (16, 13)])
def test_vgg_cifar_layout(depth, convs):
    m = models.get(f"vgg{depth}-cifar", width=0.125)
    assert m.output_shape == (None, 10)
    conv = [layer for layer in m.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(conv) == convs
    assert m.get_layer("pool5").output.shape[1:3] == (1, 1)  # 32 / 2^5


def test_vgg_cifar_blur1_twin_is_the_plain_network():
    """MaxPool(2) at stride 1 then subsampling at even positions = MaxPool(2, 2): same outputs with
    the same weights, so the filter-size-1 'variant' is the baseline."""
    plain = models.get("vgg13-cifar", width=0.125)
    twin = models.get("vgg13-cifar", width=0.125, antialias="blur-1")
    assert [w.shape for w in plain.weights] == [w.shape for w in twin.weights]
    twin.set_weights(plain.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(plain(x), twin(x), atol=1e-6)
    blurred = models.get("vgg13-cifar", width=0.125, antialias="blur-3")
    assert len(blurred.weights) == len(plain.weights)


def test_downsampling_networks_differ_only_in_downsampling():
    counts = {k: models.get(f"downsampling-{k}", width=0.25).count_params() for k in DOWNSAMPLING}
    assert len(set(counts.values())) == 1, counts
    shapes = {
        k: [
            tuple(models.get(f"downsampling-{k}", width=0.25).get_layer(n).output.shape[1:3])
            for n in models.probe_layers()[:-1]
        ]
        for k in DOWNSAMPLING
    }
    for kind, sizes in shapes.items():
        expected = [(32, 32)] * 4 if kind == "none" else [(16, 16), (8, 8), (4, 4), (4, 4)]
        assert sizes == expected, kind


def test_subsample_variant_keeps_every_second_pixel():
    m = models.get("downsampling-subsample", width=0.125)
    probe = keras.Model(m.inputs, [m.get_layer("conv1").output, m.get_layer("stage1").output])
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    dense, down = (np.asarray(t) for t in probe(x))
    np.testing.assert_allclose(down, dense[:, ::2, ::2], atol=1e-6)


def test_allcnn_batch_norm_and_input_normalization():
    mean, std = [120.0, 110.0, 100.0], [60.0, 50.0, 40.0]
    m = models.get("all-cnn-c", width=0.125, batch_norm=True, input_normalization=(mean, std))
    bns = [layer for layer in m.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 8  # every conv but the class conv
    assert not m.get_layer("conv1").use_bias and m.get_layer("conv9").use_bias
    norm = keras.Model(m.inputs, m.get_layer("normalize").output)
    x = np.full((1, 32, 32, 3), [180.0, 160.0, 140.0], "float32")
    np.testing.assert_allclose(norm(x)[0, 0, 0], [1.0, 1.0, 1.0], atol=1e-5)
    twin = models.get("all-cnn-c", width=0.125, batch_norm=True, antialias="aps")
    assert len(twin.weights) == len(models.get("all-cnn-c", width=0.125, batch_norm=True).weights)
