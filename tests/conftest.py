"""Shared fixtures. No test touches the network; real-data tests skip when ../shared/data is absent."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CIFAR_JPEG = SHARED_DATA / "cifar10-jpeg.tar.gz"
PHOTOS = SHARED_DATA / "imagenet-samples-100.tar"
MOBILENET_WEIGHTS = SHARED_DATA / "mobilenet_0.75_224_imagenet.weights.h5"


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


def run_cli(*args, env=None, timeout=600):
    """Run the installed ``kerasinv`` CLI in a fresh process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "kerasinv.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


class _Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_cli_here(*args, env=None):
    """Run the CLI in this process (Click's runner): the same command and output as
    :func:`run_cli`, without paying a fresh TensorFlow import (~5 s) for each run."""
    from click.testing import CliRunner

    from kerasinv.cli import main

    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return _Result(result.exit_code, result.stdout, result.stderr)


CURVE_EPOCHS = "3"


def curve_records(folder):
    """The per-epoch records of a springenberg-curve output folder."""
    return json.loads((folder / "results.json").read_text())["records"]


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


def free_ports(n):
    """``n`` free loopback ports (for multi-worker tests)."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports, index):
    """``TF_CONFIG`` of worker ``index`` in a loopback cluster on ``ports``."""
    workers = [f"127.0.0.1:{p}" for p in ports]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
