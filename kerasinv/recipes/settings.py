"""A recipe's settings, declared once by its runner, typed, and resolved by one rule.

A runner lists its :class:`Setting` s (``Runner.SETTINGS``). Each setting's value is, in order:

1. the command line's value of its option (``option``, by default the setting's own name), if
   given;
2. the chosen preset's ``name``;
3. the spec's value in the setting's home table (``[training]``, ``[evaluation]``,
   ``[deformation]``, or the top level) under ``key`` (by default the name);
4. ``None`` for an ``optional`` setting; anything else is an error naming where to add it.

No value lives in Python: the spec file is the single source. The one validator,
:func:`check_spec`, is derived from the same declarations: it refuses a spec whose tables hold a
key no setting reads (a typo), a value of the wrong type or range, or a preset that leaves a
setting without a value, before anything runs. Plain Python, no TensorFlow.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kerasinv.errors import ConfigError, UnknownNameError
from kerasinv.precision import PRECISIONS

#: Value kinds: scalars and lists of them.
KINDS = ("int", "float", "bool", "str", "ints", "floats", "strs")
#: The spec tables a setting can live in ("" is the spec's top level).
HOMES = ("training", "evaluation", "deformation", "")
#: Keys of a preset table that describe it rather than set anything.
PRESET_NOTES = ("description", "cost")

_SCALAR = {"ints": "int", "floats": "float", "strs": "str"}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Setting:
    """One setting of a recipe.

    Attributes:
        name: its key in the run's settings (``results.json``) and in a preset table.
        kind: one of :data:`KINDS`.
        home: the spec table holding its value (:data:`HOMES`), or ``None``: only the command line
            sets it (a path such as ``--images``).
        key: its key in the home table (default: ``name``).
        option: the command-line option that overrides it (default: ``name``; only options the
            runner declares can be given).
        optional: it may have no value at all (``None``: "no training subset").
        positive: numbers (each one, for a list) must be > 0.
        minimum: numbers must be >= this.
        maximum: numbers must be <= this (a batch of 10^10 would hang, not fail).
        choices: the allowed strings.
        known: a top-level spec key listing the allowed names (``models``).
        empty: a list may be empty (``--models none``).
        none: a spec word that stands for ``None`` (``tolerance = "none"``).
        noun: what one value is, for messages (``model``, ``initialiser``).
        selects: a list that only chooses which units to measure (``seeds``): a run into a
            folder may choose others, keeping the earlier run's records (the rest of the settings
            must be equal).
    """

    name: str
    kind: str
    home: str | None = "training"
    key: str | None = None
    option: str | None = None
    optional: bool = False
    positive: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    known: str | None = None
    empty: bool = False
    none: str | None = None
    noun: str | None = None
    selects: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"setting {self.name}: unknown kind {self.kind!r}")
        if self.home is not None and self.home not in HOMES:
            raise ValueError(f"setting {self.name}: unknown home {self.home!r}")

    @property
    def spec_key(self) -> str:
        return self.key or self.name

    @property
    def option_name(self) -> str:
        return self.option or self.name

    def where(self, path: str) -> str:
        """Where the spec holds its value, for messages (``my.toml: [training] epochs``)."""
        table = f"[{self.home}] " if self.home else ""
        return f"{path}: {table}{self.spec_key}"

    def convert(self, value, source: str, spec: dict | None = None):
        """``value`` checked and read as this setting's kind; ``source`` names it in errors."""
        if self.none is not None and value == self.none:
            return None
        if self.kind in _SCALAR:
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise ConfigError(f"{source} must be a list, got {value!r}")
            numbers = self.kind != "strs"
            if numbers and not all(_is_number(v) for v in value):
                raise ConfigError(f"{source} must be a list of numbers, got {value!r}")
            items = [self._scalar(_SCALAR[self.kind], v, source, spec) for v in value]
            if not items and not self.empty:
                raise self.nothing(source)
            return items
        return self._scalar(self.kind, value, source, spec)

    def nothing(self, source: str) -> ConfigError:
        """The error for an empty choice where the recipe needs at least one value."""
        what = f"{source} none" if source.startswith("--") else f"{source} = []"
        return ConfigError(
            f"{what} leaves this recipe nothing to run; name at least one {self.noun or 'value'}"
        )

    def _scalar(self, kind: str, value, source: str, spec: dict | None):
        if kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{source} must be true or false, got {value!r}")
            return value
        if kind == "str":
            if not isinstance(value, str):
                raise ConfigError(f"{source} must be a string, got {value!r}")
            allowed = self.choices or (
                tuple((spec or {}).get(self.known, ())) if self.known else ()
            )
            if allowed and value not in allowed:
                raise UnknownNameError(self.noun or f"value of {source}", value, allowed)
            return value
        if not _is_number(value):
            raise ConfigError(f"{source} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{source} must be a finite number, got {value!r}")
        if kind == "int":
            if value != int(value):
                raise ConfigError(f"{source} must be a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if self.positive and not value > 0:
            raise ConfigError(f"{source} must be positive, got {value!r}")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{source} must be at least {self.minimum:g}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"{source} must be at most {self.maximum:g}, got {value!r}")
        return value


