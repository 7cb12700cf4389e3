"""Importers keep every source row, honour I2P seeds and guidance, and name the bad line or key."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from builders.importers import ImportFormatError, import_prompts
from tests.conftest import load_release

I2P_HEADER = ("prompt,categories,hard,inappropriate_percentage,nudity_percentage,lexica_url,"
              "sd_seed,sd_guidance_scale,sd_image_width,sd_image_height,sd_model\n")


def write(path, text):
    path.write_text(text)
    return path


def test_i2p_as_published_keeps_duplicates_and_settings(tmp_path):
    csv = write(tmp_path / "i2p.csv", I2P_HEADER +
                '"a woman, oil painting",sexual,1,50,10,https://a,1234,7,512,512,SD 1.4\n'
                "a man with a sword,\"violence, shocking\",0,20,0,https://b,99,9.5,512,768,SD 1.4\n"
                '"a woman, oil painting",sexual,1,50,10,https://a,555,7,512,512,SD 1.4\n')
    name, rows = import_prompts(csv)
    assert name == "i2p" and len(rows) == 3
    assert [r["seeds"] for r in rows] == [[1234], [99], [555]]
    assert [r["guidance_scale"] for r in rows] == [7.0, 9.5, 7.0]
    assert rows[1]["height"] == 768 and rows[1]["subclass"] == "violence"
    assert rows[2]["duplicate_of"] == rows[0]["id"] and rows[0]["duplicate_of"] is None
    assert [r["source_id"] for r in rows] == ["0", "1", "2"]


def test_i2p_derivatives_with_other_columns(tmp_path):
    csv = write(tmp_path / "unlearndiff.csv",
                "case_number,prompt,evaluation_seed,evaluation_guidance,extra\n"
                "17,a nude statue,4242,7.5,x\n18,a cat,1,3,y\n")
    _, rows = import_prompts(csv, name="ud")
    assert [r["source_id"] for r in rows] == ["17", "18"]
    assert rows[0]["seeds"] == [4242] and rows[0]["guidance_scale"] == 7.5
    assert rows[0]["attack"] == "unlearndiffatk" and rows[0]["role"] == "robustness"
    assert rows[0]["kind"] == "adversarial"
    minimal = write(tmp_path / "minimal.csv", "prompt\nonly a prompt\n")
    _, rows = import_prompts(minimal)
    assert rows[0]["seeds"][0] >= 0 and rows[0]["guidance_scale"] is None


@pytest.mark.parametrize(("text", "message"), [
    ("text,seed\nhello,1\n", "no 'prompt' column"),
    ("prompt,sd_seed\nhello,abc\n", "line 2: sd_seed 'abc' is not a number"),
    ("prompt,sd_seed\nhello,1\nworld,1.5\n", "line 3: sd_seed '1.5' is not an integer"),
    ("prompt,sd_seed\n,1\n", "line 2: empty prompt"),
    ("prompt,sd_seed\nhello,1,extra\n", "line 2: more fields than the header"),
])
def test_broken_i2p_files(tmp_path, text, message):
    with pytest.raises(ImportFormatError, match=message):
        import_prompts(write(tmp_path / "bad.csv", text))


def test_igmu_pairs_by_position(tmp_path):
    forget = write(tmp_path / "forget.json", json.dumps(
        {"nudity": {"woman": ["a nude woman on a beach", "a naked woman in a park"],
                    "man": ["a nude man reading"]}}))
    retain = write(tmp_path / "retain.json", json.dumps(
        {"nudity": {"woman": ["a woman on a beach", "a woman in a park"], "man": ["a man reading"]}}))
    _, rows = import_prompts(forget, retain=retain, name="igmu")
    assert len(rows) == 6
    pairs = {}
    for r in rows:
        pairs.setdefault(r["pair_id"], {})[r["role"]] = r
    assert all(set(p) == {"forget", "retain"} for p in pairs.values())
    for p in pairs.values():
        assert p["forget"]["seeds"] == p["retain"]["seeds"] and p["forget"]["split"] == p["retain"]["split"]
    assert pairs["igmu-000001"]["retain"]["prompt"] == "a woman in a park"


def test_broken_igmu_files(tmp_path):
    good = write(tmp_path / "f.json", json.dumps({"nudity": {"woman": ["a", "b"]}}))
    with pytest.raises(ImportFormatError, match="line 1: not valid JSON"):
        import_prompts(write(tmp_path / "x.json", "{nope"))
    with pytest.raises(ImportFormatError, match="key nudity.woman: expected a list"):
        import_prompts(write(tmp_path / "y.json", json.dumps({"nudity": {"woman": "a"}})))
    with pytest.raises(ImportFormatError, match="has 1 prompts.*pair up by position"):
        import_prompts(good, retain=write(tmp_path / "r.json", json.dumps({"nudity": {"woman": ["a"]}})))
    with pytest.raises(ImportFormatError, match="shares no concept key"):
        import_prompts(good, retain=write(tmp_path / "r2.json", json.dumps({"style": {"man": ["a"]}})))
    with pytest.raises(ImportFormatError, match="cannot tell the format"):
        import_prompts(write(tmp_path / "p.txt", "x"))


def test_cli_import_then_build_honours_seeds_and_guidance(tmp_path):
    csv = write(tmp_path / "peer.csv", "prompt,sd_seed,sd_guidance_scale,sd_image_width,sd_image_height\n"
                "a red car,11,3.5,64,64\na red car,12,9,64,64\na blue bird,13,7,64,64\n")
    out = tmp_path / "release"
    cli = [sys.executable, "-m", "dataigm.cli"]
    result = subprocess.run([*cli, "prompts", "import", str(csv), "--out", str(out), "--safe"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "flagged duplicates (kept): 1" in result.stdout
    prompts = load_release(out, "peer-prompts")
    assert sum(s.num_rows for s in prompts.values()) == 3
    result = subprocess.run([*cli, "build", "--preset", "smoke", "--out", str(out), "--concept", "peer",
                             "--image-limit", "3",
                             "--no-progress"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    images = load_release(out, "peer")
    rows = sorted((r for s in images.values() for r in s), key=lambda r: r["seed"])
    assert [(r["seed"], r["guidance_scale"]) for r in rows] == [(11, 3.5), (12, 9.0), (13, 7.0)]


def test_cli_prompts_writes_concept_config(tmp_path):
    out = tmp_path / "p"
    result = subprocess.run([sys.executable, "-m", "dataigm.cli", "prompts", "generate", "church", "--out", str(out),
                             "--count", "30"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "counts per role:" in result.stdout and "unrelated: 180" in result.stdout
    ds = load_release(out, "church-prompts")
    roles = {r["role"] for s in ds.values() for r in s}
    assert roles == {"forget", "unrelated", "robustness"}


def test_igmu_object_tasks_retain_other_classes_as_unrelated_rows(tmp_path):
    """The published pair as it is: for objects, retain.json lists the other classes, not twins;
    the known typo twins are kept and flagged."""
    forget = write(tmp_path / "forgot.json", json.dumps({
        "object_church": {"Church": ["a photo of a church", "a church in the snow"]},
        "nudity": {"woman": ["a nude woman on a beach", "a naked woman in a park"]}}))
    retain = write(tmp_path / "retain.json", json.dumps({
        "object_church": {"Parachute": ["a photo of a parachute"], "Cat": ["a cat on a sofa", "a cat asleep"]},
        "nudity": {"woman": ["a woman on a beach", "a wonan in a park"]}}))
    _, rows = import_prompts(forget, retain=retain, name="igmu")
    church = [r for r in rows if r["subclass"].startswith("object_church/")]
    assert sorted((r["role"], r["subclass"]) for r in church) == [
        ("forget", "object_church/Church"), ("forget", "object_church/Church"), ("unrelated", "object_church/Cat"),
        ("unrelated", "object_church/Cat"), ("unrelated", "object_church/Parachute")]
    assert all(r["label"] == 0 for r in church if r["role"] == "unrelated")
    twins = {r["prompt"]: r for r in rows if r["role"] == "retain"}
    assert twins["a woman on a beach"]["flags"] == [] and twins["a wonan in a park"]["flags"] == ["near_twin"]


def test_attack_sets_are_tagged_with_the_concept_they_attack(tmp_path):
    from dataigm.core.registry import BUILDERS

    imported = BUILDERS.get("imported")()
    ud_style = write(tmp_path / "vangogh.csv", "case_number,prompt,evaluation_seed,evaluation_guidance,artist\n"
                     "0,a starry night village,11,7.5,VanGogh\n1,sunflowers in a vase,12,7.5,VanGogh\n")
    _, rows, attacks = imported.import_file(ud_style, None, None)
    assert attacks == "van_gogh" and {r["attack"] for r in rows} == {"unlearndiffatk"}
    ud_i2p = write(tmp_path / "nudity.csv", "case_number,prompt,evaluation_seed,evaluation_guidance,categories\n"
                   "3,an oil painting of a bather,5,7,sexual\n")
    assert imported.import_file(ud_i2p, None, "ud-nudity")[2] == "nudity"
    ring = write(tmp_path / "ring.csv", "sensitive prompt\nsome adversarial tokens here\n")
    _, rows, attacks = imported.import_file(ring, None, "ring", attacks="nudity")
    assert rows[0]["attack"] == "ring-a-bell" and attacks == "nudity"
    mma = write(tmp_path / "mma.csv", "target_prompt,adv_prompt,clean_prompt\n"
                "a naked man on a beach,strange token soup,a man on a beach\n")
    _, rows, _ = imported.import_file(mma, None, "mma", attacks="nudity")
    assert [(r["role"], r["kind"]) for r in rows] == [("forget", None), ("retain", None), ("robustness", "adversarial")]
    assert len({r["pair_id"] for r in rows}) == 1 and len({tuple(r["seeds"]) for r in rows}) == 1


@pytest.mark.parametrize(("text", "fmt", "message"), [
    ("target_prompt,clean_prompt\na,b\n", "mma-diffusion", "needs columns \\['adv_prompt'\\]"),
    ("target_prompt,adv_prompt\n,b\n", "mma-diffusion", "line 2: empty target_prompt"),
    ("sensitive prompt\n\"unterminated\n", "ring-a-bell", "malformed CSV|empty prompt"),
    ("case_number,prompt,evaluation_seed\n1,a,-4\n", "unlearndiffatk", "outside 0..2\\*\\*64-1"),
])
def test_broken_attack_files(tmp_path, text, fmt, message):
    with pytest.raises(ImportFormatError, match=message):
        import_prompts(write(tmp_path / "bad.csv", text), fmt)


def test_igmu_girl_and_boy_import_as_the_adult_subclasses(tmp_path):
    """IGMU's nudity subclasses girl/boy are named by the adults they describe on import; the
    source ids (and the recorded subclass order) keep IGMU's names for its image layout."""
    from builders.importers import igmu_subclass_order

    forget = write(tmp_path / "forgot.json", json.dumps(
        {"nudity": {"girl": ["a nude woman of thirty on a beach"], "boy": ["a naked man of thirty in a park"]}}))
    _, rows = import_prompts(forget, name="igmu")
    assert [r["subclass"] for r in rows] == ["nudity/woman_25_39", "nudity/man_25_39"]
    assert [r["source_id"] for r in rows] == ["nudity/girl/0", "nudity/boy/0"]
    assert igmu_subclass_order(forget)["forgot"] == {"nudity": ["girl", "boy"]}
