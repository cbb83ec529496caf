"""`unshare`: a command run as root of the user's user namespace (the mapping the
store's files are owned through), with a mount namespace of its own; and `mount`/
`unmount`, which mount a container's root filesystem there, as rootless podman only
allows inside `podman unshare`.

    pdman unshare sh -c 'cd "$(pdman mount web)" && ls; pdman unmount web'
"""

from __future__ import annotations

import os

from pdman.engine.context import EngineContext
from pdman.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.storage.container_records import ContainerRecord

#: set in the command's environment, as podman does: tools (and pdman's own `mount`)
#: know they run inside the namespace
INSIDE = "_CONTAINERS_USERNS_CONFIGURED"


def _run(argv: "list[str]", env: "dict[str, str]") -> int:
    """In the namespace: run the command, wait for it, its exit status."""
    import subprocess

    try:
        code = subprocess.call(argv, env=env)
    except FileNotFoundError:
        return _not_run(f'exec: "{argv[0]}": executable file not found in $PATH', 127)
    except PermissionError:
        return _not_run(f'exec: "{argv[0]}": permission denied', 126)
    return 128 - code if code < 0 else code


def _not_run(message: str, code: int) -> int:
    import sys

    print(f"Error: {message}", file=sys.stderr)
    return code


def unshare(ctx: EngineContext, argv: "list[str]", rootless_netns: bool = False) -> int:
    """Run `argv` (default: $SHELL) in the user namespace; its exit status. With
    `rootless_netns`: in the rootless network namespace too (the one that holds the
    bridges of user-defined networks, network/infra.py), started if none runs."""
    from pdman.config import is_root_mode
    from pdman.runtime.idmap import run_in_userns

    if is_root_mode():
        raise UsageError("please use unshare with rootless",
                         hint="as root there is no user namespace to enter")
    env = dict(os.environ)
    env.update({INSIDE: "done", "_CONTAINERS_ROOTLESS_UID": str(os.getuid()),
                "_CONTAINERS_ROOTLESS_GID": str(os.getgid()),
                "CONTAINERS_GRAPHROOT": ctx.paths.root, "CONTAINERS_RUNROOT": ctx.paths.runroot})
    command = list(argv) or [os.environ.get("SHELL") or "/bin/sh"]
    if rootless_netns:
        return _in_rootless_netns(ctx, command, env)
    return run_in_userns(_run, command, env)


def _in_rootless_netns(ctx: EngineContext, command: "list[str]", env: "dict[str, str]") -> int:
    """Run the command in the holder's user and network namespaces (and a mount
    namespace of its own); the holder stops afterwards if no container uses it."""
    from pdman.network import infra

    with infra.locked(ctx.paths):
        holder = infra.ensure(ctx.paths)
    # the lock is not held while the command runs: other pdman commands go on (the
    # namespaces stay while the command is in them, even if the holder is stopped)
    pid = os.fork()
    if pid == 0:  # the child: single-threaded, as joining a user namespace requires
        code = 125
        try:
            from pdman.runtime import native

            native.join_namespace(holder.userns, native.UNSHARE_USER)
            native.join_namespace(holder.netns, native.UNSHARE_NET)
            native.unshare(native.UNSHARE_MOUNT)
            code = _run(command, env)
        except BaseException as exc:  # noqa: BLE001 - said, and the status is 125
            import sys

            print(f"Error: entering the rootless network namespace: {exc}", file=sys.stderr)
        finally:
            os._exit(code)
    from pdman.runtime import spawn

    code = spawn.wait(pid)
    with infra.locked(ctx.paths):
        infra.stop_if_unused(ctx.paths)
    return code


# ---- mount / unmount (inside `unshare`) ----


def _check_inside(verb: str) -> None:
    from pdman.config import is_root_mode

    if is_root_mode() or os.environ.get(INSIDE) and os.geteuid() == 0:
        return
    raise UsageError(f'cannot run command "pdman {verb}" in rootless mode, must execute '
                     "`pdman unshare` first",
                     hint=f"pdman unshare sh -c 'pdman {verb} ...'")


def _mounted() -> "set[str]":
    """Mount points of this mount namespace (octal escapes of mountinfo decoded)."""
    out = set()
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split(" ")
            if len(fields) > 4:
                out.add(fields[4].encode().decode("unicode_escape"))
    return out


def mountpoint(ctx: EngineContext, rec: "ContainerRecord") -> str:
    from pdman.storage.container_fs import ContainerDirs

    return ContainerDirs(ctx.paths, rec.id).merged


def mount(ctx: EngineContext, rec: "ContainerRecord") -> str:
    """Mount the container's root filesystem (its image layers and writable layer) on
    its `merged` directory, unless mounted already; the path. A running container's
    is its root as the kernel shows it (a second overlay on the same upper directory
    would not see the same files)."""
    from pdman.runtime import native
    from pdman.storage.container_fs import ContainerDirs

    _check_inside("mount")
    if rec.status in ("running", "paused") and rec.pid > 0:
        return f"/proc/{rec.pid}/root"
    dirs = ContainerDirs(ctx.paths, rec.id)
    if dirs.merged in _mounted():
        return dirs.merged
    cwd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.chdir(ctx.paths.links)  # short relative lowerdir names, as the spawn does
        data = (f"lowerdir={':'.join(rec.config['layers'])},upperdir={dirs.upper},"
                f"workdir={dirs.work},userxattr")
        native.mount("overlay", dirs.merged, "overlay", 0, data)
    finally:
        os.fchdir(cwd)
        os.close(cwd)
    return dirs.merged


def unmount(ctx: EngineContext, rec: "ContainerRecord") -> bool:
    """Unmount what `mount` mounted; False when it was not mounted."""
    from pdman.runtime import native

    _check_inside("unmount")
    path = mountpoint(ctx, rec)
    if path not in _mounted():
        return False
    native.umount(path, native.MNT_DETACH)
    return True


def mounted(ctx: EngineContext) -> "list[tuple[ContainerRecord, str]]":
    """The containers mounted in this namespace, with their paths."""
    from pdman.storage import container_records

    _check_inside("mount")
    points = _mounted()
    out = []
    for rec in container_records.list_all(ctx.catalog):
        path = mountpoint(ctx, rec)
        if path in points:
            out.append((rec, path))
    return out


__all__ = ["INSIDE", "mount", "mounted", "unmount", "unshare"]
