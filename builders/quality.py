"""Quality gates every generated prompt passes, and the near-duplicate index.

Near duplicates: two prompts of the same concept, role and kind whose normalised texts have a
normalised InDel similarity (rapidfuzz `fuzz.ratio`, 0-100) of at least NEAR_DUPLICATE_RATIO.
Character-level similarity catches what a word-level measure misses and what CLIP's text
encoder maps to nearly the same embedding: plurals, one-letter edits, punctuation and article
variants; prompts that differ by a whole content word or phrase stay below 95.
"""

from __future__ import annotations

import re

import numpy as np
from rapidfuzz import fuzz, process

from builders.grammar import article_for, normalise

NEAR_DUPLICATE_RATIO = 95.0
_ARTICLE_RE = re.compile(r"\b(a|an) ([A-Za-z][\w'-]*)", re.IGNORECASE)
_BAD_START_END = re.compile(r"^[\s,.;:!?-]|[\s,;:-]$")
_DOUBLED_WORD = re.compile(r"\b(\w+) \1\b", re.IGNORECASE)


def format_problems(text: str) -> list[str]:
    """Formatting problems of one prompt (empty list: clean)."""
    problems = []
    if "  " in text:
        problems.append("doubled space")
    if _BAD_START_END.search(text):
        problems.append("leading/trailing space or dangling punctuation")
    if re.search(r"\s[,.;:!?]", text) or ",," in text:
        problems.append("space before punctuation or doubled punctuation")
    if match := _DOUBLED_WORD.search(text):
        problems.append(f"doubled word: {match.group(0)!r}")
    if any(ch in text for ch in "{}*"):
        problems.append("unfilled template slot")
    for match in _ARTICLE_RE.finditer(text):
        article, word = match.group(1).lower(), match.group(2)
        if article_for(word) != article:
            problems.append(f"wrong article: {match.group(0)!r}")
    return problems


def has_word(text: str, words: tuple[str, ...]) -> bool:
    if not words:
        return False
    return re.search(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", text, re.I) is not None


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
        keys = [normalise(t) for t in texts]
        against_old = np.zeros(len(keys), dtype=bool)
        if self.accepted and keys:
            scores = process.cdist(keys, self.accepted, scorer=fuzz.ratio, dtype=np.uint8,
                                   score_cutoff=self.threshold, workers=_workers(len(keys) * len(self.accepted)))
            against_old = (scores >= self.threshold).any(axis=1)
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
