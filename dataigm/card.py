"""The dataset card (README.md) rendered from cards/ with huggingface_hub's DatasetCard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataigm.release import config_entry
from dataigm.storage import Store
from dataigm.taxonomy import load_taxonomy

CARDS_DIR = Path(__file__).resolve().parent.parent / "cards"
GATED_PROMPT = ("This dataset contains synthetic not-safe-for-work imagery (nudity, violence) for "
                "research on concept unlearning. Confirm that you are an adult and will use it only "
                "for research on safety of generative models.")
GATED_FIELDS = {"Affiliation": "text", "Intended use": "text",
                "I confirm I am 18 or older and will use the data only for research": "checkbox"}


def card_template() -> Path:
    path = CARDS_DIR / "dataset_card.md"
    if not path.exists():  # installed as a wheel: cards/ is a package next to dataigm/
        import cards

        path = Path(cards.__file__).with_name("dataset_card.md")
    return path


def render_card(manifest: dict[str, Any], repo_id: str = "<org>/dataigm",
                version: str | None = None, changelog: str | None = None) -> str:
    from huggingface_hub import DatasetCard, DatasetCardData

    configs = manifest["configs"]
    nsfw = any(c.get("nsfw") for c in configs.values())
    data = DatasetCardData(
        license="mit", pretty_name="DataIGM", language=["en"],
        task_categories=["text-to-image", "image-classification"],
        tags=["machine-unlearning", "text-to-image", "stable-diffusion", "synthetic", "dataigm",
              *(["not-for-all-audiences"] if nsfw else [])],
        configs=[config_entry(name, c["splits"]) for name, c in configs.items()],
        **({"extra_gated_prompt": GATED_PROMPT, "extra_gated_fields": GATED_FIELDS} if nsfw else {}),
        dataigm={"schema_version": manifest["schema_version"], "fingerprint": manifest["fingerprint"],
                 **({"version": version} if version else {})},
    )
    taxonomy = {cat: list(concepts.values()) for cat, concepts in load_taxonomy().categories.items()}
    card = DatasetCard.from_template(
        data, template_path=str(card_template()), repo_id=repo_id, version=version,
        configs=configs, taxonomy=taxonomy, build=manifest["build"],
        fingerprint=manifest["fingerprint"], license="MIT (prompts, code and generated images).",
        changelog=changelog)
    return str(card)


def write_card(store: Store, manifest: dict[str, Any], **kwargs: Any) -> str:
    text = render_card(manifest, **kwargs)
    store.write_bytes("README.md", text.encode())
    return text
