"""The command line as one vocabulary, checked over the parser itself: the release a verb reads is
the positional RELEASE, `--revision` is only the revision of `--model`, one name per thing (`--judge`),
the curation flags shared by build and curate, whatever a verb writes is `--out`, -q/-v before or
after the verb, no abbreviated flags, and the old spellings still work for one release with a
one-line deprecation warning."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from dataigm.cli import main, parser

# verb -> its positionals, in order (the table the README's command-line section shows)
POSITIONALS = {
    "concepts": ["concept"], "prompts generate": ["CONCEPT"], "prompts import": ["PATH"], "prompts stats": ["CONCEPT"],
    "build": [], "pack": ["RELEASE"], "status": ["RELEASE"], "curate": ["RELEASE"],
    "train-judge": ["TARGET", "RELEASE"], "judge": ["IMAGES|RELEASE"], "verify": ["RELEASE"],
    "report": ["PATH"], "publish": ["RELEASE"], "publish-judge": ["ARTIFACT"], "info": ["RELEASE"],
    "eval run": ["RELEASE"], "eval compare": ["RUN_DIR"],
}
# Verbs the rules below do not cover yet (none: every verb follows them).
PENDING: set[str] = set()
# Judges that play another part than --judge's (the category judge that scores retain_accuracy).
OTHER_JUDGES = {"eval run": {"--category-judge"}}
# (verb, old spelling, new spelling, arguments that make the rest of the command line valid)
DEPRECATED = [
    ("build", "--curate-judge", "--judge", ["--preset", "smoke", "--out", "o"]),
    ("train-judge", "--data", "the positional RELEASE", ["church"]),
    ("train-judge", "--data-revision", "RELEASE@REVISION", ["church", "org/rel"]),
    ("judge", "--data-revision", "RELEASE@REVISION", ["org/rel", "--judge", "nudenet", "--out", "v.csv"]),
    ("verify", "--report", "--out", ["rel"]),
    ("eval run", "--source", "the positional RELEASE", ["--method", "m", "--out", "o", "--images", "i"]),
    ("eval run", "--data-revision", "RELEASE@REVISION", ["org/rel", "--method", "m", "--out", "o", "--images", "i"]),
    ("eval compare", "--plot", "--out FILE.png|.svg|.pdf", ["r", "--out", "t.md"]),
]
# Words in an option's help or metavar that say it names something the verb writes.
WRITES = re.compile(r"\bFILE\b|\.(?:png|svg|pdf|csv|md|tex|html?|parquet|jsonl?)\b"
                    r"|\b(?:[Ww]rit(?:e|es|ten)|[Ss]av(?:e|es|ed)|[Pp]lots?|[Oo]utputs?)\b")


def verbs() -> dict[str, argparse.ArgumentParser]:
    """Every leaf verb's parser, by its name ("eval run"), and the group parsers ("eval")."""
    found: dict[str, argparse.ArgumentParser] = {"": parser()}

    def walk(p: argparse.ArgumentParser, prefix: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    key = f"{prefix} {name}".strip()
                    found[key] = child
                    walk(child, key)

    walk(found[""], "")
    return found


def visible_flags(p: argparse.ArgumentParser) -> set[str]:
    return {s for a in p._actions if a.help is not argparse.SUPPRESS for s in a.option_strings if s.startswith("--")}


def leaves() -> dict[str, argparse.ArgumentParser]:
    return {name: p for name, p in verbs().items() if name and not any(
        isinstance(a, argparse._SubParsersAction) for a in p._actions)}


def test_the_table_lists_every_verb_with_its_positionals():
    found = {name: [a.metavar or a.dest for a in p._actions if not a.option_strings]
             for name, p in leaves().items()}
    assert found == POSITIONALS


@pytest.mark.parametrize("name", sorted(POSITIONALS))
def test_each_verb_follows_the_vocabulary(name):
    p = leaves()[name]
    flags = visible_flags(p)
    assert p.allow_abbrev is False, f"{name}: abbreviated flags would be accepted"
    assert {"--quiet", "--verbose"} <= flags, f"{name}: -q/-v not accepted after the verb"
    if name in PENDING:
        return
    assert not flags & {"--data", "--source", "--data-revision"}, f"{name}: a release is read as the positional RELEASE"
    assert "--revision" not in flags or "--model" in flags, f"{name}: --revision is only the --model's revision"
    assert not flags & {"--report", "--curate-judge"}, f"{name}: old spellings are hidden"
    judge_flags = {f for f in flags if "judge" in f}
    assert judge_flags <= {"--judge"} | OTHER_JUDGES.get(name, set()), f"{name}: a judge is --judge"
    writes = [a for a in p._actions if a.help not in (None, argparse.SUPPRESS) and "to write" in a.help]
    assert all(a.option_strings == ["--out"] for a in writes), f"{name}: what a verb writes is --out"
    # any option taking a path whose help names a file, a suffix, a plot or writing (before: compare's
    # `--plot FILE.png`, a second written file beside --out) is --out
    named = [a.option_strings[0] for a in p._actions if a.option_strings and a.help not in (None, argparse.SUPPRESS)
             and a.nargs != 0 and not a.choices and WRITES.search(f"{a.help} {a.metavar or ''}")]
    assert set(named) <= {"--out"}, f"{name}: {named} name written files: whatever a verb writes is --out"


def test_every_parser_refuses_abbreviations_and_takes_q_v():
    for name, p in verbs().items():
        assert p.allow_abbrev is False, name
        assert {"-q", "-v"} <= {s for a in p._actions for s in a.option_strings}, name


def test_build_and_curate_share_the_curation_flags():
    def curation(p: argparse.ArgumentParser) -> dict[str, tuple]:
        group = next(g for g in p._action_groups if g.title.startswith("curation"))
        return {a.option_strings[0]: (a.dest, a.choices, a.type, type(a).__name__, a.help)
                for a in group._group_actions}

    build, curate = leaves()["build"], leaves()["curate"]
    assert curation(build) == curation(curate)
    assert {"--judge", "--clip", "--clip-revision", "--clip-threshold", "--clip-dtype", "--nudenet-threshold",
            "--person-check"} == set(curation(build))


@pytest.mark.parametrize(("where", "argv", "level"), [
    ("none", ["status", "x"], 0), ("before", ["-q", "status", "x"], -1), ("after", ["status", "x", "-q"], -1),
    ("verbose after", ["status", "x", "-v"], 1), ("nested, after", ["prompts", "generate", "church", "--out", "o",
                                                                   "--quiet"], -1),
    ("between group and verb", ["eval", "-q", "compare", "r", "--out", "t.md"], -1),
])
def test_quiet_and_verbose_go_before_or_after_the_verb(where, argv, level):
    assert parser().parse_args(argv).verbosity == level, where


def test_an_abbreviated_flag_is_refused_not_guessed(capsys):
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(["build", "--preset", "smoke", "--out", "o", "--task", "2"])
    assert exit_.value.code == 2 and "unrecognized arguments: --task 2" in capsys.readouterr().err
    assert parser().parse_args(["build", "--preset", "smoke", "--out", "o", "--tasks", "2"]).tasks == 2


def test_a_bare_build_asks_what_to_build(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["build", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--preset smoke" in err[0] and "--preset full" in err[0] and "--concept" in err[0]
    assert not out.exists()  # nothing started
    assert parser().parse_args(["build", "--out", "o", "--concept", "church"]).preset is None  # --concept: full


@pytest.mark.parametrize(("verb", "old", "new", "rest"), DEPRECATED, ids=[f"{d[0]} {d[1]}" for d in DEPRECATED])
def test_old_spellings_parse_like_the_new_ones_and_warn_once(verb, old, new, rest, capsys):
    value = "org/rel@v1" if old != "--data-revision" else "v1"
    old_args = parser().parse_args([*verb.split(), *rest, old, value])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"dataigm: warning: {old} is deprecated" in err and f"use {new}" in err
    assert old not in verbs()[verb].format_help()
    if new.startswith("--"):  # the new flag's value (its last, where it is repeatable)
        got = getattr(old_args, new.split()[0][2:].replace("-", "_"))
        assert got == value or (isinstance(got, list) and got[-1] == value), got
    elif new == "the positional RELEASE":
        assert old_args.release == value
    else:
        from dataigm.cli.common import release

        assert release(old_args) == "org/rel@v1"


def test_compare_writes_every_file_through_out(capsys):
    """eval compare: every written file is an --out (given once per file, a table or a chart); the
    old --plot adds its file to them, in order, after one warning line."""
    args = parser().parse_args(["eval", "compare", "r", "--out", "t.md", "--out", "t.png", "--out", "t.csv"])
    assert args.out == ["t.md", "t.png", "t.csv"] and not hasattr(args, "plot")
    old = parser().parse_args(["eval", "compare", "r", "--plot", "p.svg", "--out", "t.md"])
    assert old.out == ["p.svg", "t.md"] and capsys.readouterr().err.count("--plot is deprecated") == 1


def test_a_flag_that_is_now_the_default_still_parses_with_one_warning(capsys):
    """eval run --all-rows: every row is scored by default now; the flag changes nothing."""
    args = parser().parse_args(["eval", "run", "--images", "i", "--method", "m", "--out", "o", "--all-rows"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--all-rows is deprecated" in err and "every row is scored" in err
    assert not args.curated_only and "--all-rows" not in verbs()["eval run"].format_help()


@pytest.fixture(scope="module")
def church(tmp_path_factory) -> Path:
    from tests.conftest import smoke_build

    out = tmp_path_factory.mktemp("vocabulary") / "church"
    smoke_build(out, ["church"], image_limit=1)
    return out


def test_old_and_new_spellings_run_end_to_end(church, tmp_path, capsys):
    """verify writes its report to --out (and still to --report, with a warning); curate takes the
    curation flags it shares with build; -q after the verb silences the log."""
    import json

    assert main(["verify", str(church), "--out", str(tmp_path / "new.csv")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["verify", str(church), "--report", str(tmp_path / "old.csv")]) == 0
    assert "--report is deprecated" in capsys.readouterr().err
    assert (tmp_path / "new.csv").read_text() == (tmp_path / "old.csv").read_text()
    assert main(["curate", str(church), "--clip-threshold", "0.25", "--nudenet-threshold", "0.3", "--no-progress",
                 "-q"]) == 0
    assert capsys.readouterr().err == ""  # -q after the verb: no log lines
    plan = json.loads((church / "_build" / "plan.json").read_text())
    assert plan["config"]["curation"]["clip_threshold"] == 0.25
    assert plan["config"]["curation"]["nudenet_threshold"] == 0.3
