"""Where the remote client connects, and how.

Destinations, in podman's order of precedence: --url; --connection; $CONTAINER_HOST;
$CONTAINER_CONNECTION; the default connection (`pdman system connection default`); the
local service's socket, unix://$XDG_RUNTIME_DIR/pdman/pdman.sock.

ssh:// goes through the system `ssh` client (the user's keys, agent, known_hosts and
ssh_config; no crypto of ours). It forwards a Unix socket in a private temporary
directory to the remote socket (`ssh -N -L LOCAL:REMOTE`, OpenSSH's streamlocal
forwarding) rather than bridging stdio through a remote command (docker's `dial-stdio`):
the far side needs nothing but sshd and the service's socket, so the same URL drives a
host running podman's or dockerd's service, and every HTTP connection the client opens
(a `logs -f` stream beside a `wait`) is one more forwarded channel of one ssh session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from typing import Any
from urllib.parse import urlsplit

from pdman.errors import RemoteError, UsageError

DEFAULT_SSH_PORT = 22
#: how long ssh may take to log in and set the forward up
SSH_SETUP_SECONDS = 30.0


class Destination:
    """A service URI with the ssh identity to use for it; `name`: the connection's."""

    __slots__ = ("uri", "identity", "name")

    def __init__(self, uri: str, identity: str = "", name: str = "") -> None:
        self.uri = uri
        self.identity = identity
        self.name = name


def local_socket_uri() -> str:
    from pdman.config import default_runroot

    return f"unix://{default_runroot()}/pdman.sock"


def resolve(url: str | None, connection: str | None, identity: str | None) -> Destination:
    """The destination the global options and the environment name."""
    from pdman.remote import connections

    env_key = os.environ.get("CONTAINER_SSHKEY", "")
    if url:
        return Destination(normalize(url), identity or env_key)
    name = connection or ""
    if not name and os.environ.get("CONTAINER_HOST"):
        return Destination(normalize(os.environ["CONTAINER_HOST"]), identity or env_key)
    name = name or os.environ.get("CONTAINER_CONNECTION", "")
    if name:
        conn = connections.get(name)
        return Destination(conn["uri"], identity or conn.get("identity", "") or env_key, name)
    found = connections.default()
    if found:
        return Destination(found[1]["uri"], identity or found[1].get("identity", "") or env_key,
                           found[0])
    return Destination(local_socket_uri(), identity or env_key)


def normalize(dest: str, port: int | None = None, socket_path: str | None = None) -> str:
    """A destination as a URI: `[user@]host` means ssh (podman's rule); unix:// wants
    an absolute path, tcp:// a port; ssh:// gets its port (22 unless given)."""
    if "://" not in dest:
        if dest.startswith("/"):
            raise UsageError(f"{dest!r}: a socket path needs the unix:// scheme",
                             hint=f"use unix://{dest}")
        dest = "ssh://" + dest
    parts = urlsplit(dest)
    scheme = parts.scheme
    if scheme == "unix":
        path = parts.netloc + parts.path if parts.netloc else parts.path
        if not path.startswith("/"):
            raise UsageError(f"{dest!r}: the socket path must be absolute",
                             hint="e.g. unix:///run/user/1000/pdman/pdman.sock")
        return "unix://" + path
    if scheme == "tcp":
        if not parts.hostname or parts.port is None:
            raise UsageError(f"{dest!r}: tcp:// needs a host and a port",
                             hint="e.g. tcp://127.0.0.1:8080")
        return f"tcp://{parts.netloc}"
    if scheme == "ssh":
        if not parts.hostname:
            raise UsageError(f"{dest!r}: ssh:// needs a host", hint="ssh://[USER@]HOST[:PORT][/PATH]")
        try:
            given_port = parts.port
        except ValueError:
            raise UsageError(f"{dest!r}: the port is not a number") from None
        user = f"{parts.username}@" if parts.username else ""
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        path = socket_path or parts.path
        if path and not path.startswith("/"):
            raise UsageError(f"{path!r}: the remote socket path must be absolute")
        return f"ssh://{user}{host}:{given_port or port or DEFAULT_SSH_PORT}{path}"
    raise UsageError(f"{dest!r}: unsupported scheme {scheme!r}",
                     hint="use unix:///PATH, ssh://[USER@]HOST[:PORT][/PATH] or tcp://HOST:PORT")


