"""What every category builder declares: its recipe file, the concept shape and prompt roles it
makes, and its curation policy (which detectors answer which question, and what each role needs).

A builder module registers its class with `@BUILDERS.register("<category>")`; the stages find it
through the registry by the category's `builder` name in the taxonomy.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

from builders.prompts import PromptBuilder
from builders.recipe import RECIPES, ConceptRecipe, Sizes, load_attribute_dir, load_object_dir, vocabulary
from dataigm.core.curation import ANY_ROLE, PRESENCE, Check, CurationOptions, CurationPolicy
from dataigm.core.defaults import default_model
from dataigm.core.errors import RecipeError
from dataigm.core.registry import ARTIFACT_DETECTOR
from dataigm.core.taxonomy import Concept, Shape, load_taxonomy

BLANK = Check("blank", "blank", {}, {ANY_ROLE: False}, "a blank image")
# Verdicts the generation stage itself records when the pipeline's safety checker is on.
SAFETY = Check("safety_checker", "safety_checker", {}, {ANY_ROLE: False}, "content the safety checker blacks out")


class CategoryBuilder:
    """What a category builder declares: its category, concept shape, row roles, recipe directory
    and curation checks. Subclass it and register it with `@BUILDERS.register(name)`."""

    category: ClassVar[str]
    shape: ClassVar[Shape]
    roles: ClassVar[tuple[str, ...]]
    # One v3 file per concept (attribute: [forget|retain] scenes; entity: {noun} scenes + entities.yaml).
    recipe_dir: ClassVar[Path | None] = None

    # -- prompts ------------------------------------------------------------------------------

    def concepts(self) -> tuple[Concept, ...]:
        """The taxonomy's concepts this builder makes (each must have the builder's shape)."""
        taxonomy = load_taxonomy()
        found = tuple(c for cat in taxonomy.categories.values() if cat.builder == self.category
                      for c in cat.concepts.values())
        for c in found:
            if c.shape != self.shape:
                raise RecipeError(f"taxonomy: {c.category}/{c.name} is {c.shape}, but the {self.category} "
                                  f"builder makes {self.shape} concepts")
        return found

    def recipes(self) -> dict[str, ConceptRecipe]:
        """Every recipe of the builder's directory, checked against its concepts."""
        if self.recipe_dir is None:
            raise RecipeError(f"the {self.category} builder has no prompt recipes")
        loader = load_object_dir if self.shape == "entity" else load_attribute_dir
        return loader(Path(self.recipe_dir), self.concepts())

    def recipe(self, concept: Concept) -> ConceptRecipe:
        """A concept's prompt recipe."""
        recipes = self.recipes()
        if concept.name not in recipes:
            raise RecipeError(f"no prompt recipe for concept {concept.name!r} in {self.recipe_dir}")
        return recipes[concept.name]

    def digest(self) -> str:
        """Content hash of the recipe files (enters the build fingerprint)."""
        if self.recipe_dir is None:
            return ""
        h = hashlib.sha256()
        for path in sorted(Path(self.recipe_dir).rglob("*.yaml")):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
        return h.hexdigest()[:16]

    def prompt_builder(self, concept: Concept, base_seed: int = 0, prompt_count: int | None = None,
                       images_per_prompt: int | None = None) -> PromptBuilder:
        """The prompt builder of a concept (sizes from its recipe, or `prompt_count` forget prompts)."""
        recipe = self.recipe(concept)
        sizes = recipe.sizes
        if prompt_count is not None:
            sizes = Sizes(prompt_count, min(sizes.unrelated, prompt_count), min(sizes.robustness, prompt_count))
        return PromptBuilder(concept, recipe, base_seed, sizes, images_per_prompt,
                             vocabulary(Path(self.recipe_dir or RECIPES)))

    def prompt_rows(self, concept: Concept, base_seed: int = 0, prompt_count: int | None = None,
                    images_per_prompt: int | None = None) -> list[dict[str, Any]]:
        """The concept's prompt rows: the one entry point the stages use."""
        return self.prompt_builder(concept, base_seed, prompt_count, images_per_prompt).rows()

    def concept_phrases(self, concept: Concept) -> tuple[str, ...]:
        """The literal phrases that name the concept in its prompts (trigger words, spans, the
        painter's attachments and media, the object's noun): diversity measures leave them out."""
        return tuple(sorted({*self.recipe(concept).phrases(), *concept.trigger_words}, key=len, reverse=True))

    def overlap_group(self, concept: Concept) -> str | None:
        """Concepts of different groups must not share retain prompts (style: the primary genre)."""
        return None

    # -- curation -----------------------------------------------------------------------------

    def curation(self, concept: Concept, options: CurationOptions) -> CurationPolicy:
        """The checks of one concept: a blank check everywhere, plus the category's own."""
        return CurationPolicy(checks=(BLANK, *self.concept_checks(concept, options)), generation_checks=(SAFETY,))

    def concept_checks(self, concept: Concept, options: CurationOptions) -> tuple[Check, ...]:
        """The category's own checks of a concept (besides the blank check); none by default."""
        return ()

    def reference_judges(self, concept: Concept) -> tuple[str, ...]:
        """Detectors a judge trained for this concept is compared with on its test split."""
        return ()

    def presence(self, concept: Concept, options: CurationOptions, positive: list[str], negative: list[str],
                 expect: dict[str, bool]) -> Check:
        """The concept-presence check: a trained judge artifact for the concept or its category when
        one is given, else CLIP zero-shot (positive texts against negative ones)."""
        about = f"the concept {concept.display_name}"
        judge = options.judge_for(concept.name, concept.category)
        if judge:
            return Check(PRESENCE, ARTIFACT_DETECTOR,
                         {"artifact": judge, "concept": concept.name, "dtype": options.clip_dtype}, expect, about)
        return Check(PRESENCE, "clip-zero-shot", {
            "model": options.clip or default_model("curation-clip"), "revision": options.clip_revision,
            "positive": positive, "negative": negative, "threshold": options.clip_threshold,
            "dtype": options.clip_dtype}, expect, about)


def article(word: str) -> str:
    """The word with its indefinite article ("an apple")."""
    from builders.grammar import article_for

    return f"{article_for(word)} {word}"
