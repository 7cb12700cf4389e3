"""Paired, deduplicated prompt rows for one concept, generated from its recipe.

Deterministic for a given recipe version, base seed and sizes: the same call gives the same rows,
and a larger count keeps the earlier rows (sampling and de-duplication are sequential).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from builders.grammar import Phrase, assemble
from builders.quality import NearDuplicateIndex, format_problems, has_word
from builders.recipe import ConceptRecipe, Grammar, Sizes
from dataigm.core.errors import DataIGMError
from dataigm.core.ids import image_seed, split_of
from dataigm.core.taxonomy import Concept

LABEL_OF_ROLE = {"forget": 1, "robustness": 1, "retain": 0, "unrelated": 0}
_LEET = {"a": "@", "e": "3", "i": "1", "o": "0", "s": "$", "l": "1", "g": "9"}


@dataclass(frozen=True)
class Scene:
    subclass: str
    index: int
    slots: tuple[str, str, str, str]


def _spread(total: int, parts: int) -> list[int]:
    return [total // parts + (i < total % parts) for i in range(parts)]


def _scene_stream(grammar: Grammar, rng: random.Random) -> Iterator[int]:
    """Distinct scene indices in a seeded random order, without materialising the space."""
    seen: set[int] = set()
    cap = grammar.capacity
    while len(seen) < cap:
        if len(seen) > cap // 2:  # dense: finish with a shuffled remainder
            rest = [i for i in range(cap) if i not in seen]
            rng.shuffle(rest)
            yield from rest
            return
        i = rng.randrange(cap)
        if i not in seen:
            seen.add(i)
            yield i


def misspell(text: str, concept: Concept, rng: random.Random) -> str:
    """A character-level perturbation of the trigger words in `text` that no longer matches them."""
    for _ in range(50):
        out = text
        while (match := concept.find_trigger(out)) is not None:
            words = match.group(0).split(" ")
            w = rng.randrange(len(words))
            word = words[w]
            op = rng.choice(("swap", "drop", "double", "leet"))
            i = rng.randrange(1, max(2, len(word) - 1))
            if op == "swap" and len(word) > 3:
                word = word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
            elif op == "drop" and len(word) > 3:
                word = word[:i] + word[i + 1 :]
            elif op == "leet" and word[i].lower() in _LEET:
                word = word[:i] + _LEET[word[i].lower()] + word[i + 1 :]
            else:
                word = word[:i] + word[i] + word[i:]
            words[w] = word
            out = out[: match.start()] + " ".join(words) + out[match.end() :]
        if out != text and not format_problems(out.replace("@", "a").replace("$", "s")):
            return out
    raise DataIGMError(f"could not misspell {text!r} for {concept.name}")


class PromptBuilder:
    """Builds the prompt rows of one concept from its recipe."""

    def __init__(self, concept: Concept, recipe: ConceptRecipe, base_seed: int = 0,
                 sizes: Sizes | None = None, images_per_prompt: int | None = None):
        self.concept, self.recipe, self.base_seed = concept, recipe, base_seed
        self.sizes = sizes or recipe.sizes
        self.images_per_prompt = images_per_prompt or concept.images_per_prompt
        if self.sizes.forget > recipe.capacity:
            raise DataIGMError(
                f"{concept.name}: {self.sizes.forget} forget prompts asked, but its recipe yields "
                f"at most {recipe.capacity} distinct scenes")

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

    def _clean(self, text: str, want_trigger: bool) -> bool:
        if format_problems(text) or has_word(text, self.recipe.forbidden_words):
            return False
        lowered = text.lower()
        if any(a.lower() in lowered and b.lower() in lowered for a, b in self.recipe.never_together):
            return False
        return self.concept.has_trigger(text) == want_trigger

    def _sample(self, key: str, grammar: Grammar, subclass: str, count: int, render, index: NearDuplicateIndex,
                twins: NearDuplicateIndex | None = None) -> list[tuple[Scene, list[str]]]:
        """`count` scenes whose rendered prompts pass every gate: the first text (and, with `twins`,
        the second: the retain twin) is no near duplicate of one already chosen."""
        stream = _scene_stream(grammar, self._rng(key))
        chosen: list[tuple[Scene, list[str]]] = []
        while len(chosen) < count:
            batch = []
            for i in stream:
                scene = Scene(subclass, i, grammar.scene(i))
                texts = render(scene, len(chosen) + len(batch))
                if texts is not None:
                    batch.append((scene, texts))
                if len(batch) >= 2 * (count - len(chosen)) + 8:
                    break
            if not batch:
                raise DataIGMError(
                    f"{self.concept.name}/{key}: the recipe ran out of distinct prompts after "
                    f"{len(chosen)} of {count}")
            verdicts = index.offer([texts[0] for _, texts in batch])
            for candidate, ok in zip(batch, verdicts, strict=True):
                if ok and (twins is None or twins.offer([candidate[1][1]])[0]):
                    chosen.append(candidate)
        return chosen[:count]

    def forget_rows(self) -> list[dict[str, Any]]:
        """Forget rows, with their retain twins for attribute concepts (twin right after)."""
        attribute = self.concept.shape == "attribute"
        phrases = self.recipe.forget
        index = NearDuplicateIndex()
        twins = NearDuplicateIndex() if attribute else None
        rows: list[dict[str, Any]] = []
        subs = list(self.recipe.subclasses.items())
        for (sub, grammar), n in zip(subs, _spread(self.sizes.forget, len(subs)), strict=True):
            def render(scene: Scene, k: int) -> list[str] | None:
                forget = assemble(*scene.slots, phrases[k % len(phrases)])
                if not self._clean(forget, True):
                    return None
                if not attribute:
                    return [forget]
                retain = assemble(*scene.slots, None)
                return [forget, retain] if self._clean(retain, False) else None

            for k, (scene, texts) in enumerate(self._sample(sub, grammar, sub, n, render, index, twins)):
                pair_id = f"{self.concept.name}-{sub}-{k:05d}"
                source_id = f"{sub}:{scene.index}"
                rows.append(self._row(pair_id, "forget", sub, texts[0], source_id))
                if attribute:
                    rows.append(self._row(pair_id, "retain", sub, texts[1], source_id))
        return rows

    def unrelated_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        subs = list(self.recipe.subclasses.items())
        for entity in self.concept.unrelated:
            slug = entity.replace(" ", "_")
            index = NearDuplicateIndex()
            chosen: list[tuple[Scene, list[str]]] = []
            for (sub, grammar), n in zip(subs, _spread(self.sizes.unrelated, len(subs)), strict=True):
                def render(scene: Scene, k: int, entity: str = entity) -> list[str] | None:
                    text = assemble(*scene.slots, Phrase("noun", entity))
                    return [text] if self._clean(text, False) else None

                chosen += self._sample(f"unrelated:{slug}:{sub}", grammar, sub, n, render, index)
            for k, (scene, texts) in enumerate(chosen):
                pair_id = f"{self.concept.name}-{slug}-{k:05d}"
                rows.append(self._row(pair_id, "unrelated", slug, texts[0],
                                      f"{scene.subclass}:{scene.index}"))
        return rows

    def robustness_rows(self, forget_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Prompts that evoke the concept without its trigger words, on forget pairs' scenes."""
        bases = _interleave([r for r in forget_rows if r["role"] == "forget"])
        phrase_of = {p.text: p for p in self.recipe.forget}
        rows: list[dict[str, Any]] = []
        for kind, phrases in self.recipe.robustness.items():
            rng = self._rng("robustness", kind)
            index = NearDuplicateIndex()
            for j, base in enumerate(bases[: self.sizes.robustness]):
                sub, scene_index = base["source_id"].split(":")
                slots = self.recipe.subclasses[sub].scene(int(scene_index))
                for attempt in range(20):
                    if phrases is None:
                        used = next(p for t, p in phrase_of.items() if _contains(base["prompt"], t))
                        phrase = replace(used, text=misspell(used.text, self.concept, rng))
                    else:
                        phrase = phrases[(j + attempt) % len(phrases)]
                    text = assemble(*slots, phrase)
                    if self._clean(text, False) and index.offer([text])[0]:
                        break
                else:
                    continue
                rows.append(self._row(base["pair_id"], "robustness", sub, text,
                                      base["source_id"], kind=kind))
        return rows

    def rows(self) -> list[dict[str, Any]]:
        forget = self.forget_rows()
        unrelated = self.unrelated_rows() if self.concept.shape == "entity" else []
        return forget + unrelated + self.robustness_rows(forget)


def _contains(prompt: str, phrase: str) -> bool:
    return phrase.lower() in prompt.lower()


def _interleave(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Round-robin over subclasses, so a small robustness set covers every subclass."""
    by_sub: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_sub.setdefault(row["subclass"], []).append(row)
    out, queues = [], list(by_sub.values())
    for i in range(max((len(q) for q in queues), default=0)):
        out.extend(q[i] for q in queues if i < len(q))
    return out
