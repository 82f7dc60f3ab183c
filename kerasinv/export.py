"""Export for TensorFlow Serving: ``<base>/<name>/<version>/`` SavedModels with one fixed signature.

The ``serving_default`` signature takes ``images``: float32 ``[None, H, W, C]`` raw pixels (0–255; any
preprocessing is inside the graph) and returns ``probabilities`` (float32 ``[None, classes]``) and
``classes`` (int64 ``[None]``, the arg-max). The model runs in inference mode (dropout off).

We export through ``keras.export.ExportArchive`` rather than ``Model.export`` so that the input name is
stable and the call is explicitly ``training=False``. Loading needs only TensorFlow (no Keras, no
kerasinv): ``tf.saved_model.load(path).signatures["serving_default"](images=x)``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import keras
import tensorflow as tf

from kerasinv.errors import ConfigError, OutputError
from kerasinv.io import atomic_path

SIGNATURE = "serving_default"
INPUT_NAME = "images"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def with_preprocessing(model: keras.Model, preprocessing: keras.layers.Layer | None) -> keras.Model:
    """``model`` with ``preprocessing`` in front (raw pixels in); ``model`` itself when None."""
    if preprocessing is None:
        return model
    inputs = keras.Input(shape=model.input_shape[1:], name=INPUT_NAME)
    return keras.Model(inputs, model(preprocessing(inputs)), name=f"{model.name}_serving")


def next_version(model_dir: Path) -> int:
    """1 + the largest numeric version folder in ``model_dir`` (1 when there is none)."""
    versions = [int(p.name) for p in model_dir.glob("*") if p.is_dir() and p.name.isdigit()]
    return max(versions, default=0) + 1


#: What a SavedModel version folder holds; anything else in one is not ours to replace.
SAVED_MODEL_ENTRIES = {
    "saved_model.pb",
    "saved_model.pbtxt",
    "variables",
    "assets",
    "fingerprint.pb",
}
SAVED_MODEL_ENTRIES |= {"keras_metadata.pb", "assets.extra"}


def check_destination(model_dir: Path, version: int | None, overwrite: bool) -> None:
    """Refuse a destination before any work: ``model_dir`` must be a folder (or not exist) under a
    writable parent; an existing version folder is replaced only with ``overwrite`` and only if it
    holds nothing but a SavedModel (TF Serving's layout: ``model_dir/<version>/saved_model.pb``).

    Raises:
        ConfigError, OutputError: with what is wrong and what to do.
    """
    from kerasinv.output_folder import check_output

    model_dir = Path(model_dir)
    if version is not None and int(version) < 1:
        raise ConfigError(f"version must be a positive integer, got {version}")
    # the model folder holds version folders; it is not claimed as a whole (others' versions stay)
    check_output(model_dir, "export", overwrite=True, option="destination")
    if model_dir.is_dir() and not os.access(model_dir, os.W_OK | os.X_OK):
        raise OutputError(f"destination {model_dir} is not writable; choose another destination")
    if version is None:
        return
    target = model_dir / str(int(version))
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputError(f"{target} is a file; remove it or pick another --version")
    if not overwrite:
        raise OutputError(f"{target} already exists; pick another --version or pass --overwrite")
    foreign = sorted(p.name for p in target.iterdir() if p.name not in SAVED_MODEL_ENTRIES)
    if foreign or not (target / "saved_model.pb").is_file():
        what = ", ".join(foreign) if foreign else "no saved_model.pb"
        raise OutputError(
            f"{target} is not a SavedModel folder ({what}); kerasinv will not replace it even with "
            "--overwrite. Pick another --version"
        )


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
