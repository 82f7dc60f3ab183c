"""A recipe's output folder: resume a run with the same settings, refuse one with different settings."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from kerasinv.errors import OutputError


def log(message: str) -> None:
    """Progress lines go to stderr (stdout carries the table)."""
    print(message, file=sys.stderr, flush=True)


def prepare_output(output: Path, settings: dict, overwrite: bool, generated: Sequence[str]) -> dict:
    """The previous ``results.json`` of ``output`` to resume from (``{}`` when starting afresh).

    Args:
        output: the run's folder.
        settings: the settings that define the run; a previous run must have equal settings.
        overwrite: discard previous results first.
        generated: the files and folders (relative to ``output``) the recipe writes; removed on
            ``overwrite`` (nothing else in the folder is touched).

    Raises:
        OutputError: the folder holds a run with different settings, or a broken results.json.
    """
    results = output / "results.json"
    if overwrite and output.exists():
        for name in ("results.json", *generated):
            target = output / name
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
    if not results.is_file():
        return {}
    try:
        previous = json.loads(results.read_text())
    except ValueError:
        raise OutputError(
            f"{results} is not valid JSON; remove it or pick another --output"
        ) from None
    before = previous.get("settings", {})
    if before != settings:
        changed = sorted(
            k for k in settings.keys() | before.keys() if settings.get(k) != before.get(k)
        )
        raise OutputError(
            f"{output} holds a run with different settings ({', '.join(changed)}); pass --overwrite "
            "to replace it or choose another --output"
        )
    return previous


__all__ = ["log", "prepare_output"]
