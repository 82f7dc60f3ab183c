"""Every example in README.md works as written.

``make test`` checks that each command line parses (its recipe, command and flags exist) and runs
the Python snippets' imports; ``-m slow`` runs every example verbatim from a wheel installed outside
the repository, in a temporary folder, as a new user would.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli_here

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: commands of the repository (make), not of the installed package
REPOSITORY_ONLY = ("make ",)
#: examples that need a dataset a new user may not have: run, they must stop at once with a clean
#: one-line error naming what is missing (the slow test runs them with an empty home folder)
NEEDS_DATA = ("--data-dir ~/data/", "--data cifar10 ")


def examples() -> list[tuple[str, str]]:
    """``(kind, text)`` in README order: ``("shell", one command)`` or ``("python", a snippet)``."""
    found = []
    for lang, body in re.findall(r"```(\w*)\n(.*?)```", README.read_text(), re.S):
        if lang == "python":
            found.append(("python", body))
            continue
        for line in body.splitlines():
            command = re.split(r"\s+#", line)[0].strip()
            if command.startswith("kerasinv ") or command.startswith(REPOSITORY_ONLY):
                found.append(("shell", command))
    return found


def test_the_readme_has_examples_of_every_capability():
    commands = [text for kind, text in examples() if kind == "shell"]
    for verb in ("recipe", "finetune", "evaluate", "export"):
        assert any(c.startswith(f"kerasinv {verb}") for c in commands), verb
    assert sum(kind == "python" for kind, _ in examples()) >= 2


def test_every_readme_command_parses(tmp_path, monkeypatch):
    """Its command, recipe and flags exist (``--help`` after the parsed arguments); a command whose
    output is redirected to a file runs, so that the next one can read the file; the Python
    snippets run."""
    monkeypatch.chdir(tmp_path)
    for kind, command in examples():
        if kind == "python":  # the snippets are quick: run them here
            exec(compile(command, "README.md", "exec"), {})
            continue
        if command.startswith(REPOSITORY_ONLY):
            continue
        line, _, target = command.partition(">")
        args = shlex.split(line)[1:]
        result = run_cli_here(*args) if target else run_cli_here(*args, "--help")
        assert result.returncode == 0, f"{command}: {result.stderr}"
        if target:
            Path(target.strip()).write_text(result.stdout)
    assert (tmp_path / "twin.keras").is_file()  # the anti-aliasing snippet ran


@pytest.mark.slow
def test_every_readme_example_runs_verbatim_from_a_wheel(tmp_path):
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("kerasinv-*.whl")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(site),  # the wheel, ahead of the repository's editable install
        "PATH": f"{site / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),  # no dataset in ~/data, no tfds or Keras cache
        "KERAS_HOME": str(home / ".keras"),
        "TFDS_DATA_DIR": str(home / "tensorflow_datasets"),
    }
    where = subprocess.run(
        [sys.executable, "-c", "import kerasinv; print(kerasinv.__file__)"],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr
    ran = []
    for kind, text in examples():
        if kind == "shell" and text.startswith(REPOSITORY_ONLY):
            continue
        argv = ["bash", "-c", text] if kind == "shell" else [sys.executable, "-c", text]
        result = subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, timeout=900
        )
        if kind == "shell" and any(marker in text for marker in NEEDS_DATA):
            assert result.returncode != 0 and "Traceback" not in result.stderr, text
            assert result.stderr.startswith("error:") and "cifar" in result.stderr.lower(), text
        else:
            assert result.returncode == 0, f"{text}\n{result.stderr[-3000:]}"
            assert "Traceback" not in result.stderr, text
        ran.append(text)
    assert (work / "twin.keras").is_file() and (work / "saved_models" / "twin" / "1").is_dir()
    assert (work / "twin.tflite").is_file()  # the int8 file, calibrated on the shipped sample
    assert (work / "runs" / "evaluate-all-cnn-c-bn-w050" / "table.md").is_file()
    # the twin's report has its own folder, named after the twin (the .keras model's own name)
    assert (work / "runs" / "evaluate-all_cnn_c_bn_w050_blur3" / "table.md").is_file()
    # an edited copy of a spec writes to a folder named after its file, not the shipped recipe's
    assert (work / "runs" / "my-copy-smoke" / "table.md").is_file()
    assert not (work / "runs" / "springenberg-allcnn-smoke").exists()
    assert (work / "runs" / "finetune-shipped-blur-3" / "table.md").is_file()  # offline sample
    assert len(ran) == len([e for e in examples() if not e[1].startswith(REPOSITORY_ONLY)])
