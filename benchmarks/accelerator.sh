#!/usr/bin/env bash
# The accelerator measurements, one prepared script (a few minutes on one GPU): training throughput
# and peak memory of every model kind's cpu and paper presets, and the CRF kernel at the paper's
# shapes (batch 128, CoNLL's 9 IOB2 tags, the length buckets up to 128 words).
#
#   benchmarks/accelerator.sh [DATA_ROOT] [OUT_DIR]      # from the repository root
#
# Writes OUT_DIR/train_step.jsonl and OUT_DIR/crf.jsonl (one JSON line per measurement).
set -euo pipefail
root=${1:-../shared/data}
out=${2:-.}
cd "$(dirname "$0")/.."
nvidia-smi -L 2>/dev/null || true
python3 benchmarks/train_step.py --presets cpu,paper,charner_cpu,charner_paper,bts_cpu,bts_paper \
  --root "$root" --steps 50 | tee "$out/train_step.jsonl"
python3 benchmarks/crf.py --batch 128 --shapes 32x9,64x9,128x9 | tee "$out/crf.jsonl"
