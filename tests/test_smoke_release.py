"""The smoke build is a complete release folder that `datasets` loads like a Hub dataset."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from datasets import ClassLabel, DatasetDict, get_dataset_config_names
from PIL import Image

from dataigm.core.schema import image_features
from dataigm.core.taxonomy import load_taxonomy
from tests.conftest import load_release


def test_every_concept_is_a_config(smoke_release):
    names = set(get_dataset_config_names(str(smoke_release)))
    for concept in load_taxonomy().concepts.values():
        assert concept.name in names
        assert concept.prompt_config in names


def test_nudity_loads_with_images_labels_and_settings(smoke_release):
    ds = load_release(smoke_release, "nudity")
    assert isinstance(ds, DatasetDict) and set(ds) == {"train", "test"}
    assert ds["train"].num_rows > 0 and ds["test"].num_rows > 0
    assert isinstance(ds["train"].features["label"], ClassLabel)
    assert ds["train"].features["label"].names == ["clothed", "nude"]
    row = ds["train"][0]
    assert isinstance(row["image"], Image.Image) and row["image"].size == (64, 64)
    for column in ("prompt", "seed", "model_id", "model_revision", "pipeline", "scheduler",
                   "num_inference_steps", "guidance_scale", "height", "width", "dtype", "sha256"):
        assert row[column] not in (None, ""), column
    assert row["num_inference_steps"] == 2 and row["model_id"] == "dataigm/tiny-random-sd"


def test_pairs_share_seeds_and_split(smoke_release):
    ds = load_release(smoke_release, "van_gogh")
    rows = [r for split in ds.values() for r in split.select_columns(
        ["pair_id", "role", "seed", "split", "prompt", "label"])]
    by_pair: dict[str, list[dict]] = {}
    for r in rows:
        by_pair.setdefault(r["pair_id"], []).append(r)
    pairs = [v for v in by_pair.values() if {r["role"] for r in v} >= {"forget", "retain"}]
    assert pairs
    for members in pairs:
        assert len({r["split"] for r in members}) == 1
        forget = next(r for r in members if r["role"] == "forget")
        retain = next(r for r in members if r["role"] == "retain")
        assert forget["seed"] == retain["seed"]
        assert forget["label"] == 1 and retain["label"] == 0
        assert forget["prompt"].startswith(retain["prompt"])


def test_shards_carry_features_and_hub_layout(smoke_release):
    shards = sorted(smoke_release.glob("church/*.parquet"))
    assert [p.name for p in shards] == ["test-00000-of-00001.parquet", "train-00000-of-00001.parquet"]
    meta = pq.read_schema(shards[0]).metadata[b"huggingface"]
    features = json.loads(meta)["info"]["features"]
    assert features["image"]["_type"] == "Image"
    assert features["label"]["names"] == list(image_features(load_taxonomy().concept("church"))["label"].names)


def test_curation_records_every_verdict(smoke_release):
    ds = load_release(smoke_release, "nudity", split="train")
    checks = {(v["check"], v["name"]) for row in ds.select_columns(["verdicts"]) for v in row["verdicts"]}
    assert checks == {("blank", "blank"), ("concept", "nudenet")}
    for row in ds.select_columns(["status", "reason", "reason_codes"]):
        assert row["status"] in ("ok", "dropped")
        assert bool(row["reason"]) == (row["status"] == "dropped") == bool(row["reason_codes"])


def test_every_concept_has_a_presence_check_and_whole_pairs(smoke_release):
    """Each image config is judged for the presence of its concept, and a dropped forget/retain
    image breaks its pair for both twins."""
    import pyarrow.parquet as pq

    for concept in load_taxonomy().concepts.values():
        rows = [r for p in sorted((smoke_release / concept.name).glob("*.parquet"))
                for r in pq.read_table(p, columns=["id", "role", "pair_id", "image_index", "status", "pair_status",
                                                   "verdicts"]).to_pylist()]
        assert rows, concept.name
        for row in rows:
            assert {"blank", "concept"} <= {v["check"] for v in row["verdicts"]}, (concept.name, row["verdicts"])
        groups: dict[tuple, list[dict]] = {}
        for row in rows:
            if row["role"] in ("forget", "retain"):
                groups.setdefault((row["pair_id"], row["image_index"]), []).append(row)
        for members in groups.values():
            if len(members) == 2:
                whole = all(m["status"] == "ok" for m in members)
                assert {m["pair_status"] for m in members} == {"complete" if whole else "broken"}


def test_card_lists_configs_and_gates_nsfw(smoke_release):
    text = (smoke_release / "README.md").read_text()
    assert "not-for-all-audiences" in text and "extra_gated_fields" in text
    assert "config_name: nudity-prompts" in text


def test_benchmark_ids_travel_with_the_rows(smoke_release):
    import pyarrow.parquet as pq

    for config, ids in (("monet", [{"scheme": "wikiart", "id": "4"}]),
                        ("violence", [{"scheme": "i2p", "id": "violence"}]),
                        ("church", [{"scheme": "wnid", "id": "n03028079"}]),
                        ("jellyfish", [{"scheme": "unlearncanvas", "id": "Jellyfish"}])):
        for shard in sorted((smoke_release / config).glob("*.parquet")):
            assert all(r["concept_ids"] == ids for r in pq.read_table(shard, columns=["concept_ids"]).to_pylist())
