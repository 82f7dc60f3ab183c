"""``python -m kerasinv.data.samples SOURCE.tar.gz``: rebuild the embedded sample archive."""

import sys

from kerasinv.data.samples import build_embedded_sample, embedded_sample_path

if len(sys.argv) != 2:
    sys.exit("usage: python -m kerasinv.data.samples CIFAR10-JPEG-ARCHIVE.tar.gz")
names = build_embedded_sample(sys.argv[1], embedded_sample_path())
print(f"wrote {len(names)} images to {embedded_sample_path()}")
