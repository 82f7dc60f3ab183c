"""ruderman-deformation: layerwise sensitivity at init, after training and on random labels."""

import json

import pytest

from tests import golden
from tests.helpers import run_cli_here

STATES = ["init", "trained", "random-labels"]
LAYERS = ["stage1", "stage2", "stage3", "stage4", "logits"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ruderman")
    proc = run_cli_here(
        "recipe", "ruderman-deformation", "--preset", "smoke", "--quiet", "--models",
        "downsampling-blur,downsampling-subsample", "--output", str(out),
    )  # fmt: skip
    return out, proc


def _units(results):
    """``{(model, state): {column: measured}}`` from the records."""
    units = {}
    for r in results["records"]:
        units.setdefault((r["model"], r["state"]), {})[r["column"]] = r["measured"]
    return units


def test_smoke_measures_every_network_state_strength_and_layer(smoke_run):
    out, proc = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    units = _units(results)
    assert list(units) == [
        (m, s) for m in ("downsampling-blur", "downsampling-subsample") for s in STATES
    ]
    for columns in units.values():
        for c in ("1.0", "2.0"):
            values = [columns[f"sensitivity {layer} C={c}"] for layer in LAYERS]
            assert all(0 <= v < 2 for v in values)
        smooth = {k.removeprefix("smoothness ") for k in columns if k.startswith("smoothness")}
        assert smooth == {"conv1", "conv2", "conv3", "stage4"}
    # per network: 2 strengths x 5 layers of sensitivity, the accuracy, 4 convs' smoothness
    assert len(results["records"]) == 2 * 3 * (2 * 5 + 1 + 4)
    assert set(results) >= {"recipe", "settings", "versions", "records", "data_source"}
    for figure in ("sensitivity_by_layer.png", "sensitivity_by_strength.png",
                   "smoothness_vs_sensitivity.png"):  # fmt: skip
        assert (out / figure).stat().st_size > 5000
    table = (out / "table.md").read_text()
    assert "| blur | random-labels |" in table
    # the table is rendered from the records alone
    from kerasinv.recipes.ruderman import render_table
    from kerasinv.recipes.specs import load_spec

    assert render_table(load_spec("ruderman-deformation"), results["settings"], results) == table


def test_sensitivity_behaves_as_expected_at_initialisation(smoke_run):
    """Stronger deformations move every layer more; a blur before subsampling makes the deep
    stages far less sensitive than plain subsampling (the same untrained filters otherwise)."""
    out, _ = smoke_run
    units = _units(json.loads((out / "results.json").read_text()))
    for (_, state), columns in units.items():
        if state == "init":
            for layer in LAYERS:
                assert columns[f"sensitivity {layer} C=1.0"] < columns[f"sensitivity {layer} C=2.0"]
    blur = units[("downsampling-blur", "init")]["sensitivity stage4 C=2.0"]
    plain = units[("downsampling-subsample", "init")]["sensitivity stage4 C=2.0"]
    assert blur < 0.5 * plain


def test_smoke_records_equal_the_golden_records(smoke_run):
    """The pinned smoke numbers (tests/golden.py: equal on the machine that wrote them)."""
    out, proc = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    golden.pin(
        "ruderman-deformation", json.loads((out / "results.json").read_text())["records"], 0.1
    )
