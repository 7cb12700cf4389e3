"""Prompt recipes v3: scenes written as whole sentences, loaded per category from a directory.

- attribute concepts (nsfw, and plug-in categories): one file per concept, `<concept>.yaml`, scenes
  per subclass with one `[forget|retain]` span; robustness by word substitution inside the span,
  authored translations and implicit sentences;
- style (`genres.yaml` + `painters.yaml`): a painter's scenes are its genres' banks and its motifs,
  each with one of its media (chosen per scene with the painter's seed); forget = medium + scene +
  attachment naming the painter, retain = medium + scene; its subclasses are its genres;
- entity concepts (object): one file per object, scenes with `{noun}`, plus `entities.yaml` for the
  unrelated entities that are not concepts; unrelated rows come from each unrelated entity's bank.

Every file is checked key by key; a malformed one fails in one line naming the file and the key.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from builders.grammar import (
    JUNCTION,
    fill_noun,
    finish,
    french_contractions,
    literal_articles_to_markup,
    side,
    spans,
)
from dataigm.core.errors import RecipeError, check_keys, expect_list_of_str, suggest
from dataigm.core.prompt_stats import tokens as words_of
from dataigm.core.taxonomy import Concept, load_yaml

VERSION = 3
ROBUSTNESS_KINDS = ("synonym", "paraphrase", "misspelling", "translation", "implicit")
LANGUAGES = ("fr", "de", "es", "it")
GENRES = ("landscape", "marine", "cityscape", "portrait", "genre_painting", "religious", "mythological", "history",
          "still_life", "interior", "animal", "illustration", "fantasy", "abstract", "japanese")
RECIPES = Path(__file__).with_name("recipes")


@dataclass(frozen=True)
class Sizes:
    """How many forget prompts, unrelated prompts per entity, and prompts per robustness kind."""

    forget: int
    unrelated: int
    robustness: int


@dataclass(frozen=True)
class Scene:
    """One authored scene: its subclass, source key, markup text, translations and implicit form.
    Style scenes also keep their parts (medium, scene phrase, attachment template)."""

    subclass: str
    key: str
    text: str
    translations: tuple[tuple[str, str], ...] = ()
    implicit: str | None = None
    medium: str = ""  # the medium as genres.yaml lists it (the key of its translations)
    phrase: str = ""
    attachment: str = ""
    opener: str = ""  # the medium as the English prompt says it, sized ("a small oil painting of")


@dataclass(frozen=True)
class Bank:
    """The scenes of an unrelated entity, with the noun they are rendered with."""

    name: str
    noun: str
    plural: bool
    scenes: tuple[Scene, ...]


@dataclass(frozen=True)
class ConceptRecipe:
    """A concept's scenes and the words its gates and robustness kinds use (attribute concepts)."""

    concept: str
    source: str
    sizes: Sizes
    subclasses: dict[str, tuple[Scene, ...]]
    related_words: tuple[str, ...] = ()
    person_words: tuple[str, ...] = ()
    substitutions: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def capacity(self) -> int:
        """How many distinct forget scenes the recipe holds."""
        return sum(len(s) for s in self.subclasses.values())

    def ordered(self, subclass: str, rng: random.Random) -> list[Scene]:
        """A subclass's scenes in the order they are tried (a seeded shuffle)."""
        scenes = list(self.subclasses[subclass])
        rng.shuffle(scenes)
        return scenes

    def forget_pair(self, scene: Scene) -> tuple[str, str | None]:
        """The forget prompt of a scene and its retain twin (None for entity concepts)."""
        return finish(side(scene.text, True)), finish(side(scene.text, False))

    def robustness(self, kind: str, scene: Scene, rng: random.Random) -> list[str]:
        """Candidate robustness prompts of one kind on a scene, best first (misspellings are the
        builder's)."""
        if kind == "translation":
            return _rotated([text for _, text in scene.translations], rng)
        if kind == "implicit":
            return [scene.implicit] if scene.implicit else []
        span = spans(scene.text)[0].group(1)
        out = []
        for word, alternatives in self.substitutions.get(kind, {}).items():
            pattern = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
            if pattern.search(span):
                out += [finish(side(scene.text, True, pattern.sub(lambda _, a=alt: a, span))) for alt in alternatives]
        rng.shuffle(out)
        return out

    def phrases(self) -> tuple[str, ...]:
        """The literal concept phrases its prompts hold, the spans of forget prompts and the words
        robustness prompts put in their place (what diversity measures leave out)."""
        spanned = {m.group(1).strip(" ,") for scenes in self.subclasses.values() for s in scenes for m in spans(s.text)}
        substituted = {a for kind in self.substitutions.values() for alts in kind.values() for a in alts}
        return tuple(sorted((spanned | substituted) - {""}))

    def substitution_words(self) -> set[str]:
        """Every word of the concept's synonyms, paraphrases and translations (no misspelling may
        equal one)."""
        words = {w for kind in self.substitutions.values() for alts in kind.values() for a in alts
                 for w in words_of(a)}
        return words | {w for scenes in self.subclasses.values() for s in scenes for _, t in s.translations
                        for w in words_of(t)}


