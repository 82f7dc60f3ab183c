import re
import time
from pathlib import Path

import numpy as np

from tests.helpers import run_cli, run_cli_here


def test_help_and_list():
    out = run_cli("--help")
    assert out.returncode == 0 and "recipe" in out.stdout and "export" in out.stdout
    out = run_cli("recipe", "--list")
    assert out.returncode == 0
    assert "springenberg-allcnn" in out.stdout and "--preset smoke" in out.stdout


def test_user_errors_are_one_line_without_traceback(tmp_path):
    cases = [
        (["recipe", "springenberg-allcnn", "--preset", "huge"], "unknown preset 'huge'"),
        (["recipe", "springenberg-allcnn", "--models", "all-cnn-x"], "Did you mean"),
        (["recipe", "no-such-recipe"], "unknown recipe"),
        (["recipe", str(tmp_path / "missing.toml")], "does not exist"),
        (
            ["recipe", "springenberg-allcnn", "--preset", "smoke", "--dataset", "cifar100"],
            "embedded",
        ),
        (["export", str(tmp_path / "nope.keras"), str(tmp_path / "out")], "does not exist"),
    ]
    for args, message in cases:
        out = run_cli_here(*args)
        assert out.returncode == 2, (args, out.stderr)
        assert message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr


def test_missing_data_fails_fast(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {
        "HOME": str(tmp_path),
        "KERAS_HOME": str(tmp_path / ".keras"),
        "TFDS_DATA_DIR": str(empty),
    }
    start = time.perf_counter()
    out = run_cli(
        "recipe", "springenberg-allcnn", "--preset", "quick", "--data-dir", str(empty), env=env
    )
    elapsed = time.perf_counter() - start
    assert (
        out.returncode == 2 and "holds no cifar10" in out.stderr and "Traceback" not in out.stderr
    )
    assert elapsed < 5, elapsed
    debug = run_cli(
        "--debug",
        "recipe",
        "springenberg-allcnn",
        "--preset",
        "quick",
        "--data-dir",
        str(empty),
        env=env,
    )
    assert "Traceback" in debug.stderr


def test_export_command(tmp_path):
    from kerasinv import models

    model = models.get("model-a", width=0.0625)
    model.save(tmp_path / "m.keras")
    out = run_cli_here("export", str(tmp_path / "m.keras"), str(tmp_path / "serving" / "modela"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "serving" / "modela" / "1" / "saved_model.pb").is_file()
    import tensorflow as tf

    serve = tf.saved_model.load(str(tmp_path / "serving" / "modela" / "1")).signatures[
        "serving_default"
    ]
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        serve(images=x)["probabilities"].numpy(), model.predict(x, verbose=0), atol=1e-5
    )


def test_each_recipe_help_lists_only_its_own_options_and_its_presets_with_costs(tmp_path):
    from kerasinv.recipes import list_specs, load_spec, recipe_options

    for name in list_specs():
        spec = load_spec(name)
        result = run_cli_here("recipe", name, "--help")
        assert result.returncode == 0
        declared = {o.cli_flag for o in recipe_options(spec)}
        shown = set(re.findall(r"^  (?:-h, )?(--[a-z-]+)", result.stdout, re.M))
        assert shown == declared | {"--output", "--print-spec", "--quiet", "--help"}, name
        assert "azulay:" not in result.stdout and "zhang:" not in result.stdout
        for preset, p in spec["presets"].items():
            assert f"  {preset}" in result.stdout and p["cost"].split()[0] in result.stdout
    # a user's copy of a spec (printed by --print-spec) gets the same command
    mine = tmp_path / "mine.toml"
    printed = run_cli_here("recipe", "zhang-blurpool", "--print-spec").stdout
    assert printed == Path(load_spec("zhang-blurpool")["_path"]).read_text()
    mine.write_text(printed)
    result = run_cli_here("recipe", str(mine), "--help")
    assert (
        result.returncode == 0
        and "--variants" in result.stdout
        and "--strengths" not in result.stdout
    )


def test_models_none_means_none_in_every_recipe(tmp_path):
    for name in ("springenberg-allcnn", "ruderman-deformation", "springenberg-curve"):
        result = run_cli_here("recipe", name, "--models", "none", "--output", str(tmp_path / name))
        assert result.returncode == 2 and "--models none leaves" in result.stderr, result.stderr


def test_a_full_disk_is_one_line_that_says_the_results_are_intact(monkeypatch):
    import errno

    import kerasinv.recipes

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "runs/x/results.json")

    monkeypatch.setattr(kerasinv.recipes, "list_specs", full)
    result = run_cli_here("recipe", "--list")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "the disk is full writing runs/x/results.json" in lines[0] and "intact" in lines[0]
