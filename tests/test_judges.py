"""Judges learn, round-trip through safetensors, and reject bad input clearly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest

from tests.judge_fixtures import build_separable_release, build_tiny_clip


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> str:
    return build_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


@pytest.fixture(scope="module")
def separable(tmp_path_factory) -> Path:
    return build_separable_release(tmp_path_factory.mktemp("data") / "separable")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dataigm.cli", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def clip_judge(tiny_clip, separable, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("judges") / "church-clip"
    result = cli("train-judge", "church", str(separable), "--backbone", tiny_clip, "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()  # a short summary; the full metrics live in config.json
    assert lines[0].startswith(f"trained clip_head judge for church -> {out}") and len(lines) <= 5, result.stdout
    assert lines[1].startswith("  test presence: n ") and "accuracy" in lines[1]
    return out


def test_clip_head_learns_separable_classes(clip_judge):
    config = json.loads((clip_judge / "config.json").read_text())
    test = config["metrics"]["test"]["presence"]
    assert test["n"] >= 20 and test["accuracy"] >= 0.95, test
    assert test["auroc"] >= 0.95
    for key in ("precision", "recall", "f1", "ece", "confusion_matrix"):
        assert key in test
    assert set(config["metrics"]["test"]["by_subclass"]) == {"photo", "painting"}
    assert set(config["metrics"]["test"]["by_source"]) == {"synthetic"}
    assert config["backbone"]["revision"].startswith("local:") and 0 < config["threshold"] < 1
    assert (clip_judge / "README.md").read_text().count("threshold") >= 1


def test_artifact_round_trip_gives_identical_scores(clip_judge, separable, tmp_path):
    from detectors.clip_head import ClipHeadJudge

    csv_path, parquet_path = tmp_path / "a.csv", tmp_path / "b.parquet"
    for out in (csv_path, parquet_path):
        result = cli("judge", "--judge", str(clip_judge), str(separable), "--config", "church", "--out", str(out),
                     "--dtype", "fp32")
        assert result.returncode == 0, result.stderr
    a = pacsv.read_csv(csv_path).to_pydict()
    import pyarrow.parquet as pq

    b = pq.read_table(parquet_path).to_pydict()
    assert a["file"] == b["file"] and np.allclose(a["score"], b["score"], atol=1e-6)
    assert {"file", "score", "decision"} <= set(a)
    judge = ClipHeadJudge.load(clip_judge)
    again = ClipHeadJudge.load(clip_judge)
    from tests.judge_fixtures import separable_image

    rng = np.random.default_rng(5)
    import io

    from PIL import Image

    images = [Image.open(io.BytesIO(separable_image(i % 2, rng))).convert("RGB") for i in range(6)]
    assert np.array_equal(judge.scores(images)[0], again.scores(images)[0])


def test_judge_folder_errors(clip_judge, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("judge", "--judge", str(clip_judge), str(empty), "--out", str(tmp_path / "x.csv"))
    assert result.returncode == 2 and "no images" in result.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.png").write_bytes(b"\x89PNG not really")
    result = cli("judge", "--judge", str(clip_judge), str(bad), "--out", str(tmp_path / "x.csv"))
    assert result.returncode == 2 and "broken.png: not a readable image" in result.stderr
    result = cli("judge", "--judge", str(tmp_path), str(bad), "--out", str(tmp_path / "x.csv"))
    assert result.returncode == 2 and "not a judge artifact (needs config.json and model.safetensors)" in result.stderr


def test_nudenet_flags_no_clothed_person(fixtures, tmp_path):
    out = tmp_path / "nudenet.csv"
    result = cli("judge", "--judge", "nudenet", str(fixtures / "images" / "person"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = pacsv.read_csv(out).to_pylist()
    assert len(rows) == 10 and not any(r["decision"] for r in rows)
    assert all(r["threshold"] == pytest.approx(0.45) and r["judge_version"].startswith("3.4.2") for r in rows)


def test_real_images_never_for_nsfw(separable, tmp_path):
    from dataigm.core.errors import DataIGMError
    from dataigm.core.judge_data import JudgeData
    from dataigm.judging import add_real_images

    data = JudgeData(["clothed", "nude"], "nudity", ["nudity"], str(separable), None)
    with pytest.raises(DataIGMError, match="never used for nsfw"):
        add_real_images(data, tmp_path, "cc-by", nsfw=True)


def test_real_images_are_a_tracked_source(tiny_clip, separable, fixtures, tmp_path):
    import shutil

    real = tmp_path / "real"
    shutil.copytree(fixtures / "images" / "church", real / "church")
    shutil.copytree(fixtures / "images" / "other_object", real / "other_object")
    out = tmp_path / "judge"
    result = cli("train-judge", "church", str(separable), "--backbone", tiny_clip, "--out", str(out),
                 "--extra-images", str(real), "--extra-license", "MIT")
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["training_data"]["sources"] == ["real:real", "synthetic"]
    assert "MIT" in config["training_data"]["licenses"]
    counts = sum(v["n"] for v in config["metrics"]["test"]["by_source"].values())
    assert counts == config["metrics"]["test"]["presence"]["n"]


@pytest.mark.slow
def test_yolo_cls_trains_one_epoch_and_round_trips(separable, tmp_path, monkeypatch):
    from detectors.yolo_cls import YoloClsJudge

    out = tmp_path / "yolo"
    scratch = tmp_path / "tmp"  # the trainer's exported images and runs go here, and must not stay
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    result = cli("train-judge", "church", str(separable), "--kind", "yolo", "--yolo-model",
                 "yolov8n-cls.yaml", "--imgsz", "32", "--epochs", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert not list(scratch.glob("dataigm-yolo-*")), "training images left outside the artifact"
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "yolo_cls" and config["metrics"]["epochs"] == 1
    test = config["metrics"]["test"]["presence"]
    assert test["n"] >= 20 and 0 <= test["accuracy"] <= 1 and "auroc" in test
    csv_path = tmp_path / "yolo.csv"
    result = cli("judge", "--judge", str(out), str(separable), "--config", "church", "--split", "test",
                 "--out", str(csv_path))
    assert result.returncode == 0, result.stderr
    scores = pacsv.read_csv(csv_path).column("score").to_pylist()
    judge = YoloClsJudge.load(out)
    from dataigm.hub.loading import load

    images = [r["image"] for r in load("church", str(separable), split="test")]
    assert np.allclose(judge.scores(images)[0], scores, atol=1e-6)


def test_person_check_curates_nudity_retain_rows(tmp_path):
    from tests.conftest import load_release, smoke_build

    out = tmp_path / "release"
    smoke_build(out, ["nudity"], image_limit=1, person_check="yolov8n.yaml")
    rows = [r for split in load_release(out, "nudity").values() for r in split]
    retain = [r for r in rows if r["role"] == "retain"]
    assert retain
    for row in rows:
        checks = [v for v in row["verdicts"] if v["check"] == "person"]
        assert len(checks) == 1 and checks[0]["threshold"] == pytest.approx(0.25)
        assert checks[0]["name"] == "yolo-person" and json.loads(checks[0]["details"])["class_id"] == 0
    for row in retain:  # a random-init detector finds no person: every retain row is dropped, with why
        assert row["status"] == "dropped" and "person_absent" in row["reason_codes"]
        assert "retain images must show a person" in row["reason"]


def test_batched_nudenet_matches_the_package(fixtures):
    from PIL import Image

    from detectors.nudenet_judge import NudeNetJudge

    judge = NudeNetJudge(batch_size=4)
    files = sorted((fixtures / "images").rglob("*.png"))
    ours = judge.detect([np.asarray(Image.open(p).convert("RGB")) for p in files])
    for path, detections in zip(files, ours, strict=True):
        reference = judge._detector.detect(str(path))
        assert sorted((d["class"], round(d["score"], 5), tuple(d["box"])) for d in detections) == sorted(
            (d["class"], round(d["score"], 5), tuple(d["box"])) for d in reference), path


def test_nudity_judge_report_compares_with_nudenet(tiny_clip, tmp_path):
    """Synthetic colour patterns stand in for the two classes: no sexual imagery anywhere."""
    data = build_separable_release(tmp_path / "nudity-data", concept_name="nudity", n=80)
    out = tmp_path / "nudity-judge"
    result = cli("train-judge", "nudity", str(data), "--backbone", tiny_clip, "--out", str(out))
    assert result.returncode == 0, result.stderr
    comparison = json.loads((out / "config.json").read_text())["metrics"]["comparison"]
    nudenet = comparison["nudenet"]
    assert nudenet["threshold"] == pytest.approx(0.45) and "FEMALE_BREAST_EXPOSED" in nudenet["labels"]
    assert nudenet["n"] == comparison["trained"]["n"] > 0
    assert nudenet["recall"] == 0.0  # NudeNet finds no nudity in colour patterns, as it should


def test_category_judge_tells_which_concept(tiny_clip, tmp_path):
    """A multi-class judge over a category: which artist (each its own colour), or none. Its labels
    are every WikiArt class, with their ids (class 0: realistic-styleless, the no-style class)."""
    from dataigm.core.taxonomy import load_taxonomy

    data = tmp_path / "style-data"
    artists = ["van_gogh", "monet", "picasso", "rembrandt", "hokusai"]
    for i, concept in enumerate(artists):
        build_separable_release(data, concept_name=concept, n=60, seed=i, colour=i)
    out = tmp_path / "style-judge"
    # fp32 pinned: the tiny random CLIP's 16-d features lose this separation in bf16 (which `auto`
    # picks on CPUs with native bf16); real CLIP features stay within BF16_TOLERANCE (tested below)
    result = cli("train-judge", "style", str(data), "--backbone", tiny_clip, "--out", str(out),
                 "--epochs", "600", "--dtype", "fp32")
    assert result.returncode == 0, result.stderr
    config = json.loads((out / "config.json").read_text())
    style = load_taxonomy().categories["style"]
    assert config["task"] == "multiclass" and config["labels"][0] == "realistic_styleless"
    assert len(config["labels"]) == len(style.concepts) + 1 == 129
    ids = {label: ids.get("wikiart") for label, ids in zip(config["labels"], config["label_ids"], strict=True)}
    assert ids["realistic_styleless"] == "0" and ids["monet"] == "4" and ids["van_gogh"] == "22"
    assert sorted(int(v) for v in ids.values()) == list(range(129))
    assert sorted(config["training_data"]["configs"]) == sorted(artists)
    classes = config["metrics"]["test"]["classes"]
    assert len(classes["confusion_matrix"]) == 129
    assert classes["accuracy"] >= 0.8, classes
    assert config["metrics"]["test"]["presence"]["accuracy"] >= 0.95

    # One concept of the category judge: present when it is the most probable label. Each verdict
    # records the bar it had to reach (the largest other probability), so score >= threshold holds
    # exactly when the decision is True, as for every other detector.
    import io

    from PIL import Image

    from dataigm.core.curation import decision_rule
    from dataigm.core.registry import DETECTORS
    from tests.judge_fixtures import separable_image

    rng = np.random.default_rng(7)
    images = [np.asarray(Image.open(io.BytesIO(separable_image(label, rng, colour=0))).convert("RGB"))
              for label in (1, 1, 1, 1, 1, 1, 0, 0)]  # van_gogh's squares, then stripes (no style)
    judge = DETECTORS.get("judge")(str(out), concept="van_gogh")
    verdicts = judge.judge(images)
    _, probs = judge.scores([Image.fromarray(im) for im in images])
    k = config["labels"].index("van_gogh")
    for v, p in zip(verdicts, probs, strict=True):
        assert v.decision == (int(np.argmax(p)) == k) == (v.score >= v.threshold)
        assert v.score == pytest.approx(p[k]) and v.threshold == pytest.approx(np.delete(p, k).max())
    decisions = [v.decision for v in verdicts]
    assert sum(decisions[:6]) >= 4 and not any(decisions[6:]), [v.message for v in verdicts]
    assert decision_rule(judge) == "van_gogh is the most probable of the 129 labels"


def test_real_images_from_a_hugging_face_dataset(tiny_clip, separable, fixtures, tmp_path):
    from datasets import ClassLabel, Dataset, Features, Image

    files = sorted((fixtures / "images" / "church").glob("*.png")) + sorted(
        (fixtures / "images" / "other_object").glob("*.png"))
    labels = [1] * 5 + [0] * 5
    features = Features({"image": Image(), "label": ClassLabel(names=["other_object", "church"])})
    hf = tmp_path / "hf-real"
    hf.mkdir()
    Dataset.from_dict({"image": [str(f) for f in files], "label": labels}, features=features).to_parquet(
        hf / "train.parquet")
    out = tmp_path / "judge"
    result = cli("train-judge", "church", str(separable), "--backbone", tiny_clip, "--out", str(out),
                 "--extra-images", str(hf), "--extra-license", "MIT")
    assert result.returncode == 0, result.stderr
    assert "added 10 real images" in result.stdout
    config = json.loads((out / "config.json").read_text())
    assert "real:hf-real" in config["training_data"]["sources"]


def test_clip_judges_in_bf16_stay_within_the_stated_tolerance(clip_judge, fixtures, tmp_path):
    from dataigm.core.images import image_files, read_image
    from dataigm.stages.tiny_models import build_tiny_clip
    from detectors.clip import BF16_TOLERANCE
    from detectors.clip_head import ClipHeadJudge
    from detectors.clip_zero_shot import ClipZeroShot

    images = [read_image(p)[0] for p in image_files(fixtures / "images")]
    head = {dtype: ClipHeadJudge.load(clip_judge, dtype=dtype).scores(images)[0] for dtype in ("fp32", "bf16")}
    assert np.abs(head["fp32"] - head["bf16"]).max() <= BF16_TOLERANCE
    model = str(build_tiny_clip(tmp_path / "tiny-clip"))
    texts = {"positive": ["a photo of a church"], "negative": ["a photo of a person", "a painting"]}
    zero = {dtype: ClipZeroShot(model, **texts, dtype=dtype).scores(images) for dtype in ("fp32", "bf16")}
    assert np.abs(zero["fp32"] - zero["bf16"]).max() <= BF16_TOLERANCE
    assert not np.array_equal(zero["fp32"], zero["bf16"])  # bf16 really ran


def test_a_clip_backbone_missing_vision_weights_is_refused_quietly(tmp_path, caplog):
    """A full CLIP folder loads as a vision tower without transformers' table of left-out text
    weights; a folder whose vision weights are incomplete is one error, never random weights."""
    import shutil

    from safetensors.torch import load_file, save_file
    from transformers import CLIPVisionModelWithProjection
    from transformers.utils import logging as hf_logging

    from dataigm.core.errors import DataIGMError
    from dataigm.stages.tiny_models import build_tiny_clip as build_full_tiny_clip
    from detectors.clip import ClipEncoder

    tiny_clip = str(build_full_tiny_clip(tmp_path / "full-clip"))  # text and vision towers

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_warning()  # as a fresh process has it (building the tiny CLIP quietened it)
    hf_logging.enable_propagation()  # transformers' records reach caplog
    try:
        CLIPVisionModelWithProjection.from_pretrained(tiny_clip)  # transformers alone reports the table
        assert "UNEXPECTED" in caplog.text
        caplog.clear()
        ClipEncoder(tiny_clip)
        assert "UNEXPECTED" not in caplog.text
    finally:
        hf_logging.disable_propagation()
        hf_logging.set_verbosity(verbosity)
    broken = tmp_path / "broken-clip"
    shutil.copytree(tiny_clip, broken)
    weights = load_file(broken / "model.safetensors")
    save_file({k: v for k, v in weights.items() if not k.startswith("visual_projection")}, broken / "model.safetensors")
    with pytest.raises(DataIGMError, match="vision weights missing"):
        ClipEncoder(str(broken))
