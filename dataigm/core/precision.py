"""The precision of the CLIP judges and of curation, chosen by the hardware.

`auto` (the default everywhere) picks bfloat16 only where the device computes it natively: CUDA
devices with bf16 arithmetic, and CPUs with AVX512-BF16 or AMX. Elsewhere it picks float32, because
emulated bf16 is slow: the judges benchmark measured CLIP at 3.1x the fp32 speed in bf16 on a CPU
with native bf16, but 0.14x on an AVX2-only CPU (AMD EPYC: fp32 10.7 images/s, bf16 1.5). Scores
stay within detectors.clip.BF16_TOLERANCE of fp32 either way. The choice is logged once per process
and device, and recorded where precision is recorded (the build plan, a judge's config).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

from dataigm.core.errors import DataIGMError
from dataigm.core.logs import get

PRECISIONS = ("auto", "fp32", "bf16")
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})  # /proc/cpuinfo flags of native bf16 arithmetic
CPUINFO = Path("/proc/cpuinfo")
log = get("precision")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def bf16_native(device: str, flags: Iterable[str] | None = None, cuda_bf16: bool | None = None) -> bool:
    """Whether `device` computes bfloat16 natively: a CUDA device with bf16 arithmetic (`cuda_bf16`,
    asked of torch when None), or a CPU whose `flags` (read from /proc/cpuinfo when None) include
    AVX512-BF16 or AMX-BF16."""
    if device.startswith("cuda"):
        if cuda_bf16 is None:
            import torch

            cuda_bf16 = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False))
        return cuda_bf16
    return bool(BF16_CPU_FLAGS & set(cpu_flags() if flags is None else flags))


def resolve_precision(dtype: str, device: str, flags: Iterable[str] | None = None,
                      cuda_bf16: bool | None = None) -> str:
    """`dtype` itself, or for "auto" the precision `device` computes natively (bf16, else fp32)."""
    if dtype not in PRECISIONS:
        raise DataIGMError(f"CLIP precision must be one of {', '.join(PRECISIONS)}, got {dtype!r}")
    if dtype != "auto":
        return dtype
    return "bf16" if bf16_native(device, flags, cuda_bf16) else "fp32"


def default_device() -> str:
    """Where the CLIP judges run: CUDA when there is one, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@cache
def chosen_precision(dtype: str, device: str | None = None) -> str:
    """`resolve_precision` on this machine, logged once per process for each request and device."""
    device = device or default_device()
    found = resolve_precision(dtype, device)
    if dtype == "auto":
        log.info("CLIP precision: %s on %s (auto: %s)", found, device, capability(device))
    return found


def capability(device: str = "cpu") -> str:
    """The device's bf16 capability in words, e.g. "AVX512 with amx_bf16, avx512_bf16: bf16 native"
    or "AVX2, no AVX512-BF16/AMX: bf16 emulated, fp32 used" (what benchmarks print beside figures)."""
    if device.startswith("cuda"):
        import torch

        name = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA device"
        return f"{name}: bf16 {'native' if bf16_native(device) else 'not native, fp32 used'}"
    import torch

    simd = torch.backends.cpu.get_cpu_capability()
    native = sorted(BF16_CPU_FLAGS & cpu_flags())
    if native:
        return f"{simd} with {', '.join(native)}: bf16 native"
    return f"{simd}, no AVX512-BF16/AMX: bf16 emulated, fp32 used"
