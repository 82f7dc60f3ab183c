"""Deployed files as models to measure: a ``.tflite`` (float, dynamic-range or integer-only
quantized) or an ``.onnx`` file, run by the runtime a phone or server runs it with (the TFLite
interpreter, ONNX Runtime), wrapped as a :class:`~kerasinv.models.loaded.LoadedModel`.

Files written by ``kerasinv export`` take ``images`` (raw 0–255 pixels) and give ``probabilities``
(and ``logits``, ``classes``); other files are read by their one image input and their first
``[B, K]`` output. A quantized input is fed quantized pixels and a quantized output is read back
dequantized, with the file's own scale and zero point, so the measurements see what the deployed
file computes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kerasinv.errors import DataFormatError
from kerasinv.models.loaded import pick_output

SUFFIXES = (".tflite", ".onnx")


def is_deployed(path) -> bool:
    """Whether ``path`` names a TFLite or ONNX file."""
    return Path(path).suffix.lower() in SUFFIXES


def _quantize(x: np.ndarray, dtype, scale: float, zero: int) -> np.ndarray:
    if not np.issubdtype(dtype, np.integer) or scale == 0:
        return x.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)


def _dequantize(q: np.ndarray, scale: float, zero: int) -> np.ndarray:
    if not np.issubdtype(q.dtype, np.integer) or scale == 0:
        return np.asarray(q, np.float32)
    return ((q.astype(np.float32) - zero) * scale).astype(np.float32)


def _interpreter(path: Path):
    """TensorFlow's TFLite interpreter for ``path`` (its deprecation warning, about the move to
    ai-edge-litert, silenced: TF 2.21 has it and that package is not on the index here)."""
    import warnings

    import tensorflow as tf

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tf.lite.Interpreter(model_path=str(path), num_threads=os.cpu_count())
    except Exception as e:  # the interpreter raises ValueError / RuntimeError on bad files
        raise DataFormatError(f"could not load {path} as a TFLite model ({e})") from None


def _tflite(path: Path):
    """``(input shape, output name, call, classes)`` of a TFLite file."""
    interpreter = _interpreter(path)
    signatures = interpreter.get_signature_list()
    key = "serving_default" if "serving_default" in signatures else next(iter(signatures), None)
    if key is None:
        raise DataFormatError(f"{path} has no signature; export it with `kerasinv export`")
    runner = interpreter.get_signature_runner(key)
    inputs, outputs = runner.get_input_details(), runner.get_output_details()
    if len(inputs) != 1:
        raise DataFormatError(f"{path}: needs one image input, has {sorted(inputs)}")
    ((input_name, spec),) = inputs.items()
    shapes = {name: tuple(d["shape_signature"]) for name, d in outputs.items()}
    out = pick_output(shapes)
    in_scale, in_zero = spec["quantization"]
    out_scale, out_zero = outputs[out]["quantization"]
    dtype = spec["dtype"]

    def call(x: np.ndarray) -> np.ndarray:
        q = _quantize(np.asarray(x, np.float32), dtype, in_scale, in_zero)
        return _dequantize(runner(**{input_name: q})[out], out_scale, out_zero)

    shape = tuple(None if d < 0 else int(d) for d in spec["shape_signature"])
    return shape, out, call, (None if shapes[out][-1] < 0 else int(shapes[out][-1]))


def _onnx(path: Path):
    """``(input shape, output name, call, classes)`` of an ONNX file (ONNX Runtime, CPU)."""
    try:
        import onnxruntime as ort
    except ImportError:
        from kerasinv.errors import ConfigError

        raise ConfigError(
            f"{path}: measuring an ONNX file needs ONNX Runtime: pip install 'kerasinv[deploy]'"
        ) from None
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types on bad files
        raise DataFormatError(f"could not load {path} as an ONNX model ({e})") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise DataFormatError(f"{path}: needs one image input, has {[i.name for i in inputs]}")
    shapes = {o.name: tuple(o.shape) for o in session.get_outputs()}
    out = pick_output(shapes)
    name = inputs[0].name

    def call(x: np.ndarray) -> np.ndarray:
        (scores,) = session.run([out], {name: np.asarray(x, np.float32)})
        return np.asarray(scores, np.float32)

    shape = tuple(d if isinstance(d, int) else None for d in inputs[0].shape)
    classes = shapes[out][-1]
    return shape, out, call, classes if isinstance(classes, int) else None


def load_deployed(path: str | Path, preprocess: str = "auto"):
    """A ``.tflite`` or ``.onnx`` file as a :class:`~kerasinv.models.loaded.LoadedModel`
    (``preprocess``: ``"auto"`` means ``"none"``: exported files take raw pixels).

    Raises:
        DataFormatError: not a readable model of that format, or not images to class scores.
    """
    from kerasinv.models.loaded import LoadedModel, check_io, predictor

    path = Path(path)
    shape, output, call, classes = (_tflite if path.suffix.lower() == ".tflite" else _onnx)(path)
    classes = check_io(str(path), shape, (None, classes or 2))
    preprocess = "none" if preprocess == "auto" else preprocess
    notes: list[str] = []
    return LoadedModel(
        path.stem, str(path), int(shape[1]), predictor(call, preprocess, notes, output), notes,
        preprocess, None, classes,
    )  # fmt: skip


def signature(path: str | Path) -> tuple[list[str], list[str]]:
    """``(input names, output names)`` of an exported SavedModel folder, TFLite or ONNX file."""
    path = Path(path)
    if path.suffix.lower() == ".tflite":
        found = _interpreter(path).get_signature_list()
        first = found.get("serving_default") or next(iter(found.values()))
        return list(first["inputs"]), sorted(first["outputs"])
    if path.suffix.lower() == ".onnx":
        import onnx

        graph = onnx.load(str(path), load_external_data=False).graph
        return [i.name for i in graph.input], sorted(o.name for o in graph.output)
    import tensorflow as tf

    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    return list(fn.structured_input_signature[1]), sorted(fn.structured_outputs)


__all__ = ["SUFFIXES", "is_deployed", "load_deployed", "signature"]
