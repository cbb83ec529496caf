"""Quadlet files -> systemd services: the translation of podman-systemd.unit(5)'s
`.container`, `.volume`, `.network` and `.image` files into `.service` units whose
`ExecStart=` runs `pdman`.

Each file's own section (`[Container]`, ...) becomes a `pdman` command line; every other
section (`[Unit]`, `[Service]`, `[Install]`, ...) passes through to systemd untouched,
except that references to other Quadlet files (`After=db.container`) are turned into
the services they generate. A key pdman does not know, a value it cannot read, or an
option `pdman` does not have yet is an error naming the file and the line, and that
file generates nothing: never a half-working unit.

Pure logic over parsed files (`Source`), so every key is unit-tested without systemd.
"""

from __future__ import annotations

import os
from typing import Callable

from pdman.errors import UnitFileError
from pdman.systemd.unitfile import Entry, UnitFile, join_words, parse_bool, split_words

KINDS = ("container", "volume", "network", "image")
SECTION = {"container": "Container", "volume": "Volume", "network": "Network", "image": "Image"}
#: the [Unit] keys whose values may name other Quadlet files (podman translates these)
DEPENDENCY_KEYS = ("Wants", "Requires", "Requisite", "BindsTo", "PartOf", "Upholds",
                   "Conflicts", "Before", "After")
CIDFILE = "%t/%N.cid"


class Source:
    """One Quadlet file (with its drop-ins merged): its name, kind and parsed content."""

    def __init__(self, path: str, unit: UnitFile) -> None:
        self.path = path
        self.name = os.path.basename(path)
        self.stem, _, self.kind = self.name.rpartition(".")
        self.unit = unit

    @property
    def service_name(self) -> str:
        if self.kind == "container":
            return f"{self.stem}.service"
        return f"{self.stem}-{self.kind}.service"

    def where(self, entry: Entry | None) -> str:
        return f"{self.path}:{entry.line}" if entry and entry.line else self.path


class Generated:
    """A translated unit: its service name, the unit, and what [Install] asks for."""

    def __init__(self, source: Source, unit: UnitFile) -> None:
        self.source = source
        self.service_name = source.service_name
        self.unit = unit

    def install_links(self) -> list[tuple[str, str]]:
        """(link path relative to the output dir, target) pairs, as `systemctl enable`
        would make them for `WantedBy=`, `RequiredBy=`, `UpheldBy=` and `Alias=`."""
        links: list[tuple[str, str]] = []
        name = self.service_name
        for key, suffix in (("WantedBy", "wants"), ("RequiredBy", "requires"),
                            ("UpheldBy", "upholds")):
            for entry in self.unit.all("Install", key):
                for target in split_words(entry.value, self.source.where(entry)):
                    links.append((f"{target}.{suffix}/{name}", f"../{name}"))
        for entry in self.unit.all("Install", "Alias"):
            for alias in split_words(entry.value, self.source.where(entry)):
                links.append((alias, name))
        return links


class Sources:
    """Every Quadlet file the generator found, by file name (`db.volume`)."""

    def __init__(self, sources: "list[Source]") -> None:
        self.by_name = {s.name: s for s in sources}

    def volume_name(self, name: str) -> str:
        return self._resource_name(name, "VolumeName")

    def network_name(self, name: str) -> str:
        return self._resource_name(name, "NetworkName")

    def _resource_name(self, name: str, key: str) -> str:
        src = self.by_name.get(name)
        stem = name.rsplit(".", 1)[0]
        if src is not None:
            entry = src.unit.last(SECTION[src.kind], key)
            if entry is not None:
                return entry.value
        return f"systemd-{stem}"

    def image_name(self, name: str, source: Source, entry: Entry) -> str:
        src = self.by_name.get(name)
        if src is None:
            raise UnitFileError(f"{source.where(entry)}: {entry.key}={entry.value}: no "
                                f"Quadlet file {name} was found",
                                hint="put it beside this file (same search path)")
        tag = src.unit.last("Image", "ImageTag") or src.unit.last("Image", "Image")
        if tag is None:
            raise UnitFileError(f"{src.path}: no Image= key in [Image]")
        return tag.value


# -- the command-line builder -------------------------------------------------------

class Command:
    """A `pdman` command line being built, remembering which file line asked for each
    option (for the flag check in `validate`)."""

    def __init__(self, *words: str) -> None:
        self.words: list[str] = list(words)
        self.origins: list[tuple[str, Entry | None]] = []   # (option, entry)

    def add(self, entry: Entry | None, *words: str) -> None:
        if words and words[0].startswith("-"):
            self.origins.append((words[0].split("=", 1)[0], entry))
        self.words.extend(words)


