"""TFLite and ONNX files converted from kerasinv's serving SavedModel (:mod:`kerasinv.export`).

Both keep its signature: input ``images`` (raw 0–255 pixels ``[B, H, W, 3]``, preprocessing inside),
outputs ``probabilities`` and ``classes`` (and ``logits`` for a model without a final softmax).

- **TFLite** uses builtin ops only (no TF Select): a model that needs another op is refused with the
  op's name. ``quantize``: ``"none"`` (float32), ``"dynamic"`` (int8 weights, float activations),
  ``"int8"`` (integer only: every op int8, the input ``uint8`` pixels, the outputs ``uint8`` /
  ``int8``, calibrated on ``representative`` images).
- **ONNX** through ``tf2onnx`` (the converter Keras's own ``model.export(format="onnx")`` calls), run on
  the SavedModel so that every constant and variable is frozen into the graph. It is an optional
  extra: ``pip install 'kerasinv[deploy]'``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kerasinv.errors import ConfigError, DataFormatError

FORMATS = ("saved_model", "tflite", "onnx")
QUANTIZE = ("none", "dynamic", "int8")
SUFFIX = {"tflite": ".tflite", "onnx": ".onnx"}
#: ONNX opset written (onnxruntime 1.16+ runs it)
OPSET = 17
DEPLOY_EXTRA = "pip install 'kerasinv[deploy]'"

if TYPE_CHECKING:  # NumPy only when converting: the CLI reads FORMATS and QUANTIZE without it
    import numpy as np


def check_format(format: str, quantize: str, representative) -> None:
    """Refuse an impossible combination before any work.

    Raises:
        ConfigError: an unknown format or quantization, quantization outside TFLite, ``int8``
            without representative images, or ONNX without its converter installed.
    """
    if format not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    if quantize not in QUANTIZE:
        raise ConfigError(f"--quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
    if quantize != "none" and format != "tflite":
        raise ConfigError(f"--quantize {quantize} is for --format tflite only")
    if quantize == "int8" and not representative:
        raise ConfigError(
            "--quantize int8 needs --representative IMAGES (a folder or tar of photos, or "
            "cifar10-sample) to calibrate the activations' ranges"
        )
    if representative and quantize != "int8":
        raise ConfigError("--representative calibrates --quantize int8 only")
    if format == "onnx":
        import importlib.util

        if importlib.util.find_spec("tf2onnx") is None:
            raise ConfigError(f"--format onnx needs the ONNX converter: {DEPLOY_EXTRA}")


def to_tflite(
    saved_model: str | Path, quantize: str = "none", representative: np.ndarray | None = None
) -> bytes:
    """The TFLite flatbuffer of ``saved_model``'s ``serving_default`` (builtin ops only).

    Args:
        quantize: ``"none"``, ``"dynamic"`` or ``"int8"`` (see the module docstring).
        representative: ``[N, H, W, 3]`` raw pixels for ``"int8"`` (a few hundred suffice).

    Raises:
        ConfigError: an op without a TFLite builtin (named), or int8 without images.
    """
    import numpy as np
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize in ("dynamic", "int8"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "int8":
        if representative is None or len(representative) == 0:
            raise ConfigError("int8 quantization needs representative images")
        images = np.asarray(representative, np.float32)
        converter.representative_dataset = lambda: ([image[None]] for image in images)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8  # pixels are 0..255: exact in uint8
        converter.inference_output_type = tf.uint8
    try:
        return converter.convert()
    except Exception as e:  # the converter raises ConverterError with a long MLIR dump
        text = str(e)
        missing = sorted(set(re.findall(r"'(tf\.\w+)' op is neither", text)))
        raise ConfigError(
            "the model cannot be converted to TFLite with builtin ops only"
            + (f" (no builtin for {', '.join(missing)})" if missing else f": {text.strip()[:300]}")
        ) from None


def to_onnx(saved_model: str | Path, target: str | Path, opset: int = OPSET) -> None:
    """Write ``target`` (``.onnx``) from ``saved_model``'s ``serving_default`` with tf2onnx.

    Raises:
        ConfigError: tf2onnx missing, or the conversion failed (its last error line).
    """
    check_format("onnx", "none", None)
    command = [
        sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(saved_model),
        "--signature_def", "serving_default", "--opset", str(opset), "--output", str(target),
    ]  # fmt: skip
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0 or not Path(target).is_file():
        errors = [line for line in done.stderr.splitlines() if "rror" in line] or ["(no message)"]
        raise ConfigError(f"the ONNX conversion failed: {errors[-1].strip()[:300]}")


def representative_images(path: str, size: int, count: int = 200, seed: int = 0) -> np.ndarray:
    """``count`` photos from ``path`` (its ``train/`` split in a ``{train,test}`` layout, so the
    calibration images are not the ones evaluate measures) at ``size`` x ``size``, raw pixels."""
    import numpy as np

    from kerasinv.data.imagenet import load_photos
    from kerasinv.evaluation import resolve_names

    _, images = resolve_names("", path)
    photos = load_photos(
        images, resize=size, limit=count, require_labels=False, seed=seed, split="train"
    )
    if len(photos.images) == 0:
        raise DataFormatError(f"no readable photo in {path} to calibrate with")
    return photos.images.astype(np.float32)


__all__ = [
    "FORMATS",
    "OPSET",
    "QUANTIZE",
    "SUFFIX",
    "check_format",
    "representative_images",
    "to_onnx",
    "to_tflite",
]
