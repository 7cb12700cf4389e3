"""Curation rules of every builder on constructed verdicts, pair status, and re-curation with a
trained judge that drops exactly the rows it should, without loading any generation model."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from dataigm.core.curation import CurationOptions, decide, pair_statuses
from dataigm.core.registry import builder_for
from dataigm.core.taxonomy import load_taxonomy


def verdict(check: str, decision: bool, code: str) -> dict:
    return {"check": check, "name": "x", "version": "1", "score": float(decision), "threshold": 0.5,
            "decision": decision, "code": code, "message": f"{code} (constructed)", "details": ""}


def policy(name: str, **options):
    concept = load_taxonomy().concept(name)
    return builder_for(concept).curation(concept, CurationOptions(**options))


@pytest.mark.parametrize(("concept", "role", "found", "status", "codes"), [
    # nudity: NudeNet must find nudity in forget images and none in retain images
    ("nudity", "forget", {"concept": True}, "ok", ()),
    ("nudity", "forget", {"concept": False}, "dropped", ("concept_absent",)),
    ("nudity", "retain", {"concept": True}, "dropped", ("concept_present",)),
    ("nudity", "robustness", {"concept": False}, "ok", ()),  # recorded, not enforced
    # violence: its own presence check, and no stray nudity in any role
    ("violence", "forget", {"concept": True, "nudity": False}, "ok", ()),
    ("violence", "retain", {"concept": False, "nudity": True}, "dropped", ("nudity_present",)),
    ("violence", "forget", {"concept": False, "nudity": True}, "dropped", ("concept_absent", "nudity_present")),
    # style and object: presence in forget, absence in retain / unrelated
    ("van_gogh", "retain", {"concept": True}, "dropped", ("concept_present",)),
    ("van_gogh", "forget", {"concept": True}, "ok", ()),
    ("church", "unrelated", {"concept": True}, "dropped", ("concept_present",)),
    ("church", "forget", {"concept": False}, "dropped", ("concept_absent",)),
    # every builder: a blank image is dropped whatever its role
    ("church", "unrelated", {"concept": False, "blank": True}, "dropped", ("blank_image",)),
])
def test_builder_rules_on_constructed_verdicts(concept, role, found, status, codes):
    codes_of = {"concept": ("concept_present", "concept_absent"), "nudity": ("nudity_present", "nudity_absent"),
                "blank": ("blank_image", "not_blank")}
    rows = [verdict(key, value, codes_of[key][0 if value else 1]) for key, value in found.items()]
    decision = decide(policy(concept), role, rows)
    assert decision.status == status and decision.codes == codes, decision
    if status == "dropped":
        assert "images must" in decision.reason


def test_policies_name_their_detectors():
    assert [c.detector for c in policy("nudity").checks] == ["blank", "nudenet"]
    assert [c.detector for c in policy("nudity", person_check="yolov8n.yaml").checks] == [
        "blank", "nudenet", "yolo-person"]
    for name in ("violence", "van_gogh", "church"):
        assert "clip-zero-shot" in [c.detector for c in policy(name).checks]
    judged = policy("church", judges=(("object", "/judges/object"),))
    assert [(c.key, c.detector, dict(c.options)) for c in judged.checks][1] == (
        "concept", "judge", {"artifact": "/judges/object", "concept": "church", "dtype": "auto"})
    assert policy("church").signature() != judged.signature()


def test_a_judge_retrained_in_place_changes_the_curation_signature(tmp_path):
    """Re-curation skips shards judged under the same signature; a judge folder whose files change
    (retrained and saved under the same path) must not be mistaken for the old one."""
    judge = tmp_path / "judge-object"
    judge.mkdir()
    (judge / "model.safetensors").write_bytes(b"weights v1")
    first = policy("church", judges=(("object", str(judge)),)).signature()
    assert policy("church", judges=(("object", str(judge)),)).signature() == first
    (judge / "model.safetensors").write_bytes(b"weights v2, retrained")
    assert policy("church", judges=(("object", str(judge)),)).signature() != first


def test_pair_status_marks_both_twins():
    def row(i, role, pair, status, index=0):
        return {"id": f"r{i}", "role": role, "pair_id": pair, "image_index": index, "status": status}

    rows = [row(1, "forget", "a", "dropped"), row(2, "retain", "a", "ok"),
            row(3, "forget", "b", "ok"), row(4, "retain", "b", "ok"),
            row(5, "forget", "c", "ok", 1), row(6, "retain", "c", "dropped", 1), row(7, "forget", "c", "ok", 0),
            row(8, "robustness", "a", "ok"), row(9, "unrelated", "u", "ok"), row(10, "forget", "e", "ok")]
    assert pair_statuses(rows) == {"r1": "broken", "r2": "broken", "r3": "complete", "r4": "complete",
                                   "r5": "broken", "r6": "broken", "r7": "unpaired", "r8": "unpaired",
                                   "r9": "unpaired", "r10": "unpaired"}


@pytest.mark.slow
def test_trained_judge_recurates_exactly_and_loads_no_model(tmp_path):
    """Build church, swap its images for synthetic ones of known content, train a judge on other
    synthetic data, re-curate with it: exactly the mismatched rows drop, with no generation model."""
    import shutil

    from dataigm.core.plan import all_shards, load_plan, mark_complete
    from dataigm.core.storage import Store
    from tests.conftest import load_release, smoke_build
    from tests.judge_fixtures import build_separable_release, build_tiny_clip, separable_image

    out = tmp_path / "release"
    smoke_build(out, ["church"], image_limit=3)
    store = Store(str(out))
    rng = np.random.default_rng(7)
    expected: dict[str, tuple[str, ...]] = {}
    first = {"forget": True, "unrelated": True}
    for shard in all_shards(load_plan(store)):
        table = store.read_table(shard.images)
        images, shas = [], []
        for row_id, role in zip(table.column("id").to_pylist(), table.column("role").to_pylist(), strict=True):
            odd_one = first.get(role, False)
            first[role] = False
            shows_church = (role != "unrelated") != odd_one  # forget: yes (but one); unrelated: no (but one)
            png = separable_image(int(shows_church), rng)
            images.append({"bytes": png, "path": None})
            shas.append(hashlib.sha256(png).hexdigest())
            if odd_one:
                expected[row_id] = ("concept_absent",) if role == "forget" else ("concept_present",)
        table = table.set_column(table.schema.get_field_index("image"), "image",
                                 pa.array(images, type=table.schema.field("image").type))
        table = table.set_column(table.schema.get_field_index("sha256"), "sha256", pa.array(shas))
        done = store.read_json(shard.images.removesuffix(".parquet") + ".done.json")
        store.write_table(shard.images, table)
        mark_complete(store, shard.images, table.num_rows, fingerprint=done["fingerprint"])
    assert len(expected) == 2
    shutil.rmtree(out / "_build" / "tiny-model")  # any attempt to generate would now fail

    clip = build_tiny_clip(tmp_path / "tiny-clip")
    data = build_separable_release(tmp_path / "separable", "church", n=120)
    judge = tmp_path / "church-judge"
    cli = [sys.executable, "-m", "dataigm.cli"]
    trained = subprocess.run([*cli, "-q", "train-judge", "church", str(data), "--backbone", clip,
                              "--out", str(judge)], capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr
    result = subprocess.run([*cli, "curate", str(out), "--judge", str(judge), "--no-progress"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "no image was generated" in result.stdout
    rows = [r for s in load_release(out, "church").values() for r in s]
    dropped = {r["id"]: tuple(r["reason_codes"]) for r in rows if r["status"] == "dropped"}
    assert dropped == expected
    concept_verdicts = {v["name"] for r in rows for v in r["verdicts"] if v["check"] == "concept"}
    assert concept_verdicts == {"clip_head:church"}
