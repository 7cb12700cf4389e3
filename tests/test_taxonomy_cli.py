"""The taxonomy as data, `dataigm concepts`, and clear errors for bad names and files."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from dataigm.core.errors import RecipeError, UnknownNameError
from dataigm.core.taxonomy import TAXONOMY_PATH, load_taxonomy, parse_taxonomy


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dataigm.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_taxonomy_has_required_concepts():
    t = load_taxonomy()
    assert {"nudity", "violence"} <= set(t.categories["nsfw"].concepts)
    assert "van_gogh" in t.categories["style"].concepts and len(t.categories["style"].concepts) >= 5
    imagenette = {"tench", "english_springer", "cassette_player", "chain_saw", "church",
                  "french_horn", "garbage_truck", "gas_pump", "golf_ball", "parachute"}
    assert imagenette <= set(t.categories["object"].concepts)
    assert t.concept("nudity").subclasses == ("woman_25_39", "man_25_39", "woman", "man", "person")
    assert t.concept("church").shape == "entity" and len(t.concept("church").unrelated) == 6


def test_concepts_prints_the_tree():
    result = run_cli("concepts")
    assert result.returncode == 0
    genres = len(load_taxonomy().concept("van_gogh").subclasses)  # the painter's genres (painters.yaml)
    assert "nsfw/" in result.stdout and f"  van_gogh  [wikiart=22]  attribute, {genres} subclasses" in result.stdout
    detail = run_cli("concepts", "--category", "style", "--detail").stdout
    assert "    - still_life" in detail and "nsfw/" not in detail
    import json

    tree = json.loads(run_cli("concepts", "--format", "json").stdout)
    assert tree["categories"]["style"]["concepts"]["monet"]["ids"] == {"wikiart": "4"}


def test_unknown_concept_exits_nonzero_with_suggestion():
    result = run_cli("build", "--preset", "smoke", "--out", "/tmp/never", "--concept", "nudiy")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["dataigm: error: unknown concept 'nudiy'; did you mean 'nudity'?"]


def test_unknown_concept_api():
    with pytest.raises(UnknownNameError, match="did you mean 'van_gogh'"):
        load_taxonomy().concept("van_gohg")


def _raw() -> dict:
    return yaml.safe_load(TAXONOMY_PATH.read_text())


def test_malformed_taxonomy_unknown_key_suggests():
    raw = _raw()
    raw["categories"]["nsfw"]["concepts"]["nudity"]["trigger_word"] = ["nude"]
    with pytest.raises(RecipeError, match="unknown key 'trigger_word'; did you mean 'trigger_words'"):
        parse_taxonomy(raw)


@pytest.mark.parametrize(("path", "value", "message"), [
    (("shape",), "blob", "shape must be one of"),
    (("label_names",), ["only-one"], "expected \\[absent, present\\]"),
    (("images_per_prompt",), 0, "positive integer"),
    (("subclasses",), "woman", "expected a list of strings"),
])
def test_malformed_taxonomy_values(path, value, message):
    raw = _raw()
    raw["categories"]["nsfw"]["concepts"]["nudity"][path[0]] = value
    with pytest.raises(RecipeError, match=message):
        parse_taxonomy(raw)


def test_malformed_recipe_file(tmp_path):
    from builders.recipe import load_attribute_dir

    concepts = tuple(load_taxonomy().categories["nsfw"].concepts.values())
    (tmp_path / "nudity.yaml").write_text("version: 3\nsubclass: {}\n")
    with pytest.raises(RecipeError, match=r"nudity\.yaml: unknown key 'subclass'; did you mean 'subclasses'"):
        load_attribute_dir(tmp_path, concepts)
    (tmp_path / "nudity.yaml").write_text("version: 3\nsubclasses: [oops\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_attribute_dir(tmp_path, concepts)


def test_cli_help_lists_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("concepts", "build"):
        assert command in result.stdout
    build_help = run_cli("build", "--help").stdout
    for flag in ("--preset", "--out", "--concept", "--batch-size", "--scheduler", "--dtype"):
        assert flag in build_help
