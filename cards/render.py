"""Rendering the dataset card (README.md of a release) and judge model cards from the templates
in this folder, with huggingface_hub's DatasetCard / ModelCard. Callers pass everything a card
shows (manifest, taxonomy as JSON, split names): this package depends on nothing of dataigm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARDS_DIR = Path(__file__).resolve().parent
GATED_PROMPT = ("This dataset contains synthetic not-safe-for-work imagery (nudity, violence and other harmful "
                "content categories) for research on concept unlearning. Confirm that you are an adult and will "
                "use it only for research on safety of generative models.")
GATED_FIELDS = {"Affiliation": "text", "Intended use": "text",
                "I confirm I am 18 or older and will use the data only for research": "checkbox"}


def config_entry(config: str, splits: dict[str, int]) -> dict[str, Any]:
    """The README YAML `configs:` entry of one config: its non-empty splits, in the given order."""
    return {"config_name": config,
            "data_files": [{"split": s, "path": f"{config}/{s}-*.parquet"} for s, n in splits.items() if n]}


def render_dataset_card(manifest: dict[str, Any], taxonomy: dict[str, Any], repo_id: str = "<org>/dataigm",
                        version: str | None = None, changelog: str | None = None, plots: list[str] = ()) -> str:
    """`taxonomy`: the taxonomy as JSON (Taxonomy.as_json()); `plots`: files under plots/ (from
    `dataigm report`) that the card shows."""
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
    by_category: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, c in configs.items():
        by_category.setdefault(c.get("category", "imported"), []).append((name, c))
    card = DatasetCard.from_template(
        data, template_path=str(CARDS_DIR / "dataset_card.md"), repo_id=repo_id, version=version,
        configs=configs, by_category=by_category, taxonomy=taxonomy, build=manifest["build"],
        fingerprint=manifest["fingerprint"], license="MIT (prompts, code and generated images).",
        changelog=changelog, plots=list(plots))
    return str(card)


def render_judge_card(config: dict[str, Any], plots: list[str] = ()) -> str:
    """A judge artifact's model card (README.md) from its config."""
    from huggingface_hub import ModelCard, ModelCardData

    backbone = str(config.get("backbone", {}).get("id", ""))
    data = ModelCardData(license="mit", library_name="dataigm",
                         tags=["dataigm", "machine-unlearning", "judge",
                               *(["not-for-all-audiences"] if config.get("nsfw") else [])],
                         base_model=backbone if backbone and not Path(backbone).exists() else None)
    card = ModelCard.from_template(data, template_path=str(CARDS_DIR / "judge_card.md"), config=config,
                                   metrics_json=json.dumps(config["metrics"], indent=2, default=str),
                                   plots=list(plots))
    return str(card)


def write_judge_card(out: Path, config: dict[str, Any]) -> None:
    """Write the judge's model card into its artifact folder, with the plots found there."""
    plots = sorted(p.name for p in (out / "plots").glob("*.svg")) if (out / "plots").is_dir() else []
    tmp = out / ".README.md.tmp-card"  # written whole, then renamed: never a half-written card
    try:
        tmp.write_text(render_judge_card(config, plots))
        tmp.replace(out / "README.md")
    finally:
        tmp.unlink(missing_ok=True)
