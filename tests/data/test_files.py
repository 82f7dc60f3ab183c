"""Data files are untrusted: only regular files and members are read, and only up to a bound."""

import io
import os
import tarfile

import pytest

from kerasinv.data.files import read_file, read_member
from kerasinv.errors import DataFormatError


def test_a_fifo_or_a_device_named_like_a_photo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "photo.JPEG"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(DataFormatError, match="not a regular file"):
        read_file(fifo)
    zero = tmp_path / "zero.png"
    zero.symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(DataFormatError, match="not a regular file"):
        read_file(zero)


def test_a_file_or_member_larger_than_the_bound_is_not_read(tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * 100)
    assert read_file(big, limit=100) == b"\0" * 100
    with pytest.raises(DataFormatError, match="100 bytes, more than"):
        read_file(big, limit=99)
    path = tmp_path / "data.tar"
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("train/cat/bomb.png")
        info.size = 100
        archive.addfile(info, io.BytesIO(b"\0" * 100))
        link = tarfile.TarInfo("train/cat/link.png")
        link.type, link.linkname = tarfile.SYMTYPE, "/dev/zero"
        archive.addfile(link)
    with tarfile.open(path) as archive:
        assert len(read_member(archive, "train/cat/bomb.png", 100)) == 100
        with pytest.raises(DataFormatError, match="more than any file"):
            read_member(archive, "train/cat/bomb.png", 99)
        with pytest.raises(DataFormatError, match="not a regular file"):
            read_member(archive, "train/cat/link.png", 100)
