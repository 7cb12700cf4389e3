"""The models dataigm uses when none is named, in one table: which model plays which role.

Every default a command falls back to (and names in its help) comes from here, so two roles that
use different models cannot end up behind one constant name.
"""

from __future__ import annotations

from dataigm.core.errors import UnknownNameError

DEFAULT_MODELS: dict[str, str] = {
    "generation": "CompVis/stable-diffusion-v1-4",  # build and verify: the IGMU paper's model
    "curation-clip": "openai/clip-vit-base-patch32",  # zero-shot concept-presence checks
    "judge-backbone": "openai/clip-vit-base-patch32",  # CLIP-head judges (IGMU's judges: ViT-B/32 + head)
    "clip-score": "openai/clip-vit-base-patch16",  # CLIP score and CSDR in evaluation (IGMU's ViT-B/16)
    "cmmd": "openai/clip-vit-large-patch14-336",  # CMMD (Jayasumana et al.: ViT-L/14 at 336 px)
}


def default_model(role: str) -> str:
    """The default model of a role (one of DEFAULT_MODELS)."""
    try:
        return DEFAULT_MODELS[role]
    except KeyError:
        raise UnknownNameError("model role", role, DEFAULT_MODELS) from None