#: [Container] keys that map to one `pdman run` option. kind: "value" (the option and
#: the value), "each" (one option per entry), "words" (one per blank-separated word),
#: "bool" (the option alone when true), "keyval" (KEY=VALUE lists: sorted, as Quadlet does)
CONTAINER_OPTIONS: dict[str, tuple[str, str]] = {
    "AddCapability": ("--cap-add", "words"),
    "DropCapability": ("--cap-drop", "words"),
    "AddDevice": ("--device", "each"),
    "AddHost": ("--add-host", "each"),
    "CgroupsMode": ("--cgroups", "value"),
    "DNS": ("--dns", "each"),
    "DNSOption": ("--dns-option", "each"),
    "DNSSearch": ("--dns-search", "each"),
    "Entrypoint": ("--entrypoint", "value"),
    "EnvironmentHost": ("--env-host", "bool"),
    "ExposeHostPort": ("--expose", "each"),
    "GIDMap": ("--gidmap", "each"),
    "GroupAdd": ("--group-add", "each"),
    "HealthCmd": ("--health-cmd", "value"),
    "HealthInterval": ("--health-interval", "value"),
    "HealthLogDestination": ("--health-log-destination", "value"),
    "HealthMaxLogCount": ("--health-max-log-count", "value"),
    "HealthMaxLogSize": ("--health-max-log-size", "value"),
    "HealthOnFailure": ("--health-on-failure", "value"),
    "HealthRetries": ("--health-retries", "value"),
    "HealthStartPeriod": ("--health-start-period", "value"),
    "HealthStartupCmd": ("--health-startup-cmd", "value"),
    "HealthStartupInterval": ("--health-startup-interval", "value"),
    "HealthStartupRetries": ("--health-startup-retries", "value"),
    "HealthStartupSuccess": ("--health-startup-success", "value"),
    "HealthStartupTimeout": ("--health-startup-timeout", "value"),
    "HealthTimeout": ("--health-timeout", "value"),
    "HostName": ("--hostname", "value"),
    "IP": ("--ip", "value"),
    "IP6": ("--ip6", "value"),
    "LogDriver": ("--log-driver", "value"),
    "LogOpt": ("--log-opt", "each"),
    "Memory": ("--memory", "value"),
    "NetworkAlias": ("--network-alias", "each"),
    "PidsLimit": ("--pids-limit", "value"),
    "Pod": ("--pod", "value"),
    "PublishPort": ("--publish", "each"),
    "Pull": ("--pull", "value"),
    "ReadOnly": ("--read-only", "bool"),
    "ReadOnlyTmpfs": ("--read-only-tmpfs", "bool"),
    "Retry": ("--retry", "value"),
    "RetryDelay": ("--retry-delay", "value"),
    "Rootfs": ("--rootfs", "value"),
    "RunInit": ("--init", "bool"),
    "Secret": ("--secret", "each"),
    "ShmSize": ("--shm-size", "value"),
    "StopSignal": ("--stop-signal", "value"),
    "StopTimeout": ("--stop-timeout", "value"),
    "SubGIDMap": ("--subgidname", "value"),
    "SubUIDMap": ("--subuidname", "value"),
    "Sysctl": ("--sysctl", "words"),
    "Timezone": ("--tz", "value"),
    "Tmpfs": ("--tmpfs", "each"),
    "UIDMap": ("--uidmap", "each"),
    "Ulimit": ("--ulimit", "each"),
    "UserNS": ("--userns", "value"),
    "WorkingDir": ("--workdir", "value"),
}
#: keys mapped to `--security-opt X` (bool: X when true; value: X=VALUE / X:VALUE)
SECURITY_OPTIONS: dict[str, tuple[str, str]] = {
    "NoNewPrivileges": ("no-new-privileges", "bool"),
    "SeccompProfile": ("seccomp={}", "value"),
    "SecurityLabelDisable": ("label=disable", "bool"),
    "SecurityLabelNested": ("label=nested", "bool"),
    "SecurityLabelType": ("label=type:{}", "value"),
    "SecurityLabelFileType": ("label=filetype:{}", "value"),
    "SecurityLabelLevel": ("label=level:{}", "value"),
    "Mask": ("mask={}", "value"),
    "Unmask": ("unmask={}", "value"),
}
#: keys handled by name in `translate_container`
CONTAINER_SPECIAL = {"Image", "Exec", "ContainerName", "Environment", "EnvironmentFile",
                     "Label", "Annotation", "AutoUpdate", "Volume", "Mount", "Network",
                     "User", "Group", "Notify", "PodmanArgs", "GlobalArgs",
                     "ContainersConfModule", "ReloadCmd", "ReloadSignal", "StartWithPod"}


