"""VGG16 / ResNet50 / InceptionResNetV2 builders: keras.applications identity, Zhang's placement,
stock weights in every variant, and the ImageNet-weights resolution (never downloads in tests)."""

import re
import time

import keras
import numpy as np
import pytest

from kerasinv import models
from kerasinv.errors import ConfigError, DataNotFoundError
from kerasinv.models import pretrained

# small inputs keep the suite fast; IRV2's minimum is 75
ARCHS = {
    "vgg16": (keras.applications.VGG16, (32, 32, 3)),
    "resnet50": (keras.applications.ResNet50, (32, 32, 3)),
    "inception_resnet_v2": (keras.applications.InceptionResNetV2, (75, 75, 3)),
}
#: VGG16 in ``make test``; ResNet50 and InceptionResNetV2 (~15 s a test on 2 cores) with
#: ``pytest -m slow``: tests/models/test_antialias_zoo.py already checks, for every keras.applications
#: family, that the blur-1 twin is the stock network and that stock weights load into twins.
ARCH_PARAMS = [
    a if a == "vgg16" else pytest.param(a, marks=pytest.mark.slow) for a in sorted(ARCHS)
]

# (kind, layer) changed by blur / aps, per architecture (names of the stock Keras graph)
VGG_CHANGES = {("pool", f"block{i}_pool") for i in range(1, 6)}
RESNET_CHANGES = {("pool", "pool1_pool")} | {
    ("conv1x1", f"conv{s}_block1_{b}_conv") for s in (3, 4, 5) for b in (0, 1)
}


def _base(name: str) -> str:
    """A layer name without Keras's session-dependent numbering (``conv2d_412`` -> ``conv2d``)."""
    return re.sub(r"_\d+(?=/|$)", "", name)


def _images(shape, n=2, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, size=(n, *shape)).astype("float32")


class _StockWeights(dict):
    """``{arch: (stock model, path of its .weights.h5)}``, each built on first use (so a run
    without the slow tests never builds InceptionResNetV2)."""

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def __missing__(self, arch):
        build, shape = ARCHS[arch]
        model = build(weights=None, include_top=False, input_shape=shape)
        path = self.folder / f"{arch}.weights.h5"
        model.save_weights(path)
        self[arch] = (model, path)
        return self[arch]


@pytest.fixture(scope="module")
def stock_weights(tmp_path_factory):
    """Randomly initialised stock models and their weight files, by architecture."""
    return _StockWeights(tmp_path_factory.mktemp("weights"))


@pytest.mark.parametrize("arch", ARCH_PARAMS)
def test_plain_builder_is_keras_applications(arch):
    build, shape = ARCHS[arch]
    keras.backend.clear_session()  # both start from the same automatic-name counters
    stock = build(weights=None, include_top=True, input_shape=shape, classes=7)
    keras.backend.clear_session()
    ours = getattr(models, arch)(weights=None, include_top=True, input_shape=shape, classes=7)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in stock.layers]
    assert [w.shape for w in ours.weights] == [w.shape for w in stock.weights]
    assert [w.path for w in ours.weights] == [w.path for w in stock.weights]
    ours.set_weights(stock.get_weights())
    x = _images(shape)
    np.testing.assert_array_equal(ours.predict_on_batch(x), stock.predict_on_batch(x))


