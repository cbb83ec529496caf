"""`container clone CONTAINER [NAME] [IMAGE]`: a new container with another's
configuration (podman 4.3's): its own ID, writable layer (empty), anonymous volumes,
secrets' copies and generated files; optionally other resource limits, another image,
the original removed (--destroy) and the clone started (--run)."""

from __future__ import annotations

import copy

from pdman.engine.context import EngineContext
from pdman.errors import ConflictError, UsageError
from pdman.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.storage.container_records import ContainerRecord


class CloneOptions(Record):
    _required = ("container",)

    container: str
    name: str = ""                  # default: <name>-clone
    image: str = ""                 # default: the original's
    destroy: bool = False
    force: bool = False
    run: bool = False
    # resource limits, as `run`'s (raw; parsed by cgroups.limits)
    memory: "str | None" = None
    memory_swap: "str | None" = None
    memory_reservation: "str | None" = None
    cpus: "float | None" = None
    cpu_shares: "int | None" = None
    cpuset_cpus: "str | None" = None
    cpuset_mems: "str | None" = None
    cpu_period: "int | None" = None
    cpu_quota: "int | None" = None
    pod: str = ""                   # --pod: the clone joins this pod (default: the original's)


def clone_name(base: str, taken: "set[str]") -> str:
    """podman's name for a clone: BASE-clone, else BASE-clone1, BASE-clone2, ..."""
    name = f"{base}-clone"
    i = 1
    while name in taken:
        name = f"{base}-clone{i}"
        i += 1
    return name


def _free_clone_name(ctx: EngineContext, base: str) -> str:
    return clone_name(base, {r["name"] for r in ctx.catalog.query("SELECT name FROM containers")})


def _limits(src: "dict[str, Any]", options: CloneOptions) -> "dict[str, Any]":
    """The original's cgroup settings with the limits given here over its own."""
    from pdman import cgroups
    from pdman.cgroups import limits
    from pdman.entities.create import CreateOptions

    asked = CreateOptions(
        image="", memory=options.memory, memory_swap=options.memory_swap,
        memory_reservation=options.memory_reservation, cpus=options.cpus,
        cpu_shares=options.cpu_shares, cpuset_cpus=options.cpuset_cpus,
        cpuset_mems=options.cpuset_mems, cpu_period=options.cpu_period,
        cpu_quota=options.cpu_quota, cgroups=src.get("mode") or "enabled",
        cgroup_parent=src.get("parent"), cgroup_manager=src.get("manager"))
    resolved = cgroups.resolve(asked)  # refuses limits this host cannot enforce
    resolved["limits"] = limits.merge(src.get("limits") or {}, resolved["limits"])
    return resolved


def clone(ctx: EngineContext, options: CloneOptions) -> "ContainerRecord":
    from pdman.engine import containers
    from pdman.storage import container_fs, container_records, image_records

    src = container_records.find(ctx.catalog, options.container)
    if src.config.get("infra"):
        raise UsageError(f"container {src.name} is the infra container of a pod: it cannot "
                         "be cloned", hint="create another pod (`pdman pod create`)")
    config = copy.deepcopy(src.config)
    if options.image:
        image = containers.image_for(ctx, _image_options(options.image))
        config["image_name"] = image.names[0] if image.names else image.id
        config["image_ref"] = options.image
        image_id = image.id
    else:
        image_id = src.image_id
    # the image's layers (a --userns container's copy is made again, from them)
    links = [layer.link for layer in image_records.layers_of(ctx.catalog, image_id)]
    links.reverse()
    config["layers"] = links
    if config.get("hostname") == src.id[:12]:
        config["hostname"] = ""          # the original's generated one: the clone's own
    own_pod = (config.get("cgroup") or {}).get("pod")
    config["cgroup"] = _limits(config.get("cgroup") or {}, options)
    if own_pod:
        config["cgroup"]["pod"] = own_pod      # a member's clone stays in its pod
    if options.pod:
        _into_pod(ctx, config, options.pod)
    for m in config.get("mounts", []):
        m.pop("host_path", None)
        if m.get("type") == "volume":
            m.pop("tmpfs", None)         # a tmpfs-backed volume's: found again at create
        if m.get("anonymous"):
            m["source"] = ""            # a new anonymous volume, as podman's clone
            m.pop("anonymous")
    for secret in config.get("secrets") or []:
        secret.pop("file", None)
    name = options.name or _free_clone_name(ctx, src.name)
    if options.destroy and src.status in ("running", "paused") and not options.force:
        raise ConflictError(f"cannot destroy container {src.name}: it is running",
                            hint="stop it first, or add --force")
    rec = containers.create_from_config(ctx, config, image_id, name, [], [])
    # the original's resolv.conf (its --dns-search/--dns-option are not in its config)
    _copy_userfile(ctx, src.id, rec.id, "resolv.conf")
    if options.destroy:
        containers.remove(ctx, containers.RemoveOptions(name=src.id, force=True))
    if options.run:
        from pdman.engine import lifecycle

        lifecycle.start_detached(ctx, rec)
    return rec


def _into_pod(ctx: EngineContext, config: "dict[str, Any]", pod: str) -> None:
    """--pod: the clone joins `pod` as `create --pod` would (the pod's network,
    hostname, shared namespaces and cgroup), in place of the original's network and
    published ports, which a pod's member cannot have of its own."""
    from pdman import network
    from pdman.engine import pods
    from pdman.entities.create import CreateOptions

    target = pods.find(ctx, pod)
    if (config.get("userns") or None) != pods.userns_of(target) and target.config.get("share"):
        # its root filesystem's owners are those of its own user namespace, and a
        # member runs in the pod's
        raise UsageError(f"pod {target.name} has another user namespace than the container's "
                         "(--userns, --uidmap...): a container of a pod runs in the pod's",
                         hint="create the container in the pod instead (`pdman create "
                              f"--pod {target.name} ...`)")
    asked = CreateOptions(image="", pod=target.id, pid=None)
    fields = pods.member_fields(ctx, asked)
    config["net"] = network.resolve(asked, {}, ctx)
    config["network"] = config["net"]["mode"]
    config["hostname"] = asked.hostname or ""
    config["cgroup"] = {**config["cgroup"], "pod": fields.pop("pod_cgroup")}
    for key in ("pod", "pod_infra", "pod_share"):
        config.pop(key, None)
    config.update(fields)
    if asked.uts == "host":
        config["uts"] = "host"
    if asked.no_hosts:
        config["no_hosts"] = True


def _image_options(image: str) -> "Any":
    from pdman.entities.create import CreateOptions

    return CreateOptions(image=image, quiet_pull=True)


def _copy_userfile(ctx: EngineContext, src_id: str, dst_id: str, name: str) -> None:
    import shutil

    from pdman.storage.container_fs import ContainerDirs

    try:
        shutil.copyfile(ContainerDirs(ctx.paths, src_id).userfile(name),
                        ContainerDirs(ctx.paths, dst_id).userfile(name))
    except OSError:
        pass  # the clone keeps the one made for it


__all__ = ["CloneOptions", "clone"]
