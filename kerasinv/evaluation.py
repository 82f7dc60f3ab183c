"""``kerasinv evaluate``: one invariance report for any Keras model or SavedModel.

Protocols (docs/papers.md §2.2, §3.3), each on every image, with the model's input size ``S``; the
frames are made and classified by :mod:`kerasinv.measure`:

- ``crop``: the photo at ``S + 10`` pixels (234 for 224: Azulay & Weiss), ``S`` windows at 9
  consecutive diagonal offsets around the centre;
- ``black``: the photo resized to ``round(S / 1.3)`` (172 for 224: their s = 1.3), pasted on an ``S``
  canvas at 9 consecutive diagonal offsets (``--background``: the ImageNet mean colour by default,
  as the authors' code and the azulay-onepixel recipe; ``black`` is pixel 0);
- ``inpaint``: as ``black``, then the canvas filled by their iterative normalised convolution;
- ``scale``: the embedded photo at 9 consecutive sizes, centred;
- ``shift``: Zhang's consistency of two random ``S`` crops of the photo at ``round(S * 256 / 224)``,
  ``shift_trials`` passes (Zhang: 5): the same pairs, and so the same number, as the zhang-blurpool
  recipe for the same model, photos and seed.

Reported per protocol: P(top-1 change) and mean absolute change over the 8 consecutive pairs (A&W),
top-1 accuracy of the first frame (``frame_accuracy``) when labels are known, and for ``shift`` the
consistency (and the accuracy of the centre crop); and, with labels, the accuracy on the photos as
they are (``result["clean"]``: each resized whole to the model's input).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kerasinv.errors import ConfigError
from kerasinv.measure import CIRCULAR_PROTOCOLS, PROTOCOLS, WORST_PROTOCOLS, WORST_SHIFT_RANGE
from kerasinv.metrics import worst_shift_accuracy
from kerasinv.models.loading import IMAGENET_CLASSES, LoadedModel


def accuracy_labels(
    labels: np.ndarray | None,
    classes: int | None,
    labels_from: str = "imagenet",
    folder_classes: Sequence[str] = (),
) -> tuple[np.ndarray | None, str | None]:
    """The labels to score top-1 accuracy against, or ``None`` and the reason.

    WordNet-id labels are ImageNet's 1,000 classes: they score only a 1,000-way model. Labels from
    a user's label file are taken as the model's own class indices and must all be below K.
    Class-folder labels (``labels_from="folders"``, the folders' indices in sorted order) score a
    model with one output per folder. Unlabelled photos (-1) are left out of the accuracy.
    """
    if labels is None or not np.any(np.asarray(labels) >= 0):
        return None, None
    labels = np.asarray(labels)
    if labels_from == "imagenet" and classes is not None and classes != IMAGENET_CLASSES:
        return None, (
            f"accuracy not computed: the photos' labels are ImageNet's {IMAGENET_CLASSES:,} classes "
            f"but the model has {classes} outputs (give --labels with the model's class indices)"
        )
    if labels_from == "folders" and classes is not None and classes != len(folder_classes):
        return None, (
            f"accuracy not computed: the photos are in {len(folder_classes)} class folders but the "
            f"model has {classes} outputs (give --labels with the model's class indices)"
        )
    if classes is not None and labels.max() >= classes:
        return None, (
            f"accuracy not computed: a label ({int(labels.max())}) is not below the model's "
            f"{classes} classes"
        )
    return labels, None


def describe_row(protocol: str, row: dict) -> str:
    """One progress line for a protocol's summary row, e.g.
    ``crop: P(top-1 change) 0.100, MAC 0.066, first-frame accuracy 0.870 (100 photos, 4.8 s)``."""
    parts = [
        f"{label} {row[key]:.3f}"
        for key, label in (
            ("p_top1_change", "P(top-1 change)"),
            ("mean_absolute_change", "MAC"),
            ("consistency", "consistency"),
            ("frame_accuracy", "first-frame accuracy"),
        )
        if isinstance(row.get(key), float)
    ]
    return f"{protocol}: {', '.join(parts)} ({row['images']:,} photos, {row['seconds']:.1f} s)"


def evaluate(
    model,
    images: np.ndarray,
    labels: np.ndarray | None = None,
    protocols: Sequence[str] = PROTOCOLS,
    batch_size: int = 16,
    background="mean",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    labels_from: str = "file",
    shift_trials: int = 5,
    preprocess: str = "auto",
    folder_classes: Sequence[str] = (),
    at_input: np.ndarray | None = None,
) -> dict:
    """Run the protocols on square photos ``[N, P, P, 3]`` (0..255; ``P`` = :func:`photo_size` of the
    model's input for ``shift``), a ``tf.data.Dataset`` of ``(images, labels)`` or a folder of
    photos (:func:`as_arrays`); returns ``{"summary": {protocol: {...}}, "per_image": {...},
    "clean": {"accuracy", "images", "labelled"} or None}``.

    ``model``: a ``keras.Model``, a ``.keras`` file or SavedModel folder, or a
    :class:`~kerasinv.models.loading.LoadedModel` (``preprocess`` applies to the first two:
    keras.applications' mode, ``"auto"`` by the model's name). Accuracy is reported only when the
    labels are in the model's class space (see :func:`accuracy_labels`; ``labels_from``:
    ``"file"`` (the default) for the model's own class indices, as Keras takes integer labels,
    ``"imagenet"`` for WordNet-id labels of ImageNet's 1,000 classes, ``"folders"`` for class
    folders named ``folder_classes``, in sorted order); otherwise a note says why it is missing.
    ``progress`` receives one line per protocol (:func:`describe_row`). ``at_input``: the same
    photos ``[N, I, I, 3]`` at the model's input size, each resized from its original
    (:attr:`~kerasinv.data.imagenet.Photos.at_input`), for the accuracy on the photos as they are
    and the circular protocols (default: ``images`` resized, a second resampling; a folder of
    photos gets them).

    Example:
        >>> import kerasinv, keras, numpy as np                          # doctest: +SKIP
        >>> model = keras.applications.MobileNet(weights="imagenet")      # doctest: +SKIP
        >>> photos = np.random.uniform(0, 255, (8, 256, 256, 3))          # doctest: +SKIP
        >>> kerasinv.evaluate(model, photos, protocols=["crop", "shift"])["summary"]  # doctest: +SKIP
    """
    from kerasinv.models.loading import from_keras, load_model

    if not isinstance(model, LoadedModel):
        model = (
            load_model(model, preprocess)
            if isinstance(model, (str, Path))
            else from_keras(model, preprocess)
        )
    from kerasinv.progress import context as progress_context

    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise ConfigError(f"unknown protocols {unknown}; known: {', '.join(PROTOCOLS)}")
    if isinstance(images, (str, Path)):  # a folder or archive of photos, labelled as the CLI's
        from kerasinv.data.imagenet import load_photos
        from kerasinv.models.architectures import photo_size

        photos = load_photos(
            images, resize=photo_size(model.input_size), require_labels=False,
            input_size=model.input_size,
        )  # fmt: skip
        images, labels, at_input = photos.images, photos.labels, photos.at_input
        labels_from, folder_classes = photos.labels_from or "imagenet", photos.classes
    images, labels = as_arrays(images, labels)
    if at_input is not None and len(at_input) != len(images):
        raise ConfigError(
            f"at_input holds {len(at_input)} photos for {len(images)} images: give each photo at "
            "the model's input size, in the same order"
        )
    scored, note = accuracy_labels(labels, model.classes, labels_from, folder_classes)
    if note and note not in model.notes:
        model.notes.append(note)
    known = None if scored is None else scored >= 0
    summary, per_image = {}, {}
    with progress_context(model.name):
        for protocol in protocols:
            start = time.perf_counter()
            row, first = _measure_protocol(
                model, images, protocol, per_image, batch_size, background, seed, shift_trials,
                at_input,
            )  # fmt: skip
            row["seconds"] = round(time.perf_counter() - start, 2)
            if scored is not None:
                row["frame_accuracy"] = float(np.mean(first[known] == scored[known]))
                row["labelled"] = int(known.sum())
                if protocol in WORST_PROTOCOLS:
                    row["worst_shift_accuracy"] = worst_shift_accuracy(
                        per_image[f"{protocol}_top1"][known], scored[known]
                    )
            summary[protocol] = row
            if progress:
                progress(describe_row(protocol, row))
        clean = None
        if scored is not None:
            top1 = clean_top1(model, images, batch_size, at_input)
            per_image["clean_top1"] = top1
            clean = {
                "accuracy": float(np.mean(top1[known] == scored[known])),
                "images": len(images),
                "labelled": int(known.sum()),
            }
            if progress:
                progress(f"accuracy on the unperturbed photos: {clean['accuracy']:.3f}")
    return {"summary": summary, "per_image": per_image, "clean": clean}


def as_arrays(images, labels=None) -> tuple[np.ndarray, np.ndarray | None]:
    """``(images, labels)`` as NumPy arrays from arrays, or from a ``tf.data.Dataset`` of
    ``(images, labels)`` or of images (batched or not), as Keras's ``fit`` takes them.

    Raises:
        ConfigError: not RGB ``[N, H, W, 3]`` or not square (one line, what to do); a warning
            for images that look scaled to 0..1 (kerasinv takes 0..255 pixels).
    """
    if hasattr(images, "as_numpy_iterator"):  # a tf.data.Dataset
        xs, ys = [], []
        for element in images.as_numpy_iterator():
            x, y = element[:2] if isinstance(element, tuple) else (element, None)
            xs.append(np.asarray(x)[None] if np.ndim(x) == 3 else np.asarray(x))
            if y is not None:
                ys.append(np.atleast_1d(np.asarray(y)))
        if not xs:
            raise ConfigError("the dataset yielded no images")
        images = np.concatenate(xs)
        labels = np.concatenate(ys) if ys and labels is None else labels
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ConfigError(
            f"images must be RGB [N, H, W, 3] with pixels 0..255, got shape {images.shape}; "
            "repeat a grey channel three times (np.repeat(x, 3, axis=-1))"
        )
    if images.shape[1] != images.shape[2]:
        raise ConfigError(
            f"images must be square [N, P, P, 3], got {images.shape[1]}x{images.shape[2]}; "
            "centre-crop them first (kerasinv.perturb.centre_crop)"
        )
    if images.size and float(np.max(images)) <= 1.0:
        warnings.warn(
            "the images look scaled to 0..1; kerasinv takes 0..255 pixels (the model's own "
            "preprocessing is applied after the perturbation): multiply them by 255",
            stacklevel=3,
        )
    if labels is not None:
        labels = np.asarray(labels)
        labels = labels.argmax(-1) if labels.ndim == 2 else labels.astype(np.int64)
    return images.astype(np.float32, copy=False), labels


def at_model_input(model, images, at_input=None) -> np.ndarray:
    """The whole photos at the model's input size, float32: ``at_input`` (each photo resized
    straight from its original, :attr:`kerasinv.data.imagenet.Photos.at_input`) when given, else
    ``images`` resized."""
    from kerasinv.perturb import resize

    size = model.input_size
    images = np.asarray(images if at_input is None else at_input, np.float32)
    if images.shape[1:3] != (size, size):
        images = np.asarray(resize(images, size))
    return images


def clean_top1(model, images, batch_size: int = 64, at_input=None) -> np.ndarray:
    """The top-1 class of each photo as it is: the whole photo at the model's input
    (:func:`at_model_input`), no crop, shift or canvas (what "the model's accuracy" means)."""
    from kerasinv import measure

    photos = at_model_input(model, images, at_input)
    return measure.predict_batched(model.predict, photos, batch_size).argmax(-1)


def _measure_protocol(
    model, images, protocol, per_image, batch_size, background, seed, trials, at_input=None
):
    """One protocol of :func:`evaluate`: its summary row and the first frame's top-1 class per
    photo (for the accuracy); the per-image arrays go into ``per_image``."""
    from kerasinv import measure, perturb
    from kerasinv.models.architectures import photo_size

    size, row = model.input_size, {"images": len(images)}
    if protocol in measure.CIRCULAR_PROTOCOLS or protocol in measure.WORST_PROTOCOLS:
        # the whole photo at the model's input size, shifted circularly (integer: pixels move;
        # sub-pixel: band-limited, kerasinv.perturb.fourier)
        photos = at_model_input(model, images, at_input)
        if protocol in measure.WORST_PROTOCOLS:
            step = measure.WORST_PROTOCOLS[protocol]
            grid = measure.shift_grid(
                model.predict, photos, step, measure.WORST_SHIFT_RANGE, batch_size
            )
            unshifted = int(np.flatnonzero(~grid.shifts.any(axis=1))[0])
            row.update(shifts=len(grid.shifts), step=step)
            per_image.update({f"{protocol}_top1": grid.top1, f"{protocol}_shifts": grid.shifts})
            return row, grid.top1[:, unshifted]
        step = measure.CIRCULAR_PROTOCOLS[protocol]
        pairs = measure.subpixel_shift_pairs(
            model.predict, photos, step, None, trials, seed, batch_size
        )
        first = measure.predict_batched(model.predict, photos, batch_size).argmax(-1)
        row.update(consistency=pairs.consistency, trials=trials, step=step)
        per_image.update({f"{protocol}_top1": pairs.top1, f"{protocol}_offsets": pairs.offsets})
        return row, first
    if protocol == "shift":
        photos = np.asarray(perturb.resize(np.asarray(images, np.float32), photo_size(size)))
        pairs = measure.shift_pairs(model.predict, photos, size, trials, seed, batch_size)
        first = measure.predict_batched(
            model.predict, perturb.centre_crop(photos, size), batch_size
        ).argmax(-1)
        row.update(consistency=pairs.consistency, trials=trials)
        per_image.update(
            shift_top1=pairs.top1, shift_offsets=pairs.offsets, shift_centre_top1=first
        )
        return row, first
    result = measure.onepixel(model.predict, images, protocol, size, background, batch_size)
    row["p_top1_change"] = float(result.changed.mean())
    row["mean_absolute_change"] = float(result.abs_change.mean())
    per_image[f"{protocol}_top1"] = result.top1
    per_image[f"{protocol}_changed"] = result.changed
    per_image[f"{protocol}_abs_change"] = result.abs_change
    return row, result.top1[:, 0]


def render_table(result: dict, title: str, meta: dict | None = None) -> str:
    """A Markdown table of the summary, under a line saying what was measured (``meta``: the
    report's photos, their count, labels, seed, background and preprocessing)."""
    from kerasinv.reporting.records import markdown_table

    lines = [f"# {title}", ""]
    if meta:
        lines += [
            f"{meta['photos']:,} photos from {meta['images']} "
            f"({'labels from ' + meta['labels_from'] if meta.get('labels_from') else 'no labels'}), "
            f"seed {meta['seed']}, one-pixel canvas `{meta['background']}`, preprocessing "
            f"`{meta['preprocess']}`, {meta['shift_trials']} shift pass(es).",
            "",
        ]
    rows = [
        [
            protocol,
            row["images"],
            *(None if _missing(row.get(k)) else row[k] for k in _COLUMNS),
        ]
        for protocol, row in result["summary"].items()
    ]
    clean = result.get("clean")
    if clean:
        lines += [
            f"**Accuracy {clean['accuracy']:.3f}** on the {clean['labelled']:,} labelled photos as "
            "they are (each resized whole to the model's input).",
            "",
        ]
    headers = [
        "protocol", "images", "P(top-1 change)", "MAC", "consistency", "first-frame accuracy",
        "worst-shift accuracy",
    ]  # fmt: skip
    lines.append(markdown_table(headers, rows, digits=3))
    lines += [
        "",
        "first-frame accuracy: top-1 accuracy on the protocol's first frame (for `crop`, the first "
        "of the 9 windows; for `black`/`inpaint`, the shrunken photo on its canvas; for `shift`, "
        "the centre crop; for the circular and worst-shift protocols, the unshifted photo at the "
        "model's input size), not the model's accuracy on the photos as they are.",
    ]
    if any(p in result["summary"] for p in (*CIRCULAR_PROTOCOLS, *WORST_PROTOCOLS)):
        lines += [
            "",
            "circular / half-pixel / fractional: consistency of two random circular shifts of the "
            "whole photo by integers, multiples of 0.5 px, or of 1/1024 px (sub-pixel shifts are "
            "band-limited: Fourier). worst-shift accuracy: a photo counts only if every circular "
            f"shift of up to {WORST_SHIFT_RANGE} px each way (integer steps, or 0.5 px steps for "
            "worst-half-pixel) is classified correctly.",
        ]
    return "\n".join(lines) + "\n"


_COLUMNS = (
    "p_top1_change", "mean_absolute_change", "consistency", "frame_accuracy",
    "worst_shift_accuracy",
)  # fmt: skip


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def report_records(result: dict, meta: dict) -> list[dict]:
    """One record per measured number (protocol x metric), in the shape every command writes:
    ``metric``, ``unit`` (every one a fraction), ``protocol``, ``model``, ``dataset``,
    ``measured``, ``images``."""
    from kerasinv.reporting.records import measurement

    measured = [  # (metric, protocol, value, images); the accuracy first, on the photos as they are
        (metric, protocol, row[metric], row["images"])
        for protocol, row in result["summary"].items()
        for metric in _COLUMNS
        if not _missing(row.get(metric))
    ]
    clean = result.get("clean")
    if clean:
        measured.insert(0, ("accuracy", None, clean["accuracy"], clean["labelled"]))
    return [
        measurement(
            metric=metric,
            unit="fraction",
            protocol=protocol,
            model=meta["model"],
            dataset=meta["images"],
            measured=value,
            images=images,
            seed=meta["seed"],
            background=meta["background"],
        )
        for metric, protocol, value, images in measured
    ]


#: What ``evaluate`` writes into its output folder.
REPORT_ENTRIES = ("results.json", "table.md", "per_image.npz", "p_top1_change.png")


def report_name(model_path: str | Path) -> str:
    """The default report folder's name for a model: a ``.keras`` file's model name (its
    ``config.json``, read without TensorFlow; an anti-aliased twin is ``<stock>_blur3``), or the
    file's stem when that name is Keras's default (``functional``, ``sequential_1``); a SavedModel
    folder's name (its parent's for a TF Serving version folder ``NAME/1``)."""
    import json
    import re
    import zipfile

    path = Path(model_path)
    if path.is_dir():
        return path.resolve().parent.name if path.name.isdigit() else path.name
    try:
        with zipfile.ZipFile(path) as archive:
            name = str(json.loads(archive.read("config.json"))["config"]["name"])
    except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile):
        return path.stem
    generic = re.fullmatch(r"(functional|sequential|model)(_\d+)?", name)
    safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", name)
    return path.stem if generic or not safe.strip("._") else safe


