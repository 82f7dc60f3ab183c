"""Gather the deployment reports of ``docs/results/deployment/run.sh`` into one table.

    python examples/deployment_table.py runs/deployment/reports docs/results/deployment

Reads ``<net>-<method>-<format>/`` reports written by ``kerasinv evaluate`` and writes
``results.json`` (one row per file) and ``table.md``: accuracy on the photos as they are,
agreement of its top-1 with the Keras model's on the same photos, one-pixel P(top-1 change) and
MAC (crop protocol) and random-shift consistency, each deployed file beside its Keras model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

NETS = {
    "cifar": "shipped CIFAR-10 All-CNN-C (BN, width 0.5)",
    "mobilenet": "MobileNet 0.75 (ImageNet)",
}
METHODS = ("stock", "blur-3", "aps")
FORMATS = {
    "keras": "Keras (float32)",
    "onnx": "ONNX (float32)",
    "float": "TFLite float32",
    "dynamic": "TFLite dynamic-range",
    "int8": "TFLite int8",
}


def row(folder: Path, keras_top1: np.ndarray | None) -> dict:
    report = json.loads((folder / "results.json").read_text())
    summary = report["summary"]
    top1 = np.load(folder / "per_image.npz")["clean_top1"]
    return {
        "accuracy": report["clean"]["accuracy"] if report.get("clean") else None,
        "agreement": None if keras_top1 is None else float(np.mean(top1 == keras_top1)),
        "p_top1_change": summary["crop"]["p_top1_change"],
        "mac": summary["crop"]["mean_absolute_change"],
        "consistency": summary["shift"]["consistency"],
        "photos": report["photos"],
        "images": report["images"],
        "file": report["source"],
    }


def main(reports: Path, out: Path) -> None:
    rows = []
    for net in NETS:
        for method in METHODS:
            base = reports / f"{net}-{method}-keras"
            if not (base / "results.json").is_file():
                continue
            keras_top1 = np.load(base / "per_image.npz")["clean_top1"]
            for fmt in FORMATS:
                folder = reports / f"{net}-{method}-{fmt}"
                if (folder / "results.json").is_file():
                    r = row(folder, None if fmt == "keras" else keras_top1)
                    rows.append({"net": net, "method": method, "format": fmt, **r})
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    lines = []
    for net, title in NETS.items():
        mine = [r for r in rows if r["net"] == net]
        if not mine:
            continue
        lines += [
            f"### {title}: {mine[0]['photos']:,} photos",
            "",
            "| model | file | accuracy | top-1 agrees with Keras | P(top-1 change) | MAC | consistency |",
            "| :--- | :--- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in mine:
            agree = "–" if r["agreement"] is None else f"{r['agreement']:.3f}"
            lines.append(
                f"| {r['method']} | {FORMATS[r['format']]} | {r['accuracy']:.3f} | {agree} | "
                f"{r['p_top1_change']:.3f} | {r['mac']:.3f} | {r['consistency']:.3f} |"
            )
        lines.append("")
    (out / "table.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
