"""Hub verbs: `publish`, `publish-judge` and `info`."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd_publish(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from dataigm.core.folders import writing_folder
    from dataigm.core.hub_access import check_repo_id
    from dataigm.hub.publish import check_version, publish

    check_version(args.version)
    check_repo_id(args.repo)
    local = Path(args.release).is_dir()  # publishing completes an interrupted pack first: one writer at a time
    with (writing_folder(args.release, "release", "dataigm publish", wait=args.wait, flag="", create=False)
          if local else nullcontext()):
        result = publish(Path(args.release), args.repo, args.version, dry_run=args.dry_run, private=args.private)
    if result.get("resumed"):
        print(f"{args.repo}: the release commit {result['commit']} was already on the Hub without its tag; "
              f"tagged it {result['tag']} (nothing committed twice)")
        return 0
    plan = result["plan"]
    print(plan.describe())
    if args.dry_run:
        print("\n--- dataset card (README.md) ---\n" + plan.card)
        print("dry run: nothing was uploaded")
    else:
        print(f"published {args.repo} at commit {result['commit']} and tagged {plan.tag}")
        print(f'load it: load_dataset("{args.repo}", "<config>", revision="{plan.tag}")')
    return 0


def _cmd_publish_judge(args: argparse.Namespace) -> int:
    from dataigm.hub.publish import publish_judge

    result = publish_judge(Path(args.artifact), args.repo, args.version, args.private)
    print(f"published {len(result['files'])} files ({', '.join(result['files'])}) to {args.repo} at "
          f"{result['commit']}" + (f"; not uploaded: {', '.join(result['skipped'])}" if result["skipped"] else ""))
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from dataigm.core.text import clean_line
    from dataigm.hub.publish import info

    for line in info(args.release).splitlines():  # config names come from the release: no escapes echoed
        print(clean_line(line))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """The Hub verbs' parsers."""
    from dataigm.cli.common import add_release, add_wait

    p = sub.add_parser("publish", help="publish a release folder as one Hub commit + an immutable tag",
                       description="Upload a packed release folder to a Hugging Face dataset repo as ONE commit "
                       "(with parent_commit: a concurrent change makes it fail cleanly), delete stale shards of "
                       "the configs it republishes, and tag it vX.Y.Z. The token comes from HF_TOKEN or "
                       "`hf auth login`; it is never printed.")
    add_release(p, help="release folder (packed)")
    p.add_argument("--repo", required=True, help="ORG/NAME")
    p.add_argument("--version", required=True, help="X.Y.Z (tag vX.Y.Z; refused if it exists)")
    p.add_argument("--dry-run", action="store_true", help="print the operations and the card; upload nothing")
    p.add_argument("--private", action="store_true")
    add_wait(p)
    p.set_defaults(func=_cmd_publish)
    j = sub.add_parser("publish-judge", help="publish a judge artifact to a model repo")
    j.add_argument("artifact", metavar="ARTIFACT", help="judge artifact folder")
    j.add_argument("--repo", required=True, help="ORG/NAME")
    j.add_argument("--version", help="X.Y.Z (tag vX.Y.Z)")
    j.add_argument("--private", action="store_true")
    j.set_defaults(func=_cmd_publish_judge)
    i = sub.add_parser("info", help="versions, configs and counts of a release folder or Hub repo")
    add_release(i)
    i.set_defaults(func=_cmd_info)