#: names for what ships with kerasinv, accepted instead of a path
SHIPPED_MODEL, SHIPPED_IMAGES = "shipped", "cifar10-sample"


def resolve_names(model_path, images) -> tuple[str, str]:
    """``shipped`` -> the shipped CIFAR-10 SavedModel, ``cifar10-sample`` -> the embedded sample
    (real CIFAR-10 images inside the package); other values are paths, returned unchanged."""
    if str(model_path) == SHIPPED_MODEL and not Path(model_path).exists():
        from kerasinv.models.shipped import shipped_savedmodel

        model_path = shipped_savedmodel()
    if str(images) == SHIPPED_IMAGES and not Path(images).exists():
        from kerasinv.data.samples import embedded_sample_path

        images = embedded_sample_path()
    return str(model_path), str(images)


def check_request(model_path, images, label_file, protocols, output, overwrite: bool):
    """Refuse a bad ``kerasinv evaluate`` request before TensorFlow is imported; returns
    ``(model_path, images, output)`` with the shipped names resolved (:func:`resolve_names`) and
    the output folder (default ``runs/evaluate-<model>``, or ``-2``, ``-3`` ... beside earlier
    reports: :func:`fresh_folder`).

    Raises:
        DataNotFoundError: no model, photos or label file where named.
        ConfigError: protocols outside :data:`PROTOCOLS`.
        OutputError: an output folder that cannot be written (see :mod:`kerasinv.output_folder`).
    """
    from kerasinv.errors import DataNotFoundError
    from kerasinv.output_folder import check_output

    model_path, images = resolve_names(model_path, images)
    if not Path(model_path).exists():
        raise DataNotFoundError(
            f"no model at {model_path}: give a .keras file, a SavedModel folder or a .tflite / .onnx file"
        )
    if not Path(images).exists():
        raise DataNotFoundError(f"no photos at {images}: give a folder or a tar of images")
    if label_file and not Path(label_file).is_file():
        raise DataNotFoundError(f"no label file at {label_file}")
    unknown = [p for p in protocols or [] if p not in PROTOCOLS]
    if unknown or not protocols:
        raise ConfigError(f"--protocols must be a comma-separated subset of {', '.join(PROTOCOLS)}")
    if output is None:  # the default folder: a fresh one beside earlier reports, never refused
        output = fresh_folder(Path("runs") / f"evaluate-{report_name(model_path)}", overwrite)
    output = Path(output)
    check_output(output, "evaluate", overwrite, REPORT_ENTRIES)
    return model_path, images, output


