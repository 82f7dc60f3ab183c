"""perturbation_dataset: grouped batches, per-batch stateless seeds, labels and indices."""

import numpy as np
import pytest
import tensorflow as tf

from kerasinv import perturb

X = np.random.default_rng(0).uniform(0, 255, size=(10, 36, 36, 3)).astype(np.uint8)
Y = np.arange(10) % 3


def pair(x, seed):
    return perturb.random_crop_pair(x, 32, seed)[:2]


def deformed(x, seed):
    return perturb.random_deformation(x, 1.5, seed, grid=3)[0]


def test_groups_labels_indices_and_determinism():
    ds = perturb.perturbation_dataset(
        X, {"pair": pair, "deformed": deformed}, Y, batch_size=4, seed=7
    )
    batches = list(ds)
    assert [len(b["index"]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b["index"] for b in batches]), np.arange(10))
    np.testing.assert_array_equal(np.concatenate([b["label"] for b in batches]), Y)
    first = batches[0]
    np.testing.assert_array_equal(first["original"].numpy(), X[:4].astype(np.float32))
    assert first["pair"][0].shape == (4, 32, 32, 3) and first["deformed"].shape == (4, 36, 36, 3)
    again = list(
        perturb.perturbation_dataset(X, {"pair": pair, "deformed": deformed}, Y, 4, seed=7)
    )
    for a, b in zip(batches, again, strict=True):
        np.testing.assert_array_equal(a["deformed"].numpy(), b["deformed"].numpy())
    other = list(perturb.perturbation_dataset(X, {"deformed": deformed}, Y, 4, seed=8))
    assert not np.array_equal(other[0]["deformed"].numpy(), first["deformed"].numpy())
    # batches get different seeds: the same image position in two batches is deformed differently
    assert not np.array_equal(
        batches[0]["pair"][0].numpy()[0] - 0, batches[1]["pair"][0].numpy()[0]
    )


def test_dataset_input_with_pairs_and_errors():
    source = tf.data.Dataset.from_tensor_slices((X, Y))
    (batch,) = list(perturb.perturbation_dataset(source, {"d": deformed}, batch_size=16))
    np.testing.assert_array_equal(batch["label"].numpy(), Y)
    with pytest.raises(ValueError, match="reserved"):
        perturb.perturbation_dataset(X, {"label": deformed})
    with pytest.raises(ValueError, match="inside the dataset"):
        perturb.perturbation_dataset(source, {"d": deformed}, labels=Y)
