"""Output folders kerasinv owns: checked before any work, claimed with a marker, locked while written.

Rules (the same for every command that writes a folder):

- ``--output`` must be a folder (or not exist yet) under a writable parent; an existing file, an
  unwritable place or a path through a file is refused at once, before any data or model is loaded.
- A folder kerasinv writes holds a marker, ``.kerasinv.json``, naming the command and every entry
  (file or sub-folder) it may write, and ``.kerasinv.written`` every file and folder it wrote
  (:func:`kerasinv.io.track`). ``--overwrite`` removes what kerasinv wrote and nothing else: a
  user's own files inside kerasinv's sub-folders (a SavedModel version exported beside ours)
  stay; ``work/``, kerasinv's scratch space, goes whole.
- An existing non-empty folder without the marker is refused unless ``--overwrite``; with it,
  kerasinv writes beside the folder's other files and never touches them. If one of the names
  kerasinv would write already exists there and is not kerasinv's, the run is refused even then.
- While a run writes, it holds an exclusive lock (``.kerasinv.lock``, ``fcntl.flock``); a second
  run into the same folder stops at once with a message naming the first one's process. The lock
  goes with the process, so a killed run never leaves a stale lock.

This module imports nothing heavy, so the CLI checks outputs in well under a second.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from kerasinv.errors import OutputError

MARKER = ".kerasinv.json"
LOCK = ".kerasinv.lock"
_HIDDEN = {MARKER, LOCK, ".kerasinv.written"}
#: locks this process holds, by resolved folder (kept open until the process ends or release()).
_HELD: dict[str, int] = {}


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def read_marker(folder: Path) -> dict | None:
    """The folder's marker (``None`` if it has none or it is unreadable)."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and marker.get("tool") == "kerasinv" else None


def check_output(
    folder: str | Path,
    command: str,
    overwrite: bool,
    entries: Iterable[str] = (),
    resumable: bool = False,
    option: str = "--output",
) -> dict | None:
    """Refuse a folder that cannot or must not be written; nothing is changed on disk.

    Args:
        folder: the output folder.
        command: what writes it (e.g. ``"recipe springenberg-allcnn"``, ``"evaluate"``).
        overwrite: the user passed ``--overwrite``.
        entries: the names (relative to ``folder``) the command may write; those that exist and are
            not kerasinv's are refused. Empty: only the cheap checks (for preflight).
        resumable: a folder this command wrote before may be continued without ``--overwrite``
            (recipes resume; evaluate does not).
        option: the flag to name in messages.

    Returns:
        The folder's marker when kerasinv wrote it before, else ``None``.

    Raises:
        OutputError: with what is wrong and what to do.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise OutputError(
            f"{option} {folder} is a file; give a folder (kerasinv never replaces a file with a folder)"
        )
    dangling = [p for p in (folder, *folder.parents) if p.is_symlink() and not p.exists()]
    if dangling:
        raise OutputError(
            f"{option} {folder}: {dangling[0]} is a link to {os.readlink(dangling[0])}, which does "
            f"not exist; create that folder or choose another {option}"
        )
    anchor = _nearest_existing(folder)
    if not anchor.is_dir():
        raise OutputError(
            f"{option} {folder}: {anchor} is a file, so the folder cannot be made there"
        )
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {folder}: {anchor} is not writable; choose another {option}")
    if not folder.exists():
        return None
    marker = read_marker(folder)
    present = {p.name for p in folder.iterdir()} - _HIDDEN
    if marker is None:
        if present and not overwrite:
            raise OutputError(
                f"{option} {folder} is not empty and was not written by kerasinv; choose a new or "
                f"empty folder, or pass --overwrite to write beside its files (they are not touched)"
            )
        clash = sorted(present & set(entries))
        if clash:
            raise OutputError(
                f"{option} {folder} already holds {', '.join(clash)}, which kerasinv did not write "
                f"and will not replace; choose another {option}"
            )
        return None
    ours = set(marker.get("entries", []))
    clash = sorted((present & set(entries)) - ours)
    if clash:
        raise OutputError(
            f"{option} {folder} holds {', '.join(clash)}, which kerasinv did not write and will "
            f"not replace; choose another {option}"
        )
    if overwrite:
        return marker
    if marker.get("command") != command:
        raise OutputError(
            f"{option} {folder} holds the output of `kerasinv {marker.get('command')}`; pass "
            f"--overwrite to replace it (only kerasinv's files go) or choose another {option}"
        )
    if not resumable and ours & present:
        raise OutputError(
            f"{option} {folder} holds an earlier `kerasinv {command}` output; pass --overwrite to "
            f"replace it (only kerasinv's files go) or choose another {option}"
        )
    return marker


def lock(folder: str | Path, option: str = "--output") -> None:
    """Hold the folder's exclusive lock for the rest of this process (or until :func:`release`).

    Raises:
        OutputError: another process holds it.
    """
    import fcntl

    folder = Path(folder).expanduser()
    key = str(folder.resolve())
    if key in _HELD:
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise OutputError(
            f"{option} {folder} is being written by another kerasinv run ({holder}); wait for "
            f"it to finish or choose another {option}"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
    _HELD[key] = fd


def release(folder: str | Path) -> None:
    """Give up this process's lock on ``folder`` (no-op if not held)."""
    fd = _HELD.pop(str(Path(folder).expanduser().resolve()), None)
    if fd is not None:
        os.close(fd)


