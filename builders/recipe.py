"""Prompt recipes: per-category YAML files under builders/recipes/, parsed and validated."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from builders.grammar import POSITIONS, Phrase
from dataigm.core.errors import RecipeError, check_keys, expect_list_of_str, suggest
from dataigm.core.taxonomy import Concept, load_yaml

SLOTS = ("modifiers", "subjects", "actions", "settings")
ROBUSTNESS_KINDS = ("synonym", "paraphrase", "misspelling", "translation")


@dataclass(frozen=True)
class Grammar:
    modifiers: tuple[str, ...]
    subjects: tuple[str, ...]
    actions: tuple[str, ...]
    settings: tuple[str, ...]

    @property
    def capacity(self) -> int:
        """How many distinct scenes (slot combinations) this grammar yields."""
        return math.prod(len(getattr(self, s)) for s in SLOTS)

    def scene(self, index: int) -> tuple[str, str, str, str]:
        """The `index`-th slot combination (mixed-radix decoding)."""
        parts = []
        for slot in reversed(SLOTS):
            values = getattr(self, slot)
            index, r = divmod(index, len(values))
            parts.append(values[r])
        return tuple(reversed(parts))  # type: ignore[return-value]


@dataclass(frozen=True)
class Sizes:
    forget: int
    unrelated: int
    robustness: int


@dataclass(frozen=True)
class ConceptRecipe:
    concept: str
    version: int
    source: str
    subclasses: dict[str, Grammar]
    forget: tuple[Phrase, ...]
    robustness: dict[str, tuple[Phrase, ...] | None]  # None: derived (misspellings)
    sizes: Sizes
    forbidden_words: tuple[str, ...]

    @property
    def capacity(self) -> int:
        """Distinct forget scenes (pairs) the recipe can yield over all subclasses."""
        return sum(g.capacity for g in self.subclasses.values())


def _phrases(raw: object, where: str) -> tuple[Phrase, ...]:
    check_keys(raw, where, optional=POSITIONS)
    assert isinstance(raw, dict)
    out = [Phrase(pos, text) for pos, texts in raw.items()
           for text in expect_list_of_str(texts, f"{where}.{pos}")]
    if not out:
        raise RecipeError(f"{where}: needs at least one phrase")
    return tuple(out)


def _grammar(raw: object, where: str) -> Grammar:
    check_keys(raw, where, required=SLOTS)
    assert isinstance(raw, dict)
    slots = {s: tuple(expect_list_of_str(raw[s], f"{where}.{s}")) for s in SLOTS}
    for slot, values in slots.items():
        if len(set(values)) != len(values):
            raise RecipeError(f"{where}.{slot}: duplicated values")
    return Grammar(**slots)


def parse_recipe_file(raw: object, path: Path, concepts: dict[str, Concept]) -> dict[str, ConceptRecipe]:
    where = str(path)
    check_keys(raw, where, required=("version", "grammars", "concepts"), optional=("forbidden_words",))
    assert isinstance(raw, dict)
    if not isinstance(raw["version"], int):
        raise RecipeError(f"{where}.version: expected an integer")
    grammars = {name: _grammar(body, f"{where}: grammars.{name}") for name, body in raw["grammars"].items()}
    forbidden = tuple(expect_list_of_str(raw.get("forbidden_words", []), f"{where}.forbidden_words", True))
    recipes = {}
    for name, body in raw["concepts"].items():
        cw = f"{where}: concepts.{name}"
        if name not in concepts:
            raise RecipeError(f"{cw}: not a concept of the taxonomy{suggest(name, concepts)}")
        check_keys(body, cw, required=("subclasses", "forget", "robustness", "sizes"))
        concept = concepts[name]
        subclasses = {}
        for sub, gname in body["subclasses"].items():
            if gname not in grammars:
                raise RecipeError(f"{cw}.subclasses.{sub}: unknown grammar {gname!r}")
            subclasses[sub] = grammars[gname]
        if list(subclasses) != list(concept.subclasses):
            raise RecipeError(f"{cw}.subclasses: must be the taxonomy's {list(concept.subclasses)}")
        robustness: dict[str, tuple[Phrase, ...] | None] = {}
        check_keys(body["robustness"], f"{cw}.robustness", optional=ROBUSTNESS_KINDS)
        for kind, spec in body["robustness"].items():
            if spec == "derived":
                if kind != "misspelling":
                    raise RecipeError(f"{cw}.robustness.{kind}: only 'misspelling' can be derived")
                robustness[kind] = None
            else:
                robustness[kind] = _phrases(spec, f"{cw}.robustness.{kind}")
        if len(robustness) < 3:
            raise RecipeError(f"{cw}.robustness: needs at least three kinds")
        sizes = body["sizes"]
        check_keys(sizes, f"{cw}.sizes", required=("forget", "robustness"), optional=("unrelated",))
        for key, value in sizes.items():
            if not isinstance(value, int) or value < 0:
                raise RecipeError(f"{cw}.sizes.{key}: expected a non-negative integer")
        if concept.shape == "entity" and "unrelated" not in sizes:
            raise RecipeError(f"{cw}.sizes: an entity concept needs 'unrelated'")
        forget = _phrases(body["forget"], f"{cw}.forget")
        nouns = [p for p in forget if p.position == "noun"]
        if (concept.shape == "entity") != bool(nouns):
            raise RecipeError(f"{cw}.forget: entity concepts use 'noun' phrases, attribute ones do not")
        recipes[name] = ConceptRecipe(
            concept=name, version=raw["version"], source=f"dataigm:{path.stem}@v{raw['version']}",
            subclasses=subclasses, forget=forget, robustness=robustness,
            sizes=Sizes(sizes["forget"], sizes.get("unrelated", 0), sizes["robustness"]),
            forbidden_words=forbidden,
        )
    return recipes


@cache
def load_recipe_file(path: Path, concepts: tuple[Concept, ...]) -> dict[str, ConceptRecipe]:
    """The recipes of one category's file, checked against that category's concepts."""
    return parse_recipe_file(load_yaml(path), path, {c.name: c for c in concepts})
