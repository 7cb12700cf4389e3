"""A small Hugging Face Hub-compatible server for tests: stdlib http.server + the git CLI.

One bare git repository per Hub repo; commits are built with git plumbing and published with a
compare-and-swap on the branch ref (so a stale `parentCommit` gets 412 and writes nothing).
It implements the endpoints huggingface_hub and datasets call to publish, tag and load
(see ../shared/reference/hub-test-server.md). Run: python tests/hub_server.py ROOT PORTFILE
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

LFS_SUFFIXES = (".parquet", ".safetensors", ".png", ".bin", ".arrow")
COUNT_LOCK = threading.Lock()
ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())


def git(repo: Path, *args: str, data: bytes | None = None, env: dict | None = None, check: bool = True) -> bytes:
    result = subprocess.run(["git", "--git-dir", str(repo), *args], input=data, capture_output=True,
                            env={**os.environ, "GIT_AUTHOR_NAME": "hub", "GIT_AUTHOR_EMAIL": "hub@localhost",
                                 "GIT_COMMITTER_NAME": "hub", "GIT_COMMITTER_EMAIL": "hub@localhost",
                                 **(env or {})})
    if check and result.returncode:
        raise RuntimeError(result.stderr.decode())
    return result.stdout


def repo_dir(kind: str, repo_id: str) -> Path:
    return ROOT / "repos" / kind / f"{repo_id}.git"


def resolve(repo: Path, rev: str) -> str | None:
    out = subprocess.run(["git", "--git-dir", str(repo), "rev-parse", "--verify", "-q", f"{unquote(rev)}^{{commit}}"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None


class Hub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    # -- helpers -----------------------------------------------------------------------------
    def body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, code: int, payload=None, headers: dict | None = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else (json.dumps(payload).encode() if payload is not None else b"")
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if raw is None else "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def not_found(self, code: str = "EntryNotFound") -> None:
        self.send(404, {"error": code}, {"X-Error-Code": code})

    # -- routing -----------------------------------------------------------------------------
    def do_GET(self):
        self.route("GET")

    def do_HEAD(self):
        self.route("HEAD")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def route(self, method: str) -> None:
        body = self.body() if method in ("POST", "PUT") else b""
        down = ROOT / "fail-status"  # tests: answer every request with this status, as a Hub that is down, counted
        if down.exists():
            with COUNT_LOCK:
                counter = ROOT / "failed-requests"
                counter.write_text(str(int(counter.read_text() or 0) + 1 if counter.exists() else 1))
            return self.send(int(down.read_text()), {"error": "Internal Error (test)"})
        failures = ROOT / "fail-next"  # tests: answer the next N writes with 503, as a struggling Hub would
        if method == "POST" and failures.exists() and int(failures.read_text() or 0) > 0:
            failures.write_text(str(int(failures.read_text()) - 1))
            return self.send(503, {"error": "Service Unavailable (test)"})
        url = urlparse(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        try:
            if path == "/api/whoami-v2":
                return self.send(200, {"name": "tester", "type": "user", "orgs": [{"name": "dataigm-test"}],
                                       "auth": {"accessToken": {"role": "write"}}})
            if path == "/api/validate-yaml":
                return self.send(200, {"errors": [], "warnings": []})
            if path == "/api/repos/create" and method == "POST":
                return self.create(json.loads(body))
            if m := re.match(r"^/(datasets/|)(.+?)\.git/info/lfs/objects/batch$", path):
                return self.lfs_batch(json.loads(body))
            if m := re.match(r"^/lfs-upload/([0-9a-f]{64})$", path):
                return self.lfs_put(m.group(1), body)
            if m := re.match(r"^/api/(datasets|models)/([^/]+/[^/]+)(?:/(.*))?$", path):
                return self.api(method, m.group(1), m.group(2), m.group(3) or "", body, query)
            if m := re.match(r"^/(datasets/|)([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path):
                kind = "datasets" if m.group(1) else "models"
                return self.resolve_file(kind, m.group(2), m.group(3), m.group(4))
            return self.not_found("RepoNotFound")
        except Exception as exc:  # a test server: report the bug to the client and stderr, keep serving
            import traceback

            traceback.print_exc()
            return self.send(500, {"error": f"{type(exc).__name__}: {exc}"})

    # -- writes ------------------------------------------------------------------------------
    def create(self, req: dict) -> None:
        kind = {"dataset": "datasets", "model": "models", None: "models"}[req.get("type")]
        repo_id = f"{req['organization']}/{req['name']}" if req.get("organization") else req["name"]
        repo = repo_dir(kind, repo_id)
        if repo.exists():
            return self.send(409, {"error": "You already created this repo", "url": f"/{kind}/{repo_id}"})
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "--bare", "-b", "main")
        blob = git(repo, "hash-object", "-w", "--stdin", data=b"*.parquet filter=lfs diff=lfs merge=lfs -text\n")
        env = {"GIT_INDEX_FILE": str(repo / "tmp-index")}
        git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob.decode().strip()},.gitattributes", env=env)
        tree = git(repo, "write-tree", env=env).decode().strip()
        commit = git(repo, "commit-tree", tree, "-m", "initial commit").decode().strip()
        git(repo, "update-ref", "refs/heads/main", commit)
        (repo / "tmp-index").unlink()
        return self.send(200, {"url": f"http://{self.headers['Host']}/{kind}/{repo_id}", "name": repo_id})

    def lfs_batch(self, req: dict) -> None:
        objects = []
        for obj in req.get("objects", []):
            entry = {"oid": obj["oid"], "size": obj["size"]}
            if not (ROOT / "lfs" / obj["oid"]).exists():
                entry["actions"] = {"upload": {"href": f"http://{self.headers['Host']}/lfs-upload/{obj['oid']}"}}
            objects.append(entry)
        return self.send(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"})

    def lfs_put(self, oid: str, data: bytes) -> None:
        if hashlib.sha256(data).hexdigest() != oid:
            return self.send(400, {"error": "sha256 mismatch"})
        (ROOT / "lfs").mkdir(exist_ok=True)
        (ROOT / "lfs" / oid).write_bytes(data)
        return self.send(200, {})

    def commit(self, kind: str, repo_id: str, rev: str, body: bytes) -> None:
        repo = repo_dir(kind, repo_id)
        branch = unquote(rev)
        head = resolve(repo, f"refs/heads/{branch}")
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        header = next(x["value"] for x in lines if x["key"] == "header")
        parent = header.get("parentCommit")
        if parent and parent != head:
            return self.send(412, {"error": f"A commit has happened since. Please refresh and try again. "
                                            f"(parent {parent} is not the head {head})"})
        env = {"GIT_INDEX_FILE": str(repo / f"index-{os.getpid()}-{id(self)}")}
        try:
            git(repo, "read-tree", head, env=env)
            for item in lines:
                key, value = item["key"], item["value"]
                if key == "file":
                    data = base64.b64decode(value["content"]) if value.get("encoding") == "base64" else \
                        value["content"].encode()
                elif key == "lfsFile":
                    data = (ROOT / "lfs" / value["oid"]).read_bytes()
                elif key in ("deletedFile", "deletedFolder"):
                    files = git(repo, "ls-tree", "-r", "--name-only", head, "--", value["path"]).decode().split()
                    removals = "".join(f"0 {'0' * 40}\t{f}\n" for f in files or [value["path"]])
                    git(repo, "update-index", "--index-info", data=removals.encode(), env=env)
                    continue
                else:
                    continue
                blob = git(repo, "hash-object", "-w", "--stdin", data=data).decode().strip()
                git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{value['path']}", env=env)
            tree = git(repo, "write-tree", env=env).decode().strip()
        finally:
            Path(env["GIT_INDEX_FILE"]).unlink(missing_ok=True)
        message = header.get("summary", "commit") + ("\n\n" + header["description"] if header.get("description")
                                                      else "")
        new = git(repo, "commit-tree", tree, "-p", head, "-m", message).decode().strip()
        # Compare-and-swap: fails if the branch moved since we read it.
        moved = subprocess.run(["git", "--git-dir", str(repo), "update-ref", f"refs/heads/{branch}", new, head],
                               capture_output=True)
        if moved.returncode:
            return self.send(412, {"error": "A commit has happened since. Please refresh and try again."})
        return self.send(200, {"commitOid": new, "commitUrl": f"http://{self.headers['Host']}/{repo_id}/commit/{new}",
                               "success": True})

    # -- reads -------------------------------------------------------------------------------
    def entries(self, repo: Path, sha: str, sub: str = "", recursive: bool = True) -> list[dict]:
        args = ["ls-tree", "-l", *(["-r", "-t"] if recursive else []), sha]
        if sub:
            args.append(sub.rstrip("/") + "/")
        out = []
        for line in git(repo, *args).decode().splitlines():
            meta, path = line.split("\t", 1)
            _, kind, oid, size = meta.split()
            if kind == "tree":
                out.append({"type": "directory", "oid": oid, "size": 0, "path": path})
                continue
            entry = {"type": "file", "oid": oid, "size": int(size), "path": path}
            if path.endswith(LFS_SUFFIXES):
                content = git(repo, "cat-file", "blob", oid)
                entry["lfs"] = {"oid": hashlib.sha256(content).hexdigest(), "size": int(size), "pointerSize": 130}
            out.append(entry)
        return out

    def api(self, method: str, kind: str, repo_id: str, rest: str, body: bytes, query: dict) -> None:
        repo = repo_dir(kind, repo_id)
        if not repo.exists():
            return self.not_found("RepoNotFound")
        if method == "POST" and (m := re.match(r"^preupload/(.+)$", rest)):
            files = json.loads(body).get("files", [])
            return self.send(200, {"files": [{"path": f["path"], "uploadMode": "regular" if f["path"].endswith(
                (".md", ".json", ".gitattributes")) else "lfs", "shouldIgnore": False} for f in files]})
        if method == "POST" and (m := re.match(r"^commit/(.+)$", rest)):
            return self.commit(kind, repo_id, m.group(1), body)
        if method == "POST" and (m := re.match(r"^tag/(.+)$", rest)):
            req = json.loads(body)
            sha = resolve(repo, m.group(1))
            if not sha:
                return self.not_found("RevisionNotFound")
            if resolve(repo, f"refs/tags/{req['tag']}"):
                return self.send(409, {"error": f"Tag {req['tag']} already exists"})
            git(repo, "update-ref", f"refs/tags/{req['tag']}", sha, "0" * 40)
            return self.send(200, {})
        if rest == "refs":
            refs = {"branches": [], "tags": [], "converts": []}
            for line in git(repo, "for-each-ref", "--format=%(refname) %(objectname)").decode().splitlines():
                ref, sha = line.split()
                group = "branches" if ref.startswith("refs/heads/") else "tags"
                refs[group].append({"name": ref.split("/", 2)[2], "ref": ref, "targetCommit": sha})
            return self.send(200, refs)
        m = re.match(r"^(?:revision/([^/]+))?$", rest)
        if m is not None:
            sha = resolve(repo, m.group(1) or "main")
            if not sha:
                return self.not_found("RevisionNotFound")
            siblings = [{"rfilename": e["path"], "size": e["size"]} for e in self.entries(repo, sha)
                        if e["type"] == "file"]
            return self.send(200, {"id": repo_id, "_id": repo_id, "sha": sha, "private": False,
                                   "siblings": siblings, "tags": [], "downloads": 0, "likes": 0,
                                   "lastModified": "2026-01-01T00:00:00.000Z"})
        if m := re.match(r"^commits/([^/]+)$", rest):  # newest first, as the Hub answers
            sha = resolve(repo, unquote(m.group(1)))
            if not sha:
                return self.not_found("RevisionNotFound")
            log = git(repo, "log", "--date=format-local:%Y-%m-%dT%H:%M:%S.000Z",
                      "--format=%H%x1f%an%x1f%ad%x1f%s%x1f%b%x1e", sha, env={"TZ": "UTC"}).decode()
            commits = []
            for record in filter(str.strip, log.split("\x1e")):
                oid, author, date, title, message = record.strip("\n").split("\x1f")
                commits.append({"id": oid, "authors": [{"user": author}], "date": date, "title": title,
                                "message": message.strip()})
            return self.send(200, commits)
        if m := re.match(r"^tree/([^/]+)(?:/(.*))?$", rest):
            sha = resolve(repo, m.group(1))
            if not sha:
                return self.not_found("RevisionNotFound")
            sub = (m.group(2) or "").strip("/")
            if sub and not git(repo, "ls-tree", sha, sub).strip():
                return self.not_found("EntryNotFound")
            recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
            entries = self.entries(repo, sha, sub, recursive)
            if not recursive:
                depth = sub.count("/") + 1 if sub else 0
                entries = [e for e in entries if e["path"].count("/") == depth]
            return self.send(200, entries)
        if method == "POST" and (m := re.match(r"^paths-info/([^/]+)$", rest)):
            sha = resolve(repo, m.group(1))
            wanted = parse_qs(body.decode()).get("paths") or json.loads(body or b"{}").get("paths", [])
            found = [e for e in self.entries(repo, sha) if e["path"] in wanted]
            return self.send(200, found)
        return self.not_found()

    def resolve_file(self, kind: str, repo_id: str, rev: str, path: str) -> None:
        repo = repo_dir(kind, repo_id)
        sha = resolve(repo, rev) if repo.exists() else None
        if not sha:
            return self.not_found("RevisionNotFound" if repo.exists() else "RepoNotFound")
        entry = next((e for e in self.entries(repo, sha) if e["path"] == path and e["type"] == "file"), None)
        if entry is None:
            return self.not_found("EntryNotFound")
        data = git(repo, "cat-file", "blob", entry["oid"])
        etag = entry["lfs"]["oid"] if "lfs" in entry else entry["oid"]
        headers = {"X-Repo-Commit": sha, "ETag": f'"{etag}"'}
        if "lfs" in entry:
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))})
        return self.send(200, raw=data, headers=headers)


def main() -> None:
    ROOT.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    Path(sys.argv[2]).write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
