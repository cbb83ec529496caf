"""Pure logic of the remote client: destinations, docker's filters and stream format,
the ssh bridge's remote command, option refusal, and that nothing of it loads for a
local command."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from pdman.errors import PdmanError, RemoteError, UsageError
from pdman.remote.client import demux
from pdman.remote.common import filters_param, refuse_unsupported
from pdman.remote.transport import normalize, remote_command, resolve


@pytest.mark.parametrize("dest,port,path,want", [
    ("alice@host", None, None, "ssh://alice@host:22"),
    ("host", 2222, "/run/user/1000/pdman/pdman.sock", "ssh://host:2222/run/user/1000/pdman/pdman.sock"),
    ("ssh://bob@10.0.0.1:2200/s.sock", 22, None, "ssh://bob@10.0.0.1:2200/s.sock"),
    ("unix:///tmp/x.sock", None, None, "unix:///tmp/x.sock"),
    ("unix:/run/podman/podman.sock", None, None, "unix:///run/podman/podman.sock"),
    ("tcp://127.0.0.1:8080", None, None, "tcp://127.0.0.1:8080"),
])
def test_normalize(dest: str, port: int | None, path: str | None, want: str) -> None:
    assert normalize(dest, port, path) == want


@pytest.mark.parametrize("dest", ["unix://rel.sock", "tcp://127.0.0.1", "/tmp/x.sock",
                                  "http://h:1", "ssh://h:notaport",
                                  "tcp://h:port"])
def test_normalize_refuses(dest: str) -> None:
    with pytest.raises(UsageError):
        normalize(dest)


def test_resolve_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pdman.remote import connections

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    monkeypatch.delenv("CONTAINER_CONNECTION", raising=False)
    monkeypatch.delenv("CONTAINER_SSHKEY", raising=False)
    connections.save({"default": "a", "connections": {
        "a": {"uri": "unix:///a.sock"}, "b": {"uri": "ssh://u@h:22/b", "identity": "/k"}}})
    assert resolve(None, None, None).uri == "unix:///a.sock"
    monkeypatch.setenv("CONTAINER_CONNECTION", "b")
    d = resolve(None, None, None)
    assert (d.uri, d.identity, d.name) == ("ssh://u@h:22/b", "/k", "b")
    monkeypatch.setenv("CONTAINER_HOST", "unix:///env.sock")
    assert resolve(None, None, None).uri == "unix:///env.sock"
    assert resolve(None, "a", None).uri == "unix:///a.sock"
    assert resolve("tcp://127.0.0.1:1", "a", "/id").identity == "/id"
    assert resolve("tcp://127.0.0.1:1", "a", None).uri == "tcp://127.0.0.1:1"
    with pytest.raises(PdmanError, match="nosuch"):
        resolve(None, "nosuch", None)


def test_filters_param() -> None:
    assert filters_param(None) == {}
    assert json.loads(filters_param(["label=a=b", "label=c", "status=exited"])["filters"]) == \
        {"label": ["a=b", "c"], "status": ["exited"]}
    with pytest.raises(UsageError):
        filters_param(["nokey"])


def test_demux_splits_frames_across_chunks() -> None:
    def frame(stream: int, data: bytes) -> bytes:
        return bytes((stream, 0, 0, 0)) + len(data).to_bytes(4, "big") + data

    raw = frame(1, b"out1\n") + frame(2, b"err\n") + frame(1, b"out2\n")
    chunks = [raw[i:i + 3] for i in range(0, len(raw), 3)]
    out, err = io.BytesIO(), io.BytesIO()
    demux(iter(chunks), out, err, tty=False)
    assert (out.getvalue(), err.getvalue()) == (b"out1\nout2\n", b"err\n")
    out = io.BytesIO()
    demux(iter([b"\x01raw"]), out, io.BytesIO(), tty=True)
    assert out.getvalue() == b"\x01raw"


def test_refuse_unsupported_names_the_option() -> None:
    refuse_unsupported("run", {"cgroup_parent": None, "name": "x"}, {"name"})
    with pytest.raises(RemoteError, match="`run --cgroup-parent`"):
        refuse_unsupported("run", {"cgroup_parent": "/x"}, set())


def test_remote_command_quotes_the_path() -> None:
    cmd = remote_command("/tmp/a b/$(x).sock")
    assert "'/tmp/a b/$(x).sock'" in cmd
    assert remote_command("") == "exec pdman system dial-stdio"
    # the fallback chain parses as a shell command
    subprocess.run(["sh", "-n", "-c", cmd], check=True)


def test_local_commands_load_nothing_of_the_remote_client(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`pdman ps` without remote options: no pdman.remote, no httpx (hot path)."""
    import os

    code = ("import sys\nfrom pdman.__main__ import main\nrc = main(['ps', '-a'])\n"
            "print(rc, sorted(m for m in sys.modules if m.startswith(('pdman.remote', 'httpx'))))")
    env = {k: v for k, v in os.environ.items()
           if k not in ("CONTAINER_HOST", "CONTAINER_CONNECTION")}
    env.update(PDMAN_ROOT=str(tmp_path / "root"), PDMAN_RUNROOT=str(tmp_path / "run"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert out.splitlines()[-1] == "0 []"
