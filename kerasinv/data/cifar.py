"""CIFAR-10 / CIFAR-100 from local files, searched in a fixed order, without touching the network.

Where it looks: if the user names a place (``data_dir``, ``--data-dir``, or else
``$KERASINV_DATA_DIR``), there and nowhere else; a place that does not hold the data is an error,
never a silent fall-back to data the user did not name. A named place may hold or be

a. a tensorflow-datasets data_dir with a prepared ``cifar10``/``cifar100`` (read with
   ``tfds.builder_from_directory``, which never goes online);
b. the canonical python archive ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` or its
   extracted folder ``cifar-10-batches-py`` / ``cifar-100-python`` (each file's md5 is checked
   against the official one before it is read, and it is read with an unpickler that admits only
   arrays, lists and bytes: a crafted batch file cannot run code);
c. an image-folder layout ``root/{train,test}/<class>/*.{jpg,png}``, as a folder or a ``.tar[.gz]``.

With no place named, the default caches are searched in this order (the first hit wins):

1. the default tensorflow-datasets folder (``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``);
2. the Keras cache (``$KERAS_HOME`` or ``~/.keras``)``/datasets`` as ``keras.datasets`` leaves it.

Only ``download=True`` uses the network (through ``keras.datasets``). When nothing is found the
error names every place searched and how to get the data; it is raised within a second or two.
Decoded image folders/archives are cached as ``.npz`` under ``$KERASINV_CACHE_DIR`` (default
``~/.cache/kerasinv``) so the next run starts at once.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kerasinv.data import folders
from kerasinv.data.files import BATCH_LIMIT, read_file, read_member
from kerasinv.data.splits import ImageSplits
from kerasinv.errors import DataFormatError, DataNotFoundError, UnknownNameError
from kerasinv.io import atomic_path, cache_dir

DATASETS = {
    "cifar10": {
        "classes": 10,
        "archive": "cifar-10-python.tar.gz",
        "folder": "cifar-10-batches-py",
        "keras": ["cifar-10-batches-py-target/cifar-10-batches-py", "cifar-10-batches-py"],
    },
    "cifar100": {
        "classes": 100,
        "archive": "cifar-100-python.tar.gz",
        "folder": "cifar-100-python",
        "keras": ["cifar-100-python-target/cifar-100-python", "cifar-100-python"],
    },
}
CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


#: md5 of every file of the official python archives (www.cs.toronto.edu/~kriz/cifar.html; the
#: same values torchvision checks). A file is unpickled only after its digest matches.
OFFICIAL_MD5 = {
    "cifar10": {
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
        "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
    },
    "cifar100": {
        "train": "16019d7e3df5f24257cddd939b257f8d",
        "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
        "meta": "7973b15100ade9c7d40fb424638fde48",
    },
}


class _BatchUnpickler(pickle.Unpickler):
    """Admits only what CIFAR batches hold: dicts, lists, bytes, numbers and NumPy arrays/scalars.

    A pickle names the callables it needs to rebuild its objects; plain ``pickle.loads`` imports and
    calls any of them (``os.system`` included), so a crafted batch file runs code. Here every name
    but NumPy's array reconstructors is refused.
    """

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),  # NumPy integers in label lists
            ("numpy._core.multiarray", "scalar"),
            ("numpy.core.numeric", "_frombuffer"),  # protocol 5
            ("numpy._core.numeric", "_frombuffer"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),  # bytes pickled by Python 3 at protocol 2
        }
    )

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"refused to load {module}.{name}: not part of a CIFAR batch"
            )
        import codecs

        if module == "_codecs":
            return codecs.encode
        if name == "_reconstruct":
            return np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's own reconstructor
        if name == "scalar":
            return np.int64(0).__reduce__()[0]
        if name == "_frombuffer":
            return np.frombuffer(b"\0", np.uint8).__reduce_ex__(5)[0]  # numpy's own
        return getattr(np, name)


def _unpickle(blob: bytes, where: str = "CIFAR batch") -> dict:
    """A CIFAR python batch (a dict) from ``blob``, with :class:`_BatchUnpickler`.

    Raises:
        DataFormatError: the blob holds anything else (named by ``where``).
    """
    import io

    try:
        out = _BatchUnpickler(io.BytesIO(blob), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise DataFormatError(f"{where} is not a CIFAR python batch ({e})") from None
    if not isinstance(out, dict):
        raise DataFormatError(f"{where} is not a CIFAR python batch (holds {type(out).__name__})")
    return out


def _verified(name: str, member: str, blob: bytes, where: str) -> bytes:
    """``blob`` if its md5 is the official one for ``member`` of dataset ``name``."""
    expected = OFFICIAL_MD5[name].get(member)
    actual = hashlib.md5(blob).hexdigest()
    if expected is not None and actual != expected:
        raise DataFormatError(
            f"{where}: {member} is not the official file (md5 {actual}, expected {expected}); "
            f"re-download {DATASETS[name]['archive']} from https://www.cs.toronto.edu/~kriz/cifar.html, "
            "or give your own images as a folder train/<class>/*.png + test/<class>/*.png"
        )
    return blob


def _from_batches(name: str, read, where: str) -> ImageSplits:
    """Assemble splits from the python-pickle batches; ``read(member)`` returns a file's bytes."""
    if name == "cifar10":
        train_files, test_files, key = (
            [f"data_batch_{i}" for i in range(1, 6)],
            ["test_batch"],
            b"labels",
        )
        meta_file, meta_key = "batches.meta", b"label_names"
    else:
        train_files, test_files, key = ["train"], ["test"], b"fine_labels"
        meta_file, meta_key = "meta", b"fine_label_names"

    def batch(f):
        return _unpickle(_verified(name, f, read(f), where), f"{where}: {f}")

    def load(files):
        xs, ys = [], []
        for f in files:
            d = batch(f)
            data = np.asarray(d[b"data"])
            if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
                raise DataFormatError(
                    f"{where}: {f} holds {data.dtype} data of shape {data.shape}, not uint8 [N, 3072]"
                )
            xs.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            ys.append(np.asarray(d[key], np.int64))
        return np.concatenate(xs), np.concatenate(ys)

    try:
        x_train, y_train = load(train_files)
        x_test, y_test = load(test_files)
        classes = [c.decode() for c in batch(meta_file)[meta_key]]
    except (KeyError, FileNotFoundError, ValueError) as e:
        raise DataFormatError(
            f"{where} is not a complete {name} python archive ({type(e).__name__}: {e}); "
            f"re-download {DATASETS[name]['archive']}"
        ) from None
    return ImageSplits(name, x_train, y_train, x_test, y_test, classes, where)


