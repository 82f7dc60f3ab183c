#!/bin/bash
# Issue 27: what deployment (TFLite float, dynamic-range and int8; ONNX) does to accuracy and shift
# invariance, for the shipped CIFAR-10 model and the pretrained MobileNet 0.75, stock and twins.
# Run from the repository root:  bash docs/results/deployment/run.sh  (resumable: finished
# reports are kept; RUNS=... sets the work folder).
set -euo pipefail
RUNS=${RUNS:-runs/deployment}
SHARED=${SHARED:-../shared/data}
mkdir -p "$RUNS"
K=${KERASINV:-kerasinv}
PY=${PYTHON:-python}

# 1. the Keras models: stock and drop-in twins (no fine-tuning)
$PY - "$RUNS" "$SHARED" <<'PYEOF'
import sys
from pathlib import Path
import keras, kerasinv
from kerasinv.models.shipped import shipped_keras
runs, shared = Path(sys.argv[1]), Path(sys.argv[2])
mobilenet = keras.applications.MobileNet(input_shape=(224, 224, 3), alpha=0.75, weights=None)
mobilenet.load_weights(shared / "mobilenet_0.75_224_imagenet.weights.h5")
for name, stock in (("cifar", keras.saving.load_model(shipped_keras())), ("mobilenet", mobilenet)):
    for method in ("stock", "blur-3", "aps"):
        path = runs / f"{name}-{method}.keras"
        if not path.exists():
            (stock if method == "stock" else kerasinv.antialias(stock, method)).save(path)
PYEOF

# 2. the deployed files, then 3. every file measured the same way
for net in cifar mobilenet; do
  if [ $net = cifar ]; then
    photos=cifar10-sample; calibration=cifar10-sample; pre=(); limit=(--limit 1000)
  else
    photos=$SHARED/imagenet-samples-100.tar; calibration=$photos; pre=(--preprocess tf); limit=()
  fi
  for method in stock blur-3 aps; do
    m=$RUNS/$net-$method
    [ -f $m-float.tflite ] || $K export $m.keras $m-float.tflite --format tflite "${pre[@]}"
    [ -f $m-dynamic.tflite ] || $K export $m.keras $m-dynamic.tflite --format tflite --quantize dynamic "${pre[@]}"
    [ -f $m-int8.tflite ] || $K export $m.keras $m-int8.tflite --format tflite --quantize int8 \
      --representative $calibration "${pre[@]}"
    [ -f $m.onnx ] || $K export $m.keras $m.onnx --format onnx "${pre[@]}"
    keras_pre=(); [ $net = mobilenet ] && keras_pre=(--preprocess tf)
    for f in keras float dynamic int8 onnx; do
      case $f in keras) file=$m.keras;; onnx) file=$m.onnx;; *) file=$m-$f.tflite;; esac
      if [ $f = keras ]; then
        [ -f "$RUNS/reports/$net-$method-$f/results.json" ] || $K evaluate $file --images $photos \
          --protocols crop,shift --quiet --overwrite "${keras_pre[@]}" "${limit[@]}" \
          --output "$RUNS/reports/$net-$method-$f" > /dev/null
      else
        [ -f "$RUNS/reports/$net-$method-$f/results.json" ] || $K evaluate $file --images $photos \
          --protocols crop,shift --quiet --overwrite "${limit[@]}" \
          --output "$RUNS/reports/$net-$method-$f" > /dev/null
      fi
    done
  done
done

# 4. the table
$PY examples/deployment_table.py "$RUNS/reports" docs/results/deployment