@dataclass(frozen=True)
class StyleRecipe(ConceptRecipe):
    """A painter: scenes from its genres and motifs; robustness from its name forms, translated
    scenes, media and attachments, and technique clauses."""

    name_forms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # synonym/paraphrase -> forms
    implicit_clauses: tuple[str, ...] = ()
    names: dict[str, str] = field(default_factory=dict)  # language -> the name's usual form there
    gender: str = "m"
    attachments: dict[str, tuple[str, ...]] = field(default_factory=dict)
    media: dict[str, dict[str, str]] = field(default_factory=dict)  # language -> English medium -> translation

    def ordered(self, subclass: str, rng: random.Random) -> list[Scene]:
        """The painter's own order: motifs first (its signature subjects), then the genre bank in
        the order the media allocation chose (load_style_dir)."""
        return list(self.subclasses[subclass])

    def attach(self, template: str, name: str, language: str = "en") -> str:
        """An attachment with the painter's name form (and its gendered articles) filled in."""
        return attach_name(template, name, self.gender, language)

    def robustness(self, kind: str, scene: Scene, rng: random.Random) -> list[str]:
        """Name forms in the scene's attachment, the scene in another language, or the retain
        scene with a clause of the painter's technique."""
        if kind in ("synonym", "paraphrase"):
            forms = _rotated(list(self.name_forms.get(kind, ())), rng)
            return [finish(f"{scene.opener} {scene.phrase}{self.attach(scene.attachment, f)}") for f in forms]
        if kind == "implicit":
            retain = finish(f"{scene.opener} {scene.phrase}")
            return [f"{retain}, {clause}" for clause in _rotated(list(self.implicit_clauses), rng)]
        if kind == "translation":
            out = []
            for language, text in _rotated(list(scene.translations), rng):
                medium = self.media.get(language, {}).get(scene.medium)
                templates = self.attachments.get(language)
                if medium is None or not templates:
                    continue
                attachment = self.attach(rng.choice(templates), self.names.get(language, ""), language)
                out.append(translated_sentence(language, medium, text, attachment))
            return out
        return []

    def phrases(self) -> tuple[str, ...]:
        """Its attachments with every name form, its media and technique clauses: the engine's own
        words and the painter's."""
        forms = {n for n in (*self.names.values(), *[f for fs in self.name_forms.values() for f in fs]) if n}
        attached = {finish(self.attach(t, n)).strip(" ,") for t in self.attachments.get("en", ()) for n in forms}
        for language, templates in self.attachments.items():  # translated attachments, with the name there
            name = self.names.get(language)
            if language != "en" and name:
                attached |= {french_contractions(self.attach(t, name, language)).strip(" ,") for t in templates}
        used = {s.medium for ss in self.subclasses.values() for s in ss}
        media = {s.opener for ss in self.subclasses.values() for s in ss}
        media |= {m for table in self.media.values() for en, m in table.items() if en in used}
        return tuple(sorted((attached | media | set(self.implicit_clauses)) - {""}))

    def substitution_words(self) -> set[str]:
        """Words of the painter's name forms and of its translated scenes."""
        forms = [*self.names.values(), *[f for fs in self.name_forms.values() for f in fs]]
        return super().substitution_words() | {w for f in forms for w in words_of(f)}


