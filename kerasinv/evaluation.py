"""``kerasinv evaluate``: one invariance report for any Keras model or SavedModel.

Protocols (papers.md §2.2, §3.3), each on every image, with the model's input size ``S``:

- ``crop``: the photo at ``S + 10`` pixels (234 for 224: Azulay & Weiss), ``S`` windows at 9
  consecutive diagonal offsets around the centre;
- ``black``: the photo resized to ``round(S / 1.3)`` (172 for 224: their s = 1.3), pasted on an ``S``
  canvas at 9 consecutive diagonal offsets (``--background``: black pixels by default);
- ``inpaint``: as ``black``, then the canvas filled by their iterative normalised convolution;
- ``scale``: the embedded photo at 9 consecutive sizes, centred;
- ``shift``: Zhang's consistency of two random ``S`` crops of the photo at ``round(S * 256 / 224)``.

Reported per protocol: P(top-1 change) and mean absolute change over the 8 consecutive pairs (A&W),
top-1 accuracy of the first frame when labels are known, and for ``shift`` the consistency.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kerasinv.errors import ConfigError, DataFormatError, DataNotFoundError

PROTOCOLS = ("crop", "black", "inpaint", "scale", "shift")
PREPROCESSING = ("auto", "none", "caffe", "tf", "torch")

#: keras.applications preprocessing by model-name prefix, for ``preprocess="auto"``.
AUTO_PREPROCESSING = {
    "vgg": "caffe",
    "resnet50": "caffe",
    "resnet101": "caffe",
    "resnet152": "caffe",
    "inception_resnet_v2": "tf",
    "inception_v3": "tf",
    "xception": "tf",
    "mobilenet": "tf",
    "densenet": "torch",
}


def auto_preprocessing(model_name: str) -> str:
    """The keras.applications preprocessing of a model named like a stock one (``vgg16`` ->
    ``caffe``, ``inception_resnet_v2`` / ``mobilenet...`` -> ``tf``), else ``none`` (raw pixels, as
    kerasinv's SavedModels take)."""
    name = model_name.lower()
    for prefix, mode in AUTO_PREPROCESSING.items():
        if name.startswith(prefix):
            return mode
    return "none"


STEPS = 8


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


def from_keras(model, preprocess: str = "auto", source: str = "", name: str | None = None):
    """Wrap an in-memory ``keras.Model`` ``[B, S, S, 3] -> [B, classes]`` as a :class:`LoadedModel`
    (``preprocess`` as in :func:`load_model`; ``"auto"`` chooses by ``model.name``)."""
    if preprocess not in PREPROCESSING:
        raise ConfigError(
            f"preprocess must be one of {', '.join(PREPROCESSING)}, got {preprocess!r}"
        )
    shape = model.input_shape
    if isinstance(shape, list) or len(shape) != 4 or shape[1] is None:
        raise DataFormatError(
            f"{source or model.name}: the model must take one [B, S, S, 3] input of fixed size, "
            f"got {shape}"
        )
    notes: list[str] = []
    if preprocess == "auto":
        preprocess = auto_preprocessing(model.name)
        notes.append(f"preprocessing chosen from the model name: {preprocess}")

    predict = _predictor(lambda x: np.asarray(model.predict_on_batch(x)), preprocess, notes)
    return LoadedModel(
        name or model.name, source or model.name, int(shape[1]), predict, notes, preprocess, model
    )


def _predictor(call: Callable, preprocess: str, notes: list[str]) -> Callable:
    """``0..255 pixels -> probabilities``: keras.applications preprocessing, ``call``, softmax if the
    outputs are logits."""

    def predict(batch: np.ndarray) -> np.ndarray:
        import keras

        x = np.asarray(batch, np.float32)
        if preprocess != "none":
            x = keras.applications.imagenet_utils.preprocess_input(x.copy(), mode=preprocess)
        return _softmax_if_needed(call(x), notes)

    return predict


def _softmax_if_needed(scores: np.ndarray, notes: list[str]) -> np.ndarray:
    scores = np.asarray(scores, np.float64)
    if scores.min() >= 0 and np.allclose(scores.sum(-1), 1.0, atol=1e-3):
        return scores
    if "outputs are not probabilities: softmax applied" not in notes:
        notes.append("outputs are not probabilities: softmax applied")
    shifted = scores - scores.max(-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(-1, keepdims=True)


def load_model(path: str | Path, preprocess: str = "auto") -> LoadedModel:
    """Load a ``.keras`` / ``.h5`` file or a SavedModel folder (``serving_default`` signature).

    Args:
        path: the model.
        preprocess: what to apply to 0..255 pixels before the model: ``"none"`` (the model takes raw
            pixels, as kerasinv's exported SavedModels do), keras.applications' ``"caffe"``
            (VGG16, ResNet50), ``"tf"`` ([-1, 1]: InceptionResNetV2, MobileNet) or ``"torch"``, or
            ``"auto"``: by the model's name (:func:`auto_preprocessing`; SavedModels: ``"none"``).
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
        raise DataNotFoundError(f"no model at {path}: give a .keras file or a SavedModel folder")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise DataFormatError(f"{path} is a folder without saved_model.pb: not a SavedModel")
        loaded = tf.saved_model.load(str(path))
        if "serving_default" not in loaded.signatures:
            raise DataFormatError(f"{path} has no serving_default signature")
        fn = loaded.signatures["serving_default"]
        (input_name, spec), *rest = fn.structured_input_signature[1].items()
        if rest or spec.shape.rank != 4 or spec.shape[1] is None:
            raise DataFormatError(
                f"{path}: serving_default must take one [B, S, S, 3] image input, got "
                f"{fn.structured_input_signature[1]}"
            )
        size, dtype = int(spec.shape[1]), spec.dtype

        def call(x):
            out = fn(**{input_name: tf.cast(x, dtype)})
            key = "probabilities" if "probabilities" in out else sorted(out)[0]
            return out[key].numpy()

        name = path.name if not path.name.isdigit() else path.parent.name
        preprocess = "none" if preprocess == "auto" else preprocess
    else:
        try:
            model = keras.saving.load_model(str(path), compile=False)
        except Exception as e:  # Keras raises many types for unreadable files
            raise DataFormatError(f"could not load {path} as a Keras model: {e}") from None
        return from_keras(model, preprocess, source=str(path))

    return LoadedModel(
        name, str(path), size, _predictor(call, preprocess, notes), notes, preprocess
    )


def protocol_frames(images, protocol: str, size: int, background="black", seed: int = 0):
    """The perturbed frames of a batch of square photos ``[B, P, P, 3]`` (any P >= size):
    ``[B, 9, size, size, 3]`` for the one-pixel protocols, ``[B, 2, size, size, 3]`` for shift."""
    import tensorflow as tf

    from kerasinv import perturb

    x = tf.convert_to_tensor(images, tf.float32)
    if protocol == "crop":
        source = perturb.resize(x, size + STEPS + 2)
        return perturb.onepixel_sequence(source, "crop", canvas=size, steps=STEPS)
    if protocol in ("black", "inpaint", "scale"):
        embedded = max(4, round(size / 1.3))
        return perturb.onepixel_sequence(
            x, protocol, canvas=size, size=embedded, steps=STEPS, background=background
        )
    if protocol == "shift":
        source = perturb.resize(x, max(size + 2, round(size * 256 / 224)))
        first, second, _ = perturb.random_crop_pair(
            source, size, tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
        )
        return tf.stack([first, second], axis=1)
    raise ConfigError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")


@functools.lru_cache(maxsize=32)
def compiled_frames(protocol: str, size: int, background="black"):
    """:func:`protocol_frames` compiled by XLA (perturbations are gathers, which XLA fuses: several
    times faster than a plain graph on CPU); ``fn(images, seed)``."""
    import tensorflow as tf

    @tf.function(jit_compile=True, reduce_retracing=True)
    def frames(images, seed):
        return protocol_frames(images, protocol, size, background, seed)

    return frames


def evaluate(
    model: LoadedModel,
    images: np.ndarray,
    labels: np.ndarray | None,
    protocols: Sequence[str] = PROTOCOLS,
    batch_size: int = 16,
    background="black",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run the protocols; returns ``{"summary": {protocol: {...}}, "per_image": {...}}``."""
    import tensorflow as tf

    from kerasinv import metrics

    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise ConfigError(f"unknown protocols {unknown}; known: {', '.join(PROTOCOLS)}")
    summary, per_image = {}, {}
    for protocol in protocols:
        start = time.perf_counter()
        tops, changed, change = [], [], []
        for i in range(0, len(images), batch_size):
            batch = np.asarray(images[i : i + batch_size], np.float32)
            frames = compiled_frames(protocol, model.input_size, background)(
                batch, tf.constant(seed + i, tf.int64)
            )
            frames = np.asarray(frames)
            b, t = frames.shape[:2]
            probs = model.predict(frames.reshape(b * t, *frames.shape[2:])).reshape(b, t, -1)
            tops.append(probs.argmax(-1))
            c, a = metrics.onepixel_changes(probs)
            changed.append(c)
            change.append(a)
        tops, changed, change = (np.concatenate(v) for v in (tops, changed, change))
        row = {"images": len(tops)}
        if protocol == "shift":
            row["consistency"] = float(1 - changed.mean())
        else:
            row["p_top1_change"] = float(changed.mean())
            row["mean_absolute_change"] = float(change.mean())
        row["seconds"] = round(time.perf_counter() - start, 2)
        if labels is not None and np.all(labels >= 0):
            row["accuracy"] = float(np.mean(tops[:, 0] == labels))
        summary[protocol] = row
        per_image[f"{protocol}_top1"] = tops
        per_image[f"{protocol}_changed"] = changed
        per_image[f"{protocol}_abs_change"] = change
        if progress:
            progress(f"{protocol}: {row}")
    return {"summary": summary, "per_image": per_image}


def render_table(result: dict, title: str) -> str:
    """A Markdown table of the summary."""
    lines = [
        f"# {title}",
        "",
        "| protocol | images | P(top-1 change) | MAC | consistency | accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for protocol, row in result["summary"].items():

        def fmt(key, row=row):
            value = row.get(key)
            return (
                "—"
                if value is None or (isinstance(value, float) and math.isnan(value))
                else f"{value:.3f}"
            )

        lines.append(
            f"| {protocol} | {row['images']} | {fmt('p_top1_change')} | {fmt('mean_absolute_change')} "
            f"| {fmt('consistency')} | {fmt('accuracy')} |"
        )
    return "\n".join(lines) + "\n"


def write_report(result: dict, output: str | Path, meta: dict) -> Path:
    """``results.json``, ``table.md``, ``per_image.npz`` and ``p_top1_change.png`` in ``output``
    (written atomically: the folder appears complete or not at all)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasinv.io import atomic_path

    output = Path(output)
    with atomic_path(output, directory=True) as tmp:
        (tmp / "results.json").write_text(
            json.dumps({**meta, **{"summary": result["summary"]}}, indent=2)
        )
        (tmp / "table.md").write_text(render_table(result, f"Invariance of {meta['model']}"))
        np.savez_compressed(tmp / "per_image.npz", **result["per_image"])
        rows = {p: r for p, r in result["summary"].items() if "p_top1_change" in r}
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.bar(list(rows), [r["p_top1_change"] for r in rows.values()], color="#4477aa")
        ax.set_ylabel("P(top-1 change)")
        ax.set_title(f"{meta['model']}: one-pixel changes")
        fig.tight_layout()
        fig.savefig(tmp / "p_top1_change.png", dpi=120)
        plt.close(fig)
    return output


__all__ = [
    "PREPROCESSING",
    "PROTOCOLS",
    "LoadedModel",
    "evaluate",
    "from_keras",
    "load_model",
    "protocol_frames",
    "render_table",
    "write_report",
]
