"""Results as records: one JSON record per measured number, the paper's value beside it.

Record fields: ``recipe, table, row, column, measured, paper, tolerance, within_tolerance, preset,
dataset, model, seed, versions, wall_s`` plus recipe-specific extras (``params``, ``epochs`` ...).
Tables are rendered from records only, never recomputed.
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone


def versions() -> dict[str, str]:
    """Versions of the software that produced a number."""
    import keras
    import numpy
    import tensorflow as tf

    import kerasinv

    return {
        "kerasinv": kerasinv.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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
    paper=None,
    tolerance=None,
    **extra,
) -> dict:
    """One record with the fields every recipe writes; ``recipe``, ``preset``, ``seed`` and
    ``versions`` come from the run's ``results`` (``results["settings"]``), ``extra`` is appended."""
    settings = results["settings"]
    return {
        "recipe": results["recipe"],
        "table": table,
        "row": row,
        "column": column,
        "measured": measured,
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