@dataclass(frozen=True)
class ObjectRecipe(ConceptRecipe):
    """An object: scenes with `{noun}`, noun-phrase substitutions, and its unrelated entities' banks."""

    noun: str = ""
    plural: bool = False
    noun_forms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # synonym/paraphrase/implicit
    unrelated: tuple[Bank, ...] = ()

    def forget_pair(self, scene: Scene) -> tuple[str, str | None]:
        """The scene with the object's noun; no retain twin."""
        return finish(fill_noun(scene.text, self.noun, self.plural)), None

    def robustness(self, kind: str, scene: Scene, rng: random.Random) -> list[str]:
        """The noun replaced by a synonym, paraphrase or implicit phrase, or the translated scene."""
        if kind == "translation":
            return _rotated([text for _, text in scene.translations], rng)
        forms = _rotated(list(self.noun_forms.get(kind, ())), rng)
        return [finish(fill_noun(scene.text, f, self.plural)) for f in forms]

    def phrases(self) -> tuple[str, ...]:
        """The noun and the noun phrases robustness prompts put in its place."""
        return tuple(sorted({self.noun, *(f for forms in self.noun_forms.values() for f in forms)}))

    def substitution_words(self) -> set[str]:
        """Words of the noun's synonyms, paraphrases and the translated scenes."""
        return super().substitution_words() | {w for fs in self.noun_forms.values() for f in fs
                                               for w in words_of(f)}


def translated_sentence(language: str, medium: str, scene: str, attachment: str) -> str:
    """A painter's translated prompt: medium + scene + attachment. French joins them with its
    contractions ("de le port" -> "du port", "de Édouard" -> "d'Édouard"); German scenes are
    written in the dative that "ein Ölgemälde von" governs, contracted ("von dem Rauch" -> "vom Rauch")."""
    if language == "fr":
        return french_contractions(f"{medium}{JUNCTION}{scene}{attachment}")
    if language == "de" and medium.endswith(" von") and scene.startswith("dem "):
        medium, scene = f"{medium[:-4]} vom", scene[4:]
    return f"{medium} {scene}{attachment}".replace(JUNCTION, " ")


ATTACHMENT_KEYS = ("name", "possessive", "de_painter", "von_painter")


def attach_name(template: str, name: str, gender: str, language: str = "en") -> str:
    """An attachment template filled: {name}, {possessive}, and the gendered French and German
    articles {de_painter} ("du peintre"/"de la peintre") and {von_painter} ("vom Maler"/"von der
    Malerin"). In French the name joins at a JUNCTION, so "de" + "Édouard Manet" contracts."""
    values = {"name": name, "possessive": possessive(name),
              "de_painter": "de la peintre" if gender == "f" else "du peintre",
              "von_painter": "von der Malerin" if gender == "f" else "vom Maler"}

    def sub(match: re.Match[str]) -> str:
        lead = JUNCTION if match.group(1) and language == "fr" and match.group(2) == "name" else match.group(1)
        return lead + values[match.group(2)]
    return re.sub(r"( ?)\{(\w+)\}", sub, template)


