#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one run of under 8 minutes (`make gpu-check`):
#   1. the fast unit tests with every torch check on CUDA (SOFTMAX_LIB_DEVICE=cuda),
#   2. python -m softmax_lib.verify --device cuda (the book's check matrix, all dtypes the GPU has),
#   3. nbval over every notebook with torch on CUDA: the stored outputs must pass unchanged,
#   4. benchmarks/linear_cross_entropy.py in bfloat16 on the GPU (N = 4096, D = 1024, V = 32000, 128000).
# It stops at the first failing step. Everything is also written to _build/gpu-check.log (git-ignored),
# beginning with the GPU, the driver and the versions, for the README's record of GPU runs.
set -euo pipefail
PYTHON=${PYTHON:-python}
LOG=${LOG:-_build/gpu-check.log}
mkdir -p "$(dirname "$LOG")"
export SOFTMAX_LIB_DEVICE=cuda
exec > >(tee "$LOG") 2>&1

step() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }

step "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$PYTHON" -c "import torch, numpy; print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'numpy', numpy.__version__); assert torch.cuda.is_available(), 'torch sees no CUDA device'"

step "unit tests on CUDA"
timeout 240 "$PYTHON" -m pytest tests -m "not slow and not browser" -q -x -p no:cacheprovider

step "python -m softmax_lib.verify --device cuda"
timeout 60 "$PYTHON" -m softmax_lib.verify --device cuda

step "nbval over every notebook, torch on CUDA"
timeout 180 "$PYTHON" -m pytest book -q -x

step "linear cross-entropy benchmark, bfloat16 on the GPU"
timeout 60 "$PYTHON" benchmarks/linear_cross_entropy.py --device cuda --dtype bfloat16

step "all GPU checks passed"
