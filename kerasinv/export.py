"""Export for TensorFlow Serving: ``<base>/<name>/<version>/`` SavedModels with one fixed signature.

The ``serving_default`` signature takes ``images``: float32 ``[None, H, W, C]`` raw pixels (0–255; any
preprocessing is inside the graph) and returns ``probabilities`` (float32 ``[None, classes]``) and
``classes`` (int64 ``[None]``, the arg-max); a model without a final softmax also returns its raw
``logits`` (its probabilities are their softmax), so every output is named for what it is
(:func:`output_kind`). The model runs in inference mode (dropout off). TFLite and ONNX files are
converted from this SavedModel (:mod:`kerasinv.convert`) and keep its signature.

We export through ``keras.export.ExportArchive`` rather than ``Model.export`` so that the input name is
stable and the call is explicitly ``training=False``. Loading needs only TensorFlow (no Keras, no
kerasinv): ``tf.saved_model.load(path).signatures["serving_default"](images=x)``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from kerasinv.errors import ConfigError, DataFormatError, OutputError
from kerasinv.io import atomic_path
from kerasinv.output_folder import check_destination, lock, release

if TYPE_CHECKING:  # TensorFlow only when exporting: the CLI checks requests without it
    import keras

SIGNATURE = "serving_default"
INPUT_NAME = "images"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def with_preprocessing(model: keras.Model, preprocessing: keras.layers.Layer | None) -> keras.Model:
    import keras

    """``model`` with ``preprocessing`` in front (raw pixels in); ``model`` itself when None."""
    if preprocessing is None:
        return model
    inputs = keras.Input(shape=model.input_shape[1:], name=INPUT_NAME)
    return keras.Model(inputs, model(preprocessing(inputs)), name=f"{model.name}_serving")


def output_kind(model: keras.Model) -> str:
    """``"probabilities"`` when ``model`` ends in a softmax, ``"logits"`` when it ends in a linear
    layer (a Dense or convolution without activation, or ``Activation("linear")``).

    Read from the layer that produces the output (inside a nested model too); after a layer
    without an activation (pooling, reshape) from the outputs on a probe batch: rows of
    non-negative scores summing to 1 are probabilities.

    Raises:
        ConfigError: another final activation (sigmoid, relu ...): its outputs are neither.
    """
    import keras
    import numpy as np

    from kerasinv.models.loaded import are_probabilities

    layer = _output_layer(model)
    if isinstance(layer, keras.layers.Softmax):
        return "probabilities"
    if hasattr(layer, "activation"):
        name = keras.activations.serialize(layer.activation)
        name = name if isinstance(name, str) else str(name.get("config", name))
        if name in ("softmax", "linear"):
            return "probabilities" if name == "softmax" else "logits"
    elif not isinstance(layer, (keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU)):
        shape = [d or 32 for d in model.input_shape[1:]]  # an unfixed size: any will do
        probe = np.random.default_rng(0).uniform(0, 255, (4, *shape))
        scores = model(probe.astype("float32"), training=False)
        return "probabilities" if are_probabilities(scores, atol=1e-4) else "logits"
    else:
        name = type(layer).__name__
    raise ConfigError(
        f"{model.name} ends in {type(layer).__name__} {layer.name!r} with activation {name!r}: "
        "its outputs are neither logits nor softmax probabilities, so they cannot be named "
        "(end the model in a linear layer or a softmax)"
    )


def _output_layer(model):
    """The layer whose output is ``model``'s (single) output, looking inside nested models."""
    import keras

    layer = model.layers[-1]
    for candidate in reversed(model.layers):
        try:
            if candidate.output is model.outputs[0]:
                layer = candidate
                break
        except (AttributeError, ValueError):  # a shared layer has no single output
            continue
    return _output_layer(layer) if isinstance(layer, keras.Model) else layer


