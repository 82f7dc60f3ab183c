"""The small trained CIFAR-10 model that ships with kerasinv (``saved_models/all-cnn-c-bn-w050/``).

All-CNN-C at half width with batch normalisation, trained on the real CIFAR-10 by
``examples/train_shipped_model.py``; its accuracy and training are in ``saved_models/README.md`` and
``training.json`` beside it. It takes raw 0–255 RGB pixels ``[B, 32, 32, 3]`` and returns softmax
probabilities ``[B, 10]``. The folder ships in the wheel (``kerasinv/saved_models/``) and in the source
checkout (``saved_models/``), so recipes' smoke presets and ``kerasinv evaluate`` work offline.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from kerasinv.errors import DataNotFoundError

SHIPPED_NAME = "all-cnn-c-bn-w050"


def shipped_dir() -> Path:
    """The shipped model's folder: ``1/`` (SavedModel), ``model.keras`` and ``training.json``."""
    candidates = [
        Path(str(resources.files("kerasinv"))) / "saved_models" / SHIPPED_NAME,  # installed wheel
        Path(__file__).resolve().parents[2] / "saved_models" / SHIPPED_NAME,  # source checkout
    ]
    for place in candidates:
        if (place / "1" / "saved_model.pb").is_file():
            return place
    raise DataNotFoundError(
        f"the shipped model {SHIPPED_NAME} is missing (looked in "
        f"{', '.join(map(str, candidates))}); reinstall kerasinv or retrain it with "
        "examples/train_shipped_model.py"
    )


def shipped_savedmodel() -> Path:
    """Path of the shipped TF Serving SavedModel (version 1)."""
    return shipped_dir() / "1"


def shipped_keras() -> Path:
    """Path of the shipped model as a ``.keras`` file (needed to build anti-aliased twins)."""
    return shipped_dir() / "model.keras"


__all__ = ["SHIPPED_NAME", "shipped_dir", "shipped_keras", "shipped_savedmodel"]
