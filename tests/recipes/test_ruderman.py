"""ruderman-deformation: layerwise sensitivity at init, after training and on random labels."""

import json

import pytest

from tests.conftest import run_cli_here

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


def test_smoke_measures_every_network_state_strength_and_layer(smoke_run):
    out, proc = smoke_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    runs = results["runs"]
    assert [(r["model"], r["state"]) for r in runs] == [
        (m, s) for m in ("downsampling-blur", "downsampling-subsample") for s in STATES
    ]
    for r in runs:
        assert set(r["sensitivity"]) == {"1.0", "2.0"}
        for c in ("1.0", "2.0"):
            assert list(r["sensitivity"][c]) == LAYERS
            assert all(0 <= v < 2 for v in r["sensitivity"][c].values())
        assert set(r["smoothness"]) == {"conv1", "conv2", "conv3", "stage4"}
    # per network: 2 strengths x 5 layers of sensitivity, the accuracy, 4 convs' smoothness
    assert len(results["records"]) == 2 * 3 * (2 * 5 + 1 + 4)
    for figure in ("sensitivity_by_layer.png", "sensitivity_by_strength.png",
                   "smoothness_vs_sensitivity.png"):  # fmt: skip
        assert (out / figure).stat().st_size > 5000
    table = (out / "table.md").read_text()
    assert "| blur | random-labels |" in table
    # the table is rendered from the records alone: the same text without the per-unit rows
    from kerasinv.recipes.ruderman import render_table
    from kerasinv.recipes.specs import load_spec

    no_runs = {k: v for k, v in results.items() if k != "runs"}
    assert render_table(load_spec("ruderman-deformation"), results["settings"], no_runs) == table


def test_sensitivity_behaves_as_expected_at_initialisation(smoke_run):
    """Stronger deformations move every layer more; a blur before subsampling makes the deep
    stages far less sensitive than plain subsampling (the same untrained filters otherwise)."""
    out, _ = smoke_run
    runs = {
        (r["model"], r["state"]): r for r in json.loads((out / "results.json").read_text())["runs"]
    }
    for r in runs.values():
        if r["state"] == "init":
            for layer in LAYERS:
                assert r["sensitivity"]["1.0"][layer] < r["sensitivity"]["2.0"][layer]
    blur = runs[("downsampling-blur", "init")]["sensitivity"]["2.0"]
    plain = runs[("downsampling-subsample", "init")]["sensitivity"]["2.0"]
    assert blur["stage4"] < 0.5 * plain["stage4"]
