"""Rules every recipe shares, so that one option means the same thing in every runner.

- :func:`choose`: a list option (``--models``, ``--networks``, ``--variants``): unset means the
  preset's list, else the spec's; ``none`` (an empty list) means none; every name must be known.
"""

from __future__ import annotations

from collections.abc import Sequence

from kerasinv.errors import ConfigError, UnknownNameError


def choose(
    given: Sequence[str] | None,
    preset: dict,
    spec: dict,
    key: str = "models",
    what: str = "model",
    allow_none: bool = False,
) -> list[str]:
    """The chosen names of a list option.

    Args:
        given: the command line's list (``None``: not given; ``[]``: ``none``).
        preset: the preset's table; its ``key`` list is the default.
        spec: the recipe spec; its ``key`` list is the fallback default and the known names.
        key: the spec and preset key.
        what: the singular noun for messages (``"model"``, ``"network"``).
        allow_none: whether an empty choice is a valid run (zhang measures only ``--model`` files).

    Raises:
        UnknownNameError: a name the spec does not know.
        ConfigError: an empty choice where the recipe needs at least one.
    """
    known = list(spec.get(key, []))
    chosen = list(preset.get(key, known) if given is None else given)
    for name in chosen:
        if name not in known:
            raise UnknownNameError(what, name, known)
    if not chosen and not allow_none:
        raise ConfigError(
            f"--{key} none leaves this recipe nothing to run; name at least one {what}"
        )
    return chosen


__all__ = ["choose"]
