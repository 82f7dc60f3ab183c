"""The ``antialias`` option's grammar, without TensorFlow (the CLI checks it before importing TF).

``None`` (plain), ``"blur-K"`` (BlurPool with the K-tap binomial filter, K = 1..7; ``"blur"`` means
K = 4), ``"aps"`` / ``"aps-K"`` (adaptive polyphase sampling, optionally blurred with the K-tap
filter first) and ``"lps"`` / ``"lps-K"`` (learnable polyphase sampling, likewise).
"""

from __future__ import annotations

import re

_SPEC = re.compile(r"^(blur|aps|lps)(?:-([1-7]))?$")


def parse_antialias(spec: str | None) -> tuple[str, int] | None:
    """``None`` or ``(method, filter_size)`` from an ``antialias`` string (see module doc)."""
    if spec is None:
        return None
    match = _SPEC.match(str(spec).strip().lower())
    if not match:
        raise ValueError(
            f"antialias must be None, 'blur-K', 'aps[-K]' or 'lps[-K]' with K from 1 to 7, got {spec!r}"
        )
    method, size = match.groups()
    return method, int(size) if size else (4 if method == "blur" else 1)


__all__ = ["parse_antialias"]
