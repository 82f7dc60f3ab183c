import tarfile

import numpy as np
import pytest

from kerasinv.data.samples import build_embedded_sample, embedded_sample_path, load_embedded_sample


def test_embedded_sample_is_small_real_and_balanced():
    path = embedded_sample_path()
    assert path.is_file() and path.stat().st_size < 8 * 2**20
    s = load_embedded_sample()
    assert s.x_train.shape == (2000, 32, 32, 3) and s.x_test.shape == (1000, 32, 32, 3)
    assert np.bincount(s.y_train).tolist() == [200] * 10
    assert np.bincount(s.y_test).tolist() == [100] * 10
    assert s.class_names[0] == "airplane" and s.class_names[-1] == "truck"
    assert s.x_train.std() > 40  # photographs


@pytest.mark.slow  # real data, tens of seconds on 2 cores
def test_embedded_sample_rebuilds_from_the_shared_archive(cifar_jpeg, tmp_path):
    names = build_embedded_sample(cifar_jpeg, tmp_path / "again.tar.gz")
    with tarfile.open(embedded_sample_path()) as a, tarfile.open(tmp_path / "again.tar.gz") as b:
        assert a.getnames() == b.getnames() == names
        first = names[0]
        assert a.extractfile(first).read() == b.extractfile(first).read()
