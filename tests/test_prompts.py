"""Properties of the shipped prompt recipes, over every concept of the taxonomy."""

from __future__ import annotations

import io
from collections import Counter

import pyarrow.parquet as pq
import pytest

from builders.grammar import normalise
from builders.prompts import PromptBuilder
from builders.quality import format_problems, has_word, near_duplicate_pairs
from builders.recipe import Sizes
from dataigm.core.registry import builder_for
from dataigm.core.taxonomy import load_taxonomy

CONCEPTS = list(load_taxonomy().concepts)


@pytest.fixture(scope="module")
def all_rows() -> dict[str, list[dict]]:
    t = load_taxonomy()
    return {name: PromptBuilder(t.concept(name), builder_for(t.concept(name)).recipe(t.concept(name))).rows()
            for name in CONCEPTS}


@pytest.mark.parametrize("name", CONCEPTS)
def test_reference_sizes(all_rows, name):
    concept = load_taxonomy().concept(name)
    recipe = builder_for(concept).recipe(concept)
    counts = Counter(r["role"] for r in all_rows[name])
    kinds = Counter(r["kind"] for r in all_rows[name] if r["role"] == "robustness")
    assert counts["forget"] == recipe.sizes.forget
    if concept.shape == "attribute":
        per_sub = Counter(r["subclass"] for r in all_rows[name] if r["role"] == "forget")
        assert set(per_sub) == set(concept.subclasses) and min(per_sub.values()) >= recipe.sizes.forget // len(
            concept.subclasses)
        assert counts["retain"] == counts["forget"]
    else:
        per_entity = Counter(r["subclass"] for r in all_rows[name] if r["role"] == "unrelated")
        assert len(per_entity) == 6 and min(per_entity.values()) >= 50
    # Every robustness kind, for every concept: synonym, paraphrase, misspelling, translation, implicit.
    assert set(kinds) == {"synonym", "paraphrase", "misspelling", "translation", "implicit"}
    assert min(kinds.values()) >= 0.85 * recipe.sizes.robustness


@pytest.mark.parametrize("name", CONCEPTS)
def test_pairing_triggers_and_format(all_rows, name):
    concept = load_taxonomy().concept(name)
    rows = all_rows[name]
    by_pair: dict[str, dict[str, dict]] = {}
    for r in rows:
        assert not format_problems(r["prompt"]), (r["prompt"], format_problems(r["prompt"]))
        if r["role"] == "forget":
            assert concept.has_trigger(r["prompt"]), r["prompt"]
        else:
            assert not concept.has_trigger(r["prompt"]), r["prompt"]
        by_pair.setdefault(r["pair_id"], {})[r["id"]] = r
    for members in by_pair.values():
        roles = {r["role"]: r for r in members.values()}
        assert len({tuple(r["seeds"]) for r in members.values()}) == 1
        assert len({r["split"] for r in members.values()}) == 1
        if "retain" in roles:
            forget, retain = roles["forget"]["prompt"], roles["retain"]["prompt"]
            # The twin differs only by the concept words (and the article they may change):
            # removing words from forget gives retain.
            def words(text: str) -> list[str]:
                return ["a" if w == "an" else w for w in normalise(text).split()]

            f_words, r_words = words(forget), words(retain)
            it = iter(f_words)
            assert all(w in it for w in r_words), (forget, retain)
            assert len(f_words) > len(r_words) or forget != retain


@pytest.mark.parametrize("name", CONCEPTS)
def test_no_exact_or_near_duplicates(all_rows, name):
    groups: dict[tuple, list[str]] = {}
    for r in all_rows[name]:
        groups.setdefault((r["role"], r["kind"]), []).append(r["prompt"])
    for key, prompts in groups.items():
        keys = [normalise(p) for p in prompts]
        assert len(keys) == len(set(keys)), key
        if key[0] != "unrelated":  # unrelated: one near-dup index per entity, checked below
            assert near_duplicate_pairs(prompts) == [], key
    ids = [r["id"] for r in all_rows[name]]
    assert len(ids) == len(set(ids))


def test_nsfw_prompts_never_describe_minors(all_rows):
    recipe = builder_for(load_taxonomy().concept("nudity")).recipe(load_taxonomy().concept("nudity"))
    assert "girl" in recipe.forbidden_words and "child" in recipe.forbidden_words
    for name in ("nudity", "violence"):
        for r in all_rows[name]:
            assert not has_word(r["prompt"], recipe.forbidden_words), r["prompt"]


