"""The bad-input matrix: every error a user can cause, for every command, is one line on stderr and
exit 2, found before the expensive work, and leaves nothing behind (no output folder, no file
touched).

Classes covered per command: unknown names, bad values and flags, missing or unreadable inputs,
models of the wrong shape, damaged files, unusable output places (a file, a path through a file, a
folder holding someone's work), and a data directory that does not hold the data.
"""

import shutil
import time

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from kerasinv.cli import main

FAST = 20.0  # seconds: refusals come before data loading, training or measuring


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Inputs shared by the cases: models of the wrong shape, damaged files, a user's folder."""
    root = tmp_path_factory.mktemp("bad")

    def save(model, name):
        model.save(root / name)
        return str(root / name)

    def net(shape, head=True):
        inputs = keras.Input(shape)
        x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
        if head:
            x = keras.layers.GlobalAveragePooling2D()(x)
            x = keras.layers.Dense(10, activation="softmax")(x)
        return keras.Model(inputs, x)

    out = {
        "good": save(net((32, 32, 3)), "good.keras"),
        "non_square": save(net((32, 48, 3)), "non_square.keras"),
        "gray": save(net((32, 32, 1)), "gray.keras"),
        "feature_map": save(net((32, 32, 3), head=False), "feature_map.keras"),
    }
    (root / "corrupt.keras").write_bytes(b"PK\x03\x04 not really a zip")
    out["corrupt"] = str(root / "corrupt.keras")
    saved = root / "saved" / "1"
    from kerasinv.export import export_serving

    export_serving(keras.models.load_model(out["good"]), root / "saved_src", "m", version=1)
    shutil.copytree(root / "saved_src" / "m" / "1", saved)
    shutil.rmtree(saved / "variables")
    out["no_variables"] = str(saved)
    photos = root / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    import tensorflow as tf

    for i in range(2):
        img = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
        (photos / f"n01440764_{i}.png").write_bytes(tf.io.encode_png(img).numpy())
    out["photos"] = str(photos)
    (root / "a_file.txt").write_text("keep me")
    out["file"] = str(root / "a_file.txt")
    empty = root / "empty"
    empty.mkdir()
    out["empty"] = str(empty)
    spec = root / "bad-number.toml"
    from kerasinv.recipes import find_spec

    source = find_spec("springenberg-allcnn").read_text()
    spec.write_text(source.replace("learning_rate = 0.05", 'learning_rate = "fast"', 1))
    out["bad_spec"] = str(spec)
    zhang = find_spec("ruderman-deformation").read_text()
    assert "strengths = [1.0, 2.0]" in zhang
    (root / "bad-list.toml").write_text(
        zhang.replace("strengths = [1.0, 2.0]", 'strengths = [1.0, "two"]')
    )
    out["bad_list_spec"] = str(root / "bad-list.toml")
    (root / "typo.toml").write_text(
        source.replace("learning_rate = 0.05", "lerning_rate = 0.05", 1)
    )
    out["typo_spec"] = str(root / "typo.toml")
    (root / "broken.toml").write_text("recipe = [unclosed")
    out["broken_spec"] = str(root / "broken.toml")
    return out


def _thesis(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "thesis.tex").write_text("five years of work")
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "raw.csv").write_text("1,2,3")
    return folder


def _snapshot(folder):
    return sorted(
        (str(p.relative_to(folder)), p.read_bytes() if p.is_file() else None)
        for p in folder.rglob("*")
    )


