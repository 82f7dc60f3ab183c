import numpy as np
import pytest

from kerasinv.data.preprocessing import GCNZCA, global_contrast_normalize


def _images(n, seed, shape=(6, 6, 3)):
    return np.random.default_rng(seed).integers(0, 256, size=(n, *shape), dtype=np.uint8)


def _reference(x_train, x_test, scale=55.0, bias=0.1):
    """pylearn2's GlobalContrastNormalization(scale=55) + ZCA(filter_bias=0.1), transcribed."""

    def gcn(x):
        x = x.reshape(len(x), -1).astype(np.float64)
        x = x - x.mean(axis=1)[:, None]
        norms = np.sqrt((x**2).sum(axis=1)) / scale
        norms[norms < 1e-8] = 1.0
        return x / norms[:, None]

    tr = gcn(x_train)
    mean = tr.mean(axis=0)
    tr = tr - mean
    eigs, eigv = np.linalg.eigh(tr.T @ tr / tr.shape[0] + bias * np.identity(tr.shape[1]))
    p = eigv @ np.diag(1.0 / np.sqrt(eigs)) @ eigv.T
    return (gcn(x_test) - mean) @ p


def test_gcn_gives_zero_mean_and_norm_55():
    g = global_contrast_normalize(_images(5, 0)).reshape(5, -1)
    np.testing.assert_allclose(g.mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(g, axis=1), 55, rtol=1e-5)
    flat = global_contrast_normalize(np.full((1, 4, 4, 3), 7, np.uint8))
    assert np.all(flat == 0)  # a constant image has no contrast: left at zero, no division by 0


def test_zca_matches_pylearn2_reference_and_is_fitted_on_train_only():
    train, test = _images(500, 1), _images(50, 2)
    prep = GCNZCA().fit(train)
    np.testing.assert_allclose(
        prep.transform(test).reshape(50, -1), _reference(train, test), rtol=1e-3, atol=1e-3
    )
    # fitting on train+test would give a different transform: the test split must not leak in
    leaky = GCNZCA().fit(np.concatenate([train, test]))
    assert not np.allclose(leaky.matrix, prep.matrix)


def test_layer_equals_numpy_transform_and_round_trips(tmp_path):
    import keras

    train, test = _images(300, 3), _images(20, 4)
    prep = GCNZCA().fit(train)
    layer = prep.layer()
    np.testing.assert_allclose(
        np.asarray(layer(test.astype("float32"))), prep.transform(test), atol=1e-3
    )
    prep.save(tmp_path / "p.npz")
    again = GCNZCA.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(again.matrix, prep.matrix)
    inputs = keras.Input((6, 6, 3))
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(
        loaded.predict(test.astype("float32"), verbose=0),
        model.predict(test.astype("float32"), verbose=0),
        atol=1e-5,
    )


def test_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        GCNZCA().transform(_images(2, 0))
    prep = GCNZCA().fit(_images(50, 0))
    from kerasinv.errors import DataFormatError

    with pytest.raises(DataFormatError):
        prep.transform(_images(2, 0, shape=(8, 8, 3)))
