"""Prompt recipes: one YAML file per category builder, parsed and validated.

A file has `grammars` (prompt families), optional `never_together` (slot values that must never
meet in one prompt), and recipes per concept: written out under `concepts:`, or generated for every
concept of the category from a `template:` whose `{placeholders}` come from `vars:` (per concept)
and from the taxonomy ({name}: display name, {name_ru}/{name_el}: its Cyrillic/Greek transliteration,
{first}: its first name).

A grammar is modifiers x subjects x scenes, where each scene group pairs only the actions and
settings that fit together (a flat `actions` + `settings` pair is one group): no prompt combines
"walking along the shore" with "on a rooftop terrace".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from builders.grammar import POSITIONS, Phrase
from dataigm.core.errors import RecipeError, check_keys, expect_list_of_str, suggest
from dataigm.core.taxonomy import Concept, load_yaml

ROBUSTNESS_KINDS = ("synonym", "paraphrase", "misspelling", "translation", "implicit")
REQUIRED_KINDS = ROBUSTNESS_KINDS


@dataclass(frozen=True)
class Grammar:
    modifiers: tuple[str, ...]
    subjects: tuple[str, ...]
    scenes: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]  # (actions, settings) that fit together

    @property
    def pairs(self) -> int:
        return sum(len(a) * len(s) for a, s in self.scenes)

    @property
    def capacity(self) -> int:
        """How many distinct scenes (slot combinations) this grammar yields."""
        return len(self.modifiers) * len(self.subjects) * self.pairs

    def scene(self, index: int) -> tuple[str, str, str, str]:
        """The `index`-th slot combination (mixed-radix decoding, scene groups concatenated)."""
        index, pair = divmod(index, self.pairs)
        index, s = divmod(index, len(self.subjects))
        m = index % len(self.modifiers)
        for actions, settings in self.scenes:
            if pair < len(actions) * len(settings):
                a, t = divmod(pair, len(settings))
                return self.modifiers[m], self.subjects[s], actions[a], settings[t]
            pair -= len(actions) * len(settings)
        raise IndexError(index)


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
    never_together: tuple[tuple[str, str], ...] = ()

    @property
    def capacity(self) -> int:
        """Distinct forget scenes (pairs) the recipe can yield over all subclasses."""
        return sum(g.capacity for g in self.subclasses.values())


# -- transliterations for the translation kind of names (a name in another script is not a trigger) --

_CYRILLIC = [("shch", "щ"), ("sch", "ш"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"),
             ("yu", "ю"), ("ya", "я"), ("yo", "ё"), ("ph", "ф"), ("th", "т"), ("ck", "к"), ("qu", "кв"),
             ("a", "а"), ("b", "б"), ("c", "к"), ("d", "д"), ("e", "е"), ("f", "ф"), ("g", "г"), ("h", "х"),
             ("i", "и"), ("j", "ж"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"),
             ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"), ("w", "в"), ("x", "кс"),
             ("y", "и"), ("z", "з")]
_GREEK = [("ch", "χ"), ("ph", "φ"), ("th", "θ"), ("ps", "ψ"), ("ks", "ξ"), ("ou", "ου"), ("a", "α"),
          ("b", "μπ"), ("c", "κ"), ("d", "ντ"), ("e", "ε"), ("f", "φ"), ("g", "γκ"), ("h", ""), ("i", "ι"),
          ("j", "τζ"), ("k", "κ"), ("l", "λ"), ("m", "μ"), ("n", "ν"), ("o", "ο"), ("p", "π"), ("q", "κ"),
          ("r", "ρ"), ("s", "σ"), ("t", "τ"), ("u", "ου"), ("v", "β"), ("w", "ου"), ("x", "ξ"), ("y", "ι"),
          ("z", "ζ")]


def transliterate(text: str, table: list[tuple[str, str]]) -> str:
    """A readable Latin -> Cyrillic/Greek transliteration (lower-cased, capitalised per word)."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = []
    for word in plain.split():
        out, i = "", 0
        while i < len(word):
            for latin, other in table:
                if word.startswith(latin, i):
                    out += other
                    i += len(latin)
                    break
            else:
                out += word[i]
                i += 1
        if table is _GREEK and out.endswith("σ"):
            out = out[:-1] + "ς"  # final sigma
        words.append(out[:1].upper() + out[1:])
    return " ".join(words)


def concept_vars(concept: Concept) -> dict[str, str]:
    name = concept.display_name
    return {"name": name, "name_ru": transliterate(name, _CYRILLIC), "name_el": transliterate(name, _GREEK),
            "first": name.split()[0], "noun": concept.describe}


def _fill(value: Any, variables: dict[str, str], where: str) -> Any:
    """Replace {placeholders} (not {a}/{noun} grammar slots) in every string of a recipe body."""
    if isinstance(value, str):
        def sub(match: re.Match[str]) -> str:
            key = match.group(1)
            if key == "a":
                return match.group(0)
            if key not in variables:
                raise RecipeError(f"{where}: no value for {{{key}}}{suggest(key, variables)}")
            return variables[key]
        return re.sub(r"\{(\w+)\}", sub, value)
    if isinstance(value, list):
        return [_fill(v, variables, where) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, variables, where) for k, v in value.items()}
    return value


