"""`pdman build` with contexts that are not a local directory: an HTTP tarball URL, a
plain Containerfile URL, and git repositories (git:// from a `git daemon` and the dumb
HTTP transport), all served by the test on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import io
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_build import Run, context, pd  # noqa: F401 (fixture)

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user (bash tests/run)",
                allow_module_level=True)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on 127.0.0.1: (the directory, its base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def test_http_tarball_context(pd: Run, busybox: str, tmp_path: Path,
                              served: tuple[Path, str]) -> None:
    root, base = served
    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"FROM {busybox}\nCOPY msg /msg\nCOPY sub/ /sub/\n",
        "msg": "from an http tarball\n", "sub/inner": "inner\n"})
    with tarfile.open(root / "ctx.tar.gz", "w:gz") as tar:
        for name in ("Containerfile", "msg", "sub"):
            tar.add(ctx / name, arcname=name)
    pd("build", "-t", "fromurl", f"{base}/ctx.tar.gz")
    out = pd("run", "--rm", "fromurl", "cat", "/msg", "/sub/inner").stdout
    assert out == "from an http tarball\ninner\n"
    # a URL that is not an archive is the Containerfile of an empty context
    (root / "Containerfile").write_text(f"FROM {busybox}\nRUN echo plain > /plain\n")
    pd("build", "-t", "fromfile", f"{base}/Containerfile")
    assert pd("run", "--rm", "fromfile", "cat", "/plain").stdout == "plain\n"
    # a missing one is a clear error, exit 125, nothing built
    done = pd("build", "-t", "missing", f"{base}/nope.tar", check=False)
    assert done.returncode == 125 and "404" in done.stderr
    assert "Traceback" not in done.stderr


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                   cwd=cwd, check=True, capture_output=True, timeout=60)


def _repo(path: Path, busybox: str) -> None:
    context(path, {"Containerfile": f"FROM {busybox}\nCOPY msg /msg\n", "msg": "main\n",
                   "app/Containerfile": f"FROM {busybox}\nCOPY msg /msg\n",
                   "app/msg": "subdir on the tag\n"})
    _git("init", "-q", "-b", "main", ".", cwd=path)
    _git("add", ".", cwd=path)
    _git("commit", "-q", "-m", "one", cwd=path)
    _git("tag", "v1", cwd=path)
    (path / "msg").write_text("main, later\n")
    _git("commit", "-q", "-am", "two", cwd=path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_contexts(pd: Run, busybox: str, tmp_path: Path,
                      served: tuple[Path, str]) -> None:
    root, base = served
    _repo(tmp_path / "repos" / "proj", busybox)
    # the dumb HTTP transport: a bare copy with its info/refs, served as files
    subprocess.run(["git", "clone", "-q", "--bare", str(tmp_path / "repos" / "proj"),
                    str(root / "proj.git")], check=True, capture_output=True, timeout=60)
    _git("update-server-info", cwd=root / "proj.git")
    pd("build", "-t", "gitdumb", f"{base}/proj.git")
    assert pd("run", "--rm", "gitdumb", "cat", "/msg").stdout == "main, later\n"
    # git:// from a git daemon on loopback, a tag and a subdirectory (URL#REF:DIR)
    port = _free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1",
         f"--port={port}", f"--base-path={tmp_path / 'repos'}", str(tmp_path / "repos")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        pd("build", "-t", "gitd", f"git://127.0.0.1:{port}/proj#v1:app")
        assert pd("run", "--rm", "gitd", "cat", "/msg").stdout == "subdir on the tag\n"
        done = pd("build", f"git://127.0.0.1:{port}/proj#v1:../..", check=False)
        assert done.returncode == 125 and "not a directory of the repository" in done.stderr
        done = pd("build", f"git://127.0.0.1:{port}/proj#nosuchref", check=False)
        assert done.returncode == 125 and "cannot clone" in done.stderr
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def test_tar_context_with_containerfile_on_stdin_refused(pd: Run) -> None:
    done = pd("build", "-f", "-", "-", input="FROM scratch\n", check=False)
    assert done.returncode == 125 and "cannot both come from stdin" in done.stderr


def test_containerfile_on_stdin_with_url_context(pd: Run, busybox: str, tmp_path: Path,
                                                 served: tuple[Path, str]) -> None:
    root, base = served
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("msg")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"hey\n"))
    (root / "c.tar").write_bytes(data.getvalue())
    pd("build", "-t", "stdinfile", "-f", "-", f"{base}/c.tar",
       input=f"FROM {busybox}\nCOPY msg /m\n")
    assert pd("run", "--rm", "stdinfile", "cat", "/m").stdout == "hey\n"


def test_named_build_contexts(pd: Run, busybox: str, tmp_path: Path,
                              served: tuple[Path, str]) -> None:
    root, base = served
    extra = context(tmp_path / "extra", {"lib/data.txt": "from a named directory\n"})
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("remote.txt")
        info.size = 7
        tar.addfile(info, io.BytesIO(b"remote\n"))
    (root / "named.tar").write_bytes(data.getvalue())
    ctx = context(tmp_path / "ctx", {"Containerfile": """FROM base
COPY --from=extra lib/data.txt /data.txt
COPY --from=web remote.txt /remote.txt
RUN --mount=type=bind,from=extra,source=lib,target=/mnt cat /mnt/data.txt > /mounted.txt
"""})
    pd("build", "-t", "named", "--build-context", f"base=docker-image://{busybox}",
       "--build-context", f"extra={extra}", "--build-context", f"web={base}/named.tar",
       str(ctx))
    out = pd("run", "--rm", "named", "cat", "/data.txt", "/remote.txt", "/mounted.txt").stdout
    assert out == "from a named directory\nremote\nfrom a named directory\n"
    # the named directory's content is part of the cache key, as the context's is
    (extra / "lib" / "data.txt").write_text("changed\n")
    done = pd("build", "-t", "named2", "--build-context", f"base=docker-image://{busybox}",
              "--build-context", f"extra={extra}", "--build-context", f"web={base}/named.tar",
              str(ctx))
    assert pd("run", "--rm", "named2", "cat", "/data.txt").stdout == "changed\n"
    assert done.stdout.count("Using cache") < 3
    # a symlink in a named directory does not reach outside it
    (tmp_path / "secret").write_text("HOST SECRET\n")
    os.symlink(str(tmp_path / "secret"), extra / "leak")
    (ctx / "Containerfile").write_text(f"FROM {busybox}\nCOPY --from=extra leak /leak\n")
    done = pd("build", "-t", "named3", "--build-context", f"extra={extra}", str(ctx),
              check=False)
    if done.returncode == 0:
        assert "HOST SECRET" not in pd("run", "--rm", "named3", "cat", "/leak",
                                       check=False).stdout
    (ctx / "Containerfile").write_text("FROM extra\n")
    done = pd("build", "--build-context", f"extra={extra}", str(ctx), check=False)
    assert done.returncode == 125 and "is a directory" in done.stderr
