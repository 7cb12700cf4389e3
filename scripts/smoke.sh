#!/usr/bin/env bash
# Builds a small, complete DataIGM release folder on the embedded default (no GPU, no Hub):
# a tiny random-weight Stable Diffusion pipeline built in code, every concept, end to end.
set -euo pipefail
source "$(dirname "$0")/ensure-uv.sh"
out="${1:-smoke-release}"
HF_HUB_OFFLINE=1 uv run --frozen dataigm build --preset smoke --out "$out"
echo "load it with: uv run python -c \"from datasets import load_dataset; print(load_dataset('$out', 'nudity'))\""
