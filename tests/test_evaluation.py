"""``kerasinv evaluate`` and its engine: SavedModels and .keras files, real pretrained MobileNet."""

import io
import json
import tarfile
import time

import numpy as np
import pytest
import tensorflow as tf

from kerasinv import evaluation, measure, models
from kerasinv.export import export_serving
from kerasinv.models.architectures import preprocessing_for
from kerasinv.models.loading import from_keras, load_model
from tests.helpers import SHARED_DATA, run_cli_here

MOBILENET = SHARED_DATA / "mobilenet_0.75_224_imagenet.weights.h5"
PHOTOS = SHARED_DATA / "imagenet-samples-100.tar"


@pytest.fixture(scope="module")
def photo_tar(tmp_path_factory):
    """Six unlabelled 48x40 photos and one broken file."""
    path = tmp_path_factory.mktemp("photos") / "photos.tar"
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w") as tar:
        for i in range(6):
            data = tf.io.encode_png(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).numpy()
            info = tarfile.TarInfo(f"photo_{i}.png")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("broken.png")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    return path


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    model = models.get("all-cnn-c", width=0.0625, classes=4)
    return export_serving(model, tmp_path_factory.mktemp("serving"), "tiny", version=1)


def test_savedmodel_report_through_the_cli(saved_model, photo_tar, tmp_path):
    out = tmp_path / "report"
    result = run_cli_here(
        "evaluate",
        str(saved_model),
        "--images",
        str(photo_tar),
        "--protocols",
        "crop,scale,shift",
        "--output",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "| crop | 6 |" in result.stdout and "unreadable skipped" in result.stderr
    report = json.loads((out / "results.json").read_text())
    assert report["preprocess"] == "none"  # SavedModels take raw pixels
    assert report["skipped"] == ["broken.png"] and len(report["files"]) == 6
    for protocol in ("crop", "scale"):
        row = report["summary"][protocol]
        assert 0 <= row["p_top1_change"] <= 1 and row["mean_absolute_change"] >= 0
        assert "frame_accuracy" not in row  # no WordNet ids, no labels
    assert report["clean"] is None
    assert 0 <= report["summary"]["shift"]["consistency"] <= 1
    arrays = np.load(out / "per_image.npz")
    assert arrays["crop_changed"].shape == (6, 8) and arrays["shift_top1"].shape == (5, 6, 2)
    assert (out / "p_top1_change.png").stat().st_size > 1000


def test_engine_on_a_keras_file_matches_the_metrics(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 64)(inputs)
    x = keras.layers.Conv2D(8, 5, strides=2, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert loaded.input_size == 32
    images = np.random.default_rng(1).uniform(0, 255, (5, 37, 37, 3)).astype(np.float32)
    result = evaluation.evaluate(
        loaded, images, np.array([0, 1, 2, 0, 1]), ["black"], batch_size=2, labels_from="file"
    )
    frames = np.asarray(measure.onepixel_frames(images, "black", 32))
    probs = loaded.predict(frames.reshape(-1, 32, 32, 3)).reshape(5, 9, -1)
    from kerasinv import metrics

    row = result["summary"]["black"]
    assert row["p_top1_change"] == pytest.approx(metrics.p_top1_change(probs))
    assert row["mean_absolute_change"] == pytest.approx(
        metrics.mean_absolute_change(probs), abs=1e-6
    )
    assert row["mean_absolute_change"] > 1e-3
    assert row["frame_accuracy"] == pytest.approx(metrics.accuracy(probs[:, 0], [0, 1, 2, 0, 1]))


def test_auto_preprocessing_by_name():
    assert preprocessing_for("vgg16") == "caffe"
    assert preprocessing_for("inception_resnet_v2") == "tf"
    assert preprocessing_for("mobilenet_0.75_224") == "tf"
    assert preprocessing_for("all_cnn_c") == "none"


def test_bad_input_is_explained_quickly(photo_tar, tmp_path):
    start = time.perf_counter()
    result = run_cli_here("evaluate", str(tmp_path / "none.keras"), "--images", str(photo_tar))
    assert result.returncode == 2 and "no model at" in result.stderr
    assert "Traceback" not in result.stderr and time.perf_counter() - start < 10
    (tmp_path / "m.keras").write_text("x")
    result = run_cli_here(
        "evaluate", str(tmp_path / "m.keras"), "--images", str(photo_tar), "--protocols", "tilt"
    )
    assert result.returncode == 2 and "--protocols must be" in result.stderr


@pytest.mark.skipif(
    not (MOBILENET.is_file() and PHOTOS.is_file()), reason="../shared/data is absent"
)
def test_real_pretrained_mobilenet(tmp_path):
    import keras

    model = keras.applications.MobileNet(input_shape=(224, 224, 3), alpha=0.75, weights=None)
    model.load_weights(MOBILENET)
    model.save(tmp_path / "mobilenet.keras")
    out = tmp_path / "report"
    result = run_cli_here(
        "evaluate",
        str(tmp_path / "mobilenet.keras"),
        "--images",
        str(PHOTOS),
        "--preprocess",
        "tf",
        "--protocols",
        "crop,black",
        "--limit",
        "12",
        "--output",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "results.json").read_text())
    assert report["preprocess"] == "tf"  # chosen from the model name (mobilenet_0.75_224)
    summary = report["summary"]
    assert summary["crop"]["frame_accuracy"] >= 0.6  # a genuinely trained model on real photos
    assert report["clean"]["accuracy"] >= 0.6 and report["clean"]["labelled"] == 12
    # black-canvas embedding changes predictions more often than crops (Azulay & Weiss Table 1)
    assert summary["black"]["p_top1_change"] >= summary["crop"]["p_top1_change"]


def test_evaluate_runs_on_the_shipped_trained_savedmodel(tmp_path):
    """A fresh machine with no network: the shipped CIFAR-10 SavedModel, CIFAR photos."""
    from kerasinv.data.samples import embedded_sample_path
    from kerasinv.models.shipped import shipped_savedmodel

    out = tmp_path / "report"
    result = run_cli_here(
        "evaluate", str(shipped_savedmodel()), "--images", str(embedded_sample_path()),
        "--protocols", "crop,shift", "--limit", "24", "--output", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "results.json").read_text())
    assert report["model"] == "all-cnn-c-bn-w050" and report["preprocess"] == "none"
    assert report["photos"] == 24
    assert 0 <= report["summary"]["crop"]["p_top1_change"] <= 1
    assert 0 <= report["summary"]["shift"]["consistency"] <= 1
    # labels from the class folders of the sample's test/ split, 24 photos spread over the classes
    assert report["labels_from"] == "folders" and report["classes"][:2] == [
        "airplane",
        "automobile",
    ]
    assert all(name.startswith("test/") for name in report["files"])
    per_class = [sum(f.split("/")[1] == c for f in report["files"]) for c in report["classes"]]
    assert sorted(per_class) == [2] * 6 + [3] * 4
    assert 0.5 < report["summary"]["shift"]["frame_accuracy"] <= 1  # a trained model, scored
    clean = report["clean"]["accuracy"]
    assert 0.6 < clean <= 1  # the photos as they are: the model's accuracy
    table = (out / "table.md").read_text()
    assert f"**Accuracy {clean:.3f}**" in table and "first-frame accuracy" in table
    (record,) = [r for r in report["records"] if r["metric"] == "accuracy"]
    assert record["measured"] == clean and record["protocol"] is None
    # "as they are": the 32-px photos at the 32-px input untouched, not resampled through the
    # larger photo the shifted crops come from (that cost this model about 6 points)
    from kerasinv.data.imagenet import load_photos
    from kerasinv.models.loading import load_model

    raw = load_photos(embedded_sample_path(), resize=32, limit=24, require_labels=False)
    assert raw.names == report["files"]
    top1 = load_model(str(shipped_savedmodel())).predict(raw.images.astype("float32")).argmax(-1)
    assert clean == float((np.asarray(top1) == raw.labels).mean())