def next_version(model_dir: Path) -> int:
    """1 + the largest numeric version folder in ``model_dir`` (1 when there is none)."""
    versions = [int(p.name) for p in model_dir.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


def export_serving(
    model: keras.Model,
    base_dir: str | Path,
    name: str,
    version: int | None = None,
    preprocessing: keras.layers.Layer | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` as ``base_dir/name/version/`` in the TF Serving layout (atomically).

    Args:
        model: a Keras model from images ``[B, H, W, C]`` to class probabilities ``[B, K]``.
        base_dir: the serving base folder (TF Serving's ``--model_base_path`` is ``base_dir/name``).
        name: the model's serving name (letters, digits, ``_ . -``).
        version: the version number; ``None`` picks the next free one.
        preprocessing: optional layer from raw pixels to the model's input, exported in the graph.
        overwrite: replace an existing version folder (only if it holds just a SavedModel)
            instead of failing.

    Returns:
        The version folder written.
    """

    if not _NAME.match(name):
        raise ConfigError(f"model name {name!r} must be letters, digits, '_', '.' or '-'")
    if len(model.input_shape) != 4 or len(model.output_shape) != 2:
        raise ConfigError(
            f"export needs an image classifier [B, H, W, C] -> [B, K]; this model maps "
            f"{model.input_shape} -> {model.output_shape}"
        )
    model_dir = Path(base_dir) / name
    check_destination(model_dir, version, overwrite)
    lock(model_dir, "destination")  # two exports at once: the second stops, none is lost
    try:
        return _write_version(model, model_dir, version, preprocessing, overwrite)
    finally:
        release(model_dir)


def _write_version(model, model_dir: Path, version, preprocessing, overwrite: bool) -> Path:
    """The version folder of :func:`export_serving`, chosen and written under the lock."""
    import keras
    import tensorflow as tf

    check_destination(model_dir, version, overwrite)  # again, under the lock
    version = next_version(model_dir) if version is None else int(version)
    target = model_dir / str(version)

    serving = with_preprocessing(model, preprocessing)
    spec = tf.TensorSpec((None, *serving.input_shape[1:]), tf.float32, name=INPUT_NAME)

    logits = output_kind(model) == "logits"

    def serve(images):
        scores = serving(images, training=False)
        probabilities = tf.nn.softmax(scores, axis=-1) if logits else scores
        return {
            **({"logits": scores} if logits else {}),
            "probabilities": probabilities,
            "classes": tf.argmax(scores, axis=-1, output_type=tf.int64),
        }

    archive = keras.export.ExportArchive()
    archive.track(serving)
    archive.add_endpoint(SIGNATURE, serve, input_signature=[spec])
    with atomic_path(target, directory=True) as tmp:
        archive.write_out(str(tmp), verbose=False)
    return target


def check_request(
    model_file, destination, version, preprocessing, overwrite: bool, format: str = "saved_model",
    quantize: str = "none", representative=None, preprocess: str = "none",
) -> None:  # fmt: skip
    """Refuse a bad ``kerasinv export`` before TensorFlow is imported.

    Raises:
        ConfigError: no model file or preprocessing file where named, an impossible format,
            quantization or preprocessing (:func:`kerasinv.convert.check_format`).
        OutputError: a destination that cannot be written (see
            :func:`kerasinv.output_folder.check_destination`); a TFLite or ONNX file that exists
            (without ``overwrite``) or a destination without the format's suffix.
    """
    from kerasinv.convert import SUFFIX, check_format
    from kerasinv.models.preprocessing import MODES

    if not Path(model_file).is_file():
        raise ConfigError(
            f"{model_file} does not exist; pass a model saved with model.save('x.keras')"
        )
    if preprocessing and not Path(preprocessing).is_file():
        raise ConfigError(f"--preprocessing {preprocessing}: no such file")
    if preprocess not in MODES:
        raise ConfigError(f"--preprocess must be one of {', '.join(MODES)}, got {preprocess!r}")
    if preprocess != "none" and preprocessing:
        raise ConfigError(
            "give --preprocess (keras.applications) or --preprocessing (.npz), not both"
        )
    check_format(format, quantize, representative)
    if representative:
        from kerasinv.evaluation import resolve_names

        if not Path(resolve_names("", representative)[1]).exists():
            raise ConfigError(f"--representative {representative}: no such folder or archive")
    if format == "saved_model":
        check_destination(Path(destination), version, overwrite)
        return
    target = Path(destination)
    if target.suffix != SUFFIX[format]:
        raise OutputError(f"a {format} file is named *{SUFFIX[format]}; got {target}")
    if version is not None:
        raise ConfigError("--version is for SavedModels (TF Serving's layout) only")
    if target.is_dir():
        raise OutputError(f"{target} is a folder; give a file name")
    if target.exists() and not overwrite:
        raise OutputError(f"{target} already exists; pass --overwrite to replace it")
    if not os.access(target.parent if target.parent.exists() else Path("."), os.W_OK):
        raise OutputError(f"{target.parent} is not writable; choose another destination")


def pixel_preprocessing(mode: str) -> keras.layers.Layer:
    """keras.applications' preprocessing ``mode`` (``caffe``, ``tf``, ``torch``) as a Keras layer
    for the exported graph, so that the file takes raw 0–255 pixels: ``x -> flip?(x) * scale +
    offset`` (``caffe`` reverses RGB to BGR first), equal to
    :func:`kerasinv.models.preprocessing.preprocess_input`."""
    import keras
    import numpy as np

    from kerasinv.models.preprocessing import preprocess_input

    offset = preprocess_input(np.zeros((1, 3)), mode)[0]
    scale = preprocess_input(np.ones((1, 3)), mode)[0] - offset
    bgr = mode == "caffe"

    class PixelPreprocessing(keras.layers.Layer):
        def call(self, x):
            if bgr:  # a gather, which TFLite and ONNX both have
                x = keras.ops.take(x, keras.ops.convert_to_tensor([2, 1, 0]), axis=-1)
            return x * keras.ops.convert_to_tensor(scale) + keras.ops.convert_to_tensor(offset)

    return PixelPreprocessing(name=f"preprocess_{mode}")


def export_file(
    model_file, destination, version=None, preprocessing=None, overwrite=False,
    format: str = "saved_model", quantize: str = "none", representative=None,
    preprocess: str = "none",
) -> Path:  # fmt: skip
    """``kerasinv export``: load ``model_file`` (``.keras``), put the GCN+ZCA of a recipe's
    ``preprocessing.npz`` or keras.applications' ``preprocess`` mode inside the graph if given,
    and write ``destination/<version>/`` (SavedModel) or the ``destination`` file (TFLite, ONNX:
    converted from a temporary SavedModel, :mod:`kerasinv.convert`)."""
    import tempfile

    import keras

    from kerasinv import convert
    from kerasinv.data.preprocessing import GCNZCA

    try:
        model = keras.saving.load_model(model_file, compile=False)
    except Exception as e:  # Keras raises many types for unreadable files
        raise DataFormatError(f"could not load {model_file} as a Keras model: {e}") from None
    layer = GCNZCA.load(preprocessing).layer() if preprocessing else None
    if preprocess != "none":
        layer = pixel_preprocessing(preprocess)
    dest = Path(destination)
    if format == "saved_model":
        return export_serving(
            model, dest.parent, dest.name, version=version, preprocessing=layer, overwrite=overwrite
        )
    images = None
    if quantize == "int8":
        images = convert.representative_images(representative, int(model.input_shape[1]))
    with tempfile.TemporaryDirectory(prefix="kerasinv-export-") as work:
        saved = export_serving(model, work, "model", version=1, preprocessing=layer)
        with atomic_path(dest, suffix=dest.suffix) as tmp:
            if format == "tflite":
                Path(tmp).write_bytes(convert.to_tflite(saved, quantize, images))
            else:
                convert.to_onnx(saved, tmp)
    return dest
