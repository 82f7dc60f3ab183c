"""Finding and reading recipe specs (TOML)."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from kerasinv.errors import ConfigError, UnknownNameError

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


#: Keys whose values must be numbers (or lists of numbers), wherever they appear in a spec's
#: ``[training]``, ``[evaluation]``, ``[deformation]`` and ``[presets.*]`` tables.
NUMBERS = {
    "learning_rate", "momentum", "weight_decay", "batch_size", "drop_factor", "max_shift",
    "width", "epochs", "train_subset", "test_subset", "trials", "probe_images", "cifar_images",
    "images", "schedule_epochs", "reference_strength", "pairs",
}  # fmt: skip
NUMBER_LISTS = {"drops", "strengths"}
_SECTIONS = ("training", "evaluation", "deformation")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_values(spec: dict, path) -> None:
    """Refuse a spec whose numeric settings are not numbers, naming the table and the key.

    Raises:
        ConfigError: e.g. ``my.toml: [training] learning_rate must be a number, got 'fast'``.
    """
    tables = [(f"[{name}]", spec.get(name)) for name in _SECTIONS]
    presets = spec.get("presets")
    if not isinstance(presets, dict) or not presets:
        raise ConfigError(f"recipe spec {path}: [presets] must hold at least one preset table")
    tables += [(f"[presets.{name}]", table) for name, table in presets.items()]
    for where, table in tables:
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"recipe spec {path}: {where} must be a table")
        for key, value in table.items():
            if key in NUMBERS and not _is_number(value):
                raise ConfigError(
                    f"recipe spec {path}: {where} {key} must be a number, got {value!r}"
                )
            if key in NUMBER_LISTS and not (
                isinstance(value, list) and all(_is_number(v) for v in value)
            ):
                raise ConfigError(
                    f"recipe spec {path}: {where} {key} must be a list of numbers, got {value!r}"
                )
        if "tolerance" in table and not (
            _is_number(table["tolerance"]) or table["tolerance"] == "none"
        ):
            raise ConfigError(
                f'recipe spec {path}: {where} tolerance must be a number or "none", got '
                f"{table['tolerance']!r}"
            )


def load_spec(name_or_path: str) -> dict:
    """Read and minimally validate a spec; adds ``"_path"`` (where it was read from)."""
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
    check_values(spec, path)
    spec["_path"] = str(path)
    return spec