def spread(total: int, parts: int) -> list[int]:
    """`total` split into `parts` near-equal counts, the larger ones first."""
    return [total // parts + (i < total % parts) for i in range(parts)]


def possessive(name: str) -> str:
    """'Monet's', 'Frans Hals's'."""
    return f"{name}'s"


def _rotated(items: list, rng: random.Random) -> list:
    """The items starting at a seeded position (every item stays, order otherwise kept)."""
    if not items:
        return items
    k = rng.randrange(len(items))
    return items[k:] + items[:k]


# -- parsing helpers --------------------------------------------------------------------------------

def parsed(path: Path) -> Any:
    """A recipe file's parsed YAML, read once per version of the file."""
    stat = path.stat() if path.exists() else None
    return _parsed(path, stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0)


@cache
def _parsed(path: Path, mtime: int, size: int) -> Any:
    return load_yaml(path)


def _read(path: Path) -> dict[str, Any]:
    raw = parsed(path)
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: expected a mapping at the top level")
    if raw.get("version") != VERSION:
        raise RecipeError(f"{path}: version: this dataigm reads recipe version {VERSION}, got {raw.get('version')!r}")
    return raw


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RecipeError(f"{where}: expected a non-empty string")
    return value.strip()


def _scene(raw: Any, subclass: str, key: str, where: str, entity: bool) -> Scene:
    """One scene: a string, or {text, fr/de/es/it, implicit}; its markup checked."""
    if isinstance(raw, str):
        raw = {"text": raw}
    check_keys(raw, where, required=("text",), optional=(*LANGUAGES, "implicit"))
    text = literal_articles_to_markup(_str(raw["text"], f"{where}.text"))
    if entity:
        if text.count("{noun}") != 1:
            raise RecipeError(f"{where}.text: an object scene names the object once, as {{noun}}: {text!r}")
    elif len(spans(text)) != 1:
        raise RecipeError(f"{where}.text: an attribute scene has exactly one [forget|retain] span: {text!r}")
    translations = tuple((lang, _str(raw[lang], f"{where}.{lang}")) for lang in LANGUAGES if lang in raw)
    implicit = _str(raw["implicit"], f"{where}.implicit") if "implicit" in raw else None
    return Scene(subclass, key, text, translations, implicit)


def _scenes(raw: Any, subclass: str, where: str, entity: bool) -> tuple[Scene, ...]:
    if not isinstance(raw, list) or not raw:
        raise RecipeError(f"{where}: expected a non-empty list of scenes")
    return tuple(_scene(s, subclass, f"{subclass}:{i}", f"{where}[{i}]", entity) for i, s in enumerate(raw))


def _subclasses(raw: Any, concept: Concept, where: str, entity: bool) -> dict[str, tuple[Scene, ...]]:
    """Scenes per subclass, exactly the taxonomy's subclasses."""
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: expected a mapping subclass -> scenes")
    for name in raw:
        if name not in concept.subclasses:
            raise RecipeError(f"{where}: {name!r} is not a subclass of {concept.name} in the taxonomy"
                              f"{suggest(str(name), concept.subclasses)}")
    missing = [s for s in concept.subclasses if s not in raw]
    if missing:
        raise RecipeError(f"{where}: no scenes for subclasses {missing} (taxonomy: {list(concept.subclasses)})")
    return {s: _scenes(raw[s], s, f"{where}.{s}", entity) for s in concept.subclasses}


def _sizes(raw: Any, where: str, default: Sizes) -> Sizes:
    if raw is None:
        return default
    check_keys(raw, where, optional=("forget", "unrelated", "robustness"))
    for key, value in raw.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise RecipeError(f"{where}.{key}: expected a non-negative integer")
    return Sizes(raw.get("forget", default.forget), raw.get("unrelated", default.unrelated),
                 raw.get("robustness", default.robustness))


def _words(raw: Any, where: str) -> tuple[str, ...]:
    return tuple(expect_list_of_str(raw, where, allow_empty=True)) if raw is not None else ()


def _concept_files(directory: Path, concepts: dict[str, Concept], skip: tuple[str, ...] = ()) -> dict[str, Path]:
    """`<concept>.yaml` files of a directory; a file for no concept is an error (close match)."""
    if not directory.is_dir():
        raise RecipeError(f"{directory}: no recipe directory")
    files = {p.stem: p for p in sorted(directory.glob("*.yaml")) if p.name not in skip}
    for stem, path in files.items():
        if stem not in concepts:
            raise RecipeError(f"{path}: no concept {stem!r} in the taxonomy{suggest(stem, concepts)}")
    return files


def _check_concept_key(raw: dict[str, Any], path: Path) -> None:
    if raw.get("concept", path.stem) != path.stem:
        raise RecipeError(f"{path}: concept: {raw['concept']!r} does not match the file name {path.stem!r}")


# -- attribute concepts (nsfw and plug-ins) -------------------------------------------------------------

ATTRIBUTE_SIZES = Sizes(250, 0, 50)


def parse_attribute(raw: dict[str, Any], path: Path, concept: Concept) -> ConceptRecipe:
    """One attribute concept's file."""
    where = str(path)
    check_keys(raw, where, required=("version", "subclasses"),
               optional=("concept", "sizes", "related_words", "person_words", "substitutions"))
    _check_concept_key(raw, path)
    subs = raw.get("substitutions") or {}
    check_keys(subs, f"{where}: substitutions", optional=("synonym", "paraphrase"))
    substitutions = {}
    for kind, mapping in subs.items():
        if not isinstance(mapping, dict):
            raise RecipeError(f"{where}: substitutions.{kind}: expected a mapping word -> [replacements]")
        substitutions[kind] = {str(w): tuple(expect_list_of_str(alts, f"{where}: substitutions.{kind}.{w}"))
                               for w, alts in mapping.items()}
    return ConceptRecipe(
        concept=concept.name, source=f"dataigm:{concept.category}/{concept.name}@v{VERSION}",
        sizes=_sizes(raw.get("sizes"), f"{where}: sizes", ATTRIBUTE_SIZES),
        subclasses=_subclasses(raw["subclasses"], concept, f"{where}: subclasses", entity=False),
        related_words=_words(raw.get("related_words"), f"{where}: related_words"),
        person_words=_words(raw.get("person_words"), f"{where}: person_words"),
        substitutions=substitutions)


@cache
def load_attribute_dir(directory: Path, concepts: tuple[Concept, ...]) -> dict[str, ConceptRecipe]:
    """The recipes of a directory of per-concept attribute files."""
    by_name = {c.name: c for c in concepts}
    return {stem: parse_attribute(_read(path), path, by_name[stem])
            for stem, path in _concept_files(directory, by_name).items()}


# -- objects --------------------------------------------------------------------------------------------

ENTITIES_FILE = "entities.yaml"
OBJECT_SIZES = Sizes(50, 50, 50)


def _object_parts(raw: dict[str, Any], path: Path, concept: Concept) -> dict[str, Any]:
    where = str(path)
    check_keys(raw, where, required=("version", "noun", "subclasses"),
               optional=("concept", "plural", "substitutions", "sizes"))
    _check_concept_key(raw, path)
    subs = raw.get("substitutions") or {}
    check_keys(subs, f"{where}: substitutions", optional=("synonym", "paraphrase", "implicit"))
    plural = raw.get("plural", False)
    if not isinstance(plural, bool):
        raise RecipeError(f"{where}: plural: expected true or false")
    return {"noun": _str(raw["noun"], f"{where}: noun"), "plural": plural,
            "noun_forms": {k: tuple(expect_list_of_str(v, f"{where}: substitutions.{k}")) for k, v in subs.items()},
            "subclasses": _subclasses(raw["subclasses"], concept, f"{where}: subclasses", entity=True),
            "sizes": _sizes(raw.get("sizes"), f"{where}: sizes", OBJECT_SIZES)}


def _entity_banks(directory: Path) -> dict[str, Bank]:
    path = directory / ENTITIES_FILE
    if not path.exists():
        return {}
    raw = _read(path)
    check_keys(raw, str(path), required=("version", "entities"))
    if not isinstance(raw["entities"], dict):
        raise RecipeError(f"{path}: entities: expected a mapping name -> {{noun, scenes}}")
    banks = {}
    for name, body in raw["entities"].items():
        where = f"{path}: entities.{name}"
        check_keys(body, where, required=("noun", "scenes"), optional=("plural",))
        banks[str(name)] = Bank(str(name), _str(body["noun"], f"{where}.noun"), bool(body.get("plural", False)),
                                _scenes(body["scenes"], str(name), f"{where}.scenes", entity=True))
    return banks


def _key(name: str) -> str:
    return name.lower().replace("_", " ").strip()


@cache
def load_object_dir(directory: Path, concepts: tuple[Concept, ...]) -> dict[str, ObjectRecipe]:
    """The recipes of a directory of per-object files plus entities.yaml; each object's unrelated
    banks resolved (another object whose describe/noun is the entity, or an entities.yaml bank)."""
    by_name = {c.name: c for c in concepts}
    parts = {stem: _object_parts(_read(path), path, by_name[stem])
             for stem, path in _concept_files(directory, by_name, skip=(ENTITIES_FILE,)).items()}
    banks: dict[str, Bank] = {}
    for stem, p in parts.items():
        bank = Bank(stem, p["noun"], p["plural"], tuple(s for ss in p["subclasses"].values() for s in ss))
        for name in (by_name[stem].describe, p["noun"], *by_name[stem].trigger_words):
            banks.setdefault(_key(name), bank)
    for name, bank in _entity_banks(directory).items():
        banks.setdefault(_key(name), bank)
        banks.setdefault(_key(bank.noun), bank)
    recipes = {}
    for stem, p in parts.items():
        concept = by_name[stem]
        missing = [e for e in concept.unrelated if _key(e) not in banks]
        if missing:
            raise RecipeError(f"{directory}: no scene bank for the unrelated entities {missing} of {stem} (an object "
                              f"file whose noun is that entity, or an entry of {ENTITIES_FILE})")
        recipes[stem] = ObjectRecipe(
            concept=stem, source=f"dataigm:object/{stem}@v{VERSION}", sizes=p["sizes"], subclasses=p["subclasses"],
            noun=p["noun"], plural=p["plural"], noun_forms=p["noun_forms"],
            unrelated=tuple(banks[_key(e)] for e in concept.unrelated))
    return recipes


# -- style ----------------------------------------------------------------------------------------------

GENRES_FILE, PAINTERS_FILE = "genres.yaml", "painters.yaml"
STYLE_SIZES = Sizes(250, 0, 50)
_PAINTER_KEYS = ("gender", "genres", "media", "names", "synonyms", "paraphrases", "implicit", "motifs")


def _genres(path: Path) -> dict[str, Any]:
    raw = _read(path)
    where = str(path)
    check_keys(raw, where, required=("version", "attachments", "genres"), optional=("media", "media_fr", "media_de"))
    check_keys(raw["attachments"], f"{where}: attachments", required=("en",), optional=LANGUAGES)
    attachments = {lang: tuple(expect_list_of_str(v, f"{where}: attachments.{lang}"))
                   for lang, v in raw["attachments"].items()}
    for lang, templates in attachments.items():
        for t in templates:
            if "{name}" not in t and "{possessive}" not in t:
                raise RecipeError(f"{where}: attachments.{lang}: {t!r} does not name the painter ({{name}})")
            for key in re.findall(r"\{(\w+)\}", t):
                if key not in ATTACHMENT_KEYS:
                    raise RecipeError(f"{where}: attachments.{lang}: unknown placeholder {{{key}}} in {t!r}"
                                      f"{suggest(key, ATTACHMENT_KEYS)}")
    media = {}
    for lang in ("fr", "de"):
        body = raw.get(f"media_{lang}") or {}
        if not isinstance(body, dict):
            raise RecipeError(f"{where}: media_{lang}: expected a mapping English medium -> translation")
        media[lang] = {str(k): _str(v, f"{where}: media_{lang}.{k}") for k, v in body.items()}
    if not isinstance(raw["genres"], dict):
        raise RecipeError(f"{where}: genres: expected a mapping genre -> scenes")
    genres = {}
    for name, scenes in raw["genres"].items():
        if name not in GENRES:
            raise RecipeError(f"{where}: genres: unknown genre {name!r}{suggest(str(name), GENRES)}")
        genres[name] = [_style_scene(s, f"{where}: genres.{name}[{i}]") for i, s in enumerate(scenes or [])]
    known = tuple(expect_list_of_str(raw["media"], f"{where}: media")) if "media" in raw else ()
    return {"attachments": attachments, "media": media, "genres": genres, "known_media": known}


def _style_scene(raw: Any, where: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A genre or motif scene: a noun phrase and its translations."""
    if isinstance(raw, str):
        raw = {"text": raw}
    check_keys(raw, where, required=("text",), optional=LANGUAGES)
    return _str(raw["text"], f"{where}.text"), tuple((lang, _str(raw[lang], f"{where}.{lang}"))
                                                     for lang in LANGUAGES if lang in raw)


def _painter(name: str, body: Any, where: str, genres: dict[str, Any]) -> dict[str, Any]:
    check_keys(body, where, required=("genres", "media"), optional=_PAINTER_KEYS)
    gender = body.get("gender", "m")
    if gender not in ("m", "f"):
        raise RecipeError(f"{where}.gender: expected m or f, got {gender!r}")
    own = expect_list_of_str(body["genres"], f"{where}.genres")
    for g in own:
        if g not in GENRES:
            raise RecipeError(f"{where}.genres: unknown genre {g!r}{suggest(g, GENRES)}")
        if not genres.get(g):
            raise RecipeError(f"{where}.genres: genre {g!r} has no scene bank in {GENRES_FILE}")
    motifs_raw = body.get("motifs") or []
    if isinstance(motifs_raw, list):  # a plain list belongs to the primary genre
        motifs_raw = {own[0]: motifs_raw}
    check_keys(motifs_raw, f"{where}.motifs", optional=own)
    names = body.get("names") or {}
    check_keys(names, f"{where}.names", optional=LANGUAGES)
    return {"gender": gender, "genres": own, "media": expect_list_of_str(body["media"], f"{where}.media"),
            "names": {k: _str(v, f"{where}.names.{k}") for k, v in names.items()},
            "synonym": tuple(_words(body.get("synonyms"), f"{where}.synonyms")),
            "paraphrase": tuple(_words(body.get("paraphrases"), f"{where}.paraphrases")),
            "implicit": tuple(_words(body.get("implicit"), f"{where}.implicit")),
            "motifs": {g: [_style_scene(s, f"{where}.motifs.{g}[{i}]") for i, s in enumerate(ms or [])]
                       for g, ms in motifs_raw.items()}}


def painter_genres(directory: Path) -> dict[str, list[str]]:
    """Every painter's genres as painters.yaml lists them (the taxonomy's subclasses of the painter)."""
    raw = _read(directory / PAINTERS_FILE)
    return {str(name): list(body.get("genres") or []) for name, body in (raw.get("painters") or {}).items()}


@cache
def load_style_dir(directory: Path, concepts: tuple[Concept, ...]) -> dict[str, StyleRecipe]:
    """Every painter's recipe from genres.yaml and painters.yaml."""
    by_name = {c.name: c for c in concepts}
    banks = _genres(directory / GENRES_FILE)
    path = directory / PAINTERS_FILE
    raw = _read(path)
    check_keys(raw, str(path), required=("version", "painters"))
    if not isinstance(raw["painters"], dict):
        raise RecipeError(f"{path}: painters: expected a mapping painter -> entry")
    recipes = {}
    claims: Claims = {}
    for name, body in raw["painters"].items():
        where = f"{path}: painters.{name}"
        if name not in by_name:
            raise RecipeError(f"{where}: no style concept {name!r} in the taxonomy{suggest(str(name), by_name)}")
        p = _painter(str(name), body, where, banks["genres"])
        for medium in p["media"]:
            if banks["known_media"] and medium not in banks["known_media"]:
                raise RecipeError(f"{where}.media: {medium!r} is not in {GENRES_FILE} media"
                                  f"{suggest(medium, banks['known_media'])}")
        concept = by_name[name]
        if list(concept.subclasses) != p["genres"]:
            raise RecipeError(f"{where}.genres: {p['genres']} differ from the taxonomy's subclasses "
                              f"{list(concept.subclasses)} (a painter's subclasses in taxonomy.yaml are its genres)")
        recipes[name] = _painter_recipe(concept, p, banks, claims)
    return recipes


# Bank scenes the painters read so far are likely to use, with the opener each gave it: (genre,
# index) -> opener -> their primary genres. Each of a painter's openers (its media, sized) gets an
# even share of the scenes it will likely use, taken from scenes that no painter of another primary
# genre uses with that opener, so painters of different primary genres rarely share a retain prompt
# (opener + scene) and every painter keeps its media in even measure.
Claims = dict[tuple[str, int], dict[str, set[str]]]

# Size and finish words that say nothing of a painter's style: each medium is also said in these
# forms ("a small oil painting of"), so painters who share a genre bank and a medium still rarely
# write the same retain prompt (medium + scene).
SIZES = ("small", "large", "unfinished")


def sized_openers(medium: str) -> list[str]:
    """A medium opener and its sized forms: "an oil painting of", "a small oil painting of", ..."""
    bare = re.sub(r"^(?:a|an) ", "", medium)
    return [medium, *(finish(f"{{a}} {size} {bare}") for size in SIZES)]


def _painter_recipe(concept: Concept, p: dict[str, Any], banks: dict[str, Any], claims: Claims) -> StyleRecipe:
    rng = random.Random(f"painter|{concept.name}")  # the painter's seed: its media, attachments, scene order
    templates, group = banks["attachments"]["en"], p["genres"][0]
    per_genre = -(-STYLE_SIZES.forget * 6 // (5 * len(p["genres"])))  # the scenes it will likely use, +20 %

    medium_of = {opener: medium for medium in p["media"] for opener in sized_openers(medium)}

    def scene(genre: str, key: str, opener: str, phrase: str, translations: tuple) -> Scene:
        template = rng.choice(templates)
        attached = attach_name(template, concept.display_name, p["gender"])
        return Scene(genre, key, f"{opener} {phrase}[{attached}|]", translations, medium=medium_of[opener],
                     phrase=phrase, attachment=template, opener=opener)

    subclasses = {}
    for genre in p["genres"]:
        motifs = [scene(genre, f"motif:{genre}:{i}", rng.choice(list(medium_of)), phrase, tr)
                  for i, (phrase, tr) in enumerate(p["motifs"].get(genre, []))]
        bank = list(enumerate(banks["genres"][genre]))
        rng.shuffle(bank)
        wanted = max(0, per_genre - len(motifs))
        media = rng.sample(list(medium_of), len(medium_of))
        chosen: dict[int, str] = {}  # position in the shuffled bank -> opener: each opener its share,
        for opener, share in zip(media, spread(wanted, len(media)), strict=True):  # on scenes free for it
            free = [k for k, (i, _) in enumerate(bank) if k not in chosen
                    and claims.get((genre, i), {}).get(opener, set()) <= {group}]
            chosen.update((k, opener) for k in free[:share])
        ordered = [k for k in range(len(bank)) if k in chosen] + [k for k in range(len(bank)) if k not in chosen]
        picked = [(bank[k][0], scene(genre, f"{genre}:{bank[k][0]}", chosen.get(k) or rng.choice(media),
                                     *bank[k][1])) for k in ordered]
        for i, s in picked[:wanted]:
            claims.setdefault((genre, i), {}).setdefault(s.opener, set()).add(group)
        subclasses[genre] = tuple(motifs + [s for _, s in picked])
    return StyleRecipe(
        concept=concept.name, source=f"dataigm:style/{concept.name}@v{VERSION}", sizes=STYLE_SIZES,
        subclasses=subclasses, name_forms={"synonym": p["synonym"], "paraphrase": p["paraphrase"]},
        implicit_clauses=p["implicit"], names={"en": concept.display_name, **p["names"]}, gender=p["gender"],
        attachments=banks["attachments"], media=banks["media"])


@cache
def vocabulary(*directories: Path) -> frozenset[str]:
    """Every word of the recipe files under these directories and the shipped ones: the real words
    a misspelling may not become, and the nouns whose plurals the agreement gate knows."""
    shipped = RECIPES.resolve()
    roots = {shipped, *(d.resolve() for d in directories if not d.resolve().is_relative_to(shipped))}
    return frozenset().union(*(_vocabulary(tuple(sorted(p for p in root.rglob("*.yaml")))) for root in roots))


@cache
def _vocabulary(paths: tuple[Path, ...]) -> frozenset[str]:
    words: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            words.update(words_of(value))
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)

    for path in paths:
        walk(parsed(path))
    return frozenset(words)
