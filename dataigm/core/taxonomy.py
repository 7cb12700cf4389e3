"""The CatIGMU taxonomy (category -> concept -> subclass), loaded from data: taxonomy.yaml next to
this module plus a `taxonomy.yaml` in each plug-in folder (DATAIGM_PLUGINS)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from dataigm.core.errors import NAME_RE_TEXT, RecipeError, UnknownNameError, check_keys, expect_list_of_str
from dataigm.core.plugins import plugin_dirs

TAXONOMY_PATH = Path(__file__).with_name("taxonomy.yaml")
# The taxonomy file format this code reads; plug-in taxonomy files may state it too. Bump it (and the
# parser) when a key is added, removed or changes meaning.
TAXONOMY_SCHEMA_VERSION = 2
Shape = Literal["attribute", "entity"]
SHAPES = ("attribute", "entity")


def words_pattern(words: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    """Any of `words` as a whole word, any case, longest first; matches nothing when empty."""
    ordered = sorted(words, key=len, reverse=True)
    pattern = r"\b(?:" + "|".join(re.escape(w) for w in ordered) + r")\b" if ordered else r"(?!x)x"
    return re.compile(pattern, re.IGNORECASE)


@dataclass(frozen=True)
class Concept:
    """One concept of the taxonomy: its category, shape, trigger words, subclasses, labels and benchmark ids."""

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
    # Ids other benchmarks use for this concept: {"wikiart": "4"}, {"i2p": "violence"}, {"wnid": ...}
    ids: tuple[tuple[str, str], ...] = ()
    # A short visual description for zero-shot presence checks (default: the display name).
    describe: str = ""
    _trigger_re: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_trigger_re", words_pattern(self.trigger_words))

    def find_trigger(self, text: str) -> re.Match[str] | None:
        """The first of the concept's trigger words in `text` (whole words, any case)."""
        return self._trigger_re.search(text)

    def has_trigger(self, text: str) -> bool:
        """Whether `text` contains one of the concept's trigger words."""
        return self.find_trigger(text) is not None

    @property
    def prompt_config(self) -> str:
        """The name of the concept's prompt-only config."""
        return f"{self.name}-prompts"

    @property
    def id_map(self) -> dict[str, str]:
        """The ids other benchmarks use for this concept, as a mapping."""
        return dict(self.ids)


@dataclass(frozen=True)
class Category:
    """A category of concepts, with its builder, nsfw flag and the no-concept label of category judges."""

    name: str
    description: str
    nsfw: bool
    builder: str  # registry name of the category builder
    concepts: dict[str, Concept]
    # The category's "no concept" class for multi-class judges (e.g. WikiArt's realistic-styleless).
    none_label: str = "none"
    none_ids: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    """Every category and concept, with the digest of the files they were read from."""

    schema_version: int
    categories: dict[str, Category]
    sources: tuple[str, ...] = ()  # "path:sha256" of every file it was read from
    digest: str = ""

    @property
    def concepts(self) -> dict[str, Concept]:
        """Every concept by name, across categories."""
        return {c.name: c for cat in self.categories.values() for c in cat.concepts.values()}

    def concept(self, name: str) -> Concept:
        """A concept by name; an unknown name suggests the close match."""
        try:
            return self.concepts[name]
        except KeyError:
            raise UnknownNameError("concept", name, self.concepts) from None

    def resolve(self, names: list[str] | None) -> list[Concept]:
        """Concepts by name (or category name, expanding to its concepts), in taxonomy order."""
        if not names:
            return list(self.concepts.values())
        chosen: set[str] = set()
        for name in names:
            if name in self.categories:
                chosen.update(self.categories[name].concepts)
            elif name in self.concepts:
                chosen.add(name)
            else:
                raise UnknownNameError("concept", name, [*self.concepts, *self.categories])
        return [c for c in self.concepts.values() if c.name in chosen]

    def tree(self, category: str | None = None, detail: bool = False) -> str:
        """A readable tree with counts; `detail` lists every concept's triggers and subclasses."""
        cats = [self.categories[category]] if category else list(self.categories.values())
        lines = [f"{sum(len(c.concepts) for c in cats)} concepts in {len(cats)} categories"]
        for cat in cats:
            flag = ", nsfw (gated)" if cat.nsfw else ""
            none = (f"; no-concept class {cat.none_label} [" + " ".join(f"{k}={v}" for k, v in cat.none_ids) + "]"
                    if cat.none_ids else "")
            lines.append(f"{cat.name}/  ({len(cat.concepts)} concepts{flag}; builder {cat.builder}{none})")
            for c in cat.concepts.values():
                ids = " ".join(f"{k}={v}" for k, v in c.ids)
                head = f"  {c.name}" + (f"  [{ids}]" if ids else "")
                if not detail:
                    lines.append(f"{head}  {c.shape}, {len(c.subclasses)} subclasses")
                    continue
                extra = f"; unrelated: {', '.join(c.unrelated)}" if c.unrelated else ""
                lines.append(f"{head}  [{c.shape}; triggers: {', '.join(c.trigger_words)}; "
                             f"labels: {'/'.join(c.label_names)}; {c.images_per_prompt} images/prompt{extra}]")
                lines.extend(f"    - {s}" for s in c.subclasses)
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        """The taxonomy as JSON (`dataigm concepts --format json`, the dataset card)."""
        return {"schema_version": self.schema_version, "digest": self.digest, "categories": {
            cat.name: {"nsfw": cat.nsfw, "builder": cat.builder, "description": cat.description,
                       "none_label": cat.none_label, "none_ids": dict(cat.none_ids),
                       "concepts": {c.name: {
                           "shape": c.shape, "display_name": c.display_name, "trigger_words": list(c.trigger_words),
                           "subclasses": list(c.subclasses), "label_names": list(c.label_names),
                           "unrelated": list(c.unrelated), "ids": c.id_map} for c in cat.concepts.values()}}
            for cat in self.categories.values()}}


