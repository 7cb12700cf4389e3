"""Generation options through `dataigm build`: safety-checker policy, images per prompt, compile."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dataigm.core.settings import GenerationSettings
from dataigm.stages.models import load_pipeline
from tests.conftest import load_release, smoke_build


@pytest.fixture(scope="module")
def model_with_checker(tiny_model, tmp_path_factory) -> str:
    """The tiny pipeline plus a tiny random StableDiffusionSafetyChecker that flags everything."""
    from diffusers import StableDiffusionPipeline
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    pipe = StableDiffusionPipeline.from_pretrained(tiny_model)
    config = CLIPConfig(
        text_config={"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
                     "num_hidden_layers": 2},
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_attention_heads": 4,
                       "num_hidden_layers": 2, "image_size": 32, "patch_size": 8},
        projection_dim=32)
    checker = StableDiffusionSafetyChecker(config)
    with torch.no_grad():  # every concept threshold below any cosine: every image is flagged
        checker.concept_embeds_weights.fill_(-10.0)
    flagged = StableDiffusionPipeline(
        vae=pipe.vae, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer, unet=pipe.unet,
        scheduler=pipe.scheduler, safety_checker=checker,
        feature_extractor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=32))
    path = tmp_path_factory.mktemp("models") / "tiny-with-checker"
    flagged.save_pretrained(path)
    return str(path)


def test_safety_checker_off_by_default_and_recorded(model_with_checker):
    loaded = load_pipeline(GenerationSettings(model=model_with_checker, device="cpu", height=64, width=64))
    assert loaded.pipe.safety_checker is None and loaded.safety_checker == "off"


def test_flagged_images_are_never_real_samples(model_with_checker, tmp_path):
    out = tmp_path / "release"
    smoke_build(out, ["church"], image_limit=1, model=model_with_checker, safety_checker="on")
    rows = [r for split in load_release(out, "church").values() for r in split]
    assert rows
    for row in rows:
        assert row["safety_checker"] == "on" and row["status"] == "dropped"
        assert "safety checker flagged" in row["reason"]
        assert {"safety_checker", "blank"} <= {v["check"] for v in row["verdicts"] if v["decision"]}
        assert {"flagged", "blank_image"} <= set(row["reason_codes"])


def test_images_per_prompt_gives_distinct_seeds(tmp_path):
    out = tmp_path / "release"
    smoke_build(out, ["church"], image_limit=1, images_per_prompt=3)
    rows = [r for split in load_release(out, "church").values() for r in split]
    by_prompt: dict[str, list[dict]] = {}
    for r in rows:
        by_prompt.setdefault(r["id"].rsplit("-", 1)[0], []).append(r)
    for images in by_prompt.values():
        assert sorted(r["image_index"] for r in images) == [0, 1, 2], [r["id"] for r in images]
        assert len({r["seed"] for r in images}) == 3 and len({r["sha256"] for r in images}) == 3


def test_compile_and_dtype_flags_are_recorded(tiny_model):
    loaded = load_pipeline(GenerationSettings(model=tiny_model, device="cpu", compile=True, dtype="bf16"))
    assert "torch_compile" in loaded.accelerations
    assert type(loaded.pipe.unet).__name__ == "OptimizedModule"


def test_cli_flags_reach_the_rows(tmp_path, tiny_model):
    import subprocess
    import sys

    out = tmp_path / "release"
    result = subprocess.run(
        [sys.executable, "-m", "dataigm.cli", "build", "--preset", "smoke", "--out", str(out), "--concept",
         "church", "--image-limit", "1", "--model", tiny_model, "--scheduler", "euler_a", "--steps", "3",
         "--guidance", "5", "--height", "32", "--width", "48", "--negative-prompt", "blurry",
         "--dtype", "bf16", "--batch-size", "3", "--images-per-prompt", "1", "--no-progress"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    row = load_release(out, "church", split="train")[0]
    assert (row["scheduler"], row["num_inference_steps"], row["guidance_scale"]) == (
        "EulerAncestralDiscreteScheduler", 3, 5.0)
    assert (row["height"], row["width"], row["negative_prompt"], row["dtype"]) == (32, 48, "blurry", "bf16")
    assert row["image"].size == (48, 32) and row["model_id"] == tiny_model
    assert Path(tiny_model).exists() and row["model_revision"].startswith("local:")
