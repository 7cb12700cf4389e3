"""Prompts v3: the engine on tiny recipe fixtures, the gates and the stats on hand-made prompts, and
the shipped recipes over every prompt of every concept (a sample of concepts in the quick set,
all of them and the diversity targets in the slow set)."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from builders.grammar import french_contractions, normalise
from builders.prompts import PromptBuilder, misspell
from builders.quality import Gate, format_problems, minor_words, near_duplicate_pairs, prompt_problems
from builders.recipe import (
    GENRES,
    RECIPES,
    Sizes,
    load_attribute_dir,
    load_object_dir,
    load_style_dir,
    painter_genres,
    vocabulary,
)
from dataigm.core import prompt_stats
from dataigm.core.errors import RecipeError
from dataigm.core.registry import builder_for
from dataigm.core.taxonomy import load_taxonomy, words_pattern
from tests.recipe_fixtures import FERRY, KITE, MONET, MORISOT, STRIPES, object_dir, stripes_dir, style_dir

TAXONOMY = load_taxonomy()
CONCEPTS = list(TAXONOMY.concepts)
# The quick set: every nsfw concept, and a few painters and objects (the slow set: all 165).
QUICK = ["nudity", "violence", "harassment", "hate", "shocking", "self_harm", "illegal_activity",
         "van_gogh", "gene_davis", "ivan_shishkin", "mary_cassatt", "church", "jellyfish", "sea", "golf_ball"]
SLOW = [pytest.param(c, marks=pytest.mark.slow) for c in CONCEPTS if c not in QUICK]
SHOWN = ["nudity", "violence", "harassment", "van_gogh", "gene_davis", "ivan_shishkin", "church", "jellyfish", "sea"]


# -- the engine on fixtures ---------------------------------------------------------------------------

def _stripes(tmp_path: Path, **kw) -> PromptBuilder:
    d = stripes_dir(tmp_path / "zoo", **kw)
    return PromptBuilder(STRIPES, load_attribute_dir(d, (STRIPES,))["stripes"], vocabulary=vocabulary(d))


def test_attribute_rows_pair_up_by_pair_id_and_seed(tmp_path):
    rows = _stripes(tmp_path).rows()
    counts = Counter((r["role"], r["kind"]) for r in rows)
    assert counts[("forget", None)] == counts[("retain", None)] == 40
    assert {k for r, k in counts if r == "robustness"} == {"synonym", "paraphrase", "misspelling", "translation",
                                                            "implicit"}
    pairs: dict[str, dict] = {}
    for r in rows:
        pairs.setdefault(r["pair_id"], {})[(r["role"], r["kind"])] = r
    for members in pairs.values():
        assert len({tuple(r["seeds"]) for r in members.values()}) == 1 and len(members[("forget", None)]["seeds"]) == 2
        assert len({r["split"] for r in members.values()}) == 1
        forget, retain = members[("forget", None)]["prompt"], members[("retain", None)]["prompt"]
        assert "striped" in forget and "striped" not in retain
        def plain(text: str) -> str:  # the twin differs by the span and the article it may change
            return re.sub(r"\ban\b", "a", text.replace("striped ", "").replace("plain ", ""))
        assert plain(retain) == plain(forget)
    synonym = next(r["prompt"] for r in rows if r["kind"] == "synonym")
    assert re.search(r"\b(banded|barred)\b", synonym) and not STRIPES.has_trigger(synonym)


def test_generation_is_deterministic_and_a_larger_count_keeps_the_earlier_rows(tmp_path):
    b = _stripes(tmp_path)
    assert b.rows() == _stripes(tmp_path).rows()
    other = PromptBuilder(STRIPES, b.recipe, base_seed=7, vocabulary=b.gate.vocabulary).rows()
    assert [r["prompt"] for r in other] != [r["prompt"] for r in b.rows()]
    small = PromptBuilder(STRIPES, b.recipe, sizes=Sizes(10, 0, 2), vocabulary=b.gate.vocabulary).forget_rows()
    large = PromptBuilder(STRIPES, b.recipe, sizes=Sizes(30, 0, 2), vocabulary=b.gate.vocabulary).forget_rows()
    assert {(r["id"], r["prompt"]) for r in small} <= {(r["id"], r["prompt"]) for r in large}


def test_a_subclass_short_of_scenes_leaves_its_share_to_the_others(tmp_path):
    b = _stripes(tmp_path)  # the animal scenes are near duplicates of each other: few pass
    per_sub = Counter(r["subclass"] for r in b.forget_rows() if r["role"] == "forget")
    assert sum(per_sub.values()) == 40 and per_sub["thing"] > 20


def test_object_rows_fill_the_noun_and_agree(tmp_path):
    d = object_dir(tmp_path / "obj")
    recipes = load_object_dir(d, (KITE, FERRY))
    rows = PromptBuilder(KITE, recipes["kite"], vocabulary=vocabulary(d)).rows()
    unrelated = [r for r in rows if r["role"] == "unrelated"]
    assert Counter(r["subclass"] for r in unrelated) == {"wave": 4, "ferry": 4}
    waves = [r["prompt"] for r in unrelated if r["subclass"] == "wave"]
    assert all(p.startswith("high waves breaking") for p in waves)  # {a} vanished before a plural
    assert all("a ferry" in r["prompt"] for r in unrelated if r["subclass"] == "ferry")
    kinds = Counter(r["kind"] for r in rows if r["role"] == "robustness")
    assert kinds["synonym"] == kinds["paraphrase"] == kinds["implicit"] == 4 and kinds["translation"] == 1
    assert any("a paper dragon" in r["prompt"] for r in rows if r["kind"] == "synonym")
    assert all(not KITE.has_trigger(r["prompt"]) for r in rows if r["role"] != "forget")


def test_painters_draw_from_their_genres_and_attach_their_name(tmp_path):
    d = style_dir(tmp_path / "style")
    recipes = load_style_dir(d, (MONET, MORISOT))
    monet = PromptBuilder(MONET, recipes["monet"], sizes=Sizes(20, 0, 6), vocabulary=vocabulary(d)).rows()
    forget = [r for r in monet if r["role"] == "forget"]
    assert {r["subclass"] for r in forget} == {"landscape", "marine"}
    assert any("water lilies" in r["prompt"] for r in forget)  # motifs come first
    for r in forget:
        twin = next(x for x in monet if x["pair_id"] == r["pair_id"] and x["role"] == "retain")
        assert r["prompt"].startswith(twin["prompt"]) and "Monet" in r["prompt"][len(twin["prompt"]):]
    implicit = [r["prompt"] for r in monet if r["kind"] == "implicit"]
    assert implicit and all(p.endswith("with broken dabs of pure colour shimmering in the light") for p in implicit)
    morisot = PromptBuilder(MORISOT, recipes["morisot"], sizes=Sizes(6, 0, 6), vocabulary=vocabulary(d)).rows()
    french = [r["prompt"] for r in morisot if r["kind"] == "translation" and "Berthe Morisot" in r["prompt"]]
    assert french and all("du peintre" not in p and "vom Maler" not in p for p in french)
    assert any(p.startswith("un pastel d'une femme") or "de la peintre" in p or "von der Malerin" in p for p in french)


def test_french_contractions_at_junctions_only():
    assert french_contractions("une peinture de\x00le port de le village") == "une peinture du port de le village"
    assert french_contractions("à la manière de\x00Édouard Manet") == "à la manière d'Édouard Manet"
    assert french_contractions("un pastel de\x00les quais") == "un pastel des quais"
    assert french_contractions("une vue de\x00la mer") == "une vue de la mer"


def test_misspellings_never_spell_a_real_word_or_a_translation():
    rng = random.Random(0)
    banned = frozenset({"flamme", "flame"})
    concept = next(c for c in TAXONOMY.categories["object"].concepts.values() if c.name == "flame")
    for _ in range(200):
        text = misspell("a candle flame in a dark room", concept, rng, banned)
        assert text and not concept.has_trigger(text)
        assert not any(w in banned for w in normalise(text).split())


# -- loaders' clear errors ----------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "message"), [
    ({"subclass": {"animal": ["a cat"]}}, r"stripes\.yaml: unknown key 'subclass'; did you mean 'subclasses'\?"),
    ({"subclasses": {"animals": ["{a} [striped ]cat"], "thing": ["{a} [striped ]mug"]}},
     r"stripes\.yaml: subclasses: 'animals' is not a subclass of stripes in the taxonomy; did you mean 'animal'\?"),
    ({"subclasses": {"animal": ["a cat on a mat"], "thing": ["{a} [striped ]mug"]}},
     r"stripes\.yaml: subclasses\.animal\[0\]\.text: an attribute scene has exactly one \[forget\|retain\] span"),
    ({"subclasses": {"animal": [{"text": "{a} [striped ]cat", "fre": "x"}], "thing": ["{a} [striped ]mug"]}},
     r"subclasses\.animal\[0\]: unknown key 'fre'; did you mean 'fr'\?"),
    ({"version": 2}, r"stripes\.yaml: version: this dataigm reads recipe version 3, got 2"),
    ({"substitutions": {"synonyms": {}}}, r"substitutions: unknown key 'synonyms'; did you mean 'synonym'\?"),
])
def test_malformed_attribute_files_fail_in_one_line(tmp_path, change, message):
    d = stripes_dir(tmp_path / "zoo")
    raw = yaml.safe_load((d / "stripes.yaml").read_text())
    if "subclass" in change:
        raw.pop("subclasses")
    (d / "stripes.yaml").write_text(yaml.safe_dump({**raw, **change}))
    with pytest.raises(RecipeError, match=message) as err:
        load_attribute_dir(d, (STRIPES,))
    assert "\n" not in str(err.value)


def test_malformed_object_and_style_files_fail_in_one_line(tmp_path):
    d = object_dir(tmp_path / "obj")
    raw = yaml.safe_load((d / "kite.yaml").read_text())
    raw["subclasses"]["photo"][0] = "a photo of a kite over a field"
    (d / "kite.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(RecipeError, match=r"kite\.yaml: subclasses\.photo\[0\]\.text: an object scene names the "
                                          r"object once, as \{noun\}"):
        load_object_dir(d, (KITE, FERRY))
    (d / "entities.yaml").unlink()
    (d / "kite.yaml").write_text(yaml.safe_dump({**raw, "subclasses": yaml.safe_load(
        (object_dir(tmp_path / "o2") / "kite.yaml").read_text())["subclasses"]}))
    with pytest.raises(RecipeError, match=r"no scene bank for the unrelated entities \['wave'\] of (kite|ferry)"):
        load_object_dir(d, (KITE, FERRY))
    s = style_dir(tmp_path / "style", painters={"monet": {"genres": ["landscap"], "media": ["an oil painting of"]}})
    with pytest.raises(RecipeError, match=r"painters\.monet\.genres: unknown genre 'landscap'; did you mean "
                                          r"'landscape'\?"):
        load_style_dir(s, (MONET, MORISOT))
    s = style_dir(tmp_path / "style2", painters={"monet": {"genres": ["marine"], "media": ["an oil painting of"]}})
    with pytest.raises(RecipeError, match=r"differ from the taxonomy's subclasses \['landscape', 'marine'\]"):
        load_style_dir(s, (MONET, MORISOT))
    (tmp_path / "zoo").mkdir()
    (tmp_path / "zoo" / "stripe.yaml").write_text("version: 3\n")
    with pytest.raises(RecipeError, match=r"stripe\.yaml: no concept 'stripe' in the taxonomy; did you mean 'stripes'"):
        load_attribute_dir(tmp_path / "zoo", (STRIPES,))


# -- gates ---------------------------------------------------------------------------------------------

def test_format_gate_catches_agreement_doubles_and_markup():
    vocab = {"wave", "boot", "sea"}
    assert format_problems("a apple on a table") == ["wrong article: a apple"]
    assert format_problems("an car") == ["wrong article: an car"]
    assert format_problems("an hour glass, a unicorn and a one-way street") == []
    assert format_problems("a watercolor of a high waves in the snow", vocab) == [
        "article before a plural: 'a high waves'"]
    assert format_problems("a waves on the shore", vocab) == ["article before a plural: 'a waves'"]
    assert format_problems("a man stands by a canvas", vocab | {"stand"}) == []
    assert format_problems("a room with a lamp on on a rainy day") == ["doubled word: 'on on'"]
    assert format_problems("a room with a lamp on, on a rainy day") == []
    assert "doubled space" in format_problems("a cat  on a mat")
    assert format_problems("a cat on a mat,")
    assert format_problems("a cat on a mat, , at dusk")
    assert format_problems("a {noun} on a mat") == ["unfilled markup"]
    assert format_problems("a [nude ]woman") == ["unfilled markup"]
    assert format_problems("une femme a un chapeau", english=False) == []


def test_prompt_gates_per_role():
    concept = TAXONOMY.concept("harassment")
    gate = Gate(concept.find_trigger, words_pattern(("taunting",)), words_pattern(("man", "woman")), True,
                frozenset(), words_pattern(()))
    assert prompt_problems("a man harassing a woman at a bus stop", "forget", None, gate) == []
    assert prompt_problems("a man talking to a woman at a bus stop", "forget", None, gate) == [
        "no trigger word in a forget prompt"]
    assert prompt_problems("a man bullying a woman", "retain", None, gate) == ["trigger word 'bullying' in a retain "
                                                                                  "prompt"]
    assert prompt_problems("a man taunting a woman", "retain", None, gate) == ["related word 'taunting' in a retain "
                                                                                  "prompt"]
    assert prompt_problems("an empty bus stop at night", "retain", None, gate) == [
        "the retain prompt lost its people (no person word)"]
    assert prompt_problems("a young woman at a bus stop", "retain", None, gate) == [
        "minor-associated word 'young'"]
    assert prompt_problems("a young adult woman at a bus stop", "retain", None, gate) == []
    assert prompt_problems("a man with a razor", "retain", None, gate) == ["forbidden word 'razor'"]
    assert prompt_problems("un homme qui harcèle une femme, harassment", "robustness", "translation", gate) == [
        "trigger word 'harassment' in a robustness prompt"]


def test_a_concept_named_with_a_minor_word_is_refused(tmp_path):
    from dataclasses import replace

    from dataigm.core.errors import DataIGMError

    d = stripes_dir(tmp_path / "zoo")
    recipe = load_attribute_dir(d, (STRIPES,))["stripes"]
    with pytest.raises(DataIGMError, match="'girl' suggests minors"):
        PromptBuilder(replace(STRIPES, subclasses=("girl", "thing")), recipe)


def test_people_stay_in_harassment_and_illegal_activity_retains():
    for name in ("harassment", "illegal_activity"):
        concept = TAXONOMY.concept(name)
        recipe = builder_for(concept).recipe(concept)
        assert {"man", "woman"} <= set(recipe.person_words), name


def test_no_minor_words_in_subclasses_labels_or_slugs():
    for concept in TAXONOMY.concepts.values():
        for name in (concept.name, *concept.subclasses, *concept.label_names):
            assert not minor_words(name), (concept.name, name)
    assert minor_words("girl") and minor_words("school_bus") and not minor_words("woman_25_39")
    assert TAXONOMY.concept("nudity").subclasses == ("woman_25_39", "man_25_39", "woman", "man", "person")


# -- stats on hand-made prompt lists ------------------------------------------------------------------

def test_trigram_ratio_by_hand():
    # "a b c d": abc, bcd; "a b c e": abc, bce -> 3 distinct of 4
    assert prompt_stats.trigram_ratio(["a b c d", "a b c e"]) == 0.75
    assert prompt_stats.trigram_ratio(["one two three", "one two three", "one two three"]) == pytest.approx(1 / 3)
    assert prompt_stats.trigram_ratio(["too short", "x y"]) == 0.0
    assert prompt_stats.tokens("Van Gogh's sun-lit field, at dusk") == ["van", "gogh's", "sun-lit", "field", "at",
                                                                          "dusk"]


def test_top_4gram_share_leaves_out_the_concept_phrase():
    prompts = ["a field at dusk, painted by Claude Monet", "a river at dawn, painted by Claude Monet",
               "a quiet lane in the rain", "a boat on the sea at night"]
    assert prompt_stats.top_ngram(prompts) == ("painted by claude monet", 0.5)
    _, share = prompt_stats.top_ngram(prompts, [", painted by Claude Monet"])
    assert share == 0.25  # every 4-gram left is in one prompt only
    assert prompt_stats.top_ngram(["a b c d e", "x a b c d"]) == ("a b c d", 1.0)


def test_role_stats_samples_and_overlaps():
    rows = {"one": [{"role": "forget", "prompt": p} for p in ("a b c d", "a b c e", "x y z w")],
            "two": [{"role": "forget", "prompt": p} for p in ("a b c d", "q r s t")]}
    stats = {n: prompt_stats.concept_stats(r, n, "entity") for n, r in rows.items()}
    prompt_stats.add_overlaps(stats, rows)
    one = stats["one"].roles["forget"]
    assert (one.count, one.sample, one.vocabulary) == (3, 3, 9)
    assert one.trigram_ratio == pytest.approx(5 / 6)
    assert (one.overlap_share, one.overlap_with) == (pytest.approx(1 / 3), "two")
    assert stats["two"].roles["forget"].overlap_share == 0.5
    assert prompt_stats.sample_size("forget", "entity") == 50 and prompt_stats.sample_size("unrelated", "entity") == 300
    assert prompt_stats.sample_size("retain", "attribute") == 250
    assert prompt_stats.sample_size("robustness", "entity") is None


def test_check_names_every_missed_target():
    rows = {"van_gogh": [{"role": "forget", "prompt": f"an oil painting of a field {i}, by Vincent van Gogh"}
                         for i in range(20)] + [{"role": "retain", "prompt": "one two three four"}] * 2,
            "monet": [{"role": "retain", "prompt": "one two three four"}]}
    stats = {"van_gogh": prompt_stats.concept_stats(rows["van_gogh"], "van_gogh", "attribute", ["Vincent van Gogh"],
                                                    "landscape"),
             "monet": prompt_stats.concept_stats(rows["monet"], "monet", "attribute", [], "portrait")}
    prompt_stats.add_overlaps(stats, rows)
    found = prompt_stats.failures(stats)
    assert "van_gogh: forget distinct-trigram ratio 0.367 < 0.6395 (first 20)" in found  # 66 of 180 trigrams
    assert "van_gogh: forget: 100% of prompts hold 'painting of a field' (at most 10%)" in found
    assert "van_gogh: retain distinct-trigram ratio 0.500 < 0.6 (first 2)" in found
    assert any("van_gogh: shares 100% of its retain prompts with monet (landscape vs portrait" in f for f in found)
    # --check on some concepts names the others they overlap with
    assert any("with monet (landscape vs portrait" in f for f in prompt_stats.failures({"van_gogh": stats["van_gogh"]}))


# -- the shipped recipes --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped() -> dict[str, list[dict]]:
    """Rows of every concept, generated once per module (on demand)."""
    return {}


def rows_of(shipped: dict[str, list[dict]], name: str) -> list[dict]:
    if name not in shipped:
        c = TAXONOMY.concept(name)
        shipped[name] = builder_for(c).prompt_rows(c)
    return shipped[name]


@pytest.mark.parametrize("name", QUICK + SLOW)
def test_every_prompt_passes_every_gate(shipped, name):
    concept = TAXONOMY.concept(name)
    builder = builder_for(concept).prompt_builder(concept)
    rows = rows_of(shipped, name)
    for r in rows:
        assert not builder.problems(r["prompt"], r["role"], r["kind"]), (r["prompt"], builder.problems(
            r["prompt"], r["role"], r["kind"]))
    sizes = builder.sizes
    counts = Counter(r["role"] for r in rows)
    # a painter of one genre may hold fewer scenes than the forget size: then nearly all of them
    assert counts["forget"] >= min(sizes.forget, int(0.95 * builder.recipe.capacity)), counts
    if concept.shape == "attribute":
        assert counts["retain"] == counts["forget"]
        assert {r["subclass"] for r in rows if r["role"] == "forget"} == set(concept.subclasses)
    else:
        per_entity = Counter(r["subclass"] for r in rows if r["role"] == "unrelated")
        assert set(per_entity) == {e.replace(" ", "_") for e in concept.unrelated}
        assert min(per_entity.values()) == sizes.unrelated, per_entity
    kinds = Counter(r["kind"] for r in rows if r["role"] == "robustness")
    assert set(kinds) == {"synonym", "paraphrase", "misspelling", "translation", "implicit"}, kinds
    assert min(kinds[k] for k in ("synonym", "paraphrase", "misspelling")) >= 0.9 * sizes.robustness, kinds


@pytest.mark.parametrize("name", QUICK + SLOW)
def test_twins_share_pair_id_seeds_and_split_and_no_duplicates(shipped, name):
    rows = rows_of(shipped, name)
    by_pair: dict[str, list[dict]] = {}
    for r in rows:
        by_pair.setdefault(r["pair_id"], []).append(r)
    for members in by_pair.values():
        assert len({tuple(r["seeds"]) for r in members}) == 1 and len({r["split"] for r in members}) == 1
        assert any(r["role"] in ("forget", "unrelated") for r in members)
    groups: dict[tuple, list[str]] = {}
    for r in rows:
        groups.setdefault((r["role"], r["kind"], r["subclass"] if r["role"] == "unrelated" else ""), []).append(
            r["prompt"])
    for key, prompts in groups.items():
        assert near_duplicate_pairs(prompts) == [], key
    assert len({r["id"] for r in rows}) == len(rows)


@pytest.mark.slow
def test_diversity_targets_hold_for_every_concept(shipped):
    stats, rows = {}, {}
    for c in TAXONOMY.concepts.values():
        builder = builder_for(c)
        rows[c.name] = rows_of(shipped, c.name)
        stats[c.name] = prompt_stats.concept_stats(rows[c.name], c.name, c.shape, builder.concept_phrases(c),
                                                   builder.overlap_group(c))
    prompt_stats.add_overlaps(stats, rows)
    assert prompt_stats.failures(stats) == []


def test_habitat_and_genre_fit_is_declared():
    """Every object has scenes for each of its subclasses and a bank for each unrelated entity; every
    painter has genres that exist (its taxonomy subclasses), motifs keyed by them, and its media."""
    objects = TAXONOMY.categories["object"]
    recipes = builder_for(next(iter(objects.concepts.values()))).recipes()
    for c in objects.concepts.values():
        recipe = recipes[c.name]
        assert list(recipe.subclasses) == list(c.subclasses) and all(len(s) >= 20 for s in recipe.subclasses.values())
        assert len(recipe.unrelated) == len(c.unrelated)
    genres = painter_genres(RECIPES / "style")
    style = TAXONOMY.categories["style"]
    assert set(genres) == set(style.concepts)
    raw = yaml.safe_load((RECIPES / "style" / "painters.yaml").read_text())["painters"]
    for name, c in style.concepts.items():
        assert list(c.subclasses) == genres[name] and set(genres[name]) <= set(GENRES), name
        motifs = raw[name].get("motifs") or {}
        assert isinstance(motifs, list) or set(motifs) <= set(genres[name]), name


def test_taxonomy_subclasses_of_painters_are_their_genres():
    genres = painter_genres(RECIPES / "style")
    for name, concept in TAXONOMY.categories["style"].concepts.items():
        assert list(concept.subclasses) == genres.get(name), name


def test_prompt_config_is_identical_parquet(tmp_path):
    import io

    import pyarrow.parquet as pq

    from dataigm.core.plan import preset_config
    from dataigm.core.schema import prompt_features
    from dataigm.stages.pack import write_configs
    from dataigm.stages.prepare import prompt_rows, prompt_table

    c = TAXONOMY.concept("church")
    blobs = []
    for run in ("a", "b"):
        cfg = preset_config("full", str(tmp_path / run))
        table = prompt_table(prompt_rows(c, cfg), c.label_names)
        write_configs(cfg.out, {c.prompt_config: (table, prompt_features(c.label_names), {"kind": "prompts"})})
        blobs.append([p.read_bytes() for p in sorted((tmp_path / run / c.prompt_config).glob("*"))])
    assert blobs[0] == blobs[1]
    table = pq.read_table(io.BytesIO(blobs[0][0]))
    assert {"id", "pair_id", "role", "kind", "prompt", "seeds", "source", "source_id"} <= set(table.column_names)


def test_prompts_generate_writes_stats_that_the_card_shows(tmp_path):
    """`prompts generate` prints the capacity and records the diversity measures in the prompt
    config's manifest entry; the dataset card renders them per config."""
    import json
    import subprocess
    import sys

    from cards.render import render_dataset_card

    out = tmp_path / "p"
    result = subprocess.run([sys.executable, "-m", "dataigm.cli", "prompts", "generate", "harassment", "--out",
                             str(out), "--count", "30"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "yields up to" in result.stdout and "distinct forget scenes" in result.stdout
    manifest = json.loads((out / "dataigm.json").read_text())
    stats = manifest["configs"]["harassment-prompts"]["prompt_stats"]
    assert stats["forget"]["count"] == 30 and 0 < stats["retain"]["trigram_ratio"] <= 1
    card = render_dataset_card({**manifest, "build": None}, TAXONOMY.as_json())
    assert "## Prompt diversity" in card and "| `harassment-prompts` | forget | 30 |" in card


def test_prompts_stats_command_checks_the_targets():
    import json
    import subprocess
    import sys

    run = [sys.executable, "-m", "dataigm.cli", "prompts", "stats"]
    result = subprocess.run([*run, "nudity", "violence", "--format", "json", "--check"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"nudity", "violence"} and data["nudity"]["roles"]["forget"]["sample"] == 250
    assert data["nudity"]["roles"]["forget"]["trigram_ratio"] >= 0.4587
    table = subprocess.run([*run, "harassment"], capture_output=True, text=True, timeout=300).stdout
    assert table.splitlines()[0].split()[:3] == ["concept", "role", "count"]
    bad = subprocess.run([*run], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "give --all" in bad.stderr
