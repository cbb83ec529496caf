"""pasta (passt's namespace mode): the default rootless network.

pasta joins the container's user and network namespaces by PID (the container
builds its root meanwhile and waits before its exec: runtime/spawn.py; it stays
dumpable until then, for pasta to open /proc/PID/ns/*), creates a tap interface
there and configures it like the host's (`--config-net`: the host's address, routes
and MTU), then daemonizes:
once the command returns, the published ports are bound on the host. It runs as
the user, translating the container's frames to ordinary sockets of the user.

What it does not do here (passt 2023-03): notice that the container is gone.
Bound to a PID, it keeps the namespace alive and runs on, so `detach` kills it by
the PID it wrote to its pid file (checked against its start time).

Client addresses: a connection from another machine goes through the tap device
with its real source address, so services that trust loopback stay protected from
remote clients. A connection from the host's loopback is spliced by pasta releases
before `--host-lo-to-ns-lo` (Debian 12's 2023-03) to the container's loopback: the
container would see 127.0.0.1, and a service listening on its loopback only would
answer. No option of those releases changes that, so:

- a TCP port published on a loopback address (`-p 127.0.0.1:8080:80`), whose
  clients are all local, is not given to pasta but to pdman-portfwd (portfwd.py),
  which connects to the container's own address (`split_ports`);
- a port published on every address (`-p 8080:80`) stays with pasta, for remote
  clients' real addresses: its clients on the host's loopback still show as
  127.0.0.1 with those releases (later ones map them to a non-loopback address by
  default; pdman never passes `--host-lo-to-ns-lo`). tests/security/test_port_client.py
  holds both.
"""

from __future__ import annotations

import os

from pdman.errors import HostSupportError, RuntimeFailure
from pdman.network import procs
from pdman.runtime import tools

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from pdman.network.ports import Port


def _forward_specs(ports: "Iterable[Port]", proto: str) -> list[str]:
    """pasta's -t/-u values: `[ADDR/]HOST[-LAST]:CONTAINER[-LAST]`, consecutive
    ports as one range."""
    from pdman.network.ports import runs

    specs = []
    for p, n in runs(q for q in ports if q["protocol"] == proto):
        addr = f"{p['host_ip']}/" if p.get("host_ip") else ""
        hp, cp = p["host_port"], p["container_port"]
        if n == 1:
            specs.append(f"{addr}{hp}:{cp}")
        else:
            specs.append(f"{addr}{hp}-{hp + n - 1}:{cp}-{cp + n - 1}")
    return specs


def _is_loopback(host_ip: str) -> bool:
    return host_ip.startswith("127.") or host_ip in ("::1", "localhost")


def split_ports(ports: "Sequence[Port]", options: "Sequence[str]") -> "tuple[list[Port], list[Port]]":
    """(ports for pdman-portfwd, ports for pasta): TCP ports published on a loopback
    address go through the forwarder, which never shows the container a client as
    127.0.0.1; the rest through pasta -- all of them when the user gives pasta's -t."""
    if _given(options, "-t", "--tcp-ports"):
        return [], list(ports)
    local = [p for p in ports if p["protocol"] == "tcp" and _is_loopback(p.get("host_ip") or "")]
    return local, [p for p in ports if p not in local]


def _given(options: "Sequence[str]", *names: str) -> bool:
    return any(o in names or any(o.startswith(n + "=") for n in names if n.startswith("--"))
               for o in options)


def argv(pasta: str, pid: "int | str", ports: "Iterable[Port]", options: "Sequence[str]",
         pidfile: str, ifname: str | None = None) -> list[str]:
    """The command line: configure the tap like the host, forward exactly the
    published ports (pasta's default would be `auto`: every port the container
    binds), no forwarding from the container to the host's ports, and no mapping
    of the gateway address to the host's loopback (podman's defaults)."""
    ports = list(ports)
    args = [pasta, "--config-net", "--quiet", "--pid", pidfile]
    if ifname:
        args += ["--ns-ifname", ifname]
    for flag, long, proto in (("-t", "--tcp-ports", "tcp"), ("-u", "--udp-ports", "udp")):
        if _given(options, flag, long):
            continue
        specs = _forward_specs(ports, proto)
        for spec in specs or ["none"]:
            args += [flag, spec]
    for flag, long in (("-T", "--tcp-ns"), ("-U", "--udp-ns")):
        if not _given(options, flag, long):
            args += [flag, "none"]
    if not _given(options, "--map-gw", "--no-map-gw"):
        args.append("--no-map-gw")
    args += [o for o in options if o != "--map-gw"]
    if isinstance(pid, str):            # root mode: a network namespace file (netns_file)
        args += ["--runas", "0", "--netns", pid]
    else:
        args.append(str(pid))
    return args