def translate(source: Source, sources: Sources, pdman: str, user: bool) -> Generated:
    """Translate one Quadlet file; raises UnitFileError naming the file and line."""
    from pdman.systemd import resources

    translators: dict[str, Callable[[Source, Sources, str, bool], Generated]] = {
        "container": translate_container, "volume": resources.translate_volume,
        "network": resources.translate_network, "image": resources.translate_image}
    if source.kind not in translators:
        raise UnitFileError(f"{source.path}: unsupported file type .{source.kind}",
                            hint="pdman translates .container, .volume, .network and .image")
    section = SECTION[source.kind]
    if not source.unit.has(section):
        raise UnitFileError(f"{source.path}: no [{section}] section")
    return translators[source.kind](source, sources, pdman, user)


def service_base(source: Source, sources: Sources) -> UnitFile:
    """The passed-through sections, with Quadlet file names in [Unit] dependencies
    turned into their services, and the file's own section kept as `[X-Kind]` (as
    Quadlet does: systemd ignores X- sections, a reader sees where the unit came from)."""
    out = UnitFile(source.path)
    out.sections["Unit"] = []           # first, as a reader expects
    own = SECTION[source.kind]
    for section, entries in source.unit.sections.items():
        if section == "Quadlet":
            continue
        name = f"X-{section}" if section == own else section
        for e in entries:
            value = e.value
            if section == "Unit" and e.key in DEPENDENCY_KEYS:
                value = " ".join(_dependency(w, sources) for w in
                                 split_words(e.value, source.where(e)))
            out.sections.setdefault(name, []).append(Entry(e.key, value, e.line))
    out.add("Unit", "SourcePath", source.path)
    out.add("Unit", "RequiresMountsFor", "%t/containers")
    return out


def _dependency(word: str, sources: Sources) -> str:
    stem, dot, kind = word.rpartition(".")
    if dot and kind in KINDS:
        return Source(word, UnitFile()).service_name
    return word


def _require(unit: UnitFile, service: str) -> None:
    unit.add("Unit", "Requires", service)
    unit.add("Unit", "After", service)


def check_keys(source: Source, allowed: "set[str]") -> None:
    section = SECTION[source.kind]
    for e in source.unit.entries(section):
        if e.key not in allowed:
            raise UnitFileError(f"{source.where(e)}: unsupported key '{e.key}' in group "
                                f"'{section}'",
                                hint="see podman-systemd.unit(5) for the keys; pdman's "
                                     "README lists the ones it translates")


def words_of(source: Source, entry: Entry) -> list[str]:
    return split_words(entry.value, source.where(entry))


def keyvals(source: Source, key: str, section: str) -> dict[str, str]:
    """`Environment=`-style lists: KEY=VALUE words; later keys win; a word without
    `=` is an error."""
    out: dict[str, str] = {}
    for e in source.unit.all(section, key):
        for word in words_of(source, e):
            k, sep, v = word.partition("=")
            if not sep or not k:
                raise UnitFileError(f"{source.where(e)}: {key}={e.value}: {word!r} is not "
                                    "KEY=VALUE")
            out[k] = v
    return out


def _path(source: Source, value: str) -> str:
    """A path relative to the unit file's directory, as Quadlet resolves it (not one
    starting with `%`: a systemd specifier)."""
    if value.startswith(("/", "%")):
        return value
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(source.path)), value))


def _stop_lines(unit: UnitFile, pdman: str, stop_timeout: str) -> None:
    rm = join_words([pdman, "rm", "-v", "-f", "-i", "-t", stop_timeout, f"--cidfile={CIDFILE}"])
    unit.add("Service", "ExecStop", rm)
    unit.add("Service", "ExecStopPost", "-" + rm)


