#!/usr/bin/env bash
# The benchmark table on a CUDA machine (H100/H200): one short run, output under results/benchmarks/.
# Usage (from the repository root, with the project installed): bash benchmarks/gpu.sh [OUT_DIR]
# Writes cuda.{json,md,png} (netloupe vs the peers, interleaved rounds; Score-CAM under bf16 autocast)
# and overhead_cuda.{json,md} (one Grad-CAM call taken apart, stage by stage).
set -euo pipefail
out=${1:-results/benchmarks}
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name())"
python -m netloupe bench --device cuda --models resnet50,efficientnet-lite0 --batches 1,64 \
    --scorecam resnet50,efficientnet-lite0 --memory-batch 64 --repeats 20 --scorecam-repeats 3 --out "$out"
python benchmarks/overhead.py --device cuda --batches 1,64 --rounds 50 --out "$out/overhead_cuda.json"
