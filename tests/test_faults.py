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

from tests.test_publish import hub  # noqa: F401 (the loopback Hub server fixture)

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


# -- issue 20: one writer per folder, changed inputs rebuilt, manifests checked against rows ----------


def start(*args: str, stop_at: str | None = None) -> subprocess.Popen:
    """A real dataigm process; `stop_at`: it stops itself (SIGSTOP) at that fault point, holding
    whatever it holds there (its folder lock), until the test sends SIGCONT."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATAIGM_FAULT", "DATAIGM_FAULT_SIGNAL")}
    if stop_at:
        env.update(DATAIGM_FAULT=stop_at, DATAIGM_FAULT_SIGNAL="STOP")
    return subprocess.Popen([sys.executable, "-m", "dataigm.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def wait_stopped(proc: subprocess.Popen, timeout: float = 300) -> None:
    """Until `proc` has stopped itself at its fault point (state T in /proc)."""
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"process {proc.pid} never reached its stop point")


def second_writer_stops_then_waits(args: list[str], stop_at: str, command: str, folder: Path,
                                   ) -> tuple[tuple[str, str], tuple[str, str], str]:
    """Two real writers of `folder`: `dataigm ARGS` stopped at `stop_at` (holding the folder); the
    same command again stops with one line naming it (`command`, pid, host, --wait) and changes
    nothing in `folder`; once more with --wait it says it waits (naming the holder) and runs when the
    first is let go. Returns (stdout, stderr) of the first and the waiting one, and the refused
    one's stderr; both finished with exit 0."""
    import signal

    first = start(*args, stop_at=stop_at)
    wait_stopped(first)
    held = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    second = run(*args)
    lines = second.stderr.strip().splitlines()
    assert second.returncode == 2 and len(lines) == 1, second.stderr
    assert f"is being written by `{command}` (pid {first.pid} on host" in lines[0] and "--wait" in lines[0]
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == held  # the refused one wrote nothing
    waiting = start(*args, "--wait")
    said = []
    while not said or "waiting for it to finish" not in said[-1]:  # it says so once, then waits
        said.append(waiting.stderr.readline())
        assert said[-1], "".join(said)
    os.kill(first.pid, signal.SIGCONT)
    first_out, first_err = first.communicate(timeout=600)
    waited_out, waited_err = waiting.communicate(timeout=600)
    waited_err = "".join(said) + waited_err
    assert first.returncode == 0 and waiting.returncode == 0, first_err + waited_err
    assert "waiting for it to finish" in waited_err and f"pid {first.pid}" in waited_err
    return (first_out, first_err), (waited_out, waited_err), second.stderr


def test_two_curates_on_one_folder_the_second_stops_naming_the_first_or_waits(reference, tmp_path):
    """Two real `curate` processes on one release: the second stops with one line naming the first
    (command, pid, host); with --wait it starts once the first is done; the release stays whole
    (before the lock, one died in pack staging and the other broke the release). Quiet under
    --no-progress: no library progress bar either."""
    out = tmp_path / "release"
    shutil.copytree(reference, out)
    (_, first_err), (_, waited_err), second_err = second_writer_stops_then_waits(
        ["curate", str(out), "--no-progress"], "pack:config-staged", "dataigm curate", out)
    for err in (first_err, waited_err, second_err):
        assert "Loading weights" not in err and "it/s]" not in err and "Traceback" not in err
    assert _verify(out).returncode == 0
    assert release_bytes(out) == release_bytes(reference)
    assert (out / "_build" / "folder.lock").read_text().strip() == ""  # released: no holder recorded


IMAGES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "images"


def _eval_run(out: Path) -> list[str]:
    return ["eval", "run", "--images", str(IMAGES / "person"), "--method", "m", "--judge", "nudenet", "--out",
            str(out), "--bootstrap", "20", "--no-progress"]


def _metric_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("  ") and "is better" in line]


