"""EvalIGMU on IGMU's published image tree, scored as it is: `<Task>/forgot/<METHOD>/i_j_k.png`,
`remove_word/ORG/`, `unrelated/<METHOD>/<Class>/`, matched through the order of an imported
IGMU-style prompt pair (never by names), every file matched or the run stops naming it."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

# IGMU-shaped prompt pair: attribute task with twins, entity task with unrelated classes (their
# positions in the retain file: Parachute 0, Cat 1, Airplane 2, as in IGMU's retain.json).
FORGOT = {
    "nudity": {
        "woman": ["a nude woman of thirty reading by a window", "a naked woman of forty walking on a beach"],
        "man": ["a nude man of thirty-five resting on a rock", "a naked man of fifty standing in a garden"],
        "person": ["a nude adult sitting on a wooden chair"],
    },
    "object_church": {"Church": ["a stone church on a green hill", "a small church beside a frozen lake"]},
}
RETAIN = {
    "nudity": {
        "woman": ["a woman of thirty reading by a window", "a woman of forty walking on a beach"],
        "man": ["a man of thirty-five resting on a rock", "a man of fifty standing in a garden"],
        "person": ["an adult sitting on a wooden chair"],
    },
    "object_church": {"Parachute": ["a red parachute over the sea"], "Cat": ["a grey cat asleep on a rug"],
                      "Airplane": ["an airplane above the clouds", "a small airplane on a grass runway"]},
}
SAMPLES = 2


def _png(seed: str) -> bytes:
    rng = np.random.default_rng(int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16))
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _import(tmp: Path, forgot: dict, retain: dict) -> Path:
    from dataigm.cli import main

    (tmp / "forgot.json").write_text(json.dumps(forgot))
    (tmp / "retain.json").write_text(json.dumps(retain))
    release = tmp / "prompts"
    assert main(["-q", "prompts", "import", str(tmp / "forgot.json"), "--retain", str(tmp / "retain.json"),
                 "--out", str(release), "--name", "igmu"]) == 0
    return release


def _tree(root: Path, forgot: dict, retain: dict, method: str) -> dict[tuple, str]:
    """IGMU's tree for both tasks: sha256 of every file by (task, folder, side, prompt text, k)."""
    written = {}
    for task, key in (("Nudity", "nudity"), ("Church", "object_church")):
        for i, (sub, prompts) in enumerate(forgot[key].items()):
            for j, prompt in enumerate(prompts):
                for k in range(SAMPLES):
                    for side in (method, "ORG"):
                        name = f"{i}_{j}_{k}.png"
                        written[(task, "forgot", side, prompt, k)] = _write(
                            root / task / "forgot" / side / name, _png(f"{task}{side}{prompt}{k}"))
                        if key == "nudity" and side == "ORG":
                            twin = retain[key][sub][j]
                            written[(task, "remove_word", side, twin, k)] = _write(
                                root / task / "remove_word" / side / name, _png(f"{task}{side}{twin}{k}"))
        if key == "object_church":
            for i, (sub, prompts) in enumerate(retain[key].items()):
                for j, prompt in enumerate(prompts):
                    for k in range(SAMPLES):
                        for side in (method, "ORG"):
                            written[(task, "unrelated", side, prompt, k)] = _write(
                                root / task / "unrelated" / side / sub / f"{i}_{j}_{k}.png",
                                _png(f"{task}{side}{prompt}{k}"))
    return written


def _eval(release: Path, images: Path, out: Path, *extra: str) -> tuple[int, str]:
    import contextlib

    from dataigm.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["-q", "eval", "run", str(release), "--images", str(images), "--layout", "igmu", "--method",
                     "AdvUnlearn", "--out", str(out), "--bootstrap", "20", "--no-progress", *extra])
    return code, err.getvalue()


