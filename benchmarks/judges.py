"""Judge throughput in one run: NudeNet one file at a time (the package's plain `detect` loop) vs
dataigm's batched path, and the CLIP-head judge (ViT-B/32 architecture, random weights).

    uv run python benchmarks/judges.py [--images ../shared/fixtures/images] [--repeat 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def main() -> None:
    default = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "images"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=default)
    parser.add_argument("--repeat", type=int, default=4, help="passes over the images")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    from detectors.nudenet_judge import NudeNetJudge

    files = sorted(p for p in args.images.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    files = files * args.repeat
    judge = NudeNetJudge(batch_size=args.batch_size)

    start = time.perf_counter()
    plain = [judge._detector.detect(str(p)) for p in files]
    plain_s = time.perf_counter() - start

    start = time.perf_counter()
    arrays = [np.asarray(Image.open(p).convert("RGB")) for p in files]
    ours = judge.detect(arrays)
    ours_s = time.perf_counter() - start
    same = all(sorted((d["class"], round(d["score"], 5)) for d in a) ==
               sorted((d["class"], round(d["score"], 5)) for d in b) for a, b in zip(plain, ours, strict=True))

    print(f"{len(files)} images from {args.images}")
    print(f"nudenet plain detect loop : {len(files) / plain_s:7.1f} images/s")
    print(f"nudenet dataigm batched   : {len(files) / ours_s:7.1f} images/s  (batch {args.batch_size}, "
          f"decode included)")
    print(f"ratio dataigm/plain       : {plain_s / ours_s:7.2f}x   identical detections: {same}")

    import torch
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    from detectors.clip_head import ClipEncoder, Head, head_probs

    folder = Path(tempfile.mkdtemp()) / "clip-vit-b32-random"
    torch.manual_seed(0)
    CLIPVisionModelWithProjection(CLIPVisionConfig(projection_dim=512)).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(folder)
    encoder = ClipEncoder(str(folder), batch_size=32)
    head = Head(encoder.dim, 1).eval()
    pil = [Image.fromarray(a) for a in arrays]
    start = time.perf_counter()
    head_probs(head, encoder.embed(pil))
    clip_s = time.perf_counter() - start
    print(f"clip-head (ViT-B/32, fp32): {len(pil) / clip_s:7.1f} images/s  (batch 32, {encoder.device})")


if __name__ == "__main__":
    main()