def test_two_eval_runs_on_one_folder_the_second_stops_naming_the_first_or_waits(tmp_path):
    """Two real `eval run` processes on one --out: while the first holds the run folder (stopped
    before it writes its outputs), the second stops with one line naming it and writes nothing;
    with --wait it starts once the first is done, resumes the same plan and prints the same
    numbers. The folder ends marked as a run, its lock free."""
    out = tmp_path / "run"
    (first_out, first_err), (waited_out, waited_err), _ = second_writer_stops_then_waits(
        _eval_run(out), "eval:before-outputs", "dataigm eval run", out)
    assert "Traceback" not in first_err + waited_err
    assert _metric_lines(first_out) and _metric_lines(first_out) == _metric_lines(waited_out)
    assert json.loads((out / "_build" / "owner.json").read_text())["kind"] == "run"
    assert (out / "_build" / "folder.lock").read_text().strip() == ""  # released: no holder recorded


@pytest.mark.slow
def test_a_killed_eval_run_leaves_a_stale_lock_that_its_rerun_takes_over(tmp_path):
    """An `eval run` SIGKILLed before its outputs leaves its holder record; the same command then
    takes the folder over (naming the dead holder), resumes the plan and writes whole outputs."""
    out = tmp_path / "run"
    killed = run(*_eval_run(out), fault="eval:before-outputs")
    assert killed.returncode == -9 and not (out / "summary.json").exists()
    record = json.loads((out / "_build" / "folder.lock").read_text())
    assert record["command"] == "dataigm eval run" and record["pid"] > 0
    healed = run(*_eval_run(out))
    assert healed.returncode == 0, healed.stderr
    assert f"`dataigm eval run` (pid {record['pid']} on host" in healed.stderr
    assert "ended without finishing" in healed.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["flag_rate/nudenet"]["n"] == 10 and not list(out.rglob("*.tmp-*"))


@pytest.mark.slow
def test_a_killed_writer_leaves_a_stale_lock_that_the_next_takes_over(reference, tmp_path):
    out = tmp_path / "release"
    shutil.copytree(reference, out)
    killed = run("curate", str(out), fault="pack:config-staged")
    assert killed.returncode == -9
    record = json.loads((out / "_build" / "folder.lock").read_text())
    assert record["command"] == "dataigm curate" and record["pid"] > 0  # the dead holder's record is left
    healed = run("curate", str(out), "--no-progress")
    assert healed.returncode == 0, healed.stderr
    assert f"`dataigm curate` (pid {record['pid']} on host {record['host']}" in healed.stderr
    assert "ended without finishing" in healed.stderr
    assert _verify(out).returncode == 0 and release_bytes(out) == release_bytes(reference)


@pytest.mark.slow
def test_ranks_of_a_sharded_build_share_the_folder_and_keep_other_writers_out(reference, tmp_path):
    """`build --shard 0/2` and `--shard 1/2` run at once on one folder; while one is mid-work, `pack`
    (any other writer) stops naming it; once both are done the packed release is the reference."""
    import signal

    out = tmp_path / "release"
    rank0 = start(*BUILD, "--out", str(out), "--shard", "0/2", stop_at="generate:shard-made")
    wait_stopped(rank0)
    rank1 = run(*BUILD, "--out", str(out), "--shard", "1/2")
    assert rank1.returncode == 0, rank1.stderr  # the other rank ran beside the stopped one
    packing = run("pack", str(out))
    assert packing.returncode == 2 and "is being written by the ranks of a sharded build (`dataigm build`; the " \
        "last to start: pid" in packing.stderr, packing.stderr
    os.kill(rank0.pid, signal.SIGCONT)
    _, err = rank0.communicate(timeout=600)
    assert rank0.returncode == 0, err
    assert run("pack", str(out)).returncode == 0
    assert release_bytes(out) == release_bytes(reference)


def _prompt_rows(folder: Path, config: str) -> list[str]:
    return sorted(r["prompt"] for p in sorted((folder / config).glob("*.parquet"))
                  for r in pq.read_table(p, columns=["prompt"]).to_pylist())