@pytest.mark.parametrize("arch", ARCH_PARAMS)
@pytest.mark.parametrize("method", ["blur-4", "aps"])
def test_stock_weights_load_into_every_variant(arch, method, stock_weights):
    stock, path = stock_weights[arch]
    shape = ARCHS[arch][1]
    twin = getattr(models, arch)(
        weights=path, include_top=False, input_shape=shape, antialias=method
    )
    assert [_base(w.path) for w in twin.weights] == [_base(w.path) for w in stock.weights]
    for a, b in zip(twin.get_weights(), stock.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert {_base(layer.name) for layer in stock.layers} <= {
        _base(layer.name) for layer in twin.layers
    }
    assert twin.output.shape == stock.output.shape
    if method == "aps":
        return  # the direct-load check below is the same for both methods; once is enough
    # the file also loads into a twin built without weights, by Keras's own load_weights
    empty = getattr(models, arch)(
        weights=None, include_top=False, input_shape=shape, antialias=method
    )
    empty.load_weights(path)
    for a, b in zip(empty.get_weights(), stock.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("arch", ARCH_PARAMS)
def test_blur_1_is_the_stock_network(arch, stock_weights):
    """Filter size 1 is plain subsampling at the stock sampling grid: identical outputs."""
    stock, path = stock_weights[arch]
    shape = ARCHS[arch][1]
    twin = getattr(models, arch)(
        weights=path, include_top=False, input_shape=shape, antialias="blur-1"
    )
    x = _images(shape)
    np.testing.assert_allclose(twin.predict_on_batch(x), stock.predict_on_batch(x), atol=1e-5)


def test_placement_vgg16_and_resnet50():
    for arch, expected in (("vgg16", VGG_CHANGES), ("resnet50", RESNET_CHANGES)):
        build, shape = ARCHS[arch]
        changes = models.plan_antialias(build(weights=None, include_top=False, input_shape=shape))
        assert {(c.kind, c.layer) for c in changes if c.kind != "skipped"} == expected
    skipped = [c.layer for c in changes if c.kind == "skipped"]
    assert skipped == ["conv1_conv"]  # Zhang leaves the ResNet stem conv alone


@pytest.mark.slow
def test_placement_inception_resnet_v2(stock_weights):
    stock = stock_weights["inception_resnet_v2"][0]
    changes = models.plan_antialias(stock, leave_stem=False)
    strided = [
        layer.name for layer in stock.layers if getattr(layer, "strides", (1, 1)) in ((2, 2), 2)
    ]
    assert sorted(c.layer for c in changes) == sorted(strided)
    assert (
        len(strided) == 10
    )  # stem: 1 conv + 2 pools; mixed_6a: 2 convs + pool; mixed_7a: 3 + pool
    assert {c.kind for c in changes} == {"conv", "pool"}


def test_resnet_branch_and_shortcut_each_blur_their_input():
    from kerasinv.layers.antialias import BlurredConv2D

    twin = models.resnet50(
        weights=None, include_top=False, input_shape=(32, 32, 3), antialias="blur-3"
    )
    blurred = [layer.name for layer in twin.layers if isinstance(layer, BlurredConv2D)]
    assert blurred == [
        f"conv{stage}_block1_{branch}_conv" for stage in (3, 4, 5) for branch in (1, 0)
    ]
    assert {twin.get_layer(name).blur for name in blurred} == {"before"}
    assert twin.get_layer("conv3_block1_0_conv").strides == (1, 1)
    assert twin.get_layer("pool1_pool").__class__.__name__ == "MaxBlurPool2D"
    assert len(twin.layers) == len(
        models.resnet50(weights=None, include_top=False, input_shape=(32, 32, 3)).layers
    )


def test_input_tensor_and_name_are_honoured():
    inputs = keras.Input((32, 32, 3))
    model = models.vgg16(
        weights=None, include_top=False, input_tensor=inputs, antialias="blur-2", name="aa_vgg"
    )
    assert model.inputs[0] is inputs and model.name == "aa_vgg"
    assert model.predict_on_batch(_images((32, 32, 3))).shape == (2, 1, 1, 512)


def test_registry_entries_build_untrained():
    assert {"vgg16", "resnet50", "inception-resnet-v2"} <= set(models.names())
    model = models.get("vgg16", classes=10, input_shape=(32, 32, 3), antialias="aps")
    assert model.output_shape == (None, 10)


def test_bad_arguments_are_explained(tmp_path):
    with pytest.raises(ValueError, match="antialias must be"):
        models.vgg16(weights=None, antialias="blur-9")
    with pytest.raises(ConfigError, match="classes=1000"):
        models.vgg16(weights="imagenet", classes=10)
    with pytest.raises(DataNotFoundError, match="is not a file"):
        models.resnet50(weights=tmp_path / "missing.h5")
    with pytest.raises(ValueError, match="antialias_padding"):
        models.vgg16(weights=None, antialias="blur-4", antialias_padding="mirror")


@pytest.mark.parametrize("offline_flag", ["1", None])
def test_imagenet_weights_offline_fail_fast(isolated_home, monkeypatch, offline_flag):
    if offline_flag:
        monkeypatch.setenv("KERASINV_OFFLINE", offline_flag)
    else:
        monkeypatch.delenv("KERASINV_OFFLINE", raising=False)
        if pretrained.reachable(timeout=2):
            pytest.skip("the weights server is reachable: this test would download 58 MB")
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError) as err:
        models.resnet50(weights="imagenet", include_top=False)
    assert time.perf_counter() - start < 5
    message = str(err.value)
    expected = (
        isolated_home / ".keras" / "models" / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )
    assert str(expected) in message and "weights=PATH" in message


def test_cached_imagenet_weights_are_found_without_network(isolated_home, monkeypatch):
    monkeypatch.setenv("KERASINV_OFFLINE", "1")
    cached = pretrained.keras_cache_dir() / pretrained.IMAGENET_WEIGHTS[("vgg16", False)].fname
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"stand-in")
    assert pretrained.ensure_imagenet_weights("vgg16", include_top=False) == cached


@pytest.mark.parametrize("antialias", [f"blur-{k}" for k in range(1, 8)] + ["aps-1", "aps-3"])
def test_every_antialias_option_builds_and_keeps_the_weights(antialias):
    twin = models.vgg16(
        weights=None, include_top=False, input_shape=(32, 32, 3), antialias=antialias
    )
    assert len(twin.weights) == 26  # 13 convs, kernel + bias, nothing added
    assert twin.predict_on_batch(_images((32, 32, 3))).shape == (2, 1, 1, 512)


def test_the_registry_follows_keras_applications_defaults():
    """models.get without classes: 1,000 for the ImageNet networks, as keras.applications, and
    10 for the CIFAR ones; antialias() and the CLI share one default method, blur-3."""
    import inspect

    import kerasinv

    assert models.get("resnet50", input_shape=(64, 64, 3)).output_shape[-1] == 1000
    assert models.get("all-cnn-c", width=0.125).output_shape[-1] == 10
    assert models.get("all-cnn-c", classes=100, width=0.125).output_shape[-1] == 100
    assert inspect.signature(kerasinv.antialias).parameters["method"].default == "blur-3"
