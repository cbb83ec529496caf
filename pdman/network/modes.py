"""`--network` values, podman's: which kind of network a container gets.

    ""/private          the default rootless backend: pasta, else slirp4netns
    pasta[:OPT,...]     pasta, extra command-line options appended
    slirp4netns[:K=V,...]
    none                a network namespace with only loopback
    host                the host's network namespace
    container:NAME|ID   the network namespace of another (running) container
    bridge              the default user-defined network `podman`
    NAME[,NAME...]      user-defined networks (`pdman network create`)

Stdlib only, no I/O: `resolve` turns this into the stored config.
"""

from __future__ import annotations

from typing import NamedTuple

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
    if colon:
        raise UsageError(f"invalid --network value {text!r}",
                         hint="options after `:` are for pasta and slirp4netns only")
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    names = tuple(DEFAULT_NETWORK if n == "bridge" else n for n in names)
    if len(set(names)) != len(names):
        raise UsageError(f"a network is named twice in --network {text!r}")
    return Mode("bridge", networks=names)
