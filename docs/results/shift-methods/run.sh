#!/bin/bash
# The shift-methods quick result (issue 28): All-CNN-C with every method and padding, three
# training seeds, then the VGG13-style network likewise, into one folder; then copied here.
# Run from the repository root; resumable (rerun: finished networks are skipped).
set -e
DATA=${DATA:-../shared/data/cifar10-png.tar.gz}
OUT=${OUT:-runs/shift-methods-quick}
kerasinv recipe shift-methods --preset quick --data-dir "$DATA" --output "$OUT"
kerasinv recipe shift-methods --preset quick --data-dir "$DATA" --output "$OUT" \
    --models vgg13-cifar
cp "$OUT/results.json" "$OUT/table.md" "$OUT/methods.png" docs/results/shift-methods/
