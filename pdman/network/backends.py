"""The user-mode backends on a container: which one, whether it can run here, and
starting/stopping it for one container (its own network, or the way out of a
container on a user-defined network).
"""

from __future__ import annotations

import errno
import os
from typing import Any

from pdman.config import Paths
from pdman.errors import HostSupportError
from pdman.network import pasta, ports, procs, slirp, state

TUN = "/dev/net/tun"


def default_backend() -> str:
    """pasta when installed, else slirp4netns, else "none" (what `info` reports)."""
    if procs.find_tool("pasta"):
        return "pasta"
    if procs.find_tool("slirp4netns"):
        return "slirp4netns"
    return "none"


def check_tun() -> None:
    """Both backends open /dev/net/tun as the user: say so clearly when they cannot."""
    try:
        fd = os.open(TUN, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise HostSupportError(
                f"{TUN} does not exist: pasta and slirp4netns need the TUN device",
                hint="load the `tun` module and create the device (mknod /dev/net/tun c 10 200, "
                "mode 0666), or run with --network none") from None
        raise HostSupportError(
            f"cannot open {TUN}: {exc.strerror}: pasta and slirp4netns need it to give the "
            "container a network",
            hint=f"make it usable by every user as Debian does (chmod 0666 {TUN}; hosts "
            "without udev create it 0600), or run with --network none") from None
    os.close(fd)


def start(paths: Paths, container_id: str, net: dict[str, Any], pid: int,
          st: state.NetState, ifname: str | None = None) -> None:
    """Attach the container's backend to `pid`'s namespaces and publish its ports.
    The helper is recorded in `st` (and saved) as soon as it runs, so that a failure
    after that point is undone by `detach`."""
    kind = net["mode"] if net["mode"] in ("pasta", "slirp4netns") else net.get("backend", "none")
    if kind == "none":
        return
    check_tun()
    published = net.get("ports", [])
    ports.check_free(published)
    options = list(net.get("options", []))
    if kind == "pasta":
        if net.get("dns_forward"):
            options += ["--dns-forward", net["dns_forward"]]
        helper = pasta.start(pid, published, options,
                             state.helper_file(paths, container_id, "pasta.pid"), ifname)
        st.helpers.append(state.Helper("pasta", *helper))
        state.save(paths, st)
        return
    api = state.helper_file(paths, container_id, "slirp.sock")
    helper = slirp.start(pid, options, api, state.helper_file(paths, container_id, "slirp.log"),
                         ifname or "tap0")
    st.helpers.append(state.Helper("slirp4netns", *helper))
    state.save(paths, st)
    slirp.add_ports(api, published, options)


def stop(st: state.NetState) -> None:
    import signal

    # the container is gone: pasta/slirp4netns have nothing left to flush, and their
    # SIGTERM shutdown costs a run --rm tens of milliseconds
    for h in st.helpers:
        procs.stop(h.pid, h.start, sig=signal.SIGKILL)
    st.helpers = []
