"""Manifests and indexes: media types, parsing, and platform selection.

Understood: OCI image manifest and index, Docker schema 2 manifest and manifest
list. Docker schema 1 is refused with a clear message (podman still reads it, but
registries have served schema 2 since 2017 and schema 1 has no config to verify).
A manifest without `mediaType` (umoci writes those) is typed by the response's
Content-Type, or by its shape.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from pdman.errors import RegistryError, UsageError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
#: what a pull accepts, best first (sent as Accept)
ACCEPT = (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST)

#: layer media types and how they are compressed ("" = plain tar)
LAYER_COMPRESSION = {
    "application/vnd.oci.image.layer.v1.tar": "",
    "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar": "",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": "zstd",
    "application/vnd.docker.image.rootfs.diff.tar": "",
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
}


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()
    platform: "Platform | None" = None
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def from_json(cls, d: dict[str, Any], where: str) -> "Descriptor":
        if not isinstance(d, dict):
            raise RegistryError(f"{where}: a descriptor is not a JSON object",
                                hint="the registry served a malformed manifest")
        digest, size = d.get("digest"), d.get("size")
        if not isinstance(digest, str) or not isinstance(size, int) or isinstance(size, bool):
            raise RegistryError(f"{where}: a descriptor lacks a digest string or an integer "
                                "size", hint="the registry served a malformed manifest")
        from pdman.image.reference import check_digest

        try:
            check_digest(digest)
        except Exception as exc:
            raise RegistryError(f"{where}: bad digest {digest!r} in a descriptor",
                                hint="the registry served a malformed manifest") from exc
        if size < 0:
            raise RegistryError(f"{where}: negative size for {digest}")
        plat = d.get("platform")
        urls = d.get("urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise RegistryError(f"{where}: the urls of {digest} are not a list of strings",
                                hint="the registry served a malformed manifest")
        media_type = d.get("mediaType") or ""
        if not isinstance(media_type, str):
            raise RegistryError(f"{where}: the mediaType of {digest} is not a string",
                                hint="the registry served a malformed manifest")
        return cls(media_type, digest, size, tuple(urls),
                   None if plat is None else Platform.from_json(plat, f"{where}: {digest}"),
                   _annotations(d, where))


def _annotations(d: dict[str, Any], where: str) -> dict[str, str]:
    value = d.get("annotations") or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise RegistryError(f"{where}: annotations are not an object of strings",
                            hint="the registry served a malformed manifest")
    return dict(value)


def _descriptors(doc: dict[str, Any], key: str, where: str) -> tuple["Descriptor", ...]:
    value = doc.get(key) or []
    if not isinstance(value, list):
        raise RegistryError(f"{where}: `{key}` of the manifest is not a list",
                            hint="the registry served a malformed manifest")
    return tuple(Descriptor.from_json(d, where) for d in value)


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def from_json(cls, d: object, where: str) -> "Platform":
        """A descriptor's `platform`: an object whose fields are strings (a list or a
        number there is a malformed document, not a platform named by its repr)."""
        if not isinstance(d, dict):
            raise RegistryError(f"{where}: the platform is not a JSON object",
                                hint="the registry served a malformed manifest")
        fields = [d.get(k) or "" for k in ("os", "architecture", "variant")]
        if not all(isinstance(f, str) for f in fields):
            raise RegistryError(f"{where}: the platform's os, architecture and variant "
                                "must be strings", hint="the registry served a malformed "
                                "manifest")
        return cls(*fields)

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")


#: uname -m -> (GOARCH, variant), as containers/image names them
_MACHINES = {
    "x86_64": ("amd64", ""), "amd64": ("amd64", ""), "aarch64": ("arm64", "v8"),
    "arm64": ("arm64", "v8"), "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
    "i686": ("386", ""), "i386": ("386", ""), "ppc64le": ("ppc64le", ""),
    "s390x": ("s390x", ""), "riscv64": ("riscv64", ""), "mips64": ("mips64le", ""),
}
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386"}


def host_platform() -> Platform:
    machine = os.uname().machine     # platform.machine()'s answer, without `platform`
    arch, variant = _MACHINES.get(machine, (machine, ""))
    return Platform("linux", arch, variant)


def wanted_platform(platform: str = "", os: str = "", arch: str = "",
                    variant: str = "") -> Platform:
    """The platform a pull asks for: `--platform os/arch[/variant]` or the single
    flags, defaulting to the host's (podman's rules)."""
    host = host_platform()
    if platform:
        if os or arch or variant:
            raise UsageError("--platform cannot be combined with --os, --arch or --variant",
                             hint="give either --platform os/arch[/variant] or the others")
        parts = platform.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise UsageError(f"invalid platform {platform!r}",
                             hint="use os/arch[/variant], e.g. linux/arm64")
        os, arch = parts[0], parts[1]
        variant = parts[2] if len(parts) == 3 else ""
    arch = _ARCH_ALIASES.get(arch, arch)
    if not os and not arch and not variant:
        return host
    if arch and arch != host.architecture:
        return Platform(os or host.os, arch, variant)
    return Platform(os or host.os, arch or host.architecture, variant or host.variant)


def _variant_ok(wanted: Platform, have: Platform) -> bool:
    if not wanted.variant or not have.variant:
        return True
    return wanted.variant == have.variant


def choose(index: "Index", wanted: Platform, where: str) -> Descriptor:
    """The manifest of an index that matches `wanted` (exact variant preferred)."""
    matches = [d for d in index.manifests
               if d.platform is not None and d.platform.os == wanted.os
               and d.platform.architecture == wanted.architecture
               and _variant_ok(wanted, d.platform)
               and d.media_type not in INDEX_TYPES]
    exact = [d for d in matches if d.platform and d.platform.variant == wanted.variant]
    if exact or matches:
        return (exact or matches)[0]
    have = ", ".join(str(d.platform) for d in index.manifests if d.platform) or "none"
    raise RegistryError(
        f"choosing an image from manifest list {where}: no image found in image index "
        f"for architecture {wanted.architecture}, variant {wanted.variant!r}, OS {wanted.os}",
        hint=f"available platforms: {have}; pick one with --platform")


@dataclass(frozen=True)
class Index:
    media_type: str
    manifests: tuple[Descriptor, ...]


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


def sniff_media_type(raw: bytes, content_type: str, where: str) -> str:
    """The manifest's type: its `mediaType`, else Content-Type, else its shape."""
    from pdman.image.config import load_json

    doc = load_json(raw, f"{where}: the manifest")
    if not isinstance(doc, dict):
        raise RegistryError(f"{where}: the manifest is not a JSON object")
    mt = str(doc.get("mediaType") or "")
    ct = content_type.split(";")[0].strip()
    if not mt and ct in ACCEPT + (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED):
        mt = ct
    if not mt:
        if doc.get("schemaVersion") == 1:
            mt = DOCKER_SCHEMA1
        elif "manifests" in doc:
            mt = OCI_INDEX
        elif "config" in doc and "layers" in doc:
            mt = OCI_MANIFEST
    return mt