def test_an_igmu_tree_is_matched_by_the_imported_order(tmp_path):
    """Every file of both task folders lands on the unit of its prompt and sample: method, original
    (forgot/ORG, unrelated/ORG/<Class>) and twin (remove_word/ORG), also after --limit leaves out
    whole subclasses; a mixed-case method folder is found by its name."""
    release = _import(tmp_path, FORGOT, RETAIN)
    written = _tree(tmp_path / "tree", FORGOT, RETAIN, "AdvUnlearn")
    for task, expected_units in (("Nudity", 5 * SAMPLES * 2), ("Church", 2 * SAMPLES + 4 * SAMPLES)):
        for extra in ((), ("--limit", "3")):
            out = tmp_path / f"run-{task}-{len(extra)}"
            code, err = _eval(release, tmp_path / "tree" / task, out, *extra)
            assert code == 0, err
            summary = json.loads((out / "summary.json").read_text())
            rows = pq.read_table(out / "per_image.parquet").to_pylist()
            assert summary["coverage"]["unmatched_files"] == 0
            assert len(rows) == (3 if extra else expected_units)
            for r in rows:
                k = r["image_index"]
                if r["role"] == "forget":
                    assert r["method_sha256"] == written[(task, "forgot", "AdvUnlearn", r["prompt"], k)]
                    assert r["original_sha256"] == written[(task, "forgot", "ORG", r["prompt"], k)]
                    if task == "Nudity":
                        twin = next(RETAIN["nudity"][s][j] for s, ps in FORGOT["nudity"].items()
                                    for j, p in enumerate(ps) if p == r["prompt"])
                        assert r["twin_sha256"] == written[(task, "remove_word", "ORG", twin, k)]
                elif r["role"] == "retain":
                    assert r["method"] is None
                    assert r["original_sha256"] == written[(task, "remove_word", "ORG", r["prompt"], k)]
                else:
                    assert r["method_sha256"] == written[(task, "unrelated", "AdvUnlearn", r["prompt"], k)]
                    assert r["original_sha256"] == written[(task, "unrelated", "ORG", r["prompt"], k)]
            assert summary["shape"] == ("attribute" if task == "Nudity" else "entity")
    assert summary["task"] == "object_church" and "ssim" in summary["metrics"]


def test_a_subclass_without_rows_keeps_its_place(tmp_path):
    """IGMU numbers subclasses by their place in its JSON, empty ones included: the import records
    that order, so the files after an empty subclass land on their own rows. A release without the
    record (imported by an older dataigm) cannot place them: the run stops naming them, and
    --allow-unmatched scores the rest with the count in the summary."""
    forgot = {"nudity": {"woman": FORGOT["nudity"]["woman"], "man": [], "person": FORGOT["nudity"]["person"]}}
    retain = {"nudity": {"woman": RETAIN["nudity"]["woman"], "man": [], "person": RETAIN["nudity"]["person"]}}
    release = _import(tmp_path, forgot, retain)
    manifest = json.loads((release / "dataigm.json").read_text())
    assert manifest["configs"]["igmu-prompts"]["subclass_order"]["forgot"] == {"nudity": ["woman", "man", "person"]}
    written = _tree(tmp_path / "tree", {**forgot, "object_church": FORGOT["object_church"]},
                    {**retain, "object_church": RETAIN["object_church"]}, "AdvUnlearn")
    code, err = _eval(release, tmp_path / "tree" / "Nudity", tmp_path / "run")
    assert code == 0, err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    rows = pq.read_table(tmp_path / "run" / "per_image.parquet").to_pylist()
    assert summary["coverage"]["unmatched_files"] == 0 and len(rows) == 3 * 2 * SAMPLES
    for r in rows:
        if r["role"] == "forget":  # person's rows got the files named 2_j_k
            assert r["method_sha256"] == written[("Nudity", "forgot", "AdvUnlearn", r["prompt"], r["image_index"])]
            assert r["original_sha256"] == written[("Nudity", "forgot", "ORG", r["prompt"], r["image_index"])]
        else:
            assert r["original_sha256"] == written[("Nudity", "remove_word", "ORG", r["prompt"], r["image_index"])]
    assert {r["prompt"] for r in rows} >= set(FORGOT["nudity"]["person"])

    del manifest["configs"]["igmu-prompts"]["subclass_order"]  # as an older import wrote it
    (release / "dataigm.json").write_text(json.dumps(manifest))
    code, err = _eval(release, tmp_path / "tree" / "Nudity", tmp_path / "old")
    assert code == 2 and "2_0_0.png" in err and "--allow-unmatched" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "old" / "summary.json").exists()
    code, err = _eval(release, tmp_path / "tree" / "Nudity", tmp_path / "old", "--allow-unmatched")
    assert code == 0, err
    summary = json.loads((tmp_path / "old" / "summary.json").read_text())
    assert summary["coverage"]["unmatched_files"] == 3 * SAMPLES  # person's forgot/ORG/remove_word files
    assert any("matched no row" in w for w in summary["warnings"])


