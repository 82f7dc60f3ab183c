"""ImageNet photos for evaluation: the class index (shipped, works offline) and labelled photos.

Photos are found in a folder or a ``.tar`` of files named by WordNet id (``n01440764_tench.JPEG``,
``n01440764/xyz.JPEG`` or ``ILSVRC2012_val_..._n01440764.JPEG``: the first ``n`` + 8 digits token in
the file's path gives the label). Each photo is decoded, its shorter side resized to ``resize``
(bilinear, anti-aliased, as torchvision's ``Resize``) and centre-cropped to ``resize x resize``:
Zhang's validation input, from which 224-pixel crops are taken.

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
from pathlib import Path

import numpy as np

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
    for number, line in enumerate(path.read_text().splitlines(), 1):
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


def _encoded_photos(
    path: Path, require_labels: bool = True, limit: int | None = None
) -> tuple[list[bytes], list[int], list[str]]:
    blobs, labels, names = [], [], []
    if path.is_dir() and tfds_imagenet_dir(path) is not None:
        return _tfds_photos(tfds_imagenet_dir(path), limit)
    if path.is_dir():
        members = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES)
        for p in members:
            label = _label(str(p.relative_to(path)))
            label = -1 if label is None and not require_labels else label
            if label is not None:
                blobs.append(p.read_bytes())
                labels.append(label)
                names.append(str(p.relative_to(path)))
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                label = _label(member.name)
                label = -1 if label is None and not require_labels else label
                if (
                    member.isfile()
                    and Path(member.name).suffix.lower() in SUFFIXES
                    and label is not None
                ):
                    blobs.append(tar.extractfile(member).read())
                    labels.append(label)
                    names.append(member.name)
    else:
        raise DataNotFoundError(f"{path} is neither a folder nor a tar archive of ImageNet photos")
    return blobs, labels, names


def load_photos(
    path: str | Path,
    resize: int = 256,
    limit: int | None = None,
    require_labels: bool = True,
    label_file: str | Path | None = None,
):
    """Labelled photos, resized and centre-cropped to ``[N, resize, resize, 3]`` uint8.

    Args:
        path: a folder or tar of photos (see the module docstring for how labels are found), or a
            prepared tensorflow-datasets ``imagenet2012`` (its validation split is read).
        resize: side of the square output (shorter side resized, then centre-cropped).
        limit: keep only the first ``limit`` photos.
        require_labels: drop photos without a label (else they get -1).
        label_file: labels by file name (:func:`read_label_file`).

    Returns:
        ``(images, labels, names, skipped)``: uint8 ``[N, resize, resize, 3]``, int64 ``[N]`` Keras
        class indices, the kept files' names, and the names of files that could not be decoded
        (skipped, never fatal unless none is left). With ``require_labels=False`` photos without a
        WordNet id are kept with label -1. With ``label_file`` (see :func:`read_label_file`) labels
        come from that file by file name, for photos named without WordNet ids (ILSVRC validation
        files); photos it does not list get -1.

    Raises:
        DataNotFoundError: ``path`` does not exist or holds no photo named by a WordNet id.
    """
    import tensorflow as tf

    path = Path(path).expanduser()
    if not path.exists():
        raise DataNotFoundError(f"no ImageNet photos at {path}: give a folder or tar of photos")
    blobs, labels, names = _encoded_photos(path, require_labels and label_file is None, limit)
    if label_file is not None:
        table = read_label_file(label_file)
        labels = [
            table.get(Path(name).stem, label) for name, label in zip(names, labels, strict=True)
        ]
    if limit is not None:
        blobs, labels, names = blobs[:limit], labels[:limit], names[:limit]
    if not blobs:
        raise DataNotFoundError(
            f"{path} holds no .jpeg/.jpg/.png file"
            + (
                " whose name contains a WordNet id such as n01440764 (name photos "
                "<wnid>_<anything>.JPEG or put them in <wnid>/ folders)"
                if require_labels
                else ""
            )
        )
    images, kept, skipped = [], [], []
    for blob, label, name in zip(blobs, labels, names, strict=True):
        try:
            image = tf.io.decode_image(blob, channels=3, expand_animations=False)
        except (tf.errors.InvalidArgumentError, ValueError):
            skipped.append(name)
            continue
        images.append(_resize_centre_crop(image, resize))
        kept.append((label, name))
    if not images:
        raise DataFormatError(f"none of the {len(blobs)} photos in {path} could be decoded")
    return (
        np.stack(images),
        np.asarray([label for label, _ in kept], np.int64),
        [name for _, name in kept],
        skipped,
    )


def _resize_centre_crop(image, size: int) -> np.ndarray:
    """Shorter side to ``size`` (bilinear, anti-aliased), then the central ``size x size``."""
    import tensorflow as tf

    h, w = int(image.shape[0]), int(image.shape[1])
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    resized = tf.image.resize(tf.cast(image, tf.float32), (nh, nw), antialias=True)
    top, left = (nh - size) // 2, (nw - size) // 2
    crop = resized[top : top + size, left : left + size]
    return np.clip(np.round(crop.numpy()), 0, 255).astype(np.uint8)


__all__ = ["class_index", "load_photos", "read_label_file", "wnid_to_label"]
