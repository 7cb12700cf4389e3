"""Typed generation settings and their checks, run before any model is loaded."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from dataigm.core.defaults import default_model
from dataigm.core.errors import DataIGMError, suggest
from dataigm.core.ids import MAX_SEED

SCHEDULERS = {
    "ddim": "DDIMScheduler",
    "pndm": "PNDMScheduler",
    "lms": "LMSDiscreteScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler",
    "dpmpp_2m": "DPMSolverMultistepScheduler",
    "heun": "HeunDiscreteScheduler",
    "unipc": "UniPCMultistepScheduler",
    "ddpm": "DDPMScheduler",
}
DTYPES = ("auto", "fp32", "fp16", "bf16")
DEVICES = ("auto", "cpu", "cuda")
SAFETY_POLICIES = ("off", "on")
GUIDANCE_RANGE = (0.0, 50.0)  # classifier-free guidance scales dataigm accepts (flags and imported rows)
LEGACY_KEYS = ("extra",)  # recorded by older plans, never read


@dataclass(frozen=True)
class GenerationSettings:
    """Everything that decides the pixels of an image, besides its prompt and seed."""

    model: str = default_model("generation")
    revision: str | None = None
    scheduler: str = "default"
    steps: int = 50
    guidance: float = 7.5
    height: int = 512
    width: int = 512
    negative_prompt: str = ""
    dtype: str = "auto"
    device: str = "auto"
    safety_checker: str = "off"
    compile: bool = False
    base_seed: int = 0
    # CPU intra-op threads (0: torch's default). On CPU the thread count changes float reduction
    # order and so pixels: pin it to get the same bytes under every engine (Ray pins 1 per task).
    cpu_threads: int = 0
    # Throughput knobs: they never change which seed or image belongs to which row.
    batch_size: int = 8

    @classmethod
    def field_names(cls) -> set[str]:
        """The settings a build can override."""
        return {f.name for f in dataclasses.fields(cls)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GenerationSettings:
        """Settings as a plan or manifest recorded them (older plans also carry an unused `extra`)."""
        from dataigm.core.errors import UnknownNameError

        d = {k: v for k, v in d.items() if k not in LEGACY_KEYS}
        for key in d:
            if key not in cls.field_names():
                raise UnknownNameError("generation setting", key, cls.field_names())
        return cls(**d)

    def problems(self, *, cuda_available: bool) -> list[str]:
        """One message per invalid or incompatible setting (empty: valid)."""
        out = []
        if self.scheduler != "default" and self.scheduler not in SCHEDULERS:
            out.append(f"--scheduler {self.scheduler!r} is unknown{suggest(self.scheduler, SCHEDULERS)}"
                       f" (known: default, {', '.join(SCHEDULERS)})")
        if not isinstance(self.steps, int) or not 1 <= self.steps <= 1000:
            out.append(f"--steps must be an integer in 1..1000, got {self.steps!r}")
        if not GUIDANCE_RANGE[0] <= self.guidance <= GUIDANCE_RANGE[1]:
            out.append(f"--guidance must be in {GUIDANCE_RANGE[0]:g}..{GUIDANCE_RANGE[1]:g}, got {self.guidance}")
        for name in ("height", "width"):
            value = getattr(self, name)
            if value < 8 or value % 8:
                out.append(f"--{name} must be a positive multiple of 8, got {value}")
        if self.negative_prompt and self.guidance <= 1:
            out.append("--negative-prompt has no effect without classifier-free guidance "
                       f"(--guidance {self.guidance} <= 1)")
        if self.dtype not in DTYPES:
            out.append(f"--dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.device not in DEVICES:
            out.append(f"--device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        elif self.device == "cuda" and not cuda_available:
            out.append("--device cuda asked, but no CUDA device is available")
        if self.dtype == "fp16" and self.resolved_device(cuda_available) == "cpu":
            out.append("--dtype fp16 needs a CUDA device; use bf16 or fp32 on CPU")
        if self.safety_checker not in SAFETY_POLICIES:
            out.append(f"--safety-checker must be one of {', '.join(SAFETY_POLICIES)}")
        if self.batch_size < 1:
            out.append(f"--batch-size must be >= 1, got {self.batch_size}")
        if not 0 <= self.base_seed <= MAX_SEED:
            out.append(f"--seed must be in 0..2**64-1, got {self.base_seed}")
        return out

    def check(self, *, cuda_available: bool | None = None) -> GenerationSettings:
        """Raise one DataIGMError listing every problem; return self when valid."""
        if cuda_available is None:
            import torch

            cuda_available = torch.cuda.is_available()
        problems = self.problems(cuda_available=cuda_available)
        if problems:
            raise DataIGMError("invalid generation settings: " + "; ".join(problems))
        return self

    def resolved_device(self, cuda_available: bool) -> str:
        """The device generation runs on ("auto": CUDA when available)."""
        if self.device != "auto":
            return self.device
        return "cuda" if cuda_available else "cpu"

    def resolved_dtype(self, device: str) -> str:
        """The model's precision on `device` ("auto": fp16 on CUDA, fp32 on CPU)."""
        if self.dtype != "auto":
            return self.dtype
        return "fp16" if device == "cuda" else "fp32"

    def pixel_settings(self) -> dict[str, Any]:
        """The settings that decide pixels (used in the shard config hash)."""
        return dataclasses.asdict(self)  # batch size included: batch composition moves CPU pixels
