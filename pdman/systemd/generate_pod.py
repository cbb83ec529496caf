"""`generate systemd POD`: the units of a pod, in the shape of podman 4.3's.

  pod-NAME.service        starts and stops the pod: Wants= and Before= its members'
                          units (podman's lines: starting the pod's unit starts them)
  container-NAME.service  one per member (the infra container excluded), BindsTo= and
                          After= the pod's unit, so they stop with it

Without --new the pod's unit starts and stops the pod's infra container (its monitor is
the unit's main process, announced by `pdman start`'s READY=1/MAINPID=, as in the
container units); the members' units are those of generate.py.

With --new the pod's unit creates the pod afresh from the command that created it:
podman's `pod create --infra-conmon-pidfile F --pod-id-file F --exit-policy=stop
--replace` becomes pdman's `pod create --pod-id-file F --exit-policy=stop --replace`
(no PID file: Type=notify, `pod start` announcing the infra's monitor, replaces
podman's Type=forking + PIDFile=), and each member's unit runs its container with
`--pod-id-file` of that file instead of its --pod.
"""

from __future__ import annotations

from typing import Any

from pdman.errors import UsageError
from pdman.systemd import generate
from pdman.systemd.unitfile import join_words

#: `pod create` options `--new` replaces with its own (value-taking ones, flags)
_DROP_WITH_VALUE = {"--pod-id-file", "--exit-policy", "--infra-conmon-pidfile"}
_DROP_FLAGS = {"--replace"}


def pod_id_file(pod_unit: str) -> str:
    """Where a --new pod unit writes its pod's ID (podman's name for it)."""
    return f"%t/{pod_unit}.pod-id"


def new_pod_create(create_command: "list[str]", pdman: str, name: str,
                   id_file: str) -> "list[str]":
    """The `pdman pod create` line a --new pod unit runs first, from the pod's create
    command: its own options kept, podman's added ones replacing any given."""
    if not create_command:
        raise UsageError(f"pod {name} has no recorded create command (it was made by an "
                         "older pdman or through the API)",
                         hint="use generate systemd without --new, or create the pod again")
    args = list(create_command[1:])
    at = next((i for i in range(len(args) - 1)
               if args[i] == "pod" and args[i + 1] == "create"), -1)
    if at < 0:
        raise UsageError(f"pod {name}: cannot find `pod create` in its create command "
                         f"{' '.join(create_command)!r}")
    global_opts, rest = args[:at], args[at + 2:]
    valued, _flags = generate.command_options("pod create")
    kept: list[str] = []
    i = 0
    while i < len(rest):
        a = rest[i]
        opt, eq, _ = a.partition("=")
        if opt in _DROP_WITH_VALUE:
            i += 1 if eq else 2
            continue
        if opt in _DROP_FLAGS:
            i += 1
            continue
        kept.append(a)
        i += 1
        if opt.startswith("-") and opt in valued and not eq and i < len(rest):
            kept.append(rest[i])
            i += 1
    return [pdman, *global_opts, "pod", "create", "--pod-id-file", id_file,
            "--exit-policy=stop", *kept, "--replace"]


def pod_unit_text(pod_name: str, pod_id: str, pod_config: "dict[str, Any]",
                  infra_name: str, infra_config: "dict[str, Any]", pdman: str, *,
                  new: bool, unit_name: str, member_units: "list[str]", restart_policy: str,
                  stop_timeout: int | None, header: bool, version: str,
                  extra: generate.Extra | None = None) -> str:
    """The pod's own unit (`member_units`: its members' unit names, without .service)."""
    extra = extra or generate.Extra()
    timeout = int(infra_config.get("stop_timeout", 10) if stop_timeout is None
                  else stop_timeout)
    services = " ".join(f"{u}.service" for u in member_units)
    deps = [f"Wants={services}", f"Before={services}"] if member_units else []
    lines = generate.head(unit_name, header=header, version=version, extra=extra, deps=deps)
    lines += generate.service_head(restart_policy=restart_policy, timeout=timeout, extra=extra)
    if new:
        id_file = pod_id_file(unit_name)
        create = new_pod_create(list(pod_config.get("create_command") or []), pdman,
                                pod_name or pod_id, id_file)
        lines += [f"ExecStartPre={join_words(['/bin/rm', '-f', id_file])}",
                  f"ExecStartPre={join_words(create)}",
                  f"ExecStart={join_words([pdman, 'pod', 'start', '--pod-id-file', id_file])}",
                  f"ExecStop={join_words([pdman, 'pod', 'stop', '--ignore', '--pod-id-file', id_file, '-t', str(timeout)])}",
                  f"ExecStopPost={join_words([pdman, 'pod', 'rm', '--ignore', '-f', '--pod-id-file', id_file])}"]
    else:
        lines += [f"ExecStart={join_words([pdman, 'start', infra_name])}",
                  f"ExecStop={join_words([pdman, 'stop', '-t', str(timeout), infra_name])}",
                  f"ExecStopPost={join_words([pdman, 'stop', '-t', str(timeout), infra_name])}"]
    return "\n".join(lines + generate.TAIL) + "\n"


__all__ = ["new_pod_create", "pod_id_file", "pod_unit_text"]