def preset_table(spec: dict, preset: str | None) -> tuple[str, dict]:
    """``(name, table)`` of the chosen preset (default: the spec's ``default_preset``, else smoke).

    Raises:
        UnknownNameError: a preset the spec does not have.
    """
    name = preset or spec.get("default_preset", "smoke")
    if name not in spec["presets"]:
        raise UnknownNameError("preset", name, spec["presets"])
    return name, spec["presets"][name]


def _flag(option: str) -> str:
    from kerasinv.recipes.options import flag_of

    return flag_of(option)


def value_of(setting: Setting, spec: dict, preset: str, table: dict, options: Mapping):
    """One setting's value by the module's rule (command line, preset, home table)."""
    path = spec.get("_path", "the spec")
    given = options.get(setting.option_name)
    if given is not None:
        if setting.kind == "str" and isinstance(given, (list, tuple)):
            if not given:
                raise setting.nothing(_flag(setting.option_name))
            if len(given) != 1:  # a list option (--models) naming this recipe's one value
                raise ConfigError(
                    f"{_flag(setting.option_name)}: this recipe takes one {setting.name}, got "
                    f"{', '.join(map(str, given)) or 'none'}"
                )
            given = given[0]
        return setting.convert(given, _flag(setting.option_name), spec)
    if setting.home is not None and setting.name in table:
        return setting.convert(
            table[setting.name], f"{path}: [presets.{preset}] {setting.name}", spec
        )
    home = spec.get(setting.home, {}) if setting.home else spec
    if setting.home is not None and setting.spec_key in home:
        return setting.convert(home[setting.spec_key], setting.where(path), spec)
    if setting.optional or setting.home is None:
        return None
    raise ConfigError(
        f"{path}: no value for the setting {setting.name!r} in preset {preset!r}: add "
        f"{setting.name} = ... to [presets.{preset}]"
        + (
            f" or {setting.spec_key} = ... to [{setting.home}]"
            if setting.home
            else f" or {setting.spec_key} = ... to the spec's top level"
        )
    )


def resolve(declared: Sequence[Setting], spec: dict, options: Mapping) -> dict:
    """The run's settings: ``{"preset": name, <each declared setting>: value}``.

    Raises:
        ConfigError, UnknownNameError: a value of the wrong kind or range, an unknown name, a
            setting with no value.
    """
    preset, table = preset_table(spec, options.get("preset"))
    settings = {"preset": preset}
    for setting in declared:
        settings[setting.name] = value_of(setting, spec, preset, table, options)
    return settings


def _refuse_unknown(keys, allowed: set, where: str) -> None:
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(
                f"{where} {key}: not a setting of this recipe{hint}; it reads "
                f"{', '.join(sorted(allowed))}"
            )


