"""A container's own directories: the writable (copy-on-write) layer and the files
pdman generates for it.

    <root>/containers/<id>/upper      the container layer: every write lands here
    <root>/containers/<id>/work       overlayfs' work directory
    <root>/containers/<id>/merged     mount point of the overlay (inside the container's
                                      mount namespace only; empty on the host)
    <root>/containers/<id>/userdata/  hostname, hosts, resolv.conf bound into the container
    <runroot>/containers/<id>/        runtime state: exit file, attach socket, pid file
"""

from __future__ import annotations

import os

from pdman.config import Paths


class ContainerDirs:
    __slots__ = ("base", "run")

    def __init__(self, paths: Paths, container_id: str) -> None:
        self.base = os.path.join(paths.containers, container_id)
        self.run = os.path.join(paths.runroot, "containers", container_id)

    @property
    def upper(self) -> str:
        return os.path.join(self.base, "upper")

    @property
    def work(self) -> str:
        return os.path.join(self.base, "work")

    @property
    def merged(self) -> str:
        return os.path.join(self.base, "merged")

    @property
    def userdata(self) -> str:
        return os.path.join(self.base, "userdata")

    def userfile(self, name: str) -> str:
        return os.path.join(self.userdata, name)


def _write(path: str, text: str) -> None:
    from pdman.runtime import statefiles

    statefiles.write_atomic(path, text, 0o644)


def add_host_lines(add_hosts: list[str]) -> list[str]:
    """`--add-host NAME:IP` (docker's order) as hosts lines."""
    from pdman.errors import UsageError

    lines = []
    for item in add_hosts:
        name, sep, ip = item.partition(":")
        if not sep or not name or not ip:
            raise UsageError(f"invalid --add-host {item!r}", hint="use --add-host NAME:IP")
        lines.append(f"{ip}\t{name}")
    return lines


def hosts_file(hostname: str, extra: list[str] | None = None, address: str | None = None) -> str:
    lines = ["127.0.0.1\tlocalhost localhost.localdomain", "::1\tlocalhost localhost.localdomain"]
    lines += list(extra or [])
    lines.append(f"{address or '127.0.1.1'}\t{hostname}")
    return "\n".join(lines) + "\n"


