"""The recipe engine: load a declarative spec (TOML), run it, write records, tables and models.

Specs live in the repository's top-level ``recipes/`` folder and ship inside the wheel as
``kerasinv/recipes/specs/``. ``kerasinv recipe NAME`` finds a shipped spec by name; ``kerasinv recipe
path/to/spec.toml`` runs a user's own.
"""

from kerasinv.recipes.specs import find_spec, list_specs, load_spec

__all__ = ["find_spec", "list_specs", "load_spec", "preflight", "run_recipe"]


def run_recipe(spec: dict, **options):
    """Run ``spec`` with the runner it names (``runner = "..."``); returns the run's records."""
    from kerasinv.recipes import springenberg

    runners = {"springenberg": springenberg.run}
    runner = spec.get("runner")
    if runner not in runners:
        from kerasinv.errors import ConfigError

        raise ConfigError(
            f"recipe {spec.get('recipe', '?')!r} names runner {runner!r}; known runners: "
            f"{', '.join(runners)}"
        )
    return runners[runner](spec, **options)


def preflight(
    spec: dict, preset=None, models=None, dataset="cifar10", data_dir=None, download=False, **_
):
    """Check names and that the data can be found, without importing TensorFlow (fails in < 1 s)."""
    from kerasinv.data.cifar import locate_cifar
    from kerasinv.errors import UnknownNameError

    preset = preset or spec.get("default_preset")
    if preset not in spec["presets"]:
        raise UnknownNameError("preset", str(preset), spec["presets"])
    for name in models or []:
        if name not in spec["models"]:
            raise UnknownNameError("model", name, spec["models"])
    if spec["presets"][preset].get("data", "cifar") != "embedded":
        locate_cifar(dataset, data_dir, download)
