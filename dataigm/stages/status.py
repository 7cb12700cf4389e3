"""`dataigm status DIR`: which ranks of a build are complete, missing or failed, and their logs."""

from __future__ import annotations

from dataclasses import dataclass

from dataigm.core import layout
from dataigm.core.plan import BuildPlan
from dataigm.core.storage import Store


@dataclass
class RankStatus:
    """The state of one rank: complete, missing or failed, its shards done, and its log."""

    rank: int
    state: str  # complete | missing | failed
    done: int
    total: int
    log: str | None


def _log_of(store: Store, tasks: int, rank: int) -> tuple[str | None, bool]:
    """(log path, whether it records a failure) of a rank's datatrove task log."""
    rel = layout.task_log("generate", tasks, rank)
    if not store.exists(rel):
        return None, False
    text = store.read_bytes(rel).decode(errors="replace")
    return store.path(rel), ("Traceback" in text or "| ERROR" in text)


def rank_statuses(out: str, tasks: int | None = None) -> tuple[list[RankStatus], bool]:
    """Status of every rank of `tasks` (default: the last build's), and whether it is packed."""
    from dataigm.stages.run import missing_shards

    store = Store(out)
    plan = BuildPlan.read(store)
    tasks = tasks or plan.last_tasks
    missing = {s.name for s in missing_shards(store, plan)}
    shards = plan.shards()
    statuses = []
    for rank in range(tasks):
        mine = [s for i, s in enumerate(shards) if i % tasks == rank]
        done = sum(s.name not in missing for s in mine)
        log, failed = _log_of(store, tasks, rank)
        state = "complete" if done == len(mine) else ("failed" if failed else "missing")
        statuses.append(RankStatus(rank, state, done, len(mine), log))
    packed = store.exists(layout.MANIFEST) and not store.exists(layout.JOURNAL)
    return statuses, packed and not missing
