"""Published ports: `-p`/`-P` specs, host port allocation and the conflict check.

A published port is stored in the container's network config as one dict per
port (ranges expanded), the shape `ps`, `port` and the backends read:

    {"host_ip": "", "host_port": 8080, "container_port": 80, "protocol": "tcp"}

`host_ip` "" means every address (pasta binds 0.0.0.0 and ::; slirp4netns and
pdman-portfwd bind 0.0.0.0).
A host port of 0 in a parsed spec means "pick a free one"; `allocate` fixes it
before the config is stored. Stdlib only: `ps` formats the PORTS column from here.
"""

from __future__ import annotations

from pdman.errors import ConflictError, PdmanError, PortInUseError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, TypeAlias

    #: {"host_ip": str, "host_port": int, "container_port": int, "protocol": str}
    Port: TypeAlias = dict[str, Any]

PROTOCOLS = ("tcp", "udp")


# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------

def _port_range(text: str, what: str, spec: str) -> tuple[int, int]:
    """"80" -> (80, 80); "8000-8010" -> (8000, 8010)."""
    first, dash, last = text.partition("-")
    try:
        lo = int(first)
        hi = int(last) if dash else lo
    except ValueError:
        raise UsageError(f"invalid {what} {text!r} in port spec {spec!r}",
                         hint="ports are numbers 1-65535, ranges FIRST-LAST") from None
    if not (1 <= lo <= 65535 and 1 <= hi <= 65535) or hi < lo:
        raise UsageError(f"invalid {what} {text!r} in port spec {spec!r}",
                         hint="ports are numbers 1-65535, ranges FIRST-LAST with FIRST <= LAST")
    return lo, hi


def _host_ip(text: str, spec: str) -> str:
    import ipaddress

    ip = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        raise UsageError(f"invalid host IP {text!r} in port spec {spec!r}",
                         hint="use IP:HOSTPORT:CONTAINERPORT, an IPv6 address in brackets") from None


def _split(spec: str) -> tuple[str, str, str]:
    """[[IP:][HOSTPORT]:]CONTAINERPORT -> (ip, host, container); IPv6 in brackets."""
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0 or spec[end + 1:end + 2] != ":":
            raise UsageError(f"invalid port spec {spec!r}",
                             hint="an IPv6 host address goes in brackets: [::1]:8080:80")
        ip = spec[:end + 1]
        rest = spec[end + 2:]
        host, sep, cport = rest.rpartition(":")
        if not sep:
            raise UsageError(f"invalid port spec {spec!r}", hint="use [IP]:HOSTPORT:CONTAINERPORT")
        return ip, host, cport
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise UsageError(f"invalid port spec {spec!r}",
                     hint="use [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTOCOL]; an IPv6 host "
                     "address goes in brackets")


def parse_publish(spec: str) -> list[Port]:
    """One `-p` value, expanded to one entry per port and protocol.

    Forms (podman's): CPORT, HPORT:CPORT, IP:HPORT:CPORT, IP::CPORT, each port
    a number or a FIRST-LAST range, then /tcp, /udp or /tcp,udp. A host range with
    one container port publishes it on the first free port of the range (`range`
    marks such an entry for `allocate`); otherwise both ranges have one length.
    """
    text = spec.strip()
    body, slash, protos = text.partition("/")
    protocols = [p.strip().lower() for p in protos.split(",")] if slash else ["tcp"]
    for proto in protocols:
        if proto not in PROTOCOLS:
            raise UsageError(f"unsupported protocol {proto!r} in port spec {spec!r}",
                             hint="use tcp or udp")
    ip, host, cport = _split(body)
    host_ip = _host_ip(ip, spec) if ip else ""
    c_lo, c_hi = _port_range(cport, "container port", spec)
    out: "list[Port]" = []
    if not host:
        pairs = [(0, c) for c in range(c_lo, c_hi + 1)]
        pick_from: tuple[int, int] | None = None
    else:
        h_lo, h_hi = _port_range(host, "host port", spec)
        if h_hi - h_lo != c_hi - c_lo:
            if c_lo == c_hi:
                pairs, pick_from = [(0, c_lo)], (h_lo, h_hi)
            else:
                raise UsageError(f"port ranges of different lengths in {spec!r}",
                                 hint="give host and container ranges of the same length")
        else:
            pairs = [(h_lo + i, c_lo + i) for i in range(c_hi - c_lo + 1)]
            pick_from = None
    for proto in protocols:
        for hport, c in pairs:
            entry: "Port" = {"host_ip": host_ip, "host_port": hport, "container_port": c,
                           "protocol": proto}
            if pick_from is not None:
                entry["range"] = list(pick_from)
            out.append(entry)
    return out


