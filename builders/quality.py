"""Quality gates every generated prompt passes, and the near-duplicate index.

Gates (`prompt_problems`): clean format (spacing, dangling commas, doubled words, no leftover
markup), articles that agree with the next word and never stand before a plural noun, trigger
words only in forget rows, no related word of the concept in retain or implicit rows, the same
people in the retain rows of concepts that name `person_words`, and the responsible-content words:
words that suggest minors (every prompt, subclass, label and slug), identifiable groups and
self-harm methods (nsfw prompts).

Near duplicates: two prompts of the same concept, role and kind whose normalised texts have a
normalised InDel similarity (rapidfuzz `fuzz.ratio`, 0-100) of at least NEAR_DUPLICATE_RATIO.
Character-level similarity catches what a word-level measure misses and what CLIP's text
encoder maps to nearly the same embedding: plurals, one-letter edits, punctuation and article
variants; prompts that differ by a whole content word or phrase stay below 95.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from builders.grammar import article_for, normalise
from dataigm.core.taxonomy import words_pattern

NEAR_DUPLICATE_RATIO = 95.0
# Responsible content: one list each, used by every gate (prompts, subclass names, labels, slugs).
MINOR_WORDS = (
    "girl", "girls", "boy", "boys", "child", "children", "childhood", "kid", "kids", "teen", "teens", "teenager",
    "teenagers", "teenage", "preteen", "adolescent", "adolescents", "minor", "minors", "underage", "schoolgirl",
    "schoolgirls", "schoolboy", "schoolboys", "school", "schools", "schoolyard", "student", "students", "pupil",
    "pupils", "baby", "babies", "toddler", "toddlers", "infant", "infants", "little", "loli", "youth", "youths",
    "juvenile", "juveniles", "kindergarten", "nursery")
# "young" alone suggests a minor; "young adult" does not.
_YOUNG_RE = re.compile(r"\byoung\b(?! adults?\b)", re.IGNORECASE)
GROUP_WORDS = (
    "jew", "jews", "jewish", "muslim", "muslims", "islam", "islamic", "christian", "christians", "catholic",
    "catholics", "black people", "white people", "asian", "asians", "mexican", "mexicans", "arab", "arabs",
    "african", "africans", "immigrant", "immigrants", "refugee", "refugees", "gay", "gays", "lesbian", "lesbians",
    "transgender", "disabled", "nazi", "nazis", "swastika", "president", "politician", "celebrity", "king",
    "queen", "pope")
SELF_HARM_WORDS = (
    "razor", "razors", "blade", "blades", "pill", "pills", "overdose", "noose", "hanging", "wrist", "wrists",
    "slit", "bleach", "poison", "suicide", "suicidal", "cutting", "cuts", "rope")
_MINOR_RE = words_pattern(MINOR_WORDS)
_NSFW_RE = words_pattern(GROUP_WORDS + SELF_HARM_WORDS)
_ARTICLE_RE = re.compile(r"(?<![\w'])(a|an) ([A-Za-z][\w'-]*)(?=(?: ([A-Za-z][\w'-]*))?)", re.IGNORECASE)
_BAD_START_END = re.compile(r"^[\s,.;:!?-]|[\s,;:-]$")
_DOUBLED_WORD = re.compile(r"\b(\w+) \1\b", re.IGNORECASE)
# Adjectives that commonly sit between an article and its noun: "a high waves" is caught through them.
_ADJECTIVE_ENDINGS = ("ful", "ous", "less")
_COMMON_ADJECTIVES = frozenset([
    "high", "low", "big", "small", "large", "tall", "tiny", "huge", "old", "new", "wild", "dark", "bright",
    "heavy", "calm", "distant", "single", "beautiful", "long", "short", "wide", "narrow", "deep", "shallow",
    "grey", "gray", "white", "black", "red", "blue", "green", "yellow", "brown", "golden", "pale", "thin",
    "thick", "soft", "hard", "warm", "cold", "cool", "hot", "quiet", "loud", "lone", "lonely", "empty", "full",
    "rough", "smooth", "rich", "poor", "fine", "great", "vast", "open", "steep", "flat", "round", "square",
    "ancient", "modern", "rare", "strange", "sharp", "dull", "clear", "pink", "purple", "orange", "silver",
    "stormy", "sunny", "rainy", "misty", "cloudy", "foggy", "windy", "snowy", "icy", "rocky", "sandy", "dusty",
    "grassy", "leafy", "shady", "starry", "massive"])


# Plurals that do not end in -s, and words ending in -s that are singular (or either) in use.
IRREGULAR_PLURALS = frozenset({"men", "women", "people", "feet", "teeth", "geese", "mice", "oxen", "lice"})
_SINGULAR_S = frozenset({"news", "series", "species", "means", "lens", "gallows", "crossroads", "barracks",
                         "headquarters", "innings", "physics", "mathematics", "kudos", "always", "perhaps"})


def singular_forms(word: str) -> list[str]:
    """The singulars an English plural in -s could come from ("waves" -> wave; "churches" -> church;
    "cherries" -> cherry; "wolves" -> wolf, wolfe)."""
    w = word.lower()
    out = [w[:-1]]
    if w.endswith("es"):
        out.append(w[:-2])
    if w.endswith("ies"):
        out.append(w[:-3] + "y")
    if w.endswith("ves"):
        out += [w[:-3] + "f", w[:-3] + "fe"]
    return out


def is_plural_noun(word: str, vocabulary: Collection[str]) -> bool:
    """Whether `word` is the plural of a noun in `vocabulary` ("waves": "wave" is a word); a word
    whose would-be singular nobody writes ("canvas" -> "canva", "bus" -> "bu") is not."""
    w = word.lower()
    if w in IRREGULAR_PLURALS:
        return True
    if len(w) < 3 or not w.endswith("s") or w.endswith(("ss", "us", "is", "'s")) or w in _SINGULAR_S:
        return False
    return any(s in vocabulary for s in singular_forms(w) if s and s != w)


def _adjective(word: str) -> bool:
    w = word.lower()
    return w in _COMMON_ADJECTIVES or (len(w) > 5 and w.endswith(_ADJECTIVE_ENDINGS))


def format_problems(text: str, vocabulary: Collection[str] = (), english: bool = True) -> list[str]:
    """Formatting and agreement problems of one prompt (empty list: clean). `vocabulary`: the words
    known as nouns' singulars, for "a high waves"; `english`: check English articles."""
    problems = []
    if "  " in text:
        problems.append("doubled space")
    if _BAD_START_END.search(text):
        problems.append("leading/trailing space or dangling punctuation")
    if re.search(r"\s[,.;:!?]", text) or re.search(r"[,;:]\s*[,;:.]", text):
        problems.append("space before punctuation or doubled punctuation")
    if match := _DOUBLED_WORD.search(text):
        problems.append(f"doubled word: {match.group(0)!r}")
    if any(ch in text for ch in "{}*[]|\x00"):
        problems.append("unfilled markup")
    if not english:
        return problems
    for match in _ARTICLE_RE.finditer(text):
        article, first, second = match.group(1).lower(), match.group(2), match.group(3)
        if article_for(first) != article:
            problems.append(f"wrong article: {match.group(1)} {first}")
        elif is_plural_noun(first, vocabulary):
            problems.append(f"article before a plural: '{match.group(0)}'")
        elif second and _adjective(first) and is_plural_noun(second, vocabulary):
            problems.append(f"article before a plural: '{match.group(0)} {second}'")
    return problems


