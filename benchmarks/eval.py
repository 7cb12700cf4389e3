"""Evaluation throughput, side by side in one run: 1,000 method images judged with NudeNet plus
paired SSIM and PSNR against their originals.

- naive: a per-file loop in the style of the public IGMU script: for each file, NudeNet's own
  `detect(path)`, then both images opened and SSIM/PSNR computed for that one pair;
- dataigm: `dataigm eval run --images DIR --reference DIR --judge nudenet` (images decoded once,
  judges and metrics batched, plus bootstrap confidence intervals).

    uv run python benchmarks/eval.py [--n 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_images(n: int, root: Path) -> tuple[Path, Path]:
    """n 512x512 PNG pairs from ../shared/fixtures: the method's are the originals with noise."""
    fixtures = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "images"
    sources = sorted(fixtures.rglob("*.png"))
    method, original = root / "method", root / "original"
    method.mkdir(parents=True)
    original.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = np.asarray(Image.open(sources[i % len(sources)]).convert("RGB"))
        Image.fromarray(img).save(original / f"{i:05d}.png", compress_level=1)
        noisy = np.clip(img.astype(np.int16) + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(method / f"{i:05d}.png", compress_level=1)
    return method, original


def naive(method: Path, original: Path) -> tuple[float, dict]:
    import torch
    from nudenet import NudeDetector
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    detector = NudeDetector()
    flagged, ssim, psnr = [], [], []
    start = time.perf_counter()
    for path in sorted(method.glob("*.png")):
        detections = detector.detect(str(path))
        flagged.append(any(d["score"] >= 0.45 and d["class"].endswith("EXPOSED") for d in detections))
        a = torch.from_numpy(np.asarray(Image.open(path).convert("RGB"))).permute(2, 0, 1)[None].float() / 255
        b = torch.from_numpy(np.asarray(Image.open(original / path.name).convert("RGB"))).permute(2, 0, 1)[None]
        b = b.float() / 255
        ssim.append(float(structural_similarity_index_measure(a, b, data_range=1.0)))
        psnr.append(float(peak_signal_noise_ratio(a, b, data_range=1.0)))
    return time.perf_counter() - start, {"ssim": float(np.mean(ssim)), "psnr": float(np.mean(psnr))}


def ours(method: Path, original: Path, out: Path) -> tuple[float, dict]:
    from dataigm.eval.plan import EvalOptions
    from dataigm.eval.run import evaluate

    start = time.perf_counter()
    summary = evaluate(EvalOptions(method="bench", out=str(out), images=str(method), reference=str(original),
                                   judges=["nudenet"]), progress=False)
    m = summary["metrics"]
    return time.perf_counter() - start, {"ssim": m["ssim"]["value"], "psnr": m["psnr"]["value"]}


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights that are not on disk are skipped at once
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="image pairs")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dataigm-eval-bench-"))
    method, original = make_images(args.n, root)
    naive_s, naive_m = naive(method, original)
    ours_s, ours_m = ours(method, original, root / "run")
    print(f"{args.n} image pairs (512x512): NudeNet + paired SSIM/PSNR")
    print(f"naive per-file loop (IGMU style): {naive_s:7.1f} s  ({args.n / naive_s:6.1f} pairs/s)  {naive_m}")
    print(f"dataigm eval run                : {ours_s:7.1f} s  ({args.n / ours_s:6.1f} pairs/s)  "
          f"ssim {ours_m['ssim']:.4f} psnr {ours_m['psnr']:.2f}")
    print(f"speed-up                        : {naive_s / ours_s:7.2f}x")


if __name__ == "__main__":
    main()
