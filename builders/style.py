"""The style category: a painter's prompts are scenes of its own genres and motifs in one of its
media, with an attachment naming it ("..., in the style of Claude Monet") that the retain twin drops;
curated by a concept-presence check of the style."""

from __future__ import annotations

from pathlib import Path

from builders.base import RECIPES, CategoryBuilder
from builders.recipe import StyleRecipe, load_style_dir
from dataigm.core.curation import Check, CurationOptions
from dataigm.core.registry import BUILDERS
from dataigm.core.taxonomy import Concept


@BUILDERS.register("style")
class StyleBuilder(CategoryBuilder):
    """The style category: attribute concepts checked for the painter's style."""

    category = "style"
    shape = "attribute"
    roles = ("forget", "retain", "robustness")
    recipe_dir = RECIPES / "style"

    def recipes(self) -> dict[str, StyleRecipe]:  # type: ignore[override]
        """Every painter's recipe, from genres.yaml and painters.yaml."""
        return load_style_dir(Path(self.recipe_dir), self.concepts())

    def overlap_group(self, concept: Concept) -> str | None:
        """The painter's primary genre: painters of different primary genres must not share retains."""
        return concept.subclasses[0] if concept.subclasses else None

    def concept_checks(self, concept: Concept, options: CurationOptions) -> tuple[Check, ...]:
        """Forget images must show the style, retain images must not."""
        return (self.presence(concept, options, [f"a painting in the style of {concept.display_name}"],
                              ["a painting", "a photograph", "a drawing"], {"forget": True, "retain": False}),)
