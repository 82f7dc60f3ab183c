"""Shared fixtures. No test touches the network; real-data tests skip when ../shared/data is absent."""

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CIFAR_JPEG = SHARED_DATA / "cifar10-jpeg.tar.gz"


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
