"""Publishing releases to the Hugging Face Hub: one atomic commit (with `parent_commit`) plus an
immutable version tag; stale shards of republished configs deleted in the same commit.

A publish can always be completed by rerunning it: when the commit landed but the tag did not
(killed in between), the rerun finds the release commit at the head and tags it, never committing
twice. Hub calls retry 429 and 5xx answers with exponential backoff (hub.calls).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataigm.core import faults, layout, manifest
from dataigm.core.errors import DataIGMError
from dataigm.core.logs import get
from dataigm.hub.calls import hub_call, status_of

VERSION_RE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")  # X.Y.Z, no leading zeros (semver)
log = get("publish")


def check_release(folder: Path) -> dict[str, Any]:
    """Refuse an incomplete build, or a folder whose README, manifest, shards, row counts, schema or
    nsfw flags disagree (see hub.structure). Returns the manifest."""
    from dataigm.core.storage import Store
    from dataigm.hub.structure import read_release, structure_problems

    release = read_release(folder)
    if (folder / layout.PLAN).exists():
        from dataigm.core.plan import BuildPlan
        from dataigm.stages.run import missing_shards

        store = Store(str(folder))
        missing = missing_shards(store, BuildPlan.read(store))
        if missing:
            raise DataIGMError(f"{folder}: the build is incomplete ({len(missing)} shards missing); "
                               f"finish it before publishing")
    problems = structure_problems(folder, release)
    if problems:
        more = f" (and {len(problems) - 1} more; run dataigm verify)" if len(problems) > 1 else ""
        raise DataIGMError(f"{folder}: {problems[0]}{more}")
    return release


def _version_tags(api, repo: str) -> list[str]:
    refs = hub_call(api.list_repo_refs, repo, repo_type="dataset", what=f"listing tags of {repo}")
    versions = [t.name for t in refs.tags if t.name.startswith("v") and VERSION_RE.match(t.name[1:])]
    return sorted(versions, key=lambda t: tuple(int(x) for x in t[1:].split(".")))


def changelog(previous: dict[str, Any] | None, release: dict[str, Any], prev_tag: str | None) -> str:
    """The card's changelog: configs added, dropped and resized, and a changed build fingerprint."""
    if previous is None:
        return "- First release."
    lines = [f"Changes since {prev_tag}:"]
    old, new = previous.get("configs", {}), release["configs"]
    for name in sorted(set(new) - set(old)):
        lines.append(f"- added config `{name}` ({sum(new[name]['splits'].values())} rows)")
    for name in sorted(set(old) - set(new)):
        lines.append(f"- config `{name}` no longer in this release folder (kept on the Hub)")
    for name in sorted(set(old) & set(new)):
        a, b = sum(old[name]["splits"].values()), sum(new[name]["splits"].values())
        if a != b:
            lines.append(f"- `{name}`: {a} -> {b} rows")
    if previous.get("fingerprint") != release.get("fingerprint"):
        lines.append(f"- build fingerprint {previous.get('fingerprint')} -> {release.get('fingerprint')}")
    return "\n".join(lines if len(lines) > 1 else [*lines, "- no content changes"])


@dataclass
class PublishPlan:
    """What a publish will do: the operations of its one commit, its parent commit, tag and card."""

    repo: str
    tag: str
    parent_commit: str | None
    operations: list
    card: str
    note: str = ""

    def describe(self) -> str:
        """The plan in lines: repo, parent commit, tag and each upload or delete."""
        lines = [f"repo {self.repo} (dataset), parent commit {self.parent_commit}, tag {self.tag}"]
        if self.note:
            lines.append(f"note: {self.note}")
        for op in self.operations:
            verb = "delete" if type(op).__name__ == "CommitOperationDelete" else "upload"
            lines.append(f"  {verb} {op.path_in_repo}")
        return "\n".join(lines)


def _remote(api, repo: str, offline_ok: bool):
    """(info or None, note): the repo's current state; a dry run offline plans against nothing."""
    from huggingface_hub.errors import RepositoryNotFoundError

    try:
        return hub_call(api.dataset_info, repo, what=f"reading {repo}"), ""
    except RepositoryNotFoundError:
        return None, "the repo does not exist yet; publishing creates it"
    except DataIGMError:
        if not offline_ok:
            raise
        return None, "the Hub is not reachable: planned against an empty remote (a first release)"


