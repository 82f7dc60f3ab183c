"""Every perturbation compiles under XLA (same result as eager) and runs inside tf.data."""

import numpy as np
import pytest
import tensorflow as tf

from kerasinv import perturb

X = np.random.default_rng(0).uniform(0, 255, size=(2, 40, 40, 3)).astype(np.float32)
OFFSETS = np.array([[1, 2], [3, 0]], np.int32)
SEED = np.array([4, 5], np.int32)

OPS = {
    "bilinear_sample": lambda x: perturb.bilinear_sample(
        x, tf.random.stateless_uniform([2, 7, 2], SEED, -2.0, 42.0, alg="philox"), "reflect"
    ),
    "crop": lambda x: perturb.crop(x, OFFSETS, 32),
    "embed": lambda x: perturb.embed(x, OFFSETS, 48, background="mean"),
    "embed_resized": lambda x: perturb.embed(x, OFFSETS, 32, size=20),
    "rescale": lambda x: perturb.rescale(x, 21, 32),
    "inpaint": lambda x: perturb.inpaint(*perturb.embed(x, OFFSETS, 56, return_mask=True)),
    "random_crop_pair": lambda x: perturb.random_crop_pair(x, 32, SEED)[1],
    "diagonal_sweep": lambda x: perturb.diagonal_sweep(x, 36),
    "circular_shift": lambda x: perturb.random_circular_shift(x, SEED)[0],
    "tps_fit_evaluate": lambda x: perturb.evaluate_tps(
        perturb.fit_tps(
            tf.random.stateless_uniform([2, 9, 2], SEED, 0.0, 40.0, alg="philox"),
            tf.random.stateless_uniform([2, 9, 2], SEED + 1, 0.0, 40.0, alg="philox"),
        ),
        tf.random.stateless_uniform([2, 50, 2], SEED + 2, 0.0, 40.0, alg="philox"),
    ),
    "random_deformation": lambda x: perturb.random_deformation(x, [1.0, 2.0], SEED, grid=4)[0],
    "onepixel_crop": lambda x: perturb.onepixel_sequence(x, "crop", canvas=31),
    "onepixel_inpaint": lambda x: perturb.onepixel_sequence(x, "inpaint", canvas=32, size=20),
    "onepixel_scale": lambda x: perturb.onepixel_sequence(x, "scale", canvas=32, size=20),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_compiles_under_xla_with_the_eager_result(name):
    eager = OPS[name](tf.constant(X)).numpy()
    compiled = tf.function(OPS[name], jit_compile=True)(tf.constant(X)).numpy()
    np.testing.assert_allclose(compiled, eager, rtol=1e-4, atol=1e-2)


@pytest.mark.parametrize("name", ["crop", "inpaint", "random_deformation", "onepixel_scale"])
def test_runs_inside_a_dataset_map(name):
    ds = tf.data.Dataset.from_tensor_slices(X).batch(2).map(OPS[name])
    (out,) = list(ds)
    np.testing.assert_allclose(out.numpy(), OPS[name](tf.constant(X)).numpy(), rtol=1e-5, atol=1e-3)
