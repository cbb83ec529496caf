"""What a container's network left running, kept where any later pdman finds it.

    <runroot>/network/containers/<id>.json

holds the helper processes (pasta, slirp4netns) by PID and start time, the veths
in the rootless network namespace, and whether the container uses that namespace.
`detach` reads it, undoes everything it names, and removes it. The file lives in
the runroot, apart from the catalog record: `rm` may delete the record before the
process that ran the container tears its network down, and a reboot (which ends
every helper) wipes the runroot with them.

A file whose container (or, before there is one, the pdman that is starting it)
is gone is stale: `sweep` tears it down.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from pdman.namedtuple import NamedTuple

from pdman.cjson import dumps, loads  # without `json`: `run`'s path
from pdman.config import Paths
from pdman.network import procs
from pdman.record import Record

#: the rootless-network holder's record in network_dir (network/infra.py)
INFRA_FILE = "infra.json"


def network_dir(paths: Paths) -> str:
    return os.path.join(paths.runroot, "network")


def _dir(paths: Paths) -> str:
    return os.path.join(network_dir(paths), "containers")


def path(paths: Paths, container_id: str) -> str:
    return os.path.join(_dir(paths), container_id + ".json")


def helper_file(paths: Paths, container_id: str, suffix: str) -> str:
    """A per-container file of a helper (pid file, API socket, log): named by a
    short ID, as a Unix socket path must fit 108 bytes."""
    return os.path.join(_dir(paths), f"{container_id[:16]}.{suffix}")


class Helper(NamedTuple):
    kind: str          # "pasta" | "slirp4netns" | "portfwd"
    pid: int
    start: int


class Link(NamedTuple):
    network_id: str
    host_ifname: str   # the veth end on the bridge, in the rootless netns
    ifname: str        # the end in the container, e.g. eth0
    address: str


class NetState(Record):
    _required = ("container_id",)
    _lists = ("helpers", "links")

    container_id: str
    #: the container's PID 1 (0 until attach) and its start time
    pid: int = 0
    pid_start: int = 0
    #: the pdman process that is starting it, until `pid` is known
    owner: int = 0
    owner_start: int = 0
    uses_infra: bool = False
    helpers: list[Helper]
    links: list[Link]

    def live(self) -> bool:
        if self.pid:
            return procs.alive(self.pid, self.pid_start)
        return procs.alive(self.owner, self.owner_start)


def load(paths: Paths, container_id: str) -> NetState | None:
    try:
        with open(path(paths, container_id), encoding="utf-8") as f:
            data: dict[str, Any] = loads(f.read())
    except (OSError, ValueError):
        return None
    return NetState(
        container_id=data["container_id"], pid=data.get("pid", 0),
        pid_start=data.get("pid_start", 0), owner=data.get("owner", 0),
        owner_start=data.get("owner_start", 0), uses_infra=data.get("uses_infra", False),
        helpers=[Helper(**h) for h in data.get("helpers", [])],
        links=[Link(**ln) for ln in data.get("links", [])])


def save(paths: Paths, st: NetState) -> None:
    from pdman.runtime import statefiles

    statefiles.private_dir(_dir(paths))
    statefiles.write_atomic(path(paths, st.container_id), dumps(
        {**vars(st), "helpers": [h._asdict() for h in st.helpers],
         "links": [ln._asdict() for ln in st.links]}))


def _unmount(path: str) -> None:
    from pdman.errors import PdmanError
    from pdman.runtime import native

    try:
        native.umount(path, native.MNT_DETACH)
    except PdmanError:
        pass                                    # not mounted (any more)


def remove(paths: Paths, container_id: str) -> None:
    for name in (path(paths, container_id),):
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass
    try:
        prefix = container_id[:16] + "."
        for entry in os.listdir(_dir(paths)):
            if entry.startswith(prefix):
                if entry.endswith(".netns"):     # root mode's namespace file for pasta
                    _unmount(os.path.join(_dir(paths), entry))
                try:
                    os.unlink(os.path.join(_dir(paths), entry))
                except OSError:
                    pass
    except FileNotFoundError:
        pass


def list_all(paths: Paths) -> list[NetState]:
    try:
        names = os.listdir(_dir(paths))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        if name.endswith(".json"):
            st = load(paths, name[:-5])
            if st is not None:
                out.append(st)
    return out


def claim(paths: Paths, container_id: str, uses_infra: bool) -> NetState:
    """The state of a container about to be started by this process."""
    st = load(paths, container_id) or NetState(container_id)
    st.owner = os.getpid()
    st.owner_start = procs.start_time(st.owner)
    st.uses_infra = st.uses_infra or uses_infra
    save(paths, st)
    return st
