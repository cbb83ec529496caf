"""`generate systemd`: a service unit for an existing container, in the shape of
`podman generate systemd` (which many servers still use).

  without --new  the unit starts and stops the existing container
                 (ExecStart=pdman start NAME; the start sends READY=1 and the monitor's
                 PID, so Type=notify replaces podman's Type=forking + conmon PIDFile)
  --new          the unit creates the container afresh from the command line that
                 created it (stored at create), with podman's added options:
                 --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --sdnotify=conmon
                 --replace -d, and removes it on stop
  --template     (implies --new) a template unit, NAME@.service: each instance
                 (`systemctl start NAME@web1`) runs its own container, named NAME-%i

A pod's units (a pod unit, and one unit per member bound to it) are in generate_pod.py.
"""

from __future__ import annotations

import time
from typing import Any

from pdman.errors import UsageError
from pdman.systemd.unitfile import join_words

#: options of run/create that `--new` replaces with its own (value-taking ones)
_DROP_WITH_VALUE = {"--cidfile", "--sdnotify", "--cgroups"}
#: flags that `--new` replaces with its own
_DROP_FLAGS = {"-d", "--detach", "--rm", "--replace"}
_VERBS = ("run", "create")


def command_options(command: str = "run") -> "tuple[set[str], set[str]]":
    """(options that take a value, boolean flags) of a pdman command (`run`, `pod create`)."""
    from pdman.cli.spec_data import SPEC

    valued: set[str] = set()
    flags: set[str] = set()
    for p in SPEC["commands"][command]["params"]:
        if p.get("kind") != "option":
            continue
        (flags if p.get("flag") else valued).update(p.get("opts", []))
        flags.update(p.get("secondary", []))
    return valued, flags


def new_command(create_command: "list[str]", pdman: str, name: str,
                instance_name: str = "", pod_id_file: str = "") -> "list[str]":
    """The `pdman run` line a `--new` unit runs, from the container's create command.
    With `instance_name` (a template unit's `UNIT-%i`): the container's --name gets the
    instance (`--name web-%i`), or is that name when the container had none, so that
    instances do not replace one another. With `pod_id_file` (a pod member's unit): the
    container joins the pod that file names, which the pod's unit created, instead of
    its --pod."""
    if not create_command:
        raise UsageError(f"container {name} has no recorded create command (it was made by "
                         "an older pdman or through the API)",
                         hint="use generate systemd without --new, or create it again")
    args = list(create_command[1:])
    verb_at = next((i for i, a in enumerate(args) if a in _VERBS), -1)
    if verb_at < 0:
        raise UsageError(f"container {name}: cannot find run/create in its create command "
                         f"{' '.join(create_command)!r}")
    global_opts, rest = args[:verb_at], args[verb_at + 1:]
    if global_opts[-1:] == ["container"]:
        global_opts = global_opts[:-1]
    valued, flags = command_options("run")
    drop_valued = _DROP_WITH_VALUE | ({"--pod", "--pod-id-file"} if pod_id_file else set())
    kept: list[str] = []
    i = 0
    while i < len(rest):
        a = rest[i]
        if a == "--" or not a.startswith("-") or a == "-":
            kept.extend(rest[i:])       # the image and the container's command
            break
        opt, eq, _ = a.partition("=")
        if instance_name and opt == "--name":
            value = a[len(opt) + 1:] if eq else (rest[i + 1] if i + 1 < len(rest) else "")
            kept.append(f"--name={value}-%i")
            i += 1 if eq else 2
            instance_name = ""
            continue
        if opt in drop_valued:
            i += 1 if eq else 2
            continue
        if opt in _DROP_FLAGS:
            i += 1
            continue
        if not opt.startswith("--") and len(opt) > 2 and not eq:
            # -dit: bundled short flags; drop the d, keep the rest
            letters = [c for c in opt[1:] if c != "d"]
            takes_value = f"-{opt[-1]}" in valued
            if letters:
                kept.append("-" + "".join(letters))
            i += 1
            if takes_value and i < len(rest):
                kept.append(rest[i])
                i += 1
            continue
        kept.append(a)
        i += 1
        if opt in valued and not eq and i < len(rest):
            kept.append(rest[i])
            i += 1
    named = [f"--name={instance_name}"] if instance_name else []
    in_pod = ["--pod-id-file", pod_id_file] if pod_id_file else []
    return [pdman, *global_opts, "run", *named, "--cidfile=%t/%n.ctr-id",
            "--cgroups=no-conmon", "--rm", *in_pod, "--sdnotify=conmon", "--replace", "-d",
            *kept]


class Extra:
    """The unit-level additions of `generate systemd`'s options."""

    def __init__(self, after: "list[str] | None" = None, requires: "list[str] | None" = None,
                 wants: "list[str] | None" = None, env: "list[str] | None" = None,
                 restart_sec: int | None = None, start_timeout: int | None = None,
                 unit_stop_timeout: int | None = None) -> None:
        self.after = after or []
        self.requires = requires or []
        self.wants = wants or []
        self.env = env or []
        self.restart_sec = restart_sec
        self.start_timeout = start_timeout
        self.unit_stop_timeout = unit_stop_timeout


