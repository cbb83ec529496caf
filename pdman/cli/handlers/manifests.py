"""Handlers of the manifest commands."""

from __future__ import annotations

import sys

from pdman.cli.globalopts import GlobalOptions
from pdman.cli.handlers.common import each

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pdman.engine.manifests import AddOptions


def _options(all: bool = False, annotation: "list[str] | None" = None, arch: "str | None" = None,
             os: "str | None" = None, os_version: "str | None" = None,
             variant: "str | None" = None, features: "list[str] | None" = None,
             os_features: "list[str] | None" = None, tls_verify: "str | None" = None,
             creds: "str | None" = None, authfile: "str | None" = None,
             cert_dir: "str | None" = None) -> "AddOptions":
    from pdman.cli.handlers.containers import _tls
    from pdman.engine.manifests import AddOptions
    from pdman.engine.runopts import key_values

    return AddOptions(all=all, arch=arch or "", os=os or "", variant=variant or "",
                      os_version=os_version or "", features=features, os_features=os_features,
                      annotations=key_values(annotation, "annotation"),
                      tls_verify=_tls(tls_verify), creds=creds or "", authfile=authfile or "",
                      cert_dir=cert_dir or "")


def create(g: GlobalOptions, name: str, images: "list[str] | None", all: bool, amend: bool,
           tls_verify: "str | None") -> int:
    from pdman.engine import manifests

    print(manifests.create(g.context(), name, list(images or []), amend=amend,
                           options=_options(all=all, tls_verify=tls_verify)))
    return 0


def add(g: GlobalOptions, name: str, images: "list[str]", all: bool,
        annotation: "list[str] | None", arch: "str | None", authfile: "str | None",
        cert_dir: "str | None", creds: "str | None", features: "list[str] | None",
        os: "str | None", os_version: "str | None", tls_verify: "str | None",
        variant: "str | None") -> int:
    from pdman.engine import manifests

    ctx = g.context()
    o = _options(all, annotation, arch, os, os_version, variant, features, None, tls_verify,
                 creds, authfile, cert_dir)
    list_id = ""
    for image in images:
        list_id = manifests.add(ctx, name, image, o)
    print(list_id)
    return 0


def inspect(g: GlobalOptions, name: str, tls_verify: "str | None") -> int:
    from pdman.cli.handlers.containers import _tls
    from pdman.engine import manifests

    print(manifests.inspect(g.context(), name, _tls(tls_verify)))
    return 0


def annotate(g: GlobalOptions, name: str, image: str, annotation: "list[str] | None",
             arch: "str | None", features: "list[str] | None", os: "str | None",
             os_features: "list[str] | None", os_version: "str | None",
             variant: "str | None") -> int:
    from pdman.engine import manifests

    o = _options(False, annotation, arch, os, os_version, variant, features, os_features)
    print(manifests.annotate(g.context(), name, image, o))
    return 0


def remove(g: GlobalOptions, name: str, image: str) -> int:
    from pdman.engine import manifests

    print(manifests.remove(g.context(), name, image))
    return 0


def rm(g: GlobalOptions, names: "list[str]") -> int:
    from pdman.engine import manifests
    from pdman.errors import ImageNotFound

    ctx = g.context()
    missing = False

    def one(name: str) -> str:
        nonlocal missing
        try:
            full, list_id = manifests.rm(ctx, name)
        except ImageNotFound:
            missing = True
            raise
        return f"Untagged: {full}\nDeleted: {list_id}"

    code = each(names, one)
    # podman's exit code for a list that is not there is 1, as rmi's
    return 1 if code and missing else code


def exists(g: GlobalOptions, name: str) -> int:
    from pdman.engine import manifests

    return 0 if manifests.exists(g.context(), name) else 1


def push(g: GlobalOptions, name: str, destination: str, all: bool, authfile: "str | None",
         cert_dir: "str | None", compression_format: "str | None", creds: "str | None",
         digestfile: "str | None", format: "str | None", quiet: bool, rm: bool,
         tls_verify: "str | None") -> int:
    from pdman.cli.handlers.containers import _tls
    from pdman.engine import manifests
    from pdman.errors import UsageError
    from pdman.image.list_push import push_list

    if compression_format not in (None, "", "gzip"):
        raise UsageError(f"--compression-format {compression_format}: a list's images are "
                         "pushed with the layers they are stored with (gzip)",
                         hint="leave out --compression-format")
    ctx = g.context()

    def say(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr)

    digest = push_list(ctx, name, destination, all=all, format=format or "",
                       tls_verify=_tls(tls_verify), creds=creds or "", authfile=authfile or "",
                       cert_dir=cert_dir or "", say=say)
    if digestfile:
        with open(digestfile, "w", encoding="utf-8") as f:
            f.write(digest)
    if rm:
        full, list_id = manifests.rm(ctx, name)
        print(f"Untagged: {full}\nDeleted: {list_id}")
    return 0
