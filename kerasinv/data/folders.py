"""Image-folder datasets: ``root/{train,test}/<class>/*.{jpg,jpeg,png}``, as a folder or a tar archive.

Labels are the class folders' indices in sorted order (for CIFAR-10 and CIFAR-100 this is the canonical
label order, which is alphabetical). Images are decoded by TensorFlow in parallel and returned as
``uint8`` arrays ``[N, H, W, 3]``; every image of a split must have the same size.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from kerasinv.data.files import IMAGE_LIMIT, read_file, read_member
from kerasinv.data.splits import ImageSplits
from kerasinv.errors import DataFormatError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SPLITS = ("train", "test")


def is_image_folder(root: Path) -> bool:
    """True if ``root`` has ``train/`` and ``test/`` folders with class sub-folders."""
    return all(
        (root / s).is_dir() and any(p.is_dir() for p in (root / s).iterdir()) for s in SPLITS
    )


def _decode(encoded: list[bytes], where: str) -> np.ndarray:
    """Decode JPEG/PNG byte strings to ``uint8 [N, H, W, 3]`` (parallel tf.data map)."""
    import tensorflow as tf

    if not encoded:
        return np.zeros((0, 0, 0, 3), np.uint8)

    def decode(b):
        return tf.io.decode_image(b, channels=3, expand_animations=False)

    ds = tf.data.Dataset.from_tensor_slices(encoded).map(
        decode, num_parallel_calls=tf.data.AUTOTUNE
    )
    from kerasinv import progress

    try:
        images = [
            img.numpy() for img in progress.track(ds, f"decoding {where}", len(encoded), "images")
        ]
    except tf.errors.InvalidArgumentError as e:
        raise DataFormatError(f"could not decode an image in {where}: {e.message}") from None
    shapes = {img.shape for img in images}
    if len(shapes) != 1:
        raise DataFormatError(
            f"images in {where} have different sizes {sorted(shapes)[:4]}; kerasinv needs one size "
            "per split (resize them first)"
        )
    return np.stack(images)


def _assemble(files: dict[str, dict[str, list[bytes]]], where: str, name: str) -> ImageSplits:
    classes = sorted(set(files["train"]) | set(files["test"]))
    if not classes:
        raise DataFormatError(f"{where} has no class folders under train/ and test/")
    arrays = {}
    for split in SPLITS:
        encoded, labels = [], []
        for label, cls in enumerate(classes):
            blobs = files[split].get(cls, [])
            encoded += blobs
            labels += [label] * len(blobs)
        if not encoded:
            raise DataFormatError(f"{where}: the {split}/ split has no .jpg/.jpeg/.png images")
        arrays[split] = (_decode(encoded, f"{where} ({split})"), np.asarray(labels, np.int64))
    return ImageSplits(
        name=name,
        x_train=arrays["train"][0],
        y_train=arrays["train"][1],
        x_test=arrays["test"][0],
        y_test=arrays["test"][1],
        class_names=classes,
        source=where,
    )


def load_image_folder(root: str | Path, name: str = "images") -> ImageSplits:
    """Load ``root/{train,test}/<class>/*.{jpg,jpeg,png}`` (files sorted by name within a class)."""
    root = Path(root)
    files: dict[str, dict[str, list[bytes]]] = {s: {} for s in SPLITS}
    for split in SPLITS:
        if not (root / split).is_dir():
            raise DataFormatError(
                f"{root} has no {split}/ folder (expected root/{{train,test}}/<class>/)"
            )
        for cls_dir in sorted(p for p in (root / split).iterdir() if p.is_dir()):
            paths = sorted(p for p in cls_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            files[split][cls_dir.name] = [read_file(p) for p in paths]
    return _assemble(files, str(root), name)


def image_folder_archive_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo] | None:
    """The image members of a tar whose layout is ``[prefix/]{train,test}/<class>/<file>``, else None."""
    members = []
    for m in archive.getmembers():
        parts = Path(m.name).parts
        if m.isfile() and len(parts) >= 3 and parts[-3] in SPLITS:
            if Path(m.name).suffix.lower() in IMAGE_SUFFIXES:
                members.append(m)
    return members or None


def load_image_folder_archive(path: str | Path, name: str = "images") -> ImageSplits:
    """Load an image-folder layout stored in a ``.tar``/``.tar.gz`` without extracting it to disk."""
    path = Path(path)
    files: dict[str, dict[str, list[bytes]]] = {s: {} for s in SPLITS}
    with tarfile.open(path) as archive:
        members = image_folder_archive_members(archive)
        if members is None:
            raise DataFormatError(
                f"{path} holds no images in the layout [prefix/]{{train,test}}/<class>/<file>"
            )
        # Read in archive order (a .tar.gz cannot seek backwards cheaply), then sort by name.
        from kerasinv import progress

        reading = progress.track(members, f"reading {path.name}", unit="files")
        blobs = {m.name: read_member(archive, m, IMAGE_LIMIT) for m in reading}
    for member_name in sorted(blobs):
        parts = Path(member_name).parts
        files[parts[-3]].setdefault(parts[-2], []).append(blobs[member_name])
    return _assemble(files, str(path), name)
