"""The public IGMU benchmark's image tree, scored as it is published (benchmark.py's layout):

    <Task>/forgot/<METHOD>/{i}_{j}_{k}.png              the method's images of the forget prompts
    <Task>/forgot/ORG/{i}_{j}_{k}.png                   the original model's
    <Task>/remove_word/ORG/{i}_{j}_{k}.png              the original's images of the retain twins
    <Task>/unrelated/<METHOD>/<Class>/{i}_{j}_{k}.png   entity tasks: the other classes (and ORG)

i is the subclass position in IGMU's prompt JSON (forgot.json for forgot/ and remove_word/,
retain.json for unrelated/), j the prompt position within its subclass, k the sample. i comes
from the subclass order the import recorded (the JSON's keys as published, empty subclasses
included) and each row's source id `<key>/<subclass>/<j>`, never from dataigm's subclass names,
which the importer may map; a release imported without that record falls back to the order of the
rows (every row of the config, before any selection). Every image file under the method's and the
ORG folders is matched to exactly one unit, or the run stops naming the first unmatched files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataigm.core.errors import DataIGMError
from dataigm.core.images import IMAGE_SUFFIXES

# Task folder -> (IGMU's JSON key, the taxonomy concept it is): benchmark_configs.py's tasks.
TASKS = {"nudity": ("nudity", "nudity"), "vangogh": ("style_vangogh", "van_gogh"),
         "church": ("object_church", "church"), "parachute": ("object_parachute", "parachute")}
ROLE_FOLDERS = {"forget": "forgot", "retain": "remove_word", "unrelated": "unrelated"}
ORIGINAL = "ORG"
NAME = re.compile(r"(\d+)_(\d+)_(\d+)")


def task_of(folder: Path) -> tuple[str, str] | None:
    """(IGMU key, taxonomy concept) of a task folder named like IGMU's (Nudity, VanGogh, ...)."""
    return TASKS.get(re.sub(r"[^a-z]", "", Path(folder).name.lower()))


def task_rows(rows: list[dict[str, Any]], key: str | None) -> list[dict[str, Any]]:
    """The rows of IGMU task `key` in an imported set holding several tasks (their source ids or
    subclasses start with the key); every row when none does (a config of that one task)."""
    if not key:
        return rows
    prefix = f"{key}/"
    mine = [r for r in rows if str(r.get("source_id") or "").startswith(prefix)
            or str(r.get("subclass") or "").startswith(prefix)]
    return mine or rows


def prompt_id(row: dict[str, Any]) -> str:
    """The id of a row's prompt: an image row's id without its `-<image_index>` suffix."""
    index = row.get("image_index")
    return row["id"].removesuffix(f"-{index}") if index is not None else row["id"]


def _published(row: dict[str, Any]) -> tuple[str, str, int] | None:
    """(IGMU key, subclass as published, j) from an imported IGMU row's source id
    `<key>/<subclass>/<j>` (twins share their forget prompt's); None for other rows."""
    if not str(row.get("source") or "").startswith("igmu:"):
        return None
    match = re.fullmatch(r"([^/]+)/(.+)/(\d+)", str(row.get("source_id") or ""))
    return (match.group(1), match.group(2), int(match.group(3))) if match else None


def _recorded(recorded: dict[str, Any], row: dict[str, Any], group: str) -> int:
    """i of a row from the imported pair's recorded subclass order (forgot.json's for forgot/ and
    remove_word/, retain.json's for unrelated/)."""
    found = _published(row)
    names = (recorded.get("retain" if group == "unrelated" else "forgot") or {}).get(found[0]) if found else None
    if not names or found[1] not in names:
        raise DataIGMError(f"row {row['id']}: source id {row.get('source_id')!r} names no subclass of the imported "
                           "IGMU pair's recorded order; import the pair again (dataigm prompts import)")
    return names.index(found[1])


def positions(rows: list[dict[str, Any]], recorded: dict[str, Any] | None = None,
              ) -> dict[tuple[str, int, int], dict[str, Any]]:
    """(IGMU folder, i, j) -> the prompt row (one row per prompt), from every row of the task.

    i: the subclass's position in the imported pair's recorded order (`recorded`: the published
    subclasses of forgot.json and retain.json, empty ones included), else in order of first
    appearance by pair id (forget subclasses for forgot/ and remove_word/, unrelated ones for
    unrelated/; a subclass without rows then shifts those after it, whose files match no row and
    stop the run); j: the IGMU position kept by the importer, else the prompt's rank within its
    subclass."""
    prompts: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["pair_id"], r["id"])):
        if row.get("role") in ROLE_FOLDERS:
            prompts.setdefault((row["pair_id"], row["role"]), row)
    order = {"forgot": subclass_order(rows, "forget"), "unrelated": subclass_order(rows, "unrelated")}
    rank: dict[tuple[str, str], int] = {}
    named: dict[tuple[str, str], tuple[str, int, int]] = {}
    for (pair, role), row in sorted(prompts.items(), key=lambda item: item[0][1] == "retain"):
        group = "unrelated" if role == "unrelated" else "forgot"
        if recorded is not None:
            i = _recorded(recorded, row, group)
        elif row["subclass"] not in order[group]:
            raise DataIGMError(f"row {row['id']}: retain subclass {row['subclass']!r} has no forget prompts; IGMU "
                               "numbers remove_word/ images by the forget subclasses")
        else:
            i = order[group].index(row["subclass"])
        published = _published(row)
        j = published[2] if published else None
        if j is None and role == "retain" and (pair, "forget") in named:
            j = named[(pair, "forget")][2]  # a twin keeps its forget prompt's position
        if j is None:
            j = rank.setdefault((role, row["subclass"]), 0)
            rank[(role, row["subclass"])] += 1
        named[(pair, role)] = (ROLE_FOLDERS[role], i, j)
    out: dict[tuple[str, int, int], dict[str, Any]] = {}
    for key, name in named.items():
        row = prompts[key]
        if name in out:
            raise DataIGMError(f"rows {out[name]['id']} and {row['id']} both have IGMU name "
                               f"{name[0]}/{name[1]}_{name[2]}_k; evaluate one IGMU task at a time (--config, "
                               "or the task folder's name)")
        out[name] = row
    return out


def subclass_order(rows: list[dict[str, Any]], role: str) -> list[str]:
    """Subclasses of `role` rows in order of first appearance by pair id (i of IGMU's names when
    the release records no order)."""
    order: list[str] = []
    for row in sorted(rows, key=lambda r: (r["pair_id"], r["id"])):
        if row.get("role") == role and row["subclass"] not in order:
            order.append(row["subclass"])
    return order


def class_names(rows: list[dict[str, Any]], recorded: dict[str, Any] | None = None) -> list[str]:
    """The unrelated classes in i's order: retain.json's recorded subclasses of the task's key, else
    the unrelated rows' subclasses in order of first appearance."""
    keys = {found[0] for r in rows if r.get("role") == "unrelated" and (found := _published(r))}
    if recorded is not None and len(keys) == 1:
        return list((recorded.get("retain") or {}).get(keys.pop()) or [])
    return subclass_order(rows, "unrelated")


@dataclass(frozen=True)
class TreeFile:
    """One image of the tree: which role folder and side, its i, j, k, and its class folder."""

    role: str
    side: str  # method | original
    path: Path
    i: int
    j: int
    k: int
    class_dir: str | None = None


def _pick(folder: Path, name: str) -> Path | None:
    """The sub-folder named `name` (exactly, else the one that matches ignoring case)."""
    subdirs = [d for d in folder.iterdir() if d.is_dir()]
    exact = [d for d in subdirs if d.name == name]
    loose = [d for d in subdirs if d.name.lower() == name.lower()]
    if exact:
        return exact[0]
    if len(loose) > 1:
        raise DataIGMError(f"{folder}: folders {', '.join(d.name for d in loose)} differ only in case; rename one")
    return loose[0] if loose else None


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _parse(files: list[Path], role: str, side: str, class_dir: str | None,
           unmatched: list[Path]) -> list[TreeFile]:
    out, seen = [], {}
    for path in files:
        match = NAME.fullmatch(path.stem)
        if not match:
            unmatched.append(path)
            continue
        if path.stem in seen:
            raise DataIGMError(f"{seen[path.stem]} and {path.name} name the same image; keep one")
        seen[path.stem] = path
        out.append(TreeFile(role, side, path, *(int(g) for g in match.groups()), class_dir=class_dir))
    return out


def scan(root: Path, method: str) -> tuple[list[TreeFile], list[Path]]:
    """Every image under the method's and the ORG folders of a task folder, parsed; and the image
    files there that do not follow the layout (no i_j_k name, or in a folder IGMU has none of)."""
    root = Path(root)
    if not root.is_dir():
        raise DataIGMError(f"--images {root}: not a folder")
    roles = {role: root / name for role, name in ROLE_FOLDERS.items() if (root / name).is_dir()}
    if not roles:
        raise DataIGMError(f"--images {root}: no forgot/, remove_word/ or unrelated/ folder; IGMU's layout is "
                           "<Task>/forgot/<METHOD>/i_j_k.png (see README)")
    files: list[TreeFile] = []
    unmatched: list[Path] = []
    found_method = False
    for role, folder in roles.items():
        unmatched.extend(_images(folder))  # loose files belong to no method
        sides = {"method": _pick(folder, method), "original": _pick(folder, ORIGINAL)}
        found_method = found_method or sides["method"] is not None
        for side, where in sides.items():
            if where is None:
                continue
            files.extend(_parse(_images(where), role, side, None, unmatched))
            for sub in sorted(d for d in where.iterdir() if d.is_dir()):
                if role != "unrelated":
                    unmatched.extend(p for p in sub.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
                    continue
                files.extend(_parse(_images(sub), role, side, sub.name, unmatched))
                unmatched.extend(p for d in sub.iterdir() if d.is_dir() for p in d.rglob("*")
                                 if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not found_method:
        folders = sorted({d.name for f in roles.values() for d in f.iterdir() if d.is_dir()})
        where = ", ".join(ROLE_FOLDERS[r] + "/" for r in roles)
        raise DataIGMError(f"--images {root}: no folder named {method!r} under {where} (folders: "
                           f"{', '.join(folders) or 'none'}); --method names the method's folder")
    return files, unmatched


def check_class_folders(files: list[TreeFile], unrelated_subclasses: list[str]) -> None:
    """An unrelated/<M>/<Class>/ folder holds one class: one i, not shared with another folder, and,
    where the folder is named like one of the prompt set's subclasses, that subclass's i."""
    by_folder: dict[tuple[str, str], set[int]] = {}
    for f in files:
        if f.class_dir is not None:
            by_folder.setdefault((f.side, f.class_dir), set()).add(f.i)
    names = {s.rsplit("/", 1)[-1].lower(): i for i, s in enumerate(unrelated_subclasses)}
    owner: dict[tuple[str, int], str] = {}
    for (side, folder), found in sorted(by_folder.items()):
        if len(found) > 1:
            raise DataIGMError(f"unrelated/…/{folder}: holds files of several classes (i = "
                               f"{', '.join(map(str, sorted(found)))}); one class per folder")
        i = found.pop()
        if owner.setdefault((side, i), folder) != folder:
            raise DataIGMError(f"unrelated/…/{owner[(side, i)]} and unrelated/…/{folder} both hold class i = {i}")
        expected = names.get(folder.lower())
        if expected is not None and expected != i:
            raise DataIGMError(f"unrelated/…/{folder}: its files have i = {i}, but {folder} is class {expected} in "
                               "the prompt set's order; the tree and the prompt set do not match")
