"""ImageNet photos for evaluation: the class index (shipped, works offline) and labelled photos.

Photos are found in a folder or a ``.tar`` of files named by WordNet id (``n01440764_tench.JPEG``,
``n01440764/xyz.JPEG`` or ``ILSVRC2012_val_..._n01440764.JPEG``: the first ``n`` + 8 digits token in
the file's path gives the label), or sorted into class folders (``root/<class>/*.jpg``, or
``root/{train,test}/<class>/``, whose ``test/`` split is used), labelled as
``keras.utils.image_dataset_from_directory`` labels them: folder indices in sorted order. Each
photo is decoded, its shorter side resized to ``resize`` (bilinear, anti-aliased, as torchvision's
``Resize``) and centre-cropped to ``resize x resize``: Zhang's validation input, from which
224-pixel crops are taken.

Official validation files (``ILSVRC2012_val_00000001.JPEG``, as in ``ILSVRC2012_img_val.tar``) need no
label file: their labels come from the validation label list that tensorflow-datasets ships (one wnid
per file, in file order), read without importing tensorflow-datasets.

A prepared tensorflow-datasets ``imagenet2012`` (its ``data_dir``, or the ``imagenet2012/<version>``
folder) is read with ``builder_from_directory`` (never ``tfds.load``, which goes online);
:func:`prepare_tfds_imagenet` prepares one from the manually downloaded archives (the validation tar
alone is enough), offline.

``imagenet_class_index.json`` is the standard Keras class index (index -> [wnid, name]); Keras
downloads it at run time, kerasinv ships a copy so that labels work offline.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kerasinv.data.files import IMAGE_LIMIT, read_file, read_member
from kerasinv.errors import DataFormatError, DataNotFoundError

_WNID = re.compile(r"(?<![a-z0-9])(n\d{8})(?![0-9])")
_VALIDATION = re.compile(r"ILSVRC2012_val_(\d{8})")
SUFFIXES = (".jpeg", ".jpg", ".png")


@functools.cache
def class_index() -> tuple[tuple[str, str], ...]:
    """``((wnid, name), ...)`` for the 1,000 ImageNet classes, in Keras's label order."""
    raw = json.loads((Path(__file__).parent / "imagenet_class_index.json").read_text())
    return tuple(tuple(raw[str(i)]) for i in range(len(raw)))


@functools.cache
def wnid_to_label() -> dict[str, int]:
    """WordNet id -> Keras class index."""
    return {wnid: i for i, (wnid, _) in enumerate(class_index())}


