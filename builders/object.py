"""The object category: entity concepts (forget prompts name the object; unrelated prompts put
other objects of the category in the same scenes); curated by a concept-presence check."""

from __future__ import annotations

from builders.base import RECIPES, CategoryBuilder, article
from dataigm.core.curation import Check, CurationOptions
from dataigm.core.registry import BUILDERS
from dataigm.core.taxonomy import Concept


@BUILDERS.register("object")
class ObjectBuilder(CategoryBuilder):
    """The object category: entity concepts checked against the other objects of their scenes."""

    category = "object"
    shape = "entity"
    roles = ("forget", "unrelated", "robustness")
    recipe_dir = RECIPES / "object"

    def concept_checks(self, concept: Concept, options: CurationOptions) -> tuple[Check, ...]:
        """Forget images must show the object, unrelated images must not."""
        positive = [f"a photo of {article(concept.describe)}"]
        negative = [f"a photo of {article(e)}" for e in concept.unrelated] + ["a photo of an empty scene"]
        return (self.presence(concept, options, positive, negative, {"forget": True, "unrelated": False}),)
