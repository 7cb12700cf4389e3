"""Curation as data: detectors return structured verdicts, category builders declare which checks
apply to which row roles, and `decide` turns the verdicts of a row into its status and reasons.

Nothing here matches detector or concept names: a check says which detector (by registry name and
options) answers which question (`key`), and what answer each role must give (`expect`). Rows are
never removed: a row that fails a check keeps status "dropped", the reason codes and a message; the
twin of a dropped forget/retain image gets `pair_status` "broken".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

ROLES = ("forget", "retain", "unrelated", "robustness")
PAIRED_ROLES = ("forget", "retain")
ANY_ROLE = "*"
PRESENCE = "concept"  # the key of the check that asks whether an image shows its concept


@dataclass(frozen=True)
class Verdict:
    """What one detector says about one image."""

    name: str  # detector registry name
    version: str
    score: float
    threshold: float
    decision: bool  # True: the property the detector looks for is present
    code: str  # machine-readable finding, e.g. "nudity_present", "blank_image", "concept_absent"
    message: str  # one human sentence: score against threshold
    details: str = ""
    check: str = ""  # the curation check this verdict answers (filled by the curate stage)

    def as_row(self) -> dict[str, Any]:
        """The verdict as a row of the `verdicts` column."""
        return asdict(self)


class Detector(Protocol):
    """What the curate stage, `dataigm judge` and evaluation need of a detector."""

    name: str
    version: str
    threshold: float

    def judge(self, images: list[np.ndarray]) -> list[Verdict]:
        """One verdict per RGB uint8 image (H, W, 3), in order."""
        ...


def decision_rule(detector: Detector) -> str:
    """A detector's decision rule in words: its own `rule` (e.g. a category judge deciding by its
    most probable label), else "score >= threshold"."""
    return getattr(detector, "rule", None) or f"score >= {detector.threshold:g}"


@dataclass(frozen=True)
class Check:
    """One question curation asks of every image of a concept.

    key: what is asked ("blank", "concept", "nudity", "person"); detector: registry name;
    options: the detector's constructor arguments (JSON-able); expect: role -> the decision rows of
    that role must have (roles not listed, and not covered by "*", are recorded only).
    """

    key: str
    detector: str
    options: Mapping[str, Any] = field(default_factory=dict)
    expect: Mapping[str, bool] = field(default_factory=dict)
    about: str = ""  # what the detector looks for, in words ("the concept", "a person")

    def expected(self, role: str) -> bool | None:
        """The decision rows of `role` must have (None: recorded only)."""
        return self.expect.get(role, self.expect.get(ANY_ROLE))

    def spec(self) -> dict[str, Any]:
        """The check as JSON (what the policy signature hashes)."""
        return {"key": self.key, "detector": self.detector, "options": dict(self.options),
                "expect": dict(self.expect)}

    def judge(self):
        """The check's detector as a judge spec (`.load()` makes it; `.as_json()` records it)."""
        from dataigm.core.registry import JudgeSpec

        return JudgeSpec(self.detector, dict(self.options), source=f"curation check {self.key!r}")

    def local(self) -> bool:
        """Whether every model, weights file or judge artifact the check names is a local path, so
        loading it needs no download (a Hub model id is not)."""
        return all(Path(value).exists() for key in PATH_OPTIONS
                   if isinstance(value := self.options.get(key), str) and value)


