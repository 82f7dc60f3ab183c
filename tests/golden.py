"""Golden records: every recipe's smoke numbers, pinned, so that a renovation of the recipe engine
that changes a number is caught.

``pin(name, records)`` compares a run's records with ``tests/golden/<name>.json``. Each record is
keyed by its table, row, column and model (in order where a key repeats) and compared on
``measured`` and ``paper``.

Exactness: the smoke runs are deterministic on one machine (two runs give identical records), so
on the machine that wrote the file (same CPU features, TensorFlow and NumPy) every number must be
equal. Elsewhere oneDNN may pick other kernels (AVX2 against AVX-512), whose sums round
differently, and a few epochs of training can turn that into a different prediction on a handful
of images; there the file's ``tolerance`` applies (in the record's own unit).

To (re)write the files after a deliberate change of a number:
``KERASINV_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/recipes -k golden``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections import Counter
from pathlib import Path

import pytest

FOLDER = Path(__file__).parent / "golden"


def machine() -> str:
    """What decides bit-exactness: CPU features that change oneDNN's kernels, and the versions."""
    import numpy
    import tensorflow as tf

    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "fma")
                flags = " ".join(f for f in line.split(":", 1)[1].split() if f in wanted)
                break
    except OSError:
        pass
    text = f"{platform.machine()}|{flags}|tf {tf.__version__}|numpy {numpy.__version__}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def keyed(records: list[dict]) -> dict[str, dict]:
    """``{"table | row | column | model [#n]": {"measured", "paper"}}``."""
    seen: Counter = Counter()
    out = {}
    for r in records:
        key = " | ".join(str(r.get(k)) for k in ("table", "row", "column", "model"))
        seen[key] += 1
        if seen[key] > 1:
            key += f" #{seen[key]}"
        out[key] = {"measured": r["measured"], "paper": r.get("paper")}
    return out


def pin(name: str, records: list[dict], tolerance: float) -> None:
    """Assert ``records`` equal the golden ones (see the module docstring); ``tolerance`` is the
    largest difference allowed on another machine, written into the file when it is updated."""
    path = FOLDER / f"{name}.json"
    got = keyed(records)
    if os.environ.get("KERASINV_UPDATE_GOLDEN"):
        data = {"machine": machine(), "tolerance": tolerance, "records": got}
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"wrote {path}")
    golden = json.loads(path.read_text())
    assert sorted(got) == sorted(golden["records"]), "the run measured other records"
    exact = golden["machine"] == machine()
    allowed = 0.0 if exact else golden["tolerance"]
    for key, want in golden["records"].items():
        assert got[key]["paper"] == want["paper"], key
        difference = abs(got[key]["measured"] - want["measured"])
        assert difference <= allowed + 1e-12, (
            f"{key}: measured {got[key]['measured']}, golden {want['measured']} "
            f"({'this machine wrote it: must be equal' if exact else f'tolerance {allowed}'})"
        )