def exposed(exposed_ports: "Iterable[str]") -> list[Port]:
    """`-P`: every ExposedPorts key of the image ("80/tcp", "53/udp", "8000-8002")
    to a host port chosen at allocation."""
    out: "list[Port]" = []
    for key in exposed_ports:
        port, _, proto = key.partition("/")
        proto = (proto or "tcp").lower()
        if proto not in PROTOCOLS:
            continue  # sctp: neither backend forwards it
        lo, hi = _port_range(port, "exposed port", key)
        out += [{"host_ip": "", "host_port": 0, "container_port": c, "protocol": proto}
                for c in range(lo, hi + 1)]
    return out


def parse_all(publish: "Iterable[str]", publish_all: bool,
              exposed_ports: "Iterable[str]") -> list[Port]:
    """Every port of `-p ...` and `-P`, checked for duplicate host bindings; host
    ports 0 still to be allocated. An exposed port published with -p is not
    published again by -P."""
    ports: "list[Port]" = []
    for spec in publish:
        ports += parse_publish(spec)
    if publish_all:
        given = {(p["container_port"], p["protocol"]) for p in ports}
        ports += [p for p in exposed(exposed_ports)
                  if (p["container_port"], p["protocol"]) not in given]
    seen: set[tuple[str, int, str]] = set()
    for p in ports:
        if not p["host_port"]:
            continue
        key = (p["host_ip"], p["host_port"], p["protocol"])
        if key in seen:
            raise UsageError(f"host port {_where(p)} is published twice",
                             hint="give each host port to one container port")
        seen.add(key)
    return ports


# ---------------------------------------------------------------------------
# the host side: free ports and conflicts
# ---------------------------------------------------------------------------

def _where(p: Port) -> str:
    ip = p["host_ip"]
    ip = f"[{ip}]" if ":" in ip else ip
    return f"{ip + ':' if ip else ''}{p['host_port']}/{p['protocol']}"


def _socket_of(ip: str, proto: str) -> "Any":
    """An unbound socket for a port of `proto` on `ip`. The C module `_socket`, not
    `socket`: `socket` turns its constants into enums on import (~5 ms, on `run -p`'s
    path before the container is cloned); a probe needs plain bind/listen/close. Not
    at module level: `ps` formats ports from here."""
    import _socket

    family = _socket.AF_INET6 if ":" in ip else _socket.AF_INET
    return _socket.socket(family, _socket.SOCK_STREAM if proto == "tcp" else _socket.SOCK_DGRAM)


def _probe(ip: str, port: int, proto: str) -> None:
    """Bind the port as the backend will (raises OSError when it cannot)."""
    import _socket

    s = _socket_of(ip or "0.0.0.0", proto)
    try:
        if proto == "tcp":
            # a port only in TIME_WAIT is free for the backend's listener too
            s.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        s.bind((ip or "0.0.0.0", port))
        if proto == "tcp":
            s.listen(1)
    finally:
        s.close()


def bind_error(p: Port, exc: OSError) -> PdmanError:
    """The error for a host port that cannot be bound (`exc` from bind or listen),
    naming the port and what to do."""
    import errno

    if exc.errno == errno.EADDRINUSE:
        # podman's words (scripts grep "address already in use"), with its exit code 126
        ip = p["host_ip"] or "0.0.0.0"
        proto = p["protocol"]
        fam = "6" if ":" in ip else "4"
        ip = f"[{ip}]" if ":" in ip else ip
        return PortInUseError(
            f"cannot listen on the {proto.upper()} port: listen {proto}{fam} "
            f"{ip}:{p['host_port']}: bind: address already in use",
            hint="stop whatever listens there, or publish on another host port "
            "(-p OTHERPORT:" f"{p['container_port']})")
    if exc.errno == errno.EACCES:
        return ConflictError(
            f"cannot publish host port {_where(p)}: ports below "
            "net.ipv4.ip_unprivileged_port_start need privileges",
            hint="publish on a port >= 1024, or lower the sysctl "
            "net.ipv4.ip_unprivileged_port_start")
    if exc.errno == errno.EADDRNOTAVAIL:
        return UsageError(f"cannot publish host port {_where(p)}: no such local address on "
                          "this host", hint="use an address of one of the host's interfaces")
    return ConflictError(f"cannot publish host port {_where(p)}: {exc.strerror}")


