"""ImageNet photos: the shipped class index and the wnid-named photo loader."""

import io
import tarfile

import numpy as np
import pytest
import tensorflow as tf

from kerasinv.data.imagenet import class_index, load_photos, wnid_to_label
from kerasinv.errors import DataNotFoundError
from tests.helpers import SHARED_DATA


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
        p = load_photos(source, resize=128)
        images, labels, names, skipped = p.images, p.labels, p.names, p.skipped
        assert images.shape == (3, 128, 128, 3) and images.dtype == np.uint8
        assert sorted(labels.tolist()) == [0, 1, 999]
        assert len(names) == 3 and len(skipped) == 1 and "broken" in skipped[0]


def test_missing_or_empty_sources_are_explained(tmp_path):
    with pytest.raises(DataNotFoundError, match="no photos at"):
        load_photos(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="WordNet id"):
        load_photos(tmp_path / "empty")


def test_shared_sample_photos_load():
    path = SHARED_DATA / "imagenet-samples-100.tar"
    if not path.is_file():
        pytest.skip("../shared/data is absent")
    p = load_photos(path, resize=64, limit=10)
    images, labels, names, skipped = p.images, p.labels, p.names, p.skipped
    assert images.shape == (10, 64, 64, 3) and not skipped
    assert class_index()[labels[0]][0] in names[0]


def test_label_files_in_three_formats(tmp_path):
    from kerasinv.data.imagenet import read_label_file
    from kerasinv.errors import DataFormatError

    (tmp_path / "pairs.txt").write_text(
        "ILSVRC2012_val_00000001.JPEG n01751748\nval/x2.JPEG\tn15075141\n"
    )
    (tmp_path / "kaggle.csv").write_text(
        "ImageId,PredictionString\nILSVRC2012_val_00000001,n01751748 1 2 3 4 n01751748 5 6 7 8\n"
    )
    (tmp_path / "caffe.txt").write_text("ILSVRC2012_val_00000001.JPEG 65\n")
    expected = {"ILSVRC2012_val_00000001": 65}
    assert read_label_file(tmp_path / "pairs.txt") == {**expected, "x2": 999}
    assert read_label_file(tmp_path / "kaggle.csv") == expected
    assert read_label_file(tmp_path / "caffe.txt") == expected
    (tmp_path / "bad.txt").write_text("a.JPEG tench\n")
    with pytest.raises(DataFormatError, match=r"bad\.txt:1"):
        read_label_file(tmp_path / "bad.txt")


def test_photos_labelled_by_a_label_file(tmp_path):
    folder = tmp_path / "val"
    folder.mkdir()
    for i in (1, 2):
        (folder / f"photo_{i}.JPEG").write_bytes(_jpeg(40, 50, i))
    (tmp_path / "labels.txt").write_text("photo_1.JPEG n01751748\n")
    p = load_photos(folder, resize=32, label_file=tmp_path / "labels.txt")
    images, labels, files = p.images, p.labels, p.names
    assert images.shape == (2, 32, 32, 3) and labels.tolist() == [65, -1]  # photo_2: not listed
    assert files == ["photo_1.JPEG", "photo_2.JPEG"]


def test_official_validation_files_are_labelled_without_a_label_file():
    from kerasinv.data import imagenet

    assert len(imagenet.validation_wnids()) == 50000
    # ILSVRC2012_val_00000001 is a sea snake (n01751748, Keras index 65)
    assert imagenet._label("val/ILSVRC2012_val_00000001.JPEG") == 65
    assert imagenet._label("ILSVRC2012_val_00000001_n01440764.JPEG") == 0  # a wnid wins


def test_tfds_imagenet2012_prepared_from_a_manual_dir(tmp_path):
    """The tensorflow-datasets path, offline: prepare imagenet2012 from a (tiny) validation tar,
    then read it back through load_photos."""
    import io
    import tarfile

    import tensorflow as tf

    from kerasinv.data.imagenet import load_photos, prepare_tfds_imagenet, tfds_imagenet_dir

    manual = tmp_path / "manual"
    manual.mkdir()
    with tarfile.open(manual / "ILSVRC2012_img_val.tar", "w") as tar:
        for i in range(1, 4):
            pixels = tf.fill([40, 50, 3], tf.constant(60 * i, tf.uint8))
            data = tf.io.encode_jpeg(pixels).numpy()
            info = tarfile.TarInfo(f"ILSVRC2012_val_{i:08d}.JPEG")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    prepared = prepare_tfds_imagenet(manual, tmp_path / "tfds")
    assert tfds_imagenet_dir(tmp_path / "tfds") == prepared
    p = load_photos(tmp_path / "tfds", resize=32)
    images, labels, names, skipped = p.images, p.labels, p.names, p.skipped
    assert images.shape == (3, 32, 32, 3) and not skipped
    by_name = dict(zip(names, labels.tolist(), strict=True))
    assert by_name == {
        "ILSVRC2012_val_00000001.JPEG": 65,
        "ILSVRC2012_val_00000002.JPEG": 970,
        "ILSVRC2012_val_00000003.JPEG": 230,
    }
    assert len(load_photos(prepared, resize=32, limit=2).images) == 2


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_photo_with_an_exif_orientation_is_turned_upright_as_viewers_show_it(orientation):
    """Phone photos store their pixels sideways and say so in EXIF (tag 0x0112): they are
    measured upright, as Pillow's exif_transpose (and every photo viewer) shows them."""
    import io

    import tensorflow as tf
    from PIL import Image, ImageOps

    from kerasinv.data.imagenet import upright

    pixels = np.random.default_rng(orientation).integers(0, 256, (5, 8, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", exif=exif)
    blob = buffer.getvalue()
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(blob))).convert("RGB"))
    got = np.asarray(upright(tf.io.decode_image(blob, channels=3), blob))
    np.testing.assert_array_equal(got, expected)


def test_a_binary_label_file_and_a_folder_named_like_a_photo(tmp_path):
    from kerasinv.data.imagenet import _photo_names, read_label_file
    from kerasinv.errors import DataFormatError

    labels = tmp_path / "labels.txt"
    labels.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(DataFormatError, match="not a text label file"):
        read_label_file(labels)
    (tmp_path / "photos" / "album.jpg").mkdir(parents=True)
    (tmp_path / "photos" / "a.png").write_bytes(b"x")
    assert _photo_names(tmp_path / "photos") == ["a.png"]


def test_photos_at_the_models_input_come_straight_from_the_originals(tmp_path):
    """``input_size``: each photo resized once, straight to the model's input; a photo already at
    that size keeps its pixels (a lossless PNG), where the evaluation photo is a resampling."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    (tmp_path / "n01440764_a.png").write_bytes(tf.io.encode_png(small).numpy())
    (tmp_path / "n01443537_b.jpg").write_bytes(_jpeg(300, 400, 1))
    p = load_photos(tmp_path, resize=37, input_size=32)
    assert p.images.shape == (2, 37, 37, 3) and p.at_input.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(p.at_input[0], small)
    assert load_photos(tmp_path, resize=37).at_input is None