@pytest.mark.slow
def test_a_prompt_set_imported_again_with_other_rows_gets_new_images(tmp_path):
    """Resume only what is the same: re-importing a changed prompt set into a built folder and
    building again makes that set's images again (before: "0 to generate", old images kept with
    the old prompts, and verify passed); the same rows again are a no-op."""
    out = tmp_path / "release"
    first = tmp_path / "v1.csv"
    first.write_text("prompt,sd_seed\na red barn in a field,3\na lighthouse on a cliff,4\n")
    changed = tmp_path / "v2.csv"
    changed.write_text("prompt,sd_seed\na red barn in the snow,3\na lighthouse on a cliff,4\n")
    build_peer = ["build", "--preset", "smoke", "--out", str(out), "--concept", "peer", "--image-limit", "4",
                  "--no-progress"]
    assert run("prompts", "import", str(first), "--out", str(out), "--name", "peer", "--safe").returncode == 0
    assert run(*build_peer).returncode == 0
    assert json.loads((out / "_build" / "owner.json").read_text())["kind"] == "release"  # prompts -> release
    assert "a red barn in a field" in _prompt_rows(out, "peer")
    assert run("prompts", "import", str(changed), "--out", str(out), "--name", "peer", "--safe").returncode == 0
    rebuilt = subprocess.run([sys.executable, "-m", "dataigm.cli", *build_peer], capture_output=True, text=True,
                             timeout=600)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "prompt set peer was imported again with other rows" in rebuilt.stderr
    assert "shards generated 1, skipped 0" in rebuilt.stdout
    assert _prompt_rows(out, "peer") == ["a lighthouse on a cliff", "a red barn in the snow"]
    assert _verify(out).returncode == 0
    same = subprocess.run([sys.executable, "-m", "dataigm.cli", *build_peer], capture_output=True, text=True,
                          timeout=600)
    assert same.returncode == 0 and "shards generated 0, skipped 1" in same.stdout, same.stdout + same.stderr


