"""Finding and reading recipe specs (TOML)."""

from __future__ import annotations

import importlib
import sys
from importlib import resources
from pathlib import Path

from kerasinv.errors import ConfigError, UnknownNameError
from kerasinv.recipes.settings import check_spec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _spec_dirs() -> list[Path]:
    """Shipped specs (inside a built wheel), then the source checkout's ``recipes/`` folder."""
    dirs = [Path(str(resources.files("kerasinv.recipes") / "specs"))]
    dirs.append(Path(__file__).resolve().parents[2] / "recipes")
    return [d for d in dirs if d.is_dir()]


def list_specs() -> dict[str, Path]:
    """Every shipped spec by recipe name (file stem)."""
    found: dict[str, Path] = {}
    for d in _spec_dirs():
        for p in sorted(d.glob("*.toml")):
            found.setdefault(p.stem, p)
    return found


def find_spec(name_or_path: str) -> Path:
    """A spec path from a recipe name or a path to a ``.toml`` file."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise ConfigError(f"recipe spec {candidate} does not exist")
        return candidate
    specs = list_specs()
    if name_or_path not in specs:
        raise UnknownNameError("recipe", name_or_path, specs)
    return specs[name_or_path]


#: runner name -> its module. A runner module declares ``OPTIONS`` (its command-line options besides
#: :data:`kerasinv.recipes.options.COMMON`), may declare ``precheck(spec, preset, options)`` (its
#: checks before TensorFlow) and ``CIFAR = False`` (it finds its own data), and defines ``RUNNER``, the
#: :class:`~kerasinv.recipes.engine.Runner` that :func:`~kerasinv.recipes.engine.execute` drives
#: (its ``SETTINGS`` are what the spec must fit).
RUNNERS = {
    "springenberg": "kerasinv.recipes.springenberg",
    "curve": "kerasinv.recipes.curve",
    "azulay": "kerasinv.recipes.azulay",
    "zhang": "kerasinv.recipes.zhang",
    "ruderman": "kerasinv.recipes.ruderman",
    "methods": "kerasinv.recipes.methods",
}


def runner_module(spec: dict):
    """The module of the runner ``spec`` names (imported without TensorFlow)."""
    runner = spec.get("runner")
    if runner not in RUNNERS:
        raise ConfigError(
            f"recipe {spec.get('recipe', '?')!r} names runner {runner!r}; known runners: "
            f"{', '.join(RUNNERS)}"
        )
    return importlib.import_module(RUNNERS[runner])


def load_spec(name_or_path: str) -> dict:
    """Read a spec and check it against its runner's declared settings
    (:func:`kerasinv.recipes.settings.check_spec`); adds ``"_path"`` (where it was read from)."""
    path = find_spec(name_or_path)
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"recipe spec {path} is not valid TOML: {e}") from None
    for key in ("recipe", "runner", "presets", "models"):
        if key not in spec:
            raise ConfigError(f"recipe spec {path} lacks the required key {key!r}")
    if not isinstance(spec["models"], list):
        raise ConfigError(f"recipe spec {path}: models must be a list of names")
    spec["_path"] = str(path)
    check_spec(spec, runner_module(spec).RUNNER.SETTINGS)
    return spec
