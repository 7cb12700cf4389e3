"""Curation throughput, side by side in one run.

NudeNet: the package's own `detect` loop (from files, and on decoded arrays), the bare ONNX model,
and dataigm's batched path on the same decoded arrays (curation decodes every image once for all
detectors), with a check that the detections are identical. CLIP (ViT-B/32 architecture, random
weights): image embeddings in fp32 and bf16, and the largest zero-shot score difference between them,
beside the CPU's bf16 capability and what `--dtype auto` picks on it (bf16 only where native).

    uv run python benchmarks/judges.py [--images ../shared/fixtures/images] [--repeat 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:7.1f} images/s"


def nudenet(files: list[Path], arrays: list[np.ndarray], batch_size: int) -> None:
    import nudenet.nudenet as package

    from detectors.nudenet_judge import NudeNetJudge

    judge = NudeNetJudge(batch_size=batch_size)
    det = judge._detector
    start = time.perf_counter()
    from_files = [det.detect(str(p)) for p in files]
    files_s = time.perf_counter() - start
    start = time.perf_counter()
    plain = [det.detect(np.ascontiguousarray(a[..., ::-1])) for a in arrays]
    plain_s = time.perf_counter() - start
    blobs = [package._read_image(np.ascontiguousarray(a[..., ::-1]), det.input_width)[0] for a in arrays]
    start = time.perf_counter()
    for i in range(0, len(blobs), batch_size):
        det.onnx_session.run(None, {det.input_name: np.vstack(blobs[i : i + batch_size])})
    bare_s = time.perf_counter() - start
    start = time.perf_counter()
    ours = judge.detect(arrays)
    ours_s = time.perf_counter() - start

    def key(d: list[dict]) -> list:
        return sorted((x["class"], x["score"], tuple(x["box"])) for x in d)

    same = all(key(a) == key(b) for a, b in zip(plain, ours, strict=True)) and all(
        key(a) == key(b) for a, b in zip(from_files, ours, strict=True))
    print(f"nudenet package detect(path) loop  : {_rate(len(files), files_s)}  (decodes each file itself)")
    print(f"nudenet package detect(array) loop : {_rate(len(files), plain_s)}")
    print(f"nudenet bare ONNX model (batch {batch_size}): {_rate(len(files), bare_s)}  (no pre/post-processing)")
    print(f"nudenet dataigm batched            : {_rate(len(files), ours_s)}  (batch {batch_size})")
    print(f"ratio dataigm / package loop       : {plain_s / ours_s:7.2f}x   identical detections: {same}")


def clip(arrays: list[np.ndarray]) -> None:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    from dataigm.core.precision import capability, resolve_precision
    from detectors.clip import BF16_TOLERANCE
    from detectors.clip_zero_shot import ClipZeroShot

    folder = Path(tempfile.mkdtemp()) / "clip-vit-b32-random"
    torch.manual_seed(0)
    CLIPModel(CLIPConfig(projection_dim=512)).save_pretrained(folder)
    tokenizer_dir = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "clip-tokenizer"
    CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 224},
                                                     crop_size={"height": 224, "width": 224}),
                  tokenizer=CLIPTokenizer.from_pretrained(tokenizer_dir)).save_pretrained(folder)
    texts = {"positive": ["a photo of a church"], "negative": ["a photo of a person", "a painting"]}
    scores, rates = {}, {}
    for dtype in ("fp32", "bf16"):
        judge = ClipZeroShot(str(folder), **texts, dtype=dtype)
        judge.judge(arrays[:4])  # warm-up
        start = time.perf_counter()
        scores[dtype] = np.array([v.score for v in judge.judge(arrays)])
        rates[dtype] = len(arrays) / (time.perf_counter() - start)
    diff = float(np.abs(scores["fp32"] - scores["bf16"]).max())
    device = judge.clip.device
    cpu = capability(device)
    print(f"clip zero-shot ViT-B/32 fp32       : {rates['fp32']:7.1f} images/s  on {device}: {cpu}")
    print(f"clip zero-shot ViT-B/32 bf16       : {rates['bf16']:7.1f} images/s  ({rates['bf16'] / rates['fp32']:.2f}x)"
          f"  on {device}: {cpu}")
    print(f"max |score bf16 - score fp32|      : {diff:.4f}  (stated tolerance {BF16_TOLERANCE})")
    print(f"--dtype auto picks                 : {resolve_precision('auto', device)} on this {device}")


def main() -> None:
    default = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "images"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=default)
    parser.add_argument("--repeat", type=int, default=4, help="passes over the images")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    from dataigm.stages.models import quiet_libraries

    quiet_libraries()
    files = sorted(p for p in args.images.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg")) * args.repeat
    start = time.perf_counter()
    arrays = [np.asarray(Image.open(p).convert("RGB")) for p in files]
    decode_s = time.perf_counter() - start
    print(f"{len(files)} images from {args.images}; decoding them once: {_rate(len(files), decode_s)}")
    nudenet(files, arrays, args.batch_size)
    clip(arrays)


if __name__ == "__main__":
    main()