EDITS = {
    "status": (lambda m: m["configs"]["church"]["status"].update(ok=1), "the manifest says status"),
    "pairs": (lambda m: m["configs"]["church"].update(pairs={"complete": 2}), "the manifest says pairs"),
    "drop reasons": (lambda m: m["configs"]["church"]["drop_reasons"].update(blank_present=1), "drop_reasons"),
    "check threshold": (lambda m: m["configs"]["church"]["checks"][-1].update(threshold=0.25),
                        "check concept: the manifest says threshold 0.25"),
    "check version": (lambda m: m["configs"]["church"]["checks"][0].update(version="9"), "says version '9'"),
    "a check removed": (lambda m: m["configs"]["church"]["checks"].pop(0), "the manifest lists checks"),
    "category": (lambda m: m["configs"]["church"].update(category="style"), "says category 'style'"),
    "steps": (lambda m: m["build"]["settings"].update(steps=25), "build says steps 25, the rows say 2"),
    "guidance": (lambda m: m["build"]["settings"].update(guidance=5.0), "build says guidance 5.0"),
    "scheduler": (lambda m: m["build"]["settings"].update(scheduler="euler"), "build says scheduler 'euler'"),
    "image size": (lambda m: m["build"]["settings"].update(height=512), "build says height 512"),
    "model pin": (lambda m: m["build"]["inputs"].update(model="local:0000"), "pins model local:0000"),
    "fingerprint": (lambda m: m.update(fingerprint="0" * 16), "hash to fingerprint"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_verify_recomputes_every_manifest_field_it_can_from_the_rows(edit, reference, tmp_path):
    """An edited manifest (counts, drop reasons, thresholds, check versions, build settings) is named
    by verify, field and both values (the card would otherwise publish the edited numbers)."""
    from dataigm.verify import verify

    out = shutil.copytree(reference, tmp_path / "release")
    manifest = json.loads((out / "dataigm.json").read_text())
    change, expected = EDITS[edit]
    change(manifest)
    (out / "dataigm.json").write_text(json.dumps(manifest))
    problems = [f.detail for f in verify(str(out)) if not f.ok]
    assert problems and any(expected in p for p in problems), problems


def _shard(folder: Path) -> Path:
    return sorted((folder / "church").glob("*.parquet"))[0]


def _rewrite(path: Path, table: pa.Table, features: dict | str | bytes | None = "keep") -> None:
    meta = dict(table.schema.metadata or {})
    if features is None:
        meta.pop(b"huggingface", None)
    elif features != "keep":
        meta[b"huggingface"] = json.dumps(features).encode() if isinstance(features, dict) else features
    pq.write_table(table.replace_schema_metadata(meta), path)


MALFORMED = {
    "zero bytes": (lambda p: p.write_bytes(b""), "unreadable parquet"),
    "not parquet": (lambda p: p.write_text("id,image\n1,2\n"), "unreadable parquet"),
    "another dataset's shard": (lambda p: _rewrite(p, pa.table({"text": ["a"]}), {"info": {"features": {
        "text": {"dtype": "string", "_type": "Value"}}}}), "features do not match the schema of config church"),
    "features not JSON": (lambda p: _rewrite(p, pq.read_table(p), b"{not json"), "malformed embedded"),
    "features of an unknown type": (lambda p: _rewrite(p, pq.read_table(p), {"info": {"features": {
        "id": {"_type": "Nope"}}}}), "malformed embedded"),
    "features without info": (lambda p: _rewrite(p, pq.read_table(p), {"features": {}}), "malformed embedded"),
    "no embedded features": (lambda p: _rewrite(p, pq.read_table(p), None), "no embedded datasets.Features"),
    "a column missing": (lambda p: _rewrite(p, pq.read_table(p).drop(["sha256"])), "features do not match"),
}


@pytest.mark.parametrize("shape", list(MALFORMED))
def test_verify_names_an_unreadable_foreign_or_malformed_shard(shape, reference, tmp_path, capsys):
    """One clear line naming the shard, exit 1, no traceback (before: a traceback on another schema
    or malformed embedded features)."""
    from dataigm.cli import main

    out = shutil.copytree(reference, tmp_path / "release")
    damage, expected = MALFORMED[shape]
    shard = _shard(out)
    damage(shard)
    assert main(["verify", str(out)]) == 1
    printed = capsys.readouterr()
    lines = [line for line in printed.out.splitlines() if line.startswith("MISMATCH")]
    assert any(str(shard) in line and expected in line for line in lines), printed.out
    assert "Traceback" not in printed.err


def test_verify_out_names_rows_without_formula_cells(reference, tmp_path):
    """verify --out writes its CSV atomically; cells that a spreadsheet would run (= + - @) are text."""
    from dataigm.cli import main

    out = shutil.copytree(reference, tmp_path / "release")
    shard = _shard(out)
    table = pq.read_table(shard)
    ids, sha = table.column("id").to_pylist(), table.column("sha256").to_pylist()
    ids[0], sha[0] = '=HYPERLINK("http://x")', "0" * 64  # a row named like a formula, reported as a mismatch
    table = table.set_column(table.schema.get_field_index("id"), "id", pa.array(ids))
    _rewrite(shard, table.set_column(table.schema.get_field_index("sha256"), "sha256", pa.array(sha)))
    report = tmp_path / "report.csv"
    assert main(["verify", str(out), "--out", str(report)]) == 1
    text = report.read_text()
    assert "'=HYPERLINK" in text and ',=HYPERLINK' not in text
    assert not list(tmp_path.glob(".report.csv*"))


def test_a_hub_answering_500_costs_one_bounded_retry_layer(hub, reference):  # noqa: F811 (the fixture)
    """Against a Hub that answers 500 to everything, one publish makes at most 5 requests and gives
    up in about 8 s, saying the bound (before: huggingface_hub's retries nested in dataigm's, 30
    requests and ~2.5 minutes for one call)."""
    import time

    (hub["root"] / "fail-status").write_text("500")
    try:
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "dataigm.cli", "publish", str(reference), "--repo",
                                 "dataigm-test/down", "--version", "1.0.0"], capture_output=True, text=True,
                                env=hub["env"], timeout=300)
        seconds = time.monotonic() - started
    finally:
        (hub["root"] / "fail-status").unlink()
    requests = int((hub["root"] / "failed-requests").read_text())
    (hub["root"] / "failed-requests").unlink()
    errors = [line for line in result.stderr.splitlines() if line.startswith("dataigm: error:")]
    assert result.returncode == 2 and len(errors) == 1, result.stderr
    assert "HTTP 500" in errors[0] and "after 5 attempt(s)" in errors[0]
    assert "at most 5 attempts, 7.5 s of waiting in all" in result.stderr
    assert requests <= 5, requests
    assert seconds < 60, seconds
