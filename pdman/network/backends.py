"""The user-mode backends on a container: which one, whether it can run here, and
starting/stopping it for one container (its own network, or the way out of a
container on a user-defined network).
"""

from __future__ import annotations

import errno
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

from pdman.config import Paths
from pdman.errors import HostSupportError
from pdman.network import pasta, ports, procs, slirp, state
from pdman.runtime import tools

TUN = "/dev/net/tun"


def default_backend() -> str:
    """pasta when installed, else slirp4netns, else "none" (what `info` reports)."""
    if tools.find("pasta"):
        return "pasta"
    if tools.find("slirp4netns"):
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
    kind = _kind(net)
    if kind == "none":
        return
    check_tun()
    if kind == "pasta":
        _begin_pasta(paths, container_id, net, pid, st, ifname)()
        return
    published = net.get("ports", [])
    ports.check_free(published)
    options = list(net.get("options", []))
    api = state.helper_file(paths, container_id, "slirp.sock")
    helper = slirp.start(pid, options, api, state.helper_file(paths, container_id, "slirp.log"),
                         ifname or "tap0")
    st.helpers.append(state.Helper("slirp4netns", *helper))
    state.save(paths, st)
    forwarded, hostfwd = slirp.split_ports(published, options)
    if forwarded:
        from pdman.network import portfwd

        fwd = portfwd.start(pid, forwarded, slirp.guest_address(slirp.parse_options(options)),
                            state.helper_file(paths, container_id, "portfwd.log"))
        st.helpers.append(state.Helper("portfwd", *fwd))
        state.save(paths, st)
    slirp.add_ports(api, hostfwd, options)


def begin(paths: Paths, container_id: str, net: dict[str, Any], pid: int,
          st: state.NetState, ifname: str | None = None) -> "Callable[[], None]":
    """`start` in two halves: what can go on while the container's ID maps are being
    written starts now (pasta), and the function returned waits for it and records
    it. Other backends start at once; their function does nothing."""
    if _kind(net) != "pasta":
        from pdman.network import _nothing

        start(paths, container_id, net, pid, st, ifname)
        return _nothing
    check_tun()
    return _begin_pasta(paths, container_id, net, pid, st, ifname)


def begin_watched(paths: Paths, container_id: str, net: dict[str, Any], pid: int,
                  st: state.NetState) -> "pasta.Watched":
    """pasta for a container that starts once it sees its network configured
    (pasta.watch_families), recorded at once. Published ports (a detached start) as
    in _begin_pasta: checked free under the ports lock, which is held until pasta is
    ready (its `settle`), when the loopback forwarder starts too."""
    check_tun()
    published = net.get("ports", [])
    local, spliceable = pasta.split_ports(published, ())
    lock = _ports_lock(paths) if published else -1
    try:
        ports.check_free(published)
        options = ["--dns-forward", net["dns_forward"]] if net.get("dns_forward") else []
        watched = pasta.begin_watched(pid, spliceable, options,
                                      state.helper_file(paths, container_id, "pasta.pid"),
                                      state.helper_file(paths, container_id, "pasta.log"))
    except BaseException:
        _unlock(lock)
        raise
    if published:
        held = [lock]

        def release() -> None:  # once: a second close could hit a reused descriptor
            if held:
                _unlock(held.pop())

        if local:               # pasta configured the container's address: forward to it
            watched.then.append(lambda: _forward_local(paths, container_id, pid, local, st))
        watched.then.append(release)
        watched.finally_.append(release)
    try:
        st.helpers.append(state.Helper("pasta", watched.pid, watched.start))
        state.save(paths, st)
    except BaseException:
        procs.kill(watched.pid, watched.start)      # not recorded: nobody else would
        watched.close()
        raise
    return watched


def _kind(net: dict[str, Any]) -> str:
    """The backend of a container's network: its mode's, or its user network's way out."""
    return net["mode"] if net["mode"] in ("pasta", "slirp4netns") else net.get("backend", "none")


def _begin_pasta(paths: Paths, container_id: str, net: dict[str, Any], pid: int,
                 st: state.NetState, ifname: str | None) -> "Callable[[], None]":
    """pasta started; the function returned waits for it and records it. pasta
    (2023-03) says nothing when a port it forwards is taken, so pdman checks the
    ports first, and holds the ports lock from that check until pasta has bound
    them: of two containers publishing one port at once, the second is refused."""
    published = net.get("ports", [])
    options = list(net.get("options", []))
    local, spliceable = pasta.split_ports(published, options)
    lock = _ports_lock(paths) if published else -1
    try:
        ports.check_free(published)
        if net.get("dns_forward"):
            options += ["--dns-forward", net["dns_forward"]]
        starting = pasta.begin(pid, spliceable, options,
                               state.helper_file(paths, container_id, "pasta.pid"), ifname)
    except BaseException:
        _unlock(lock)
        raise

    def finish() -> None:
        try:
            st.helpers.append(state.Helper("pasta", *starting.finish()))
            state.save(paths, st)
            if local:           # pasta configured the container's address: forward to it
                _forward_local(paths, container_id, pid, local, st)
        finally:
            _unlock(lock)

    return finish


def _forward_local(paths: Paths, container_id: str, pid: int, local: "list[Any]",
                   st: state.NetState) -> None:
    """pdman-portfwd for the ports published on a loopback address (pasta.split_ports),
    once pasta configured the container's address; recorded with the container."""
    from pdman.network import portfwd

    fwd = portfwd.start(pid, local, "auto", state.helper_file(paths, container_id, "portfwd.log"))
    st.helpers.append(state.Helper("portfwd", *fwd))
    state.save(paths, st)


def _ports_lock(paths: Paths) -> int:
    import fcntl

    from pdman.runtime import statefiles

    statefiles.private_dir(state.network_dir(paths))
    fd = statefiles.open_file(os.path.join(state.network_dir(paths), "ports.lock"))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _unlock(fd: int) -> None:
    if fd >= 0:
        os.close(fd)            # closing the only descriptor releases the flock


def stop(paths: Paths, st: state.NetState, wait: bool = True) -> None:
    """SIGKILL the helpers: the container is gone, they have nothing left to flush, and
    a SIGTERM shutdown costs a `run --rm` tens of milliseconds. With `wait`, return
    once they are gone -- their published ports free for the next `run -p`; without,
    at once: the kernel tears a killed pasta down (about 20 ms of unmapping) while
    pdman goes on."""
    stray = pasta.unrecorded(state.helper_file(paths, st.container_id, "pasta.pid"))
    if stray is not None and not any(h.pid == stray[0] for h in st.helpers):
        # its pdman died between starting pasta and recording it
        st.helpers.append(state.Helper("pasta", *stray))
    for h in st.helpers:
        if wait:
            procs.stop(h.pid, h.start, sig=procs.SIGKILL)
        else:
            procs.kill(h.pid, h.start)
    st.helpers = []
