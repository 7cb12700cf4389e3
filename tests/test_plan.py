"""The build configuration and plan: a preset plus checked overrides, resolved into a new frozen plan
that is written once; schema versions checked where a taxonomy is read."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dataigm.core import layout
from dataigm.core.errors import DataIGMError, RecipeError, UnknownNameError
from dataigm.core.plan import BuildConfig, preset_config


def test_a_misspelt_override_fails_with_the_close_match(tmp_path):
    out = str(tmp_path / "o")
    with pytest.raises(UnknownNameError, match="unknown build setting 'image_limt'; did you mean 'image_limit'"):
        preset_config("smoke", out, image_limt=1)
    with pytest.raises(UnknownNameError, match="unknown generation setting 'batchsize'; did you mean 'batch_size'"):
        preset_config("smoke", out, settings={"batchsize": 2})
    with pytest.raises(UnknownNameError, match="curation option 'clip_treshold'; did you mean 'clip_threshold'"):
        preset_config("smoke", out, curation={"clip_treshold": 0.3})
    cfg = preset_config("smoke", out, image_limit=2, settings={"batch_size": 2, "steps": None},
                        curation={"clip_threshold": 0.3})
    assert (cfg.image_limit, cfg.settings.batch_size, cfg.settings.steps, cfg.curation.clip_threshold) == (2, 2, 2, 0.3)


def test_the_config_is_frozen_and_has_no_dead_fields(tmp_path):
    from dataigm.core.settings import GenerationSettings

    cfg = preset_config("full", str(tmp_path / "o"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.preset = "smoke"  # type: ignore[misc]
    assert "extra" not in GenerationSettings.field_names()
    # a plan written before `extra` was removed still reads
    legacy = {**cfg.to_json(), "settings": {**dataclasses.asdict(cfg.settings), "extra": {}}}
    assert BuildConfig.from_json(legacy) == cfg
    with pytest.raises(UnknownNameError, match="did you mean 'steps'"):
        BuildConfig.from_json({**cfg.to_json(), "settings": {**dataclasses.asdict(cfg.settings), "step": 3}})


def test_prepare_returns_a_resolved_plan_and_leaves_its_input_alone(tmp_path):
    """The smoke preset's model and CLIP are built and pinned in the returned plan, not in the config
    that was passed in; the plan file holds exactly the returned plan."""
    from dataigm.core.plan import BuildPlan
    from dataigm.core.storage import Store
    from dataigm.stages.prepare import prepare

    out = tmp_path / "rel"
    cfg = preset_config("smoke", str(out), concepts=["church"], image_limit=1)
    before = cfg.to_json()
    plan = prepare(cfg, tasks=3)
    assert cfg.to_json() == before and cfg.settings.model == "" and cfg.curation.clip is None and not cfg.inputs
    assert plan.config is not cfg
    assert plan.config.settings.model == str(out / layout.TINY_MODEL)
    assert plan.config.curation.clip == str(out / layout.TINY_CLIP)
    assert {"dataigm", "taxonomy", "model", "recipe:object"} <= set(plan.config.inputs)
    assert plan.concepts == ("church",) and plan.last_tasks == 3 and plan.fingerprint == plan.config.fingerprint()
    assert BuildPlan.read(Store(str(out))) == plan
    again = prepare(cfg)  # a resume resolves to the same plan
    assert again.fingerprint == plan.fingerprint and again.config == plan.config


def test_build_writes_the_plan_once(tmp_path, monkeypatch):
    from dataigm.build import build
    from dataigm.core.storage import Store

    writes = []
    original = Store.write_json

    def counting(self, rel, obj):
        if rel == layout.PLAN:
            writes.append(obj)
        return original(self, rel, obj)

    monkeypatch.setattr(Store, "write_json", counting)
    result = build(preset_config("smoke", str(tmp_path / "rel"), concepts=["church"], image_limit=1), progress=False)
    assert result["packed"] and len(writes) == 1 and writes[0]["last_tasks"] == 1


def test_recurate_refuses_before_it_records_new_options(tmp_path):
    """A folder whose images are not made yet: re-curation is refused and the plan is untouched."""
    from dataigm.stages.curate import recurate
    from dataigm.stages.prepare import prepare

    out = tmp_path / "rel"
    prepare(preset_config("smoke", str(out), concepts=["church"], image_limit=1))
    plan_bytes = (out / layout.PLAN).read_bytes()
    with pytest.raises(DataIGMError, match="have no images yet"):
        recurate(str(out), clip_threshold=0.3, progress=False)
    assert (out / layout.PLAN).read_bytes() == plan_bytes
    with pytest.raises(UnknownNameError, match="did you mean 'clip_threshold'"):
        recurate(str(out), clip_treshold=0.3, progress=False)


def test_a_taxonomy_of_another_schema_version_is_one_line(tmp_path):
    import yaml

    from dataigm.core.taxonomy import TAXONOMY_PATH, parse_taxonomy

    raw = yaml.safe_load(TAXONOMY_PATH.read_text())
    with pytest.raises(RecipeError) as err:
        parse_taxonomy({**raw, "schema_version": 3})
    assert "schema_version 3, this dataigm reads taxonomy schema version 2" in str(err.value)
    assert "\n" not in str(err.value)
    plugin = {"schema_version": 1, "categories": {}}
    with pytest.raises(RecipeError, match="plugin.yaml: schema_version 1"):
        parse_taxonomy(raw, [("plugin.yaml", plugin)])
    assert parse_taxonomy(raw).schema_version == 2


def test_plan_file_round_trips(tmp_path):
    from dataigm.core.plan import BuildPlan

    cfg = preset_config("full", str(tmp_path / "o"), concepts=["church", "nudity"])
    plan = BuildPlan(cfg, ("nudity", "church"), {"nudity": 10, "church": 3}, cfg.fingerprint(), 2)
    assert BuildPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan
    assert [s.name for s in plan.rank_shards(1, 2)] == [s.name for s in plan.shards()[1::2]]
