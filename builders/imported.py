"""Prompt sets imported into a release folder (`dataigm prompts import`): their rows come from
the folder, not from recipes. Curation records verdicts without expectations beyond a usable
image: an imported set has no retain twins, and what it should show is the source's business."""

from __future__ import annotations

from typing import Any

from builders.base import CategoryBuilder
from dataigm.core.curation import Check, CurationOptions
from dataigm.core.errors import DataIGMError
from dataigm.core.registry import BUILDERS, NUDENET
from dataigm.core.taxonomy import IMPORTED, Concept


@BUILDERS.register(IMPORTED)
class ImportedBuilder(CategoryBuilder):
    """Prompt sets imported into a release folder: rows from the folder, a NudeNet check when nsfw."""

    category = IMPORTED
    shape = "attribute"
    roles = ("forget", "retain", "unrelated", "robustness")

    def prompt_rows(self, concept: Concept, base_seed: int = 0, prompt_count: int | None = None,
                    images_per_prompt: int | None = None) -> list[dict[str, Any]]:
        """Refused: an imported set's rows come from its release folder, not a recipe."""
        raise DataIGMError(f"{concept.name} is an imported prompt set: its rows come from its release folder")

    def concept_checks(self, concept: Concept, options: CurationOptions) -> tuple[Check, ...]:
        """NudeNet verdicts (recorded, never required) for nsfw sets; nothing else."""
        if not concept.nsfw:
            return ()
        return (Check("nudity", NUDENET, {"threshold": options.nudenet_threshold}, {}, "nudity"),)

    def import_file(self, path, fmt: str | None, name: str | None, retain=None, base_seed: int = 0,
                    attacks: str | None = None) -> tuple[str, list[dict[str, Any]], str | None]:
        """(config base name, rows, attacked concept) of a peer prompt file (see builders.importers);
        the attacked concept is `attacks`, or inferred from the rows of an attack set."""
        from builders.importers import attacked_concept, import_prompts
        from dataigm.core.taxonomy import load_taxonomy

        name, rows = import_prompts(path, fmt, name, retain, base_seed)
        if attacks is None and any(r.get("attack") for r in rows):
            attacks = attacked_concept(rows, load_taxonomy().concepts)
        return name, rows, attacks

    def subclass_order(self, path, fmt: str, retain=None) -> dict[str, Any] | None:
        """The source's own subclass order where positions in it name things the rows cannot (IGMU:
        its image names i_j_k count subclasses of its JSON pair, empty ones included); else None."""
        if fmt != "igmu":
            return None
        from builders.importers import igmu_subclass_order

        return igmu_subclass_order(path, retain)
