"""Generation throughput: a naive diffusers loop vs dataigm's path, on the same prompts, in one run.

    uv run python benchmarks/generation.py                 # CPU: tiny random-weight model
    uv run python benchmarks/generation.py --arch sd15     # GPU: SD 1.5 architecture, random weights

Naive baseline: StableDiffusionPipeline.from_pretrained, fp32, batch 1, default settings, one PNG
per image at the default compression level, written one file at a time.
dataigm: load_pipeline + generate_rows (batched, one generator per image, fp16/bf16 on GPU,
channels_last, PNG level 1 + sha256 on a thread pool overlapped with the model) + a parquet shard.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Dense bf16/fp16 tensor-core peaks (TFLOP/s) and SD 1.5 cost per image (DESIGN.md section 6).
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0}
UNET_CFG_STEP_TFLOP, VAE_DECODE_TFLOP = 1.61, 2.5


class TimedPipe:
    """Wraps a pipeline call to measure time inside the model (the rest is host-side time)."""

    def __init__(self, pipe, sync):
        self.pipe, self.sync, self.seconds = pipe, sync, 0.0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        out = self.pipe(*args, **kwargs)
        self.sync()
        self.seconds += time.perf_counter() - start
        return out

    def __getattr__(self, name):
        return getattr(self.pipe, name)


def naive(model: str, prompts: list[str], seeds: list[int], steps: int, size: int, out: Path) -> dict:
    import torch
    from diffusers import StableDiffusionPipeline

    device = "cuda" if torch.cuda.is_available() else "cpu"
    pipe = StableDiffusionPipeline.from_pretrained(model).to(device)
    pipe.set_progress_bar_config(disable=True)
    start = time.perf_counter()
    model_s = save_s = 0.0
    for i, (prompt, seed) in enumerate(zip(prompts, seeds, strict=True)):
        t = time.perf_counter()
        image = pipe(prompt, num_inference_steps=steps, height=size, width=size,
                     generator=torch.Generator(device).manual_seed(seed)).images[0]
        model_s += time.perf_counter() - t
        t = time.perf_counter()
        image.save(out / f"{i:05d}.png")
        save_s += time.perf_counter() - t
    wall = time.perf_counter() - start
    return {"wall_s": wall, "images_per_s": len(prompts) / wall, "model_s": model_s, "png_write_s": save_s}


def dataigm_path(model: str, prompts: list[str], seeds: list[int], steps: int, size: int,
                 batch: int, dtype: str, compile_: bool, out: Path) -> dict:
    import torch

    from dataigm.core.schema import image_features
    from dataigm.core.settings import GenerationSettings
    from dataigm.core.storage import Store
    from dataigm.core.taxonomy import load_taxonomy
    from dataigm.stages.generate import ImageJob, generate_rows
    from dataigm.stages.models import load_pipeline
    from dataigm.stages.release import rows_to_table

    settings = GenerationSettings(model=model, steps=steps, height=size, width=size, dtype=dtype,
                                  batch_size=batch, compile=compile_)
    loaded = load_pipeline(settings)
    sync = torch.cuda.synchronize if loaded.device == "cuda" else (lambda: None)
    loaded.pipe = TimedPipe(loaded.pipe, sync)
    rows = [{"id": f"bench-{i}", "category": "bench", "concept": "church", "subclass": "x", "role": "forget",
             "kind": None, "pair_id": f"bench-{i}", "split": "train", "prompt": p, "label": 1,
             "seeds": [s], "source": "benchmark", "source_id": str(i)}
            for i, (p, s) in enumerate(zip(prompts, seeds, strict=True))]
    jobs = [ImageJob(r, 0) for r in rows]
    if compile_:  # compile and autotune outside the timed region, on a throwaway batch
        generate_rows(loaded, jobs[:batch], settings, ThreadPoolExecutor(2))
        loaded.pipe.seconds = 0.0
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        image_rows = generate_rows(loaded, jobs, settings, pool)
    generated = time.perf_counter()
    table = rows_to_table(image_rows, image_features(load_taxonomy().concept("church")))
    Store(str(out)).write_table("shard-00000.parquet", table)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "images_per_s": len(prompts) / wall, "model_s": loaded.pipe.seconds,
            "host_side_s": (generated - start) - loaded.pipe.seconds, "parquet_write_s": wall - (generated - start),
            "gpu_idle_fraction": 1 - loaded.pipe.seconds / wall, "device": loaded.device, "dtype": loaded.dtype,
            "batch_size": batch, "accelerations": loaded.accelerations}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=("tiny", "sd15"), default="tiny")
    parser.add_argument("--model", help="a local diffusers folder instead of a random-weight one")
    parser.add_argument("--images", type=int, help="default: 64 (tiny), 32 (sd15)")
    parser.add_argument("--steps", type=int, help="default: 20 (tiny), 50 (sd15)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()

    import torch

    from dataigm.core.ids import image_seed
    from dataigm.stages.models import quiet_libraries
    from dataigm.stages.tiny_models import TINY_SIZE, build_tiny_pipeline

    quiet_libraries()
    tiny = args.arch == "tiny"
    n = args.images or (64 if tiny else 32)
    steps = args.steps or (20 if tiny else 50)
    size = TINY_SIZE if tiny else 512
    work = Path(tempfile.mkdtemp(prefix="dataigm-bench-"))
    model = args.model or str(build_tiny_pipeline(work / f"model-{args.arch}", arch=args.arch))
    prompts = [f"a photo of a church number {i} on a hill at sunset" for i in range(n)]
    seeds = [image_seed(0, f"bench-{i}", 0) for i in range(n)]
    (work / "naive").mkdir()
    (work / "dataigm").mkdir()

    results = {}
    if not args.skip_naive:
        results["naive"] = naive(model, prompts, seeds, steps, size, work / "naive")
    results["dataigm"] = dataigm_path(model, prompts, seeds, steps, size, args.batch_size, args.dtype,
                                      args.compile, work / "dataigm")
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    print(f"device: {device}; arch: {args.arch}; {n} images, {steps} steps, {size}px, CFG on")
    for name, r in results.items():
        parts = ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items())
        print(f"{name:8s} {r['images_per_s']:8.3f} images/s  ({parts})")
    if "naive" in results:
        print(f"ratio dataigm/naive: {results['dataigm']['images_per_s'] / results['naive']['images_per_s']:.2f}x")
    if not tiny and torch.cuda.is_available():
        tflop = steps * UNET_CFG_STEP_TFLOP + VAE_DECODE_TFLOP
        peak = next((v for k, v in PEAK_TFLOPS.items() if k in device), None)
        if peak:
            frac = results["dataigm"]["images_per_s"] * tflop / peak
            print(f"fraction of bf16 peak: {frac:.1%} ({tflop:.1f} TFLOP/image, peak {peak} TFLOP/s)")
    (work / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