def load_python_folder(name: str, folder: Path) -> ImageSplits:
    """Read the extracted canonical archive (``cifar-10-batches-py`` / ``cifar-100-python``)."""
    return _from_batches(name, lambda f: read_file(folder / f, BATCH_LIMIT), str(folder))


def load_python_archive(name: str, path: Path) -> ImageSplits:
    """Read ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` without extracting it."""
    prefix = DATASETS[name]["folder"]
    with tarfile.open(path) as archive:

        def read(f):
            try:
                return read_member(archive, f"{prefix}/{f}", BATCH_LIMIT)
            except KeyError:
                raise FileNotFoundError(f"{prefix}/{f}") from None

        return _from_batches(name, read, str(path))


def load_tfds_folder(name: str, builder_dir: Path) -> ImageSplits:
    """Read a prepared tensorflow-datasets folder ``<data_dir>/<name>/<version>`` (offline)."""
    from kerasinv.data.tfds_folders import check_features

    check_features(builder_dir)  # before tfds reads it: tfds imports what features.json names
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(str(builder_dir))
    arrays = {}
    for split in ("train", "test"):
        batch = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
        if "image" not in batch or "label" not in batch:
            raise DataFormatError(
                f"{builder_dir} has no 'image' and 'label' features: {sorted(batch)}"
            )
        arrays[split] = (np.asarray(batch["image"], np.uint8), np.asarray(batch["label"], np.int64))
    classes = list(builder.info.features["label"].names)
    return ImageSplits(name, *arrays["train"], *arrays["test"], classes, str(builder_dir))