def test_class_folders_label_photos_and_limit_samples_every_class(tmp_path):
    from kerasinv.data.imagenet import balanced_sample, load_photos

    rng = np.random.default_rng(0)
    for cls, count in (("cat", 5), ("dog", 2), ("emu", 3)):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
            (tmp_path / "photos" / cls / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())
    photos = load_photos(tmp_path / "photos", resize=16)
    assert photos.labels_from == "folders" and photos.classes == ("cat", "dog", "emu")
    assert photos.labels.tolist() == [0] * 5 + [1] * 2 + [2] * 3
    picked = load_photos(tmp_path / "photos", resize=16, limit=6, seed=3)
    assert sorted(picked.labels.tolist()) == [0, 0, 1, 1, 2, 2] and picked.notes
    again = load_photos(tmp_path / "photos", resize=16, limit=6, seed=3)
    assert again.names == picked.names  # seeded
    assert balanced_sample([0, 0, 0, 0, 1], 3, seed=0).tolist().count(4) == 1
    # a model whose outputs are not one per folder is not scored, and the note says why
    labels, note = evaluation.accuracy_labels(photos.labels, 10, "folders", photos.classes)
    assert labels is None and "3 class folders but the model has 10 outputs" in note
    labels, note = evaluation.accuracy_labels(photos.labels, 3, "folders", photos.classes)
    assert note is None and labels.tolist() == photos.labels.tolist()