def parse(raw: bytes, content_type: str, where: str) -> "Manifest | Index":
    mt = sniff_media_type(raw, content_type, where)
    if mt in (DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED):
        raise RegistryError(
            f"{where} is a Docker schema 1 manifest, which pdman does not pull",
            hint="schema 1 has been deprecated since 2017; re-push the image with a current "
                 "client (docker/podman/skopeo write schema 2 or OCI)")
    doc = json.loads(raw)  # sniff_media_type found it a JSON object
    if mt in INDEX_TYPES:
        return Index(mt, _descriptors(doc, "manifests", where))
    if mt in MANIFEST_TYPES:
        if not isinstance(doc.get("config"), dict):
            raise RegistryError(f"{where}: the manifest has no config descriptor")
        return Manifest(mt, Descriptor.from_json(doc["config"], where),
                        _descriptors(doc, "layers", where), _annotations(doc, where))
    raise RegistryError(f"{where}: unsupported manifest type {mt or '(none)'!r}",
                        hint="pdman pulls OCI and Docker schema 2 images")


def layer_compression(desc: Descriptor, where: str) -> str:
    """gzip, zstd or "" for a layer; anything else (e.g. foreign URLs) is refused."""
    if desc.media_type in LAYER_COMPRESSION:
        return LAYER_COMPRESSION[desc.media_type]
    for suffix, kind in (("tar", ""), ("tar+gzip", "gzip"), ("tar.gzip", "gzip"),
                         ("tar+zstd", "zstd")):
        if desc.media_type.endswith(suffix):
            return kind
    raise RegistryError(f"{where}: layer {desc.digest} has unsupported media type "
                        f"{desc.media_type!r}",
                        hint="pdman unpacks tar layers, plain, gzip or zstd compressed")


__all__ = ["ACCEPT", "DOCKER_LIST", "DOCKER_MANIFEST", "Descriptor", "INDEX_TYPES", "Index",
           "Manifest", "MANIFEST_TYPES", "OCI_INDEX", "OCI_MANIFEST", "Platform", "choose",
           "host_platform", "layer_compression", "parse", "sniff_media_type",
           "wanted_platform"]
