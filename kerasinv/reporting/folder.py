"""A command's output folder (a recipe run, a fine-tuning, an evaluation report): resume a run
with the same settings, refuse one with different settings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from kerasinv.errors import OutputError

#: settings added after runs were recorded without them, with the value those runs used: a run
#: from before ``precision`` existed trained in float32, and resumes as one
SINCE = {"precision": "float32"}


def prepare_output(
    output: Path,
    settings: dict,
    overwrite: bool,
    generated: Sequence[str],
    recipe: str | None = None,
    command: str | None = None,
    selections: Sequence[str] = (),
) -> dict:
    """Claim ``output`` for a recipe run; the previous ``results.json`` to resume from (``{}`` when
    starting afresh).

    The folder rules are :mod:`kerasinv.output_folder`'s: checked and locked before anything is
    written, a folder kerasinv did not write is refused (or, with ``overwrite``, written beside
    without touching its files), and ``overwrite`` removes only what an earlier kerasinv run wrote.

    Args:
        output: the run's folder.
        settings: the settings that define the run; a previous run must have equal settings.
        overwrite: discard previous results first.
        generated: the files and folders (relative to ``output``) the recipe writes besides
            ``results.json``.
        recipe: the recipe's name (for the folder's marker; default: ``settings["recipe"]``).
        command: the command named in the marker and messages (default: ``"recipe <recipe>"``).
        selections: settings that only choose which units to measure (``seeds``, ``methods``):
            they may differ from the previous run's, whose other units' records are kept.

    Raises:
        OutputError: the folder cannot be used, is being written by another run, or holds a run
            with different settings or a broken results.json.
    """
    from kerasinv.output_folder import claim_output

    command = command or f"recipe {recipe or settings.get('recipe', '?')}"
    results = output / "results.json"
    continuing = claim_output(
        output, command, overwrite, ["results.json", *generated], resumable=True
    )
    if not continuing or not results.is_file():
        return {}
    try:
        previous = json.loads(results.read_text())
    except ValueError:
        raise OutputError(
            f"{results} is not valid JSON; remove it or pick another --output"
        ) from None
    if not isinstance(previous, dict) or not isinstance(previous.get("settings", {}), dict):
        raise OutputError(
            f"{results} is not a kerasinv results file (it holds no settings table); remove it "
            "or pick another --output"
        )
    before = previous.get("settings", {})
    # a setting added since the run was made: that run used what is now its default
    before = {**{k: v for k, v in SINCE.items() if k in settings}, **before}
    changed = sorted(
        k
        for k in settings.keys() | before.keys()
        if settings.get(k) != before.get(k) and k not in selections
    )
    if changed:
        done = len(previous.get("records", []))
        raise OutputError(
            f"{output} holds a run with different settings ({', '.join(changed)}) and its "
            f"{done} record(s); choose another --output to keep them (--overwrite deletes them "
            "and starts afresh)"
        )
    return previous


__all__ = ["SINCE", "prepare_output"]
