import hashlib
import io
import os
import pickle
import tarfile
import time

import numpy as np
import pytest

from kerasinv.data import cifar
from kerasinv.data.cifar import load_cifar, locate_cifar
from kerasinv.errors import DataFormatError, DataNotFoundError

OFFICIAL = dict(cifar.OFFICIAL_MD5)  # the real table, before a test swaps it

#: md5s of the synthetic batches the tests write (the official table is swapped for it).
FAKE_MD5: dict[str, dict[str, str]] = {"cifar10": {}, "cifar100": {}}


@pytest.fixture(autouse=True)
def _synthetic_batches_count_as_official(monkeypatch):
    FAKE_MD5["cifar10"].clear()
    monkeypatch.setattr(cifar, "OFFICIAL_MD5", FAKE_MD5)


CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _batches(n_train=20, n_test=10, seed=0):
    """A tiny CIFAR-10 python layout: {member name: pickled bytes}, plus the arrays it holds."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n_train + n_test, 32, 32, 3), dtype=np.uint8)
    y = np.arange(n_train + n_test) % 10
    files = {}
    per = n_train // 5
    for i in range(5):
        sl = slice(i * per, (i + 1) * per)
        data = x[sl].transpose(0, 3, 1, 2).reshape(per, -1)
        files[f"data_batch_{i + 1}"] = {b"data": data, b"labels": list(y[sl])}
    files["test_batch"] = {
        b"data": x[n_train:].transpose(0, 3, 1, 2).reshape(n_test, -1),
        b"labels": list(y[n_train:]),
    }
    files["batches.meta"] = {b"label_names": [c.encode() for c in CLASSES]}
    blobs = {k: pickle.dumps(v) for k, v in files.items()}
    FAKE_MD5["cifar10"].update({k: hashlib.md5(v).hexdigest() for k, v in blobs.items()})
    return blobs, x, y


def _write_tar(path, members: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def _check(splits, x, y, n_train=20):
    np.testing.assert_array_equal(splits.x_train, x[:n_train])
    np.testing.assert_array_equal(splits.y_train, y[:n_train])
    np.testing.assert_array_equal(splits.x_test, x[n_train:])
    np.testing.assert_array_equal(splits.y_test, y[n_train:])
    assert splits.class_names == CLASSES


def test_python_archive_and_extracted_folder(tmp_path, isolated_home):
    files, x, y = _batches()
    _write_tar(
        tmp_path / "cifar-10-python.tar.gz",
        {f"cifar-10-batches-py/{k}": v for k, v in files.items()},
    )
    _check(load_cifar("cifar10", tmp_path), x, y)  # folder holding the archive
    _check(load_cifar("cifar10", tmp_path / "cifar-10-python.tar.gz"), x, y)  # the archive itself
    folder = tmp_path / "extracted" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for k, v in files.items():
        (folder / k).write_bytes(v)
    _check(load_cifar("cifar10", folder.parent), x, y)
    _check(load_cifar("cifar10", folder), x, y)


def test_keras_cache_is_searched(isolated_home):
    files, x, y = _batches()
    folder = (
        isolated_home / ".keras" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    )
    folder.mkdir(parents=True)
    for k, v in files.items():
        (folder / k).write_bytes(v)
    description, _ = locate_cifar("cifar10")
    assert str(folder) in description
    _check(load_cifar("cifar10"), x, y)


def _png(img):
    import tensorflow as tf

    return tf.io.encode_png(img).numpy()


def test_image_folder_and_its_archive(tmp_path, isolated_home):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(30, 32, 32, 3), dtype=np.uint8)
    members = {}
    for i in range(30):
        split = "train" if i < 20 else "test"
        members[f"cifar/{split}/{CLASSES[i % 10]}/{i:04d}.png"] = _png(x[i])
    for name, data in members.items():
        p = tmp_path / "folder" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    splits = load_cifar("cifar10", tmp_path / "folder" / "cifar")
    # sorted by class, then file name; PNG is lossless so pixels are exact
    order = sorted(range(20), key=lambda i: (i % 10, i))
    np.testing.assert_array_equal(splits.x_train, x[order])
    np.testing.assert_array_equal(splits.y_train, [i % 10 for i in order])
    assert splits.class_names == CLASSES
    _write_tar(tmp_path / "images.tar.gz", members)
    from_tar = load_cifar("cifar10", tmp_path / "images.tar.gz")
    np.testing.assert_array_equal(from_tar.x_train, splits.x_train)
    np.testing.assert_array_equal(from_tar.x_test, splits.x_test)
    cached = load_cifar("cifar10", tmp_path / "images.tar.gz")  # second time from the .npz cache
    np.testing.assert_array_equal(cached.x_test, splits.x_test)
    assert list((isolated_home.parent / "cache").glob("cifar10-*.npz"))


def test_wrong_dataset_is_refused(tmp_path, isolated_home):
    members = {f"train/c{i}/0.png": _png(np.zeros((32, 32, 3), np.uint8)) for i in range(3)}
    members |= {f"test/c{i}/0.png": _png(np.zeros((32, 32, 3), np.uint8)) for i in range(3)}
    _write_tar(tmp_path / "three.tar", members)
    with pytest.raises(DataFormatError, match="3 classes"):
        load_cifar("cifar10", tmp_path / "three.tar")


def test_tfds_data_dir(tmp_path, isolated_home):
    tfds = pytest.importorskip("tensorflow_datasets")
    import tensorflow as tf

    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, size=(12, 32, 32, 3), dtype=np.uint8)
    y = np.arange(12) % 10
    features = tfds.features.FeaturesDict(
        {
            "image": tfds.features.Image(shape=(32, 32, 3)),
            "label": tfds.features.ClassLabel(names=CLASSES),
        }
    )

    def split(sl):
        return tf.data.Dataset.from_tensor_slices({"image": x[sl], "label": y[sl]})

    builder = tfds.dataset_builders.store_as_tfds_dataset(
        name="cifar10",
        version="3.0.2",
        features=features,
        split_datasets={"train": split(slice(0, 8)), "test": split(slice(8, 12))},
        data_dir=str(tmp_path / "tfds"),
    )
    assert builder is not None
    splits = load_cifar("cifar10", tmp_path / "tfds")
    assert sorted(map(tuple, splits.x_train.reshape(8, -1)[:, :4])) == sorted(
        map(tuple, x[:8].reshape(8, -1)[:, :4])
    )
    assert splits.x_test.shape == (4, 32, 32, 3)
    assert splits.class_names == CLASSES


def test_offline_failure_is_fast_and_names_the_places(isolated_home, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError) as info:
        load_cifar("cifar10", empty)
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert str(empty) in message and "no other place is searched" in message
    with pytest.raises(DataNotFoundError) as info:
        load_cifar("cifar10")  # nothing named: the default caches, all named in the message
    message = str(info.value)
    assert "tensorflow_datasets" in message and ".keras" in message
    assert "--download" in message and "--data-dir" in message
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_cifar("cifar10", tmp_path / "nope")


@pytest.mark.slow  # real data, tens of seconds on 2 cores
def test_shared_real_cifar10(cifar_jpeg, isolated_home):
    splits = load_cifar("cifar10", cifar_jpeg)
    assert splits.x_train.shape == (50000, 32, 32, 3) and splits.x_test.shape == (10000, 32, 32, 3)
    assert np.bincount(splits.y_train).tolist() == [5000] * 10
    assert np.bincount(splits.y_test).tolist() == [1000] * 10
    assert splits.class_names == CLASSES
    assert 100 < splits.x_train.mean() < 150  # real photographs, not noise
    small = splits.subset(1000, 500, seed=3)
    assert np.bincount(small.y_train).tolist() == [100] * 10 and len(small.y_test) == 500


def _keras_cache_copy(home, files):
    folder = home / ".keras" / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for k, v in files.items():
        (folder / k).write_bytes(v)
    return folder


def test_a_named_data_dir_is_the_only_place_searched(tmp_path, isolated_home, monkeypatch):
    """An existing but unrecognised --data-dir used to fall back to the caches and train on data
    the user never named; now it is an error naming what it should hold."""
    files, _, _ = _batches()
    _keras_cache_copy(isolated_home, files)  # a valid copy the user did not name
    unrelated = tmp_path / "my-photos"
    unrelated.mkdir()
    (unrelated / "note.txt").write_text("not CIFAR")
    with pytest.raises(DataNotFoundError, match=r"holds no cifar10.*no other place is searched"):
        locate_cifar("cifar10", unrelated)
    monkeypatch.setenv("KERASINV_DATA_DIR", str(unrelated))
    with pytest.raises(DataNotFoundError, match=r"\$KERASINV_DATA_DIR .*holds no cifar10"):
        locate_cifar("cifar10")
    monkeypatch.delenv("KERASINV_DATA_DIR")
    assert ".keras" in locate_cifar("cifar10")[0]  # nothing named: the caches are searched


def test_a_crafted_batch_cannot_run_code(tmp_path, isolated_home):
    """Plain pickle.loads would run os.system from a batch file; the restricted unpickler refuses
    every callable but NumPy's array reconstructors, and the file is named in the error."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    files, _, _ = _batches()
    files["data_batch_3"] = pickle.dumps({b"data": Payload(), b"labels": [0]})
    FAKE_MD5["cifar10"]["data_batch_3"] = hashlib.md5(files["data_batch_3"]).hexdigest()
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for k, v in files.items():
        (folder / k).write_bytes(v)
    with pytest.raises(DataFormatError, match=r"data_batch_3 is not a CIFAR python batch.*system"):
        load_cifar("cifar10", folder)
    assert not marker.exists()
    for protocol in (2, 3, 4, 5):  # what real batches hold loads at every protocol
        d = {b"data": np.arange(6144, dtype=np.uint8).reshape(2, 3072), b"labels": [1, 2]}
        out = cifar._unpickle(pickle.dumps(d, protocol=protocol))
        np.testing.assert_array_equal(out[b"data"], d[b"data"])


def test_batches_are_checked_against_the_official_checksums(tmp_path, isolated_home, monkeypatch):
    monkeypatch.setattr(cifar, "OFFICIAL_MD5", OFFICIAL)
    files, _, _ = _batches()
    _write_tar(
        tmp_path / "cifar-10-python.tar.gz",
        {f"cifar-10-batches-py/{k}": v for k, v in files.items()},
    )
    with pytest.raises(DataFormatError, match=r"data_batch_1 is not the official file \(md5 "):
        load_cifar("cifar10", tmp_path / "cifar-10-python.tar.gz")


def test_a_malformed_batch_is_one_error_naming_the_file(tmp_path, isolated_home):
    files, _, _ = _batches()
    files["test_batch"] = b"\x80\x02 this is not a pickle"
    FAKE_MD5["cifar10"]["test_batch"] = hashlib.md5(files["test_batch"]).hexdigest()
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for k, v in files.items():
        (folder / k).write_bytes(v)
    with pytest.raises(DataFormatError, match="test_batch is not a CIFAR python batch"):
        load_cifar("cifar10", folder)