_CONCEPT_KEYS = ("shape", "trigger_words", "subclasses", "label_names", "images_per_prompt",
                 "display_name", "unrelated", "ids", "describe")
_NAME_RE = re.compile(NAME_RE_TEXT)


def _ids(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not all(isinstance(v, (str, int)) for v in raw.values()):
        raise RecipeError(f"{where}.ids: expected a mapping scheme -> id")
    return tuple(sorted((str(k), str(v)) for k, v in raw.items()))


def _parse_concept(name: str, category: str, nsfw: bool, raw: Any, defaults: dict) -> Concept:
    where = f"taxonomy: {category}/{name}"
    if not _NAME_RE.fullmatch(name) or name == "data" or name.endswith("-prompts"):
        raise RecipeError(f"{where}: concept names use only {NAME_RE_TEXT} (not 'data', no '-prompts' suffix)")
    check_keys(raw, where, optional=_CONCEPT_KEYS)
    body = {**defaults, **raw}
    for key in ("shape", "trigger_words", "subclasses", "label_names", "images_per_prompt"):
        if key not in body:
            raise RecipeError(f"{where}: missing required key {key!r}")
    if body["shape"] not in SHAPES:
        raise RecipeError(f"{where}: shape must be one of {SHAPES}, got {body['shape']!r}")
    raw_labels = expect_list_of_str(body["label_names"], f"{where}.label_names")
    labels = [label.replace("{name}", name) for label in raw_labels]
    if len(labels) != 2:
        raise RecipeError(f"{where}.label_names: expected [absent, present], got {labels}")
    ipp = body["images_per_prompt"]
    if not isinstance(ipp, int) or isinstance(ipp, bool) or ipp < 1:
        raise RecipeError(f"{where}.images_per_prompt: expected a positive integer, got {ipp!r}")
    unrelated = tuple(expect_list_of_str(body.get("unrelated", []), f"{where}.unrelated", True))
    if body["shape"] == "entity" and not unrelated:
        raise RecipeError(f"{where}: an entity concept needs 'unrelated' entities")
    display = body.get("display_name", name.replace("_", " "))
    return Concept(
        name=name, category=category, shape=body["shape"],
        trigger_words=tuple(expect_list_of_str(body["trigger_words"], f"{where}.trigger_words")),
        subclasses=tuple(expect_list_of_str(body["subclasses"], f"{where}.subclasses")),
        label_names=(labels[0], labels[1]), images_per_prompt=ipp, nsfw=nsfw, display_name=display,
        unrelated=unrelated, ids=_ids(body.get("ids"), where), describe=body.get("describe", display))


def parse_categories(raw: Any, where: str = "taxonomy") -> dict[str, Category]:
    """Categories and their concepts from parsed YAML, every key checked."""
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}.categories: expected a mapping")
    categories = {}
    for cat_name, cat in raw.items():
        cw = f"{where}: {cat_name}"
        check_keys(cat, cw, required=("concepts",),
                   optional=("description", "nsfw", "builder", "defaults", "none_label", "none_ids"))
        defaults = cat.get("defaults", {}) or {}
        check_keys(defaults, f"{cw}.defaults", optional=_CONCEPT_KEYS)
        if not isinstance(cat["concepts"], dict) or not cat["concepts"]:
            raise RecipeError(f"{cw}.concepts: expected a non-empty mapping")
        nsfw = bool(cat.get("nsfw", False))
        concepts = {name: _parse_concept(name, cat_name, nsfw, body or {}, defaults)
                    for name, body in cat["concepts"].items()}
        categories[cat_name] = Category(
            name=cat_name, description=cat.get("description", ""), nsfw=nsfw,
            builder=cat.get("builder", cat_name), concepts=concepts,
            none_label=cat.get("none_label", "none"), none_ids=_ids(cat.get("none_ids"), cw))
    return categories