def resolv_conf(dns: list[str] | None = None, search: list[str] | None = None,
                options: list[str] | None = None) -> str:
    """The host's resolv.conf (minus loopback resolvers, which the container cannot
    reach), or the servers given with --dns; --dns-search and --dns-option replace
    the host's search and options lines."""
    if search or options:
        kept = [ln for ln in resolv_conf(dns).splitlines()
                if not (search and ln.startswith(("search", "domain")))
                and not (options and ln.startswith("options"))]
        if search and search != ["."]:
            kept.append("search " + " ".join(search))
        if options:
            kept.append("options " + " ".join(options))
        return "\n".join(kept) + "\n"
    if dns:
        return "".join(f"nameserver {d}\n" for d in dns)
    try:
        with open("/etc/resolv.conf", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return ""
    kept = [ln for ln in lines
            if not (ln.startswith("nameserver") and ln.split()[1:2] and
                    ln.split()[1].startswith(("127.", "::1")))]
    return "\n".join(kept) + "\n"


def rewrite_in_place(path: str, text: str) -> None:
    """Replace a generated file's content keeping its inode: a running container has
    it bind-mounted (hosts of a user-defined network, kept current as containers come
    and go), and a new inode from rename would never reach it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        data = text.encode()
        os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def containerenv(name: str, container_id: str, image_name: str, image_id: str) -> str:
    """/run/.containerenv, as podman writes it: programs test for the file to know they
    run in a container (and read which engine and container)."""
    from pdman import __version__

    return (f'engine="pdman-{__version__}"\nname="{name}"\nid="{container_id}"\n'
            f'image="{image_name}"\nimageid="{image_id}"\nrootless=1\n')


def prepare(paths: Paths, container_id: str, hostname: str,
            hosts_extra: list[str] | None = None, dns: list[str] | None = None,
            container_env: str | None = None, dns_search: list[str] | None = None,
            dns_options: list[str] | None = None) -> ContainerDirs:
    """Create the writable layer and the generated files (one stage of `create`)."""
    d = ContainerDirs(paths, container_id)
    for sub in (d.upper, d.work, d.merged, d.userdata):
        os.makedirs(sub, mode=0o755, exist_ok=True)
    # container root owns its root directory; the upper dir's mode is what / looks like
    os.chmod(d.upper, 0o755)
    _write(d.userfile("hostname"), hostname + "\n")
    _write(d.userfile("hosts"), hosts_file(hostname, hosts_extra))
    _write(d.userfile("resolv.conf"), resolv_conf(dns, dns_search, dns_options))
    if container_env is not None:
        _write(d.userfile(".containerenv"), container_env)
    return d


def remove(paths: Paths, container_id: str) -> None:
    """Remove every directory of a container. Files in the writable layer may belong to
    subordinate IDs (container users other than root) that this user cannot delete
    directly, so what plain removal cannot do is finished inside the user namespace."""
    d = ContainerDirs(paths, container_id)
    for path in (d.base, d.run):
        if not os.path.lexists(path):
            continue
        try:
            remove_tree(path)
            continue
        except (OSError, RecursionError):
            pass
        import shutil

        # overlayfs leaves `work/work` at mode 000, and a container may chmod its own
        # (our) directories shut: what we own we may open again, which spares the fork
        # into the user namespace; files of subordinate IDs still need it
        _open_own_dirs(path)
        try:
            shutil.rmtree(path)
        except OSError:
            from pdman.runtime.idmap import run_in_userns

            run_in_userns(shutil.rmtree, path)


def remove_tree(top: str) -> None:
    """shutil.rmtree's walk by directory fds (no symlink is ever followed, whatever the
    tree does meanwhile), without importing shutil -- which imports fnmatch, re, bz2 and
    lzma: ~3 ms of every `run --rm`. A directory of ours shut by its mode (overlayfs'
    `work/work` is 000; a container may chmod its own directories) is opened again.
    Raises what it cannot remove (files of subordinate IDs: `remove` goes on in the
    user namespace)."""
    import stat

    if not stat.S_ISDIR(os.lstat(top).st_mode):
        os.unlink(top)
        return
    fd = _open_dir(top, None)
    try:
        _empty_dir(fd)
    finally:
        os.close(fd)
    os.rmdir(top)


def _open_dir(name: str, parent: "int | None") -> int:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(name, flags, dir_fd=parent)
    except PermissionError:
        import stat

        # pinned by an O_PATH fd, so the chmod and the reopening act on the inode that
        # was checked, not on whatever the name holds by then
        pinned = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        try:
            st = os.fstat(pinned)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
                raise
            os.chmod(f"/proc/self/fd/{pinned}", stat.S_IMODE(st.st_mode) | 0o700)
            return os.open(f"/proc/self/fd/{pinned}", flags & ~os.O_NOFOLLOW)
        finally:
            os.close(pinned)


def _empty_dir(fd: int) -> None:
    with os.scandir(fd) as entries:
        names = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
    for name, is_dir in names:
        if is_dir:
            sub = _open_dir(name, fd)
            try:
                _empty_dir(sub)
            finally:
                os.close(sub)
            os.rmdir(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)


def _open_own_dirs(top: str) -> None:
    import stat

    me = os.getuid()
    stack = [top]
    while stack:
        d = stack.pop()
        try:
            st = os.lstat(d)
            if not stat.S_ISDIR(st.st_mode):
                continue
            if st.st_uid == me and st.st_mode & 0o700 != 0o700:
                os.chmod(d, stat.S_IMODE(st.st_mode) | 0o700)
            with os.scandir(d) as it:
                stack.extend(e.path for e in it if e.is_dir(follow_symlinks=False))
        except OSError:
            continue
