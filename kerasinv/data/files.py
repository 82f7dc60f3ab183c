"""Reading the files of a data set a user names, with bounds: data is untrusted input.

A photo that is a FIFO or a link to ``/dev/zero``, or an archive member that unpacks to a gigabyte,
would hang a command or exhaust memory. Every image and CIFAR batch kerasinv reads goes through
:func:`read_file` or :func:`read_member`, which read only regular files and members, and only up to
a size no real one reaches.
"""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

from kerasinv.errors import DataFormatError

#: the largest image file kerasinv reads (a 50-megapixel PNG is about 150 MB uncompressed, but
#: photos are compressed files: 64 MiB is far beyond any of them)
IMAGE_LIMIT = 64 * 2**20
#: the largest CIFAR batch (CIFAR-100's train file: 155 MB)
BATCH_LIMIT = 200 * 2**20


def _too_big(where: str, size: int, limit: int) -> DataFormatError:
    return DataFormatError(
        f"{where} is {size:,} bytes, more than any file of this kind kerasinv reads "
        f"({limit:,}); it is not read (remove it from the data)"
    )


def read_file(path: str | Path, limit: int = IMAGE_LIMIT) -> bytes:
    """The bytes of a regular file (symlinks followed), refused if larger than ``limit``.

    Raises:
        DataFormatError: a device, FIFO or socket (reading it could block or never end), or a file
            over ``limit``.
    """
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise DataFormatError(
            f"{path} is not a regular file (a device, FIFO or socket): kerasinv reads only files"
        )
    if info.st_size > limit:
        raise _too_big(str(path), info.st_size, limit)
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise _too_big(str(path), len(data), limit)
    return data


def read_member(archive: tarfile.TarFile, member: tarfile.TarInfo | str, limit: int) -> bytes:
    """The bytes of a regular member of ``archive``, refused if it unpacks to more than ``limit``.

    Raises:
        KeyError: no such member.
        DataFormatError: a link, device or folder, or a member over ``limit``.
    """
    if isinstance(member, str):
        member = archive.getmember(member)
    where = f"{archive.name}: {member.name}"
    if not member.isfile():
        raise DataFormatError(f"{where} is not a regular file in the archive")
    if member.size > limit:
        raise _too_big(where, member.size, limit)
    return archive.extractfile(member).read(limit + 1)


__all__ = ["BATCH_LIMIT", "IMAGE_LIMIT", "read_file", "read_member"]
