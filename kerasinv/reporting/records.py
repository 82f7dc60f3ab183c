"""Results as records: one JSON record per measured number, the paper's value beside it.

Record fields: ``recipe, table, row, column, measured, metric, unit, protocol, paper, tolerance,
within_tolerance, preset, dataset, model, seed, versions, wall_s, finished_at`` plus recipe-specific extras (``params``,
``epochs``, ``layer`` ...). In ``results.json`` a record is a flat JSON object; in Python it is a
:class:`Record`, and :class:`Records` selects among them. Tables and figures are rendered from
records only, never recomputed.
"""

from __future__ import annotations

import dataclasses
import platform
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone


def versions() -> dict[str, str]:
    """Versions of the software that produced a number (read from the installed distributions:
    nothing is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    import kerasinv

    return {
        "kerasinv": kerasinv.__version__,
        "tensorflow": installed("tensorflow") or installed("tensorflow-cpu"),
        "keras": installed("keras"),
        "numpy": installed("numpy"),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


#: how a record's ``measured`` reads: a fraction (0.93), a percentage (93.0), a dimensionless
#: ratio of two norms (sensitivity, smoothness), or a count
UNITS = ("fraction", "percent", "ratio", "count")


def within(measured: float, paper: float | None, tolerance: float | None) -> bool | None:
    """Whether ``measured`` is within ``tolerance`` of ``paper`` (None when not applicable)."""
    if paper is None or tolerance is None:
        return None
    return abs(measured - paper) <= tolerance


def record(
    results: dict,
    *,
    table,
    row: str,
    column: str,
    measured,
    dataset,
    model: str,
    wall_s,
    metric: str,
    unit: str,
    protocol: str | None = None,
    paper=None,
    tolerance=None,
    **extra,
) -> dict:
    """One record with the fields every recipe writes; ``recipe``, ``preset``, ``seed`` and
    ``versions`` come from the run's ``results`` (``results["settings"]``), ``extra`` is appended.

    ``metric`` names what was measured (``test_error``, ``p_top1_change`` ...) apart from where it
    sits in a table (``row``, ``column``), ``protocol`` the perturbation it was measured under
    (``crop``, ``shift`` ...; ``None``: the test images as they are), and ``unit`` says how
    ``measured`` and ``paper`` read: one of :data:`UNITS`.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    settings = results["settings"]
    return {
        "recipe": results["recipe"],
        "table": table,
        "row": row,
        "column": column,
        "measured": measured,
        "metric": metric,
        "unit": unit,
        "protocol": protocol,
        "paper": paper,
        "tolerance": tolerance,
        "within_tolerance": within(measured, paper, tolerance),
        "preset": settings["preset"],
        "dataset": dataset,
        "model": model,
        "seed": settings["seed"],
        "versions": results["versions"],
        "wall_s": wall_s,
        "finished_at": now(),
        **extra,
    }


def measurement(
    *, metric: str, unit: str, measured, model: str, dataset, protocol: str | None, **extra
) -> dict:
    """One record of a command that measures models outside a recipe (``evaluate``,
    ``finetune``): the fields a recipe's record has for what was measured (``metric``, ``unit``,
    ``protocol``, ``model``, ``dataset``, ``measured``, ``finished_at``), then ``extra``."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    return {
        "metric": metric,
        "unit": unit,
        "protocol": protocol,
        "model": model,
        "dataset": dataset,
        "measured": measured,
        "finished_at": now(),
        **extra,
    }


@dataclasses.dataclass(frozen=True)
class Record:
    """One measured number (the fields of :func:`record`; ``extra`` holds the recipe's own)."""

    recipe: str
    table: str | None
    row: str
    column: str
    measured: object
    paper: object
    tolerance: float | None
    within_tolerance: bool | None
    preset: str
    dataset: object
    model: str | None
    seed: int
    versions: Mapping
    wall_s: float | None
    finished_at: str
    extra: Mapping = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping) -> Record:
        """Read a ``results.json`` record.

        Raises:
            ValueError: a record without one of the common fields.
        """
        names = [f.name for f in dataclasses.fields(cls) if f.name != "extra"]
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"a record without {', '.join(missing)}: {dict(data)!r:.200}")
        extra = {k: v for k, v in data.items() if k not in names}
        return cls(**{n: data[n] for n in names}, extra=extra)

    def to_dict(self) -> dict:
        return {
            **{
                f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"
            },
            **self.extra,
        }

    def get(self, key: str, default=None):
        """A common field or an extra by name."""
        if key != "extra" and key in self.__dataclass_fields__:
            return getattr(self, key)
        return self.extra.get(key, default)


class Records(Sequence):
    """An ordered selection of :class:`Record` s (from ``results["records"]``)."""

    def __init__(self, records: Iterable):
        self._items = [r if isinstance(r, Record) else Record.from_dict(r) for r in records]

    def __getitem__(self, index):
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def where(self, **fields) -> Records:
        """The records whose fields (common or extra) equal ``fields``."""
        return Records(r for r in self._items if all(r.get(k) == v for k, v in fields.items()))

    def value(self, default=None, **fields):
        """The ``measured`` value of the one record matching ``fields`` (``default`` if none)."""
        found = self.where(**fields)
        if len(found) > 1:
            raise ValueError(f"{len(found)} records match {fields}")
        return found[0].measured if found else default

    def distinct(self, key: str) -> list:
        """The values of ``key`` in record order, each once."""
        seen: list = []
        for r in self._items:
            value = r.get(key)
            if value not in seen:
                seen.append(value)
        return seen


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(headers: list[str], rows: list[list], digits: int = 2) -> str:
    """A GitHub-flavoured Markdown table (numbers right-aligned, floats with ``digits`` decimals)."""
    cells = [[_fmt(c, digits) for c in row] for row in rows]
    align = [
        "---:"
        if rows and all(isinstance(r[i], (int, float)) or r[i] is None for r in rows)
        else ":---"
        for i in range(len(headers))
    ]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


__all__ = [
    "UNITS",
    "Record",
    "Records",
    "markdown_table",
    "measurement",
    "now",
    "record",
    "versions",
    "within",
]
