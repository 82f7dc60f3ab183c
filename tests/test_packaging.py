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
