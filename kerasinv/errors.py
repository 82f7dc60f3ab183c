"""Errors with actionable messages.

Every user-facing failure raises a :class:`KerasinvError` subclass whose message says what was wrong
and what to do. The CLI prints the message and exits non-zero without a traceback (``--debug`` shows it).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KerasinvError(Exception):
    """Base class of every error kerasinv raises on purpose."""

    exit_code = 2


class UnknownNameError(KerasinvError, KeyError):
    """A model, preset, dataset or recipe name that does not exist."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"unknown {kind} {name!r}.{hint} Known: {', '.join(known)}.")
        self.name = name

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return self.args[0]


class DataNotFoundError(KerasinvError):
    """A dataset could not be found locally (and the network was not asked for)."""


class DataFormatError(KerasinvError):
    """A dataset was found but its files are not in a format kerasinv reads."""


class ConfigError(KerasinvError):
    """An invalid option, recipe spec or combination of settings."""


class OutputError(KerasinvError):
    """An output folder that cannot be used as asked."""


class TrainingDivergedError(KerasinvError):
    """The training loss became NaN or infinite."""

    exit_code = 3