# (id, argv with {placeholders}, message fragment)
CASES = [
    # recipe
    ("recipe/unknown-recipe", ["recipe", "no-such-recipe"], "unknown recipe"),
    (
        "recipe/unknown-preset",
        ["recipe", "springenberg-allcnn", "--preset", "huge"],
        "unknown preset",
    ),
    (
        "recipe/unknown-model",
        ["recipe", "springenberg-allcnn", "--models", "all-cnn-x"],
        "Did you mean",
    ),
    (
        "recipe/foreign-option",
        ["recipe", "azulay-onepixel", "--augment"],
        "No such option '--augment'",
    ),
    (
        "recipe/bad-choice",
        ["recipe", "springenberg-allcnn", "--grid", "odd"],
        "Invalid value for '--grid'",
    ),
    ("recipe/unknown-flag", ["recipe", "springenberg-allcnn", "--lrr", "1"], "No such option"),
    (
        "recipe/not-a-number",
        ["recipe", "springenberg-allcnn", "--epochs", "ten"],
        "'ten' is not a valid integer",
    ),
    (
        "recipe/missing-data-dir",
        ["recipe", "springenberg-allcnn", "--data-dir", "{tmp}/nope"],
        "does not exist",
    ),
    (
        "recipe/data-dir-without-cifar",
        ["recipe", "springenberg-allcnn", "--preset", "quick", "--data-dir", "{empty}"],
        "holds no cifar10",
    ),
    (
        "recipe/smoke-honours-data-dir",
        ["recipe", "springenberg-allcnn", "--preset", "smoke", "--data-dir", "{empty}"],
        "holds no cifar10",
    ),
    (
        "recipe/azulay-data-dir",
        ["recipe", "azulay-onepixel", "--networks", "none", "--data-dir", "{empty}"],
        "holds no cifar10",
    ),
    (
        "recipe/output-is-a-file",
        ["recipe", "springenberg-allcnn", "--output", "{file}"],
        "is a file",
    ),
    (
        "recipe/output-through-a-file",
        ["recipe", "springenberg-allcnn", "--output", "{file}/run"],
        "is a file",
    ),
    (
        "recipe/output-holds-user-files",
        ["recipe", "springenberg-allcnn", "--output", "{thesis}"],
        "not written by kerasinv",
    ),
    (
        "recipe/cwd-holds-user-files",
        ["recipe", "springenberg-allcnn", "--output", "."],
        "not written by kerasinv",
    ),
    (
        "recipe/spec-non-numeric",
        ["recipe", "{bad_spec}", "--output", "{tmp}/out"],
        "must be a number, got 'fast'",
    ),
    (
        "recipe/spec-non-numeric-list",
        ["recipe", "{bad_list_spec}", "--output", "{tmp}/out"],
        "strengths must be a list of numbers",
    ),
    ("recipe/spec-not-toml", ["recipe", "{broken_spec}"], "is not valid TOML"),
    ("recipe/spec-missing", ["recipe", "{tmp}/missing.toml"], "does not exist"),
    (
        "recipe/bad-init",
        ["recipe", "springenberg-curve", "--init", "zeros", "--output", "{tmp}/out"],
        "unknown initialiser",
    ),
    (
        "recipe/negative-lr",
        ["recipe", "springenberg-curve", "--lr", "-1", "--output", "{tmp}/out"],
        "--lr must be positive",
    ),
    (
        "recipe/infinite-width",
        ["recipe", "springenberg-curve", "--width", "inf", "--output", "{tmp}/out"],
        "--width must be a finite number",
    ),
    (
        "recipe/huge-batch",
        ["recipe", "springenberg-curve", "--batch-size", "10000000000", "--output", "{tmp}/out"],
        "--batch-size must be at most 65536",
    ),
    (
        "recipe/subset-above-the-data",
        [
            "recipe",
            "springenberg-allcnn",
            "--train-subset",
            "5000",
            "--models",
            "model-a",
            "--quiet",
            "--output",
            "{tmp}/out",
        ],
        "a training subset of 5,000 images was asked for",
    ),
    (
        "recipe/countermeasure-typo",
        ["recipe", "azulay-onepixel", "--countermeasures", "blur3", "--output", "{tmp}/out"],
        "Did you mean 'blur-3'",
    ),
    (
        "recipe/spec-key-typo",
        ["recipe", "{typo_spec}", "--output", "{tmp}/out"],
        "lerning_rate: not a setting of this recipe (did you mean learning_rate?)",
    ),
    (
        "recipe/azulay-bad-model",
        [
            "recipe",
            "azulay-onepixel",
            "--networks",
            "none",
            "--model",
            "{non_square}",
            "--output",
            "{tmp}/out",
        ],
        "takes 32x48 inputs",
    ),
    (
        "recipe/zhang-bad-model",
        [
            "recipe",
            "zhang-blurpool",
            "--models",
            "none",
            "--model",
            "{feature_map}",
            "--images",
            "{photos}",
            "--output",
            "{tmp}/out",
        ],
        "needs class scores [B, K]",
    ),
    # evaluate
    (
        "evaluate/missing-model",
        ["evaluate", "{tmp}/nope.keras", "--images", "{photos}"],
        "no model at",
    ),
    ("evaluate/missing-images", ["evaluate", "{good}", "--images", "{tmp}/nope"], "no photos at"),
    (
        "evaluate/bad-protocol",
        ["evaluate", "{good}", "--images", "{photos}", "--protocols", "warp"],
        "--protocols must be",
    ),
    (
        "evaluate/output-is-a-file",
        ["evaluate", "{good}", "--images", "{photos}", "--output", "{file}"],
        "is a file",
    ),
    (
        "evaluate/output-holds-user-files",
        ["evaluate", "{good}", "--images", "{photos}", "--output", "{thesis}"],
        "not written by kerasinv",
    ),
    (
        "evaluate/non-square-input",
        ["evaluate", "{non_square}", "--images", "{photos}", "--output", "{tmp}/out"],
        "takes 32x48 inputs",
    ),
    (
        "evaluate/gray-input",
        ["evaluate", "{gray}", "--images", "{photos}", "--output", "{tmp}/out"],
        "takes 1-channel inputs",
    ),
    (
        "evaluate/feature-map-output",
        ["evaluate", "{feature_map}", "--images", "{photos}", "--output", "{tmp}/out"],
        "needs class scores [B, K]",
    ),
    (
        "evaluate/corrupt-keras-file",
        ["evaluate", "{corrupt}", "--images", "{photos}", "--output", "{tmp}/out"],
        "could not load",
    ),
    (
        "evaluate/savedmodel-without-variables",
        ["evaluate", "{no_variables}", "--images", "{photos}", "--output", "{tmp}/out"],
        "could not load the SavedModel",
    ),
    (
        "evaluate/bad-limit",
        ["evaluate", "{good}", "--images", "{photos}", "--limit", "0"],
        "Invalid value for '--limit'",
    ),
    # export
    ("export/missing-model", ["export", "{tmp}/nope.keras", "{tmp}/serving/m"], "does not exist"),
    (
        "export/missing-preprocessing",
        ["export", "{good}", "{tmp}/serving/m", "--preprocessing", "{tmp}/p.npz"],
        "no such file",
    ),
    ("export/destination-is-a-file", ["export", "{good}", "{file}"], "is a file"),
    ("export/destination-through-a-file", ["export", "{good}", "{file}/m"], "is a file"),
    ("export/corrupt-model", ["export", "{corrupt}", "{tmp}/serving/m"], "could not load"),
    (
        "export/version-not-a-savedmodel",
        ["export", "{good}", "{thesis_parent}", "--version", "1", "--overwrite"],
        "is not a SavedModel folder",
    ),
    (
        "finetune/missing-data-dir",
        ["finetune", "shipped", "--data", "cifar10", "--data-dir", "{tmp}/nope"],
        "does not exist",
    ),
    (
        "export/existing-version",
        ["export", "{good}", "{exported}", "--version", "1"],
        "already exists",
    ),
    (
        "export/bad-version",
        ["export", "{good}", "{tmp}/serving/m", "--version", "0"],
        "Invalid value for '--version'",
    ),
]