_POLICIES = ("no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort",
             "always")


def head(unit_name: str, *, header: bool, version: str, extra: Extra, template: bool = False,
         deps: "list[str] | None" = None) -> "list[str]":
    """The comment header and the [Unit] section (`deps`: the pod's own lines, which
    podman puts before the --after/--requires/--wants ones)."""
    lines: list[str] = []
    if header:
        lines += [f"# {unit_name}{'@' if template else ''}.service",
                  f"# autogenerated by pdman {version}",
                  f"# {time.strftime('%a %b %d %H:%M:%S %Z %Y')}", ""]
    lines += ["[Unit]", f"Description=pdman {unit_name}.service" + (" for %I" if template else ""),
              "Documentation=man:pdman-generate-systemd(1)",
              "Wants=network-online.target", "After=network-online.target",
              "RequiresMountsFor=%t/containers", *(deps or [])]
    lines += [f"After={a}" for a in extra.after] + [f"Requires={r}" for r in extra.requires]
    lines += [f"Wants={w}" for w in extra.wants]
    return lines


def service_head(*, restart_policy: str, timeout: int, extra: Extra,
                 template: bool = False) -> "list[str]":
    """The start of [Service]: environment, restart policy and timeouts."""
    if restart_policy not in _POLICIES:
        raise UsageError(f"invalid --restart-policy {restart_policy!r}",
                         hint="use one of " + ", ".join(_POLICIES))
    lines = ["", "[Service]", "Environment=PODMAN_SYSTEMD_UNIT=%n" + ("-%i" if template else "")]
    for item in extra.env:
        if "=" not in item:
            raise UsageError(f"--env {item!r}: expected KEY=VALUE")
        lines.append(f"Environment={join_words([item])}")
    lines.append(f"Restart={restart_policy}")
    if extra.restart_sec is not None:
        lines.append(f"RestartSec={extra.restart_sec}")
    if extra.start_timeout is not None:
        lines.append(f"TimeoutStartSec={extra.start_timeout}")
    unit_stop = extra.unit_stop_timeout
    lines.append(f"TimeoutStopSec={60 + timeout if unit_stop is None else unit_stop}")
    return lines


#: the end of every unit: pdman's start says READY=1 and MAINPID=<monitor> itself, so
#: Type=notify replaces podman's Type=forking + conmon PIDFile
TAIL = ["Type=notify", "NotifyAccess=all", "", "[Install]", "WantedBy=default.target"]


def unit_text(rec_name: str, rec_id: str, config: "dict[str, Any]", pdman: str, *,
              new: bool, unit_name: str, restart_policy: str, stop_timeout: int | None,
              header: bool, version: str, extra: Extra | None = None,
              template: bool = False, pod_unit: str = "", pod_id_file: str = "") -> str:
    """The unit for one container (`template`: UNIT@.service, with --new). `pod_unit`:
    the unit of the container's pod (a member's unit is bound to it); `pod_id_file`:
    with --new, the file the pod's unit writes its new pod's ID to."""
    extra = extra or Extra()
    timeout = int(config.get("stop_timeout", 10) if stop_timeout is None else stop_timeout)
    deps = [f"BindsTo={pod_unit}.service", f"After={pod_unit}.service"] if pod_unit else []
    lines = head(unit_name, header=header, version=version, extra=extra, template=template,
                 deps=deps)
    lines += service_head(restart_policy=restart_policy, timeout=timeout, extra=extra,
                          template=template)
    if template and not new:
        raise UsageError("--template cannot be set with --new=false",
                         hint="leave out --new=false: a template unit creates its containers")
    if new:
        run = new_command(list(config.get("create_command") or []), pdman, rec_name,
                          f"{unit_name}-%i" if template else "", pod_id_file)
        lines += [f"ExecStart={join_words(run)}",
                  f"ExecStop={join_words([pdman, 'stop', '--ignore', '-t', str(timeout), '--cidfile=%t/%n.ctr-id'])}",
                  f"ExecStopPost={join_words([pdman, 'rm', '-f', '--ignore', '-t', str(timeout), '--cidfile=%t/%n.ctr-id'])}"]
    else:
        target = rec_name or rec_id
        lines += [f"ExecStart={join_words([pdman, 'start', target])}",
                  f"ExecStop={join_words([pdman, 'stop', '-t', str(timeout), target])}",
                  f"ExecStopPost={join_words([pdman, 'stop', '-t', str(timeout), target])}"]
    return "\n".join(lines + TAIL) + "\n"


__all__ = ["Extra", "TAIL", "command_options", "head", "new_command", "service_head",
           "unit_text"]