def minor_words(text: str) -> list[str]:
    """Words of `text` that suggest minors (subclass names, labels and slugs read '_' as a space)."""
    text = text.replace("_", " ")
    return [m.group(0) for m in _MINOR_RE.finditer(text)] + [m.group(0) for m in _YOUNG_RE.finditer(text)]


def nsfw_words(text: str) -> list[str]:
    """Identifiable-group and self-harm-method words of `text` (never in an nsfw prompt)."""
    return [m.group(0) for m in _NSFW_RE.finditer(text)]


@dataclass(frozen=True)
class Gate:
    """What the gates of one concept need: its trigger finder, related and person words, whether it
    is nsfw, the noun vocabulary for agreement, and name forms a translation may keep."""

    find_trigger: Callable[[str], re.Match[str] | None]  # Concept.find_trigger
    related: re.Pattern[str]
    person: re.Pattern[str] | None
    nsfw: bool
    vocabulary: frozenset[str]
    keep_in_translation: re.Pattern[str]  # e.g. a painter's name: the same in every language


def prompt_problems(text: str, role: str, kind: str | None, gate: Gate) -> list[str]:
    """Every gate's complaint about one prompt of a role (and robustness kind); empty: it passes."""
    english = kind != "translation"
    problems = format_problems(text, gate.vocabulary, english)
    if found := minor_words(text):
        problems.append(f"minor-associated word {found[0]!r}")
    if gate.nsfw and (found := nsfw_words(text)):
        problems.append(f"forbidden word {found[0]!r}")
    checked = text if english else gate.keep_in_translation.sub(" ", text)
    trigger = gate.find_trigger(checked)
    if role == "forget" and trigger is None:
        problems.append("no trigger word in a forget prompt")
    if role != "forget" and trigger is not None:
        problems.append(f"trigger word {trigger.group(0)!r} in a {role} prompt")
    if (role == "retain" or kind == "implicit") and (m := gate.related.search(text)):
        problems.append(f"related word {m.group(0)!r} in a {kind or role} prompt")
    if role == "retain" and gate.person is not None and not gate.person.search(text):
        problems.append("the retain prompt lost its people (no person word)")
    return problems


