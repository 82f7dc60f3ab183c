"""``kerasinv.antialias``: Zhang's three rules on arbitrary functional / Sequential CNNs."""

import keras
import numpy as np
import pytest

import kerasinv
from kerasinv import models
from kerasinv.layers.antialias import BlurredConv2D, BlurredReLU
from tests.helpers import SHARED_DATA

MOBILENET_WEIGHTS = SHARED_DATA / "mobilenet_0.75_224_imagenet.weights.h5"
PHOTOS = SHARED_DATA / "imagenet-samples-100.tar"


def small_cnn():
    """Stem strided conv, strided conv+BN+ReLU, same-padded max pool, strided 1x1, avg pool."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="stem")(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="valid", use_bias=False, name="c2")(x)
    x = keras.layers.BatchNormalization(name="c2_bn")(x)
    x = keras.layers.ReLU(name="c2_relu")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="mp")(x)
    y = keras.layers.Conv2D(16, 1, strides=2, name="proj")(x)
    z = keras.layers.Conv2D(16, 1, strides=2, name="branch")(x)
    x = keras.layers.Add(name="add")([y, z])
    x = keras.layers.AveragePooling2D(2, name="ap")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(5, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="small")


def _x(shape=(32, 32, 3), n=3):
    return np.random.default_rng(1).normal(size=(n, *shape)).astype("float32")


def test_plan_and_report():
    changes = models.plan_antialias(small_cnn(), "blur-3")
    assert [(c.layer, c.kind) for c in changes] == [
        ("stem", "skipped"),
        ("c2", "conv"),
        ("mp", "pool"),
        ("proj", "conv1x1"),
        ("branch", "conv1x1"),
        ("ap", "pool"),
    ]
    assert "through c2_relu, then blur-3" in str(changes[1])
    report = models.format_report(changes, "blur-3")
    assert report.startswith("antialias blur-3: 5 layers changed, 1 skipped")


@pytest.mark.parametrize("method", ["blur-4", "aps", "aps-3"])
def test_twin_keeps_weights_names_and_shapes(method):
    model = small_cnn()
    twin = kerasinv.antialias(model, method)
    assert twin is not model and twin.name == f"{model.name}_{method.replace('-', '')}"
    assert [w.path for w in twin.weights] == [w.path for w in model.weights]
    for a, b in zip(twin.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    dense = {"c2", "c2_bn"}  # evaluated at stride 1; the blur follows the ReLU
    for layer in model.layers:
        if layer.name not in dense:
            assert twin.get_layer(layer.name).output.shape == layer.output.shape
    assert len(twin.layers) == len(model.layers)  # layers are swapped, never added
    assert twin.get_layer("c2").strides == (1, 1)
    assert isinstance(twin.get_layer("c2_relu"), BlurredReLU)
    # the strided 1x1 convs blur their input, then run at stride 1
    for name in ("proj", "branch"):
        conv = twin.get_layer(name)
        assert isinstance(conv, BlurredConv2D) and conv.blur == "before"
        assert conv.strides == (1, 1)
    # the average pool on an even 2x2 map is replaced by the blur alone
    assert type(twin.get_layer("ap")).__name__ in ("BlurPool2D", "PolyphasePool2D")
    # the original is untouched
    assert model.get_layer("c2").strides == (2, 2)


def test_blur_1_twin_equals_original_on_valid_layers():
    inputs = keras.Input((33, 33, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, name="a")(inputs)  # valid: same sampling grid
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="b")(x)
    x = keras.layers.MaxPooling2D(2, name="p")(x)
    x = keras.layers.Conv2D(4, 1, strides=2, name="c")(x)
    model = keras.Model(inputs, x)
    twin = kerasinv.antialias(model, "blur-1", leave_stem=False)
    x = _x((33, 33, 3))
    np.testing.assert_allclose(twin.predict_on_batch(x), model.predict_on_batch(x), atol=1e-5)


def test_sequential_skip_and_leave_stem():
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(4, 3, strides=2, padding="same", name="s1"),
            keras.layers.Conv2D(4, 3, strides=2, padding="same", name="s2"),
            keras.layers.Conv2D(4, 3, strides=2, padding="same", name="s3"),
        ]
    )
    twin = kerasinv.antialias(model, "blur-2", leave_stem=False, skip=["s2"])
    assert isinstance(twin, keras.Sequential)
    assert [twin.get_layer(n).strides for n in ("s1", "s2", "s3")] == [(1, 1), (2, 2), (1, 1)]
    x = _x((16, 16, 3))
    assert twin.predict_on_batch(x).shape == model.predict_on_batch(x).shape == (3, 2, 2, 4)
    kinds = {c.layer: c.kind for c in models.plan_antialias(model, skip=["s2"])}
    assert kinds == {"s1": "skipped", "s2": "skipped", "s3": "conv"}
    # "same" 3x3 stride-2 convs on even maps keep odd positions: blur-1 keeps them too
    exact = kerasinv.antialias(model, "blur-1", leave_stem=False)
    np.testing.assert_allclose(exact.predict_on_batch(x), model.predict_on_batch(x), atol=1e-5)


def test_what_cannot_be_rewritten_is_an_error_that_names_it():
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, strides=4, name="four")(inputs)  # the stem: any stride
    outputs = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="last")(x)
    model = keras.Model(inputs, outputs)
    plan = {c.layer: c.detail for c in models.plan_antialias(model)}
    assert "stem" in plan["four"]
    twin = kerasinv.antialias(model, "blur-4")
    assert twin.outputs[0].shape == (None, 2, 2, 4)
    with pytest.raises(models.AntialiasError, match=r"'four'.*only stride 2.*skip=\['four'\]"):
        kerasinv.antialias(model, "blur-4", leave_stem=False)
    assert kerasinv.antialias(model, "blur-4", leave_stem=False, skip=["four"])
    shared = keras.layers.Conv2D(3, 3, strides=2, padding="same", name="shared")
    inputs = keras.Input((16, 16, 3))
    twice = keras.Model(inputs, shared(shared(inputs)))
    with pytest.raises(models.AntialiasError, match=r"'shared'.*several calls"):
        models.plan_antialias(twice, leave_stem=False)

    class Downsample(keras.layers.Layer):
        def __init__(self, strides=2, **kwargs):
            super().__init__(**kwargs)
            self.strides = strides

        def call(self, x):
            return x[:, :: self.strides, :: self.strides]

        def get_config(self):
            return {**super().get_config(), "strides": self.strides}

    inputs = keras.Input((16, 16, 3))
    custom = keras.Model(
        inputs, Downsample(name="mine")(keras.layers.Conv2D(3, 3, strides=2)(inputs))
    )
    with pytest.raises(
        models.AntialiasError, match=r"'mine'.*Downsample.*not a layer kerasinv knows"
    ):
        models.plan_antialias(custom)


def test_nested_models_are_rewritten():
    inner = keras.Sequential(
        [keras.Input((16, 16, 4)), keras.layers.Conv2D(4, 3, strides=2, padding="same", name="c")],
        name="block",
    )
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="stem")(inputs)
    model = keras.Model(inputs, inner(x))
    changes = {c.layer: c.kind for c in models.plan_antialias(model)}
    assert changes == {"stem": "skipped", "block/c": "conv"}
    twin = kerasinv.antialias(model, "blur-1")
    assert twin.get_layer("block").get_layer("c").strides == (1, 1)
    x = _x((32, 32, 3))
    np.testing.assert_allclose(twin.predict_on_batch(x), model.predict_on_batch(x), atol=1e-5)
    assert models.plan_antialias(model, skip=["block/c"])[-1].kind == "skipped"


def test_twin_round_trips_through_a_keras_file(tmp_path):
    twin = kerasinv.antialias(small_cnn(), "blur-4")
    twin.save(tmp_path / "twin.keras")
    loaded = keras.models.load_model(tmp_path / "twin.keras")
    x = _x()
    np.testing.assert_allclose(loaded.predict_on_batch(x), twin.predict_on_batch(x), atol=1e-6)


def test_subclassed_models_and_bad_methods_are_refused():
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(2, 3, strides=2)

        def call(self, x):
            return self.conv(x)

    sub = Sub()
    sub(np.zeros((1, 8, 8, 3), "float32"))
    with pytest.raises(ValueError, match="subclassed"):
        kerasinv.antialias(sub)
    with pytest.raises(ValueError, match="blur-K"):
        kerasinv.antialias(small_cnn(), None)
    with pytest.raises(ValueError, match="padding"):
        kerasinv.antialias(small_cnn(), "blur-4", padding="mirror")


@pytest.mark.skipif(
    not (MOBILENET_WEIGHTS.is_file() and PHOTOS.is_file()), reason="../shared/data is absent"
)
@pytest.mark.slow  # real data, tens of seconds on 2 cores
def test_pretrained_mobilenet_twins_on_real_photos():
    """The real pretrained MobileNet: its twins load the same weights file; measure without retraining."""
    from kerasinv import measure, perturb
    from kerasinv.data.imagenet import load_photos

    photos = load_photos(PHOTOS)
    images, labels, skipped = photos.images, photos.labels, photos.skipped
    assert images.shape == (100, 256, 256, 3) and not skipped
    stock = keras.applications.MobileNet(input_shape=(224, 224, 3), alpha=0.75, weights=None)
    stock.load_weights(MOBILENET_WEIGHTS)
    results = {}
    for method in (None, "blur-1", "blur-4", "aps"):
        model = stock if method is None else kerasinv.antialias(stock, method)
        if method is not None:
            model.load_weights(MOBILENET_WEIGHTS)

        def predict(batch, model=model):
            x = keras.applications.mobilenet.preprocess_input(batch.astype("float32"))
            return model.predict_on_batch(x)

        centre = measure.predict_batched(predict, perturb.centre_crop(images, 224), 16)
        pairs = measure.shift_pairs(predict, images, 224, trials=1, seed=0)
        results[method] = (centre.argmax(-1), float(np.mean(centre.argmax(-1) == labels)), pairs)
    assert results[None][1] >= 0.75  # the data README: about 0.85 on these photos
    # filter size 1 is the stock network: identical predictions, hence identical figures
    np.testing.assert_array_equal(results["blur-1"][0], results[None][0])
    assert results["blur-1"][2].consistency == results[None][2].consistency
    # APS keeps feature values (it only chooses the phase): accuracy survives without retraining
    assert results["aps"][1] >= results[None][1] - 0.1
    # a drop-in blur changes what every later layer sees: measured, not asserted to be harmless
    assert 0.0 <= results["blur-4"][1] <= 1.0
    print({k or "stock": (r[1], r[2].consistency) for k, r in results.items()})


def test_a_strided_layer_after_a_relu_is_no_stem_and_a_no_op_twin_says_so():
    """The stem rule leaves alone only a strided conv that reads the image directly: All-CNN-C's
    conv3 (after two 3x3 convs and their ReLUs) is anti-aliased."""
    import warnings

    from kerasinv.models.shipped import shipped_keras

    shipped = keras.saving.load_model(shipped_keras())
    changed = [c.layer for c in models.plan_antialias(shipped, "aps") if c.kind != "skipped"]
    assert changed == ["conv3", "conv6"]
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    twin = kerasinv.antialias(shipped, "aps")
    assert np.abs(twin.predict_on_batch(images) - shipped.predict_on_batch(images)).max() > 1e-4
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.ZeroPadding2D(1)(inputs)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="only")(x)
    stem_only = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    assert [c.kind for c in models.plan_antialias(stem_only, "blur-3")] == ["skipped"]
    with pytest.warns(UserWarning, match="changes no layer"):
        kerasinv.antialias(stem_only, "blur-3")
    with pytest.warns(UserWarning, match="1-tap filter"):
        kerasinv.antialias(shipped, "blur-1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kerasinv.antialias(shipped, "blur-3")  # a twin that changes the function: no warning
