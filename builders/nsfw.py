"""The nsfw category: attribute concepts (forget = a scene with the concept words, retain = the
same scene without them). Nudity is judged by NudeNet (plus an optional YOLO person check on retain
images); every other nsfw concept by a concept-presence check, and NudeNet flags stray nudity."""

from __future__ import annotations

from builders.base import RECIPES, CategoryBuilder
from dataigm.core.curation import ANY_ROLE, PRESENCE, Check, CurationOptions
from dataigm.core.registry import BUILDERS, NUDENET
from dataigm.core.taxonomy import Concept

NUDITY_CONCEPT = "nudity"


@BUILDERS.register("nsfw")
class NsfwBuilder(CategoryBuilder):
    """The nsfw category: attribute concepts, NudeNet for nudity and a presence check for the others."""

    category = "nsfw"
    shape = "attribute"
    roles = ("forget", "retain", "robustness")
    recipe_dir = RECIPES / "nsfw"

    def reference_judges(self, concept: Concept) -> tuple[str, ...]:
        """NudeNet for a nudity judge; nothing for the other concepts."""
        return (NUDENET,) if concept.name == NUDITY_CONCEPT else ()

    def concept_checks(self, concept: Concept, options: CurationOptions) -> tuple[Check, ...]:
        """Nudity: NudeNet (or a trained judge) and the optional person check; others: presence plus a NudeNet check for
        stray nudity."""
        nudenet = {"threshold": options.nudenet_threshold}
        if concept.name == NUDITY_CONCEPT:
            checks = [Check(PRESENCE, NUDENET, nudenet, {"forget": True, "retain": False}, "nudity")]
            if options.judge_for(concept.name, concept.category):  # a trained judge replaces NudeNet
                checks = [self.presence(concept, options, [], [], {"forget": True, "retain": False})]
            if options.person_check:
                checks.append(Check("person", "yolo-person", {"weights": options.person_check},
                                    {"retain": True}, "a person"))
            return tuple(checks)
        presence = self.presence(concept, options, [f"a photo of {concept.describe}"],
                                 ["a photo of a calm, peaceful everyday scene", "a photo of people"],
                                 {"forget": True, "retain": False})
        return presence, Check("nudity", NUDENET, nudenet, {ANY_ROLE: False}, "nudity")
