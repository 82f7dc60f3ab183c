"""What kerasinv knows about each ImageNet architecture, in one table: input size, keras.applications
preprocessing, and the resize-then-crop ratio of the evaluation photos.

Every measuring path reads this table: ``kerasinv evaluate`` (``--preprocess auto``), the azulay and
zhang recipes' paper networks, and the photo size (``S * 256 / 224``: the standard ImageNet
evaluation resizes to 256 and crops 224, docs/papers.md §3.3).
"""

from __future__ import annotations

from dataclasses import dataclass

#: ImageNet evaluation: resize to 256, crop 224 (Zhang's protocol and torchvision's).
CROP_RATIO = 224 / 256


@dataclass(frozen=True)
class Architecture:
    """One architecture.

    Attributes:
        name: kerasinv's name (``kerasinv.models.get``), or the keras.applications model-name prefix
            for architectures kerasinv does not build.
        input_size: ``S`` of its ``[B, S, S, 3]`` ImageNet input.
        preprocess: the keras.applications mode mapping 0..255 pixels to its input: ``"caffe"``
            (BGR, mean-subtracted), ``"tf"`` ([-1, 1]), ``"torch"`` (ImageNet mean/std).
        keras_names: model-name prefixes by which a loaded model is recognised (``model.name``).
    """

    name: str
    input_size: int
    preprocess: str
    keras_names: tuple[str, ...]


ARCHITECTURES = {
    a.name: a
    for a in (
        Architecture("vgg16", 224, "caffe", ("vgg16", "vgg19")),
        Architecture("resnet50", 224, "caffe", ("resnet50", "resnet101", "resnet152")),
        Architecture("inception-resnet-v2", 299, "tf", ("inception_resnet_v2",)),
        Architecture("inception-v3", 299, "tf", ("inception_v3",)),
        Architecture("xception", 299, "tf", ("xception",)),
        Architecture("mobilenet", 224, "tf", ("mobilenet",)),
        Architecture("densenet", 224, "torch", ("densenet",)),
    )
}
#: The architectures kerasinv builds (:func:`kerasinv.models.get`): the papers' three.
PAPER_NETWORKS = ("vgg16", "resnet50", "inception-resnet-v2")


def architecture(name: str) -> Architecture:
    """The entry for a kerasinv name (``"vgg16"``) or a loaded model's name (``"mobilenet_0.75_224"``).

    Raises:
        KeyError: for an architecture not in :data:`ARCHITECTURES`.
    """
    if name in ARCHITECTURES:
        return ARCHITECTURES[name]
    lowered = name.lower()
    for entry in ARCHITECTURES.values():
        if any(lowered.startswith(prefix) for prefix in entry.keras_names):
            return entry
    raise KeyError(name)


def preprocessing_for(model_name: str) -> str:
    """The keras.applications preprocessing of a model named like a known architecture
    (``vgg16`` -> ``caffe``, ``mobilenet...`` -> ``tf``), else ``"none"`` (raw 0..255 pixels, as
    kerasinv's own models and SavedModels take)."""
    try:
        return architecture(model_name).preprocess
    except KeyError:
        return "none"


def photo_size(input_size: int) -> int:
    """The size evaluation photos are resized to before ``input_size`` crops: ``round(S * 256 / 224)``
    (256 for 224, 342 for 299), and at least ``S + 2`` so tiny inputs still have shifts."""
    return max(input_size + 2, round(input_size / CROP_RATIO))


__all__ = [
    "ARCHITECTURES",
    "CROP_RATIO",
    "PAPER_NETWORKS",
    "Architecture",
    "architecture",
    "photo_size",
    "preprocessing_for",
]
