"""The rootless network namespace: one per user (and runroot), holding the bridges
of user-defined networks.

Moving a veth end into a container's network namespace needs CAP_NET_ADMIN over
both namespaces, so both must belong to one user namespace. Containers on user
networks are therefore not given a user namespace of their own: they are spawned
into this one (native/nsjoin.c), which has the same ID mapping a container's own
would have. Their network namespaces are new, owned by it.

    holder process      `pdman-netns:RUNROOT` (an exec'd `sleep infinity`): its own session,
                        a new user namespace (the user's full ID map, written with
                        newuidmap) and a new network namespace with the bridges
    <runroot>/network/infra.json   {"pid": ..., "start": ...}
    <runroot>/network/lock         flock: one pdman at a time starts, uses or
                                   stops it

As root the holder makes only the network namespace: containers, holder and helpers
all stay in the host's user namespace (root mode's default, no ID mapping), and the
bridges still live apart from the host's network.

It starts with the first container on a user network and is stopped when the last
one is torn down (`stop_if_unused`), so nothing stays behind. IP forwarding stays
off in it: the bridges are separate layer-2 segments, which is what isolates one
network from another.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from pdman.namedtuple import NamedTuple

from pdman.config import Paths
from pdman.errors import RuntimeFailure
from pdman.network import procs, state
from pdman.runtime import tools


class Infra(NamedTuple):
    pid: int
    start: int

    @property
    def userns(self) -> str:
        return f"/proc/{self.pid}/ns/user"

    @property
    def netns(self) -> str:
        return f"/proc/{self.pid}/ns/net"


def _file(paths: Paths) -> str:
    return os.path.join(state.network_dir(paths), state.INFRA_FILE)


@contextmanager
def locked(paths: Paths) -> Iterator[None]:
    """Hold the network lock (blocking): around everything that starts, uses or
    stops the rootless namespace, or changes leases and hosts files."""
    from pdman.runtime import statefiles

    statefiles.private_dir(state.network_dir(paths))
    fd = statefiles.open_file(os.path.join(state.network_dir(paths), "lock"))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)            # releases the lock


def current(paths: Paths) -> Infra | None:
    """The running holder, if any."""
    try:
        with open(_file(paths), encoding="utf-8") as f:
            data = json.load(f)
        infra = Infra(int(data["pid"]), int(data["start"]))
    except (OSError, ValueError, KeyError):
        return None
    return infra if procs.alive(infra.pid, infra.start) else None


def ensure(paths: Paths) -> Infra:
    """The running holder, started if there is none. Call with the lock held."""
    infra = current(paths)
    if infra is not None:
        return infra
    infra = _start(paths)
    from pdman.runtime import statefiles

    statefiles.write_atomic(_file(paths), json.dumps(infra._asdict()))
    return infra


def stop_if_unused(paths: Paths) -> bool:
    """Stop the holder when no live container state uses it (lock held). True if
    it was stopped (or was not running)."""
    for st in state.list_all(paths):
        if st.uses_infra and st.live():
            return False
    infra = current(paths)
    if infra is not None:
        procs.stop(infra.pid, infra.start, timeout=1.0)
    try:
        os.unlink(_file(paths))
    except FileNotFoundError:
        pass
    return True


# ---- starting the holder ----


def _sleep_binary() -> str:
    found = tools.find("sleep")
    if found is None:
        raise RuntimeFailure("`sleep` not found: the rootless network namespace needs it "
                             "as its holder process", hint="install coreutils")
    return found


def _holder(ready_w: int, go_r: int, sleep: str, name: str, env: dict[str, str]) -> None:
    """In the forked holder: new user + network namespace, wait for the ID maps,
    exec `sleep infinity` under a name that says what it is."""
    from pdman.runtime import native

    from pdman.config import is_root_mode

    try:
        # root mode: the host's IDs, so no user namespace (containers are spawned
        # without one too); only the network namespace with the bridges is new
        native.unshare(native.UNSHARE_NET if is_root_mode() else
                       native.UNSHARE_USER | native.UNSHARE_NET)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        os.write(ready_w, b"E" + str(exc).encode()[:4000])
        os._exit(1)
    os.write(ready_w, b"R" + str(os.getpid()).encode())
    os.close(ready_w)
    if os.read(go_r, 1) != b"G":
        os._exit(1)
    os.close(go_r)
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, 65536)
    os.execve(sleep, [name, "infinity"], env)


def _start(paths: Paths) -> Infra:
    from pdman.runtime import idmap

    mapping = idmap.mapping_for_current_user()
    sleep = _sleep_binary()
    env = procs.tool_env()                    # the host's sleep: no bundle's libraries
    name = f"pdman-netns:{paths.runroot}"     # `ps` says what it is, and whose
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    first = os.fork()
    if first == 0:  # never returns into the caller's code
        code = 1
        try:
            os.close(ready_r)
            os.close(go_w)
            os.setsid()            # no terminal's ^C or hangup reaches the holder
            if os.fork() == 0:     # the holder: orphaned at once, so init reaps it
                _holder(ready_w, go_r, sleep, name, env)
            code = 0
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(go_r)
    try:
        os.waitpid(first, 0)
        report = b""
        while chunk := os.read(ready_r, 4096):
            report += chunk
            if report.startswith(b"R") or len(report) > 4000:
                break
        if not report.startswith(b"R"):
            raise RuntimeFailure("could not create the rootless network namespace: "
                                 + (report[1:].decode(errors="replace") or "the holder exited"))
        pid = int(report[1:].decode())
        try:
            idmap.write_maps(pid, mapping)
        except BaseException:
            os.close(go_w)          # EOF: the holder exits
            go_w = -1
            raise
        os.write(go_w, b"G")
    finally:
        os.close(ready_r)
        if go_w >= 0:
            os.close(go_w)
    start = procs.start_time(pid)
    if not start:
        raise RuntimeFailure("the rootless network namespace holder exited right after its start")
    return Infra(pid, start)
