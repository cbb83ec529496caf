"""`--network` values, podman's: which kind of network a container gets.

    ""/private          the default rootless backend: pasta, else slirp4netns
    pasta[:OPT,...]     pasta, extra command-line options appended
    slirp4netns[:K=V,...]
    none                a network namespace with only loopback
    host                the host's network namespace
    container:NAME|ID   the network namespace of another (running) container
    bridge              the default user-defined network `podman`
    NAME[,NAME...]      user-defined networks (`pdman network create`)
    NAME:alias=A[,alias=B][,NAME2...]
                        a user-defined network with aliases on it (podman 4's
                        per-network options, which podman-compose writes)

`--network` may be given more than once (`join`): several user-defined networks, each
with its options; a mode (pasta, host, container:...) stands alone.

Stdlib only, no I/O: `resolve` turns this into the stored config.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from pdman.namedtuple import NamedTuple

from pdman.errors import UsageError

#: the network `--network bridge` means, created on first use as podman does
DEFAULT_NETWORK = "podman"
DEFAULT_SUBNET = "10.88.0.0/16"

BACKENDS = ("pasta", "slirp4netns")


class Mode(NamedTuple):
    kind: str                      # pasta | slirp4netns | none | host | container | bridge | default
    options: tuple[str, ...] = ()  # backend options
    target: str = ""               # container mode: the other container
    networks: tuple[str, ...] = ()  # bridge mode: network names
    aliases: tuple[tuple[str, ...], ...] = ()  # bridge mode: each network's own aliases

#: what stands alone in `--network` (a value of its own, no user-defined network beside it)
_MODES = BACKENDS + ("none", "host", "container", "ns", "slirp", "cni", "interface",
                     "default", "private")
#: podman's per-network options that pdman does not have yet (static addresses)
_UNBUILT_OPTIONS = ("ip", "ip6", "mac", "interface_name")


def join(values: "list[str] | tuple[str, ...] | None") -> str:
    """Repeated `--network` values as one: user-defined networks only (podman: "can
    only set extra network names, selected mode X conflicts with bridge")."""
    vals = [v.strip() for v in values or () if v.strip()]
    if len(vals) <= 1:
        return vals[0] if vals else ""
    for v in vals:
        kind = v.partition(":")[0]
        if kind in _MODES:
            raise UsageError(f"can only set extra network names, selected mode {kind} "
                             "conflicts with bridge",
                             hint="give one --network for a mode, or only network names")
    return ",".join(vals)


def parse(value: str | None) -> Mode:
    text = (value or "").strip()
    if text in ("", "default", "private"):
        return Mode("default")
    kind, colon, rest = text.partition(":")
    if kind in BACKENDS:
        opts = tuple(o for o in rest.split(",") if o) if colon else ()
        return Mode(kind, options=opts)
    if kind in ("none", "host"):
        if colon:
            raise UsageError(f"--network {kind} takes no options", hint=f"use --network {kind}")
        return Mode(kind)
    if kind == "container":
        if not rest:
            raise UsageError("--network container: needs a container",
                             hint="use --network container:NAME or container:ID")
        return Mode("container", target=rest)
    if kind in ("ns", "slirp", "cni", "interface"):
        raise UsageError(f"network mode {kind!r} is not supported",
                         hint="use pasta, slirp4netns, none, host, container:ID or a network name")
    return _parse_networks(text)


def _parse_networks(text: str) -> Mode:
    """`NAME[:K=V,...][,NAME[:K=V,...]]...`: a network name never holds `=` (names
    are [a-zA-Z0-9_.-]), so a comma-separated piece with `=` before any `:` is an
    option of the network before it."""
    names: list[str] = []
    aliases: list[list[str]] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        eq, colon = piece.find("="), piece.find(":")
        if eq >= 0 and (colon < 0 or eq < colon):
            if not names:
                raise UsageError(f"invalid --network value {text!r}",
                                 hint="options follow a network name: NAME:alias=A")
            option = piece
        else:
            name, _, option = piece.partition(":")
            name = DEFAULT_NETWORK if name == "bridge" else name
            if name in names:
                raise UsageError(f"a network is named twice in --network {text!r}")
            names.append(name)
            aliases.append([])
        if option:
            key, has_value, value = option.partition("=")
            if key == "alias" and value:
                aliases[-1].append(value)
            elif key in _UNBUILT_OPTIONS and has_value:
                raise UsageError(f"--network {names[-1]}:{option}: static addresses on a "
                                 "network are not built yet",
                                 hint="pdman's IPAM gives each container a free address; "
                                      "reach it by its name or an alias")
            else:
                raise UsageError(f"unknown bridge network option: {key}",
                                 hint="per-network options: alias=NAME")
    return Mode("bridge", networks=tuple(names), aliases=tuple(tuple(a) for a in aliases))
