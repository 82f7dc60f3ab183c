"""The recipe engine: every shipped spec names a runner the engine drives."""

import importlib
from pathlib import Path

import pytest

from kerasinv.errors import ConfigError
from kerasinv.recipes import RUNNERS, check_options, list_specs, load_spec
from kerasinv.recipes.engine import Runner


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_every_runner_is_a_runner_the_engine_drives(runner):
    module = importlib.import_module(RUNNERS[runner])
    assert isinstance(module.RUNNER, Runner) and not hasattr(module, "run")
    for method in ("units", "unit_key", "render"):  # what a runner must declare
        assert getattr(type(module.RUNNER), method) is not getattr(Runner, method), method
    assert module.RUNNER.SETTINGS and all(s.name != "preset" for s in module.RUNNER.SETTINGS)


def test_every_shipped_spec_has_its_presets():
    specs = list_specs()
    assert {
        "springenberg-allcnn",
        "azulay-onepixel",
        "zhang-blurpool",
        "ruderman-deformation",
        "shift-methods",
    } <= set(specs)
    for name in specs:
        spec = load_spec(name)
        assert spec["runner"] in RUNNERS
        assert {"smoke", "paper"} <= set(spec["presets"]), name
        if spec["runner"] != "curve":  # a curve's short form is the paper curve with fewer epochs
            assert "quick" in spec["presets"], name
        for preset in spec["presets"].values():
            assert preset.get("description"), name


def test_options_of_another_runner_are_refused():
    spec = load_spec("ruderman-deformation")
    check_options(spec, {"strengths": [1.0], "preset": "smoke"})
    with pytest.raises(
        ConfigError, match="--images: not an option of recipe 'ruderman-deformation'"
    ):
        check_options(spec, {"images": "x"})


def test_an_edited_copy_of_a_spec_writes_to_a_folder_named_after_its_file(tmp_path, monkeypatch):
    """``--print-spec > my-copy.toml``, edit, run: the copy keeps ``recipe =``, but its default
    output folder is its own, never the shipped recipe's."""
    from kerasinv.recipes import check_request, find_spec

    monkeypatch.chdir(tmp_path)
    copy = tmp_path / "my-copy.toml"
    copy.write_text(
        find_spec("springenberg-allcnn").read_text().replace("epochs = 1", "epochs = 2")
    )
    output, _ = check_request(load_spec(str(copy)), None, {"preset": "smoke"})
    assert output == str(Path("runs") / "my-copy-smoke")
    output, _ = check_request(load_spec("springenberg-allcnn"), None, {"preset": "smoke"})
    assert output == str(Path("runs") / "springenberg-allcnn-smoke")
