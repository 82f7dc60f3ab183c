"""Crops, embeddings, rescaling and shifts against explicit NumPy slicing."""

import numpy as np
import pytest
import tensorflow as tf

from kerasinv import perturb


def _images(b=3, h=12, w=10, c=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=(b, h, w, c)).astype(np.float32)


def test_crop_is_slicing_with_per_image_offsets():
    x = _images()
    offsets = np.array([[0, 0], [2, 3], [4, 2]])
    got = perturb.crop(x, offsets, (8, 7)).numpy()
    for b, (r, c) in enumerate(offsets):
        np.testing.assert_array_equal(got[b], x[b, r : r + 8, c : c + 7])
    with pytest.raises(tf.errors.InvalidArgumentError, match="inside the images"):
        perturb.crop(x, [[5, 0], [0, 0], [0, 0]], (8, 7))


@pytest.mark.parametrize("background", ["black", "mean", 17.0])
def test_embed_pastes_at_offsets_on_an_explicit_background(background):
    x = _images(h=5, w=4)
    offsets = np.array([[0, 0], [3, 2], [-2, 7]])  # the last one is cut off at two edges
    got, mask = perturb.embed(x, offsets, canvas=(9, 9), background=background, return_mask=True)
    fill = {"black": [0, 0, 0], "mean": perturb.TORCHVISION_MEAN_RGB, 17.0: [17.0] * 3}[background]
    for b, (r, c) in enumerate(offsets):
        expected = np.tile(np.asarray(fill, np.float32), (9, 9, 1))
        expected_mask = np.zeros((9, 9, 1), np.float32)
        rr, cc = slice(max(r, 0), min(r + 5, 9)), slice(max(c, 0), min(c + 4, 9))
        expected[rr, cc] = x[b, rr.start - r : rr.stop - r, cc.start - c : cc.stop - c]
        expected_mask[rr, cc] = 1
        np.testing.assert_allclose(got.numpy()[b], expected, rtol=1e-6)
        np.testing.assert_array_equal(mask.numpy()[b], expected_mask)


def test_embed_resizes_first_and_rescale_centres():
    x = _images(h=40, w=40)
    resized = tf.image.resize(x, (20, 20), antialias=True).numpy()
    got = perturb.embed(x, perturb.centred_offsets(3, 32, 20), 32, size=20).numpy()
    np.testing.assert_allclose(got[:, 6:26, 6:26], resized, atol=1e-4)
    np.testing.assert_array_equal(got[:, :6], 0)
    np.testing.assert_allclose(perturb.rescale(x, 20, 32).numpy(), got, atol=1e-6)
    assert perturb.rescale(x, 21, 32).shape == (3, 32, 32, 3)


def test_identity_cases_are_exact():
    x = _images()
    np.testing.assert_array_equal(perturb.crop(x, np.zeros((3, 2), int), (12, 10)).numpy(), x)
    np.testing.assert_array_equal(perturb.embed(x, np.zeros((3, 2), int), (12, 10)).numpy(), x)
    np.testing.assert_array_equal(perturb.circular_shift(x, np.zeros((3, 2), int)).numpy(), x)


def test_circular_shift_is_numpy_roll():
    x = _images()
    shifts = np.array([[1, -2], [5, 3], [-13, 21]])
    got = perturb.circular_shift(x, shifts).numpy()
    for b, (r, c) in enumerate(shifts):
        np.testing.assert_array_equal(got[b], np.roll(x[b], (r, c), axis=(0, 1)))
    shifted, used = perturb.random_circular_shift(x, seed=[0, 1], max_shift=4)
    assert used.numpy().min() >= 0 and used.numpy().max() <= 3
    for b, (r, c) in enumerate(used.numpy()):
        np.testing.assert_array_equal(shifted.numpy()[b], np.roll(x[b], (r, c), axis=(0, 1)))


def test_zhang_pairs_and_diagonal_sweep():
    x = _images(b=4, h=36, w=36)
    first, second, offsets = perturb.random_crop_pair(x, 32, seed=[3, 4])
    o = offsets.numpy()
    assert o.shape == (4, 2, 2) and o.min() >= 0 and o.max() <= 3  # 36 - 32 - 1
    for b in range(4):
        np.testing.assert_array_equal(
            first.numpy()[b], x[b, o[b, 0, 0] :][:32, o[b, 0, 1] :][:, :32]
        )
        np.testing.assert_array_equal(
            second.numpy()[b], x[b, o[b, 1, 0] :][:32, o[b, 1, 1] :][:, :32]
        )
    again = perturb.random_crop_pair(x, 32, seed=[3, 4])[2].numpy()
    np.testing.assert_array_equal(again, o)
    sweep = perturb.diagonal_sweep(x, 32).numpy()
    assert sweep.shape == (4, 5, 32, 32, 3)
    for k in range(5):
        np.testing.assert_array_equal(sweep[:, k], x[:, k : k + 32, k : k + 32])


def test_azulay_diagonal_offsets():
    """The authors' frames: centre int((234 - 224 - 1) / 2) = 4, so windows 0..8 of a 234 image;
    a 172 image on the 224 canvas at 21..29."""
    assert perturb.diagonal_offsets(234, 224) == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert perturb.diagonal_offsets(224, 172) == list(range(21, 30))


def test_onepixel_sequences_step_one_pixel_diagonally():
    x = _images(b=2, h=42, w=42)
    seq = perturb.onepixel_sequence(x, "crop", canvas=32).numpy()
    assert seq.shape == (2, 9, 32, 32, 3)
    for k in range(9):  # c = int((42 - 32 - 1) / 2) = 4: offsets 0..8, as 224 windows of 234
        np.testing.assert_array_equal(seq[:, k], x[:, k : k + 32, k : k + 32])
    black = perturb.onepixel_sequence(x, "black", canvas=32, size=20).numpy()
    np.testing.assert_array_equal(
        black[:, 1, 1:, 1:], black[:, 0, :-1, :-1]
    )  # one pixel down-right
    inpainted = perturb.onepixel_sequence(x, "inpaint", canvas=32, size=20).numpy()
    # the centre frame sits at int((32 - 20 - 1) / 2) = 5
    np.testing.assert_array_equal(inpainted[:, :, 5:25, 5:25][:, 4], black[:, 4, 5:25, 5:25])
    assert np.all(inpainted > 0)
    scaled = perturb.onepixel_sequence(x, "scale", canvas=32, size=20, background="mean").numpy()
    assert scaled.shape == (2, 9, 32, 32, 3)
    np.testing.assert_allclose(scaled[0, 0, 0, 0], perturb.TORCHVISION_MEAN_RGB, rtol=1e-6)
    with pytest.raises(ValueError, match="needs size"):
        perturb.onepixel_sequence(x, "black")
    with pytest.raises(ValueError, match="at least 45x45"):
        perturb.onepixel_sequence(x, "crop", canvas=36)
