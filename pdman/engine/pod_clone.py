"""`pod clone POD [NAME]`: a new pod made as the original was, and a clone of each of
its containers in it (podman 4.3's: the pod's config and "all of its containers").

`pod create` records its options in the pod's config (`create_options`); the clone is
`pod create` of those, with the options given to `pod clone` over them, so it gets
the original's network, ports, shared namespaces, ID maps and limits through the same
code. Then each member (not the infra container) is cloned into it as `container
clone --pod` does (engine/clone.py), in creation order, named NAME-clone[N]; with
--destroy the original goes (as `pod rm -f`), with --start the clone starts.

A pod made before pdman recorded its options is cloned from what its config holds
(labels, shared namespaces, hostname, DNS, hosts, devices, PID/UTS modes, limits)
and its infra container's network and published ports.
"""

from __future__ import annotations

from pdman.engine.context import EngineContext
from pdman.entities.pods import PodCloneOptions, PodCreateOptions
from pdman.errors import ConflictError, UsageError
from pdman.storage import pod_records
from pdman.storage.pod_records import PodRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: list options whose values `pod clone` adds to the original's (labels: its win)
_ADDED = ("devices", "sysctl", "volumes", "volumes_from", "security_opt", "uidmap",
          "gidmap", "label_files")


def clone(ctx: EngineContext, options: PodCloneOptions) -> PodRecord:
    from pdman.engine import clone as ctrclone
    from pdman.engine import pods
    from pdman.storage import container_records as records

    src = pods.find(ctx, options.pod)
    members = [r for r in records.in_pod(ctx.catalog, src.id) if not r.config.get("infra")]
    members.sort(key=lambda r: r.created)
    create = _create_options(ctx, src, options)
    pod = pods.create(ctx, create)
    try:
        for rec in members:
            ctrclone.clone(ctx, ctrclone.CloneOptions(container=rec.id, pod=pod.id))
    except BaseException:
        pods.remove(ctx, pod.id, force=True)   # no half-made clone left behind
        raise
    if options.destroy:
        pods.remove(ctx, src.id, force=True)
    if options.start:
        pods.start(ctx, pod.id)
    return pod


def _create_options(ctx: EngineContext, src: PodRecord,
                    options: PodCloneOptions) -> PodCreateOptions:
    """The original's create options, with the clone's name, infra name and the
    options given to `pod clone` over them."""
    from pdman.engine.clone import _free_clone_name

    recorded = src.config.get("create_options")
    fields: dict[str, Any] = dict(recorded) if recorded else _from_config(ctx, src)
    for key, value in options.overrides.items():
        if value is None or value == [] or value == "":
            continue
        if key in _ADDED:
            fields[key] = [*(fields.get(key) or []), *value]
        elif key == "labels":       # later KEY=VALUE wins (runopts.labels)
            fields[key] = [*(fields.get(key) or []), *value]
        else:
            fields[key] = value
    userns_keys = ("userns", "uidmap", "gidmap", "subuidname", "subgidname")
    if any(options.overrides.get(key) for key in userns_keys):
        from pdman.storage import container_records as records

        if any(not r.config.get("infra") for r in records.in_pod(ctx.catalog, src.id)):
            # each member's root filesystem is owned for the original's namespace
            raise UsageError(f"pod {src.name} has containers: their clones keep its user "
                             "namespace, so the clone cannot be given another one",
                             hint="clone it without --userns/--uidmap/--gidmap/"
                                  "--subuidname/--subgidname")
        # a user namespace given replaces the original's (maps would overlap, a mode
        # and maps conflict)
        for key in userns_keys:
            given = options.overrides.get(key)
            fields[key] = given if given else ([] if key.endswith("map") else "")
    name = options.name or _free_pod_name(ctx, src.name)
    if name in {p.name for p in pod_records.list_all(ctx.catalog)}:
        raise ConflictError(f"the pod name {name!r} is already in use",
                            hint="give another name, or remove that pod")
    if src.config.get("infra") and not options.overrides.get("infra_name"):
        infra_id = src.config.get("infra_id") or ""
        from pdman.storage import container_records as records

        infra = records.find(ctx.catalog, infra_id)
        fields["infra_name"] = _free_clone_name(ctx, infra.name)   # podman's: NAME-clone
    return PodCreateOptions(name=name, create_command=list(src.config.get("create_command")
                                                           or []), **fields)


def _free_pod_name(ctx: EngineContext, base: str) -> str:
    from pdman.engine.clone import clone_name

    return clone_name(base, {p.name for p in pod_records.list_all(ctx.catalog)})


def _from_config(ctx: EngineContext, src: PodRecord) -> "dict[str, Any]":
    """A pod made before `create_options` was recorded: what its config and its
    infra container's hold."""
    from pdman.storage import container_records as records

    c = src.config
    limits = (c.get("cgroup") or {}).get("limits") or {}
    fields: dict[str, Any] = {
        "labels": [f"{k}={v}" for k, v in (c.get("labels") or {}).items()],
        "share": ",".join(c.get("share") or []) or ("none" if c.get("infra") else None),
        "infra": bool(c.get("infra")), "hostname": c.get("hostname") or None,
        "dns": list(c.get("dns") or []), "add_hosts": list(c.get("add_hosts") or []),
        "exit_policy": c.get("exit_policy") or "continue",
        "devices": list(c.get("devices") or []), "pid": c.get("pid") or None,
        "no_hosts": bool(c.get("no_hosts")), "uts": c.get("uts") or None,
        "dns_search": list(c.get("dns_search") or []),
        "dns_options": list(c.get("dns_options") or []),
        "network_aliases": list(c.get("network_aliases") or []),
        "cgroup_parent": (c.get("cgroup") or {}).get("parent") or None,
    }
    if "memory" in limits:
        fields["memory"] = str(limits["memory"])
    if c.get("infra_id"):
        infra = records.find(ctx.catalog, c["infra_id"])
        net = infra.config.get("net") or {}
        fields["network"] = net.get("mode") if net.get("mode") in (
            "pasta", "slirp4netns", "host", "none") else ",".join(
            n["name"] for n in net.get("networks") or [])
        fields["publish"] = [_publish(p) for p in net.get("ports") or []]
    return fields


def _publish(port: "dict[str, Any]") -> str:
    host_ip = port.get("host_ip") or ""
    spec = f"{port.get('host_port')}:{port.get('container_port')}/{port.get('protocol', 'tcp')}"
    return f"{host_ip}:{spec}" if host_ip else spec


__all__ = ["clone"]
