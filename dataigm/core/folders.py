"""Which folders are dataigm's, of which kind, and who is writing one right now.

Ownership: a folder is dataigm's only when it holds the owner marker (`layout.OWNER`), written
when a verb first writes into a new or empty folder and naming the folder's kind: `release` (a
build), `prompts` (a folder of prompt configs from `prompts generate|import`, which `build` turns
into a release), `run` (an evaluation run) or `judge` (a judge artifact). A `_build` folder, a
README or a manifest-like file proves nothing: a Sphinx tree has `_build` too. Folders written
before markers existed are recognised by what they hold (a readable release manifest or build
plan, an evaluation spec, a judge config with its weights) and marked on their next write, with
one log line that says so.

Locks: every verb that writes a folder holds its lock (`layout.FOLDER_LOCK`) while it works. The
lock is an OS file lock (`flock`; NFSv4 and Lustre honour it across machines), so a killed holder
never leaves it taken; the file also records who holds it (pid, host, start time, command), so a
second writer stops with one line naming the holder, or waits for it (`wait=True`, the CLI's
`--wait`). A record whose holder is gone is a stale lock: the next writer takes it over and says
so. The ranks of one sharded build (`build --shard I/N`, one process per rank) share the lock
(`shared=True`); any other writer excludes them. Folders on object stores (fsspec URLs other than
local paths) are not locked.

Nothing left behind by a failure: a verb checks its inputs before it claims a folder, and when it
fails anyway before its first real write (a bad input found late, Ctrl-C while loading a model),
`writing_folder` takes back what the claim itself made: the owner marker (or the one it replaced),
the lock file, the lock files of shared files, temporaries, empty folders, and the folder itself
when it did not exist. The folder is then as it was, byte for byte. Once anything else was written
(a shard, a plan), everything stays: the rerun resumes it. The ranks of a sharded build, which
share the folder, take nothing back: their inputs are checked before they claim it.

What an evaluation run calls (any verb that writes a folder of one kind does the same):

    with writing_folder(out, "run", command="dataigm eval run", wait=args.wait):
        ...  # checked (kind), locked, marked: write the run

or, in steps: `check_folder_kind(out, "run")` before any work, then `with folder_lock(out, "dataigm
eval run"):` and `claim_folder(out, "run")` inside it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataigm.core import layout
from dataigm.core.errors import DataIGMError
from dataigm.core.logs import get
from dataigm.core.storage import TMP_MARK, Store

KINDS = ("release", "prompts", "run", "judge")
# Kinds a verb that writes `kind` may also write into: prompt configs go into releases, and a
# folder of prompt configs becomes a release when it is built.
COMPATIBLE = {"release": ("release", "prompts"), "prompts": ("prompts", "release"), "run": ("run",),
              "judge": ("judge",)}
DESCRIBED = {"release": "a dataigm release folder", "prompts": "a dataigm prompt folder",
             "run": "an evaluation run folder", "judge": "a judge artifact folder"}
MARKER_TAG = "dataigm folder"
RECORD_BYTES = 1024  # the holder record is written in one call, padded to this size
WAIT_POLL_S = 0.5

log = get("folders")
_held: dict[str, int] = {}  # folders this process (or the process it was forked from) holds


# -- ownership ------------------------------------------------------------------------------------


def read_owner(store: Store) -> str | None:
    """The kind the folder's owner marker names (None: no marker); a corrupt marker is refused."""
    if not store.exists(layout.OWNER):
        return None
    try:
        marker = json.loads(store.read_bytes(layout.OWNER))
    except (json.JSONDecodeError, UnicodeDecodeError):
        marker = None
    if not isinstance(marker, dict) or marker.get("dataigm") != MARKER_TAG or marker.get("kind") not in KINDS:
        raise DataIGMError(f"{store.path(layout.OWNER)}: corrupt owner marker; it should name one of "
                           f"{', '.join(KINDS)}")
    return marker["kind"]


