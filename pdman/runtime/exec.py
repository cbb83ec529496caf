"""`pdman exec`: a process in a running container, through the C helper's
`pdman_exec_start`/`_finish` (native/setns.c: setns into the container's namespaces,
fork into its PID namespace, then the same identity/capability/exec steps as the
container's own start).

    spec = process_spec(config, layer_dirs, argv, ...)   # who, where, with what
    pid = start(container_pid, spec)                      # a child of ours, exec'd

The process is our child, so the caller waits for it and forwards signals to it as
`run` does for a container (runtime/foreground.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pdman.runtime import native
from pdman.runtime.native import DirRootfs, Rlimit, SpawnSpec


def process_spec(config: "dict[str, Any]", layer_dirs: list[str], argv: Sequence[str], *,
                 user: str | None = None, workdir: str | None = None,
                 env: "dict[str, str] | None" = None, tty: bool = False,
                 privileged: bool = False) -> SpawnSpec:
    """The exec'd process: the container's user, environment, working directory and
    capabilities unless given (`-u`, `-e`, `-w`, `--privileged`)."""
    from pdman.engine import runopts
    from pdman.runtime import users

    if user is not None:
        who = users.resolve(layer_dirs, *runopts.user_spec(user))
        uid, gid, groups, home = who.uid, who.gid, who.additional_gids, who.home
    else:
        uid, gid = int(config["uid"]), int(config["gid"])
        groups, home = list(config.get("additional_gids", [])), config.get("home") or "/"
    environment: dict[str, str] = {}
    for item in config.get("env", []):
        key, _, value = item.partition("=")
        environment[key] = value
    environment.setdefault("HOSTNAME", config.get("hostname", ""))
    environment["HOME"] = home if user is not None else environment.get("HOME", home)
    if tty:
        environment.setdefault("TERM", "xterm")
    environment.update(env or {})
    caps = runopts.ALL_CAPS if privileged else config.get("caps", [])
    return SpawnSpec(
        argv=list(argv),
        rootfs=DirRootfs("/"),  # unused: the process joins the container's root
        env=environment,
        cwd=workdir or config.get("workdir") or "/",
        uid=uid,
        gid=gid,
        additional_gids=groups,
        caps=[c.removeprefix("CAP_") for c in caps],
        no_new_privs=bool(config.get("no_new_privs")) and not privileged,
        rlimits=[Rlimit(r["type"], r["soft"], r["hard"]) for r in config.get("rlimits", [])],
        masked_paths=(),
        readonly_paths=(),
        controlling_tty=tty,
    )


def start(container_pid: int, spec: SpawnSpec,
          before_fork: "Callable[[int], None] | None" = None) -> int:
    """Start `spec` in the namespaces of `container_pid`; the new process' PID (our
    child) once its command was exec'd. CommandNotFoundError (127) and
    CommandNotExecutableError (126) as for a container's own command.

    `before_fork(joiner_pid)` runs while the process that joined the namespaces
    waits to fork the one that execs: what it does to the joiner (moving it into
    the container's cgroup) holds for the process from its first instruction."""
    ffi, lib = native._native()
    c, keep = native._to_c(spec)
    res = ffi.new("struct pdman_spawn_result *")
    err = ffi.new("struct pdman_error *")
    try:
        ret = lib.pdman_exec_start(container_pid, c, res, err)
        if ret == 0:
            if before_fork is not None:
                try:
                    before_fork(int(res.pid))
                except BaseException:
                    lib.pdman_exec_abort(res)
                    raise
            ret = lib.pdman_exec_finish(container_pid, c, res, err)
    finally:
        keep.clear()
    if ret < 0:
        native._fail(ffi, err, namespaces=False)
    return int(res.pid)


__all__ = ["process_spec", "start"]
