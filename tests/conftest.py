"""Shared fixtures. No test touches the network; real-data tests skip when ../shared/data is absent."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import pytest

from tests.helpers import CIFAR_JPEG, CURVE_EPOCHS, MOBILENET_WEIGHTS, PHOTOS, run_cli_here


@pytest.fixture(scope="session")
def mobilenet_keras(tmp_path_factory):
    """The genuinely pretrained Keras MobileNet 0.75 from ../shared/data, saved as a .keras file."""
    if not (MOBILENET_WEIGHTS.is_file() and PHOTOS.is_file()):
        pytest.skip("../shared/data (MobileNet weights, ImageNet photos) is absent")
    import keras

    model = keras.applications.MobileNet(input_shape=(224, 224, 3), alpha=0.75, weights=None)
    model.load_weights(MOBILENET_WEIGHTS)
    path = tmp_path_factory.mktemp("mobilenet") / "mobilenet.keras"
    model.save(path)
    return path


@pytest.fixture
def cifar_jpeg():
    if not CIFAR_JPEG.is_file():
        pytest.skip("../shared/data/cifar10-jpeg.tar.gz is not present")
    return CIFAR_JPEG


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    """Empty HOME and caches: nothing found unless a test puts it there."""
    for var in ("KERASINV_DATA_DIR", "TFDS_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home" / ".keras"))
    monkeypatch.setenv("KERASINV_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "home"


@pytest.fixture(scope="session")
def unbroken(tmp_path_factory):
    """The springenberg-curve smoke run, uninterrupted, in one process: (output folder, result)."""
    out = tmp_path_factory.mktemp("unbroken")
    proc = run_cli_here(
        "recipe", "springenberg-curve", "--preset", "smoke", "--epochs", CURVE_EPOCHS, "--quiet",
        "--output", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc
