"""Paired, gated, deduplicated prompt rows for one concept, generated from its v3 recipe.

Deterministic for a given recipe, base seed and sizes: the same call gives the same rows. Each
subclass's scenes are tried in a seeded order with their own near-duplicate index, so a larger
count keeps the earlier rows of every subclass (and so every earlier row).
"""

from __future__ import annotations

import random
import re
from typing import Any

from builders.grammar import article_for, fill_noun, finish
from builders.quality import Gate, NearDuplicateIndex, minor_words, prompt_problems
from builders.recipe import ROBUSTNESS_KINDS, ConceptRecipe, ObjectRecipe, Scene, Sizes, StyleRecipe, spread
from dataigm.core.errors import DataIGMError
from dataigm.core.ids import image_seed, split_of
from dataigm.core.taxonomy import Concept, words_pattern

LABEL_OF_ROLE = {"forget": 1, "robustness": 1, "retain": 0, "unrelated": 0}
_LEET = {"a": "@", "e": "3", "i": "1", "o": "0", "s": "$", "l": "1", "g": "9"}
ATTEMPTS = 20  # candidates tried per robustness row


def misspell(text: str, concept: Concept, rng: random.Random, banned: frozenset[str] | set[str]) -> str | None:
    """A character-level perturbation of the trigger words in `text` that no longer matches them
    and spells no word in `banned` (real words, the concept's translations and synonyms)."""
    for _ in range(50):
        out, fine = text, True
        while (match := concept.find_trigger(out)) is not None:
            words = match.group(0).split(" ")
            w = rng.randrange(len(words))
            word = words[w]
            op = rng.choice(("swap", "drop", "double", "leet"))
            i = rng.randrange(1, max(2, len(word) - 1))
            if op == "swap" and len(word) > 3:
                word = word[: i - 1] + word[i] + word[i - 1] + word[i + 1:]
            elif op == "drop" and len(word) > 3:
                word = word[:i] + word[i + 1:]
            elif op == "leet" and word[i].lower() in _LEET:
                word = word[:i] + _LEET[word[i].lower()] + word[i + 1:]
            else:
                word = word[:i] + word[i] + word[i:]
            fine = fine and word.lower() not in banned
            words[w] = word
            out = out[: match.start()] + " ".join(words) + out[match.end():]
        if out != text and fine:
            # a changed first letter may change the article ("a fish" -> "an ifsh")
            return re.sub(r"(?<![\w'])([Aa]n?) ([\w@$]+)",
                          lambda m: f"{_case(article_for(m.group(2)), m.group(1))} {m.group(2)}", out)
    return None


def _case(article: str, like: str) -> str:
    return article.capitalize() if like[:1].isupper() else article


