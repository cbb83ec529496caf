"""Handlers of `diff`, `export`, `cp`."""

from __future__ import annotations

import os
import sys
import tarfile
import tempfile

from pdman.cli.globalopts import GlobalOptions
from pdman.errors import UsageError



def image_diff(g: GlobalOptions, image: str, other: str | None, format: str | None) -> int:
    from pdman.engine import container_files

    return _print_changes(container_files.image_diff(g.context(), image, other or ""), format)


def diff(g: GlobalOptions, container: str, format: str | None) -> int:
    from pdman.engine import container_files

    return _print_changes(container_files.diff(g.context(), container), format)


def _print_changes(changes: list[tuple[str, str]], format: str | None) -> int:
    from pdman.cli import output
    from pdman.errors import terminal_safe

    if format != "json":
        # the names are the image's: none may move the cursor, forge a line, or be
        # bytes the terminal's encoding lacks (JSON escapes them itself)
        changes = [(k, terminal_safe(p, keep="")) for k, p in changes]
    if format == "json":
        kinds = {"A": "added", "C": "changed", "D": "deleted"}
        report: dict[str, list[str]] = {}
        for kind, path in changes:
            report.setdefault(kinds[kind], []).append(path)
        output.print_json(report)
    elif format:
        output.print_formatted(format, [{"Kind": k, "Path": p} for k, p in changes])
    else:
        for kind, path in changes:
            print(f"{kind} {path}")
    return 0


def export(g: GlobalOptions, container: str, output: str | None) -> int:
    from pdman.cli.output import write_tar
    from pdman.engine import container_files

    write_tar(output, lambda fd: container_files.export(g.context(), container, fd))
    return 0


def _split(arg: str) -> tuple[str | None, str]:
    """`name:/path` -> ("name", "/path"); a host path (or `-`) -> (None, path).
    Like docker, a path with a slash before the first colon is a host path."""
    if arg == "-" or arg.startswith(("/", ".")):
        return None, arg
    name, sep, path = arg.partition(":")
    if not sep:
        return None, arg
    return name, path or "/"


def cp(g: GlobalOptions, source: str, destination: str, overwrite: bool = False,
       archive: bool = True) -> int:
    from pdman.engine import container_files

    ctx = g.context()
    src_ctr, src = _split(source)
    dst_ctr, dst = _split(destination)
    if src_ctr is None and dst_ctr is None:
        raise UsageError("`cp` copies between a container and the host, or two containers",
                         hint="write one side as CONTAINER:PATH")
    if src_ctr is not None and dst_ctr is not None:
        # container to container (podman 4): through a tar stream
        with tempfile.TemporaryFile() as tmp:
            container_files.copy_from(ctx, src_ctr, src, tmp.fileno())
            tmp.seek(0)
            container_files.copy_to(ctx, dst_ctr, dst, tmp.fileno(), overwrite, archive)
        return 0
    if src_ctr is not None:
        if dst == "-":
            sys.stdout.flush()
            container_files.copy_from(ctx, src_ctr, src, sys.stdout.fileno())
            return 0
        with tempfile.TemporaryFile() as tmp:
            container_files.copy_from(ctx, src_ctr, src, tmp.fileno())
            tmp.seek(0)
            _unpack_on_host(tmp, dst, os.path.basename(src.rstrip("/")) or "root")
        return 0
    assert dst_ctr is not None
    if src == "-":
        container_files.copy_to(ctx, dst_ctr, dst, sys.stdin.fileno(), overwrite, archive)
        return 0
    if not os.path.lexists(src):
        raise UsageError(f"{src}: no such file or directory", hint="check the host path")
    with tempfile.TemporaryFile() as tmp:
        host_tar(tmp, src)
        tmp.seek(0)
        container_files.copy_to(ctx, dst_ctr, dst, tmp.fileno(), overwrite, archive)
    return 0


def host_tar(out, src: str) -> None:  # type: ignore[no-untyped-def]
    """The tar of host path `src` that `cp` copies into a container, with the owners
    the container sees: the caller is its root (the rootless mapping), anyone else is
    nobody (65534, the kernel's overflow ID), as in podman's `cp --archive=false`."""
    me = os.getuid()

    def owners(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = 0 if info.uid == me else 65534
        info.gid = 0 if info.gid == os.getgid() else 65534
        info.uname = info.gname = ""
        return info

    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(src, arcname=os.path.basename(os.path.abspath(src)), filter=owners)
    out.flush()


def _unpack_on_host(fileobj, dest: str, name: str) -> None:  # type: ignore[no-untyped-def]
    """Unpack what came out of the container: into DEST if it is a directory, else as
    DEST itself. The container's content is not trusted: no entry may land outside the
    destination, neither by its name (absolute, `..`) nor through a symlink an earlier
    entry made, and hard links must point inside too; device nodes are skipped."""
    into_dir = os.path.isdir(dest)
    base = os.path.realpath(dest if into_dir else os.path.dirname(os.path.abspath(dest)) or ".")

    def inside(path: str) -> bool:
        real = os.path.realpath(path)
        return real == base or real.startswith(base + os.sep)

    with tarfile.open(fileobj=fileobj, mode="r|") as tar:
        for member in tar:
            parts = os.path.normpath(member.name).split(os.sep)
            if member.name.startswith("/") or ".." in parts:
                raise UsageError(f"refusing archive entry {member.name!r}",
                                 hint="the container's archive names a path outside the destination")
            if not into_dir:
                parts[0] = os.path.basename(dest)
                member.name = os.path.join(*parts)
            if member.isdev():
                continue
            target = os.path.join(base, member.name)
            if not inside(os.path.dirname(target)):
                raise UsageError(f"refusing archive entry {member.name!r}: it would be written "
                                 "through a symbolic link", hint="")
            if member.islnk() and not inside(os.path.join(base, member.linkname)):
                raise UsageError(f"refusing hard link {member.name!r} -> {member.linkname!r}",
                                 hint="")
            member.uid, member.gid = os.getuid(), os.getgid()
            tar.extract(member, base, set_attrs=True)


def runlabel(g: GlobalOptions, label: str, image: str, args: list[str] | None,
             authfile: str | None, creds: str | None, display: bool,
             name: str | None, quiet: bool, replace: bool, tls_verify: str | None,
             cert_dir: str | None = None) -> int:
    from pdman.cli.handlers.containers import _tls
    from pdman.engine import runlabel as engine

    return engine.runlabel(g.context(), engine.RunlabelOptions(
        label=label, image=image, args=list(args or []), name=name or "", display=display,
        quiet=quiet, replace=replace, tls_verify=_tls(tls_verify), authfile=authfile or "",
        creds=creds or "", cert_dir=cert_dir or ""))
