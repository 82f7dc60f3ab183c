"""``kerasinv evaluate``: one invariance report for any Keras model or SavedModel.

Protocols (docs/papers.md §2.2, §3.3), each on every image, with the model's input size ``S``:

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
        preprocess = auto_preprocessing(model.name)
        notes.append(f"preprocessing chosen from the model name: {preprocess}")

    predict = _predictor(lambda x: np.asarray(model.predict_on_batch(x)), preprocess, notes)
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
        key = "probabilities" if "probabilities" in outputs else sorted(outputs)[0]
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
        name, str(path), size, _predictor(call, preprocess, notes), notes, preprocess, None, classes
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

    # no reduce_retracing: a trace generalised to unknown H and W would need the resize op XLA
    # cannot compile (ScaleAndTranslate); one trace per image shape is cheap
    @tf.function(jit_compile=True)
    def frames(images, seed):
        return protocol_frames(images, protocol, size, background, seed)

    return frames


def accuracy_labels(
    labels: np.ndarray | None, classes: int | None, labels_from: str = "imagenet"
) -> tuple[np.ndarray | None, str | None]:
    """The labels to score top-1 accuracy against, or ``None`` and the reason.

    WordNet-id labels are ImageNet's 1,000 classes: they score only a 1,000-way model. Labels from
    a user's label file are taken as the model's own class indices and must all be below K.
    Unlabelled photos (-1) are left out of the accuracy.
    """
    if labels is None or not np.any(np.asarray(labels) >= 0):
        return None, None
    labels = np.asarray(labels)
    if labels_from == "imagenet" and classes is not None and classes != IMAGENET_CLASSES:
        return None, (
            f"accuracy not computed: the photos' labels are ImageNet's {IMAGENET_CLASSES:,} classes "
            f"but the model has {classes} outputs (give --labels with the model's class indices)"
        )
    if classes is not None and labels.max() >= classes:
        return None, (
            f"accuracy not computed: a label ({int(labels.max())}) is not below the model's "
            f"{classes} classes"
        )
    return labels, None


def evaluate(
    model: LoadedModel,
    images: np.ndarray,
    labels: np.ndarray | None,
    protocols: Sequence[str] = PROTOCOLS,
    batch_size: int = 16,
    background="black",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    labels_from: str = "imagenet",
) -> dict:
    """Run the protocols; returns ``{"summary": {protocol: {...}}, "per_image": {...}}``.

    Accuracy is reported only when the labels are in the model's class space (see
    :func:`accuracy_labels`; ``labels_from``: ``"imagenet"`` for WordNet-id labels, ``"file"`` for
    indices from a user's label file); otherwise a note says why it is missing.
    """
    import tensorflow as tf

    from kerasinv import metrics

    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise ConfigError(f"unknown protocols {unknown}; known: {', '.join(PROTOCOLS)}")
    scored, note = accuracy_labels(labels, model.classes, labels_from)
    if note and note not in model.notes:
        model.notes.append(note)
    known = None if scored is None else scored >= 0
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
        if scored is not None:
            row["accuracy"] = float(np.mean(tops[:, 0][known] == scored[known]))
            row["labelled"] = int(known.sum())
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


#: What ``evaluate`` writes into its output folder.
REPORT_ENTRIES = ("results.json", "table.md", "per_image.npz", "p_top1_change.png")


def report_entries() -> tuple[str, ...]:
    return REPORT_ENTRIES


def report_name(model_path: str | Path) -> str:
    """The default report folder's name for a model path: the file's stem, or the SavedModel's
    folder name (its parent's for a TF Serving version folder ``NAME/1``)."""
    path = Path(model_path)
    if path.is_dir():
        return path.resolve().parent.name if path.name.isdigit() else path.name
    return path.stem


def write_report(result: dict, output: str | Path, meta: dict, overwrite: bool = False) -> Path:
    """``results.json``, ``table.md``, ``per_image.npz`` and ``p_top1_change.png`` in ``output``.

    The folder is claimed first (:mod:`kerasinv.output_folder`: an earlier report is replaced only
    with ``overwrite``, other files are never touched); each file is written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerasinv.io import atomic_path, write_json, write_text
    from kerasinv.output_folder import claim_output

    output = Path(output)
    claim_output(output, "evaluate", overwrite, REPORT_ENTRIES)
    write_json(output / "results.json", {**meta, **{"summary": result["summary"]}})
    write_text(output / "table.md", render_table(result, f"Invariance of {meta['model']}"))
    with atomic_path(output / "per_image.npz", suffix=".npz") as tmp:
        np.savez_compressed(tmp, **result["per_image"])
    rows = {p: r for p, r in result["summary"].items() if "p_top1_change" in r}
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.bar(list(rows), [r["p_top1_change"] for r in rows.values()], color="#4477aa")
    ax.set_ylabel("P(top-1 change)")
    ax.set_title(f"{meta['model']}: one-pixel changes")
    fig.tight_layout()
    with atomic_path(output / "p_top1_change.png", suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return output


__all__ = [
    "PREPROCESSING",
    "PROTOCOLS",
    "LoadedModel",
    "accuracy_labels",
    "check_io",
    "evaluate",
    "from_keras",
    "load_model",
    "protocol_frames",
    "render_table",
    "report_name",
    "write_report",
]
