"""Container networking, seen from the engine:

    config = resolve(options, image_config, ctx)  # at create: validate, pick the
                                                  # backend, fix host ports (stored)
    join = namespaces_to_join(paths, id, config)  # before the spawn: namespaces the
                                                  # container enters instead of new ones
    finish = begin_attach(ctx, container_id, config, pid)
                                                  # once its network namespace exists:
    ...                                           # pasta works while the ID maps are
    finish()                                      # written; then it is waited for
    detach(ctx, container_id, config)             # when the container is gone (or its
                                                  # start failed); idempotent
    sweep(ctx)                                    # tear down what dead containers left
    renamed(ctx, id)                              # peers learn a container's new name

Modes (config["mode"]), from `--network` (modes.py):

    pasta, slirp4netns  a network namespace of its own, connected by a user-mode
                        helper (pasta.py, slirp.py) that also publishes the ports
                        (with slirp4netns, TCP ports through portfwd.py)
    none                its own namespace with loopback only
    host                the caller's namespace
    container           another running container's namespace (and user namespace)
    bridge              user-defined networks: veths on bridges in the per-user
                        rootless network namespace (infra.py, usernet.py), plus a
                        backend for the way out unless every network is --internal

What runs for a container is recorded under the runroot (state.py), not in memory:
`detach` may run in another process than `attach` (the container monitor, `rm`).

This module is imported on `run`'s hot path: its own imports are stdlib-only and
everything else loads inside the functions that need it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from pdman.config import Paths
    from pdman.engine.context import EngineContext
    from pdman.entities.create import CreateOptions

#: modes that run nothing and record nothing
_PASSIVE = ("none", "host", "container")


def default_backend() -> str:
    """The backend a container gets by default here: pasta, slirp4netns or none."""
    from pdman.network.backends import default_backend as choose

    return choose()


def resolve(options: "CreateOptions", image_config: "dict[str, Any]",
            ctx: "EngineContext | None" = None) -> "dict[str, Any]":
    """The container's network config from its options: mode, backend options, the
    published ports with host ports fixed and checked free, DNS and hosts entries.
    Errors here leave nothing behind (no record exists yet)."""
    from pdman.errors import HostSupportError, UsageError
    from pdman.network import modes

    mode = modes.parse(options.network)
    kind = mode.kind
    if kind == "default":
        kind = default_backend()
        if kind == "none":
            raise HostSupportError(
                "neither pasta nor slirp4netns is installed: a container cannot get a network",
                hint="install `passt` (or `slirp4netns`), or run with --network none")
    net: dict[str, Any] = {
        "mode": kind, "options": list(mode.options), "ports": [], "dns": list(options.dns),
        "add_hosts": list(options.add_hosts), "aliases": list(options.network_aliases)}
    if options.network_aliases and kind != "bridge":
        raise UsageError("--network-alias only applies to user-defined networks",
                         hint="give --network NAME as well")
    if kind == "container":
        net["container"] = _target(ctx, mode.target).id
    elif kind == "bridge":
        nets = _user_networks(ctx, mode.networks)
        own = dict(zip(mode.networks, mode.aliases))
        net["networks"] = [{"id": n.id, "name": n.name,
                            "aliases": list(dict.fromkeys([*options.network_aliases,
                                                           *own.get(name, ())]))}
                           for name, n in zip(mode.networks, nets)]
        net["backend"] = "none" if all(n.internal for n in nets) else default_backend()
    if options.publish or options.publish_all:
        if kind in _PASSIVE or net.get("backend") == "none":
            raise UsageError(
                f"ports cannot be published with --network {options.network}",
                hint="publishing needs pasta, slirp4netns or a non-internal user-defined "
                "network; for host networking the container's ports are the host's already")
        from pdman.network import ports

        exposed = sorted((image_config.get("ExposedPorts") or {}).keys())
        net["ports"] = ports.allocate(ports.parse_all(options.publish, options.publish_all,
                                                      exposed))
    backend = kind if kind in modes.BACKENDS else net.get("backend", "none")
    if backend in modes.BACKENDS:
        from pdman.network import backends

        backends.check_tun()
        _resolve_dns(net, backend)
    return net


def _resolve_dns(net: "dict[str, Any]", backend: str) -> None:
    """Nameservers the container can reach: --dns as given; with slirp4netns its
    forwarder; with pasta the host's, unless those are all on the host's loopback
    (systemd-resolved, dnsmasq), which pasta then forwards to from a link-local
    address."""
    if net["dns"]:
        return
    if backend == "slirp4netns":
        from pdman.network import slirp

        net["dns"] = [slirp.dns_address(net["options"])]
        return
    from pdman.storage.container_fs import resolv_conf

    if "nameserver" not in resolv_conf():
        net["dns_forward"] = "169.254.1.1"
        net["dns"] = ["169.254.1.1"]


def _target(ctx: "EngineContext | None", name: str) -> "Any":
    from pdman.storage import container_records

    if ctx is None:
        raise RuntimeError("network.resolve needs the engine context for container:")
    return container_records.find(ctx.catalog, name)


def _user_networks(ctx: "EngineContext | None", names: "tuple[str, ...]") -> "list[Any]":
    from pdman.errors import NetworkNotFound
    from pdman.network import modes

    if ctx is None:
        raise RuntimeError("network.resolve needs the engine context for user networks")
    from pdman.storage import network_records

    out = []
    for name in names:
        try:
            out.append(network_records.find(ctx.catalog, name))
        except NetworkNotFound:
            if name != modes.DEFAULT_NETWORK:
                raise
            from pdman.engine import networks

            out.append(networks.ensure_default(ctx))
    return out


def namespaces_to_join(paths: "Paths", container_id: str,
                       config: "dict[str, Any]") -> "tuple[str | None, str | None]":
    """(user namespace, network namespace) paths the container joins instead of
    creating its own, or (None, None). For user-defined networks this starts (and
    claims) the rootless network namespace."""
    kind = config.get("mode")
    if kind == "bridge":
        from pdman.network import usernet

        return usernet.namespaces(paths, container_id)
    if kind == "container":
        return _target_namespaces(paths, config["container"])
    return None, None


def _target_namespaces(paths: "Paths", target_id: str) -> "tuple[str, str]":
    from pdman.errors import ConflictError
    from pdman.network import procs
    from pdman.storage import container_records
    from pdman.storage.catalog import Catalog

    catalog = Catalog(paths.catalog)
    try:
        rec = container_records.find(catalog, target_id)
    finally:
        catalog.close()
    if rec.status not in ("running", "paused") or not procs.alive(rec.pid, rec.state.get("pid_start", 0)):
        raise ConflictError(f"container {rec.name}, whose network namespace this container "
                            "shares, is not running", hint=f"start it first (`pdman start {rec.name}`)")
    return f"/proc/{rec.pid}/ns/user", f"/proc/{rec.pid}/ns/net"


def watch_families(config: "dict[str, Any]", detached: bool = False) -> int:
    """For `spec.network_watch`: the default routes whose appearance in the container's
    network namespace says pasta configured it (network/pasta.py), 0 when the
    container must wait for the network helper to be ready instead. `detached`: the
    start waits for pasta itself before it returns, so published ports may be
    watched too."""
    from pdman.config import is_root_mode

    if is_root_mode():
        return 0
    from pdman.network import pasta

    return pasta.watch_families(config, published=detached)


def begin_attach(ctx: "EngineContext", container_id: str, config: "dict[str, Any]",
                 pid: int, watch: bool = False) -> "Callable[[], None]":
    """Give the container (waiting at sync 1 in its namespaces) its network, in two
    halves, for the spawn's `start_early` hook: start what can work while the
    container's ID maps are written (pasta), and return the function that finishes
    (waits for it). That function must be called, also when the spawn fails
    meanwhile: it records what runs, for `detach` to stop. With `watch` (pasta,
    `watch_families`), it is a pasta.Watched, recorded already."""
    kind = config.get("mode")
    if kind in _PASSIVE:
        return _nothing
    if kind == "bridge":        # veths go into a mapped namespace: all in the second half
        from pdman.network import usernet

        return lambda: usernet.attach(ctx, container_id, config, pid)
    from pdman.network import backends, procs, state

    st = state.NetState(container_id, pid=pid, pid_start=procs.start_time(pid))
    state.save(ctx.paths, st)
    sweep(ctx, leases=False)            # what runs whose pdman was killed left behind
    if watch:
        return backends.begin_watched(ctx.paths, container_id, config, pid, st)
    return backends.begin(ctx.paths, container_id, config, pid, st)


def _nothing() -> None:
    """The second half of an attach that was done in the first (backends too)."""


def detach(ctx: "EngineContext", container_id: str, config: "dict[str, Any]") -> None:
    """Undo `attach` (whatever of it happened): helpers, veths, leases, the rootless
    namespace when it is no longer used."""
    kind = config.get("mode")
    if kind in _PASSIVE:
        return
    if kind == "bridge":
        from pdman.network import usernet

        usernet.detach(ctx, container_id)
        return
    from pdman.network import backends, state

    st = state.load(ctx.paths, container_id)
    if st is not None:
        # published ports must be free when this returns (`rm -f web && run -p ...`);
        # without any, nobody needs to wait for the helper's death
        backends.stop(ctx.paths, st, wait=bool(config.get("ports")))
    state.remove(ctx.paths, container_id)


def sweep(ctx: "EngineContext", leases: bool = True) -> None:
    """Tear down the network of containers that died without a teardown (their pdman
    or monitor was killed). Cheap when there is nothing to do: a directory listing
    (and with `leases`, one catalog query for leases whose state a reboot wiped)."""
    from pdman.network import state

    if not leases:
        states = state.list_all(ctx.paths)
        if all(st.live() for st in states) and (
                any(st.uses_infra for st in states) or _no_infra(ctx.paths)):
            return
    from pdman.network import usernet

    usernet.sweep(ctx, leases=leases)


def _no_infra(paths: "Paths") -> bool:
    """No running rootless-network holder (network/infra.py); without its record file,
    known without importing that module (`run`'s path)."""
    import os

    from pdman.network import state

    if not os.path.exists(os.path.join(state.network_dir(paths), state.INFRA_FILE)):
        return True
    from pdman.network import infra

    return infra.current(paths) is None


def renamed(ctx: "EngineContext", container_id: str) -> None:
    """After `rename`: the hosts files of the container's user-defined networks (its
    peers' and its own) say its new name."""
    from pdman.storage import network_records

    nets = {lease.network_id
            for lease in network_records.leases(ctx.catalog, container_id=container_id)}
    if not nets:
        return
    from pdman.network import dns, infra

    with infra.locked(ctx.paths):
        dns.refresh(ctx, nets)


def ports_of(config: "dict[str, Any]") -> "list[dict[str, Any]]":
    """The published ports of a container config (`ps`, `port`)."""
    net = config.get("net") or {}
    return list(net.get("ports") or [])