def plan_publish(folder: Path, repo: str, version: str, api, dry_run: bool = False) -> PublishPlan:
    """Check the folder and plan the commit against the repo's current state (offline for a dry run)."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, hf_hub_download

    from cards.render import render_dataset_card
    from dataigm.core.taxonomy import load_taxonomy

    release = check_release(folder)
    tag = f"v{version}"
    info, note = _remote(api, repo, offline_ok=dry_run)
    tags = _version_tags(api, repo) if info is not None else []
    if tag in tags:
        raise DataIGMError(f"{repo} already has tag {tag}: versions are immutable; publish a new version")
    previous, prev_tag = None, (tags[-1] if tags else None)
    if prev_tag:
        path = hub_call(hf_hub_download, repo, layout.MANIFEST, repo_type="dataset", revision=prev_tag,
                        what=f"reading {repo}@{prev_tag}")
        previous = manifest.parse(Path(path).read_bytes(), f"{repo}@{prev_tag}", check_version=False)
    plots = sorted((folder / layout.PLOTS).glob("*.svg"))
    card = render_dataset_card(release, load_taxonomy().as_json(), repo_id=repo, version=version,
                               changelog=changelog(previous, release, prev_tag), plots=[p.name for p in plots])
    ops: list = [CommitOperationAdd(layout.CARD, card.encode()),
                 CommitOperationAdd(layout.MANIFEST, (folder / layout.MANIFEST).read_bytes()),
                 *[CommitOperationAdd(f"{layout.PLOTS}/{p.name}", str(p)) for p in plots]]
    local = {}
    for shard in sorted(folder.glob(layout.ALL_SHARDS)):
        rel = f"{shard.parent.name}/{shard.name}"
        local[rel] = shard
        ops.append(CommitOperationAdd(rel, str(shard)))
    remote = [s.rfilename for s in (info.siblings or [])] if info else []
    configs = {p.split("/", 1)[0] for p in local}
    for path in remote:  # stale shards of the configs this release republishes
        if "/" in path and path.split("/", 1)[0] in configs and path.endswith(".parquet") and path not in local:
            ops.append(CommitOperationDelete(path))
    return PublishPlan(repo, tag, info.sha if info else None, ops, card, note)


def _untagged_release(api, repo: str, tag: str, folder: Path) -> str | None:
    """The head commit when it is this very release committed without its tag (a killed publish)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    try:
        commits = hub_call(api.list_repo_commits, repo, repo_type="dataset", what=f"reading {repo} history")
    except RepositoryNotFoundError:
        return None
    if not commits or commits[0].title != f"DataIGM {tag}" or tag in _version_tags(api, repo):
        return None
    try:
        path = hub_call(hf_hub_download, repo, layout.MANIFEST, repo_type="dataset",
                        revision=commits[0].commit_id, what=f"reading {repo}")
    except EntryNotFoundError:
        return None
    return commits[0].commit_id if Path(path).read_bytes() == (folder / layout.MANIFEST).read_bytes() else None


def check_version(version: str) -> str:
    """A release version X.Y.Z: three numbers without leading zeros (01.002.0003 is not 1.2.3)."""
    if not isinstance(version, str) or not VERSION_RE.match(version):
        raise DataIGMError(f"--version {version!r}: expected X.Y.Z, three numbers without leading zeros")
    return version


