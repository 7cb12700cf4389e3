"""Publish / tag / load round trips over real HTTP against a loopback Hub server (tests/hub_server.py),
with the real huggingface_hub and datasets clients; a read-side cross-check through olah."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import smoke_build

HERE = Path(__file__).resolve().parent
REPO = "dataigm-test/dataigm"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    port_file = root / "port"
    proc = subprocess.Popen([sys.executable, str(HERE / "hub_server.py"), str(root / "data"), str(port_file)])
    deadline = time.time() + 30
    while not port_file.exists() and time.time() < deadline:
        time.sleep(0.05)
    port = int(port_file.read_text())
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HUB_DISABLE_XET": "1",
           "HF_TOKEN": "hf_dummy_token_for_tests", "HF_HOME": str(root / "hf-home"),
           "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "0", "HF_DATASETS_CACHE": str(root / "ds-cache")}
    yield {"env": env, "root": root / "data", "port": port}
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rel") / "release"
    smoke_build(out, ["nudity", "church"], image_limit=1)
    return out


def run(hub, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dataigm.cli", *args], capture_output=True, text=True,
                          env=hub["env"], timeout=600)


def python(hub, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**hub["env"], "HF_HOME": hub["env"]["HF_HOME"] + f"-{time.monotonic_ns()}"},
                          timeout=600)


def hub_rows(hub, repo: str, config: str, revision: str) -> list[tuple]:
    result = python(hub, f"""
        import json
        from datasets import load_dataset
        ds = load_dataset({repo!r}, {config!r}, revision={revision!r})
        print(json.dumps(sorted([r["id"], r["sha256"], r["image"].size[0]] for s in ds.values()
                               for r in s.select_columns(["id", "sha256", "image"]))))
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    return [tuple(r) for r in json.loads(result.stdout.strip().splitlines()[-1])]


def local_rows(folder: Path, config: str) -> list[tuple]:
    rows = []
    for p in sorted((folder / config).glob("*.parquet")):
        for r in pq.read_table(p, columns=["id", "sha256", "width"]).to_pylist():
            rows.append((r["id"], r["sha256"], r["width"]))
    return sorted(rows)


def head_and_tags(hub, repo: str) -> tuple[str, list[str]]:
    repo_git = hub["root"] / "repos" / "datasets" / f"{repo}.git"
    head = subprocess.run(["git", "--git-dir", str(repo_git), "rev-parse", "main"], capture_output=True,
                          text=True).stdout.strip()
    tags = subprocess.run(["git", "--git-dir", str(repo_git), "tag"], capture_output=True, text=True).stdout.split()
    return head, tags


