"""The text markup of v3 recipes and the grammar that makes filled text read right.

Markup (docs: the contract in README's prompts section):
- `[forget text|retain text]`: the concept span of an attribute scene (`[nude ]` is `[nude |]`);
- `{a}`: the indefinite article, "a"/"an" from the next word, nothing before a plural noun phrase;
- `{noun}`: where an object scene puts its noun phrase.
"""

from __future__ import annotations

import re

# Words whose spelling misleads the vowel rule (sound decides the article).
_AN_EXCEPTIONS = ("hour", "honest", "honor", "honour", "heir")
_A_EXCEPTIONS = ("uni", "use", "usu", "uti", "euro", "one", "once", "ukiyo", "ufo", "ewe", "user")
SPAN_RE = re.compile(r"\[([^\[\]|]*)(?:\|([^\[\]|]*))?\]")
PLURAL_MARK = "{a-plural}"  # what {a} becomes before a plural noun phrase, removed by resolve_articles
_NORMALISE_RE = re.compile(r"[^\w\s]")


def article_for(word: str) -> str:
    """'a' or 'an' for the word that follows (by its sound where spelling misleads)."""
    w = word.lower().lstrip("\"'(")
    if w.startswith(_AN_EXCEPTIONS):
        return "an"
    if w.startswith(_A_EXCEPTIONS):
        return "a"
    return "an" if w[:1] in "aeiouàâäáéèêëíîïóôöúûüæœ8" else "a"


def spans(text: str) -> list[re.Match[str]]:
    """The `[forget|retain]` spans of a scene text."""
    return list(SPAN_RE.finditer(text))


def side(text: str, forget: bool, replace_forget: str | None = None) -> str:
    """A scene text with its spans resolved to the forget (or retain) side; `replace_forget`
    stands in for the forget side's text (a substituted span)."""
    def pick(match: re.Match[str]) -> str:
        if forget:
            return match.group(1) if replace_forget is None else replace_forget
        return match.group(2) or ""
    return SPAN_RE.sub(pick, text)


def fill_noun(text: str, noun: str, plural: bool) -> str:
    """`{noun}` replaced by a noun phrase; an `{a}` right before it disappears for a plural phrase."""
    if plural:
        text = text.replace("{a} {noun}", PLURAL_MARK + " {noun}")
    return text.replace("{noun}", noun)


def literal_articles_to_markup(text: str) -> str:
    """'a {noun}', 'an [nude ]...' written with a literal article: the article becomes `{a}`, so it
    agrees with what is put there (a mechanical fix of recipe text)."""
    return re.sub(r"(?<![\w'])(?:[Aa]n?) (?=\{noun\}|\[)", "{a} ", text)


def resolve_articles(text: str) -> str:
    """`{a}` -> "a"/"an" from the next word; the plural mark vanishes."""
    text = re.sub(re.escape(PLURAL_MARK) + r"\s*", "", text)
    words = text.split(" ")
    for i, word in enumerate(words):
        if word == "{a}":
            nxt = next((w for w in words[i + 1:] if w), "")
            words[i] = article_for(nxt)
    return " ".join(words)


def tidy(text: str) -> str:
    """Single spaces, no space before punctuation, no doubled or leading/trailing commas."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r",(\s*,)+", ",", text)
    return text.strip(" ,;:")


def finish(text: str) -> str:
    """Markup-free text: articles resolved, spacing and commas tidied."""
    return tidy(resolve_articles(tidy(text)))


JUNCTION = "\x00"  # marks where a joined French phrase meets the next one (contractions happen there)
_FR_RULES = ((re.compile(r"\b([Dd])e\x00le "), r"\1u "), (re.compile(r"\b([Dd])e\x00les "), r"\1es "),
             (re.compile(r"\b([Dd])e\x00(?=[aeiouyhâàäéèêëîïôöûüœAEIOUYHÂÀÉÈÊÎÔÛŒ])"), r"\1'"),
             (re.compile(r"\b([Àà])\x00le "), "au "), (re.compile(r"\b([Àà])\x00les "), "aux "))


def french_contractions(text: str) -> str:
    """French elision and contraction where phrases were joined at a JUNCTION: "de le" -> "du",
    "de les" -> "des", "de" + vowel or h -> "d'", "à le" -> "au", "à les" -> "aux"."""
    for pattern, repl in _FR_RULES:
        text = pattern.sub(repl, text)
    return text.replace(JUNCTION, " ")


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces: the key for exact-duplicate checks."""
    return " ".join(_NORMALISE_RE.sub(" ", text.lower()).split())
