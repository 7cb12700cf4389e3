"""One judge spec: `resolve_judge` parses "nudenet", an artifact folder and a Hub id the same way for
every command; policies expose their presence check through an accessor; embedders are not
detectors; one table of default models; imported prompt sets are one kind of concept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dataigm.core.errors import DataIGMError
from dataigm.core.registry import ARTIFACT_DETECTOR, DETECTORS, EMBEDDERS, NUDENET, resolve_judge


def fake_artifact(folder: Path, target: str = "church") -> Path:
    """The two files that make a folder a judge artifact (resolve reads only the config's target)."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"kind": "clip_head", "target": target}))
    (folder / "model.safetensors").write_bytes(b"")
    return folder


def test_nudenet_spec_carries_its_options_and_loads():
    spec = resolve_judge(NUDENET, nudenet_threshold=0.3, nudenet_labels=["FEMALE_BREAST_EXPOSED"])
    assert spec.as_json() == {"detector": "nudenet", "options": {"threshold": 0.3,
                                                                 "labels": ("FEMALE_BREAST_EXPOSED",)}}
    assert spec.target is None
    judge = spec.load()
    assert judge.name == "nudenet" and judge.threshold == 0.3 and judge.labels == ("FEMALE_BREAST_EXPOSED",)
    assert resolve_judge(NUDENET).as_json() == {"detector": "nudenet", "options": {}}


def test_artifact_folder_spec(tmp_path, monkeypatch):
    folder = fake_artifact(tmp_path / "judges" / "church")
    monkeypatch.chdir(tmp_path)
    spec = resolve_judge("judges/church", dtype="fp32")  # relative: a folder wins over a Hub id of that shape
    assert spec.detector == ARTIFACT_DETECTOR and spec.target == "church"
    assert spec.options == {"artifact": str(folder.resolve()), "dtype": "fp32"}
    assert "dtype" not in resolve_judge(str(folder)).options


@pytest.mark.parametrize(("spec", "message"), [
    ("{tmp}/missing", "not 'nudenet', not a judge artifact folder and not a Hub id ORG/NAME[@REVISION]"),
    ("nudnet", "not 'nudenet', not a judge artifact folder and not a Hub id"),
    ("{tmp}/empty", "not a judge artifact (needs config.json and model.safetensors)"),
    ("{tmp}/no-target", "names no target"),
    ("org/not-cached@v1", "as a Hub id it cannot be downloaded (HF_HUB_OFFLINE is set and it is not in the cache)"),
])
def test_bad_judge_specs_are_one_line(spec, message, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "no-target").mkdir()
    (tmp_path / "no-target" / "config.json").write_text("{}")
    (tmp_path / "no-target" / "model.safetensors").write_bytes(b"")
    with pytest.raises(DataIGMError) as err:
        resolve_judge(spec.format(tmp=tmp_path), flag="--category-judge")
    assert message in str(err.value) and str(err.value).startswith("--category-judge ")
    assert "\n" not in str(err.value)


def test_policies_expose_their_presence_check():
    from dataigm.core.curation import CurationOptions
    from dataigm.core.defaults import default_model
    from dataigm.core.registry import builder_for
    from dataigm.core.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    church = taxonomy.concept("church")
    presence = builder_for(church).curation(church, CurationOptions()).presence()
    assert presence.detector == "clip-zero-shot" and presence.options["model"] == default_model("curation-clip")
    assert not presence.local()  # a Hub model id: loading it may need a download
    assert presence.judge().as_json() == {"detector": "clip-zero-shot", "options": dict(presence.options)}
    nudity = taxonomy.concept("nudity")
    nudenet = builder_for(nudity).curation(nudity, CurationOptions()).presence()
    assert nudenet.detector == NUDENET and nudenet.local()
    blank_only = builder_for(church).curation(church, CurationOptions())
    assert [c.key for c in blank_only.checks].count(presence.key) == 1


def test_a_local_presence_check_is_local(tmp_path):
    from dataigm.core.curation import CurationOptions
    from dataigm.core.registry import builder_for
    from dataigm.core.taxonomy import load_taxonomy

    church = load_taxonomy().concept("church")
    artifact = fake_artifact(tmp_path / "judge")
    policy = builder_for(church).curation(church, CurationOptions(judges=(("object", str(artifact)),)))
    assert policy.presence().detector == ARTIFACT_DETECTOR and policy.presence().local()


def test_embedders_are_not_detectors():
    assert "clip" in EMBEDDERS.names()
    assert set(EMBEDDERS.names()) & set(DETECTORS.names()) == set()
    assert {EMBEDDERS.get(n) for n in EMBEDDERS.names()} & {DETECTORS.get(n) for n in DETECTORS.names()} == set()


def test_one_table_of_default_models():
    from builders import base
    from dataigm.core.defaults import DEFAULT_MODELS, default_model
    from dataigm.core.errors import UnknownNameError
    from dataigm.core.settings import GenerationSettings

    assert GenerationSettings().model == default_model("generation") == "CompVis/stable-diffusion-v1-4"
    assert default_model("clip-score") != default_model("curation-clip")  # two roles, two names
    assert not hasattr(base, "DEFAULT_CLIP")
    assert len(DEFAULT_MODELS) == 5
    with pytest.raises(UnknownNameError, match="did you mean 'clip-score'"):
        default_model("clip-scores")


def test_imported_sets_are_one_concept_kind(tmp_path):
    """The import record and a published manifest entry give the same concept; an attack set on
    nudity is nsfw even when imported as safe (also when only the manifest is there)."""
    from dataigm.core.storage import Store
    from dataigm.core.taxonomy import IMPORTED, imported_set
    from dataigm.hub.structure import expected_features
    from dataigm.stages.imports import imported_concept, save_import

    store = Store(str(tmp_path / "rel"))
    save_import(store, "ring", [{"id": "ring-0", "prompt": "x"}], "ring-a-bell:ring.csv", nsfw=False, attacks="nudity")
    from_record = imported_concept(store, "ring")
    assert from_record == imported_set("ring", False, "nudity")
    assert from_record.category == IMPORTED and from_record.nsfw
    assert not imported_set("plain", False).nsfw
    info = {"kind": "prompts", "category": IMPORTED, "nsfw": False, "attacks": "nudity"}
    assert expected_features("ring-prompts", info) is not None
    from dataigm.hub import structure

    assert structure._concept("ring", info).nsfw  # the structure check compares this with the manifest's flag