def read_label_file(path: str | Path) -> dict[str, int]:
    """File name (without folders and extension) -> Keras class index, from a label file:

    - ``<file> <wnid>`` lines (space, tab or comma separated), e.g. a listing of validation files;
    - Kaggle's ``LOC_val_solution.csv`` (``ImageId,PredictionString``; the first token of the
      prediction string is the wnid);
    - Caffe-style ``<file> <index>`` lines with 0-based indices in Keras's order (sorted wnids).

    The ILSVRC devkit's ``ILSVRC2012_validation_ground_truth.txt`` numbers classes in the devkit's own
    order (``meta.mat``), not Keras's: convert it to ``<file> <wnid>`` lines first.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"no label file at {path}")
    table = wnid_to_label()
    labels: dict[str, int] = {}
    try:
        text = read_file(path).decode("utf-8")
    except UnicodeDecodeError:
        raise DataFormatError(
            f"{path} is not a text label file ('<file> <wnid>' lines, or LOC_val_solution.csv)"
        ) from None
    for number, line in enumerate(text.splitlines(), 1):
        fields = [f for f in re.split(r"[\s,]+", line.strip()) if f]
        if len(fields) < 2 or fields[0].lower() == "imageid":
            continue
        name, value = Path(fields[0]).stem, fields[1]
        if value in table:
            labels[name] = table[value]
        elif value.isdigit() and int(value) < len(table):
            labels[name] = int(value)
        else:
            raise DataFormatError(
                f"{path}:{number}: expected '<file> <wnid>' or '<file> <class index 0-999>', "
                f"got {line.strip()!r}"
            )
    if not labels:
        raise DataFormatError(f"{path} holds no '<file> <wnid>' or '<file> <index>' lines")
    return labels


@functools.cache
def validation_wnids() -> tuple[str, ...]:
    """The wnid of each ILSVRC-2012 validation photo, in file order (tensorflow-datasets' shipped
    ``validation_labels.txt``); empty if tensorflow-datasets is not installed."""
    spec = importlib.util.find_spec("tensorflow_datasets")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "datasets" / "imagenet2012" / "validation_labels.txt"
        if path.is_file():
            return tuple(path.read_text().split())
    return ()


def _label(name: str) -> int | None:
    match = _WNID.search(name)
    if match is not None:
        return wnid_to_label().get(match.group(1))
    match = _VALIDATION.search(name)
    wnids = validation_wnids() if match else ()
    index = int(match.group(1)) - 1 if match else -1
    return wnid_to_label().get(wnids[index]) if 0 <= index < len(wnids) else None


def tfds_imagenet_dir(path: Path) -> Path | None:
    """The prepared ``imagenet2012/<version>`` folder at or under ``path`` (a tfds data_dir), or None."""
    candidates = [path, *sorted((path / "imagenet2012").glob("*"), reverse=True)]
    for place in candidates:
        info = place / "dataset_info.json"
        if info.is_file() and json.loads(info.read_text()).get("name") == "imagenet2012":
            return place
    return None


def prepare_tfds_imagenet(manual_dir: str | Path, data_dir: str | Path) -> Path:
    """Prepare tensorflow-datasets' ``imagenet2012`` in ``data_dir`` from the archives in
    ``manual_dir`` (``ILSVRC2012_img_val.tar`` is enough; train and test are used if present), offline.

    Returns:
        The prepared ``imagenet2012/<version>`` folder, which :func:`load_photos` reads.
    """
    manual_dir = Path(manual_dir).expanduser()
    if not (manual_dir / "ILSVRC2012_img_val.tar").is_file():
        raise DataNotFoundError(
            f"{manual_dir} has no ILSVRC2012_img_val.tar: download it from image-net.org (it "
            "cannot be fetched automatically) and put it there"
        )
    import tensorflow_datasets as tfds

    builder = tfds.builder("imagenet2012", data_dir=str(data_dir))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=str(manual_dir), try_download_gcs=False
        )
    )
    return Path(builder.data_dir)


def _tfds_photos(builder_dir: Path, limit: int | None, split: str = "validation"):
    """Encoded photos, Keras labels and file names from a prepared tfds imagenet2012."""
    from kerasinv.data.tfds_folders import check_features

    check_features(builder_dir)  # before tfds reads it: tfds imports what features.json names
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(str(builder_dir))
    if split not in builder.info.splits:
        raise DataNotFoundError(
            f"{builder_dir} has no {split!r} split (it has {', '.join(builder.info.splits)})"
        )
    names = builder.info.features["label"].names
    table = wnid_to_label()
    ds = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
    if limit is not None:
        ds = ds.take(limit)
    blobs, labels, files = [], [], []
    for example in ds.as_numpy_iterator():
        blobs.append(example["image"])
        labels.append(table[names[int(example["label"])]])
        files.append(example["file_name"].decode())
    return blobs, labels, files


@dataclass(frozen=True)
class Photos:
    """Photos for evaluation, as :func:`load_photos` returns them.

    Attributes:
        images: uint8 ``[N, S, S, 3]``.
        labels: int64 ``[N]``; -1 for a photo without a label.
        names: the kept files' names (the order of ``images``).
        skipped: files that could not be decoded.
        labels_from: where the labels came from: ``"imagenet"`` (WordNet ids: Keras's 1,000-class
            indices), ``"file"`` (a label file), ``"folders"`` (class folders, indices in sorted
            order as ``keras.utils.image_dataset_from_directory`` gives them) or ``None``.
        classes: the class folders' names (``labels_from == "folders"``), else ``()``.
        notes: what was chosen for the user (a split, a sample), one line each.
        at_input: uint8 ``[N, I, I, 3]``, each photo resized and centre-cropped straight to the
            ``input_size`` asked of :func:`load_photos` (else ``None``): a photo already at the
            model's size is then measured as it is, not resampled twice through ``S``.
    """

    images: np.ndarray
    labels: np.ndarray
    names: list[str]
    skipped: list[str]
    labels_from: str | None = None
    classes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    at_input: np.ndarray | None = None


def _photo_names(path: Path) -> list[str]:
    """The image files in a folder or tar, by name (sorted), relative to ``path``."""
    if path.is_dir():
        return sorted(  # a folder named like a photo is not one
            str(p.relative_to(path))
            for p in path.rglob("*")
            if p.suffix.lower() in SUFFIXES and not p.is_dir()
        )
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as tar:
            return sorted(
                m.name
                for m in tar.getmembers()
                if m.isfile() and Path(m.name).suffix.lower() in SUFFIXES
            )
    raise DataNotFoundError(f"{path} is neither a folder nor a tar archive of photos")


def _read_photos(path: Path, names: list[str]) -> list[bytes]:
    """The bytes of ``names`` (in that order); a tar is read once, in archive order."""
    if path.is_dir():
        return [read_file(path / name) for name in names]
    wanted = set(names)
    blobs: dict[str, bytes] = {}
    with tarfile.open(path) as tar:
        for member in tar:
            if member.name in wanted and member.name not in blobs:
                blobs[member.name] = read_member(tar, member, IMAGE_LIMIT)
    return [blobs[name] for name in names]


def _test_split(names: list[str], split: str = "test") -> tuple[list[str], str | None]:
    """Only the ``test/`` split of a ``[prefix/]{train,test}/<class>/<file>`` layout (the photos a
    model was not trained on; ``split="train"``: the others, e.g. to calibrate a quantized model
    on photos it will not be measured on), with a note; other layouts unchanged."""
    splits = {Path(n).parts[-3] for n in names if len(Path(n).parts) >= 3}
    if not {"train", "test"} <= splits:
        return names, None
    test = [n for n in names if len(Path(n).parts) >= 3 and Path(n).parts[-3] == split]
    return (
        test,
        f"the {split}/ split of the train/ + test/ layout: {len(test):,} of {len(names):,} photos",
    )


def _folder_labels(names: list[str]) -> tuple[list[int], tuple[str, ...]] | None:
    """Labels from class folders (each photo's parent folder; indices in sorted folder order), if
    the photos lie in two or more folders; else None."""
    folders = [Path(n).parent.name for n in names]
    classes = tuple(sorted(set(folders)))
    if len(classes) < 2 or "" in classes:
        return None
    index = {c: i for i, c in enumerate(classes)}
    return [index[f] for f in folders], classes


def balanced_sample(labels: Sequence[int], limit: int, seed: int = 0) -> np.ndarray:
    """Indices of ``limit`` items spread evenly over the labels (round robin over the classes in
    label order, each class's items in a seeded random order); returned sorted, so the original
    order is kept. Unlabelled items (-1) form one more group."""
    labels = np.asarray(labels)
    if limit >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    queues = [list(rng.permutation(np.flatnonzero(labels == c))) for c in np.unique(labels)]
    chosen: list[int] = []
    while len(chosen) < limit:
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(int(queue.pop()))
    return np.sort(np.asarray(chosen, np.int64))


def load_photos(
    path: str | Path,
    resize: int = 256,
    limit: int | None = None,
    require_labels: bool = True,
    label_file: str | Path | None = None,
    seed: int = 0,
    split: str = "test",
    input_size: int | None = None,
) -> Photos:
    """Photos, resized and centre-cropped to ``[N, resize, resize, 3]`` uint8, with their labels.

    Labels, first match wins: a ``label_file`` (:func:`read_label_file`); a WordNet id in the file's
    path, or an official validation file name; class folders (``root/<class>/*.jpg``, or the
    ``test/`` split of ``root/{train,test}/<class>/``: the photos' parent folders, indices in sorted
    order, used when no photo carries a WordNet id).

    Args:
        path: a folder or tar of photos, or a prepared tensorflow-datasets ``imagenet2012`` (its
            validation split is read; ``limit`` takes its first photos).
        resize: side of the square output (shorter side resized, then centre-cropped).
        limit: keep ``limit`` photos spread evenly over the classes (:func:`balanced_sample`,
            ``seed``), not the first ones in file order.
        require_labels: drop photos without a label (else they get -1).
        label_file: labels by file name (:func:`read_label_file`).
        split: in a ``{train,test}/<class>/`` layout, which split to read.
        input_size: also keep every photo resized and centre-cropped straight to this side
            (:attr:`Photos.at_input`: a model's input, for its accuracy on the photos as they are).

    Raises:
        DataNotFoundError: ``path`` does not exist or holds no (labelled, if required) photo.
        DataFormatError: no photo could be decoded.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataNotFoundError(f"no photos at {path}: give a folder or tar of photos")
    notes: list[str] = []
    classes: tuple[str, ...] = ()
    if path.is_dir() and tfds_imagenet_dir(path) is not None:
        blobs, labels, names = _tfds_photos(tfds_imagenet_dir(path), limit)
        labels_from = "imagenet"
    else:
        names, split_note = _test_split(_photo_names(path), split)
        notes += [split_note] if split_note else []
        labels = [_label(n) for n in names]
        labels_from = "imagenet" if any(label is not None for label in labels) else None
        if label_file is not None:
            table = read_label_file(label_file)
            labels = [
                table.get(Path(n).stem, label) for n, label in zip(names, labels, strict=True)
            ]
            labels_from = "file"
        elif labels_from is None and (by_folder := _folder_labels(names)) is not None:
            labels, classes = by_folder
            labels_from = "folders"
        labels = [-1 if label is None else label for label in labels]
        if require_labels and label_file is None:  # a label file's unlisted photos stay (-1)
            keep = [i for i, label in enumerate(labels) if label >= 0]
            names, labels = [names[i] for i in keep], [labels[i] for i in keep]
        if limit is not None and limit < len(names):
            chosen = balanced_sample(labels, limit, seed)
            notes.append(
                f"{limit:,} of {len(names):,} photos, spread evenly over "
                f"{len(set(labels)):,} classes (seed {seed})"
            )
            names, labels = [names[i] for i in chosen], [labels[i] for i in chosen]
        blobs = _read_photos(path, names)
    if not blobs:
        raise DataNotFoundError(
            f"{path} holds no .jpeg/.jpg/.png file"
            + (
                " with a label: name photos by WordNet id (<wnid>_<anything>.JPEG), put them in "
                "<wnid>/ or <class>/ folders, or give a label file"
                if require_labels
                else ""
            )
        )
    return _decode_photos(
        blobs, labels, names, resize, path, labels_from, classes, tuple(notes), input_size
    )


def _decode_photos(
    blobs, labels, names, resize, path, labels_from, classes, notes, input_size=None
) -> Photos:
    import tensorflow as tf

    from kerasinv import progress

    images, at_input, kept, skipped = [], [], [], []
    items = zip(blobs, labels, names, strict=True)
    for blob, label, name in progress.track(items, "decoding photos", len(blobs), "photos"):
        try:
            image = tf.io.decode_image(blob, channels=3, expand_animations=False)
        except (tf.errors.InvalidArgumentError, ValueError):
            skipped.append(name)
            continue
        image = upright(image, blob)
        images.append(_resize_centre_crop(image, resize))
        if input_size is not None:
            at_input.append(_resize_centre_crop(image, input_size))
        kept.append((label, name))
    if not images:
        raise DataFormatError(f"none of the {len(blobs)} photos in {path} could be decoded")
    return Photos(
        images=np.stack(images),
        labels=np.asarray([label for label, _ in kept], np.int64),
        names=[name for _, name in kept],
        skipped=skipped,
        labels_from=labels_from,
        classes=classes,
        notes=notes,
        at_input=np.stack(at_input) if input_size is not None else None,
    )


#: EXIF orientation -> (quarter turns counter-clockwise, then mirror left-right) that make the
#: stored pixels upright (EXIF 2.3, tag 0x0112)
_ORIENTATIONS = {2: (0, True), 3: (2, False), 4: (2, True), 5: (3, True), 6: (3, False),
                 7: (1, True), 8: (1, False)}  # fmt: skip


def exif_orientation(blob: bytes) -> int:
    """The EXIF orientation of an encoded photo (1, upright, when it has none)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(blob)) as image:
            return int(image.getexif().get(0x0112, 1))
    except (UnidentifiedImageError, OSError, ValueError, TypeError):
        return 1


def upright(image, blob: bytes):
    """``image`` ``[H, W, 3]`` as the camera meant it: a phone photo stored sideways with an EXIF
    orientation is turned (and mirrored) as every photo viewer shows it."""
    turns, mirror = _ORIENTATIONS.get(exif_orientation(blob), (0, False))
    if not turns and not mirror:
        return image
    import tensorflow as tf

    image = tf.image.rot90(image, k=turns) if turns else image
    return tf.image.flip_left_right(image) if mirror else image


def _resize_centre_crop(image, size: int) -> np.ndarray:
    """Shorter side to ``size`` (bilinear, anti-aliased), then the central ``size x size``."""
    import tensorflow as tf

    h, w = int(image.shape[0]), int(image.shape[1])
    if (h, w) == (size, size):  # already there: the pixels as they are
        return np.asarray(image, np.uint8)
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    resized = tf.image.resize(tf.cast(image, tf.float32), (nh, nw), antialias=True)
    top, left = (nh - size) // 2, (nw - size) // 2
    crop = resized[top : top + size, left : left + size]
    return np.clip(np.round(crop.numpy()), 0, 255).astype(np.uint8)


__all__ = [
    "Photos",
    "balanced_sample",
    "class_index",
    "load_photos",
    "read_label_file",
    "wnid_to_label",
]
