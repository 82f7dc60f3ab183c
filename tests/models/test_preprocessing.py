"""preprocess_input / decode_predictions: keras.applications' conventions, offline."""

import keras
import numpy as np
import pytest

from kerasinv import models
from kerasinv.errors import ConfigError


@pytest.mark.parametrize(
    "name, mode",
    [("vgg16", "caffe"), ("resnet50", "caffe"), ("inception-resnet-v2", "tf"),
     ("mobilenet_0.75_224", "tf"), ("densenet121", "torch"), ("torch", "torch")],
)  # fmt: skip
def test_preprocess_input_is_keras_applications(name, mode):
    photos = np.random.default_rng(0).uniform(0, 255, (2, 5, 4, 3)).astype("float32")
    kept = photos.copy()
    ours = models.preprocess_input(photos, name)
    theirs = keras.applications.imagenet_utils.preprocess_input(photos.copy(), mode=mode)
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(photos, kept)  # a copy: the input is unchanged
    np.testing.assert_array_equal(models.preprocess_input(photos, "none"), photos)
    with pytest.raises(ConfigError, match="no preprocessing known"):
        models.preprocess_input(photos, "alexnet")


def test_decode_predictions_uses_the_shipped_class_index():
    scores = np.zeros((2, 1000), "float32")
    scores[0, [0, 1, 281]] = [0.2, 0.1, 0.7]
    scores[1, 999] = 1.0
    decoded = models.decode_predictions(scores, top=3)
    assert decoded[0] == [
        ("n02123045", "tabby", pytest.approx(0.7)),
        ("n01440764", "tench", pytest.approx(0.2)),
        ("n01443537", "goldfish", pytest.approx(0.1)),
    ]
    assert decoded[1][0][:2] == ("n15075141", "toilet_tissue")
    with pytest.raises(ConfigError, match="ImageNet scores"):
        models.decode_predictions(np.zeros((2, 10)))