def fresh_folder(default: Path, overwrite: bool) -> Path:
    """``default`` if it is free (or ``overwrite``), else the first free ``default-2``,
    ``default-3`` ...: rerunning ``kerasinv evaluate`` keeps every earlier report."""
    if overwrite or not default.exists() or not any(default.iterdir()):
        return default
    n = 2
    while (candidate := default.with_name(f"{default.name}-{n}")).exists():
        n += 1
    return candidate


def run_report(
    model_path, images, protocols, output, preprocess: str = "auto", label_file=None,
    limit: int | None = None, background="mean", batch_size: int = 16, shift_trials: int = 5,
    seed: int = 0, overwrite: bool = False, log: Callable[[str], None] = print,
) -> tuple[dict, dict]:  # fmt: skip
    """``kerasinv evaluate``: load the model and the photos (resized to the model's
    :func:`~kerasinv.models.architectures.photo_size`), run the protocols, write the report;
    returns ``(result, meta)``."""
    from kerasinv.data.imagenet import load_photos
    from kerasinv.models.architectures import photo_size
    from kerasinv.models.loading import load_model

    model = load_model(model_path, preprocess)
    photos = load_photos(
        images, resize=photo_size(model.input_size), limit=limit, require_labels=False,
        label_file=label_file, seed=seed, input_size=model.input_size,
    )  # fmt: skip
    x, y, names, skipped = photos.images, photos.labels, photos.names, photos.skipped
    model.notes.extend(photos.notes)
    labelled = f", labels from {photos.labels_from}" if photos.labels_from else ", no labels"
    log(
        f"{model.name}: input {model.input_size}x{model.input_size}, {len(x)} photos{labelled}"
        + (f", {len(skipped)} unreadable skipped" if skipped else "")
    )
    result = evaluate(
        model, x, y, protocols, batch_size=batch_size, background=background, seed=seed,
        progress=log, shift_trials=shift_trials,  # under the model's name (progress.context)
        labels_from=photos.labels_from or "imagenet", folder_classes=photos.classes,
        at_input=photos.at_input,
    )  # fmt: skip
    meta = {
        "model": model.name,
        "source": model.source,
        "images": str(images),
        "photos": len(x),
        "skipped": skipped,
        "files": names,  # the order of the per-image arrays in per_image.npz
        "labels_from": photos.labels_from,
        "classes": list(photos.classes),
        "preprocess": model.preprocess,
        "background": background,
        "shift_trials": shift_trials,
        "seed": seed,
        "notes": model.notes,
    }
    write_report(result, output, meta, overwrite=overwrite)
    return result, meta


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
    from kerasinv.reporting.records import now, versions

    write_json(
        output / "results.json",
        {
            "command": "evaluate",
            **meta,
            "settings": {  # what defines the report, as every command's results.json has them
                **{k: meta[k] for k in ("images", "preprocess", "background", "shift_trials")},
                "protocols": list(result["summary"]),
                "seed": meta["seed"],
            },
            "versions": versions(),
            "finished_at": now(),
            "records": report_records(result, meta),
            "summary": result["summary"],
            "clean": result["clean"],
        },
    )
    write_text(output / "table.md", render_table(result, f"Invariance of {meta['model']}", meta))
    with atomic_path(output / "per_image.npz", suffix=".npz") as tmp:
        np.savez_compressed(tmp, **result["per_image"])
    summary = result["summary"]
    by_panel = {  # (panel title, y label, summary key): the protocols that have it
        ("one-pixel changes", "P(top-1 change), one-pixel step", "p_top1_change"): None,
        ("shift consistency", "consistency (two random shifts)", "consistency"): None,
        ("worst shift", "accuracy under the worst shift", "worst_shift_accuracy"): None,
    }
    for panel in by_panel:
        by_panel[panel] = {p: r for p, r in summary.items() if not _missing(r.get(panel[2]))}
    panels = [(panel, rows) for panel, rows in by_panel.items() if rows]
    fig, axes = plt.subplots(
        1, max(len(panels), 1), figsize=(3.2 + 2.2 * len(panels), 3), squeeze=False
    )

    def error(p, n):  # binomial standard error over the photos (the tables' ±√(p(1−p)/n))
        return math.sqrt(max(p * (1 - p), 0.0) / max(n, 1))

    colours = {"p_top1_change": "#4477aa", "consistency": "#228833"}
    for ax, ((title, ylabel, key), rows) in zip(axes[0], panels, strict=False):
        values = [r[key] for r in rows.values()]
        errors = [error(r[key], r.get("labelled", r["images"])) for r in rows.values()]
        ax.bar(list(rows), values, yerr=errors, capsize=3, color=colours.get(key, "#aa3377"))
        ax.set_ylabel(ylabel)
        top = max(v + e for v, e in zip(values, errors, strict=True))
        ax.set_ylim(0, max(0.05, top * 1.15) if key == "p_top1_change" else 1)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{meta['model']} (error bars: ±1 standard error over photos)", fontsize=9)
    fig.tight_layout()
    with atomic_path(output / "p_top1_change.png", suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return output


__all__ = [
    "PROTOCOLS",
    "accuracy_labels",
    "check_request",
    "describe_row",
    "evaluate",
    "render_table",
    "report_name",
    "report_records",
    "resolve_names",
    "run_report",
    "write_report",
]
