"""The style category: attribute concepts whose words are a style suffix ("..., in the style of
Van Gogh") that the retain twin drops; curated by a concept-presence check of the style."""

from __future__ import annotations

from builders.base import RECIPES, CategoryBuilder
from dataigm.core.curation import Check, CurationOptions
from dataigm.core.registry import BUILDERS
from dataigm.core.taxonomy import Concept


@BUILDERS.register("style")
class StyleBuilder(CategoryBuilder):
    """The style category: attribute concepts checked for the painter's style."""

    category = "style"
    shape = "attribute"
    roles = ("forget", "retain", "robustness")
    recipe_file = RECIPES / "style.yaml"

    def concept_checks(self, concept: Concept, options: CurationOptions) -> tuple[Check, ...]:
        """Forget images must show the style, retain images must not."""
        return (self.presence(concept, options, [f"a painting in the style of {concept.display_name}"],
                              ["a painting", "a photograph", "a drawing"], {"forget": True, "retain": False}),)