def netns_file(pid: int, path: str) -> str:
    """Root mode: the network namespace of `pid` bound on the file `path`, for pasta.
    pasta given a PID drops every capability before it opens /proc/PID/ns/*, which the
    kernel then refuses (the container process still holds capabilities pasta lacks);
    run as root it would also switch to `nobody`. Given a namespace file (what rootful
    podman does with /run/netns) and `--runas 0`, it opens and joins it. The file is
    unmounted and removed with the container's network state (state.remove)."""
    from pdman.runtime import native

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    os.close(fd)
    try:
        native.mount(f"/proc/{pid}/ns/net", path, None, native.MS_BIND, None)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _clean(stderr: str) -> str:
    """pasta's messages without its complaints about a missing syslog."""
    lines = [ln.strip() for ln in stderr.splitlines()
             if ln.strip() and not ln.startswith("Failed to send") and "syslog" not in ln]
    return "; ".join(lines)


def _tool(pidfile: str) -> str:
    """pasta's path, with the pid file of an earlier start out of its way."""
    pasta = tools.find("pasta")
    if pasta is None:
        raise HostSupportError("pasta not found", hint="install the `passt` package, or use "
                               "--network slirp4netns")
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass
    return pasta


def _failure(message: str, cmd: "Sequence[str]") -> RuntimeFailure:
    return RuntimeFailure(f"pasta could not set up the container's network: {message}",
                          hint=f"the command was: {' '.join(cmd)}")


def start(pid: int, ports: "Iterable[Port]", options: "Sequence[str]", pidfile: str,
          ifname: str | None = None) -> tuple[int, int]:
    """Attach pasta to the namespaces of `pid`; (pid, start time) of the daemon."""
    return begin(pid, ports, options, pidfile, ifname).finish()


def begin(pid: int, ports: "Iterable[Port]", options: "Sequence[str]", pidfile: str,
          ifname: str | None = None) -> "Starting":
    """Start attaching pasta to the namespaces of `pid` and return at once: pasta takes
    ~20 ms to set itself up (mostly zeroing its buffers), which the caller spends
    writing the container's ID maps. pasta needs no map to join and configure the
    namespaces: their owner has every capability in them either way."""
    pasta = _tool(pidfile)
    from pdman.config import is_root_mode

    target: "int | str" = pid
    if is_root_mode():
        target = netns_file(pid, pidfile.removesuffix(".pasta.pid") + ".netns")
    return Starting(argv(pasta, target, ports, options, pidfile, ifname), pidfile)


class Starting:
    """pasta on its way: `finish()` waits until it daemonized (the namespace is
    configured, the ports are bound) and returns (pid, start time) of the daemon."""

    __slots__ = ("cmd", "pidfile", "_proc")

    def __init__(self, cmd: list[str], pidfile: str) -> None:
        self.cmd = cmd
        self.pidfile = pidfile
        self._proc = procs.Running(cmd)

    def finish(self) -> tuple[int, int]:
        code, stderr = self._proc.wait()
        if code != 0:
            raise _failure(_clean(stderr) or f"exit status {code}", self.cmd)
        try:
            with open(self.pidfile, encoding="ascii") as f:
                daemon = int(f.read().strip())
        except (OSError, ValueError) as exc:
            raise RuntimeFailure(f"pasta did not write its pid file {self.pidfile}: {exc}") from exc
        return daemon, procs.start_time(daemon)