def test_articles_and_format_gate_catches_errors():
    assert format_problems("a apple on a table") == ["wrong article: 'a apple'"]
    assert format_problems("an car") == ["wrong article: 'an car'"]
    assert format_problems("an hour glass, a unicorn and a one-way street") == []
    assert "doubled space" in format_problems("a cat  on a mat")
    assert format_problems("a room with a lamp on on a rainy day") == ["doubled word: 'on on'"]
    assert format_problems("a room with a lamp on, on a rainy day") == []
    assert format_problems("a cat on a mat,")
    assert format_problems("a {noun} on a mat")


def test_deterministic_and_prefix_stable(all_rows):
    t = load_taxonomy()
    c = t.concept("church")
    again = PromptBuilder(c, builder_for(c).recipe(c)).rows()
    assert again == all_rows["church"]
    other_seed = PromptBuilder(c, builder_for(c).recipe(c), base_seed=7).rows()
    assert [r["prompt"] for r in other_seed] != [r["prompt"] for r in again]


@pytest.mark.slow
def test_ten_thousand_unique_forget_prompts():
    c = load_taxonomy().concept("nudity")
    recipe = builder_for(c).recipe(c)
    assert recipe.capacity >= 10_000
    rows = PromptBuilder(c, recipe, sizes=Sizes(10_000, 0, 10)).forget_rows()
    forget = [r["prompt"] for r in rows if r["role"] == "forget"]
    assert len(forget) == 10_000 == len({normalise(p) for p in forget})


def test_prompt_config_is_identical_parquet(tmp_path):
    from dataigm.core.plan import preset_config
    from dataigm.core.schema import prompt_features
    from dataigm.stages.pack import write_configs
    from dataigm.stages.prepare import prompt_rows, prompt_table

    c = load_taxonomy().concept("hokusai")
    blobs = []
    for run in ("a", "b"):
        cfg = preset_config("full", str(tmp_path / run))
        table = prompt_table(prompt_rows(c, cfg), c.label_names)
        write_configs(cfg.out, {c.prompt_config: (table, prompt_features(c.label_names), {"kind": "prompts"})})
        blobs.append([p.read_bytes() for p in sorted((tmp_path / run / c.prompt_config).glob("*"))])
    assert blobs[0] == blobs[1]
    table = pq.read_table(io.BytesIO(blobs[0][0]))
    assert {"id", "pair_id", "role", "kind", "prompt", "seeds", "source", "source_id"} <= set(table.column_names)


NSFW = list(load_taxonomy().categories["nsfw"].concepts)


@pytest.mark.parametrize("name", NSFW)
def test_every_nsfw_prompt_passes_the_responsible_content_gates(all_rows, name):
    """No words suggesting minors, no identifiable groups or real people, no self-harm methods."""
    concept = load_taxonomy().concept(name)
    recipe = builder_for(concept).recipe(concept)
    for word in ("girl", "child", "teen", "school", "jewish", "muslim", "immigrants", "president", "razor", "pills",
                 "noose", "suicide"):
        assert word in recipe.forbidden_words, word
    for r in all_rows[name]:
        assert not has_word(r["prompt"], recipe.forbidden_words), r["prompt"]


@pytest.mark.parametrize("name", CONCEPTS)
def test_known_incompatible_parts_never_meet(all_rows, name):
    concept = load_taxonomy().concept(name)
    never = builder_for(concept).recipe(concept).never_together
    for r in all_rows[name]:
        text = r["prompt"].lower()
        assert not any(a.lower() in text and b.lower() in text for a, b in never), r["prompt"]


def test_scenes_keep_actions_with_their_settings():
    """'walking along the shore' only ever meets the beach settings (the coherence the recipes declare)."""
    c = load_taxonomy().concept("nudity")
    recipe = builder_for(c).recipe(c)
    groups = [settings for g in recipe.subclasses.values() for actions, settings in g.scenes
              if "walking along the shore" in actions]
    beach = set(groups[0])
    assert len(beach) >= 4 and all(set(g) == beach for g in groups)
    rows = PromptBuilder(c, recipe, sizes=Sizes(600, 0, 1)).forget_rows()
    shore = [r["prompt"] for r in rows if "walking along the shore" in r["prompt"]]
    assert shore and all(any(b in p for b in beach) for p in shore)
    assert not any("rooftop" in r["prompt"] for r in rows)
