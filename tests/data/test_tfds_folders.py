"""A crafted tensorflow-datasets folder is refused before tfds could import what it names."""

import json
import sys

import pytest

from kerasinv.data.cifar import load_tfds_folder
from kerasinv.data.tfds_folders import check_features
from kerasinv.errors import DataFormatError

GOOD = {
    "type": "tensorflow_datasets.core.features.features_dict.FeaturesDict",
    "content": {
        "features": {
            "label": {
                "pythonClassName": "tensorflow_datasets.core.features.class_label_feature.ClassLabel"
            },
            "image": {"pythonClassName": "tensorflow_datasets.core.features.image_feature.Image"},
        }
    },
    "proto_cls": "tensorflow_datasets.FeaturesDict",
}


def test_a_folder_naming_a_foreign_class_is_refused_and_nothing_is_imported(tmp_path):
    folder = tmp_path / "cifar10" / "3.0.2"
    folder.mkdir(parents=True)
    crafted = json.loads(json.dumps(GOOD))
    crafted["content"]["features"]["label"]["pythonClassName"] = "kerasinv_planted_module.Evil"
    (folder / "features.json").write_text(json.dumps(crafted))
    (folder / "dataset_info.json").write_text("{}")
    (tmp_path / "kerasinv_planted_module.py").write_text("raise SystemExit('imported')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(DataFormatError, match=r"kerasinv_planted_module\.Evil"):
            load_tfds_folder("cifar10", folder)
    finally:
        sys.path.remove(str(tmp_path))
    assert "kerasinv_planted_module" not in sys.modules


def test_tfds_own_features_pass(tmp_path):
    (tmp_path / "features.json").write_text(json.dumps(GOOD))
    check_features(tmp_path)
    check_features(tmp_path / "no-such-folder")  # nothing to check: tfds reports what is missing
    (tmp_path / "features.json").write_text("{not json")
    with pytest.raises(DataFormatError, match="not a tensorflow-datasets features file"):
        check_features(tmp_path)
