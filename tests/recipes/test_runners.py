"""The recipe engine: every shipped spec names a runner whose options match its ``run`` signature."""

import importlib
import inspect

import pytest

from kerasinv.errors import ConfigError
from kerasinv.recipes import RUNNERS, check_options, list_specs, load_spec

ENGINE_ARGUMENTS = {"spec", "output", "verbose", "log"}


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_declared_options_are_the_runners_parameters(runner):
    from kerasinv.recipes.options import common

    module = importlib.import_module(RUNNERS[runner])
    declared = {o.name for o in (*common(), *module.OPTIONS)}
    assert set(inspect.signature(module.run).parameters) - ENGINE_ARGUMENTS == declared


def test_every_shipped_spec_has_its_presets():
    specs = list_specs()
    assert {
        "springenberg-allcnn",
        "azulay-onepixel",
        "zhang-blurpool",
        "ruderman-deformation",
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
