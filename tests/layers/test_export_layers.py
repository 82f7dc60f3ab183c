"""Anti-aliased models export to SavedModels that a TensorFlow-only process runs (no Python layers)."""

import json
import subprocess
import sys
import textwrap

import numpy as np

from kerasinv import models
from kerasinv.export import export_serving


def test_antialiased_models_export_without_python(tmp_path):
    x = np.random.default_rng(0).uniform(0, 255, size=(3, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    expected = {}
    for antialias in ("blur-4", "aps-2"):
        model = models.get("all-cnn-c", width=0.0625, antialias=antialias)
        export_serving(model, tmp_path, antialias)
        expected[antialias] = model.predict(x, verbose=0).tolist()
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np
        import tensorflow as tf
        x = tf.constant(np.load({str(tmp_path / "x.npy")!r}))
        out = {{}}
        for name in ("blur-4", "aps-2"):
            serve = tf.saved_model.load({str(tmp_path)!r} + "/" + name + "/1").signatures["serving_default"]
            out[name] = serve(images=x)["probabilities"].numpy().tolist()
        out["kerasinv"] = "kerasinv" in sys.modules
        print(json.dumps(out))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got.pop("kerasinv") is False
    for name, probs in expected.items():
        np.testing.assert_allclose(np.array(got[name]), np.array(probs), atol=1e-5)
