import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_specs_embedded_sample_and_shipped_model(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("kerasinv-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for recipe in (
        "springenberg-allcnn",
        "azulay-onepixel",
        "zhang-blurpool",
        "ruderman-deformation",
    ):
        assert f"kerasinv/recipes/specs/{recipe}.toml" in names
    assert "kerasinv/data/samples/cifar10-sample.tar.gz" in names
    assert "kerasinv/docs/papers.md" in names  # what the specs and docstrings cite
    shipped = "kerasinv/saved_models/all-cnn-c-bn-w050/"
    for part in ("1/saved_model.pb", "model.keras", "training.json"):
        assert shipped + part in names, part
    size = sum(
        i.file_size for i in zipfile.ZipFile(wheel).infolist() if i.filename.startswith(shipped)
    )
    assert size < 10e6


def test_no_private_or_dead_imports():
    pattern = re.compile(r"^\s*(from|import)\s+(keras\.src|tensorflow_addons)", re.M)
    for path in list((ROOT / "kerasinv").rglob("*.py")) + list((ROOT / "tests").rglob("*.py")):
        assert not pattern.search(path.read_text()), path


def test_the_package_api_is_reachable_lazily_and_python_m_works():
    """``import kerasinv`` gives its submodules and top-level functions on first use, without
    importing TensorFlow until one is touched; ``python -m kerasinv`` is the CLI."""
    code = (
        "import sys, kerasinv\n"
        "assert 'tensorflow' not in sys.modules\n"
        "public = [n for n in dir(kerasinv) if not n.startswith('_')]\n"
        "assert public == sorted(['antialias', 'data', 'evaluate', 'evaluation', 'export', 'layers',"
        " 'measure', 'metrics', 'models', 'perturb', 'recipes', 'training']), public\n"
        "assert kerasinv.models.architectures.photo_size(224) == 256\n"
        "assert 'tensorflow' not in sys.modules\n"
        "assert callable(kerasinv.models.get) and 'all-cnn-c' in kerasinv.models.names()\n"
        "assert callable(kerasinv.antialias) and callable(kerasinv.perturb.crop)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    result = subprocess.run(
        [sys.executable, "-m", "kerasinv", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("kerasinv, version")


def test_evaluate_takes_a_keras_model_directly():
    import keras
    import numpy as np

    import kerasinv

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, strides=2)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    photos = np.random.default_rng(0).uniform(0, 255, (4, 37, 37, 3)).astype("float32")
    summary = kerasinv.evaluate(model, photos, protocols=["crop", "shift"])["summary"]
    assert set(summary) == {"crop", "shift"} and 0 <= summary["shift"]["consistency"] <= 1
