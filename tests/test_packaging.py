import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_specs_and_embedded_sample(tmp_path):
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
    assert "kerasinv/recipes/specs/springenberg-allcnn.toml" in names
    assert "kerasinv/data/samples/cifar10-sample.tar.gz" in names


def test_no_private_or_dead_imports():
    pattern = re.compile(r"^\s*(from|import)\s+(keras\.src|tensorflow_addons)", re.M)
    for path in list((ROOT / "kerasinv").rglob("*.py")) + list((ROOT / "tests").rglob("*.py")):
        assert not pattern.search(path.read_text()), path