def translate_container(source: Source, sources: Sources, pdman: str, user: bool) -> Generated:
    sec = "Container"
    check_keys(source, set(CONTAINER_OPTIONS) | set(SECURITY_OPTIONS) | CONTAINER_SPECIAL)
    unit = source.unit
    out = service_base(source, sources)
    for key in ("ContainersConfModule", "ReloadCmd", "ReloadSignal", "StartWithPod", "Pod"):
        e = unit.last(sec, key)
        if e is not None:
            raise UnitFileError(f"{source.where(e)}: {key}= is not supported by pdman yet",
                                hint="remove the key, or use PodmanArgs= for a pdman option")
    image = unit.last(sec, "Image")
    if image is None:
        raise UnitFileError(f"{source.path}: no Image key specified",
                            hint="add Image=REFERENCE to [Container]")

    cmd = Command(pdman)
    for e in unit.all(sec, "GlobalArgs"):
        cmd.words.extend(words_of(source, e))
    name_entry = unit.last(sec, "ContainerName")
    name = name_entry.value if name_entry else "systemd-%N"
    notify = unit.last(sec, "Notify")
    sdnotify = "conmon"
    if notify is not None:
        if notify.value.lower() == "healthy":
            sdnotify = "healthy"
        elif parse_bool(notify, source.path):
            sdnotify = "container"
    cgroups = unit.last(sec, "CgroupsMode")
    cmd.add(None, "run", f"--name={name}", f"--cidfile={CIDFILE}", "--replace", "--rm")
    cmd.add(cgroups, f"--cgroups={cgroups.value if cgroups else 'split'}")
    cmd.add(notify, f"--sdnotify={sdnotify}")
    cmd.add(None, "-d")
    if unit.last(sec, "LogDriver") is None:
        # podman's default log driver on a systemd host is journald, so Quadlet units
        # log to the journal (`journalctl -u NAME`); pdman's default is k8s-file
        cmd.add(None, "--log-driver", "journald")

    for key, (flag, kind) in CONTAINER_OPTIONS.items():
        if key == "CgroupsMode":
            continue
        _emit(cmd, source, sec, key, flag, kind)
    for key, (fmt, kind) in SECURITY_OPTIONS.items():
        e = unit.last(sec, key)
        if e is None:
            continue
        if kind == "bool":
            if parse_bool(e, source.path):
                cmd.add(e, "--security-opt", fmt)
        else:
            value = _path(source, e.value) if key == "SeccompProfile" else e.value
            cmd.add(e, "--security-opt", fmt.format(value))

    user_e, group_e = unit.last(sec, "User"), unit.last(sec, "Group")
    if group_e is not None and user_e is None:
        raise UnitFileError(f"{source.where(group_e)}: Group= needs User= too",
                            hint="add User=UID (the --user option takes USER[:GROUP])")
    if user_e is not None:
        cmd.add(user_e, "--user",
                user_e.value + (f":{group_e.value}" if group_e is not None else ""))

    for e in unit.all(sec, "Network"):
        cmd.add(e, "--network", _network(source, sources, e, out))
    for e in unit.all(sec, "Volume"):
        cmd.add(e, "-v", _volume(source, sources, e, out))
    for e in unit.all(sec, "Mount"):
        cmd.add(e, "--mount", _mount(source, sources, e, out))

    for e in unit.all(sec, "EnvironmentFile"):
        cmd.add(e, "--env-file", _path(source, e.value))
    env = keyvals(source, "Environment", sec)
    for k in sorted(env):
        cmd.add(unit.last(sec, "Environment"), "--env", f"{k}={env[k]}")
    labels = keyvals(source, "Label", sec)
    auto = unit.last(sec, "AutoUpdate")
    if auto is not None:
        if auto.value not in ("registry", "local"):
            raise UnitFileError(f"{source.where(auto)}: AutoUpdate={auto.value}: use registry "
                                "or local")
        labels["io.containers.autoupdate"] = auto.value
    for k in sorted(labels):
        cmd.add(unit.last(sec, "Label") or auto, "--label", f"{k}={labels[k]}")
    annotations = keyvals(source, "Annotation", sec)
    for k in sorted(annotations):
        cmd.add(unit.last(sec, "Annotation"), "--annotation", f"{k}={annotations[k]}")

    for e in unit.all(sec, "PodmanArgs"):
        for word in words_of(source, e):
            cmd.add(e, word)

    image_ref = image.value
    if image_ref.endswith(".image"):
        image_ref = sources.image_name(image_ref, source, image)
        _require(out, Source(image.value, UnitFile()).service_name)
    cmd.words.append(image_ref)
    for e in unit.all(sec, "Exec"):
        cmd.words.extend(words_of(source, e))

    validate(cmd, "run", source)
    stop_timeout = unit.last(sec, "StopTimeout")
    svc = "Service"
    out.add(svc, "Environment", "PODMAN_SYSTEMD_UNIT=%n")
    out.setdefault(svc, "KillMode", "mixed")
    _stop_lines(out, pdman, stop_timeout.value if stop_timeout else "10")
    out.setdefault(svc, "Delegate", "yes")
    out.setdefault(svc, "Type", "notify")
    out.setdefault(svc, "NotifyAccess", "all")
    out.setdefault(svc, "SyslogIdentifier", "%N")
    out.add(svc, "ExecStart", join_words(cmd.words))
    return Generated(source, out)


