"""shift-methods: every method trained the same way, measured under every kind of shift."""

import json

import numpy as np
import pytest

from kerasinv.errors import ConfigError, UnknownNameError
from kerasinv.recipes import load_spec, preflight, run_recipe
from kerasinv.recipes.methods import COLUMNS, render_table, sampling_error, summarise
from kerasinv.reporting.records import Records
from tests import golden
from tests.helpers import run_cli_here

METRICS = [metric for metric, _, _ in COLUMNS]


def _networks(results) -> dict:
    """``{(method, padding, training seed): {column: record}}``, in the order measured."""
    out = {}
    for r in results["records"]:
        key = (r["method"], r["padding"], r["training_seed"])
        out.setdefault(key, {})[r["column"]] = r
    return out


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("methods")
    proc = run_cli_here(
        "recipe", "shift-methods", "--preset", "smoke", "--methods", "lps",
        "--paddings", "circular", "--seeds", "0,1", "--quiet", "--output", str(out),
    )  # fmt: skip
    return out, proc


def test_smoke_trains_every_unit_and_measures_every_shift(smoke_run):
    out, proc = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    rows = _networks(results)
    assert list(rows) == [("lps", "circular", 0), ("lps", "circular", 1)]
    for (method, padding, seed), r in rows.items():
        assert list(r) == METRICS
        for record in r.values():
            assert 0 <= record["measured"] <= 1 and record["test_images"] == 100
            assert 0 <= record["standard_error"] <= 0.06
            assert record["seed"] == 0  # the shift draws: the same for every network
        assert r["accuracy"]["train_images"] == 500
        name = f"all-cnn-c-{method}-{padding}-seed{seed}.keras"
        assert (out / "models" / name).is_file()
    # the training seeds differ: the two LPS runs are different networks
    assert rows[("lps", "circular", 0)]["accuracy"]["final_train_loss"] != pytest.approx(
        rows[("lps", "circular", 1)]["accuracy"]["final_train_loss"], abs=1e-6
    )
    for seed in (0, 1):
        lps = rows[("lps", "circular", seed)]
        # LPS's defining guarantee: circular padding everywhere, every integer circular shift gives
        # the same class (trained or not), so no integer shift of the grid can cost an image
        assert lps["circular_consistency"]["measured"] == 1.0
        assert lps["circular_consistency"]["standard_error"] == 0.0
        assert lps["worst_shift_accuracy"]["measured"] == lps["accuracy"]["measured"]
        # the guarantee does not extend below a pixel: the worst half-pixel shift is no better
        assert lps["worst_half_pixel_accuracy"]["measured"] <= lps["accuracy"]["measured"]
    table = (out / "table.md").read_text()
    assert render_table(load_spec("shift-methods"), results) == table  # from the records alone
    assert "| all-cnn-c | lps | circular | 2 |" in table
    assert "Every seed" in table and "the guarantee holds" in table
    assert "Published numbers" in table and "| TIPS (Saha & Gokhale, WACV 2025) |" in table
    assert (out / "methods.png").stat().st_size > 10000
    assert not (out / "work").exists()


def test_rerun_skips_trained_networks(smoke_run):
    out, _ = smoke_run
    lines = []
    run_recipe(
        load_spec("shift-methods"), output=out, preset="smoke", methods=["lps"],
        paddings=["circular"], seeds=[0, 1], log=lines.append,
    )  # fmt: skip
    assert not any("training" in line for line in lines)
    assert sum("already measured" in line for line in lines) == 2


def test_smoke_records_equal_the_golden_records(smoke_run):
    out, proc = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    golden.pin("shift-methods", json.loads((out / "results.json").read_text())["records"], 0.1)


def test_the_table_gives_the_spread_across_seeds():
    def rec(seed, value, error):
        return {
            "recipe": "r", "table": "t", "row": "x", "column": "accuracy", "measured": value,
            "paper": None, "tolerance": None, "within_tolerance": None, "preset": "p",
            "dataset": "d", "model": "m", "seed": 0, "versions": {}, "wall_s": 1,
            "finished_at": "", "training_seed": seed, "standard_error": error,
        }  # fmt: skip

    two = Records([rec(0, 0.5, 0.01), rec(1, 0.7, 0.01)])
    mean, error, seeds = summarise(two, "accuracy")
    assert (mean, seeds) == (pytest.approx(0.6), 2)
    assert error == pytest.approx(np.std([0.5, 0.7], ddof=1) / np.sqrt(2))  # across seeds
    assert summarise(Records([rec(0, 0.5, 0.02)]), "accuracy") == (0.5, 0.02, 1)  # sampling
    assert sampling_error(np.array([1, 0, 1, 0])) == pytest.approx(np.std([1, 0, 1, 0], ddof=1) / 2)


def test_bad_settings_are_refused_before_anything_runs():
    spec = load_spec("shift-methods")
    with pytest.raises(UnknownNameError, match="method"):
        preflight(spec, preset="smoke", methods=["blur-9"])
    with pytest.raises(UnknownNameError, match="padding"):
        preflight(spec, preset="smoke", paddings=["reflect"])
    with pytest.raises(ConfigError, match="at least 0"):
        preflight(spec, preset="smoke", seeds=[-1])
    from kerasinv.recipes.engine import settings_of
    from kerasinv.recipes.methods import RUNNER

    with pytest.raises(ConfigError, match=r"seeds .* only once"):
        settings_of(RUNNER, spec, {"preset": "smoke", "seeds": [0, 0]})
    edited = {**spec, "methods": [*spec["methods"], "lps-9"]}
    with pytest.raises(ConfigError, match="method 'lps-9'"):
        settings_of(RUNNER, edited, {"preset": "smoke", "methods": ["lps-9"]})


def test_seeds_on_the_command_line_must_be_whole_numbers():
    proc = run_cli_here("recipe", "shift-methods", "--seeds", "0,one", "--output", "/nonexistent")
    assert proc.returncode == 2 and "comma-separated whole numbers" in proc.stderr


def test_a_later_run_adds_units_and_keeps_the_earlier_ones(smoke_run, tmp_path):
    """Seeds, methods, paddings and models only choose units: a run with others into the same
    folder measures just those, and the table then shows every unit; any other setting must be
    equal, as for every recipe."""
    import shutil

    from kerasinv.errors import OutputError

    out = tmp_path / "run"
    shutil.copytree(smoke_run[0], out)
    spec = load_spec("shift-methods")
    lines = []
    run_recipe(spec, output=out, preset="smoke", methods=["baseline"], paddings=["circular"],
               seeds=[0], log=lines.append)  # fmt: skip
    assert sum("training" in line for line in lines) == 1
    results = json.loads((out / "results.json").read_text())
    rows = _networks(results)
    assert list(rows)[-1] == ("baseline", "circular", 0) and len(rows) == 3
    assert results["settings"]["methods"] == ["lps", "baseline"]
    assert results["settings"]["seeds"] == [0, 1]
    assert "| all-cnn-c | baseline | circular | 1 |" in (out / "table.md").read_text()
    # LPS adds its scoring networks and nothing else
    lps, baseline = rows[("lps", "circular", 0)], rows[("baseline", "circular", 0)]
    assert lps["accuracy"]["params"] > baseline["accuracy"]["params"]
    with pytest.raises(OutputError, match=r"different settings \(epochs\)"):
        run_recipe(spec, output=out, preset="smoke", methods=["aps"], epochs=2)
    help_text = run_cli_here("recipe", "shift-methods", "--help").stdout
    assert "--seeds may differ" in " ".join(help_text.split())
