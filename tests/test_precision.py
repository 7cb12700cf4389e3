"""`--dtype auto`: bfloat16 only where the device computes it natively (CUDA with bf16, CPUs with
AVX512-BF16 or AMX), float32 elsewhere; the choice is logged once and recorded."""

from __future__ import annotations

import pytest

from dataigm.core.errors import DataIGMError
from dataigm.core.precision import bf16_native, chosen_precision, cpu_flags, resolve_precision

AVX2_EPYC = {"fpu", "sse4_2", "avx", "avx2", "fma", "f16c"}  # the AMD EPYC where bf16 ran at 0.14x fp32
SKYLAKE_AVX512 = AVX2_EPYC | {"avx512f", "avx512bw", "avx512vl", "avx512dq"}  # AVX512 without bf16
COOPER_LAKE = SKYLAKE_AVX512 | {"avx512_bf16"}
SAPPHIRE_RAPIDS = COOPER_LAKE | {"amx_tile", "amx_bf16", "amx_int8"}


@pytest.mark.parametrize(("flags", "native"), [
    (AVX2_EPYC, False), (SKYLAKE_AVX512, False), (COOPER_LAKE, True), (SAPPHIRE_RAPIDS, True),
    ({"amx_bf16"}, True), (set(), False),
])
def test_cpu_bf16_is_native_only_with_avx512_bf16_or_amx(flags, native):
    assert bf16_native("cpu", flags) is native
    assert resolve_precision("auto", "cpu", flags) == ("bf16" if native else "fp32")


@pytest.mark.parametrize(("cuda_bf16", "expected"), [(True, "bf16"), (False, "fp32")])
def test_cuda_follows_the_device(cuda_bf16, expected):
    assert resolve_precision("auto", "cuda", flags=AVX2_EPYC, cuda_bf16=cuda_bf16) == expected
    assert resolve_precision("auto", "cuda:1", flags=SAPPHIRE_RAPIDS, cuda_bf16=cuda_bf16) == expected


def test_an_explicit_precision_is_kept_and_a_bad_one_refused():
    assert resolve_precision("bf16", "cpu", AVX2_EPYC) == "bf16"
    assert resolve_precision("fp32", "cpu", SAPPHIRE_RAPIDS) == "fp32"
    with pytest.raises(DataIGMError, match="one of auto, fp32, bf16"):
        resolve_precision("fp16", "cpu", SAPPHIRE_RAPIDS)


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu avx2 avx512f amx_bf16\n\n"
                   "processor\t: 1\nflags\t\t: fpu avx2 avx512f amx_bf16\n")
    assert cpu_flags(x86) == {"fpu", "avx2", "avx512f", "amx_bf16"}
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16\n")
    assert cpu_flags(arm) == {"fp", "asimd", "bf16"} and not bf16_native("cpu", cpu_flags(arm))
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_the_choice_is_logged_once(monkeypatch):
    from dataigm.core import precision

    lines: list[str] = []
    monkeypatch.setattr(precision.log, "info", lambda message, *args: lines.append(message % args))
    chosen_precision.cache_clear()
    first = chosen_precision("auto", "cpu")
    assert chosen_precision("auto", "cpu") == first == resolve_precision("auto", "cpu")
    assert chosen_precision("fp32", "cpu") == "fp32"  # an explicit choice is not announced
    chosen_precision.cache_clear()
    assert len(lines) == 1 and lines[0].startswith(f"CLIP precision: {first} on cpu (auto: ")


def test_the_choice_is_recorded_in_the_plan_and_the_encoder(tmp_path):
    from dataigm.core.plan import preset_config
    from dataigm.stages.prepare import prepare
    from detectors.clip import ClipEncoder
    from tests.judge_fixtures import build_tiny_clip

    expected = resolve_precision("auto", "cpu")
    plan = prepare(preset_config("smoke", str(tmp_path / "rel"), concepts=["church"], image_limit=1))
    assert plan.config.curation.clip_dtype == expected  # the plan says what ran, not "auto"
    encoder = ClipEncoder(build_tiny_clip(tmp_path / "clip"), device="cpu")
    assert encoder.dtype == expected  # a judge trained on it records this in its config
    assert str(next(encoder.model.parameters()).dtype) == {"bf16": "torch.bfloat16", "fp32": "torch.float32"}[expected]