def _json_object(store: Store, rel: str) -> dict[str, Any] | None:
    try:
        value = json.loads(store.read_bytes(rel))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def legacy_kind(store: Store) -> str | None:
    """The kind of a folder written before owner markers, from what it holds (None: not one of
    ours): an evaluation spec or an evaluation plan (run), a judge config naming its target beside
    its weights (judge), a readable build plan or release manifest (release; prompts when it holds
    prompt configs only)."""
    if store.exists(layout.LEGACY_RUN_SPEC) and _json_object(store, layout.LEGACY_RUN_SPEC) is not None:
        return "run"
    config = _json_object(store, layout.JUDGE_CONFIG) if store.exists(layout.JUDGE_CONFIG) else None
    if config is not None and "target" in config and store.exists(layout.JUDGE_WEIGHTS):
        return "judge"
    plan = _json_object(store, layout.PLAN) if store.exists(layout.PLAN) else None
    if plan is not None and plan.get("kind") == "eval":  # an evaluation's generation plan
        return "run"
    if plan is not None and {"config", "concepts", "jobs", "fingerprint"} <= set(plan):
        return "release"
    manifest = _json_object(store, layout.MANIFEST) if store.exists(layout.MANIFEST) else None
    if manifest is not None and isinstance(manifest.get("configs"), dict) and "schema_version" in manifest:
        kinds = {c.get("kind") for c in manifest["configs"].values() if isinstance(c, dict)}
        return "prompts" if kinds <= {"prompts"} else "release"
    return None


def _is_empty(store: Store) -> bool:
    """Nothing in the folder but, at most, its lock file (and a marker being written by a process
    that shares the lock: ranks of one sharded build start together)."""
    names = {p.rstrip("/").rsplit("/", 1)[-1] for p in store.fs.ls(store.root, detail=False)}
    if names != {layout.WORK}:
        return not names
    work = {p.rstrip("/").rsplit("/", 1)[-1] for p in store.fs.ls(store.path(layout.WORK), detail=False)}
    return bool(work) and all(n == layout.FOLDER_LOCK.rsplit("/", 1)[-1] or TMP_MARK in n for n in work)


def folder_kind(path: str) -> tuple[str | None, str]:
    """(kind, how) of a folder: how is "new" (absent or empty), "marked", "legacy" (ours by its
    contents, no marker yet) or "foreign" (kind None: someone else's files)."""
    store = Store(path)
    if not store.exists(""):
        if store.local:  # a new folder: every existing parent must be a folder
            for parent in Path(store.root).parents:
                if parent.exists():
                    if not parent.is_dir():
                        raise DataIGMError(f"{path}: {parent} is a file, not a folder")
                    break
        return None, "new"
    if not store.fs.isdir(store.root):
        raise DataIGMError(f"{path}: exists and is not a folder")
    if _is_empty(store):
        return None, "new"
    marked = read_owner(store)
    if marked is not None:
        return marked, "marked"
    found = legacy_kind(store)
    return (found, "legacy") if found else (None, "foreign")


def check_folder_kind(path: str, kind: str, flag: str = "--out") -> str:
    """Refuse, in one line and before any work, a folder a verb writing `kind` must not write: a
    file, someone else's folder, or a dataigm folder of another kind. Returns how it is ours:
    "new", "marked" or "legacy"."""
    if kind not in KINDS:
        raise ValueError(f"unknown folder kind {kind!r}")
    if not path or not str(path).strip():
        raise DataIGMError(f"{flag or 'the folder'} is empty; give a folder")
    flag = f"{flag} " if flag else ""
    try:
        found, how = folder_kind(path)
    except DataIGMError as exc:
        raise DataIGMError(f"{flag}{exc}") from None
    if how == "foreign":
        raise DataIGMError(f"{flag}{path}: the folder holds other files and is not a dataigm folder (no "
                           f"{layout.OWNER}); give a new or empty folder")
    if found is not None and found not in COMPATIBLE[kind]:
        raise DataIGMError(f"{flag}{path}: is {DESCRIBED[found]}, not {DESCRIBED[kind]}; give another folder")
    return how


