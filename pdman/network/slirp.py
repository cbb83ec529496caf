"""slirp4netns: the fallback when pasta is missing, or `--network slirp4netns[:OPTS]`.

slirp4netns joins the container's namespaces by PID, creates `tap0` configured as
10.0.2.100/24 with the gateway 10.0.2.2 and the DNS forwarder 10.0.2.3, and stays
in the foreground: it is started in its own session and signals readiness on a
pipe (`--ready-fd`).

Published ports, by podman's `port_handler` option:

    rootlesskit   (the default, podman's name for it) TCP ports go through
                  pdman-portfwd (portfwd.py), a splice(2) proxy that accepts on
                  the host and connects to the container's tap address
                  (10.0.2.100:PORT) inside the container; about twice
                  slirp4netns's throughput. UDP ports still go
                  through slirp4netns's add_hostfwd.
    slirp4netns   every port through slirp4netns's API socket (`add_hostfwd`),
                  bound by slirp4netns itself, forwarded by its TCP/IP stack.

Either way a port in use fails with the port named.

Client addresses: with the forwarder the container sees every TCP client as its own
tap address (10.0.2.100), never as 127.0.0.1 (podman's CVE-2021-20199: services
trusting loopback would be open to remote clients); a service listening on the
container's loopback only is not reachable through a published port. Through slirp4netns's
stack (port_handler=slirp4netns, and UDP) a client on the host's loopback shows up
as 10.0.2.2 (the host, as the container sees it), a remote client with its own
address.

Options (`slirp4netns:OPT=V,...`, podman's names): mtu, cidr, enable_ipv6,
allow_host_loopback, outbound_addr, outbound_addr6, port_handler (rootlesskit or
slirp4netns).
"""

from __future__ import annotations

import os
import time

from pdman.errors import ConflictError, HostSupportError, RuntimeFailure, UsageError
from pdman.network import procs
from pdman.runtime import tools

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pdman.network.ports import Port

#: port_handler values: pdman-portfwd for TCP (podman's default name), or slirp4netns
PORT_HANDLERS = ("rootlesskit", "slirp4netns")

GUEST_ADDR = "10.0.2.100"
DNS_ADDR = "10.0.2.3"
DEFAULT_MTU = 65520


def parse_options(options: "Sequence[str]") -> dict[str, str]:
    """podman's `slirp4netns:` options as a dict; unknown ones are an error."""
    known = {"mtu", "cidr", "enable_ipv6", "allow_host_loopback", "outbound_addr",
             "outbound_addr6", "port_handler"}
    out: dict[str, str] = {}
    for opt in options:
        key, eq, value = opt.partition("=")
        if key not in known or not eq:
            raise UsageError(f"unknown slirp4netns option {opt!r}",
                             hint="known: " + ", ".join(f"{k}=..." for k in sorted(known)))
        out[key] = value
    if out.get("port_handler", PORT_HANDLERS[0]) not in PORT_HANDLERS:
        raise UsageError(f"unknown slirp4netns port_handler={out['port_handler']}",
                         hint="use port_handler=rootlesskit (pdman-portfwd, the default) or "
                         "port_handler=slirp4netns (slirp4netns forwards every port itself)")
    return out


def split_ports(ports: "Sequence[Port]", options: "Sequence[str]") -> "tuple[list[Port], list[Port]]":
    """(ports for pdman-portfwd, ports for add_hostfwd): the forwarder takes the TCP
    ports unless port_handler=slirp4netns; it has no UDP."""
    if parse_options(options).get("port_handler", PORT_HANDLERS[0]) == "slirp4netns":
        return [], list(ports)
    return ([p for p in ports if p["protocol"] == "tcp"],
            [p for p in ports if p["protocol"] != "tcp"])


def guest_address(options: dict[str, str]) -> str:
    cidr = options.get("cidr")
    if not cidr:
        return GUEST_ADDR
    import ipaddress

    net = ipaddress.ip_network(cidr, strict=False)
    return str(net.network_address + 100)