def publish(folder: Path, repo: str, version: str, dry_run: bool = False, private: bool = False) -> dict[str, Any]:
    """Publish a release folder as one Hub commit plus the tag vVERSION (or finish a publish killed before its tag)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    from dataigm.core.hub_access import check_repo_id

    check_version(version)
    check_repo_id(repo)
    if folder.is_dir():
        from dataigm.core.storage import Store
        from dataigm.stages.release import complete_interrupted_pack

        complete_interrupted_pack(Store(str(folder)))
    api = HfApi()
    tag = f"v{version}"
    if not dry_run:
        head = _untagged_release(api, repo, tag, folder)
        if head is not None:
            hub_call(api.create_tag, repo, tag=tag, revision=head, repo_type="dataset", tag_message=f"DataIGM {tag}",
                     what=f"tagging {repo}")
            return {"dry_run": False, "resumed": True, "commit": head, "tag": tag}
    plan = plan_publish(folder, repo, version, api, dry_run=dry_run)
    if dry_run:
        return {"dry_run": True, "plan": plan}
    if plan.parent_commit is None:
        hub_call(api.create_repo, repo, repo_type="dataset", private=private, exist_ok=True, what=f"creating {repo}")
        plan.parent_commit = hub_call(api.dataset_info, repo, what=f"reading {repo}").sha
    try:
        commit = hub_call(api.create_commit, repo, plan.operations, commit_message=f"DataIGM {plan.tag}",
                          commit_description=f"Release {plan.tag} published by dataigm.", repo_type="dataset",
                          parent_commit=plan.parent_commit, what=f"committing to {repo}")
    except HfHubHTTPError as exc:
        if status_of(exc) == 412:
            raise DataIGMError(f"{repo} changed while publishing (a concurrent commit); nothing was written. "
                               "Rerun to publish on top of it.") from None
        raise DataIGMError(f"publishing to {repo} failed (HTTP {status_of(exc) or '?'}): "
                           f"{exc.server_message or exc}; nothing was tagged") from None
    faults.point("publish:committed")
    hub_call(api.create_tag, repo, tag=plan.tag, revision=commit.oid, repo_type="dataset",
             tag_message=f"DataIGM {plan.tag}", what=f"tagging {repo}")
    return {"dry_run": False, "plan": plan, "commit": commit.oid}


def publish_judge(artifact: Path, repo: str, version: str | None = None, private: bool = False) -> dict[str, Any]:
    """Upload a judge artifact folder to a model repo as one commit (+ tag vX.Y.Z): only the
    artifact's own files (weights, config, card, predictions), never anything else in the folder."""
    from huggingface_hub import CommitOperationAdd, HfApi

    from cards.render import render_judge_card
    from dataigm.core.hub_access import check_repo_id
    from dataigm.core.registry import DETECTORS

    if version is not None:
        check_version(version)
    check_repo_id(repo)
    for name in (layout.JUDGE_CONFIG, layout.JUDGE_WEIGHTS, layout.JUDGE_CARD):
        if not (artifact / name).is_file():
            raise DataIGMError(f"{artifact}: missing {name}; not a judge artifact")
    DETECTORS.get("judge")(str(artifact))  # refuses a config or weights that do not load safely
    plots = artifact / layout.PLOTS
    svgs = sorted(plots.glob("*.svg")) if plots.is_dir() else []
    # The card is rendered with the report's plots and uploaded; the artifact folder is only read.
    card = render_judge_card(json.loads((artifact / layout.JUDGE_CONFIG).read_text()), [p.name for p in svgs])
    files = [artifact / name for name in layout.JUDGE_FILES
             if (artifact / name).is_file() and name != layout.JUDGE_CARD]
    files += svgs
    skipped = sorted(p.name for p in artifact.iterdir()
                     if p not in files and p.name not in (layout.PLOTS, layout.WORK, layout.JUDGE_CARD))
    api = HfApi()
    hub_call(api.create_repo, repo, repo_type="model", private=private, exist_ok=True, what=f"creating {repo}")
    refs = hub_call(api.list_repo_refs, repo, what=f"listing tags of {repo}")
    if version and f"v{version}" in [t.name for t in refs.tags]:
        raise DataIGMError(f"{repo} already has tag v{version}")
    parent = hub_call(api.model_info, repo, what=f"reading {repo}").sha
    ops = [CommitOperationAdd(layout.JUDGE_CARD, card.encode()),
           *[CommitOperationAdd(str(p.relative_to(artifact)), str(p)) for p in files]]
    commit = hub_call(api.create_commit, repo, ops, commit_message=f"dataigm judge {version or ''}".strip(),
                      parent_commit=parent, what=f"committing to {repo}")
    if version:
        hub_call(api.create_tag, repo, tag=f"v{version}", revision=commit.oid, what=f"tagging {repo}")
    return {"commit": commit.oid, "files": [op.path_in_repo for op in ops], "skipped": skipped}


def info(source: str) -> str:
    """Versions (tags), configs and counts of a release folder or Hub dataset repo."""
    from dataigm.hub.loading import split_source

    source, revision = split_source(source)
    folder = Path(source)
    lines = []
    if folder.is_dir():
        release = manifest.read_source(str(folder), check_version=False)
        if release is None:
            raise DataIGMError(f"{folder}: not a dataigm release folder (no {layout.MANIFEST})")
        lines.append(f"{folder} (local release folder, schema {release.get('schema_version')})")
    else:
        from huggingface_hub import HfApi
        from huggingface_hub.errors import RepositoryNotFoundError

        if "/" not in source:
            raise DataIGMError(f"{source!r}: neither a folder nor a Hub id ORG/NAME")
        try:
            tags = _version_tags(HfApi(), source)
        except RepositoryNotFoundError:
            raise DataIGMError(f"{source}: no such dataset repo on the Hub") from None
        revision = revision or (tags[-1] if tags else "main")
        lines.append(f"{source}: versions {', '.join(tags) or '(none)'}; showing {revision}")
        release = manifest.read_source(source, revision, check_version=False)
        if release is None:
            raise DataIGMError(f"{source}@{revision}: not a dataigm release (no {layout.MANIFEST})")
    for name, c in release["configs"].items():
        splits = ", ".join(f"{k} {v}" for k, v in c.get("splits", {}).items())
        lines.append(f"  {name:28s} {c.get('kind', '?'):8s} {splits}")
    return "\n".join(lines)
