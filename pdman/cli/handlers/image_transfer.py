"""Handlers of `push`, `save`, `load`, `commit`, `import`."""

from __future__ import annotations

import os
import sys

from pdman.cli.globalopts import GlobalOptions
from pdman.errors import UsageError


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def push(g: GlobalOptions, image: str, destination: str | None, tls_verify: str | None,
         creds: str | None, authfile: str | None, quiet: bool, format: str | None,
         digestfile: str | None, cert_dir: str | None = None, compress: bool = False,
         compression_format: str | None = None) -> int:
    from pdman.cli.handlers.containers import _tls
    from pdman.engine.image_transfer import push as engine_push
    from pdman.entities.image_transfer import PushOptions

    if compression_format not in (None, "", "gzip"):
        raise UsageError(f"--compression-format {compression_format}: pdman pushes layers as "
                         "it stores them (gzip)", hint="leave out --compression-format")
    report = engine_push(g.context(), PushOptions(
        image=image, destination=destination or "", tls_verify=_tls(tls_verify),
        creds=creds or "", authfile=authfile or "", format=format or "",
        progress=None if quiet else _stderr, cert_dir=cert_dir or ""))
    if digestfile:
        with open(digestfile, "w") as f:
            f.write(report.digest)
    return 0


def save(g: GlobalOptions, images: list[str], output: str | None, format: str,
         quiet: bool, multi_image_archive: bool = False, uncompressed: bool = False,
         compress: bool = False) -> int:
    from pdman.engine.image_transfer import save as engine_save
    from pdman.entities.image_transfer import SaveOptions

    if output is None and sys.stdout.isatty():
        raise UsageError("refusing to write a tar archive to a terminal",
                         hint="redirect stdout or use --output FILE")
    if compress:
        # podman's words: --compress is for its directory formats, which pdman lacks
        raise UsageError("--compress can only be set when --format is either 'oci-dir' or "
                         "'docker-dir'", hint="pdman writes docker-archive and oci-archive")
    sys.stdout.flush()
    engine_save(g.context(), SaveOptions(images=images, output=output or "-", format=format,
                                         uncompressed=uncompressed))
    return 0


def load(g: GlobalOptions, input: str | None, quiet: bool) -> int:
    from pdman.engine.image_transfer import load as engine_load
    from pdman.entities.image_transfer import LoadOptions

    if input is None and sys.stdin.isatty():
        raise UsageError("no archive on stdin", hint="pdman load -i FILE, or pipe one in")
    report = engine_load(g.context(), LoadOptions(input=input or "-"))
    for name in report.names:
        print(f"Loaded image: {name}")
    return 0


def commit(g: GlobalOptions, container: str, image: str | None, message: str | None,
           author: str | None, change: list[str] | None, pause: bool, quiet: bool,
           format: str = "oci", iidfile: str | None = None, include_volumes: bool = False,
           squash: bool = False) -> int:
    from pdman.engine.image_transfer import commit as engine_commit
    from pdman.entities.image_transfer import CommitOptions

    report = engine_commit(g.context(), CommitOptions(
        container=container, image=image or "", message=message or "", author=author or "",
        changes=list(change or []), pause=pause, format=format, include_volumes=include_volumes,
        squash=squash, iidfile=iidfile or ""))
    print(report.image_id)
    return 0


def import_(g: GlobalOptions, source: str, image: str | None, change: list[str] | None,
            message: str | None, quiet: bool, arch: str | None = None,
            os: str | None = None, variant: str | None = None) -> int:
    from os.path import exists  # the parameter `os` (--os) hides the module here

    from pdman.engine.image_transfer import import_image
    from pdman.entities.image_transfer import ImportOptions

    if source != "-" and not exists(source):
        raise UsageError(f"{source}: no such file", hint="give a tarball path, or - for stdin")
    report = import_image(g.context(), ImportOptions(
        source=source, image=image or "", message=message or "", changes=list(change or []),
        arch=arch or "", os=os or "", variant=variant or ""))
    print(report.image_id)
    return 0
