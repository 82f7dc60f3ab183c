"""Settings declared by the runners, resolved by one rule, checked by one validator (pure Python)."""

import copy

import pytest

from kerasinv.errors import ConfigError, UnknownNameError
from kerasinv.recipes import RUNNERS, list_specs, load_spec, recipe_options, runner_module
from kerasinv.recipes.settings import Setting, check_spec, resolve

SPEC = {
    "_path": "my.toml",
    "models": ["a", "b", "c"],
    "seed": 0,
    "training": {"learning_rate": 0.1, "epochs": 9},
    "presets": {
        "smoke": {"description": "tiny", "epochs": 1, "models": ["a"]},
        "paper": {"width": 1.0},
    },
}
DECLARED = (
    Setting("seed", "int", home="", minimum=0),
    Setting("models", "strs", home="", known="models", noun="model"),
    Setting("learning_rate", "float", positive=True),
    Setting("epochs", "int", positive=True),
    Setting("width", "float", optional=True, positive=True),
    Setting("images", "str", home=None),
)


def test_command_line_then_preset_then_the_specs_table():
    smoke = resolve(DECLARED, SPEC, {"preset": "smoke"})
    assert smoke == {
        "preset": "smoke", "seed": 0, "models": ["a"], "learning_rate": 0.1, "epochs": 1,
        "width": None, "images": None,
    }  # fmt: skip
    paper = resolve(DECLARED, SPEC, {"preset": "paper"})
    assert paper["epochs"] == 9 and paper["width"] == 1.0 and paper["models"] == ["a", "b", "c"]
    given = resolve(DECLARED, SPEC, {"preset": "smoke", "epochs": 3, "images": "/photos"})
    assert given["epochs"] == 3 and given["images"] == "/photos"


def test_values_are_typed_and_checked_where_they_come_from():
    with pytest.raises(ConfigError, match=r"--epochs must be positive, got 0"):
        resolve(DECLARED, SPEC, {"preset": "smoke", "epochs": 0})
    bad = copy.deepcopy(SPEC)
    bad["training"]["learning_rate"] = "fast"
    with pytest.raises(ConfigError, match=r"my.toml: \[training\] learning_rate must be a number"):
        resolve(DECLARED, bad, {"preset": "paper"})
    bad = copy.deepcopy(SPEC)
    bad["presets"]["smoke"]["epochs"] = 1.5
    with pytest.raises(ConfigError, match=r"\[presets.smoke\] epochs must be a whole number"):
        resolve(DECLARED, bad, {"preset": "smoke"})
    with pytest.raises(UnknownNameError, match="unknown model 'd'"):
        resolve(DECLARED, SPEC, {"preset": "smoke", "models": ["d"]})
    with pytest.raises(ConfigError, match="name at least one model"):
        resolve(DECLARED, SPEC, {"preset": "smoke", "models": []})


def test_no_value_anywhere_says_where_to_add_one():
    spec = copy.deepcopy(SPEC)
    del spec["training"]["epochs"]
    with pytest.raises(
        ConfigError, match=r"add epochs = \.\.\. to \[presets.paper\] or .*\[training\]"
    ):
        resolve(DECLARED, spec, {"preset": "paper"})


def test_the_validator_refuses_typos_and_names_the_closest_setting():
    spec = copy.deepcopy(SPEC)
    spec["training"]["learning_rte"] = 0.1
    with pytest.raises(ConfigError, match=r"\[training\] learning_rte.*did you mean learning_rate"):
        check_spec(spec, DECLARED)
    spec = copy.deepcopy(SPEC)
    spec["presets"]["smoke"]["epoch"] = 2
    with pytest.raises(ConfigError, match=r"\[presets.smoke\] epoch.*did you mean epochs"):
        check_spec(spec, DECLARED)
    spec = copy.deepcopy(SPEC)
    spec["presets"]["smoke"]["images"] = "/photos"  # only the command line sets it
    with pytest.raises(ConfigError, match="images: not a setting"):
        check_spec(spec, DECLARED)
    check_spec(SPEC, DECLARED)


def test_every_shipped_spec_fits_its_runner_and_every_override_is_an_option():
    """load_spec validates each shipped spec; a setting that names an option (other than its own
    name) must name one the runner declares, or --help would not offer it."""
    assert set(list_specs()) >= {"springenberg-allcnn", "springenberg-curve", "azulay-onepixel"}
    for name in list_specs():
        spec = load_spec(name)
        for preset in spec["presets"]:
            resolve(runner_module(spec).RUNNER.SETTINGS, spec, {"preset": preset})
        options = {o.name for o in recipe_options(spec)}
        for s in runner_module(spec).RUNNER.SETTINGS:
            if s.option is not None:
                assert s.option in options, (name, s.name)
    assert set(RUNNERS) == {"springenberg", "curve", "azulay", "zhang", "ruderman", "methods"}


def test_ruderman_borders_are_the_samplers():
    from kerasinv.perturb import BORDERS
    from kerasinv.recipes.ruderman import BORDERS as DECLARED_BORDERS

    assert DECLARED_BORDERS == BORDERS