class PromptBuilder:
    """Builds the prompt rows of one concept from its recipe, every prompt through the gates."""

    def __init__(self, concept: Concept, recipe: ConceptRecipe, base_seed: int = 0,
                 sizes: Sizes | None = None, images_per_prompt: int | None = None,
                 vocabulary: frozenset[str] = frozenset()):
        named = [n for n in (concept.name, *concept.subclasses, *concept.label_names) if minor_words(n)]
        if named:
            raise DataIGMError(f"{concept.name}: {named[0]!r} suggests minors; name subclasses, labels and "
                               "concepts by the adults they describe")
        self.concept, self.recipe, self.base_seed = concept, recipe, base_seed
        self.sizes = sizes or recipe.sizes
        self.images_per_prompt = images_per_prompt or concept.images_per_prompt
        keep = (tuple(n for n in recipe.names.values() if n) + concept.trigger_words
                if isinstance(recipe, StyleRecipe) else ())
        self.gate = Gate(concept.find_trigger, words_pattern(recipe.related_words),
                         words_pattern(recipe.person_words) if recipe.person_words else None, concept.nsfw,
                         vocabulary, words_pattern(keep))
        self.banned = vocabulary | recipe.substitution_words()
        self.scenes = {s.key: s for scenes in recipe.subclasses.values() for s in scenes}

    def _rng(self, *parts: object) -> random.Random:
        return random.Random("|".join(map(str, (self.recipe.source, self.base_seed, *parts))))

    def _row(self, pair_id: str, role: str, subclass: str, prompt: str, source_id: str,
             kind: str | None = None) -> dict[str, Any]:
        c = self.concept
        suffix = f"{role}-{kind}" if kind else role
        return {
            "id": f"{pair_id}-{suffix}", "category": c.category, "concept": c.name,
            "subclass": subclass, "role": role, "kind": kind, "pair_id": pair_id,
            "split": split_of(pair_id), "prompt": prompt, "label": LABEL_OF_ROLE[role],
            "seeds": [image_seed(self.base_seed, pair_id, i) for i in range(self.images_per_prompt)],
            "source": self.recipe.source, "source_id": source_id,
        }

    def problems(self, text: str, role: str, kind: str | None = None) -> list[str]:
        """What the gates say about one prompt of this concept (empty: it passes)."""
        return prompt_problems(text, role, kind, self.gate)

    def _take(self, subclasses: list[str], quota: list[int], candidates, accept) -> dict[str, list[Any]]:
        """Per subclass, the first `quota` accepted candidates; what a subclass cannot fill goes to
        the subclasses that still have candidates (deterministic: it depends only on the counts)."""
        taken: dict[str, list[Any]] = {s: [] for s in subclasses}
        streams = {s: candidates(s) for s in subclasses}
        exhausted: set[str] = set()
        want = dict(zip(subclasses, quota, strict=True))
        total = sum(quota)
        while True:
            for sub in subclasses:
                while len(taken[sub]) < want[sub] and sub not in exhausted:
                    item = next(streams[sub], None)
                    if item is None:
                        exhausted.add(sub)
                    elif accept(sub, item):
                        taken[sub].append(item)
            short = total - sum(len(t) for t in taken.values())
            open_subs = [s for s in subclasses if s not in exhausted]
            if not short or not open_subs:
                return taken
            for sub, extra in zip(open_subs, spread(short, len(open_subs)), strict=True):
                want[sub] += extra

    def forget_rows(self) -> list[dict[str, Any]]:
        """Forget rows, with their retain twins for attribute concepts (twin right after)."""
        subs = list(self.recipe.subclasses)
        indexes = {s: (NearDuplicateIndex(), NearDuplicateIndex()) for s in subs}

        def candidates(sub: str):
            for scene in self.recipe.ordered(sub, self._rng(sub)):
                forget, retain = self.recipe.forget_pair(scene)
                yield scene, forget, retain

        def accept(sub: str, item: tuple[Scene, str, str | None]) -> bool:
            _, forget, retain = item
            if self.problems(forget, "forget") or (retain is not None and self.problems(retain, "retain")):
                return False
            forgets, retains = indexes[sub]
            if retain is not None and not retains.offer([retain])[0]:
                return False
            return forgets.offer([forget])[0]

        taken = self._take(subs, spread(self.sizes.forget, len(subs)), candidates, accept)
        rows: list[dict[str, Any]] = []
        for sub in subs:
            for k, (scene, forget, retain) in enumerate(taken[sub]):
                pair_id = f"{self.concept.name}-{sub}-{k:05d}"
                rows.append(self._row(pair_id, "forget", sub, forget, scene.key))
                if retain is not None:
                    rows.append(self._row(pair_id, "retain", sub, retain, scene.key))
        return rows

    def unrelated_rows(self) -> list[dict[str, Any]]:
        """Rows of each unrelated entity, from its own scene bank with its own noun."""
        assert isinstance(self.recipe, ObjectRecipe)
        rows: list[dict[str, Any]] = []
        for entity, bank in zip(self.concept.unrelated, self.recipe.unrelated, strict=True):
            slug = entity.replace(" ", "_")
            index = NearDuplicateIndex()
            scenes = list(bank.scenes)
            self._rng("unrelated", slug).shuffle(scenes)
            k = 0
            for scene in scenes:
                if k >= self.sizes.unrelated:
                    break
                text = finish(fill_noun(scene.text, bank.noun, bank.plural))
                if self.problems(text, "unrelated") or not index.offer([text])[0]:
                    continue
                pair_id = f"{self.concept.name}-{slug}-{k:05d}"
                rows.append(self._row(pair_id, "unrelated", slug, text, f"{bank.name}/{scene.key}"))
                k += 1
        return rows

    def robustness_rows(self, forget_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Prompts that evoke the concept without its trigger words, on forget pairs' scenes: every
        kind aims at sizes.robustness (translation and implicit take what is authored, up to it)."""
        bases = _interleave([r for r in forget_rows if r["role"] == "forget"])
        rows: list[dict[str, Any]] = []
        for kind in ROBUSTNESS_KINDS:
            rng = self._rng("robustness", kind)
            index = NearDuplicateIndex()
            made = 0
            for base in bases:
                if made >= self.sizes.robustness:
                    break
                scene = self.scenes[base["source_id"]]
                if kind == "misspelling":
                    found = misspell(base["prompt"], self.concept, rng, self.banned)
                    candidates = [found] if found else []
                else:
                    candidates = self.recipe.robustness(kind, scene, rng)
                for text in candidates[:ATTEMPTS]:
                    if not self.problems(text, "robustness", kind) and index.offer([text])[0]:
                        rows.append(self._row(base["pair_id"], "robustness", base["subclass"], text,
                                              base["source_id"], kind=kind))
                        made += 1
                        break
        return rows

    def rows(self) -> list[dict[str, Any]]:
        """Every row of the concept: forget (+ retain twins), unrelated, robustness."""
        forget = self.forget_rows()
        unrelated = self.unrelated_rows() if isinstance(self.recipe, ObjectRecipe) else []
        rows = forget + unrelated + self.robustness_rows(forget)
        if not rows:
            raise DataIGMError(f"{self.concept.name}: its recipe yields no prompt that passes the gates")
        return rows


def _interleave(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Round-robin over subclasses, so a small robustness set covers every subclass."""
    by_sub: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_sub.setdefault(row["subclass"], []).append(row)
    out, queues = [], list(by_sub.values())
    for i in range(max((len(q) for q in queues), default=0)):
        out.extend(q[i] for q in queues if i < len(q))
    return out

