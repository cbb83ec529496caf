"""More run/create options of issue #13, resolved into the container's configuration as
podman 4.3 resolves them: the /etc/passwd and /etc/group entries (--passwd,
--passwd-entry, --hostuser), --chrootdirs, --cgroupns, --seccomp-policy, --http-proxy,
--image-volume, --timeout, --sysctl, --personality and --device.

What the spawn needs of them is read by runtime/spec.py from the stored config.
"""

from __future__ import annotations

import os

from pdman.engine.context import EngineContext
from pdman.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.entities.create import CreateOptions

#: the host's proxy variables --http-proxy (the default) passes in, as podman
PROXY_VARS = ("http_proxy", "https_proxy", "ftp_proxy", "no_proxy",
              "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY")
#: sysctls of the namespaces a container has of its own (podman's list): IPC ...
IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
               "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")
#: ... and the prefixes of the IPC (POSIX queues) and network ones
IPC_PREFIX = "fs.mqueue."
NET_PREFIX = "net."


def resolve(ctx: EngineContext, options: "CreateOptions", icfg: "dict[str, Any]",
            config: "dict[str, Any]", layer_dirs: "list[str]") -> None:
    """Add the settings of these options to `config` (resolve_config's result)."""
    if options.http_proxy and not options.unsetenv_all:
        have = {item.partition("=")[0] for item in config["env"]}
        config["env"] = [f"{k}={os.environ[k]}" for k in PROXY_VARS
                         if k in os.environ and k not in have] + config["env"]
    _seccomp_policy(options.seccomp_policy, icfg)
    config["cgroupns"] = _cgroupns(options.cgroupns or "")
    config["pid"] = _pid(ctx, options.pid or "", config)
    if options.chrootdirs:
        for d in options.chrootdirs:
            if not d.startswith("/"):
                raise UsageError(f"invalid --chrootdirs {d!r}: not an absolute path")
        config["chrootdirs"] = [os.path.normpath(d) for d in options.chrootdirs]
    entries = _user_entries(options, config, layer_dirs)
    if entries:
        config["user_entries"] = entries
    _image_volumes(options.image_volume, icfg, config)
    if options.attach:
        streams = [s.lower() for item in options.attach for s in item.split(",") if s]
        bad = [s for s in streams if s not in ("stdin", "stdout", "stderr")]
        if bad:
            raise UsageError(f"invalid stream {bad[0]!r} for --attach",
                             hint="use stdin, stdout or stderr")
        config["attach"] = [s for s in ("stdout", "stderr") if s in streams]
    if options.ip or options.ip6 or options.mac_address:
        _static_address(ctx, options, config["net"])
    if options.timeout:
        if options.timeout < 0:
            raise UsageError(f"invalid --timeout {options.timeout}")
        config["timeout"] = options.timeout
    if options.sysctl:
        config["sysctls"] = _sysctls(options.sysctl, config)
    if options.personality:
        from pdman.runtime.spec import PERSONALITIES

        domain = options.personality.upper()
        if domain not in PERSONALITIES:
            raise UsageError(f"invalid --personality {options.personality!r}",
                             hint="use LINUX or LINUX32")
        config["personality"] = domain
    if options.devices:
        taken = {m["destination"] for m in config["mounts"]}
        for item in options.devices:
            dev = device(item)
            if dev["destination"] in taken:
                raise UsageError(f"duplicate mount destination {dev['destination']}")
            taken.add(dev["destination"])
            config["mounts"].append(dev)


def _seccomp_policy(policy: str, icfg: "dict[str, Any]") -> None:
    """podman's `default` (the profile of --security-opt, else pdman's own) and `image`
    (a profile the image names in a label), which pdman does not load."""
    if policy == "default":
        return
    if policy != "image":
        raise UsageError(f"invalid --seccomp-policy {policy!r}", hint="use default or image")
    if "io.containers.seccomp.profile" not in (icfg.get("Labels") or {}):
        raise UsageError("no seccomp policy defined by image",
                         hint="use --seccomp-policy=default (the default profile)")
    raise UsageError("--seccomp-policy=image: loading a profile from the image's label is "
                     "not built yet", hint="save the profile to a file and give "
                     "--security-opt seccomp=FILE")


def _cgroupns(value: str) -> str:
    if value in ("", "private"):
        return "private"
    if value == "host":
        return "host"
    raise UsageError(f"--cgroupns={value}: not supported",
                     hint="use private (the default: the container's cgroup is its root) "
                          "or host")


def _pid(ctx: EngineContext, value: str, config: "dict[str, Any]") -> "dict[str, str]":
    """--pid: private (default), host, or container:NAME (its PID namespace, and so its
    user namespace: a process can only be born into a PID namespace of its own user
    namespace's)."""
    if value in ("", "private"):
        return {"mode": "private"}
    if value == "host":
        return {"mode": "host"}
    kind, _, name = value.partition(":")
    if kind == "container" and name:
        from pdman.storage import container_records

        if config.get("userns"):
            raise UsageError(f"--pid={value} with --userns: a container joining another's "
                             "PID namespace joins its user namespace too",
                             hint="drop --userns")
        return {"mode": "container", "container": container_records.find(ctx.catalog, name).id}
    raise UsageError(f"--pid={value}: not supported",
                     hint="use private (the default), host, or container:NAME")


