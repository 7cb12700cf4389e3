"""Faults: a build SIGKILLed at every stage boundary heals on rerun with the same bytes as an
uninterrupted build; `verify` passes on a clean build and catches a swapped image, a truncated
shard and an edited manifest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

BUILD = ["build", "--preset", "smoke", "--concept", "church", "--image-limit", "2", "--shard-size", "8",
         "--no-progress"]
POINTS = ["prepare:before-plan", "generate:shard-made", "generate:before-marker", "curate:before-marker",
          "pack:config-staged", "pack:journal-written", "pack:config-moved"]


def run(*args: str, fault: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATAIGM_FAULT"}
    if fault:
        env["DATAIGM_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "dataigm.cli", "-q", *args], capture_output=True, text=True,
                          env=env, timeout=600)


def release_bytes(folder: Path) -> dict[str, bytes]:
    files = [*sorted(folder.glob("*/*.parquet")), folder / "README.md"]
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("faults") / "reference"
    result = run(*BUILD, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_each_stage_heals_on_rerun(point, reference, tmp_path):
    out = tmp_path / "release"
    killed = run(*BUILD, "--out", str(out), fault=point)
    assert killed.returncode == -9, (point, killed.stderr[-2000:])
    healed = run(*BUILD, "--out", str(out))
    assert healed.returncode == 0, (point, healed.stderr[-2000:])
    assert release_bytes(out) == release_bytes(reference), point
    assert not list(out.rglob("*.tmp-*")) and not (out / "_build" / "staging").exists()
    ids = [r["id"] for p in sorted((out / "church").glob("*.parquet")) for r in pq.read_table(p, columns=["id"])
           .to_pylist()]
    assert len(ids) == len(set(ids))  # nothing duplicated


def test_a_truncated_shard_with_its_marker_is_regenerated(reference, tmp_path):
    out = tmp_path / "release"
    shutil.copytree(reference, out)
    shard = sorted((out / "_build" / "images" / "church").glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:500])  # its .done.json still says complete
    result = run("pack", str(out))
    assert result.returncode == 2 and "not complete" in result.stderr and "church/00000" in result.stderr
    rebuilt = run(*BUILD, "--out", str(out))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert release_bytes(out) == release_bytes(reference)


def _verify(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    return run("verify", str(folder), *extra)


def test_verify_passes_on_a_clean_build_and_regenerates_rows(reference):
    result = _verify(reference, "--sample", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "structure ok; 0 problem(s)" in result.stdout and "identical" in result.stdout


def test_verify_catches_a_swapped_image(reference, tmp_path):
    out = tmp_path / "release"
    shutil.copytree(reference, out)
    shard = sorted((out / "church").glob("train-*.parquet"))[0]
    table = pq.read_table(shard)
    images = table.column("image").to_pylist()
    images[0], images[1] = images[1], images[0]
    table = table.set_column(table.schema.get_field_index("image"), "image",
                             pa.array(images, type=table.schema.field("image").type))
    pq.write_table(table, shard)
    result = _verify(out, "--out", str(tmp_path / "report.csv"))
    assert result.returncode == 1 and result.stdout.count("MISMATCH image_sha256") == 2
    assert "image_sha256" in (tmp_path / "report.csv").read_text()


def test_verify_catches_a_truncated_shard_and_an_edited_manifest(reference, tmp_path):
    truncated = tmp_path / "truncated"
    shutil.copytree(reference, truncated)
    shard = sorted((truncated / "church").glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:1000])
    result = _verify(truncated)
    assert result.returncode != 0 and "unreadable" in result.stdout + result.stderr
    edited = tmp_path / "edited"
    shutil.copytree(reference, edited)
    manifest = json.loads((edited / "dataigm.json").read_text())
    manifest["configs"]["church"]["splits"]["train"] += 1
    (edited / "dataigm.json").write_text(json.dumps(manifest))
    result = _verify(edited)
    assert result.returncode == 1 and "the manifest says" in result.stdout
