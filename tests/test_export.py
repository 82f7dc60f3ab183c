import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kerasinv import models
from kerasinv.data.preprocessing import GCNZCA
from kerasinv.errors import OutputError
from kerasinv.export import export_serving


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("serving")
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(200, 32, 32, 3), dtype=np.uint8)
    prep = GCNZCA().fit(train)
    model = models.get("all-cnn-c", width=0.0625)  # dropout inside: export must be inference mode
    path = export_serving(model, base, "allcnn", preprocessing=prep.layer())
    images = rng.uniform(0, 255, size=(5, 32, 32, 3)).astype("float32")
    return path, images, model, prep


def test_tf_serving_layout_and_signature(exported):
    path = exported[0]
    assert path.name == "1" and path.parent.name == "allcnn"
    assert (path / "saved_model.pb").is_file() and (path / "variables").is_dir()
    cli = Path(sys.executable).with_name("saved_model_cli")
    out = subprocess.run(
        [
            str(cli),
            "show",
            "--dir",
            str(path),
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "inputs['images']" in out.stdout and "(-1, 32, 32, 3)" in out.stdout
    assert "outputs['probabilities']" in out.stdout and "outputs['classes']" in out.stdout


def test_fresh_tensorflow_only_process_reproduces_predictions(exported, tmp_path):
    path, images, *_ = exported
    np.save(tmp_path / "images.npy", images)
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np
        import tensorflow as tf
        serve = tf.saved_model.load({str(path)!r}).signatures["serving_default"]
        out = serve(images=tf.constant(np.load({str(tmp_path / "images.npy")!r})))
        print(json.dumps({{"p": out["probabilities"].numpy().tolist(),
                           "c": out["classes"].numpy().tolist(),
                           "kerasinv": "kerasinv" in sys.modules}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["kerasinv"] is False
    # the graph preprocesses the raw float pixels itself; compare with Keras on the same pixels
    _, _, model, prep = exported
    keras_probs = model.predict(np.asarray(prep.layer()(images)), verbose=0)
    np.testing.assert_allclose(np.array(got["p"]), keras_probs, atol=1e-5)
    assert got["c"] == np.argmax(keras_probs, axis=1).tolist()


def test_versions_and_refusal_to_overwrite(exported, tmp_path):
    model = exported[2]
    first = export_serving(model, tmp_path, "m")
    second = export_serving(model, tmp_path, "m")
    assert (first.name, second.name) == ("1", "2")
    with pytest.raises(OutputError, match="already exists"):
        export_serving(model, tmp_path, "m", version=1)
    assert not list(tmp_path.glob("m/.*tmp*"))  # no half-written leftovers


def test_a_second_export_into_a_folder_being_written_stops_instead_of_losing_one(
    exported, tmp_path
):
    """Two exports at once would both pick version 1 and one would be lost: the folder is locked
    while a version is chosen and written, and the second stops with a clear message."""
    from kerasinv.output_folder import lock, release

    model = exported[2]
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from kerasinv.output_folder import lock
            lock({str(tmp_path / "m")!r}, "destination")
            print("locked", flush=True)
            time.sleep(30)
        """)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputError, match="being written by another kerasinv run"):
            export_serving(model, tmp_path, "m")
    finally:
        holder.kill()
        holder.wait()
    assert export_serving(model, tmp_path, "m").name == "1"  # free again: version 1, once
    lock(tmp_path / "m", "destination")
    release(tmp_path / "m")