def claim_folder(path: str, kind: str, announce: bool = True) -> str | None:
    """Mark the folder as dataigm's, of `kind` (call with its lock held, after `check_folder_kind`):
    written into a new folder, into a folder from before markers (said in one log line; with
    `announce=False` the caller says it, and gets the line's text back), and over a prompt folder
    that is now built into a release."""
    store = Store(path)
    marked = read_owner(store) if store.exists("") else None
    if marked == kind or (marked == "release" and kind == "prompts"):
        return None
    note = None
    if marked is None and store.exists("") and not _is_empty(store):
        found = legacy_kind(store)
        if found is None:
            raise DataIGMError(f"{path}: the folder holds other files and is not a dataigm folder")
        note = f"{path}: {DESCRIBED[found]} written before owner markers; marked it as ours ({layout.OWNER})"
        if announce:
            log.warning("%s", note)
    store.write_json(layout.OWNER, {"dataigm": MARKER_TAG, "kind": kind,
                                    "marked": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    return note


# -- locks ----------------------------------------------------------------------------------------


def _describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "another dataigm process (it left no record)"
    started = str(holder.get("started", "?")).replace("T", " ")
    where = f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, since {started}"
    if holder.get("mode") == "shared":  # ranks share the lock; the record is the last one to start
        return f"the ranks of a sharded build (`{holder.get('command', 'dataigm')}`; the last to start: {where})"
    return f"`{holder.get('command', 'dataigm')}` ({where})"


def _read_record(fd: int) -> dict[str, Any] | None:
    try:
        data = os.pread(fd, RECORD_BYTES, 0)
        record = json.loads(data.decode().strip()) if data.strip() else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def _write_record(fd: int, command: str, shared: bool) -> None:
    record = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
              "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "mode": "shared" if shared else "exclusive"}
    data = json.dumps(record).encode()[: RECORD_BYTES - 1]
    os.pwrite(fd, data.ljust(RECORD_BYTES, b" "), 0)


def _is_ours(record: dict[str, Any] | None) -> bool:
    return bool(record) and record.get("pid") == os.getpid() and record.get("host") == socket.gethostname()


def _acquire(fd: int, where: str, command: str, wait: bool, shared: bool) -> None:
    import fcntl

    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    waiting = False
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = _read_record(fd)
            if not wait:
                raise DataIGMError(f"{where} is being written by {_describe(holder)}; wait for it to finish, or "
                                   f"rerun with --wait to start when it does") from None
            if not waiting:
                log.warning("%s is being written by %s; waiting for it to finish", where, _describe(holder))
                waiting = True
            time.sleep(WAIT_POLL_S)


def _topmost_missing(folder: str) -> str | None:
    """The highest folder on the way to `folder` that does not exist (None: `folder` exists)."""
    missing, path = None, Path(folder)
    while not path.exists() and path != path.parent:
        missing, path = path, path.parent
    return str(missing) if missing is not None else None


@dataclass
class Held:
    """A folder lock as `folder_lock` holds it: its file descriptor (None: not locked here: an
    object store, a read-only folder, or an outer holder in this process), the highest folder that
    opening the lock created (the folder itself, a parent, or its work area) and whether it created
    the lock file, so a verb that fails before writing anything can take them back."""

    fd: int | None = None
    created: str | None = None
    created_lock: bool = False
    shared: bool = False


def _open_lock(store: Store, path: str) -> tuple[int, str | None, bool] | None:
    """The lock file, opened (created in the work area): (fd, the highest folder created, whether
    the file was created); None where it cannot be (read-only)."""
    lock_path = store.path(layout.FOLDER_LOCK)
    work = lock_path.rsplit("/", 1)[0]
    for _ in range(5):  # a writer that made the folder and failed may remove it meanwhile: open again
        created = _topmost_missing(work)
        try:
            os.makedirs(work, exist_ok=True)
            try:
                return os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644), created, True
            except FileExistsError:
                return os.open(lock_path, os.O_RDWR | os.O_CLOEXEC), created, False
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("%s: cannot lock the folder (%s); make sure no other dataigm command writes it", path,
                        exc.strerror or exc)
            return None
    raise DataIGMError(f"{path}: the folder keeps disappearing while its lock is taken; is another program "
                       "removing it?")


def _still_linked(fd: int, lock_path: str) -> bool:
    """Whether the locked file is still the folder's lock file (a writer that created the folder
    and failed before writing anything removes it, with the folder, before letting go)."""
    try:
        now = os.stat(lock_path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (now.st_ino, now.st_dev) == (mine.st_ino, mine.st_dev)


def _lock(store: Store, path: str, command: str, wait: bool, shared: bool) -> Held:
    """Open, take and record the folder's lock (see `folder_lock`)."""
    import fcntl

    lock_path = store.path(layout.FOLDER_LOCK)
    while True:
        opened = _open_lock(store, path)
        if opened is None:
            return Held(shared=shared)
        fd, created, created_lock = opened
        try:
            _acquire(fd, path, command, wait, shared)
        except DataIGMError:
            os.close(fd)
            raise
        except OSError as exc:  # no locks on this filesystem
            log.warning("%s: cannot lock the folder on this filesystem (%s); make sure no other dataigm "
                        "command writes it", path, exc.strerror or exc)
            os.close(fd)
            return Held(shared=shared)
        if _still_linked(fd, lock_path):
            break
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    previous = _read_record(fd)
    if previous and not _is_ours(previous) and not (shared and previous.get("mode") == "shared"):
        log.warning("%s: %s ended without finishing; taking over its folder", path, _describe(previous))
    if not shared:
        os.ftruncate(fd, 0)
    _write_record(fd, command, shared)
    return Held(fd, created, created_lock, shared)


def _release(fd: int, shared: bool) -> None:
    """Clear the holder record (the last rank out of a shared lock clears it) and unlock."""
    import fcntl

    try:
        if shared:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(fd, 0)
    except BlockingIOError:
        pass
    fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def folder_lock(path: str, command: str, wait: bool = False, shared: bool = False) -> Iterator[Held]:
    """Hold the folder's lock while the block runs (reentrant within a process and the processes it
    forks). A second writer gets one DataIGMError naming the holder, or waits with `wait`;
    `shared`: the ranks of one sharded build hold it together. Where the folder cannot be locked
    (an object store, a read-only folder, a filesystem without locks) the block runs unlocked,
    with one warning line for the last two. Yields what it holds (`Held`)."""
    store = Store(path)
    key = os.path.realpath(store.root) if store.local else ""
    held = Held(shared=shared)
    if not store.local:
        log.debug("%s: not a local folder; not locked", path)
    elif not _held.get(key):
        held = _lock(store, path, command, wait, shared)
    if key:
        _held[key] = _held.get(key, 0) + 1
    try:
        yield held
    finally:
        if key:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]
        if held.fd is not None:
            try:
                _release(held.fd, shared)
            finally:
                os.close(held.fd)


# -- taking back what a failed claim made -----------------------------------------------------------


def _removable(rel: str) -> bool:
    """Files a claim and its lock make, that no verb's result is: the owner marker, the folder
    lock, the lock files beside shared files (Store.lock) and temporaries of unfinished writes."""
    name = rel.rsplit("/", 1)[-1]
    return rel in (layout.OWNER, layout.FOLDER_LOCK) or name.endswith(".lock") or TMP_MARK in name


def _entries(root: str) -> dict[str, tuple[int, int] | None]:
    """Every path under `root`: a file's (size, mtime_ns), None for a folder."""
    out: dict[str, tuple[int, int] | None] = {}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        for d in dirs:
            out[prefix + d] = None
        for f in files:
            try:
                st = os.lstat(os.path.join(folder, f))
            except FileNotFoundError:
                continue
            out[prefix + f] = (st.st_size, st.st_mtime_ns)
    return out


@dataclass
class _Before:
    """A folder as it was when a verb claimed it (see `writing_folder`)."""

    root: str
    existed: bool
    created: str | None  # the highest folder the lock created above or at the root (the root did not exist)
    created_lock: bool
    entries: dict[str, tuple[int, int] | None]
    owner: bytes | None

    @classmethod
    def take(cls, store: Store, held: Held, kind: str) -> _Before | None:
        """What to compare with if the verb fails; None when a claim changes nothing worth taking
        back (a folder already marked of this kind, its lock file there before) or cannot be (an
        unlocked or shared folder)."""
        if held.fd is None or held.shared:
            return None
        root = os.path.abspath(store.root)
        created = os.path.abspath(held.created) if held.created else None
        existed = created is None or not (created == root or root.startswith(created.rstrip(os.sep) + os.sep))
        owner_path = os.path.join(root, layout.OWNER)
        owner = Path(owner_path).read_bytes() if os.path.isfile(owner_path) else None
        marked = None
        if owner is not None:
            try:
                marked = json.loads(owner).get("kind")
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                marked = None
        if existed and (marked == kind or (marked, kind) == ("release", "prompts")) and not held.created_lock \
                and not created:
            return None
        entries = _entries(root)  # taken with the lock held: what the lock itself made is left out
        if held.created_lock:
            entries.pop(layout.FOLDER_LOCK, None)
        if created and existed:  # the work area, made for the lock
            entries.pop(os.path.relpath(created, root).replace(os.sep, "/"), None)
        return cls(root, existed, created, held.created_lock, entries, owner)

    def restore_if_untouched(self) -> bool:
        """Take back the marker, the lock and the folders the claim made, if nothing else was
        written since `take` (a verb that failed before its first real write); else keep all.
        Returns whether it took them back."""
        try:
            now = _entries(self.root) if os.path.isdir(self.root) else {}
            for rel, stat in now.items():
                was = self.entries.get(rel, "absent")
                if stat is None or _removable(rel):
                    continue  # folders and bookkeeping: taken back below
                if was != stat:
                    return False  # a real write: it stays, and the rerun resumes it
            if any(rel not in now for rel in self.entries if not _removable(rel)):
                return False  # something was removed: not a failure before the first write
            if not self.existed:
                shutil.rmtree(self.root)
                self._remove_empty_parents()
                return True
            owner = os.path.join(self.root, layout.OWNER)
            if self.owner is None:
                if os.path.exists(owner):
                    os.unlink(owner)
            elif Path(owner).read_bytes() != self.owner:
                Store(self.root).write_bytes(layout.OWNER, self.owner)
            for rel in sorted(set(now) - set(self.entries) - {layout.OWNER}, key=lambda r: -r.count("/")):
                full = os.path.join(self.root, rel)
                if now[rel] is None:
                    os.rmdir(full)
                else:
                    os.unlink(full)
        except OSError as exc:  # never hide the error that brought us here
            log.debug("%s: could not take back the claim (%s)", self.root, exc)
            return False
        return True

    def _remove_empty_parents(self) -> None:
        parent = os.path.dirname(self.root)
        while self.created and len(parent) >= len(self.created) and parent.startswith(self.created):
            try:
                os.rmdir(parent)
            except OSError:
                return
            parent = os.path.dirname(parent)


@contextmanager
def writing_folder(path: str, kind: str, command: str, wait: bool = False, shared: bool = False,
                   flag: str = "--out", create: bool = True) -> Iterator[str]:
    """Check, lock and mark a folder a verb writes: `check_folder_kind`, then `folder_lock`, then
    `claim_folder` (the check runs again under the lock). `create=False`: a verb that works on an
    existing folder (pack, curate): a new or empty one is neither locked nor marked (the verb then
    says what is missing). Yields how the folder was ours ("new", "marked", "legacy").

    When the block fails before anything but the claim was written (see the module's docstring),
    the folder is put back as it was: a new one removed with the parents the lock made, an existing
    one without the marker or lock file the claim added."""
    how = check_folder_kind(path, kind, flag)
    if how == "new" and not create:
        yield how
        return
    store = Store(path)
    with folder_lock(path, command, wait=wait, shared=shared) as held:
        before = _Before.take(store, held, kind) if store.local else None
        note = None
        try:
            how = check_folder_kind(path, kind, flag)
            try:
                note = claim_folder(path, kind, announce=False)
            except OSError as exc:  # read-only: a verb that only reads it (verify) goes on; writers fail anyway
                log.warning("%s: cannot write its owner marker (%s)", path, exc.strerror or exc)
            yield how
        except BaseException:
            if before is not None and before.restore_if_untouched():
                note = None  # the folder is as it was: unmarked
            raise
        finally:
            if note:
                log.warning("%s", note)
