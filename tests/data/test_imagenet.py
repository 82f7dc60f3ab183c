"""ImageNet photos: the shipped class index and the wnid-named photo loader."""

import io
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from kerasinv.data.imagenet import class_index, load_photos, wnid_to_label
from kerasinv.errors import DataNotFoundError
from tests.conftest import SHARED_DATA


def _jpeg(h, w, seed):
    image = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return tf.io.encode_jpeg(image).numpy()


def test_class_index_is_shipped_and_complete():
    index = class_index()
    assert len(index) == 1000 and index[0] == ("n01440764", "tench")
    assert wnid_to_label()["n15075141"] == 999


def test_tar_and_folder_loading_skips_bad_files(tmp_path):
    files = {
        "photos/n01440764_tench.JPEG": _jpeg(300, 400, 0),  # landscape
        "photos/n15075141/a.jpg": _jpeg(500, 260, 1),  # portrait, label from the folder
        "photos/ILSVRC2012_val_00000001_n01443537.JPEG": _jpeg(256, 256, 2),
        "photos/n01484850_broken.JPEG": b"not a jpeg",
        "photos/readme.txt": b"ignored",
        "photos/holiday.jpg": _jpeg(64, 64, 3),  # no WordNet id: ignored
    }
    tar_path = tmp_path / "photos.tar"
    with tarfile.open(tar_path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with tarfile.open(tar_path) as tar:
        tar.extractall(tmp_path / "folder", filter="data")
    for source in (tar_path, tmp_path / "folder"):
        images, labels, names, skipped = load_photos(source, resize=128)
        assert images.shape == (3, 128, 128, 3) and images.dtype == np.uint8
        assert sorted(labels.tolist()) == [0, 1, 999]
        assert len(names) == 3 and len(skipped) == 1 and "broken" in skipped[0]


def test_missing_or_empty_sources_are_explained(tmp_path):
    with pytest.raises(DataNotFoundError, match="no ImageNet photos"):
        load_photos(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="WordNet id"):
        load_photos(tmp_path / "empty")


def test_shared_sample_photos_load():
    path = SHARED_DATA / "imagenet-samples-100.tar"
    if not path.is_file():
        pytest.skip("../shared/data is absent")
    images, labels, names, skipped = load_photos(path, resize=64, limit=10)
    assert images.shape == (10, 64, 64, 3) and not skipped
    assert class_index()[labels[0]][0] in names[0]
