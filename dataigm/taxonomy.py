"""The CatIGMU taxonomy (category -> concept -> subclass), loaded from data in taxonomy.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

from dataigm.errors import RecipeError, UnknownNameError, check_keys, expect_list_of_str

TAXONOMY_PATH = Path(__file__).with_name("taxonomy.yaml")
Shape = Literal["attribute", "entity"]
SHAPES = ("attribute", "entity")


@dataclass(frozen=True)
class Concept:
    name: str
    category: str
    shape: Shape
    trigger_words: tuple[str, ...]
    subclasses: tuple[str, ...]
    label_names: tuple[str, str]
    images_per_prompt: int
    nsfw: bool
    display_name: str = ""
    unrelated: tuple[str, ...] = ()
    _trigger_re: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words = sorted(self.trigger_words, key=len, reverse=True)
        pattern = r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b" if words else r"(?!x)x"
        object.__setattr__(self, "_trigger_re", re.compile(pattern, re.IGNORECASE))

    def find_trigger(self, text: str) -> re.Match[str] | None:
        """The first of the concept's trigger words in `text` (whole words, any case)."""
        return self._trigger_re.search(text)

    def has_trigger(self, text: str) -> bool:
        return self.find_trigger(text) is not None

    @property
    def prompt_config(self) -> str:
        return f"{self.name}-prompts"


@dataclass(frozen=True)
class Taxonomy:
    schema_version: int
    categories: dict[str, dict[str, Concept]]

    @property
    def concepts(self) -> dict[str, Concept]:
        return {c.name: c for cat in self.categories.values() for c in cat.values()}

    def concept(self, name: str) -> Concept:
        try:
            return self.concepts[name]
        except KeyError:
            raise UnknownNameError("concept", name, self.concepts) from None

    def resolve(self, names: list[str] | None) -> list[Concept]:
        """Concepts by name (or category name, expanding to its concepts), in taxonomy order."""
        if not names:
            return list(self.concepts.values())
        chosen: list[str] = []
        for name in names:
            if name in self.categories:
                chosen.extend(self.categories[name])
            elif name in self.concepts:
                chosen.append(name)
            else:
                raise UnknownNameError("concept", name, [*self.concepts, *self.categories])
        return [c for c in self.concepts.values() if c.name in chosen]

    def tree(self) -> str:
        lines = []
        for cat_name, concepts in self.categories.items():
            lines.append(f"{cat_name}/")
            for c in concepts.values():
                extra = f", unrelated: {', '.join(c.unrelated)}" if c.unrelated else ""
                lines.append(
                    f"  {c.name}  [{c.shape}; triggers: {', '.join(c.trigger_words)}; "
                    f"labels: {'/'.join(c.label_names)}; {c.images_per_prompt} images/prompt{extra}]"
                )
                lines.extend(f"    - {s}" for s in c.subclasses)
        return "\n".join(lines)


_CONCEPT_KEYS = ("shape", "trigger_words", "subclasses", "label_names", "images_per_prompt")


def _parse_concept(name: str, category: str, nsfw: bool, raw: dict) -> Concept:
    where = f"taxonomy: {category}/{name}"
    check_keys(raw, where, required=_CONCEPT_KEYS, optional=("display_name", "unrelated"))
    if raw["shape"] not in SHAPES:
        raise RecipeError(f"{where}: shape must be one of {SHAPES}, got {raw['shape']!r}")
    labels = expect_list_of_str(raw["label_names"], f"{where}.label_names")
    if len(labels) != 2:
        raise RecipeError(f"{where}.label_names: expected [absent, present], got {labels}")
    ipp = raw["images_per_prompt"]
    if not isinstance(ipp, int) or isinstance(ipp, bool) or ipp < 1:
        raise RecipeError(f"{where}.images_per_prompt: expected a positive integer, got {ipp!r}")
    unrelated = tuple(expect_list_of_str(raw.get("unrelated", []), f"{where}.unrelated", True))
    if raw["shape"] == "entity" and not unrelated:
        raise RecipeError(f"{where}: an entity concept needs 'unrelated' entities")
    return Concept(
        name=name,
        category=category,
        shape=raw["shape"],
        trigger_words=tuple(expect_list_of_str(raw["trigger_words"], f"{where}.trigger_words")),
        subclasses=tuple(expect_list_of_str(raw["subclasses"], f"{where}.subclasses")),
        label_names=(labels[0], labels[1]),
        images_per_prompt=ipp,
        nsfw=nsfw,
        display_name=raw.get("display_name", name.replace("_", " ")),
        unrelated=unrelated,
    )


def parse_taxonomy(raw: object) -> Taxonomy:
    check_keys(raw, "taxonomy", required=("schema_version", "categories"))
    assert isinstance(raw, dict)
    categories: dict[str, dict[str, Concept]] = {}
    seen: set[str] = set()
    for cat_name, cat in raw["categories"].items():
        check_keys(cat, f"taxonomy: {cat_name}", required=("concepts",),
                   optional=("description", "nsfw"))
        concepts = {}
        for name, body in cat["concepts"].items():
            if name in seen or name == "data":
                raise RecipeError(f"taxonomy: concept name {name!r} is duplicated or reserved")
            seen.add(name)
            concepts[name] = _parse_concept(name, cat_name, bool(cat.get("nsfw", False)), body)
        categories[cat_name] = concepts
    return Taxonomy(schema_version=int(raw["schema_version"]), categories=categories)


def load_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read: {exc.strerror}") from None


@cache
def load_taxonomy(path: Path = TAXONOMY_PATH) -> Taxonomy:
    try:
        return parse_taxonomy(load_yaml(path))
    except RecipeError as exc:
        raise RecipeError(f"{path}: {exc}") from None