def _static_address(ctx: EngineContext, options: "CreateOptions",
                    net: "dict[str, Any]") -> None:
    """--ip, --ip6 and --mac-address: the container's address on its user-defined
    network."""
    nets = net.get("networks") or []
    if net["mode"] != "bridge" or not nets:
        raise UsageError("--ip, --ip6 and --mac-address need a user-defined network",
                         hint="pdman network create NAME; pdman run --network NAME --ip ...")
    if len(nets) > 1:
        raise UsageError("--ip, --ip6 and --mac-address can only be set for a single network",
                         hint="connect the other networks afterwards (`network connect`)")
    from pdman.storage import network_records

    rec = network_records.find(ctx.catalog, nets[0]["id"])
    nets[0].update(static_membership(rec, options.ip, options.ip6, options.mac_address))


def static_membership(rec: "Any", ip: "str | None", ip6: "str | None",
                      mac_address: "str | None") -> "dict[str, str]":
    """--ip, --ip6, --mac-address on network `rec` (run/create, `network connect`):
    the membership fields they set, checked."""
    import ipaddress
    import re

    out: dict[str, str] = {}
    if ip6:
        try:
            ipaddress.IPv6Address(ip6)
        except ValueError:
            raise UsageError(f"{ip6!r} is not an IPv6 address") from None
        # pdman's networks have one IPv4 subnet each (network/ipam.py): none has an
        # IPv6 one to take the address from
        raise UsageError(f"requested ip address {ip6} is not in a subnet of network "
                         f"{rec.name}: its only subnet is {rec.subnet or 'none'} (IPv4)",
                         hint="pdman networks are IPv4-only for now: use --ip with an "
                              "address of that subnet")
    if ip:
        try:
            addr = ipaddress.IPv4Address(ip)
        except ValueError:
            raise UsageError(f"{ip!r} is not an IPv4 address") from None
        if not rec.subnet:
            raise UsageError(f"network {rec.name} has no subnet (--ipam-driver none): it "
                             "gives no addresses", hint="leave --ip out")
        subnet = ipaddress.IPv4Network(rec.subnet)
        if addr not in subnet:
            raise UsageError(f"requested ip address {addr} is not in the subnet {subnet} of "
                             f"network {rec.name}")
        out["ip"] = str(addr)
    if mac_address:
        mac = mac_address.lower()
        if not re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", mac) or int(mac[:2], 16) & 1:
            raise UsageError(f"invalid --mac-address {mac_address!r}",
                             hint="a unicast address, e.g. 92:d0:c6:0a:29:33")
        out["mac"] = mac
    return out


def _image_volumes(mode: str, icfg: "dict[str, Any]", config: "dict[str, Any]") -> None:
    """The image's VOLUMEs: anonymous volumes (bind, the default), tmpfs, or nothing."""
    if mode not in ("bind", "tmpfs", "ignore"):
        raise UsageError(f"invalid --image-volume {mode!r}", hint="use bind, tmpfs or ignore")
    if mode == "ignore":
        return
    taken = {m["destination"] for m in config["mounts"]}
    for path in sorted(icfg.get("Volumes") or {}):
        dest = "/" + os.path.normpath(path).lstrip("/")
        if dest in taken or dest == "/":
            continue
        if mode == "tmpfs":
            config["mounts"].append({"type": "tmpfs", "source": "tmpfs", "destination": dest,
                                     "readonly": False, "options": []})
        else:
            config["mounts"].append({"type": "volume", "source": "", "destination": dest,
                                     "readonly": False, "options": []})


def _sysctls(items: "list[str]", config: "dict[str, Any]") -> "list[list[str]]":
    """`--sysctl KEY=VALUE`: only the namespaced ones of a namespace the container has
    of its own (podman's rules)."""
    out: list[list[str]] = []
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or "/" in key or ".." in key:
            raise UsageError(f"invalid --sysctl {item!r}", hint="use KEY=VALUE, e.g. "
                             "net.ipv4.ip_unprivileged_port_start=80")
        if key in IPC_SYSCTLS or key.startswith(IPC_PREFIX):
            if config.get("ipc") == "host":
                raise UsageError(f"sysctl {key!r} cannot be set: the IPC namespace is the host's",
                                 hint="drop --ipc=host")
        elif key.startswith(NET_PREFIX):
            if config["net"]["mode"] == "host":
                raise UsageError(f"sysctl {key!r} cannot be set: the network namespace is "
                                 "the host's", hint="drop --network=host")
        else:
            raise UsageError(f"sysctl {key!r} is not allowed",
                             hint="only the sysctls of a container's own namespaces: "
                                  "net.*, fs.mqueue.* and the kernel's IPC ones "
                                  "(kernel.msgmax, kernel.shmmax, ...)")
        out.append([key, value])
    return out


