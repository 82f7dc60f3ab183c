"""Export for TensorFlow Serving: ``<base>/<name>/<version>/`` SavedModels with one fixed signature.

The ``serving_default`` signature takes ``images``: float32 ``[None, H, W, C]`` raw pixels (0–255; any
preprocessing is inside the graph) and returns ``probabilities`` (float32 ``[None, classes]``) and
``classes`` (int64 ``[None]``, the arg-max). The model runs in inference mode (dropout off).

We export through ``keras.export.ExportArchive`` rather than ``Model.export`` so that the input name is
stable and the call is explicitly ``training=False``. Loading needs only TensorFlow (no Keras, no
kerasinv): ``tf.saved_model.load(path).signatures["serving_default"](images=x)``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from kerasinv.errors import ConfigError, DataFormatError
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

    def serve(images):
        probabilities = serving(images, training=False)
        return {
            "probabilities": probabilities,
            "classes": tf.argmax(probabilities, axis=-1, output_type=tf.int64),
        }

    archive = keras.export.ExportArchive()
    archive.track(serving)
    archive.add_endpoint(SIGNATURE, serve, input_signature=[spec])
    with atomic_path(target, directory=True) as tmp:
        archive.write_out(str(tmp), verbose=False)
    return target


def check_request(model_file, destination, version, preprocessing, overwrite: bool) -> None:
    """Refuse a bad ``kerasinv export`` before TensorFlow is imported.

    Raises:
        ConfigError: no model file or preprocessing file where named.
        OutputError: a destination that cannot be written (see
            :func:`kerasinv.output_folder.check_destination`).
    """
    if not Path(model_file).is_file():
        raise ConfigError(
            f"{model_file} does not exist; pass a model saved with model.save('x.keras')"
        )
    if preprocessing and not Path(preprocessing).is_file():
        raise ConfigError(f"--preprocessing {preprocessing}: no such file")
    check_destination(Path(destination), version, overwrite)


def export_file(model_file, destination, version=None, preprocessing=None, overwrite=False) -> Path:
    """``kerasinv export``: load ``model_file`` (``.keras``), put the GCN+ZCA of a recipe's
    ``preprocessing.npz`` inside the graph if given, write ``destination/<version>/``."""
    import keras

    from kerasinv.data.preprocessing import GCNZCA

    try:
        model = keras.saving.load_model(model_file, compile=False)
    except Exception as e:  # Keras raises many types for unreadable files
        raise DataFormatError(f"could not load {model_file} as a Keras model: {e}") from None
    layer = GCNZCA.load(preprocessing).layer() if preprocessing else None
    dest = Path(destination)
    return export_serving(
        model, dest.parent, dest.name, version=version, preprocessing=layer, overwrite=overwrite
    )