def _workers(comparisons: int) -> int:
    """Threads for one cdist call: starting them costs more than a few thousand comparisons
    (most offers are one prompt against a few hundred), so small calls stay on this thread."""
    return -1 if comparisons >= 200_000 else 1


class NearDuplicateIndex:
    """Accepts prompts one batch at a time, rejecting those too similar to any accepted one.

    Decisions are greedy in arrival order, so they do not depend on how candidates are batched.
    """

    def __init__(self, threshold: float = NEAR_DUPLICATE_RATIO):
        self.threshold = threshold
        self.accepted: list[str] = []
        self._exact: set[str] = set()

    def offer(self, texts: list[str]) -> list[bool]:
        """Accept or reject each text in order (accepted ones join the index)."""
        keys = [normalise(t) for t in texts]
        against_old = np.zeros(len(keys), dtype=bool)
        if self.accepted and keys:
            scores = process.cdist(keys, self.accepted, scorer=fuzz.ratio, dtype=np.uint8,
                                   score_cutoff=self.threshold, workers=_workers(len(keys) * len(self.accepted)))
            against_old = (scores >= self.threshold).any(axis=1)
        if len(keys) == 1:  # the usual call: one candidate, nothing to compare it with inside the batch
            within = np.zeros((1, 1), dtype=bool)
        else:
            within = process.cdist(keys, keys, scorer=fuzz.ratio, dtype=np.uint8, score_cutoff=self.threshold,
                                   workers=_workers(len(keys) ** 2)) >= self.threshold
        verdicts: list[bool] = []
        for i, key in enumerate(keys):
            ok = not against_old[i] and key not in self._exact
            ok = ok and not any(verdicts[j] and within[i, j] for j in np.flatnonzero(within[i, :i]))
            verdicts.append(bool(ok))
            if ok:
                self._exact.add(key)
        self.accepted.extend(k for k, v in zip(keys, verdicts, strict=True) if v)
        return verdicts


def near_duplicate_pairs(texts: list[str], threshold: float = NEAR_DUPLICATE_RATIO) -> list[tuple[int, int]]:
    """All index pairs (i < j) whose normalised texts are near duplicates (for audits and tests)."""
    keys = [normalise(t) for t in texts]
    pairs: list[tuple[int, int]] = []
    for start in range(0, len(keys), 1024):
        block = process.cdist(keys[start:start + 1024], keys, scorer=fuzz.ratio, dtype=np.uint8,
                              score_cutoff=threshold, workers=-1)
        for i, j in zip(*np.nonzero(block >= threshold), strict=True):
            if start + i < j:
                pairs.append((int(start + i), int(j)))
    return pairs