def device(item: str) -> "dict[str, Any]":
    """`--device HOST[:CONTAINER][:PERMISSIONS]`: rootless, the host's device node
    bound into the container (the caller must be able to open it, as podman)."""
    import stat

    parts = item.split(":")
    if len(parts) > 3 or not parts[0]:
        raise UsageError(f"invalid --device {item!r}", hint="use HOST[:CONTAINER][:rwm]")
    host = parts[0]
    dest = host
    perms = "rwm"
    if len(parts) == 2:
        if parts[1].startswith("/"):
            dest = parts[1]
        else:
            perms = parts[1]
    elif len(parts) == 3:
        dest, perms = parts[1], parts[2]
    if not perms or any(c not in "rwm" for c in perms) or not dest.startswith("/") \
            or not host.startswith("/"):
        raise UsageError(f"invalid --device {item!r}", hint="use HOST[:CONTAINER][:rwm]")
    try:
        st = os.stat(host)
    except OSError as exc:
        raise UsageError(f"{host}: {exc.strerror}", hint="give an existing device node") from None
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise UsageError(f"{host} is not a device node")
    mode = (os.R_OK if "r" in perms else 0) | (os.W_OK if "w" in perms else 0)
    if mode and not os.access(host, mode):
        raise UsageError(f"--device {host}: permission denied",
                         hint="a rootless container gets only the devices its user can open")
    return {"type": "bind", "source": host, "destination": os.path.normpath(dest),
            "readonly": "w" not in perms, "options": [], "device": True}


# ---- /etc/passwd and /etc/group ----


def _user_entries(options: "CreateOptions", config: "dict[str, Any]",
                  layer_dirs: "list[str]") -> "dict[str, list[str]]":
    """Lines to add to the image's /etc/passwd and /etc/group: the container's user when
    the image does not know its UID (--passwd, the default; --passwd-entry gives the
    line), and --hostuser's host accounts."""
    if not options.hostuser and (not options.passwd or int(config["uid"]) == 0):
        return {}  # root: every image has it (and `run` need not read the files)
    from pdman.runtime import users

    passwd = users.read_entries(layer_dirs, "etc/passwd")
    groups = users.read_entries(layer_dirs, "etc/group")
    uids = {e[2] for e in passwd if len(e) > 2}
    names = {e[0] for e in passwd}
    add_passwd: list[str] = []
    add_group: list[str] = []
    uid, gid = int(config["uid"]), int(config["gid"])
    keep_id = (config.get("userns") or {}).get("mode") == "keep-id"
    if options.passwd and not keep_id and str(uid) not in uids:
        home = config.get("workdir") or "/"
        if options.passwd_entry:
            line = (options.passwd_entry.replace("$USERNAME", str(uid))
                    .replace("$UID", str(uid)).replace("$GID", str(gid))
                    .replace("$NAME", "container user").replace("$HOME", home))
        else:
            line = f"{uid}:*:{uid}:{gid}:container user:{home}:/bin/sh"
        add_passwd.append(line)
        uids.add(str(uid))
        if not any(len(e) > 2 and e[2] == str(uid) for e in groups):
            add_group.append(f"{uid}:x:{uid}:{uid}")
    for name in options.hostuser:
        line = _host_account(name)
        fields = line.split(":")
        if fields[0] in names or fields[2] in uids:
            continue
        names.add(fields[0])
        uids.add(fields[2])
        add_passwd.append(line)
    if not add_passwd and not add_group:
        return {}
    return {"passwd": add_passwd, "group": add_group}


def _host_account(name: str) -> str:
    """--hostuser NAME|UID: the host's account as a passwd line (home /, as podman)."""
    import pwd

    try:
        pw = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except (KeyError, ValueError):
        raise UsageError(f"creating the passwd file of the container: user: unknown user "
                         f"{name}", hint="--hostuser names an account of this host") from None
    return f"{pw.pw_name}:*:{pw.pw_uid}:{pw.pw_gid}:{pw.pw_gecos}:/:/bin/sh"


def write_user_files(paths: "Any", container_id: str, config: "dict[str, Any]") -> None:
    """At create: the container's own /etc/passwd and /etc/group (the image's, with the
    lines added), bound over the image's at start (runtime/spec.py)."""
    entries = config.get("user_entries")
    if not entries:
        return
    from pdman.runtime import statefiles, spec, users
    from pdman.storage.container_fs import ContainerDirs

    dirs = ContainerDirs(paths, container_id)
    layer_dirs = spec.layer_paths(paths, config["layers"])
    for name in ("passwd", "group"):
        text = users.read_text(layer_dirs, f"etc/{name}")
        if text is None:
            continue  # the image has no such file: nothing to add to
        if text and not text.endswith("\n"):
            text += "\n"
        statefiles.write_atomic(dirs.userfile(name),
                                text + "".join(ln + "\n" for ln in entries.get(name, [])),
                                0o644)


__all__ = ["device", "resolve", "write_user_files"]