def dns_address(options: "Sequence[str]") -> str:
    cidr = parse_options(options).get("cidr")
    if not cidr:
        return DNS_ADDR
    import ipaddress

    return str(ipaddress.ip_network(cidr, strict=False).network_address + 3)


def argv(slirp: str, pid: int, options: dict[str, str], api_socket: str, ready_fd: int,
         ifname: str = "tap0") -> list[str]:
    args = [slirp, "--configure", f"--mtu={options.get('mtu', DEFAULT_MTU)}",
            f"--api-socket={api_socket}", f"--ready-fd={ready_fd}"]
    if options.get("allow_host_loopback", "false") != "true":
        args.append("--disable-host-loopback")
    from pdman.config import is_root_mode

    if is_root_mode():
        # run by root it parses the container's packets with every capability: a mount
        # namespace of its own with all but CAP_NET_BIND_SERVICE dropped, and a syscall
        # filter (what rootful podman asks for)
        args += ["--enable-sandbox", "--enable-seccomp"]
    if options.get("enable_ipv6", "false") == "true":
        args.append("--enable-ipv6")
    if options.get("cidr"):
        args.append(f"--cidr={options['cidr']}")
    if options.get("outbound_addr"):
        args.append(f"--outbound-addr={options['outbound_addr']}")
    if options.get("outbound_addr6"):
        args.append(f"--outbound-addr6={options['outbound_addr6']}")
    args += [str(pid), ifname]
    return args


def log_text(log_path: str) -> str:
    """What a helper wrote to its log, on one line, for an error message."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            return "; ".join(ln.strip() for ln in f if ln.strip())[-800:]
    except OSError:
        return ""


def start(pid: int, options: "Sequence[str]", api_socket: str, log_path: str,
          ifname: str = "tap0", timeout: float = 30.0) -> tuple[int, int]:
    """Start slirp4netns for the namespaces of `pid`; (pid, start time) once it
    configured the interface."""
    slirp = tools.find("slirp4netns")
    if slirp is None:
        raise HostSupportError("slirp4netns not found",
                               hint="install the `slirp4netns` package (or `passt` for pasta)")
    opts = parse_options(options)
    try:
        os.unlink(api_socket)
    except FileNotFoundError:
        pass
    r, w = os.pipe()
    try:
        daemon = procs.spawn_daemon(argv(slirp, pid, opts, api_socket, w, ifname), log_path,
                                    pass_fds=(w,))
    finally:
        os.close(w)
    try:
        ready = wait_ready(r, timeout)
    finally:
        os.close(r)
    if not ready:
        procs.stop(daemon, 0)
        raise RuntimeFailure("slirp4netns could not set up the container's network: "
                             + (log_text(log_path) or "it exited without a message"))
    return daemon, procs.start_time(daemon)


def wait_ready(fd: int, timeout: float) -> bool:
    """True once a helper wrote "1" on the read end `fd` of its ready pipe; False
    when it closed it (it exited) or `timeout` passed."""
    import select

    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([fd], [], [], left)
        if readable:
            return os.read(fd, 1) == b"1"
    return False


def _api(api_socket: str, request: dict[str, object]) -> dict[str, object]:
    import json
    import socket    # not at module level: `create` imports this module

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(api_socket)
        s.sendall(json.dumps(request).encode())
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    reply: dict[str, object] = json.loads(data or b"{}")
    return reply


def add_ports(api_socket: str, ports: "Iterable[Port]", options: "Sequence[str]") -> None:
    """One `add_hostfwd` per published port; a failure names the port."""
    guest = guest_address(parse_options(options))
    for p in ports:
        host_ip = p.get("host_ip") or "0.0.0.0"
        reply = _api(api_socket, {"execute": "add_hostfwd", "arguments": {
            "proto": p["protocol"], "host_addr": host_ip, "host_port": p["host_port"],
            "guest_addr": guest, "guest_port": p["container_port"]}})
        if "error" in reply:
            err = reply["error"]
            desc = err.get("desc", err) if isinstance(err, dict) else err
            raise ConflictError(
                f"cannot publish host port {host_ip}:{p['host_port']}/{p['protocol']}: {desc}",
                hint="the port may be in use: publish on another host port")