def watch_families(net: "dict[str, object]", published: bool = False) -> int:
    """The default routes (1: IPv4, 2: IPv6) pasta's `--config-net` will give the
    container -- one per family with a default route on the host, which pasta copies
    -- when the container may start as soon as it sees them (runtime/spawn.py):
    the plain default network with no options of the user's (which may change what
    pasta configures), and no published port unless `published` -- a detached start,
    which itself waits for pasta to be ready (Watched.settle) before it returns: a
    foreground command could tell its user it listens before its host ports are
    bound. 0 otherwise. Naming a family pasta then does not configure costs only
    time: the container waits for pasta to be ready, as without watching."""
    if net.get("mode") != "pasta" or net.get("options") or (net.get("ports") and not published):
        return 0
    families = 0
    try:
        with open("/proc/net/route", encoding="ascii") as f:
            for line in f.readlines()[1:]:
                field = line.split()
                # destination and mask 0, RTF_UP: the main table's default route
                if len(field) > 7 and field[1] == field[7] == "00000000" and int(field[3], 16) & 1:
                    families |= 1
                    break
    except (OSError, ValueError):
        pass
    try:
        with open("/proc/net/ipv6_route", encoding="ascii") as f:
            for line in f:
                field = line.split()
                # ::/0, not the kernel's `unreachable` one on lo (RTF_REJECT 0x200)
                if (len(field) > 9 and field[1] == "00" and field[0] == "0" * 32
                        and field[9] != "lo" and not int(field[8], 16) & 0x200):
                    families |= 2
                    break
    except (OSError, ValueError):
        pass
    return families


def begin_watched(pid: int, ports: "Iterable[Port]", options: "Sequence[str]", pidfile: str,
                  log: str) -> "Watched":
    """pasta in the foreground, for a container that starts once it sees its network
    configured (`watch_families`): its PID is known at once -- recorded before it is
    ready, so that a container that is already gone by then (`run --rm true`) does
    not wait ~30 ms for pasta to finish filling its buffers before it can be
    stopped. Its messages go to `log`; its pid file is written right before its
    event loop, which says it is ready (its `-t` ports bound: pasta binds them while
    it reads its options, before it configures the namespace)."""
    cmd = argv(_tool(pidfile), pid, ports, options, pidfile)
    cmd.insert(1, "--foreground")
    return Watched(cmd, pidfile, log)


class Watched:
    """A foreground pasta: `fileno()` (a pidfd) is readable once it exited -- always a
    failure, which calling the object raises; `ready()` once it is in its loop.

    `then`: what must follow its readiness before the start may return (published
    ports: the ports lock, the loopback forwarder); `settle` waits for it and runs
    them, `close` runs `finally_` (once) in every case."""

    __slots__ = ("cmd", "pidfile", "log", "pid", "start", "_pidfd", "then", "finally_")

    def __init__(self, cmd: list[str], pidfile: str, log: str) -> None:
        self.cmd, self.pidfile, self.log = cmd, pidfile, log
        self.then: "list[Callable[[], None]]" = []
        self.finally_: "list[Callable[[], None]]" = []
        self.pid = procs.spawn_daemon(cmd, log)
        self.start = procs.start_time(self.pid)
        self._pidfd = os.pidfd_open(self.pid)

    def settle(self, timeout: float) -> None:
        """With `then`: wait until pasta is ready (raising its failure if it exited
        first), then run them."""
        if not self.then:
            return
        import select
        import time

        deadline = time.monotonic() + (timeout or 30.0)
        while not self.ready():
            if select.select([self._pidfd], [], [], 0.002)[0]:
                self()
                raise RuntimeFailure("pasta exited before the container's network was set up")
            if time.monotonic() > deadline:
                raise RuntimeFailure(f"pasta was not ready in {timeout or 30:.0f} s",
                                     hint="see its log beside the container's network state")
        for step in self.then:
            step()

    def fileno(self) -> int:
        return self._pidfd

    def ready(self) -> bool:
        try:
            return os.stat(self.pidfile).st_size > 0
        except OSError:
            return False

    def __call__(self) -> None:
        """Raise pasta's failure if it exited (reaped then); nothing while it runs."""
        import select

        if not select.select([self._pidfd], [], [], 0)[0]:
            return
        _, status = os.waitpid(self.pid, 0)
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                message = _clean(f.read(65536))
        except OSError:
            message = ""
        raise _failure(message or f"exit status {os.waitstatus_to_exitcode(status)}", self.cmd)

    def close(self) -> None:
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1
        steps, self.finally_ = self.finally_, []
        for step in steps:
            step()


def unrecorded(pidfile: str) -> tuple[int, int] | None:
    """(pid, start time) of the pasta that wrote `pidfile`, if it still runs. A pasta
    is recorded once it is ready; one whose pdman was killed before that is found
    through its pid file, checked against its command line (the PID may be reused)."""
    try:
        with open(pidfile, encoding="ascii") as f:
            pid = int(f.read().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().split(b"\0")
    except (OSError, ValueError):
        return None
    if os.fsencode(pidfile) not in cmdline:
        return None
    start = procs.start_time(pid)
    return (pid, start) if start else None
