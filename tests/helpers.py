"""What tests share besides fixtures: where the shared data lives, running the CLI, reading a curve's
records, loopback clusters. Fixtures are in ``conftest.py``; tests import these from here."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
CIFAR_JPEG = SHARED_DATA / "cifar10-jpeg.tar.gz"
PHOTOS = SHARED_DATA / "imagenet-samples-100.tar"
MOBILENET_WEIGHTS = SHARED_DATA / "mobilenet_0.75_224_imagenet.weights.h5"

#: epochs of the springenberg-curve smoke run the curve tests share
CURVE_EPOCHS = "3"


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


def curve_records(folder):
    """The per-epoch records of a springenberg-curve output folder."""
    return json.loads((folder / "results.json").read_text())["records"]


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
