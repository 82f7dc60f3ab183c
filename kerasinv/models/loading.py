"""Loading any model to measure: a ``.keras`` / ``.h5`` file, a SavedModel folder or an in-memory
``keras.Model``, wrapped as a :class:`~kerasinv.models.loaded.LoadedModel` whose ``predict`` takes
0..255 pixels; ``.tflite`` and ``.onnx`` files through :mod:`kerasinv.models.deployed`.

The preprocessing for ``"auto"`` comes from :mod:`kerasinv.models.architectures`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerasinv.errors import ConfigError, DataFormatError, DataNotFoundError
from kerasinv.models.architectures import preprocessing_for
from kerasinv.models.loaded import (  # the names every loader shares, here as before
    LoadedModel,
    are_probabilities,
    check_io,
    pick_output,
    predictor,
)

PREPROCESSING = ("auto", "none", "caffe", "tf", "torch")


IMAGENET_CLASSES = 1000


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
