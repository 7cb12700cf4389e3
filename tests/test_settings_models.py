"""Generation settings are checked before any model loads; options reach the pipeline."""

from __future__ import annotations

import pytest

from dataigm.core.errors import DataIGMError
from dataigm.core.settings import GenerationSettings
from dataigm.stages.models import load_pipeline


def test_invalid_settings_fail_before_loading_with_one_line_each(tmp_path):
    settings = GenerationSettings(model=str(tmp_path / "does-not-exist"), scheduler="eulr",
                                  steps=0, height=500, guidance=1.0, negative_prompt="blurry",
                                  dtype="fp16", device="cpu")
    with pytest.raises(DataIGMError) as info:
        load_pipeline(settings)
    message = str(info.value)
    assert "did you mean 'euler'" in message
    assert "--steps must be" in message and "--height must be a positive multiple of 8" in message
    assert "--negative-prompt has no effect" in message and "fp16 needs a CUDA device" in message
    assert "cannot load model" not in message  # nothing was loaded


def test_missing_model_names_model_flag_and_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataIGMError, match=r"--model.*HF_HUB_OFFLINE"):
        load_pipeline(GenerationSettings(model="CompVis/stable-diffusion-v1-4", device="cpu"))
    with pytest.raises(DataIGMError, match="not a diffusers folder"):
        load_pipeline(GenerationSettings(model=str(tmp_path), device="cpu"))


@pytest.mark.parametrize(("name", "cls"), [
    ("ddim", "DDIMScheduler"), ("pndm", "PNDMScheduler"), ("lms", "LMSDiscreteScheduler"),
    ("euler", "EulerDiscreteScheduler"), ("euler_a", "EulerAncestralDiscreteScheduler"),
    ("dpmpp_2m", "DPMSolverMultistepScheduler"),
])
def test_scheduler_reaches_pipeline(tiny_model, name, cls):
    loaded = load_pipeline(GenerationSettings(model=tiny_model, scheduler=name, device="cpu",
                                              height=64, width=64))
    assert type(loaded.pipe.scheduler).__name__ == cls == loaded.scheduler
    assert loaded.revision.startswith("local:")


def test_dtype_reaches_pipeline(tiny_model):
    import torch

    loaded = load_pipeline(GenerationSettings(model=tiny_model, dtype="bf16", device="cpu"))
    assert loaded.pipe.unet.dtype == torch.bfloat16 and loaded.dtype == "bf16"
    assert loaded.safety_checker in ("off", "absent")


def test_full_preset_without_network_is_one_clear_line(tmp_path):
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "dataigm.cli", "build", "--out", str(tmp_path / "full"),
                             "--concept", "church", "--no-progress"], capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "CompVis/stable-diffusion-v1-4" in line and "--model" in line and "HF_HUB_OFFLINE" in line


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_hub_fails_at_once_instead_of_retrying(tmp_path, monkeypatch):
    """No network and no HF_HUB_OFFLINE: one connection attempt decides; the model and CLIP loads
    say why in one line and never enter huggingface_hub's retry loop."""
    import socket

    from huggingface_hub import constants

    from dataigm.core import hub_access
    from detectors.clip import ClipTextImage

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    hub_access._unreachable.cache_clear()
    assert "cannot reach" in hub_access.hub_unavailable()
    with pytest.raises(DataIGMError, match=r"not on disk and cannot reach http://127\.0\.0\.1:\d+ \(Connection"):
        ClipTextImage("openai/clip-vit-base-patch16")
    with pytest.raises(DataIGMError, match=r"cannot reach .*only models already in the Hugging Face cache load"):
        load_pipeline(GenerationSettings(model="CompVis/stable-diffusion-v1-4", device="cpu"))
    with socket.socket() as server:  # an endpoint that answers is reachable
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub_access.hub_unavailable() is None
    hub_access._unreachable.cache_clear()