def _emit(cmd: Command, source: Source, sec: str, key: str, flag: str, kind: str) -> None:
    unit = source.unit
    if kind == "value":
        e = unit.last(sec, key)
        if e is not None:
            cmd.add(e, flag, e.value)
    elif kind == "bool":
        e = unit.last(sec, key)
        if e is not None and parse_bool(e, source.path):
            cmd.add(e, flag)
    elif kind == "each":
        for e in unit.all(sec, key):
            cmd.add(e, flag, e.value)
    elif kind == "words":
        for e in unit.all(sec, key):
            for word in words_of(source, e):
                cmd.add(e, flag, word.lower() if flag.startswith("--cap-") else word)


def _network(source: Source, sources: Sources, e: Entry, out: UnitFile) -> str:
    value = e.value
    base, sep, opts = value.partition(":")
    if base.endswith(".network"):
        _require(out, Source(base, UnitFile()).service_name)
        return sources.network_name(base) + sep + opts
    return value


def _volume(source: Source, sources: Sources, e: Entry, out: UnitFile) -> str:
    parts = e.value.split(":")
    src = parts[0]
    if len(parts) == 1:
        return src                      # an anonymous volume: the container path only
    if src.endswith(".volume"):
        _require(out, Source(src, UnitFile()).service_name)
        parts[0] = sources.volume_name(src)
    elif src.startswith("."):
        parts[0] = _path(source, src)
    if parts[0].startswith("/"):
        out.add("Unit", "RequiresMountsFor", parts[0])
    return ":".join(parts)


def _mount(source: Source, sources: Sources, e: Entry, out: UnitFile) -> str:
    fields = e.value.split(",")
    kind = ""
    for f in fields:
        k, _, v = f.partition("=")
        if k == "type":
            kind = v
    for i, f in enumerate(fields):
        k, sep, v = f.partition("=")
        if k not in ("source", "src") or not sep:
            continue
        if v.endswith(".volume") and kind in ("", "volume"):
            _require(out, Source(v, UnitFile()).service_name)
            fields[i] = f"{k}={sources.volume_name(v)}"
        elif kind == "bind" and v.startswith("."):
            fields[i] = f"{k}={_path(source, v)}"
    return ",".join(fields)


# -- the flag check -----------------------------------------------------------------

def known_options(command: str) -> "set[str] | None":
    """The options `pdman COMMAND` accepts, from the CLI's static description (the
    same one the fast path parses with); None when the command is not described."""
    try:
        from pdman.cli.spec_data import SPEC
    except ImportError:                 # pragma: no cover - a broken install
        return None
    cmd = SPEC.get("commands", {}).get(command)
    if cmd is None:
        return None
    opts: set[str] = set()
    for p in cmd.get("params", []):
        if p.get("kind") == "option":
            opts.update(p.get("opts", []))
            opts.update(p.get("secondary", []))
    return opts


def validate(cmd: Command, command: str, source: Source) -> None:
    """Refuse a unit whose command line uses an option this pdman does not have (say,
    a Health* key before healthchecks exist): the unit would only fail at start."""
    known = known_options(command)
    if known is None:
        return
    for flag, entry in cmd.origins:
        if flag in ("run", "volume", "network", "image") or not flag.startswith("-"):
            continue
        if flag not in known:
            what = f"{entry.key}=" if entry is not None else "the generated command"
            raise UnitFileError(
                f"{source.where(entry)}: {what} needs `pdman {command} {flag}`, which this "
                "pdman does not have",
                hint="remove the key (or the option from PodmanArgs=)")


__all__ = ["CIDFILE", "Command", "Generated", "KINDS", "Source", "Sources", "check_keys",
           "keyvals", "service_base", "translate", "validate", "words_of"]
