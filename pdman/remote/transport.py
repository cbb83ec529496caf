"""Where the remote client connects, and how.

Destinations, in podman's order of precedence: --url; --connection; $CONTAINER_HOST;
$CONTAINER_CONNECTION; the default connection (`pdman system connection default`); the
local service's socket, unix://$XDG_RUNTIME_DIR/pdman/pdman.sock.

ssh:// goes through the system `ssh` client (the user's keys, agent, known_hosts and
ssh_config; no crypto of ours), as docker's CLI does: each HTTP connection is the stdio
of a remote command that joins it to the service's socket (`pdman system dial-stdio`,
docker's `dial-stdio` idea), multiplexed over one master connection (ControlMaster), so
one login serves a `logs -f` stream beside a `wait`. Not `ssh -L` socket forwarding
(streamlocal): a user-run sshd denied it in our tests, and hardened hosts set
`AllowStreamLocalForwarding no`, while a session command is what every sshd allows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from urllib.parse import urlsplit

from pdman.errors import RemoteError, UsageError

DEFAULT_SSH_PORT = 22
#: how long ssh may take to log in (the master connection)
SSH_SETUP_SECONDS = 30.0


class Destination:
    """A service URI with the ssh identity to use for it; `name`: the connection's."""

    __slots__ = ("uri", "identity", "name")

    def __init__(self, uri: str, identity: str = "", name: str = "") -> None:
        self.uri = uri
        self.identity = identity
        self.name = name


def local_socket_uri(runroot: "str | None" = None) -> str:
    """Where `pdman system service` listens by default: <runroot>/pdman.sock."""
    from pdman.config import default_runroot

    return f"unix://{runroot or default_runroot()}/pdman.sock"


def resolve(url: str | None, connection: str | None, identity: str | None,
            runroot: "str | None" = None) -> Destination:
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
    return Destination(local_socket_uri(runroot), identity or env_key)


def normalize(dest: str, port: int | None = None, socket_path: str | None = None) -> str:
    """A destination as a URI: `[user@]host` means ssh (podman's rule); unix:// wants
    an absolute path, tcp:// a port; ssh:// gets its port (22 unless given)."""
    if dest.startswith("unix:") and not dest.startswith("unix://"):
        dest = "unix://" + dest[len("unix:"):]  # podman's own spelling, unix:/run/...
    if "://" not in dest:
        if dest.startswith("/"):
            raise UsageError(f"{dest!r}: a socket path needs the unix:// scheme",
                             hint=f"use unix://{dest}")
        dest = "ssh://" + dest
    parts = urlsplit(dest)
    scheme = parts.scheme
    try:
        parts.port
    except ValueError:
        raise UsageError(f"{dest!r}: the port is not a number") from None
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
        given_port = parts.port
        user = f"{parts.username}@" if parts.username else ""
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        path = socket_path or parts.path
        if path and not path.startswith("/"):
            raise UsageError(f"{path!r}: the remote socket path must be absolute")
        return f"ssh://{user}{host}:{given_port or port or DEFAULT_SSH_PORT}{path}"
    raise UsageError(f"{dest!r}: unsupported scheme {scheme!r}",
                     hint="use unix:///PATH, ssh://[USER@]HOST[:PORT][/PATH] or tcp://HOST:PORT")


class Tunnel:
    """One ssh master connection (`ssh -M -S CTL -N`: authenticated once, in a private
    temporary directory), and per HTTP connection one multiplexed `ssh -S CTL HOST CMD`
    whose stdin/stdout are one end of a socketpair; CMD bridges its stdio to the remote
    socket (`remote_command`)."""

    def __init__(self, uri: str, identity: str) -> None:
        self.uri = uri
        self.identity = identity
        self.dir = ""
        self.master: "subprocess.Popen[bytes] | None" = None
        self.bridges: "list[subprocess.Popen[bytes]]" = []

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
        return cmd

    def _target(self) -> str:
        parts = urlsplit(self.uri)
        return (f"{parts.username}@" if parts.username else "") + str(parts.hostname)

    def open(self) -> None:
        """Start the master connection; returns once ssh has logged in."""
        self.dir = tempfile.mkdtemp(prefix="pdman-ssh-")  # mode 0700: only we can use it
        ctl = os.path.join(self.dir, "ctl")
        cmd = [*self._base(), "-M", "-S", ctl, "-o", "ControlPersist=no",
               "-o", "ServerAliveInterval=30", "-N", self._target()]
        self.master = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + SSH_SETUP_SECONDS
        while not os.path.exists(ctl):
            if self.master.poll() is not None:
                err = self.master.stderr.read().decode(errors="replace") \
                    if self.master.stderr else ""
                self.close()
                raise RemoteError(f"ssh to {self.uri}: {_last_line(err) or 'ssh exited'}",
                                  hint="check that `ssh` logs in without a password (keys, "
                                       "known_hosts)")
            if time.monotonic() > deadline:
                self.close()
                raise RemoteError(f"ssh to {self.uri}: no connection after "
                                  f"{SSH_SETUP_SECONDS:.0f}s")
            time.sleep(0.01)

    def dial(self) -> "socket.socket":
        """A new byte stream to the remote socket (one HTTP connection)."""
        import socket

        ours, theirs = socket.socketpair()
        cmd = [*self._base(), "-S", os.path.join(self.dir, "ctl"), self._target(),
               remote_command(urlsplit(self.uri).path)]
        # the far side's complaint (no socket there, no pdman/socat/python3) to a file,
        # for the error message should the connection end without an answer
        err = open(os.path.join(self.dir, f"bridge-{len(self.bridges)}.err"), "wb")
        with theirs, err:
            self.bridges.append(subprocess.Popen(cmd, stdin=theirs, stdout=theirs, stderr=err))
        return ours

    def last_error(self) -> str:
        """The last line a bridge's remote command wrote to stderr, if any."""
        for i in reversed(range(len(self.bridges))):
            try:
                with open(os.path.join(self.dir, f"bridge-{i}.err"), encoding="utf-8",
                          errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            # pdman's own error (not its hint line), else the last word of the far side
            errs = [ln.strip() for ln in text.splitlines() if ln.startswith("Error:")]
            line = errs[0] if errs else _last_line(text)
            if line:
                return line
        return ""

    def close(self) -> None:
        for proc in [*self.bridges, *([self.master] if self.master else [])]:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stderr:
                proc.stderr.close()
        self.bridges = []
        self.master = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = ""


def remote_command(path: str) -> str:
    """The remote shell command that joins ssh's stdio to the service's socket: pdman's
    own `system dial-stdio` where pdman is installed (without a path: the remote user's
    default socket), else socat, else the remote python3 (hosts running podman's or
    dockerd's service)."""
    import shlex

    if not path:
        return "exec pdman system dial-stdio"
    q = shlex.quote(path)
    py = ("import socket,sys,os,threading;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);"
          "t=threading.Thread(target=lambda:([s.sendall(b) for b in iter(lambda:os.read(0,65536),b'')],"
          "s.shutdown(1)),daemon=True);t.start();"
          "[os.write(1,b) for b in iter(lambda:s.recv(65536),b'')]")
    return (f"if command -v pdman >/dev/null 2>&1; then exec pdman system dial-stdio unix://{q}; "
            f"elif command -v socat >/dev/null 2>&1; then exec socat - UNIX-CONNECT:{q}; "
            f"else exec python3 -c {shlex.quote(py)} {q}; fi")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""
