"""`pdman manifest`: local manifest lists (multi-platform images), as podman's.

A list is created empty (or with images), instances are added from local storage or
from a registry, annotated (platform overrides, annotations), removed, and the whole
is pushed (image/list_push.py). A new list is a Docker manifest list, as podman
4.3's; `push --format oci` writes an OCI index. Lists are kept by
storage/manifest_lists.py; their names are image names (`mylist` is
`localhost/mylist:latest`) and may not be those of an image.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import secrets as _secrets
from typing import Any

from pdman.engine.context import EngineContext
from pdman.errors import ConflictError, ImageNotFound, UsageError
from pdman.image import manifest, reference
from pdman.storage.blobs import BlobStore
from pdman.storage.manifest_lists import ManifestListStore

LOCAL_PREFIX = "containers-storage:"
DOCKER_PREFIX = "docker://"


class AddOptions:
    """Overrides for the instance being added or annotated (podman's flags)."""

    __slots__ = ("all", "arch", "os", "variant", "os_version", "features", "os_features",
                 "annotations", "tls_verify", "creds", "authfile", "cert_dir")

    def __init__(self, all: bool = False, arch: str = "", os: str = "", variant: str = "",
                 os_version: str = "", features: "list[str] | None" = None,
                 os_features: "list[str] | None" = None,
                 annotations: "dict[str, str] | None" = None, tls_verify: "bool | None" = None,
                 creds: str = "", authfile: str = "", cert_dir: str = "") -> None:
        self.all, self.arch, self.os, self.variant = all, arch, os, variant
        self.os_version = os_version
        self.features = features or []
        self.os_features = os_features or []
        self.annotations = annotations or {}
        self.tls_verify, self.creds, self.authfile = tls_verify, creds, authfile
        self.cert_dir = cert_dir


def list_name(name: str) -> str:
    """The stored name: a short name is localhost/NAME[:latest], as podman's."""
    names = reference.target_name(name)
    if not names:
        raise UsageError("a manifest list needs a name")
    return names[0]


def find(ctx: EngineContext, name: str) -> "dict[str, Any]":
    """The list a user means (name, short name or ID prefix); ImageNotFound if none."""
    lists = ManifestListStore(ctx.paths).all()
    text = name.strip()
    if reference.looks_like_id(text):
        hexpart = text.removeprefix("sha256:")
        hits = [r for i, r in lists.items() if i.startswith(hexpart)]
        if len(hits) == 1:
            return hits[0]
    try:
        ref = reference.parse(text)
    except Exception:  # noqa: BLE001 - not a name: not a list
        raise ImageNotFound(f"{name}: image not known") from None
    if not ref.digest:
        tagged = ref.tagged_or_latest()
        wanted = {str(tagged)} if not ref.is_short else {
            f"localhost/{tagged.path}:{tagged.tag}", f"docker.io/{tagged.path}:{tagged.tag}",
            f"docker.io/library/{tagged.path}:{tagged.tag}"}
        for rec in lists.values():
            if rec["Name"] in wanted:
                return rec
    raise ImageNotFound(f"{name}: image not known",
                        hint="see `pdman manifest create` to make a list")


def exists(ctx: EngineContext, name: str) -> bool:
    try:
        find(ctx, name)
    except ImageNotFound:
        return False
    return True


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def create(ctx: EngineContext, name: str, images: "list[str]", amend: bool = False,
           options: "AddOptions | None" = None) -> str:
    """Create the list (or, with amend, reuse it) and add `images`; returns its ID."""
    store = ManifestListStore(ctx.paths)
    full = list_name(name)
    with store.locked():
        current = next((r for r in store.all().values() if r["Name"] == full), None)
        if current is not None and not amend:
            raise ConflictError(f"image name {full!r} is already associated with image "
                                f"{current['ID']!r}",
                                hint="add --amend to modify the existing list")
        if current is None:
            from pdman.storage import image_records

            taken = image_records.find_by_name(ctx.catalog, full)
            if taken is not None:
                raise ConflictError(f"image name {full!r} is already associated with image "
                                    f"{taken.id!r}", hint="choose another name for the list")
            current = {"ID": _secrets.token_hex(32), "Name": full, "Created": _now(),
                       "Index": {"schemaVersion": 2, "mediaType": manifest.DOCKER_LIST,
                                 "manifests": []},
                       "Sources": {}}
            store.save(current)
    for image in images:
        add(ctx, current["ID"], image, options or AddOptions())
    return str(current["ID"])


def _platform(entry: "dict[str, Any]", o: AddOptions) -> None:
    plat = entry.setdefault("platform", {})
    for key, value in (("architecture", o.arch), ("os", o.os), ("os.version", o.os_version),
                       ("variant", o.variant)):
        if value:
            plat[key] = value
    if o.features:
        plat["features"] = list(o.features)
    if o.os_features:
        plat["os.features"] = list(o.os_features)
    if o.annotations:
        entry.setdefault("annotations", {}).update(o.annotations)


def _entry(media_type: str, raw: bytes, digest: str, plat: manifest.Platform) -> "dict[str, Any]":
    p: dict[str, Any] = {"architecture": plat.architecture, "os": plat.os}
    if plat.variant:
        p["variant"] = plat.variant
    return {"mediaType": media_type, "size": len(raw), "digest": digest, "platform": p}


def _local_instance(ctx: EngineContext, text: str) -> "tuple[dict[str, Any], dict[str, Any]] | None":
    """(index entry, source) for a local image, None if there is no such image."""
    from pdman.engine.images import resolve_image
    from pdman.image.push import image_manifest

    try:
        rec = resolve_image(ctx, text)
    except ImageNotFound:
        return None
    raw, doc = image_manifest(ctx, rec)
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    if not blobs.has(digest):
        blobs.put(digest, raw)
    plat = manifest.Platform(rec.os or "linux", rec.architecture,
                             str(rec.config.get("variant") or ""))
    return _entry(doc.media_type, raw, digest, plat), {"image": rec.id}


def registry_client(ref: reference.Reference, tls_verify: "bool | None", creds: str,
                    authfile: str, cert_dir: str = "") -> "tuple[Any, str]":
    """(RegistryClient, repository) for a qualified reference, as pull makes them."""
    from pdman.image import auth, registries_conf
    from pdman.image.registry import RegistryClient

    endpoint = registries_conf.load().endpoints(ref)[-1]
    insecure = endpoint.insecure or tls_verify is False
    credentials = auth.parse_creds_option(creds) if creds else \
        auth.lookup(ref.domain, ref.path, authfile or None)
    return (RegistryClient(endpoint.registry, insecure=insecure, credentials=credentials,
                           cert_dir=cert_dir),
            endpoint.repository)


def _qualified(text: str) -> reference.Reference:
    ref = reference.parse(text)
    if ref.is_short:
        ref = reference.normalize(text)
    return ref if ref.digest else ref.tagged_or_latest()


def _remote_instances(ctx: EngineContext, text: str,
                      o: AddOptions) -> "list[tuple[dict[str, Any], dict[str, Any]]]":
    """Entries for a registry reference: its image, or with --all every image of its
    list (without --all, the host platform's, as podman's)."""
    from pdman.image import config as image_config

    ref = _qualified(text)
    where = f"docker://{ref}"
    client, repo = registry_client(ref, o.tls_verify, o.creds, o.authfile, o.cert_dir)
    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    with client:
        raw, ctype, digest = client.get_manifest(repo, ref.digest or ref.tag, manifest.ACCEPT)
        doc = manifest.parse(raw, ctype, where)
        if isinstance(doc, manifest.Index):
            chosen = list(doc.manifests) if o.all else \
                [manifest.choose(doc, manifest.host_platform(), where)]
            out = []
            for d in chosen:
                entry: dict[str, Any] = {"mediaType": d.media_type, "size": d.size,
                                         "digest": d.digest}
                if d.platform is not None:
                    entry["platform"] = {"architecture": d.platform.architecture,
                                         "os": d.platform.os}
                    if d.platform.variant:
                        entry["platform"]["variant"] = d.platform.variant
                out.append((entry, {"ref": f"{ref.name}@{d.digest}"}))
            return out
        config = image_config.parse(client.get_blob(repo, doc.config), where)
    # stored once everything checked out: a failed add leaves nothing behind
    if not blobs.has(digest):
        blobs.put(digest, raw)
    plat = manifest.Platform(str(config.get("os") or "linux"),
                             str(config.get("architecture") or ""),
                             str(config.get("variant") or ""))
    return [(_entry(doc.media_type, raw, digest, plat), {"ref": f"{ref.name}@{digest}"})]


def add(ctx: EngineContext, name: str, image: str, o: AddOptions) -> str:
    """Add IMAGE (local, or `docker://` / a registry name) to the list; returns its ID.
    An instance already in the list (same digest) is replaced."""
    rec = find(ctx, name)
    found: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if image.startswith(LOCAL_PREFIX):
        local = _local_instance(ctx, image[len(LOCAL_PREFIX):])
        if local is None:
            raise ImageNotFound(f"{image}: image not known")
        found = [local]
    elif image.startswith(DOCKER_PREFIX):
        found = _remote_instances(ctx, image[len(DOCKER_PREFIX):], o)
    else:
        local = _local_instance(ctx, image)
        found = [local] if local is not None else _remote_instances(ctx, image, o)
    store = ManifestListStore(ctx.paths)
    with store.locked():
        rec = store.all().get(rec["ID"]) or rec
        # by digest, the later winning: one pass, however long a registry's list is
        # (a filter per instance took minutes for a 4 MiB list of 18000)
        added: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for entry, source in found:
            _platform(entry, o)
            added.pop(entry["digest"], None)
            added[entry["digest"]] = (entry, source)
        entries = rec["Index"]["manifests"]
        entries[:] = [e for e in entries if e["digest"] not in added] + \
            [entry for entry, _ in added.values()]
        for digest, (_, source) in added.items():
            rec["Sources"][digest] = source
        store.save(rec)
    return str(rec["ID"])


def _instance_digest(ctx: EngineContext, rec: "dict[str, Any]", image: str) -> str:
    """The list's instance IMAGE names: a digest in the list, or a local image whose
    manifest is in it."""
    digests = [e["digest"] for e in rec["Index"]["manifests"]]
    text = image.removeprefix(LOCAL_PREFIX)
    if text in digests:
        return text
    if not text.startswith("sha256:"):
        local = _local_instance(ctx, text)
        if local is not None and local[0]["digest"] in digests:
            return str(local[0]["digest"])
    raise ImageNotFound(f"no instance {image} in manifest list {rec['Name']}",
                        hint="`pdman manifest inspect LIST` shows the instances' digests")


def annotate(ctx: EngineContext, name: str, image: str, o: AddOptions) -> str:
    store = ManifestListStore(ctx.paths)
    rec = find(ctx, name)
    digest = _instance_digest(ctx, rec, image)
    with store.locked():
        rec = store.all()[rec["ID"]]
        for entry in rec["Index"]["manifests"]:
            if entry["digest"] == digest:
                _platform(entry, o)
        store.save(rec)
    return str(rec["ID"])


def remove(ctx: EngineContext, name: str, image: str) -> str:
    store = ManifestListStore(ctx.paths)
    rec = find(ctx, name)
    digest = _instance_digest(ctx, rec, image)
    with store.locked():
        rec = store.all()[rec["ID"]]
        rec["Index"]["manifests"] = [e for e in rec["Index"]["manifests"]
                                     if e["digest"] != digest]
        rec["Sources"].pop(digest, None)
        store.save(rec)
    return str(rec["ID"])


def rm(ctx: EngineContext, name: str) -> "tuple[str, str]":
    """Remove a list (never its images); returns (name, ID)."""
    store = ManifestListStore(ctx.paths)
    rec = find(ctx, name)
    with store.locked():
        store.delete(rec["ID"])
    return str(rec["Name"]), str(rec["ID"])


def index_bytes(rec: "dict[str, Any]", media_type: str = "") -> bytes:
    """The list as a document, in podman's layout (4-space indent)."""
    doc = dict(rec["Index"])
    if media_type:
        doc["mediaType"] = media_type
    return json.dumps(doc, indent=4).encode()


def inspect(ctx: EngineContext, name: str, tls_verify: "bool | None" = None) -> str:
    """The list's JSON; for a name that is no local list, the registry's manifest (as
    podman's)."""
    try:
        return index_bytes(find(ctx, name)).decode()
    except ImageNotFound:
        pass
    try:
        ref = _qualified(name.removeprefix(DOCKER_PREFIX))
    except Exception:  # noqa: BLE001 - not a reference either
        raise ImageNotFound(f"{name}: image not known") from None
    from pdman.errors import RegistryError
    from pdman.image.config import load_json

    client, repo = registry_client(ref, tls_verify, "", "")
    with client:
        raw, _ctype, _digest = client.get_manifest(repo, ref.digest or ref.tag, manifest.ACCEPT)
    what = f"the manifest of {ref}"
    doc = load_json(raw, what)  # the registry's bytes: anything may come
    try:
        # escaped as JSON (ensure_ascii): a control character in it reaches no terminal
        return json.dumps(doc, indent=4)
    except RecursionError:  # loads' C parser goes deeper than dumps' Python encoder
        raise RegistryError(f"{what} is nested too deeply to be a real document",
                            hint="the registry served a malformed manifest") from None


__all__ = ["AddOptions", "add", "annotate", "create", "exists", "find", "index_bytes",
           "inspect", "list_name", "registry_client", "remove", "rm"]
