"""Diversity measures of a concept's prompt sets (`dataigm prompts stats`, the dataset card).

Per role: the count; the distinct word-trigram ratio at a fixed sample size (the first N prompts
of the role in generation order; trigrams inside each prompt, distinct / total over the sample);
the vocabulary; the largest share of prompts holding one 4-word sequence once the concept's own
phrases are removed; and the largest share of prompts identical to another concept's prompts of
the same role. Tokens: `re.findall(r"[\\w'-]+", text.lower())`.

Targets (issue 21): forget ratio >= max(0.5, IGMU's on its published set), retain and unrelated
ratio >= 0.6, no 4-word sequence in more than 10 % of a role's prompts, and painters of different
primary genres share at most 5 % of their retain prompts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

ROLES = ("forget", "retain", "unrelated", "robustness")
# The same measure on IGMU's published forgot.json, at the same sample size (issue 21).
IGMU_FORGET_RATIO = {"nudity": 0.4587, "van_gogh": 0.6395, "church": 0.9043}
MIN_FORGET_RATIO = 0.5
MIN_OTHER_RATIO = 0.6
MAX_NGRAM_SHARE = 0.10
MAX_GROUP_OVERLAP = 0.05
_TOKEN_RE = re.compile(r"[\w'-]+")


def tokens(text: str) -> list[str]:
    """The word tokens of a prompt, lower-cased."""
    return _TOKEN_RE.findall(text.lower())


def sample_size(role: str, shape: str) -> int | None:
    """The fixed sample of a role (None: every prompt): 250 forget/retain prompts of an attribute
    concept, 50 forget and 300 unrelated prompts of an entity concept."""
    if role == "robustness":
        return None
    if shape == "entity":
        return {"forget": 50, "unrelated": 300}.get(role)
    return 250


def trigram_ratio(prompts: Sequence[str]) -> float:
    """Distinct word trigrams / all word trigrams, trigrams taken inside each prompt."""
    grams = [tuple(t[i:i + 3]) for p in prompts for t in (tokens(p),) for i in range(len(t) - 2)]
    return len(set(grams)) / len(grams) if grams else 0.0


def phrase_index(phrases: Iterable[str]) -> dict[str, list[tuple[str, ...]]]:
    """The phrases as token sequences, by first token, longest first (for split_at_phrases)."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for phrase in {tuple(tokens(p)) for p in phrases} - {()}:
        index.setdefault(phrase[0], []).append(phrase)
    for candidates in index.values():
        candidates.sort(key=len, reverse=True)
    return index


def split_at_phrases(text: str, index: Mapping[str, list[tuple[str, ...]]]) -> list[list[str]]:
    """The prompt's tokens in the parts left once the concept's own phrases are cut out (where two
    overlap, the one that starts first, the longest of those): no n-gram spans a cut."""
    words, parts, i = tokens(text), [[]], 0
    while i < len(words):
        match = next((p for p in index.get(words[i], ()) if tuple(words[i:i + len(p)]) == p), None)
        if match:
            parts.append([])
            i += len(match)
        else:
            parts[-1].append(words[i])
            i += 1
    return parts


def top_ngram(prompts: Sequence[str], phrases: Iterable[str] = (), n: int = 4) -> tuple[str, float]:
    """The n-word sequence held by the most prompts once the concept phrases are removed, and the
    share of prompts holding it."""
    index = phrase_index(phrases)
    held: Counter = Counter()
    for prompt in prompts:
        grams = set()
        for t in split_at_phrases(prompt, index):
            grams.update(" ".join(t[i:i + n]) for i in range(len(t) - n + 1))
        held.update(grams)
    if not held or not prompts:
        return "", 0.0
    gram, count = max(held.items(), key=lambda kv: (kv[1], kv[0]))
    return gram, count / len(prompts)


def _key(text: str) -> str:
    return " ".join(tokens(text))


@dataclass
class RoleStats:
    """The measures of one role of one concept."""

    count: int
    sample: int
    trigram_ratio: float
    vocabulary: int
    top_4gram: str
    top_4gram_share: float
    overlap_share: float = 0.0
    overlap_with: str = ""

    def as_json(self) -> dict[str, Any]:
        """The measures as a JSON object (rounded)."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass
class ConceptStats:
    """Every role's measures of one concept, with what --check needs to know about it."""

    concept: str
    shape: str
    roles: dict[str, RoleStats]
    group: str | None = None  # concepts of different groups must not share retains (painters: genre)
    # another group's concept -> (share of this concept's retain prompts it also has, its group)
    group_overlap: dict[str, tuple[float, str]] = field(default_factory=dict)


