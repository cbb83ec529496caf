"""pdman-portfwd: the published TCP ports of a slirp4netns container (and a pasta
container's ports published on a loopback address, see pasta.py), forwarded by a
small splice(2) proxy (native/portfwd.c) instead of slirp4netns's user-mode TCP
stack. podman's default port handler, rootlessport, works the same way; either moves
about twice the bytes per second of slirp4netns's own forwarding.

The host's listening sockets are bound here, in pdman's process (without a host
address on 0.0.0.0 and, where the host has IPv6, on :: too): a port in use
fails with the port named (ports.bind_error) before anything runs, and leaves
nothing behind. The forwarder inherits them, joins the container's user and network
namespaces by PID, writes "1" on a pipe, then accepts on the host and connects to
the container's own address on slirp4netns's tap (10.0.2.100, or .100 of the
configured cidr), so the container sees its clients come from that address:

    pdman-portfwd --pid PID --addr IPV4 --ready-fd FD LISTEN-FD:CONTAINER-PORT...

Never 127.0.0.1 (podman's CVE-2021-20199): through the container's loopback every
client, remote ones included, would look local to the container, and services that
trust loopback (Redis' protected mode, admin endpoints) or listen on 127.0.0.1 only
would be open to whoever reaches the host port. A service bound to the container's
loopback only is not reachable through a published port, as with docker and podman.

UDP ports are not forwarded here: slirp4netns's add_hostfwd keeps them (slirp.py).
The forwarder is recorded as a helper of the container; teardown kills it, and it
exits by itself when the container's process does.
"""

from __future__ import annotations

import errno
import os
import socket

from pdman.errors import RuntimeFailure
from pdman.network import ports, procs, slirp

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from pdman.network.ports import Port


def argv(exe: str, pid: int, addr: str, ready_fd: int,
         listeners: "Sequence[tuple[int, int]]") -> list[str]:
    """The command line; `addr` is the container's address connections go to,
    `listeners` are (inherited fd, container port) pairs."""
    return [exe, "--pid", str(pid), "--addr", addr, "--ready-fd", str(ready_fd),
            *(f"{fd}:{port}" for fd, port in listeners)]


def _bound(ip: str, port: int) -> socket.socket:
    """A socket listening on ip:port; OSError when it cannot."""
    sock = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM)
    try:
        # a port only in TIME_WAIT is free to listen on again
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if ":" in ip:           # :: is IPv6 alone: IPv4 has its own socket on 0.0.0.0
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((ip, port))
        sock.listen(socket.SOMAXCONN)
    except OSError:
        sock.close()
        raise
    return sock


def listeners(p: "Port") -> list[socket.socket]:
    """The host's listening sockets of one published TCP port, bound as
    `ports.check_free` probes it (the port's error when it cannot be): on its host
    address, or without one (`-p 8080:80`) on both wildcards, 0.0.0.0 and :: as
    docker and pasta bind them -- :: only where the host has IPv6."""
    ips = [p["host_ip"]] if p.get("host_ip") else ["0.0.0.0", "::"]
    socks: list[socket.socket] = []
    try:
        for ip in ips:
            try:
                socks.append(_bound(ip, p["host_port"]))
            except OSError as exc:
                if ip == "::" and exc.errno in _NO_IPV6:
                    continue
                raise ports.bind_error(p, exc) from None
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


#: errors of a host without IPv6 (module off, or no address at all)
_NO_IPV6 = (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT)


def start(pid: int, published: "Sequence[Port]", addr: str, log_path: str,
          timeout: float = 10.0) -> tuple[int, int]:
    """Forward `published` (TCP) host ports to `addr` (the container's tap address,
    slirp.guest_address; "auto": its first non-loopback IPv4 address, for pasta) in
    the network namespace of `pid`; (pid, start time) of the forwarder once it is in
    the namespaces."""
    from pdman.runtime import libexec

    exe = libexec.path("pdman-portfwd")
    socks: list[socket.socket] = []
    try:
        fds = []
        for p in published:
            for sock in listeners(p):
                socks.append(sock)
                fds.append((sock.fileno(), p["container_port"]))
        r, w = os.pipe()
        try:
            daemon = procs.spawn_daemon(argv(exe, pid, addr, w, fds), log_path,
                                        pass_fds=(w, *(fd for fd, _ in fds)))
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
    finally:
        for s in socks:             # the forwarder holds them now
            s.close()
    try:
        ready = slirp.wait_ready(r, timeout)
    finally:
        os.close(r)
    if not ready:
        procs.stop(daemon, 0, timeout=0.5)
        raise RuntimeFailure("the port forwarder pdman-portfwd could not start: "
                             + (slirp.log_text(log_path) or "it exited without a message"),
                             hint="run with --network slirp4netns:port_handler=slirp4netns "
                             "to have slirp4netns forward the ports")
    return daemon, procs.start_time(daemon)