def parse_taxonomy(raw: object, extra: list[tuple[str, object]] = ()) -> Taxonomy:
    """The taxonomy from the core file's parsed YAML plus (where, parsed YAML) of plug-in files."""
    check_keys(raw, "taxonomy", required=("schema_version", "categories"))
    assert isinstance(raw, dict)
    _check_schema_version(raw["schema_version"], "taxonomy")
    categories = parse_categories(raw["categories"])
    for where, body in extra:
        check_keys(body, where, required=("categories",), optional=("schema_version",))
        assert isinstance(body, dict)
        if "schema_version" in body:
            _check_schema_version(body["schema_version"], where)
        for name, cat in parse_categories(body["categories"], where).items():
            if name in categories:
                raise RecipeError(f"{where}: category {name!r} is already defined")
            categories[name] = cat
    seen: dict[str, str] = {}
    for cat in categories.values():
        for name in cat.concepts:
            if name in seen or name in categories:
                raise RecipeError(f"taxonomy: concept name {name!r} is duplicated (or names a category)")
            seen[name] = cat.name
    return Taxonomy(schema_version=TAXONOMY_SCHEMA_VERSION, categories=categories)


def _check_schema_version(found: object, where: str) -> None:
    if found != TAXONOMY_SCHEMA_VERSION:
        raise RecipeError(f"{where}: schema_version {found!r}, this dataigm reads taxonomy schema version "
                          f"{TAXONOMY_SCHEMA_VERSION}; write the file for that version (or use the dataigm it was "
                          "written for)")


def load_yaml(path: Path) -> object:
    """Parsed YAML of a taxonomy or recipe file (libyaml's safe loader where it is built); bad YAML
    is one line."""
    try:
        return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read: {exc.strerror}") from None


def load_taxonomy() -> Taxonomy:
    """The taxonomy: the core file plus every plug-in folder's taxonomy.yaml (cached)."""
    return _load_taxonomy(TAXONOMY_PATH, plugin_dirs())


@cache
def _load_taxonomy(path: Path, dirs: tuple[Path, ...]) -> Taxonomy:
    files = [path] + [d / "taxonomy.yaml" for d in dirs if (d / "taxonomy.yaml").exists()]
    try:
        parsed = [(str(f), load_yaml(f)) for f in files]
        taxonomy = parse_taxonomy(parsed[0][1], parsed[1:])
    except RecipeError as exc:
        raise RecipeError(f"{path}: {exc}" if str(path) not in str(exc) else str(exc)) from None
    h = hashlib.sha256()
    sources = []
    for f in files:
        digest = hashlib.sha256(f.read_bytes()).hexdigest()
        h.update(digest.encode())
        sources.append(f"{f.name}:{digest[:16]}")
    return Taxonomy(taxonomy.schema_version, taxonomy.categories, tuple(sources), h.hexdigest()[:16])


IMPORTED = "imported"  # the category of prompt sets imported into a release folder (not in the taxonomy file)
IMPORT_LABELS = ("absent", "present")


def imported_set(name: str, nsfw: bool, attacks: str | None = None) -> Concept:
    """An imported prompt set as a concept of the IMPORTED category; an attack set is as
    sensitive as the concept it attacks (nsfw when that concept is)."""
    if attacks:
        nsfw = nsfw or load_taxonomy().concept(attacks).nsfw
    return Concept(name=name, category=IMPORTED, shape="attribute", trigger_words=(), subclasses=(),
                   label_names=IMPORT_LABELS, images_per_prompt=1, nsfw=bool(nsfw), display_name=name)