def role_stats(prompts: Sequence[str], role: str, shape: str, phrases: Iterable[str] = ()) -> RoleStats:
    """The measures of one role's prompts, in generation order."""
    n = sample_size(role, shape)
    sample = list(prompts[:n] if n else prompts)
    gram, share = top_ngram(prompts, phrases)
    return RoleStats(len(prompts), len(sample), trigram_ratio(sample), len({t for p in prompts for t in tokens(p)}),
                     gram, share)


def concept_stats(rows: Sequence[Mapping[str, Any]], concept: str, shape: str, phrases: Iterable[str] = (),
                  group: str | None = None) -> ConceptStats:
    """The measures of every role present in a concept's rows."""
    phrases = list(phrases)
    by_role: dict[str, list[str]] = {}
    for row in rows:
        by_role.setdefault(row["role"], []).append(row["prompt"])
    return ConceptStats(concept, shape, {r: role_stats(by_role[r], r, shape, phrases) for r in ROLES if r in by_role},
                        group)


def add_overlaps(stats: Mapping[str, ConceptStats], rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Fill each role's largest overlap with another concept's same role (share of its prompts
    that are identical, and which concept), and the retain overlap with every concept of another
    group."""
    sets = {name: {} for name in rows}
    for name, concept_rows in rows.items():
        for row in concept_rows:
            sets[name].setdefault(row["role"], set()).add(_key(row["prompt"]))
    for name, cs in stats.items():
        for role, rs in cs.roles.items():
            mine = sets[name].get(role, set())
            best, share = "", 0.0
            for other, their in sets.items():
                if other == name or not mine or role not in their:
                    continue
                common = len(mine & their[role]) / len(mine)
                if common > share:
                    best, share = other, common
                if role == "retain" and cs.group and stats.get(other) and stats[other].group \
                        and stats[other].group != cs.group and common:
                    cs.group_overlap[other] = (common, stats[other].group or "")
            rs.overlap_share, rs.overlap_with = share, best


def failures(stats: Mapping[str, ConceptStats]) -> list[str]:
    """Every target a concept misses, one line each (empty: all targets hold)."""
    out = []
    for name, cs in stats.items():
        for role, rs in cs.roles.items():
            if role == "forget":
                target = max(MIN_FORGET_RATIO, IGMU_FORGET_RATIO.get(name, 0.0))
            elif role in ("retain", "unrelated"):
                target = MIN_OTHER_RATIO
            else:
                target = 0.0
            if rs.trigram_ratio < target:
                out.append(f"{name}: {role} distinct-trigram ratio {rs.trigram_ratio:.3f} < {target:g} "
                           f"(first {rs.sample})")
            if rs.top_4gram_share > MAX_NGRAM_SHARE:
                out.append(f"{name}: {role}: {rs.top_4gram_share:.0%} of prompts hold {rs.top_4gram!r} "
                           f"(at most {MAX_NGRAM_SHARE:.0%})")
        for other, (share, group) in sorted(cs.group_overlap.items()):
            if share > MAX_GROUP_OVERLAP:
                out.append(f"{name}: shares {share:.0%} of its retain prompts with {other} ({cs.group} vs "
                           f"{group}; at most {MAX_GROUP_OVERLAP:.0%})")
    return out


def table(stats: Mapping[str, ConceptStats]) -> str:
    """A plain-text table: one line per concept and role."""
    head = ("concept", "role", "count", "sample", "trigram", "vocab", "top 4-gram share", "overlap")
    lines = [head]
    for name, cs in stats.items():
        for role, rs in cs.roles.items():
            overlap = f"{rs.overlap_share:.1%} {rs.overlap_with}".strip() if rs.overlap_with else "0"
            lines.append((name, role, str(rs.count), str(rs.sample), f"{rs.trigram_ratio:.3f}", str(rs.vocabulary),
                          f"{rs.top_4gram_share:.1%} ({rs.top_4gram})" if rs.top_4gram else "-", overlap))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def as_json(stats: Mapping[str, ConceptStats]) -> dict[str, Any]:
    """Every concept's measures as JSON."""
    return {name: {"shape": cs.shape, "group": cs.group,
                   "roles": {r: s.as_json() for r, s in cs.roles.items()},
                   **({"group_overlap": {k: round(v, 4) for k, (v, _) in cs.group_overlap.items()}}
                      if cs.group_overlap else {})}
            for name, cs in stats.items()}