def test_a_twin_and_its_stock_model_get_different_default_reports(tmp_path):
    import kerasinv

    stock = models.get("all-cnn-c", width=0.0625, classes=4)
    stock.name = "allcnn"
    stock.save(tmp_path / "model.keras")
    kerasinv.antialias(stock, "blur-3").save(tmp_path / "twin.keras")
    kerasinv.antialias(stock, "aps").save(tmp_path / "twin2.keras")
    names = [
        evaluation.report_name(tmp_path / f) for f in ("model.keras", "twin.keras", "twin2.keras")
    ]
    assert names == ["allcnn", "allcnn_blur3", "allcnn_aps"]
    import keras

    anonymous = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    anonymous.save(tmp_path / "mine.keras")
    assert evaluation.report_name(tmp_path / "mine.keras") == "mine"  # Keras's default name


def test_accuracy_only_when_the_labels_are_in_the_models_class_space():
    """A 10-class CIFAR model once got an 'accuracy' against ImageNet WordNet labels."""
    imagenet = np.array([3, 7, 999, -1])
    labels, note = evaluation.accuracy_labels(imagenet, 10, "imagenet")
    assert labels is None and "ImageNet's 1,000 classes but the model has 10 outputs" in note
    labels, note = evaluation.accuracy_labels(imagenet, 1000, "imagenet")
    assert note is None and labels.tolist() == [3, 7, 999, -1]
    labels, note = evaluation.accuracy_labels(np.array([1, 2, 12]), 10, "file")
    assert labels is None and "not below the model's 10 classes" in note
    labels, _ = evaluation.accuracy_labels(np.array([1, 2, -1]), 10, "file")
    assert labels.tolist() == [1, 2, -1]
    assert evaluation.accuracy_labels(np.array([-1, -1]), 10, "imagenet") == (None, None)


def test_partly_labelled_photos_are_scored_on_the_labelled_ones(tmp_path):
    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    loaded = from_keras(model, "none")
    images = np.random.default_rng(1).uniform(0, 255, (4, 37, 37, 3)).astype(np.float32)
    top = loaded.predict(images[:, 2:34, 2:34]).argmax(-1)
    labels = np.array([top[0], -1, top[2], -1])
    row = evaluation.evaluate(loaded, images, labels, ["crop"], labels_from="file")["summary"][
        "crop"
    ]
    assert row["labelled"] == 2 and 0 <= row["frame_accuracy"] <= 1


def test_the_shipped_model_and_sample_are_named_without_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the repository: the names must not be relative paths
    result = run_cli_here(
        "evaluate", "shipped", "--images", "cifar10-sample", "--protocols", "crop", "--limit", "8"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(
        (tmp_path / "runs" / "evaluate-all-cnn-c-bn-w050" / "results.json").read_text()
    )
    assert report["model"] == "all-cnn-c-bn-w050" and report["photos"] == 8
    assert report["images"].endswith("cifar10-sample.tar.gz")


def test_a_rerun_into_the_default_folder_keeps_the_earlier_report(tmp_path):
    """Without --output, evaluate again writes beside the earlier report, never refusing it."""
    default = tmp_path / "runs" / "evaluate-m"
    assert evaluation.fresh_folder(default, False) == default
    default.mkdir(parents=True)
    (default / "results.json").write_text("{}")
    assert evaluation.fresh_folder(default, False) == tmp_path / "runs" / "evaluate-m-2"
    (tmp_path / "runs" / "evaluate-m-2").mkdir()
    assert evaluation.fresh_folder(default, False) == tmp_path / "runs" / "evaluate-m-3"
    assert evaluation.fresh_folder(default, True) == default  # --overwrite: the same folder


def test_the_python_api_takes_keras_habits_and_refuses_what_it_cannot_measure():
    """Integer labels score as the model's own classes; a tf.data.Dataset of (images, labels)
    works; 0..1 images warn; grey or non-square images are one clear error."""
    import keras
    import tensorflow as tf

    from kerasinv.errors import ConfigError

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    images = np.random.default_rng(0).uniform(0, 255, (6, 20, 20, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2])
    arrays = evaluation.evaluate(model, images, labels, ["black"], batch_size=3)
    assert 0 <= arrays["clean"]["accuracy"] <= 1 and arrays["clean"]["labelled"] == 6
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    from_dataset = evaluation.evaluate(model, dataset, protocols=["black"], batch_size=3)
    assert from_dataset["clean"] == arrays["clean"]
    assert from_dataset["summary"]["black"]["p_top1_change"] == pytest.approx(
        arrays["summary"]["black"]["p_top1_change"]
    )
    with pytest.warns(UserWarning, match="scaled to 0..1"):
        evaluation.evaluate(model, images / 255, labels, ["black"], batch_size=3)
    with pytest.raises(ConfigError, match=r"RGB \[N, H, W, 3\]"):
        evaluation.evaluate(model, images[..., :1], labels, ["black"])
    with pytest.raises(ConfigError, match="square"):
        evaluation.evaluate(model, images[:, :, :18], labels, ["black"])
