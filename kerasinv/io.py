"""Atomic output: write to a temporary name beside the target, then rename.

An interrupted run therefore never leaves a half-written file or folder behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kerasinv.errors import OutputError


@contextlib.contextmanager
def atomic_path(target: str | Path, directory: bool = False, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` if the block succeeds.

    Args:
        target: the final file or folder path. An existing target of the same kind is replaced
            (callers check first that it is theirs to replace: :mod:`kerasinv.output_folder`); a
            file is never replaced by a folder, nor a folder by a file.
        directory: yield a fresh empty folder instead of a file name.
        suffix: ending of the temporary name (for writers that insist on one, e.g. ``.keras``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if directory and target.exists() and not target.is_dir():
        raise OutputError(f"{target} is a file; kerasinv will not replace a file with a folder")
    if not directory and target.is_dir():
        raise OutputError(f"{target} is a folder; kerasinv will not replace a folder with a file")
    prefix = f".{target.name}.tmp-"
    umask = os.umask(0)
    os.umask(umask)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
        tmp.chmod(
            0o777 & ~umask
        )  # mkdtemp makes 0700: TF Serving as another user could not read it
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        tmp.chmod(0o666 & ~umask)  # mkstemp makes 0600; give the final file the usual mode
    try:
        yield tmp
        if directory:
            if target.exists():
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                os.replace(target, old)
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
        else:
            os.replace(tmp, target)
        _note_written(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink()


#: the manifest a claimed output folder keeps of what kerasinv wrote into it (one path a line)
WRITTEN = ".kerasinv.written"
#: claimed output folders (resolved) whose writes are noted in their manifest
_TRACKED: set[str] = set()


def track(folder: str | Path) -> None:
    """Note, from now on, every file or folder :func:`atomic_path` writes under ``folder`` in
    ``folder/.kerasinv.written``, so that ``--overwrite`` can remove what kerasinv wrote and
    nothing else (:mod:`kerasinv.output_folder`)."""
    _TRACKED.add(os.path.realpath(folder))


def _note_written(target: Path) -> None:
    path = os.path.realpath(target)
    for folder in _TRACKED:
        if path.startswith(folder + os.sep):
            relative = os.path.relpath(path, folder)
            if not relative.startswith(".kerasinv."):  # the marker, lock and manifest
                with open(os.path.join(folder, WRITTEN), "a", encoding="utf-8") as manifest:
                    manifest.write(relative + "\n")


def written(folder: str | Path) -> set[str] | None:
    """What kerasinv wrote under ``folder`` (relative paths), or ``None`` for a folder written
    before the manifest existed."""
    manifest = Path(folder) / WRITTEN
    if not manifest.is_file():
        return None
    return {line for line in manifest.read_text(encoding="utf-8").splitlines() if line}


def cache_dir() -> Path:
    """kerasinv's cache folder: ``$KERASINV_CACHE_DIR``, default ``~/.cache/kerasinv``."""
    return Path(os.environ.get("KERASINV_CACHE_DIR", Path.home() / ".cache" / "kerasinv"))


def write_text(target: str | Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically (UTF-8)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(target: str | Path, obj) -> None:
    """Write ``obj`` as indented JSON to ``target`` atomically."""
    write_text(target, json.dumps(obj, indent=2, sort_keys=False) + "\n")
