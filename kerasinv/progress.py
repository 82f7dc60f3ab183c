"""Progress reports on stderr, so that stdout carries only tables and results.

On a terminal a step shows a bar with its ETA (``click.progressbar``); in a log file (stderr not a
terminal) a step writes a line every 30 s and, if it took 10 s or more, one when it ends.
Training uses Keras's own progress bar (:func:`keras_verbose`, :func:`keras_to_stderr`).

``kerasinv ... --quiet`` (or :func:`set_enabled(False) <set_enabled>`, or ``KERASINV_QUIET=1``)
silences all of it, and the step lines written by :func:`say`. One style for both: steps nest with
:func:`context` (the command or recipe, then the model it measures), and every bar and line inside
reads ``azulay-onepixel › vgg16 › crop: ...``.

Example:
    >>> from kerasinv import progress
    >>> with progress.context("demo"):
    ...     total = sum(x for x in progress.track(range(4), "summing", unit="numbers"))
    >>> total
    6
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator

#: Seconds between two progress lines in a log file.
LOG_EVERY = 30.0
#: A step shorter than this (seconds) writes no line to a log file.
LOG_AFTER = 10.0

_state = {"enabled": os.environ.get("KERASINV_QUIET", "") in ("", "0"), "context": []}


def set_enabled(flag: bool) -> None:
    """Show (True) or silence (False) all progress from here on."""
    _state["enabled"] = bool(flag)


@contextlib.contextmanager
def shown(flag: bool):
    """Show or silence progress inside the block only (the CLI's ``--quiet``)."""
    before = _state["enabled"]
    _state["enabled"] = bool(flag)
    try:
        yield
    finally:
        _state["enabled"] = before


def enabled() -> bool:
    """Whether progress is shown."""
    return bool(_state["enabled"])


def _terminal() -> bool:
    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


@contextlib.contextmanager
def context(name: str):
    """Prefix the bars and lines inside with ``name`` (``vgg16 › crop``)."""
    _state["context"].append(name)
    try:
        yield
    finally:
        _state["context"].pop()


def line(message: str) -> str:
    """``message`` under the current contexts: ``finetune › loading cifar10 ...``."""
    return " › ".join([*_state["context"], message])


def fit(label: str, reserve: int) -> str:
    """``label`` shortened (in the middle, with "…") so that it and ``reserve`` more columns fit
    the terminal's width (80 when it cannot be told), and a bar never wraps."""
    import shutil

    room = max(shutil.get_terminal_size((80, 24)).columns - reserve, 12)
    if len(label) <= room:
        return label
    head = (room - 1) // 2
    return label[:head] + "…" + label[len(label) - (room - 1 - head) :]


def emit(text: str) -> None:
    """``text`` as it is, one line on stderr (silenced with progress)."""
    if enabled():
        print(text, file=sys.stderr, flush=True)


def say(message: str) -> None:
    """One progress line on stderr under the current contexts (silenced with progress)."""
    emit(line(message))


def reporter(log: Callable[[str], None] | None = None) -> Callable[[str], None]:
    """A ``say`` that sends its lines, under the contexts current when it is called, to ``log``
    (default: stderr, as :func:`say`)."""
    send = log or emit
    return lambda message: send(line(message))


class Bar:
    """Progress of one step of ``total`` units; :meth:`update` as units finish, :meth:`close` at
    the end (or use :func:`bar` / :func:`track`)."""

    def __init__(self, label: str, total: int, unit: str = "batches"):
        self.label, self.total, self.unit = line(label), max(int(total), 0), unit
        self.done, self.started = 0, time.perf_counter()
        self._last_line = self.started
        self._click = None
        if enabled() and _terminal():
            import click

            # the bar (24), its position "n/N" and the ETA take the rest of the line
            label = fit(self.label, 24 + 2 * len(str(self.total)) + 18)
            self._click = click.progressbar(
                length=self.total, label=label, file=sys.stderr, show_eta=True,
                show_pos=True, width=24,
            )  # fmt: skip
            self._click.__enter__()

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._click is not None:
            self._click.update(n)
            return
        now = time.perf_counter()
        if enabled() and now - self._last_line >= LOG_EVERY:
            self._last_line = now
            elapsed = now - self.started
            left = elapsed / max(self.done, 1) * max(self.total - self.done, 0)
            emit(
                f"{self.label}: {self.done:,}/{self.total:,} {self.unit}, {elapsed:.0f} s, "
                f"about {left:.0f} s left"
            )

    def close(self) -> None:
        if self._click is not None:
            self._click.__exit__(None, None, None)
            self._click = None
            return
        elapsed = time.perf_counter() - self.started
        if elapsed >= LOG_AFTER:
            emit(f"{self.label}: {self.done:,} {self.unit} in {elapsed:.1f} s")


@contextlib.contextmanager
def bar(label: str, total: int, unit: str = "batches") -> Iterator[Bar]:
    """A :class:`Bar` closed when the block ends."""
    b = Bar(label, total, unit)
    try:
        yield b
    finally:
        b.close()


def track(items: Iterable, label: str, total: int | None = None, unit: str = "items") -> Iterator:
    """Yield ``items``, one bar unit each (``total`` defaults to ``len(items)``)."""
    with bar(label, len(items) if total is None else total, unit) as b:  # type: ignore[arg-type]
        for item in items:
            yield item
            b.update()


def keras_verbose() -> int:
    """Keras's ``verbose`` for ``fit``: a bar on a terminal, one line per epoch in a log, 0 when
    silenced."""
    return 0 if not enabled() else (1 if _terminal() else 2)


@contextlib.contextmanager
def keras_to_stderr():
    """Send Keras's progress output (which it prints to stdout) to stderr for the block."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


__all__ = [
    "Bar",
    "bar",
    "context",
    "emit",
    "enabled",
    "fit",
    "keras_to_stderr",
    "keras_verbose",
    "line",
    "reporter",
    "say",
    "set_enabled",
    "shown",
    "track",
]