def check_spec(spec: dict, declared: Sequence[Setting]) -> None:
    """Refuse a spec that does not fit ``declared`` (see the module docstring), before any run.

    Raises:
        ConfigError: e.g. ``my.toml: [training] learning_rate must be a number, got 'fast'``.
    """
    path = spec.get("_path", "the spec")
    presets = spec.get("presets")
    if not isinstance(presets, dict) or not presets:
        raise ConfigError(f"recipe spec {path}: [presets] must hold at least one preset table")
    for home in HOMES[:-1]:
        table = spec.get(home)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"recipe spec {path}: [{home}] must be a table")
        _refuse_unknown(
            table, {s.spec_key for s in declared if s.home == home}, f"{path}: [{home}]"
        )
    in_presets = {s.name for s in declared if s.home is not None} | set(PRESET_NOTES)
    for name, table in presets.items():
        if not isinstance(table, dict):
            raise ConfigError(f"recipe spec {path}: [presets.{name}] must be a table")
        _refuse_unknown(table, in_presets, f"{path}: [presets.{name}]")
        resolve(declared, spec, {"preset": name})  # every value checked, none missing


#: Settings several runners share (each runner lists the ones it reads).
SEED = Setting("seed", "int", home="", minimum=0)
DATA = Setting("data", "str", home="", choices=("cifar", "embedded"))
WIDTH = Setting("width", "float", positive=True, maximum=16)
EPOCHS = Setting("epochs", "int", positive=True)
TRAIN_SUBSET = Setting("train_subset", "int", optional=True, positive=True)
TEST_SUBSET = Setting("test_subset", "int", optional=True, positive=True)
LEARNING_RATE = Setting("learning_rate", "float", positive=True)
MOMENTUM = Setting("momentum", "float", minimum=0)
WEIGHT_DECAY = Setting("weight_decay", "float", minimum=0)
BATCH_SIZE = Setting("batch_size", "int", positive=True, maximum=65536)
DROPS = Setting("drops", "ints", minimum=0, empty=True)
DROP_FACTOR = Setting("drop_factor", "float", positive=True)
STRATEGY = Setting("strategy", "str", choices=("default", "mirrored", "multi-worker"))
PRECISION = Setting("precision", "str", choices=PRECISIONS, noun="precision")
#: what a CIFAR training recipe reads of its data and networks
CIFAR_RUN = (DATA, WIDTH, EPOCHS, TRAIN_SUBSET, TEST_SUBSET)
#: the APS authors' CIFAR training protocol as zhang-blurpool and shift-methods read it: SGD with
#: drops given for a ``schedule_epochs``-epoch run (:func:`kerasinv.recipes.cifar_runs.protocol`
#: scales them), optional flips and shifts of up to ``max_shift`` (``augment_shift``)
CIFAR_PROTOCOL = (
    Setting("augment", "bool"),
    LEARNING_RATE,
    MOMENTUM,
    WEIGHT_DECAY,
    BATCH_SIZE,
    DROPS,
    PRECISION,
    Setting("schedule_epochs", "int", positive=True),
    DROP_FACTOR,
    Setting("augment_shift", "int", key="max_shift", minimum=0),
)
#: Zhang's shift pairs on CIFAR: the test image padded by ``max_shift`` px (``padding``), two
#: random crops, ``trials`` passes
SHIFT_PAIRS = (
    Setting("max_shift", "int", home="evaluation", positive=True),
    Setting("padding", "str", home="evaluation", choices=("reflect", "zero"), noun="padding"),
    Setting("trials", "int", home="evaluation", positive=True),
)


__all__ = [
    "CIFAR_PROTOCOL",
    "CIFAR_RUN",
    "HOMES",
    "KINDS",
    "PRECISION",
    "PRESET_NOTES",
    "SEED",
    "SHIFT_PAIRS",
    "Setting",
    "check_spec",
    "preset_table",
    "resolve",
]
