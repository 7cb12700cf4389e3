"""Real datatrove engines give the same release as a single process, and resume by rank."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

CONCEPTS = ["church", "van_gogh"]


def packed_rows(out: Path) -> list[tuple]:
    rows = []
    for concept in CONCEPTS:
        for path in sorted((out / concept).glob("*.parquet")):
            table = pq.read_table(path, columns=["id", "seed", "sha256", "split", "status"])
            rows.extend(tuple(r.values()) for r in table.to_pylist())
    return sorted(rows)


def build(out: Path, *extra: str, timeout: int = 600, launcher: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    cmd = [*launcher, sys.executable, "-m", "dataigm.cli", "build", "--preset", "smoke", "--out", str(out),
           "--image-limit", "2", "--shard-size", "8", "--no-progress"]
    for c in CONCEPTS:
        cmd += ["--concept", c]
    return subprocess.run([*cmd, *extra], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> list[tuple]:
    out = tmp_path_factory.mktemp("inline") / "release"
    result = build(out)
    assert result.returncode == 0, result.stderr
    return packed_rows(out)


@pytest.mark.slow
def test_local_executor_two_workers_matches_single_process(reference, tmp_path):
    out = tmp_path / "release"
    result = build(out, "--engine", "local", "--tasks", "3", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert packed_rows(out) == reference
    assert len(list((out / "_build" / "logs" / "generate-3" / "completions").iterdir())) == 3
    # Each task log says what its rank did, one line per shard.
    task_log = (out / "_build" / "logs" / "generate-3" / "logs" / "task_00000.log").read_text()
    assert "rank 0/3" in task_log and "rows generated in" in task_log and "curated shard" in task_log
    status = subprocess.run([sys.executable, "-m", "dataigm.cli", "status", str(out)], capture_output=True,
                            text=True)
    assert status.returncode == 0 and "3/3 ranks complete; release packed" in status.stdout


@pytest.mark.slow
def test_ray_matches_single_process(reference, tmp_path):
    out = tmp_path / "release"
    # Two CPUs: a Ray task per rank takes one, leaving one for Ray's own work (no starvation).
    # Launched the README's way, under `uv run` when uv is here: Ray then must not zip the folder
    # and start every worker in a fresh `uv run` environment (it hung, before).
    uv = shutil.which("uv")
    launcher = (uv, "run", "--frozen", "--no-sync", "--") if uv else ()
    result = build(out, "--engine", "ray", "--tasks", "2", "--workers", "1", timeout=300, launcher=launcher)
    assert "Ignoring upload to cluster" not in result.stderr
    assert result.returncode == 0, result.stderr
    assert packed_rows(out) == reference


@pytest.mark.slow
def test_shard_flag_then_pack_refuses_until_complete(reference, tmp_path):
    out = tmp_path / "release"
    assert build(out, "--shard", "0/2").returncode == 0
    pack = subprocess.run([sys.executable, "-m", "dataigm.cli", "pack", str(out)], capture_output=True, text=True)
    assert pack.returncode == 2 and "not complete" in pack.stderr and "van_gogh/00001" in pack.stderr
    status = subprocess.run([sys.executable, "-m", "dataigm.cli", "status", str(out)], capture_output=True,
                            text=True)
    assert status.returncode == 1 and "rank 00001: missing" in status.stdout
    assert build(out, "--shard", "1/2").returncode == 0
    pack = subprocess.run([sys.executable, "-m", "dataigm.cli", "pack", str(out)], capture_output=True, text=True)
    assert pack.returncode == 0, pack.stderr
    assert packed_rows(out) == reference


@pytest.mark.slow
def test_killed_local_run_relaunches_only_missing_ranks(reference, tmp_path):
    out = tmp_path / "release"
    cmd_args = ["--engine", "local", "--tasks", "4", "--workers", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "dataigm.cli", "build", "--preset", "smoke", "--out", str(out),
                             "--image-limit", "2", "--shard-size", "8", "--no-progress",
                             *[a for c in CONCEPTS for a in ("--concept", c)], *cmd_args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    completions = out / "_build" / "logs" / "generate-4" / "completions"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(completions.glob("*"))) < 1:
        time.sleep(0.1)
    import os

    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = sorted(p.name for p in completions.glob("*"))
    assert 1 <= len(done) < 4
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "_build" / "images").rglob("*.done.json")}
    result = build(out, *cmd_args)
    assert result.returncode == 0, result.stderr
    for path, mtime in mtimes.items():  # nothing complete was regenerated
        assert path.stat().st_mtime_ns == mtime
    assert packed_rows(out) == reference


def _slurm_up() -> str | None:
    """Why a real Slurm cluster is not usable here, or None when it is (scripts/slurm-up.sh)."""
    import shutil

    if not shutil.which("sbatch"):
        return "sbatch not installed (run scripts/slurm-up.sh as root)"
    state = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    if state.returncode != 0 or state.stdout.strip().split("\n")[0] not in ("idle", "mix", "alloc"):
        return f"no Slurm node up: {state.stdout.strip() or state.stderr.strip()}"
    return None


@pytest.mark.slurm
@pytest.mark.slow
def test_real_slurm_job_array_matches_single_process(reference, tmp_path):
    why = _slurm_up()
    if why:
        pytest.skip(why)
    out = tmp_path / "release"
    venv = str(Path(sys.executable).parent.parent)
    result = build(out, "--engine", "slurm", "--tasks", "2", "--partition", "debug", "--time", "00:20:00",
                   "--venv", venv, "--mem-per-cpu-gb", "3")
    assert result.returncode == 0, result.stderr
    assert "submitted Slurm jobs" in result.stdout
    deadline = time.time() + 480
    while time.time() < deadline and not (out / "dataigm.json").exists():
        time.sleep(2)
    status = subprocess.run([sys.executable, "-m", "dataigm.cli", "status", str(out)], capture_output=True,
                            text=True)
    logs = "\n".join(p.read_text()[-2000:] for p in (out / "_build" / "logs").rglob("*.out"))
    assert status.returncode == 0, status.stdout + logs
    assert packed_rows(out) == reference
    sbatch = (out / "_build" / "logs" / "generate-2" / "launch_script.slurm").read_text()
    assert "#SBATCH --array=0-1" in sbatch and "--requeue" in sbatch