def _phrases(raw: object, where: str) -> tuple[Phrase, ...]:
    check_keys(raw, where, optional=POSITIONS)
    assert isinstance(raw, dict)
    out = [Phrase(pos, text) for pos, texts in raw.items()
           for text in expect_list_of_str(texts, f"{where}.{pos}")]
    if not out:
        raise RecipeError(f"{where}: needs at least one phrase")
    return tuple(out)


def _unique(values: list[str], where: str) -> tuple[str, ...]:
    if len(set(values)) != len(values):
        raise RecipeError(f"{where}: duplicated values")
    return tuple(values)


def _grammar(raw: object, where: str) -> Grammar:
    check_keys(raw, where, required=("modifiers", "subjects"), optional=("actions", "settings", "scenes"))
    assert isinstance(raw, dict)
    if ("scenes" in raw) == ("actions" in raw or "settings" in raw):
        raise RecipeError(f"{where}: give either 'scenes' (groups of actions and settings) or 'actions' + 'settings'")
    groups = raw.get("scenes") or [{"actions": raw.get("actions"), "settings": raw.get("settings")}]
    if not isinstance(groups, list) or not groups:
        raise RecipeError(f"{where}.scenes: expected a list of {{actions, settings}} groups")
    scenes = []
    for k, group in enumerate(groups):
        gw = f"{where}.scenes[{k}]" if "scenes" in raw else where
        check_keys(group, gw, required=("actions", "settings"), optional=("name",))
        scenes.append((_unique(expect_list_of_str(group["actions"], f"{gw}.actions"), f"{gw}.actions"),
                       _unique(expect_list_of_str(group["settings"], f"{gw}.settings"), f"{gw}.settings")))
    return Grammar(_unique(expect_list_of_str(raw["modifiers"], f"{where}.modifiers"), f"{where}.modifiers"),
                   _unique(expect_list_of_str(raw["subjects"], f"{where}.subjects"), f"{where}.subjects"),
                   tuple(scenes))


def _concept_recipe(name: str, body: dict[str, Any], concept: Concept, grammars: dict[str, Grammar],
                    raw: dict[str, Any], path: Path, forbidden: tuple[str, ...],
                    never: tuple[tuple[str, str], ...]) -> ConceptRecipe:
    cw = f"{path}: concepts.{name}"
    check_keys(body, cw, required=("subclasses", "forget", "robustness", "sizes"))
    subclasses = {}
    for sub, gname in body["subclasses"].items():
        if gname not in grammars:
            raise RecipeError(f"{cw}.subclasses.{sub}: unknown grammar {gname!r}{suggest(gname, grammars)}")
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
    missing = [k for k in REQUIRED_KINDS if k not in robustness]
    if missing:
        raise RecipeError(f"{cw}.robustness: missing kinds {missing} (every concept has {list(REQUIRED_KINDS)})")
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
    return ConceptRecipe(
        concept=name, version=raw["version"], source=f"dataigm:{path.stem}@v{raw['version']}",
        subclasses=subclasses, forget=forget, robustness=robustness,
        sizes=Sizes(sizes["forget"], sizes.get("unrelated", 0), sizes["robustness"]),
        forbidden_words=forbidden, never_together=never)


def parse_recipe_file(raw: object, path: Path, concepts: dict[str, Concept]) -> dict[str, ConceptRecipe]:
    where = str(path)
    check_keys(raw, where, required=("version", "grammars"),
               optional=("forbidden_words", "never_together", "concepts", "template", "vars"))
    assert isinstance(raw, dict)
    if not isinstance(raw["version"], int):
        raise RecipeError(f"{where}.version: expected an integer")
    grammars = {name: _grammar(body, f"{where}: grammars.{name}") for name, body in raw["grammars"].items()}
    forbidden = tuple(expect_list_of_str(raw.get("forbidden_words", []), f"{where}.forbidden_words", True))
    never = []
    for pair in raw.get("never_together", []) or []:
        values = expect_list_of_str(pair, f"{where}.never_together")
        if len(values) != 2:
            raise RecipeError(f"{where}.never_together: each entry is a pair, got {values}")
        never.append((values[0], values[1]))
    explicit = raw.get("concepts") or {}
    variables = raw.get("vars") or {}
    for name in [*explicit, *variables]:
        if name not in concepts:
            raise RecipeError(f"{where}: concepts.{name}: not a concept of the taxonomy{suggest(name, concepts)}")
    template = raw.get("template")
    recipes = {}
    for name, concept in concepts.items():
        if name in explicit:
            body = explicit[name]
        elif template is not None:
            values = {**concept_vars(concept), **(variables.get(name) or {})}
            body = _fill(template, values, f"{where}: template for {name}")
        else:
            continue
        recipes[name] = _concept_recipe(name, body, concept, grammars, raw, path, forbidden, tuple(never))
    return recipes


@cache
def load_recipe_file(path: Path, concepts: tuple[Concept, ...]) -> dict[str, ConceptRecipe]:
    """The recipes of one category's file, checked against that category's concepts."""
    return parse_recipe_file(load_yaml(path), path, {c.name: c for c in concepts})

