#!/usr/bin/env bash
# The main job on the embedded default (no GPU, no Hub): tiny random-weight Stable Diffusion and CLIP
# models built in code, then the whole loop, offline:
#   build every concept -> train a judge on that release -> re-curate with it (no generation)
#   -> evaluate a model against the release -> one HTML report of it all.
set -euo pipefail
source "$(dirname "$0")/ensure-uv.sh"
out="${1:-smoke-release}"
export HF_HUB_OFFLINE=1
run() { echo "+ dataigm $*" >&2; uv run --frozen dataigm "$@"; }
run build --preset smoke --out "$out"
run train-judge object "$out" --backbone "$out/_build/tiny-clip" --out "$out-work/judge-object"
run curate "$out" --judge "$out-work/judge-object"
run eval run "$out" --config church --method tiny-original --model "$out/_build/tiny-model" \
    --out "$out-work/eval-church" --category-judge "$out-work/judge-object" \
    --clip "$out/_build/tiny-clip" --cmmd-clip "$out/_build/tiny-clip"
run report "$out" "$out-work/judge-object" "$out-work/eval-church" --out "$out-report.html"
echo "done: the release is $out (load it: uv run python -c \"from datasets import load_dataset; print(load_dataset('$out', 'nudity'))\"), the report $out-report.html"
