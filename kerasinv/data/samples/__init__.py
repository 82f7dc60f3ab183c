"""The embedded CIFAR-10 sample: real images shipped inside the package (see README.md here).

``load_embedded_sample()`` needs no dataset and no network; ``make demo`` and the ``smoke`` preset use
it. ``build_embedded_sample`` regenerates the archive from the full JPEG CIFAR-10 archive
(``python -m kerasinv.data.samples SOURCE.tar.gz``); with the same source and seed the selection is
identical.
"""

from __future__ import annotations

import io
import tarfile
from importlib import resources
from pathlib import Path

import numpy as np

from kerasinv.data.folders import image_folder_archive_members, load_image_folder_archive
from kerasinv.data.splits import ImageSplits
from kerasinv.io import atomic_path

SAMPLE_FILE = "cifar10-sample.tar.gz"
TRAIN_PER_CLASS = 200
TEST_PER_CLASS = 100
SEED = 0


def embedded_sample_path() -> Path:
    """Path of the shipped archive."""
    return Path(str(resources.files(__name__) / SAMPLE_FILE))


def load_embedded_sample() -> ImageSplits:
    """2,000 training and 1,000 test CIFAR-10 images (200 / 100 per class), ``uint8 [N, 32, 32, 3]``."""
    splits = load_image_folder_archive(embedded_sample_path(), name="cifar10")
    splits.source = f"embedded CIFAR-10 sample ({SAMPLE_FILE}, {len(splits.y_train)} train / {len(splits.y_test)} test)"
    return splits


def build_embedded_sample(source: str | Path, target: str | Path, seed: int = SEED) -> list[str]:
    """Pick ``TRAIN_PER_CLASS``/``TEST_PER_CLASS`` images per class at random (``seed``) from an
    image-folder CIFAR-10 archive and write their original bytes (no re-encoding) to ``target``.

    Returns the member names written, in order.
    """
    rng = np.random.default_rng(seed)
    with tarfile.open(source) as src:
        members = image_folder_archive_members(src) or []
        groups: dict[tuple[str, str], list[tarfile.TarInfo]] = {}
        for m in members:
            parts = Path(m.name).parts
            groups.setdefault((parts[-3], parts[-2]), []).append(m)
        chosen = []
        for (split, _cls), group in sorted(groups.items()):
            group = sorted(group, key=lambda m: m.name)
            k = TRAIN_PER_CLASS if split == "train" else TEST_PER_CLASS
            idx = np.sort(rng.choice(len(group), size=min(k, len(group)), replace=False))
            chosen += [group[i] for i in idx]
        wanted = {m.name for m in chosen}
        blobs = {m.name: src.extractfile(m).read() for m in members if m.name in wanted}
    with atomic_path(target) as tmp, tarfile.open(tmp, "w:gz") as out:
        for m in chosen:
            info = tarfile.TarInfo("/".join(Path(m.name).parts[-3:]))
            info.size, info.mtime, info.mode = len(blobs[m.name]), 0, 0o644
            out.addfile(info, io.BytesIO(blobs[m.name]))
    return ["/".join(Path(m.name).parts[-3:]) for m in chosen]