def _tfds_builder_dir(name: str, data_dir: Path) -> Path | None:
    """The newest prepared version folder ``data_dir/name/X.Y.Z`` with a dataset_info.json."""
    root = data_dir / name
    if not root.is_dir():
        return None
    versions = [p for p in root.iterdir() if (p / "dataset_info.json").is_file()]
    if not versions:
        return None

    def key(p: Path):
        return tuple(int(t) if t.isdigit() else 0 for t in p.name.split("."))

    return max(versions, key=key)


def _cached(loader, name: str, path: Path) -> ImageSplits:
    """Decode once and keep an ``.npz`` keyed by the source's path, size and modification time."""
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    cache = cache_dir() / f"{name}-{key[:16]}.npz"
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                return ImageSplits(
                    name,
                    z["x_train"],
                    z["y_train"],
                    z["x_test"],
                    z["y_test"],
                    [str(c) for c in z["class_names"]],
                    str(path),
                )
        except (OSError, KeyError, ValueError):
            pass  # a damaged cache is rebuilt below
    splits = loader(path, name)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cache) as tmp, open(tmp, "wb") as f:
            np.savez(
                f,
                x_train=splits.x_train,
                y_train=splits.y_train,
                x_test=splits.x_test,
                y_test=splits.y_test,
                class_names=np.asarray(splits.class_names),
            )
    except OSError:
        pass  # caching is an optimisation; a read-only home must not fail the run
    return splits


def _check(splits: ImageSplits, name: str) -> ImageSplits:
    expected = DATASETS[name]["classes"]
    if splits.num_classes != expected:
        raise DataFormatError(
            f"{splits.source} has {splits.num_classes} classes but {name} has {expected}; "
            f"point --data-dir at a {name} copy or pick the matching --dataset"
        )
    if splits.x_train.shape[1:] != (32, 32, 3) or splits.x_test.shape[1:] != (32, 32, 3):
        raise DataFormatError(
            f"{splits.source} holds images of shape {splits.x_train.shape[1:]}, but {name} images "
            "are 32x32 RGB"
        )
    return splits


def _probe(name: str, place: Path) -> tuple[str, Callable[[], ImageSplits]] | None:
    """The layout found at ``place`` (a folder or an archive file) and a loader for it; None if none.

    Only looks at names on disk (and a tar's member list); nothing is decoded until the loader runs.
    """
    spec = DATASETS[name]
    if place.is_file():
        if place.name == spec["archive"]:
            return f"python archive {place}", lambda: load_python_archive(name, place)
        if tarfile.is_tarfile(place):
            with tarfile.open(place) as archive:
                first = archive.next()
            if first is not None and first.name.split("/")[0] == spec["folder"]:
                return f"python archive {place}", lambda: load_python_archive(name, place)
            return (
                f"image-folder archive {place}",
                lambda: _cached(folders.load_image_folder_archive, name, place),
            )
        return None
    if not place.is_dir():
        return None
    builder_dir = _tfds_builder_dir(name, place)
    if builder_dir is not None:
        return f"tensorflow-datasets folder {builder_dir}", lambda: load_tfds_folder(
            name, builder_dir
        )
    if (place / spec["archive"]).is_file():
        archive_path = place / spec["archive"]
        return f"python archive {archive_path}", lambda: load_python_archive(name, archive_path)
    for folder in (place / spec["folder"], place):
        if (folder / ("batches.meta" if name == "cifar10" else "meta")).is_file():
            return f"python folder {folder}", lambda folder=folder: load_python_folder(name, folder)
    if folders.is_image_folder(place):
        return f"image folder {place}", lambda: folders.load_image_folder(place, name)
    return None


def default_places(name: str) -> list[Path]:
    """The default caches searched after ``--data-dir``: tensorflow-datasets', then Keras's."""
    tfds_dir = Path(os.environ.get("TFDS_DATA_DIR", Path.home() / "tensorflow_datasets"))
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return [tfds_dir] + [keras_home / "datasets" / sub for sub in DATASETS[name]["keras"]]


