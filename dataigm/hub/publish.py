"""Publishing releases to the Hugging Face Hub: one atomic commit (with `parent_commit`) plus an
immutable version tag; stale shards of republished configs deleted in the same commit."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataigm.core.errors import DataIGMError

VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")


def check_release(folder: Path) -> dict[str, Any]:
    """Refuse an incomplete build, README configs that do not match the shards, or a shard whose
    embedded features do not validate. Returns the manifest."""
    import pyarrow.parquet as pq
    from datasets import Features
    from huggingface_hub import DatasetCard

    from dataigm.core.schema import image_features, prompt_features
    from dataigm.core.storage import Store
    from dataigm.stages.imports import resolve_concept
    from dataigm.stages.pack import MANIFEST

    if not (folder / MANIFEST).exists() or not (folder / "README.md").exists():
        raise DataIGMError(f"{folder} is not a packed release (no {MANIFEST} or README.md); run dataigm build/pack")
    store = Store(str(folder))
    if (folder / "_build" / "plan.json").exists():
        from dataigm.core.plan import load_plan
        from dataigm.stages.run import missing_shards

        missing = missing_shards(store, load_plan(store))
        if missing:
            raise DataIGMError(f"{folder}: the build is incomplete ({len(missing)} shards missing); "
                               f"finish it before publishing")
    manifest = json.loads((folder / MANIFEST).read_text())
    listed = {c["config_name"]: c for c in DatasetCard.load(folder / "README.md").data.to_dict().get("configs", [])}
    on_disk = {p.parent.name for p in folder.glob("*/*.parquet")}
    if set(listed) != on_disk:
        raise DataIGMError(f"{folder}: README configs and shards differ: only in README "
                           f"{sorted(set(listed) - on_disk)}, only on disk {sorted(on_disk - set(listed))}")
    for name, entry in listed.items():
        for data_file in entry["data_files"]:
            if not list(folder.glob(data_file["path"])):
                raise DataIGMError(f"{folder}: config {name} lists {data_file['path']} but no shard matches")
        kind = manifest["configs"].get(name, {}).get("kind")
        if kind == "images":
            expected = image_features(resolve_concept(store, name))
        elif name.endswith("-prompts"):
            base = name[: -len("-prompts")]
            concept = resolve_concept(store, base)
            expected = prompt_features(None if concept.category == "imported" else concept.label_names)
        else:
            raise DataIGMError(f"{folder}: config {name} is not in the manifest")
        for shard in sorted((folder / name).glob("*.parquet")):
            meta = pq.read_schema(shard).metadata or {}
            if b"huggingface" not in meta:
                raise DataIGMError(f"{shard}: no embedded datasets.Features")
            found = Features.from_dict(json.loads(meta[b"huggingface"])["info"]["features"])
            if found != expected:
                raise DataIGMError(f"{shard}: its features do not match the schema of config {name}")
    return manifest


def _version_tags(api, repo: str) -> list[str]:
    tags = [t.name for t in api.list_repo_refs(repo, repo_type="dataset").tags]
    versions = [t for t in tags if t.startswith("v") and VERSION_RE.match(t[1:])]
    return sorted(versions, key=lambda t: tuple(int(x) for x in t[1:].split(".")))


def changelog(previous: dict[str, Any] | None, manifest: dict[str, Any], prev_tag: str | None) -> str:
    if previous is None:
        return "- First release."
    lines = [f"Changes since {prev_tag}:"]
    old, new = previous.get("configs", {}), manifest["configs"]
    for name in sorted(set(new) - set(old)):
        lines.append(f"- added config `{name}` ({sum(new[name]['splits'].values())} rows)")
    for name in sorted(set(old) - set(new)):
        lines.append(f"- config `{name}` no longer in this release folder (kept on the Hub)")
    for name in sorted(set(old) & set(new)):
        a, b = sum(old[name]["splits"].values()), sum(new[name]["splits"].values())
        if a != b:
            lines.append(f"- `{name}`: {a} -> {b} rows")
    if previous.get("fingerprint") != manifest.get("fingerprint"):
        lines.append(f"- build fingerprint {previous.get('fingerprint')} -> {manifest.get('fingerprint')}")
    return "\n".join(lines if len(lines) > 1 else [*lines, "- no content changes"])


@dataclass
class PublishPlan:
    repo: str
    tag: str
    parent_commit: str | None
    operations: list
    card: str

    def describe(self) -> str:
        lines = [f"repo {self.repo} (dataset), parent commit {self.parent_commit}, tag {self.tag}"]
        for op in self.operations:
            verb = "delete" if type(op).__name__ == "CommitOperationDelete" else "upload"
            lines.append(f"  {verb} {op.path_in_repo}")
        return "\n".join(lines)


def plan_publish(folder: Path, repo: str, version: str, api, private: bool = False,
                 create: bool = True) -> PublishPlan:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, hf_hub_download
    from huggingface_hub.errors import RepositoryNotFoundError

    from cards.render import render_dataset_card as render_card
    from dataigm.core.taxonomy import load_taxonomy

    if not VERSION_RE.match(version):
        raise DataIGMError(f"--version {version!r}: expected X.Y.Z")
    if "/" not in repo:
        raise DataIGMError(f"--repo {repo!r}: expected ORG/NAME (a bare name only resolves to a local folder)")
    manifest = check_release(folder)
    tag = f"v{version}"
    try:
        info = api.dataset_info(repo)
        exists = True
    except RepositoryNotFoundError:
        if not create:
            info, exists = None, False
        else:
            api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
            info, exists = api.dataset_info(repo), True
    tags = _version_tags(api, repo) if exists else []
    if tag in tags:
        raise DataIGMError(f"{repo} already has tag {tag}: versions are immutable; publish a new version")
    previous, prev_tag = None, (tags[-1] if tags else None)
    if prev_tag:
        previous = json.loads(Path(hf_hub_download(repo, "dataigm.json", repo_type="dataset",
                                                   revision=prev_tag)).read_text())
    card = render_card(manifest, load_taxonomy().as_json(), repo_id=repo, version=version,
                       changelog=changelog(previous, manifest, prev_tag))
    ops: list = [CommitOperationAdd("README.md", card.encode()),
                 CommitOperationAdd("dataigm.json", (folder / "dataigm.json").read_bytes())]
    local = {}
    for shard in sorted(folder.glob("*/*.parquet")):
        rel = f"{shard.parent.name}/{shard.name}"
        local[rel] = shard
        ops.append(CommitOperationAdd(rel, str(shard)))
    remote = [s.rfilename for s in (info.siblings or [])] if info else []
    configs = {p.split("/", 1)[0] for p in local}
    for path in remote:  # stale shards of the configs this release republishes
        if "/" in path and path.split("/", 1)[0] in configs and path.endswith(".parquet") and path not in local:
            ops.append(CommitOperationDelete(path))
    return PublishPlan(repo, tag, info.sha if info else None, ops, card)


def publish(folder: Path, repo: str, version: str, dry_run: bool = False, private: bool = False) -> dict[str, Any]:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi()
    plan = plan_publish(folder, repo, version, api, private, create=not dry_run)
    if dry_run:
        return {"dry_run": True, "plan": plan}
    try:
        commit = api.create_commit(repo, plan.operations, commit_message=f"DataIGM {plan.tag}",
                                   commit_description=f"Release {plan.tag} published by dataigm.",
                                   repo_type="dataset", parent_commit=plan.parent_commit)
    except HfHubHTTPError as exc:
        if exc.response is not None and exc.response.status_code == 412:
            raise DataIGMError(f"{repo} changed while publishing (a concurrent commit); nothing was written. "
                               "Rerun to publish on top of it.") from None
        status = exc.response.status_code if exc.response is not None else "?"
        raise DataIGMError(f"publishing to {repo} failed (HTTP {status}): {exc.server_message or exc}; "
                           "nothing was tagged") from None
    api.create_tag(repo, tag=plan.tag, revision=commit.oid, repo_type="dataset",
                   tag_message=f"DataIGM {plan.tag}")
    return {"dry_run": False, "plan": plan, "commit": commit.oid}


def publish_judge(artifact: Path, repo: str, version: str | None = None, private: bool = False) -> dict[str, Any]:
    """Upload a judge artifact folder to a model repo as one commit (+ tag vX.Y.Z)."""
    from huggingface_hub import CommitOperationAdd, HfApi

    for name in ("config.json", "model.safetensors", "README.md"):
        if not (artifact / name).exists():
            raise DataIGMError(f"{artifact}: missing {name}; not a judge artifact")
    if version and not VERSION_RE.match(version):
        raise DataIGMError(f"--version {version!r}: expected X.Y.Z")
    api = HfApi()
    api.create_repo(repo, repo_type="model", private=private, exist_ok=True)
    if version and f"v{version}" in [t.name for t in api.list_repo_refs(repo).tags]:
        raise DataIGMError(f"{repo} already has tag v{version}")
    parent = api.model_info(repo).sha
    ops = [CommitOperationAdd(p.name, str(p)) for p in sorted(artifact.iterdir()) if p.is_file()]
    commit = api.create_commit(repo, ops, commit_message=f"dataigm judge {version or ''}".strip(),
                               parent_commit=parent)
    if version:
        api.create_tag(repo, tag=f"v{version}", revision=commit.oid)
    return {"commit": commit.oid, "files": [op.path_in_repo for op in ops]}


def info(source: str) -> str:
    """Versions (tags), configs and counts of a release folder or Hub dataset repo."""
    from dataigm.hub.loading import split_source

    source, revision = split_source(source)
    folder = Path(source)
    lines = []
    if folder.is_dir():
        manifest = json.loads((folder / "dataigm.json").read_text())
        lines.append(f"{folder} (local release folder, schema {manifest['schema_version']})")
    else:
        from huggingface_hub import HfApi, hf_hub_download

        api = HfApi()
        tags = _version_tags(api, source)
        revision = revision or (tags[-1] if tags else "main")
        lines.append(f"{source}: versions {', '.join(tags) or '(none)'}; showing {revision}")
        manifest = json.loads(Path(hf_hub_download(source, "dataigm.json", repo_type="dataset",
                                                   revision=revision)).read_text())
    for name, c in manifest["configs"].items():
        splits = ", ".join(f"{k} {v}" for k, v in c["splits"].items())
        lines.append(f"  {name:28s} {c['kind']:8s} {splits}")
    return "\n".join(lines)
