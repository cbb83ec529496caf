"""`build --output` and `build --platform`: what leaves the build besides the image, and
which platform it is for.

--output (-o) writes the final stage's filesystem out, as buildah does, in addition to
the image: `type=local,dest=DIR` (or just `DIR`) unpacks it into DIR with the user's
ownership (the extraction rules of a context on stdin: nothing written outside DIR);
`type=tar,dest=FILE` (or `-`, stdout) writes it as a tar archive, written through
FILE.partial so a failed build leaves no half archive.

--platform (or --os/--arch/--variant) picks the FROM image of that platform from a
multi-platform index, pulling it when the local image of that name is another
platform's; `scratch` stages record it. A RUN step of an image this host cannot execute
(no emulator registered in binfmt_misc) is refused before it starts, with the reason,
rather than failing later with "exec format error".
"""

from __future__ import annotations

import os

from pdman.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pdman.engine.build_session import BuildSession


# -- --output ---------------------------------------------------------------------------

def parse_output(spec: str) -> tuple[str, str]:
    """(kind, dest) of one --output: kind "local" or "tar"; dest "-" is stdout."""
    if "=" not in spec and "," not in spec:
        if not spec:
            raise UsageError("--output needs a destination", hint="write -o DIR or -o -")
        return ("tar", "-") if spec == "-" else ("local", spec)
    fields: dict[str, str] = {}
    for part in spec.split(","):
        key, eq, value = part.partition("=")
        if not eq or key not in ("type", "dest") or key in fields:
            raise UsageError(f"invalid --output {spec!r}",
                             hint="write type=local,dest=DIR or type=tar,dest=FILE")
        fields[key] = value
    kind, dest = fields.get("type", ""), fields.get("dest", "")
    if kind not in ("local", "tar"):
        raise UsageError(f"--output {spec}: type must be local or tar",
                         hint="type=local,dest=DIR writes a directory, type=tar,dest=FILE "
                              "an archive")
    if not dest or (kind == "local" and dest == "-"):
        raise UsageError(f"--output {spec}: " + ("no dest=" if not dest else
                         "a directory cannot be written to stdout"),
                         hint="give dest=DIR (type=local) or dest=FILE|- (type=tar)")
    return kind, dest


def write_outputs(b: BuildSession, image_id: str) -> None:
    from pdman.engine.build_session import links

    layers = links(b, image_id)
    for spec in b.options.outputs:
        kind, dest = parse_output(spec)
        b.say(f"--> writing the image's files to {dest if dest != '-' else 'stdout'}"
              f" ({kind})")
        if kind == "tar":
            _write_tar(b, layers, dest)
        else:
            _write_local(b, layers, dest)


def _tar_into(b: BuildSession, layers: list[str], fd: int) -> None:
    if not layers:                  # FROM scratch with nothing added: an empty archive
        import tarfile

        with os.fdopen(os.dup(fd), "wb") as out, tarfile.open(fileobj=out, mode="w|"):
            return
    from pdman.engine.container_files import image_tar

    image_tar(b.ctx, layers, fd)


def _write_tar(b: BuildSession, layers: list[str], dest: str) -> None:
    import sys

    if dest == "-":
        sys.stdout.flush()
        _tar_into(b, layers, sys.stdout.fileno())
        return
    tmp = dest + ".partial"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise UsageError(f"--output {dest}: {exc.strerror}",
                         hint="name a file in a writable directory") from None
    try:
        _tar_into(b, layers, fd)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, dest)


def _write_local(b: BuildSession, layers: list[str], dest: str) -> None:
    import tempfile

    from pdman.build.sources import extract_context

    try:
        os.makedirs(dest, mode=0o755, exist_ok=True)
        if os.listdir(dest):
            raise UsageError(f"--output {dest}: the directory is not empty",
                             hint="name a new or empty directory")
    except OSError as exc:
        raise UsageError(f"--output {dest}: {exc.strerror}",
                         hint="name a directory you can write") from None
    fd, tmp = tempfile.mkstemp(prefix="output-", suffix=".tar", dir=b.ingest.area)
    try:
        _tar_into(b, layers, fd)
        os.lseek(fd, 0, os.SEEK_SET)
        with os.fdopen(fd, "rb") as f:
            fd = -1
            extract_context(f, dest, hardlinks=True)
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp)


# -- --platform -------------------------------------------------------------------------

def platform_of(config: dict[str, Any]) -> str:
    from pdman.image.manifest import Platform

    return str(Platform(str(config.get("os") or "linux"), str(config.get("architecture") or ""),
                        str(config.get("variant") or "")))


def matches(config: dict[str, Any], wanted: str) -> bool:
    """Whether an image's config is of the platform `wanted` (os/arch[/variant])."""
    from pdman.image.manifest import wanted_platform

    want = wanted_platform(wanted)
    if (config.get("os") or "linux") != want.os or config.get("architecture") != want.architecture:
        return False
    have = str(config.get("variant") or "")
    return not want.variant or not have or have == want.variant


#: GOARCH -> the binfmt_misc entry qemu-user-static registers for it
_QEMU = {"arm64": "aarch64", "arm": "arm", "386": "i386", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64", "mips64le": "mips64el", "amd64": "x86_64"}
#: architectures the host's CPU runs natively besides its own
_NATIVE = {"amd64": {"386"}, "arm64": {"arm"}}


def check_runnable(config: dict[str, Any]) -> None:
    """Refuse a RUN step whose image this host cannot execute."""
    from pdman.image.manifest import host_platform

    host = host_platform()
    arch = str(config.get("architecture") or host.architecture)
    if arch == host.architecture or arch in _NATIVE.get(host.architecture, set()):
        return
    entry = _QEMU.get(arch, arch)
    if os.path.exists(f"/proc/sys/fs/binfmt_misc/qemu-{entry}"):
        return
    raise UsageError(f"RUN cannot execute a {platform_of(config)} image on this "
                     f"{host} host: no emulator for {arch} is registered (binfmt_misc)",
                     hint="install qemu-user-static (binfmt support), or build for "
                          f"{host} and keep --platform for steps without RUN")


__all__ = ["check_runnable", "matches", "parse_output", "platform_of", "write_outputs"]
