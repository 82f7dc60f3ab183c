"""The recipe engine: load a declarative spec (TOML), run it, write records, tables and models.

Specs live in the repository's top-level ``recipes/`` folder and ship inside the wheel as
``kerasinv/recipes/specs/``. ``kerasinv recipe NAME`` finds a shipped spec by name; ``kerasinv recipe
path/to/spec.toml`` runs a user's own.
"""

from kerasinv.recipes.specs import find_spec, list_specs, load_spec

__all__ = ["find_spec", "list_specs", "load_spec", "run_recipe"]


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
