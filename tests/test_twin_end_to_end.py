"""A twin made by ``kerasinv.antialias`` is usable end to end: saved to ``.keras``, it loads after
``import kerasinv`` in a fresh process, exports with ``kerasinv export``, reloads as a SavedModel in
a process without kerasinv, and is measured by ``kerasinv evaluate``."""

import json
import subprocess
import sys
import textwrap

import numpy as np

import kerasinv
from kerasinv import models
from tests.helpers import run_cli_here

SAMPLE = "kerasinv/data/samples/cifar10-sample.tar.gz"


def _run(script):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_twin_saves_loads_exports_serves_and_is_evaluated(tmp_path):
    stock = models.get("all-cnn-c", width=0.0625)
    twin = kerasinv.antialias(stock, "blur-3")
    x = np.random.default_rng(0).uniform(0, 255, size=(4, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    expected = np.asarray(twin(x))
    twin.save(tmp_path / "twin.keras")

    loaded = _run(
        f"""
        import json, numpy as np
        import kerasinv, keras  # kerasinv first: its layers register when Keras arrives
        model = keras.saving.load_model({str(tmp_path / "twin.keras")!r})
        x = np.load({str(tmp_path / "x.npy")!r})
        print(json.dumps(np.asarray(model(x)).tolist()))
        """
    )
    np.testing.assert_allclose(loaded, expected, atol=1e-5)

    # a fresh process, as a user's shell runs it (in this one the layers are long registered)
    exported = subprocess.run(
        [sys.executable, "-m", "kerasinv.cli", "export", str(tmp_path / "twin.keras"),
         str(tmp_path / "serving")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr[-3000:]
    served = _run(
        f"""
        import json, sys, numpy as np, tensorflow as tf
        serve = tf.saved_model.load({str(tmp_path / "serving" / "1")!r}).signatures["serving_default"]
        x = tf.constant(np.load({str(tmp_path / "x.npy")!r}))
        out = serve(images=x)["probabilities"].numpy().tolist()
        print(json.dumps({{"out": out, "kerasinv": "kerasinv" in sys.modules}}))
        """
    )
    assert served["kerasinv"] is False
    np.testing.assert_allclose(served["out"], expected, atol=1e-5)

    report = run_cli_here(
        "evaluate", str(tmp_path / "serving" / "1"), "--images", SAMPLE, "--limit", "20",
        "--protocols", "crop", "--output", str(tmp_path / "report"),
    )  # fmt: skip
    assert report.returncode == 0, report.stderr[-3000:]
    assert (tmp_path / "report" / "results.json").is_file()