def locate_cifar(
    name: str = "cifar10",
    data_dir: str | Path | None = None,
    download: bool = False,
    instead: str = "pass --download to fetch it through keras.datasets (needs the network)",
) -> tuple[str, Callable[[], ImageSplits]]:
    """Find CIFAR-10/100 without loading it: ``(description, loader)``.

    Fast (file names only, no TensorFlow import), so a missing dataset is reported at once.
    ``instead``: the first way out the error names (a command without ``--download`` names its
    own).

    Raises:
        DataNotFoundError: nothing found and ``download`` is false (names the places searched).
    """
    if name not in DATASETS:
        raise UnknownNameError("dataset", name, DATASETS)
    flag = "--data-dir" if data_dir is not None else "$KERASINV_DATA_DIR"
    explicit = data_dir if data_dir is not None else os.environ.get("KERASINV_DATA_DIR")
    if explicit:
        # the user named the data: look there and nowhere else
        explicit = Path(explicit).expanduser()
        if not explicit.exists():
            raise DataNotFoundError(
                f"{flag} {explicit} does not exist; pass a folder or archive holding {name} "
                "(see `kerasinv recipe --help`)"
            )
        found = _probe(name, explicit)
        if found is None:
            spec = DATASETS[name]
            raise DataNotFoundError(
                f"{flag} {explicit} holds no {name} that kerasinv can read (and no other place is "
                f"searched when you name one). It can be {spec['archive']}, its extracted folder "
                f"{spec['folder']}/, a prepared tensorflow-datasets data_dir with {name}/, or an "
                "image folder train/<class>/*.png + test/<class>/*.png (a folder or a .tar[.gz])"
            )
        return found
    places = default_places(name)
    for place in places:
        found = _probe(name, place)
        if found is not None:
            return found
    if download:
        return "keras.datasets download", lambda: _download(name)
    searched = "\n".join(f"  - {p}" for p in places)
    raise DataNotFoundError(
        f"{name} was not found. Searched, in order:\n{searched}\n"
        f"Get it in one of these ways:\n"
        f"  - {instead};\n"
        f"  - put {DATASETS[name]['archive']} (https://www.cs.toronto.edu/~kriz/cifar.html), its "
        f"extracted folder, a prepared tensorflow-datasets data_dir, or an image folder "
        f"train/<class>/*.png + test/<class>/*.png in a folder and pass --data-dir FOLDER "
        f"(or set KERASINV_DATA_DIR)."
    )


def load_cifar(
    name: str = "cifar10", data_dir: str | Path | None = None, download: bool = False
) -> ImageSplits:
    """Load CIFAR-10 or CIFAR-100 from local files (see the module docstring for the search order).

    Args:
        name: ``"cifar10"`` or ``"cifar100"`` (fine labels).
        data_dir: a folder or archive to search first; ``None`` uses ``$KERASINV_DATA_DIR`` if set.
        download: if nothing is found locally, download through ``keras.datasets`` (network).

    Returns:
        :class:`ImageSplits` with ``uint8 [50000, 32, 32, 3]`` train and ``[10000, 32, 32, 3]`` test.

    Raises:
        DataNotFoundError: nothing found and ``download`` is false (names the places searched).
        DataFormatError: a candidate was found but is broken or of the wrong dataset.
    """
    _, loader = locate_cifar(name, data_dir, download)
    return _check(loader(), name)


def _download(name: str) -> ImageSplits:
    import keras

    if name == "cifar10":
        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
        classes = CIFAR10_CLASSES
    else:
        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar100.load_data(label_mode="fine")
        folder = Path(default_places(name)[1])
        classes = [
            c.decode()
            for c in _unpickle(read_file(folder / "meta", BATCH_LIMIT), str(folder / "meta"))[
                b"fine_label_names"
            ]
        ]
    return ImageSplits(
        name,
        x_train,
        y_train.reshape(-1).astype(np.int64),
        x_test,
        y_test.reshape(-1).astype(np.int64),
        list(classes),
        "keras.datasets download",
    )
