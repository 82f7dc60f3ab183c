"""Loading any model to measure: a ``.keras`` / ``.h5`` file, a SavedModel folder or an in-memory
``keras.Model``, wrapped as a :class:`LoadedModel` whose ``predict`` takes 0..255 pixels.

The preprocessing for ``"auto"`` comes from :mod:`kerasinv.models.architectures`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kerasinv.errors import ConfigError, DataFormatError, DataNotFoundError
from kerasinv.models.architectures import preprocessing_for

PREPROCESSING = ("auto", "none", "caffe", "tf", "torch")


@dataclasses.dataclass
class LoadedModel:
    """A model ready for evaluation: ``predict(uint8-range float [B, S, S, 3]) -> probabilities``."""

    name: str
    source: str
    input_size: int
    predict: Callable[[np.ndarray], np.ndarray]
    notes: list[str]
    preprocess: str = "none"
    keras_model: object = None  # the keras.Model when there is one (None for SavedModels)
    classes: int | None = None  # outputs per image (None: not known before the first call)


IMAGENET_CLASSES = 1000


def check_io(where: str, input_shape, output_shape) -> int:
    """Check that a model maps square RGB images ``[B, S, S, 3]`` to scores ``[B, K]``; returns K.

    Raises:
        DataFormatError: with what the model takes or gives and what evaluate needs.
    """
    if isinstance(input_shape, list) or input_shape is None or len(input_shape) != 4:
        raise DataFormatError(
            f"{where}: evaluate needs a model with one image input [B, S, S, 3]; this one takes "
            f"{input_shape}"
        )
    _, h, w, c = input_shape
    if h is None or w is None:
        raise DataFormatError(
            f"{where}: the input size is not fixed ({input_shape}); rebuild the model with "
            "input_shape=(S, S, 3) so the protocols know which crop size to use"
        )
    if h != w:
        raise DataFormatError(
            f"{where}: the model takes {h}x{w} inputs; evaluate's protocols use square S x S crops "
            "(rebuild it with a square input_shape)"
        )
    if c != 3:
        raise DataFormatError(
            f"{where}: the model takes {c}-channel inputs; evaluate feeds RGB photos (3 channels)"
        )
    if isinstance(output_shape, list) or output_shape is None or len(output_shape) != 2:
        raise DataFormatError(
            f"{where}: evaluate needs class scores [B, K] as the output; this model gives "
            f"{output_shape} (add a classifier head, e.g. include_top=True or pooling + Dense)"
        )
    k = output_shape[-1]
    if k is None or k < 2:
        raise DataFormatError(
            f"{where}: the output must hold K >= 2 class scores, got {output_shape}"
        )
    return int(k)


def from_keras(model, preprocess: str = "auto", source: str = "", name: str | None = None):
    """Wrap an in-memory ``keras.Model`` ``[B, S, S, 3] -> [B, classes]`` as a :class:`LoadedModel`
    (``preprocess`` as in :func:`load_model`; ``"auto"`` chooses by ``model.name``)."""
    if preprocess not in PREPROCESSING:
        raise ConfigError(
            f"preprocess must be one of {', '.join(PREPROCESSING)}, got {preprocess!r}"
        )
    shape = model.input_shape
    classes = check_io(source or model.name, shape, model.output_shape)
    notes: list[str] = []
    if preprocess == "auto":
        preprocess = preprocessing_for(model.name)
        notes.append(f"preprocessing chosen from the model name: {preprocess}")

    predict = predictor(lambda x: np.asarray(model.predict_on_batch(x)), preprocess, notes)
    return LoadedModel(
        name or model.name,
        source or model.name,
        int(shape[1]),
        predict,
        notes,
        preprocess,
        model,
        classes,
    )


def predictor(
    call: Callable, preprocess: str, notes: list[str], output: str | None = None
) -> Callable:
    """``0..255 pixels -> probabilities``: keras.applications' preprocessing
    (:func:`kerasinv.models.preprocessing.preprocess_input`), ``call``, then softmax if the outputs
    are logits: known by their name ``output`` (``"probabilities"``, ``"logits"``), else when they
    are not rows of non-negative scores summing to 1."""
    from kerasinv.models.preprocessing import preprocess_input

    def predict(batch: np.ndarray) -> np.ndarray:
        return _softmax_if_needed(call(preprocess_input(batch, preprocess)), notes, output)

    return predict


def are_probabilities(scores, atol: float = 1e-3) -> bool:
    """Whether ``scores`` ``[B, K]`` look like softmax outputs: non-negative rows summing to 1."""
    scores = np.asarray(scores, np.float64)
    return bool(scores.min() >= 0 and np.allclose(scores.sum(-1), 1.0, atol=atol))


def pick_output(shapes: dict[str, tuple]) -> str:
    """The output of a file to measure, from ``{name: shape}``: ``probabilities``, else
    ``logits`` (as ``kerasinv export`` names them), else the first ``[B, K]`` one by name.

    Raises:
        DataFormatError: no output is ``[B, K]``.
    """
    for name in ("probabilities", "logits"):
        if name in shapes:
            return name
    two_d = sorted(name for name, shape in shapes.items() if shape is not None and len(shape) == 2)
    if not two_d:
        raise DataFormatError(f"no [B, K] class-score output among {sorted(shapes)}")
    return two_d[0]


def _softmax_if_needed(scores: np.ndarray, notes: list[str], output: str | None) -> np.ndarray:
    scores = np.asarray(scores, np.float64)
    if output == "probabilities":  # as named (a quantized file's rows may not sum to 1 exactly)
        return scores
    if output != "logits" and are_probabilities(scores):
        return scores
    if "outputs are not probabilities: softmax applied" not in notes:
        notes.append("outputs are not probabilities: softmax applied")
    shifted = scores - scores.max(-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(-1, keepdims=True)


def load_model(path: str | Path, preprocess: str = "auto") -> LoadedModel:
    """Load a ``.keras`` / ``.h5`` file, a SavedModel folder (``serving_default`` signature), or a
    deployed ``.tflite`` / ``.onnx`` file (:mod:`kerasinv.models.deployed`).

    Args:
        path: the model.
        preprocess: what to apply to 0..255 pixels before the model: ``"none"`` (the model takes raw
            pixels, as kerasinv's exported SavedModels do), keras.applications' ``"caffe"``
            (VGG16, ResNet50), ``"tf"`` ([-1, 1]: InceptionResNetV2, MobileNet) or ``"torch"``, or
            ``"auto"``: by the model's name (:func:`kerasinv.models.architectures.preprocessing_for`; SavedModels: ``"none"``).
    """
    import keras
    import tensorflow as tf

    import kerasinv.layers  # noqa: F401  (registers the custom layers for loading)

    if preprocess not in PREPROCESSING:
        raise ConfigError(
            f"--preprocess must be one of {', '.join(PREPROCESSING)}, got {preprocess!r}"
        )
    path = Path(path)
    notes: list[str] = []
    if not path.exists():
        raise DataNotFoundError(
            f"no model at {path}: give a .keras file, a SavedModel folder or a .tflite / .onnx file"
        )
    from kerasinv.models.deployed import is_deployed, load_deployed

    if is_deployed(path) and path.is_file():
        return load_deployed(path, preprocess)
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise DataFormatError(f"{path} is a folder without saved_model.pb: not a SavedModel")
        try:
            loaded = tf.saved_model.load(str(path))
        except Exception as e:  # TF raises many types for damaged SavedModels
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise DataFormatError(
                f"could not load the SavedModel {path} ({first[:200]}); is its variables/ folder "
                "complete? Export it again"
            ) from None
        if "serving_default" not in loaded.signatures:
            raise DataFormatError(f"{path} has no serving_default signature")
        fn = loaded.signatures["serving_default"]
        inputs = fn.structured_input_signature[1]
        if len(inputs) != 1:
            raise DataFormatError(
                f"{path}: serving_default must take one image input [B, S, S, 3], got {inputs}"
            )
        ((input_name, spec),) = inputs.items()
        outputs = fn.structured_outputs
        key = pick_output(
            {k: tuple(v.shape) if v.shape.rank is not None else None for k, v in outputs.items()}
        )
        output = key if key in ("probabilities", "logits") else None
        out_shape = outputs[key].shape
        classes = check_io(
            str(path),
            tuple(spec.shape.as_list()) if spec.shape.rank is not None else None,
            tuple(out_shape.as_list()) if out_shape.rank is not None else None,
        )
        size, dtype = int(spec.shape[1]), spec.dtype

        def call(x):
            return fn(**{input_name: tf.cast(x, dtype)})[key].numpy()

        name = path.name if not path.name.isdigit() else path.parent.name
        preprocess = "none" if preprocess == "auto" else preprocess
    else:
        try:
            model = keras.saving.load_model(str(path), compile=False)
        except Exception as e:  # Keras raises many types for unreadable files
            raise DataFormatError(f"could not load {path} as a Keras model: {e}") from None
        return from_keras(model, preprocess, source=str(path))

    return LoadedModel(
        name,
        str(path),
        size,
        predictor(call, preprocess, notes, output),
        notes,
        preprocess,
        None,
        classes,
    )


__all__ = [
    "IMAGENET_CLASSES",
    "PREPROCESSING",
    "LoadedModel",
    "are_probabilities",
    "check_io",
    "from_keras",
    "load_model",
    "pick_output",
    "predictor",
]