@contextlib.contextmanager
def abandoned_on_failure(folder: str | Path) -> Iterator[None]:
    """Run the block; if it fails, :func:`abandon` ``folder`` and re-raise."""
    try:
        yield
    except BaseException:
        abandon(folder)
        raise


def abandon(folder: str | Path) -> None:
    """After a command failed: release ``folder`` and, if it holds nothing but kerasinv's own
    marker, lock and manifest (the command failed before writing anything), remove it, so a
    failed command leaves no claimed empty folder behind."""
    folder = Path(folder).expanduser()
    release(folder)
    if not folder.is_dir() or any(p.name not in _HIDDEN for p in folder.iterdir()):
        return
    for name in _HIDDEN:
        (folder / name).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # something appeared meanwhile: leave it


#: entries that are kerasinv's scratch space as a whole (a checkpoint), removed whole
SCRATCH = ("work",)


def _remove(target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()


def _remove_entries(folder: Path, entries: Iterable[str]) -> None:
    """``--overwrite``: remove what an earlier kerasinv run wrote. Inside a sub-folder only the
    files and folders its manifest lists (:func:`kerasinv.io.written`) go, so a user's own files
    there (a SavedModel version they exported beside ours) stay; without a manifest (a folder
    written before it existed) each entry goes whole."""
    from kerasinv.io import WRITTEN, written

    ours = written(folder)
    for name in entries:
        if "/" in name or name in ("", ".", "..") or name in _HIDDEN:
            continue  # a marker only ever names entries directly inside the folder
        # any temporary twin a killed run left (kerasinv.io's naming)
        for target in [*folder.glob(f".{name}.tmp-*"), *folder.glob(f".{name}.old-*")]:
            _remove(target)
        entry = folder / name
        if ours is None or name in SCRATCH or not entry.is_dir() or entry.is_symlink():
            _remove(entry)
            continue
        inside = sorted((p for p in ours if p.startswith(name + "/")), key=len, reverse=True)
        for relative in inside:
            _remove(folder / relative)
        for sub in sorted(entry.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if sub.is_dir() and not sub.is_symlink() and not any(sub.iterdir()):
                sub.rmdir()  # emptied by the removal
        if not any(entry.iterdir()):
            entry.rmdir()
    (folder / WRITTEN).unlink(missing_ok=True)


def claim_output(
    folder: str | Path,
    command: str,
    overwrite: bool,
    entries: Iterable[str],
    resumable: bool = False,
    option: str = "--output",
) -> bool:
    """Check, lock and mark ``folder`` for ``command``; with ``overwrite``, first remove the entries
    an earlier kerasinv run recorded (and only those).

    Returns:
        Whether the folder holds an earlier output of this command to continue (after
        ``overwrite``: never).
    """
    entries = list(entries)
    check_output(folder, command, overwrite, entries, resumable, option)
    folder = Path(folder).expanduser()
    lock(folder, option)
    # checked again under the lock: another run may have written in the meantime
    marker = check_output(folder, command, overwrite, entries, resumable, option)
    continuing = marker is not None and not overwrite
    if marker is not None and overwrite:
        _remove_entries(folder, marker.get("entries", []))
    from kerasinv.io import track

    track(folder)
    recorded = set(entries) | (set(marker.get("entries", [])) if continuing else set())
    from kerasinv.io import write_json

    write_json(
        folder / MARKER,
        {"tool": "kerasinv", "command": command, "entries": sorted(recorded)},
    )
    return continuing


#: What a SavedModel version folder holds; anything else in one is not ours to replace.
SAVED_MODEL_ENTRIES = {
    "saved_model.pb",
    "saved_model.pbtxt",
    "variables",
    "assets",
    "fingerprint.pb",
}
SAVED_MODEL_ENTRIES |= {"keras_metadata.pb", "assets.extra"}


def check_destination(model_dir: Path, version: int | None, overwrite: bool) -> None:
    """Refuse a destination before any work: ``model_dir`` must be a folder (or not exist) under a
    writable parent; an existing version folder is replaced only with ``overwrite`` and only if it
    holds nothing but a SavedModel (TF Serving's layout: ``model_dir/<version>/saved_model.pb``).

    Raises:
        OutputError: with what is wrong and what to do.
    """
    model_dir = Path(model_dir)
    if version is not None and int(version) < 1:
        raise OutputError(f"version must be a positive integer, got {version}")
    # the model folder holds version folders; it is not claimed as a whole (others' versions stay)
    check_output(model_dir, "export", overwrite=True, option="destination")
    if model_dir.is_dir() and not os.access(model_dir, os.W_OK | os.X_OK):
        raise OutputError(f"destination {model_dir} is not writable; choose another destination")
    if version is None:
        return
    target = model_dir / str(int(version))
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputError(f"{target} is a file; remove it or pick another --version")
    if not overwrite:
        raise OutputError(f"{target} already exists; pick another --version or pass --overwrite")
    foreign = sorted(p.name for p in target.iterdir() if p.name not in SAVED_MODEL_ENTRIES)
    if foreign or not (target / "saved_model.pb").is_file():
        what = ", ".join(foreign) if foreign else "no saved_model.pb"
        raise OutputError(
            f"{target} is not a SavedModel folder ({what}); kerasinv will not replace it even with "
            "--overwrite. Pick another --version"
        )


__all__ = [
    "LOCK",
    "MARKER",
    "SAVED_MODEL_ENTRIES",
    "abandon",
    "abandoned_on_failure",
    "check_destination",
    "check_output",
    "claim_output",
    "lock",
    "read_marker",
    "release",
]
