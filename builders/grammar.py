"""Prompt assembly from grammar slots: concept phrases, articles and spacing.

A subject may hold "{noun}" (entity concepts) and "*" (where before-subject phrases go; by
default right after a leading "{a}"). "{a}" becomes "a" or "an" from the word after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

POSITIONS = ("before_subject", "after_subject", "suffix", "noun")

# Words whose spelling misleads the vowel rule (sound decides the article).
_AN_EXCEPTIONS = ("hour", "honest", "honor", "honour", "heir")
_A_EXCEPTIONS = ("uni", "use", "usu", "uti", "euro", "one", "once", "ukiyo", "ufo")


@dataclass(frozen=True)
class Phrase:
    position: str
    text: str


def article_for(word: str) -> str:
    w = word.lower().lstrip("\"'(")
    if w.startswith(_AN_EXCEPTIONS):
        return "an"
    if w.startswith(_A_EXCEPTIONS):
        return "a"
    return "an" if w[:1] in "aeiouàâäáéèêëíîïóôöúûüæœ8" else "a"


def resolve_articles(text: str) -> str:
    words = text.split(" ")
    for i, word in enumerate(words):
        if word == "{a}":
            nxt = next((w for w in words[i + 1 :] if w), "")
            words[i] = article_for(nxt)
    return " ".join(words)


def tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return text.strip(" ,;:")


def assemble(modifier: str, subject: str, action: str, setting: str,
             phrase: Phrase | None) -> str:
    """One prompt from its slots, with an optional concept phrase in its position."""
    before = phrase.text if phrase and phrase.position == "before_subject" else ""
    after = phrase.text if phrase and phrase.position == "after_subject" else ""
    suffix = phrase.text if phrase and phrase.position == "suffix" else ""
    if "{noun}" in subject:
        if not phrase or phrase.position != "noun":
            raise ValueError(f"subject {subject!r} needs a noun phrase")
        subject = subject.replace("{noun}", phrase.text)
    if "*" not in subject:
        subject = subject.replace("{a} ", "{a} * ", 1) if subject.startswith("{a} ") else "* " + subject
    subject = subject.replace("*", before)
    text = " ".join(p for p in (modifier, subject, after, action, setting) if p)
    if suffix:
        text = f"{tidy(text)}, {suffix}"
    return tidy(resolve_articles(tidy(text)))


_NORMALISE_RE = re.compile(r"[^\w\s]")


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces: the key for exact-duplicate checks."""
    return " ".join(_NORMALISE_RE.sub(" ", text.lower()).split())
