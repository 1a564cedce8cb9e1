#!/usr/bin/env bash
# The benchmark table on a CUDA machine (H100/H200): one short run, output under results/benchmarks/.
# Usage (from the repository root, with the project installed): bash benchmarks/gpu.sh [OUT_DIR]
set -euo pipefail
out=${1:-results/benchmarks}
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name())"
python -m netloupe bench --device cuda --models resnet50,efficientnet-lite0 --batches 1,64 \
    --scorecam resnet50,efficientnet-lite0 --memory-batch 64 --repeats 10 --out "$out"