@dataclass(frozen=True)
class CurationPolicy:
    """The checks a category builder asks of every image of one concept."""

    checks: tuple[Check, ...]
    # Checks whose verdicts come from generation itself (the pipeline's safety checker), not a detector.
    generation_checks: tuple[Check, ...] = ()

    def all_checks(self) -> tuple[Check, ...]:
        """The detector checks and those whose verdicts generation records."""
        return self.generation_checks + self.checks

    def presence(self) -> Check | None:
        """The concept-presence check (what a judge of this concept is compared with), if any."""
        return next((c for c in self.checks if c.key == PRESENCE), None)

    def signature(self) -> str:
        """Changes when any check, detector option or expectation changes, or the contents of a local
        judge, model or weights file it names (a judge retrained in place): shards are re-judged."""
        blob = json.dumps([_with_contents(c.spec()) for c in self.checks], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


PATH_OPTIONS = ("artifact", "model", "weights")  # detector options that may name a local file or folder


def _with_contents(spec: dict[str, Any]) -> dict[str, Any]:
    from dataigm.core.fingerprint import path_digest

    contents = {key: path_digest(Path(value)) for key in PATH_OPTIONS
                if isinstance(value := spec["options"].get(key), str) and value and Path(value).exists()}
    return {**spec, "contents": contents} if contents else spec


@dataclass(frozen=True)
class Decision:
    """A row's status and why."""

    status: str  # ok | dropped
    reason: str  # human sentences joined by "; "
    codes: tuple[str, ...]


def decide(policy: CurationPolicy, role: str, verdicts: Iterable[Mapping[str, Any]]) -> Decision:
    """Status of one image row: dropped when any check's decision differs from what its role needs."""
    by_check = {v["check"]: v for v in verdicts}
    codes, messages = [], []
    for check in policy.all_checks():
        want = check.expected(role)
        found = by_check.get(check.key)
        if want is None or found is None or bool(found["decision"]) == want:
            continue
        codes.append(found["code"])
        need = "must show" if want else "must not show"
        messages.append(f"{found['message']} ({role} images {need} {check.about or check.key})")
    if codes:
        return Decision("dropped", "; ".join(messages), tuple(codes))
    return Decision("ok", "", ())


def pair_statuses(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """row id -> pair status: "complete" (both forget/retain images of the same seed are ok),
    "broken" (one of them was dropped, or its twin is missing) or "unpaired" (other roles, and
    concepts without retain twins)."""
    rows = list(rows)
    groups: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for row in rows:
        if row["role"] in PAIRED_ROLES:
            groups.setdefault((row["pair_id"], row["image_index"]), []).append(row)
    out = {row["id"]: "unpaired" for row in rows}
    for members in groups.values():
        if {m["role"] for m in members} != set(PAIRED_ROLES):
            if len(members) == 1 and members[0]["role"] == "forget":
                continue  # entity concepts: forget rows have no twin
            state = "broken"
        else:
            state = "complete" if all(m["status"] == "ok" for m in members) else "broken"
        for m in members:
            out[m["id"]] = state
    return out


@dataclass(frozen=True)
class CurationOptions:
    """What the user chose for curation; builders turn it into each concept's policy."""

    judges: tuple[tuple[str, str], ...] = ()  # (target concept or category, judge artifact folder)
    clip: str | None = None  # zero-shot CLIP model (id or local folder); None: the builder's default
    clip_revision: str | None = None
    clip_threshold: float = 0.5
    # CLIP towers' precision; "auto": bf16 where the hardware computes it natively, else fp32
    # (core.precision). A build plan records the precision it resolved to.
    clip_dtype: str = "auto"
    nudenet_threshold: float = 0.45
    person_check: str | None = None  # YOLO weights for person presence (nudity retain rows)

    @classmethod
    def field_names(cls) -> set[str]:
        """The options a build or re-curation can set."""
        from dataclasses import fields

        return {f.name for f in fields(cls)}

    def judge_for(self, concept: str, category: str) -> str | None:
        """The judge artifact for a concept: one trained for it, else one for its category."""
        found = dict(self.judges)
        return found.get(concept) or found.get(category)

    def as_json(self) -> dict[str, Any]:
        """The options as the plan and manifest record them."""
        return {**asdict(self), "judges": [list(j) for j in self.judges]}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> CurationOptions:
        """Options as `as_json` recorded them."""
        return cls(**{**d, "judges": tuple(tuple(j) for j in d.get("judges", ()))})


def threshold_verdict(name: str, version: str, score: float, threshold: float, finding: str,
                      details: str = "") -> Verdict:
    """A verdict for "score >= threshold means `finding` is present" (codes `<finding>_present` /
    `<finding>_absent`, message with the numbers)."""
    present = bool(score >= threshold)
    return Verdict(name, version, float(score), float(threshold), present,
                   f"{finding}_{'present' if present else 'absent'}",
                   f"{name} {score:.3f} {'>=' if present else '<'} {threshold:g}", details)