def test_dry_run_prints_operations_and_card_without_uploading(hub, release):
    result = run(hub, "publish", str(release), "--repo", "dataigm-test/dry", "--version", "1.0.0", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "upload nudity/train-00000-of-00001.parquet" in result.stdout
    assert "not-for-all-audiences" in result.stdout and "dry run: nothing was uploaded" in result.stdout
    assert "hf_dummy_token_for_tests" not in result.stdout + result.stderr
    assert not (hub["root"] / "repos" / "datasets" / "dataigm-test" / "dry.git").exists()


def test_publish_tag_load_round_trip_and_immutable_versions(hub, release):
    result = run(hub, "publish", str(release), "--repo", REPO, "--version", "1.0.0")
    assert result.returncode == 0, result.stderr
    assert "hf_dummy_token_for_tests" not in result.stdout + result.stderr
    head, tags = head_and_tags(hub, REPO)
    assert tags == ["v1.0.0"]
    assert hub_rows(hub, REPO, "nudity", "v1.0.0") == local_rows(release, "nudity")
    again = run(hub, "publish", str(release), "--repo", REPO, "--version", "1.0.0")
    assert again.returncode == 2 and "already has tag v1.0.0" in again.stderr
    assert head_and_tags(hub, REPO)[0] == head  # nothing written
    info = run(hub, "info", REPO)
    assert info.returncode == 0 and "versions v1.0.0" in info.stdout and "nudity-prompts" in info.stdout


def test_concurrent_commit_fails_cleanly(hub, release):
    result = python(hub, f"""
        from pathlib import Path
        from huggingface_hub import HfApi
        import dataigm.hub.publish as publish_module
        from dataigm.core.errors import DataIGMError

        planned = publish_module.plan_publish

        def plan_then_race(*args, **kwargs):
            plan = planned(*args, **kwargs)
            HfApi().upload_file(path_or_fileobj=b"someone else", path_in_repo="NOTES.txt",
                                repo_id={REPO!r}, repo_type="dataset")
            return plan

        publish_module.plan_publish = plan_then_race
        try:
            publish_module.publish(Path({str(release)!r}), {REPO!r}, "1.1.0")
        except DataIGMError as exc:
            print("REFUSED", exc)
    """)
    assert "REFUSED" in result.stdout and "changed while publishing" in result.stdout, result.stderr[-2000:]
    head, tags = head_and_tags(hub, REPO)
    assert "v1.1.0" not in tags
    repo_git = hub["root"] / "repos" / "datasets" / f"{REPO}.git"
    message = subprocess.run(["git", "--git-dir", str(repo_git), "log", "-1", "--format=%s", head],
                             capture_output=True, text=True).stdout
    assert "DataIGM v1.1.0" not in message  # the head is the concurrent commit, nothing half-written


def test_second_version_deletes_stale_shards_and_keeps_v1(hub, release, tmp_path):
    import pyarrow as pa

    from dataigm.core.schema import image_features
    from dataigm.core.taxonomy import load_taxonomy
    from dataigm.stages.pack import write_configs

    v2 = tmp_path / "release-v2"
    shutil.copytree(release, v2)
    # Re-split church into several small shards: the old single shards become stale on the Hub.
    full = [pq.read_table(p) for p in sorted((release / "church").glob("*.parquet"))]
    info = json.loads((release / "dataigm.json").read_text())["configs"]["church"]
    write_configs(str(v2), {"church": (pa.concat_tables(full), image_features(load_taxonomy().concept("church")),
                                       info)}, max_shard_bytes=2_000)
    v1_rows = hub_rows(hub, REPO, "church", "v1.0.0")
    result = run(hub, "publish", str(v2), "--repo", REPO, "--version", "2.0.0")
    assert result.returncode == 0, result.stderr
    assert "delete church/train-00000-of-00001.parquet" in result.stdout
    repo_git = hub["root"] / "repos" / "datasets" / f"{REPO}.git"
    files = subprocess.run(["git", "--git-dir", str(repo_git), "ls-tree", "-r", "--name-only", "v2.0.0"],
                           capture_output=True, text=True).stdout.split()
    assert "church/train-00000-of-00001.parquet" not in files
    assert sum(f.startswith("church/train-") for f in files) > 1
    assert hub_rows(hub, REPO, "church", "v2.0.0") == local_rows(v2, "church") == local_rows(release, "church")
    assert hub_rows(hub, REPO, "church", "v1.0.0") == v1_rows
    card = subprocess.run(["git", "--git-dir", str(repo_git), "show", "v2.0.0:README.md"], capture_output=True,
                          text=True).stdout
    assert "Changes since v1.0.0" in card


def test_dataigm_load_checks_schema_version(hub, release, tmp_path):
    from dataigm.core.errors import DataIGMError
    from dataigm.hub.loading import load

    ds = load("church", str(release))
    assert set(ds) == {"train", "test"} or set(ds) <= {"train", "test"}
    copy = tmp_path / "old"
    shutil.copytree(release, copy)
    manifest = json.loads((copy / "dataigm.json").read_text())
    manifest["schema_version"] = 99
    (copy / "dataigm.json").write_text(json.dumps(manifest))
    with pytest.raises(DataIGMError, match="schema version 99.*upgrade dataigm"):
        load("church", str(copy))
    result = python(hub, f"""
        import dataigm
        ds = dataigm.load("nudity", {REPO + "@v1.0.0"!r})
        print(sum(s.num_rows for s in ds.values()))
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.split()[-1]) == len(local_rows(release, "nudity"))


def test_refuses_incomplete_or_inconsistent_release(hub, release, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(release, broken)
    next((broken / "church").glob("test-*.parquet")).unlink()
    result = run(hub, "publish", str(broken), "--repo", "dataigm-test/broken", "--version", "1.0.0", "--dry-run")
    assert result.returncode == 2 and "no shard matches" in result.stderr
    shutil.rmtree(broken)
    shutil.copytree(release, broken)
    next((broken / "_build" / "images").rglob("*.done.json")).unlink()
    result = run(hub, "publish", str(broken), "--repo", "dataigm-test/broken", "--version", "1.0.0", "--dry-run")
    assert result.returncode == 2 and "build is incomplete" in result.stderr


def untrained_judge(folder: Path, clip: str) -> Path:
    """A loadable CLIP-head artifact with an untrained head (the publish path needs no training)."""
    from cards.render import write_judge_card
    from detectors.clip import ClipEncoder
    from detectors.clip_head import ClipHeadJudge
    from detectors.training.heads import Head

    encoder = ClipEncoder(clip)
    config = {"kind": "clip_head", "version": "1", "task": "binary", "target": "church",
              "labels": ["other_object", "church"], "threshold": 0.5, "nsfw": False,
              "backbone": {"id": clip, "revision_requested": None, "revision": encoder.revision},
              "preprocessing": encoder.preprocessing(), "training_data": {"source": "none", "configs": []},
              "head": {"input_dim": encoder.dim, "n_out": 1, "hidden": 8, "dropout": 0.0},
              "metrics": {"test": {"presence": {"n": 0, "confusion_matrix": []}}}}
    ClipHeadJudge(encoder, Head(encoder.dim, 1, 8, 0.0), config).save(folder)
    write_judge_card(folder, config)
    return folder


def test_publish_judge_uploads_only_the_artifact(hub, tmp_path):
    from tests.judge_fixtures import build_tiny_clip

    artifact = untrained_judge(tmp_path / "judge", build_tiny_clip(tmp_path / "clip"))
    (artifact / "notes.txt").write_text("private notes")
    (artifact / "run.py").write_text("print('not part of a judge')")
    result = run(hub, "publish-judge", str(artifact), "--repo", "dataigm-test/church-judge", "--version", "1.0.0")
    assert result.returncode == 0, result.stderr
    assert "not uploaded: notes.txt, run.py" in result.stdout
    repo_git = hub["root"] / "repos" / "models" / "dataigm-test" / "church-judge.git"
    files = subprocess.run(["git", "--git-dir", str(repo_git), "ls-tree", "-r", "--name-only", "v1.0.0"],
                           capture_output=True, text=True).stdout.split()
    assert set(files) - {".gitattributes"} == {"config.json", "model.safetensors", "README.md"}
    broken = tmp_path / "broken"
    broken.mkdir()
    for name, data in (("config.json", b'{"kind": "clip_head"}'), ("model.safetensors", b"x" * 64),
                       ("README.md", b"# judge\n")):
        (broken / name).write_bytes(data)
    refused = run(hub, "publish-judge", str(broken), "--repo", "dataigm-test/other-judge")
    assert refused.returncode == 2 and "not a judge config" in refused.stderr


def test_a_judge_is_named_by_its_hub_id(hub, tmp_path, fixtures):
    """`--judge ORG/NAME@REVISION`: resolve_judge downloads the artifact's files and the judge runs;
    offline, the cached copy serves, and an uncached id is one line."""
    import csv

    from tests.judge_fixtures import build_tiny_clip

    artifact = untrained_judge(tmp_path / "judge", build_tiny_clip(tmp_path / "clip"))
    published = run(hub, "publish-judge", str(artifact), "--repo", "dataigm-test/hub-judge", "--version", "1.0.0")
    assert published.returncode == 0, published.stderr
    images = fixtures / "images"
    n_images = sum(1 for p in images.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    for offline in ("0", "1"):  # downloaded, then from the cache with the Hub off
        out = tmp_path / f"verdicts-{offline}.csv"
        result = subprocess.run([sys.executable, "-m", "dataigm.cli", "judge", str(images), "--judge",
                                 "dataigm-test/hub-judge@v1.0.0", "--out", str(out)], capture_output=True, text=True,
                                env={**hub["env"], "HF_HUB_OFFLINE": offline}, timeout=600)
        assert result.returncode == 0, result.stderr
        rows = list(csv.DictReader(out.open()))
        assert len(rows) == n_images and {r["judge"] for r in rows} == {"clip_head:church"}
    missing = subprocess.run([sys.executable, "-m", "dataigm.cli", "judge", str(images), "--judge",
                              "dataigm-test/hub-judge@v9.9.9", "--out", str(tmp_path / "v.csv")], capture_output=True,
                             text=True, env={**hub["env"], "HF_HUB_OFFLINE": "1"}, timeout=600)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "as a Hub id it cannot be downloaded (HF_HUB_OFFLINE is set and it is not in the cache)" in missing.stderr


def test_olah_serves_the_published_repo(hub, release, tmp_path):
    """Cross-check of the read side with a third-party server: olah, offline, on loopback."""
    olah = shutil.which("olah-cli") or str(Path(sys.executable).parent / "olah-cli")
    if not Path(olah).exists():
        pytest.skip("olah is not installed")
    mirrors = tmp_path / "mirrors"
    work = mirrors / "datasets" / REPO
    work.parent.mkdir(parents=True)
    repo_git = hub["root"] / "repos" / "datasets" / f"{REPO}.git"
    subprocess.run(["git", "clone", "-q", str(repo_git), str(work)], check=True)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "olah.toml"
    config.write_text(textwrap.dedent(f"""
        [basic]
        host = "127.0.0.1"
        port = {port}
        repos-path = "{tmp_path / 'olah-repos'}"
        hf-scheme = "http"
        hf-netloc = "127.0.0.1:9"
        hf-lfs-netloc = "127.0.0.1:9"
        mirror-netloc = "127.0.0.1:{port}"
        mirror-lfs-netloc = "127.0.0.1:{port}"
        mirrors-path = ["{mirrors}"]
        [accessibility]
        offline = true
    """))
    proc = subprocess.Popen([olah, "-c", str(config), "--log-path", str(tmp_path / "olah-logs")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        import urllib.request

        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/datasets/{REPO}/refs", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        olah_hub = {**hub, "env": {**hub["env"], "HF_ENDPOINT": f"http://127.0.0.1:{port}"}}
        assert hub_rows(olah_hub, REPO, "nudity", "v1.0.0") == local_rows(release, "nudity")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)


@pytest.mark.hub
def test_real_hub_round_trip(release):
    """Opt-in: DATAIGM_HUB_TEST_REPO=org/name and a write token (HF_TOKEN) against huggingface.co."""
    repo = os.environ.get("DATAIGM_HUB_TEST_REPO")
    if not repo or not os.environ.get("HF_TOKEN") or os.environ.get("HF_HUB_OFFLINE") == "1":
        pytest.skip("set DATAIGM_HUB_TEST_REPO and HF_TOKEN (and network) to run against the real Hub")
    version = f"0.0.{int(time.time())}"
    result = subprocess.run([sys.executable, "-m", "dataigm.cli", "publish", str(release), "--repo", repo,
                             "--version", version, "--private"], capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr


def test_a_publish_killed_between_commit_and_tag_completes_on_rerun(hub, release):
    repo = "dataigm-test/killed"
    env = {**hub["env"], "DATAIGM_FAULT": "publish:committed"}
    killed = subprocess.run([sys.executable, "-m", "dataigm.cli", "publish", str(release), "--repo", repo,
                             "--version", "1.0.0"], capture_output=True, text=True, env=env, timeout=600)
    assert killed.returncode == -9, killed.stderr[-2000:]
    repo_git = hub["root"] / "repos" / "datasets" / f"{repo}.git"

    def commits() -> list[str]:
        return subprocess.run(["git", "--git-dir", str(repo_git), "log", "--format=%H", "main"], capture_output=True,
                              text=True).stdout.split()

    before = commits()
    assert head_and_tags(hub, repo)[1] == []  # committed, not tagged
    again = run(hub, "publish", str(release), "--repo", repo, "--version", "1.0.0")
    assert again.returncode == 0, again.stderr
    assert "nothing committed twice" in again.stdout
    head, tags = head_and_tags(hub, repo)
    assert tags == ["v1.0.0"] and commits() == before and head == before[0]


def test_dry_run_plans_offline(release):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "dataigm.cli", "publish", str(release), "--repo", "org/dataigm",
                             "--version", "1.0.0", "--dry-run"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "planned against an empty remote" in result.stdout and "dry run: nothing was uploaded" in result.stdout
    assert "upload nudity/" in result.stdout


def test_hub_calls_retry_503_with_backoff(hub, release):
    (hub["root"] / "fail-next").write_text("2")
    result = run(hub, "publish", str(release), "--repo", "dataigm-test/flaky", "--version", "1.0.0")
    assert result.returncode == 0, result.stderr
    assert (hub["root"] / "fail-next").read_text() == "0" and "retrying" in result.stderr
    assert head_and_tags(hub, "dataigm-test/flaky")[1] == ["v1.0.0"]