class Tunnel:
    """An `ssh -N -L` forward from a socket in a private directory to the remote one."""

    def __init__(self, uri: str, identity: str) -> None:
        self.uri = uri
        self.identity = identity
        self.dir = ""
        self.proc: "subprocess.Popen[bytes] | None" = None

    def _base(self) -> list[str]:
        parts = urlsplit(self.uri)
        ssh = shutil.which("ssh")
        if ssh is None:
            raise RemoteError("ssh:// needs the `ssh` client, which is not installed",
                              hint="install openssh-client")
        # BatchMode: never ask for a password or to trust a host key (a script has no
        # one to answer); keys, the agent and known_hosts as the user set them up
        cmd = [ssh, "-o", "BatchMode=yes", "-p", str(parts.port or DEFAULT_SSH_PORT)]
        if os.environ.get("PDMAN_SSH_CONFIG"):
            cmd += ["-F", os.environ["PDMAN_SSH_CONFIG"]]
        if self.identity:
            cmd += ["-i", os.path.expanduser(self.identity), "-o", "IdentitiesOnly=yes"]
        target = (f"{parts.username}@" if parts.username else "") + str(parts.hostname)
        return [*cmd, target]

    def _remote_path(self) -> str:
        path = urlsplit(self.uri).path
        if path:
            return path
        # no path in the URL: the remote user's pdman socket, as `pdman system service`
        # places it by default
        cmd = self._base() + ['echo "${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"']
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=SSH_SETUP_SECONDS,
                             stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise RemoteError(f"ssh to {self.uri}: {_last_line(res.stderr) or 'failed'}",
                              hint="check that `ssh` logs in without a password (keys, "
                                   "known_hosts)")
        return res.stdout.strip() + "/pdman/pdman.sock"

    def open(self) -> str:
        """Start ssh; the local socket path once the forward is up."""
        remote = self._remote_path()
        self.dir = tempfile.mkdtemp(prefix="pdman-ssh-")  # mode 0700: only we can connect
        local = os.path.join(self.dir, "api.sock")
        cmd = self._base()
        target = cmd.pop()
        cmd += ["-N", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes",
                "-o", "ServerAliveInterval=30", "-L", f"{local}:{remote}", target]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + SSH_SETUP_SECONDS
        while not os.path.exists(local):
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                self.close()
                raise RemoteError(f"ssh to {self.uri}: {_last_line(err) or 'ssh exited'}",
                                  hint="check that `ssh` logs in without a password (keys, "
                                       "known_hosts) and that the remote socket exists")
            if time.monotonic() > deadline:
                self.close()
                raise RemoteError(f"ssh to {self.uri}: no connection after "
                                  f"{SSH_SETUP_SECONDS:.0f}s")
            time.sleep(0.01)
        return local

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = ""


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def connect(dest: Destination) -> "tuple[Any, Tunnel | None]":
    """An httpx transport for the destination, and the ssh tunnel to close after."""
    import httpx

    uri = dest.uri
    scheme = uri.split("://", 1)[0]
    if scheme == "unix":
        return httpx.HTTPTransport(uds=uri[len("unix://"):]), None
    if scheme == "tcp":
        return httpx.HTTPTransport(), None
    if scheme == "ssh":
        tunnel = Tunnel(uri, dest.identity)
        return httpx.HTTPTransport(uds=tunnel.open()), tunnel
    raise UsageError(f"{uri!r}: unsupported scheme {scheme!r}")