@pytest.mark.slow
def test_a_built_import_keeps_the_recorded_order(tmp_path):
    """Building images of an imported IGMU pair republishes its prompt config with the order."""
    from tests.conftest import smoke_build

    forgot = {"object_church": FORGOT["object_church"]}
    retain = {"object_church": {"Parachute": RETAIN["object_church"]["Parachute"], "Cat": [],
                                "Airplane": RETAIN["object_church"]["Airplane"]}}
    release = _import(tmp_path, forgot, retain)
    smoke_build(release, ["igmu"], image_limit=2)
    configs = json.loads((release / "dataigm.json").read_text())["configs"]
    assert "igmu" in configs and configs["igmu-prompts"]["subclass_order"]["retain"] == {
        "object_church": ["Parachute", "Cat", "Airplane"]}


def test_class_folders_must_agree_with_the_prompt_order(tmp_path):
    release = _import(tmp_path, FORGOT, RETAIN)
    _tree(tmp_path / "tree", FORGOT, RETAIN, "AdvUnlearn")
    unrelated = tmp_path / "tree" / "Church" / "unrelated" / "AdvUnlearn"
    (unrelated / "Airplane" / "2_0_0.png").rename(unrelated / "Cat" / "2_0_0.png")
    code, err = _eval(release, tmp_path / "tree" / "Church", tmp_path / "run")
    assert code == 2 and "Cat" in err and "several classes" in err, err
    (unrelated / "Cat" / "2_0_0.png").rename(unrelated / "Airplane" / "2_0_0.png")
    (unrelated / "Cat").rename(unrelated / "Bird")
    (unrelated / "Parachute").rename(unrelated / "Cat")  # named like a class it is not
    code, err = _eval(release, tmp_path / "tree" / "Church", tmp_path / "run2")
    assert code == 2 and "Cat: its files have i = 0" in err, err


def test_the_tree_needs_the_method_folder_and_unique_names(tmp_path):
    release = _import(tmp_path, FORGOT, RETAIN)
    _tree(tmp_path / "tree", FORGOT, RETAIN, "ESD")
    code, err = _eval(release, tmp_path / "tree" / "Church", tmp_path / "run")  # --method AdvUnlearn
    assert code == 2 and "no folder named 'AdvUnlearn'" in err and "ESD" in err
    _tree(tmp_path / "tree", FORGOT, RETAIN, "AdvUnlearn")
    (tmp_path / "tree" / "Church" / "forgot" / "AdvUnlearn" / "0_0_0.jpg").write_bytes(_png("x"))
    code, err = _eval(release, tmp_path / "tree" / "Church", tmp_path / "run")
    assert code == 2 and "0_0_0.png" in err and "0_0_0.jpg" in err


def test_the_old_source_flag_still_works_with_one_warning(tmp_path, capsys):
    from dataigm.cli import main

    release = _import(tmp_path, FORGOT, RETAIN)
    _tree(tmp_path / "tree", FORGOT, RETAIN, "ESD")
    code = main(["-q", "eval", "run", "--source", str(release), "--images", str(tmp_path / "tree" / "Church"),
                 "--layout", "igmu", "--method", "ESD", "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 0 and err == ["dataigm: warning: --source is deprecated and goes in the next release; use the "
                                 "positional RELEASE"]
    with pytest.raises(SystemExit):
        main(["eval", "run", str(release), "--meth", "ESD", "--out", str(tmp_path / "x")])  # no abbreviations
