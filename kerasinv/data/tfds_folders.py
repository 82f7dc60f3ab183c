"""A prepared tensorflow-datasets folder is data, not code: check it before tfds reads it.

``tfds.builder_from_directory`` rebuilds the features from the folder's ``features.json``, and for a
feature class it does not know it imports the module the file names. A crafted folder given as
``--data-dir``, ``$KERASINV_DATA_DIR`` or ``--images`` would so run a module of its author's choosing.
:func:`check_features` refuses any class outside tensorflow-datasets' own feature connectors first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from kerasinv.errors import DataFormatError

#: the package every class a features.json may name must come from
TRUSTED = "tensorflow_datasets."
#: the keys under which a features.json names a class (the older and the proto JSON forms)
CLASS_KEYS = ("type", "pythonClassName", "python_class_name", "proto_cls")


def _class_names(node) -> Iterator[str]:
    """Every class name a features.json names (:data:`CLASS_KEYS`, at any depth)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CLASS_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _class_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _class_names(item)


def check_features(builder_dir: Path) -> None:
    """Refuse a prepared folder whose ``features.json`` names a class tensorflow-datasets does not
    ship (or that cannot be read), before tfds would import it.

    Raises:
        DataFormatError: names the file and the class.
    """
    path = Path(builder_dir) / "features.json"
    if not path.is_file():
        return
    try:
        features = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DataFormatError(f"{path} is not a tensorflow-datasets features file: {e}") from None
    for name in _class_names(features):
        if not name.startswith(TRUSTED):
            raise DataFormatError(
                f"{path} names the feature class {name!r}, which is not one of "
                "tensorflow-datasets' own: kerasinv does not read this folder, because reading it "
                "would import that module. Prepare the data with tensorflow-datasets itself"
            )


__all__ = ["CLASS_KEYS", "TRUSTED", "check_features"]