def check_free(ports: "Iterable[Port]") -> None:
    """Raise ConflictError naming the first host port that cannot be bound.

    The backends bind after the container exists (pasta and slirp4netns in their
    own processes, pdman-portfwd's listeners in pdman's); this probe makes the
    common mistake (a port in use) fail before anything is made.
    """
    for p in ports:
        try:
            _probe(p["host_ip"], p["host_port"], p["protocol"])
        except OSError as exc:
            raise bind_error(p, exc) from None


def _free_port(ip: str, proto: str, taken: set[tuple[str, int, str]],
               between: tuple[int, int] | None) -> int:
    if between is not None:
        for port in range(between[0], between[1] + 1):
            if (ip, port, proto) in taken:
                continue
            try:
                _probe(ip, port, proto)
            except OSError:
                continue
            return port
        raise ConflictError(f"no free host port in {between[0]}-{between[1]}/{proto}",
                            hint="free one of them, or give a wider range")
    for _ in range(32):
        s = _socket_of(ip or "0.0.0.0", proto)
        try:
            s.bind((ip or "0.0.0.0", 0))      # the kernel's ephemeral range
            port = int(s.getsockname()[1])
        finally:
            s.close()
        if (ip, port, proto) not in taken:
            return port
    raise ConflictError("found no free host port", hint="publish on an explicit host port")


def allocate(ports: list[Port]) -> list[Port]:
    """Host ports fixed (0 → a free one), then every port checked as free."""
    taken = {(p["host_ip"], p["host_port"], p["protocol"]) for p in ports if p["host_port"]}
    out: "list[Port]" = []
    for p in ports:
        q = {k: v for k, v in p.items() if k != "range"}
        if not q["host_port"]:
            r = p.get("range")
            q["host_port"] = _free_port(q["host_ip"], q["protocol"], taken,
                                        (r[0], r[1]) if r else None)
            taken.add((q["host_ip"], q["host_port"], q["protocol"]))
        out.append(q)
    check_free(out)
    return out


# ---------------------------------------------------------------------------
# display: `ps` PORTS column and `pdman port`
# ---------------------------------------------------------------------------

def runs(ports: "Iterable[Port]") -> list[tuple[Port, int]]:
    """Consecutive host and container ports of one address and protocol, as
    (first entry, count)."""
    runs: list[tuple[Port, int]] = []
    for p in sorted(ports, key=lambda p: (p["protocol"], p.get("host_ip") or "",
                                          p["container_port"], p["host_port"])):
        if runs:
            first, n = runs[-1]
            if (first["protocol"] == p["protocol"]
                    and (first.get("host_ip") or "") == (p.get("host_ip") or "")
                    and first["host_port"] + n == p["host_port"]
                    and first["container_port"] + n == p["container_port"]):
                runs[-1] = (first, n + 1)
                continue
        runs.append((p, 1))
    return runs


def format_ports(ports: "Iterable[Port]") -> str:
    """podman's PORTS column: `0.0.0.0:8080->80/tcp, 0.0.0.0:9000-9001->9000-9001/udp`."""
    out = []
    for p, n in runs(ports):
        ip = p.get("host_ip") or "0.0.0.0"
        ip = f"[{ip}]" if ":" in ip else ip
        hp, cp = p["host_port"], p["container_port"]
        host = f"{hp}" if n == 1 else f"{hp}-{hp + n - 1}"
        cont = f"{cp}" if n == 1 else f"{cp}-{cp + n - 1}"
        out.append(f"{ip}:{host}->{cont}/{p.get('protocol', 'tcp')}")
    return ", ".join(out)


def port_lines(ports: "Iterable[Port]", want: str | None = None) -> list[str]:
    """`pdman port`: `80/tcp -> 0.0.0.0:8080` per port; `want` "80" (tcp) or
    "80/udp" keeps those only, printed as docker does for one port: the address."""
    lines = []
    wport, _, wproto = (want or "").partition("/")
    for p in sorted(ports, key=lambda p: (p["container_port"], p["protocol"], p["host_port"])):
        if want and (str(p["container_port"]) != wport or
                     p["protocol"] != (wproto or "tcp").lower()):
            continue
        ip = p.get("host_ip") or "0.0.0.0"
        ip = f"[{ip}]" if ":" in ip else ip
        where = f"{ip}:{p['host_port']}"
        lines.append(where if want else f"{p['container_port']}/{p['protocol']} -> {where}")
    return lines
