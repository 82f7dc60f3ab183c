"""A model ready to measure (:class:`LoadedModel`) and what every loader shares: the input and
output check, the picked output of a file, and the predictor that takes 0..255 pixels.

:mod:`kerasinv.models.loading` (Keras files, SavedModels, ``keras.Model``) and
:mod:`kerasinv.models.deployed` (TFLite, ONNX) both build on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from kerasinv.errors import DataFormatError


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


__all__ = ["LoadedModel", "are_probabilities", "check_io", "pick_output", "predictor"]
