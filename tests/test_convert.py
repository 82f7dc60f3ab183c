"""TFLite and ONNX exports: builtin ops only, the Keras outputs within float32 tolerance for every
anti-aliasing method, outputs named for what they are, and the deployed file measured by evaluate.

``make test`` converts All-CNN twins of each method (blur, APS, LPS) to TFLite and the APS twin to
ONNX (each ONNX conversion is a tf2onnx process); ``-m slow`` converts every method and padding in
both formats, on All-CNN-C and on three keras.applications families (MobileNetV2, ResNet50,
EfficientNetB0).
"""

import numpy as np
import pytest

from kerasinv import antialias, models
from kerasinv.errors import ConfigError, OutputError
from kerasinv.export import export_file, export_serving, output_kind
from kerasinv.models.deployed import load_deployed, signature

#: every anti-aliasing method and padding of antialias()
METHODS = [
    ("blur-3", "zero"), ("blur-3", "reflect"), ("blur-3", "circular"), ("blur-5", "symmetric"),
    ("aps", "zero"), ("aps", "circular"), ("aps-3", "reflect"), ("lps", "circular"),
]  # fmt: skip
#: converted in make test (one per method; -m slow converts all of METHODS)
QUICK = {("blur-3", "reflect"), ("aps", "circular"), ("lps", "circular")}


def _exported(model, tmp_path, format, name="m"):

    keras_file = tmp_path / f"{name}.keras"
    model.save(keras_file)
    target = tmp_path / f"{name}.{'tflite' if format == 'tflite' else 'onnx'}"
    return export_file(str(keras_file), str(target), format=format)


def _images(size, n=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


@pytest.fixture(scope="module")
def allcnn():
    return models.get("all-cnn-c", width=0.125, dropout=False)


@pytest.mark.parametrize(
    "method,padding",
    [m if m in QUICK else pytest.param(*m, marks=pytest.mark.slow) for m in METHODS],
)
def test_every_method_converts_to_tflite_with_builtin_ops_and_equal_outputs(
    allcnn, tmp_path, method, padding
):
    twin = antialias(allcnn, method, padding=padding)
    path = _exported(twin, tmp_path, "tflite")
    x = _images(32)
    got = load_deployed(path).predict(x)
    np.testing.assert_allclose(got, twin.predict(x, verbose=0), atol=2e-5)


@pytest.mark.parametrize(
    "method,padding",
    [
        pytest.param("blur-3", "reflect", marks=pytest.mark.slow),
        ("aps", "circular"),  # make test converts the hardest one; -m slow the others
        pytest.param("lps", "zero", marks=pytest.mark.slow),
    ],
)
def test_every_method_converts_to_onnx_with_equal_outputs(allcnn, tmp_path, method, padding):
    twin = antialias(allcnn, method, padding=padding)
    path = _exported(twin, tmp_path, "onnx")
    x = _images(32)
    np.testing.assert_allclose(
        load_deployed(path).predict(x), twin.predict(x, verbose=0), atol=2e-5
    )
    assert signature(path) == (["images"], ["classes", "probabilities"])


def test_a_model_without_softmax_exports_logits_and_probabilities(tmp_path):
    import keras

    net = models.get("all-cnn-b", width=0.125, dropout=False)
    head = keras.Model(net.input, net.layers[-2].output, name="logits_net")  # before the softmax
    assert output_kind(net) == "probabilities" and output_kind(head) == "logits"
    path = _exported(head, tmp_path, "tflite")
    assert signature(path) == (["images"], ["classes", "logits", "probabilities"])
    x = _images(32)
    scores = head.predict(x, verbose=0)
    expected = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(load_deployed(path).predict(x), expected, atol=2e-5)
    saved = export_serving(head, tmp_path / "serving", "logits_net")
    assert signature(saved) == (["images"], ["classes", "logits", "probabilities"])


def test_a_final_sigmoid_is_refused_by_name():
    import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 1)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="sigmoid")(x))
    with pytest.raises(ConfigError, match="neither logits nor softmax"):
        output_kind(model)


def test_int8_quantized_tflite_is_measured_through_its_own_scales(allcnn, tmp_path):
    """Integer only: uint8 pixels in, uint8 probabilities out; evaluate dequantizes them."""
    import keras

    from kerasinv.data.samples import embedded_sample_path

    twin = antialias(allcnn, "blur-3")
    twin.save(tmp_path / "twin.keras")
    path = export_file(
        str(tmp_path / "twin.keras"), str(tmp_path / "twin-int8.tflite"), format="tflite",
        quantize="int8", representative=str(embedded_sample_path()),
    )  # fmt: skip
    import tensorflow as tf

    details = tf.lite.Interpreter(model_path=str(path)).get_signature_runner().get_input_details()
    assert details["images"]["dtype"] == np.uint8
    x = _images(32, n=8)
    got = load_deployed(path).predict(x)
    assert got.shape == (8, 10) and np.all(got >= 0)
    # an untrained net's probabilities sit near 1/10: the int8 file stays within its step of them
    assert np.abs(got - keras.ops.convert_to_numpy(twin(x))).max() < 0.05


def test_export_requests_are_refused_before_any_work(tmp_path):
    from kerasinv.export import check_request

    model = tmp_path / "m.keras"
    model.write_text("x")
    with pytest.raises(ConfigError, match="needs --representative"):
        check_request(model, tmp_path / "m.tflite", None, None, False, "tflite", "int8")
    with pytest.raises(ConfigError, match="tflite only"):
        check_request(model, tmp_path / "m.onnx", None, None, False, "onnx", "dynamic")
    with pytest.raises(OutputError, match=r"named \*\.tflite"):
        check_request(model, tmp_path / "m.onnx", None, None, False, "tflite")
    (tmp_path / "m.tflite").write_text("old")
    with pytest.raises(OutputError, match="already exists"):
        check_request(model, tmp_path / "m.tflite", None, None, False, "tflite")


def test_keras_applications_preprocessing_goes_inside_the_graph(tmp_path):
    import keras

    from kerasinv.models.preprocessing import preprocess_input

    for mode in ("caffe", "tf", "torch"):
        inputs = keras.Input((16, 16, 3))
        net = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Flatten()(inputs)))
        net.save(tmp_path / "n.keras")
        path = export_file(
            str(tmp_path / "n.keras"), str(tmp_path / f"n-{mode}.tflite"), format="tflite",
            preprocess=mode,
        )  # fmt: skip
        x = _images(16)
        scores = net.predict(preprocess_input(x, mode), verbose=0)
        expected = np.exp(scores - scores.max(-1, keepdims=True))
        expected /= expected.sum(-1, keepdims=True)
        np.testing.assert_allclose(load_deployed(path).predict(x), expected, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["MobileNetV2", "ResNet50", "EfficientNetB0"])
@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_keras_applications_twins_convert_with_equal_outputs(tmp_path, family, fmt):
    import keras

    stock = getattr(keras.applications, family)(weights=None, input_shape=(64, 64, 3), classes=10)
    x = _images(64)
    for method, padding in METHODS:
        twin = antialias(stock, method, padding=padding)
        path = _exported(twin, tmp_path, fmt, name=f"{method}-{padding}")
        np.testing.assert_allclose(
            load_deployed(path).predict(x), twin.predict(x, verbose=0), atol=1e-4,
            err_msg=f"{family} {method} {padding} {fmt}",
        )  # fmt: skip