@pytest.mark.parametrize("argv, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing_behind(
    argv, message, files, tmp_path, monkeypatch, isolated_home
):
    monkeypatch.chdir(_thesis(tmp_path / "cwd"))  # "." is a folder holding the user's work
    thesis = _thesis(tmp_path / "thesis")
    versioned = tmp_path / "versions"
    _thesis(versioned / "1")  # a "version folder" that holds a thesis, not a SavedModel
    exported = tmp_path / "exported"
    shutil.copytree(files["no_variables"], exported / "1")
    places = {**files, "tmp": str(tmp_path), "thesis": str(thesis)}
    places |= {"thesis_parent": str(versioned), "exported": str(exported)}
    before = {p: _snapshot(p) for p in (thesis, tmp_path / "cwd", versioned, exported)}
    args = [a.format(**places) for a in argv]
    start = time.perf_counter()
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    elapsed = time.perf_counter() - start
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.stdout)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert elapsed < FAST, f"refused only after {elapsed:.1f} s"
    assert not (tmp_path / "out").exists() and not (tmp_path / "serving").exists()
    assert not (tmp_path / "cwd" / "runs").exists()
    for folder, snapshot in before.items():
        assert _snapshot(folder) == snapshot, f"{folder} changed"
    assert open(files["file"]).read() == "keep me"


#: a few cases again in a real process: nothing (TensorFlow's start-up log, say) may be printed
#: besides the one line, which the in-process runner above would not see
IN_A_REAL_PROCESS = [
    "recipe/output-holds-user-files",
    "evaluate/non-square-input",
    "export/existing-version",
]


@pytest.mark.parametrize("case", IN_A_REAL_PROCESS)
def test_in_a_real_process_the_error_is_the_only_line(case, files, tmp_path, monkeypatch):
    from tests.helpers import run_cli

    argv, message = next(c[1:] for c in CASES if c[0] == case)
    thesis = _thesis(tmp_path / "thesis")
    exported = tmp_path / "exported"
    shutil.copytree(files["no_variables"], exported / "1")
    places = {**files, "tmp": str(tmp_path), "thesis": str(thesis), "exported": str(exported)}
    result = run_cli(*[a.format(**places) for a in argv])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
