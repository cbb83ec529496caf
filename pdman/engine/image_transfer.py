"""Image verbs that move images in and out: push, save, load, commit, import.

    push(ctx, PushOptions(...)) -> PushReport           pdman/image/push.py
    save(ctx, SaveOptions(...))                         pdman/image/archive.py
    load(ctx, LoadOptions(...)) -> LoadReport
    commit(ctx, CommitOptions(...)) -> NewImageReport   writable layer -> new layer
    import_image(ctx, ImportOptions(...)) -> NewImageReport
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shlex
import sys
import zlib
from collections.abc import Iterator
from typing import Any

from pdman.engine.context import EngineContext
from pdman.entities.image_transfer import (CommitOptions, ImportOptions, LoadOptions, LoadReport,
                                           NewImageReport, PushOptions, PushReport, SaveOptions)
from pdman.errors import UsageError

CHUNK = 1 << 20


def push(ctx: EngineContext, options: PushOptions, transport: Any = None) -> PushReport:
    from pdman.engine import events
    from pdman.image.push import push_image

    report = push_image(ctx, options, transport)
    events.emit(ctx.paths, "image", "push", id=report.digest, name=report.destination)
    return report


def save(ctx: EngineContext, options: SaveOptions) -> None:
    """Write the archive; to a file it appears only once complete."""
    from pdman.image import archive

    if options.format not in ("docker-archive", "oci-archive"):
        raise UsageError(f"unsupported save format {options.format!r}",
                         hint="use docker-archive or oci-archive")
    if not options.images:
        raise UsageError("save needs at least one image", hint="pdman save -o FILE IMAGE...")
    images = archive.resolve_for_save(ctx, options.images)
    if options.format == "docker-archive":
        write = archive.write_docker_archive
    else:
        def write(ctx: EngineContext, images: Any, out: Any) -> None:
            archive.write_oci_archive(ctx, images, out, uncompressed=options.uncompressed)
    _save_to(ctx, options, images, write)
    from pdman.engine import events

    for rec, tags in images:
        events.emit(ctx.paths, "image", "save", id=rec.id, name=tags[0] if tags else rec.id)


def _save_to(ctx: EngineContext, options: SaveOptions, images: Any, write: Any) -> None:
    if options.output == "-":
        with os.fdopen(os.dup(sys.stdout.fileno()), "wb") as out:
            write(ctx, images, out)
        return
    tmp = options.output + ".partial"
    try:
        with open(tmp, "wb") as out:
            write(ctx, images, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, options.output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _spool_stdin(ctx: EngineContext) -> str:
    import tempfile

    os.makedirs(ctx.paths.tmp, mode=0o700, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="stdin-", dir=ctx.paths.root)
    with os.fdopen(fd, "wb") as out:
        while chunk := sys.stdin.buffer.read(CHUNK):
            out.write(chunk)
    return path


def _download(ctx: EngineContext, url: str) -> str:
    """`load -i http(s)://...`: the archive fetched whole first (as podman does), so a
    broken transfer never leaves a half-loaded image."""
    import tempfile
    import urllib.parse

    from pdman.image._httpx import httpx  # only here: load from a URL is rare

    from pdman.errors import PdmanError
    from pdman.image.registry import is_loopback

    host = urllib.parse.urlsplit(url).netloc.rpartition("@")[2]
    # beside the store, as stdin's spool: loading clears the tmp area
    fd, path = tempfile.mkstemp(prefix="download-", dir=ctx.paths.root)
    try:
        with os.fdopen(fd, "wb") as out, httpx.stream(
                "GET", url, follow_redirects=True, timeout=60,
                trust_env=not is_loopback(host)) as resp:
            if resp.status_code != 200:
                raise PdmanError(f"downloading {url}: {resp.status_code} {resp.reason_phrase}",
                                 hint="check the URL; load -i also takes a file or - (stdin)")
            for chunk in resp.iter_bytes(CHUNK):
                out.write(chunk)
    except httpx.HTTPError as e:
        os.unlink(path)
        raise PdmanError(f"downloading {url}: {e}",
                         hint="check the URL and that the server is reachable") from None
    except BaseException:
        os.unlink(path)
        raise
    return path


def load(ctx: EngineContext, options: LoadOptions) -> LoadReport:
    from pdman.image import archive

    path = options.input
    spooled = ""
    if path == "-":
        path = spooled = _spool_stdin(ctx)
    elif path.startswith(("http://", "https://")):
        path = spooled = _download(ctx, path)
    elif not os.path.exists(path):
        raise UsageError(f"{path}: no such file", hint="pdman load -i ARCHIVE")
    try:
        images = archive.load_archive(ctx, path)
    finally:
        if spooled:
            os.unlink(spooled)
    from pdman.engine import events

    names: list[str] = []
    for rec in images:
        mine = [n for n in rec.names if "@" not in n] or ["sha256:" + rec.id]
        names += mine
        events.emit(ctx.paths, "image", "load", id=rec.id, name=mine[0])
    return LoadReport(list(dict.fromkeys(names)), [r.id for r in images])


# -- commit and import -------------------------------------------------------------------

def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _command_form(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("["):
        try:
            parsed = json.loads(value)
            if isinstance(parsed, list) and all(isinstance(x, str) for x in parsed):
                return parsed
        except (ValueError, RecursionError):
            pass
    return ["/bin/sh", "-c", value]


def _json_strings(value: str, instr: str) -> list[str]:
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
        raise UsageError(f"invalid --change {instr} {value!r}",
                         hint=f'give a JSON list of strings, e.g. {instr} ["/data"]')
    return parsed


def _pairs(value: str) -> list[tuple[str, str]]:
    """`K=V K2="V 2"`, or the old form `K V` (one pair)."""
    try:
        words = shlex.split(value)
    except ValueError as exc:  # an unterminated quote
        raise UsageError(f"invalid --change value {value!r}: {exc}",
                         hint='quote values with matching quotes, e.g. ENV A="b c"') from None
    if words and "=" not in words[0]:
        key, _, rest = value.strip().partition(" ")
        return [(key, rest.strip())]
    return [(w.partition("=")[0], w.partition("=")[2]) for w in words]


def apply_changes(config: dict[str, Any], changes: list[str]) -> None:
    """Dockerfile instructions onto an image config's `config` (podman's --change)."""
    c = config.setdefault("config", {})
    for change in changes:
        import re

        m = re.match(r"\s*([A-Za-z]+)\s*[= ]\s*(.*)$", change, re.S)
        if m is None or "\0" in change:
            raise UsageError(f"invalid --change instruction {change!r}",
                             hint="give a Dockerfile instruction, e.g. CMD [\"sh\"]")
        instr, value = m.group(1).upper(), m.group(2)
        if instr == "CMD":
            c["Cmd"] = _command_form(value)
        elif instr == "ENTRYPOINT":
            c["Entrypoint"] = _command_form(value)
        elif instr == "ENV":
            env = [e for e in c.get("Env") or []]
            for k, v in _pairs(value):
                env = [e for e in env if e.partition("=")[0] != k] + [f"{k}={v}"]
            c["Env"] = env
        elif instr == "LABEL":
            labels = dict(c.get("Labels") or {})
            labels.update(_pairs(value))
            c["Labels"] = labels
        elif instr == "EXPOSE":
            ports = dict(c.get("ExposedPorts") or {})
            for p in value.split():
                ports[p if "/" in p else p + "/tcp"] = {}
            c["ExposedPorts"] = ports
        elif instr == "WORKDIR":
            c["WorkingDir"] = value.strip()
        elif instr == "USER":
            c["User"] = value.strip()
        elif instr == "STOPSIGNAL":
            c["StopSignal"] = value.strip()
        elif instr == "VOLUME":
            vols = dict(c.get("Volumes") or {})
            v = value.strip()
            for path in (_json_strings(v, "VOLUME") if v.startswith("[") else v.split()):
                vols[path] = {}
            c["Volumes"] = vols
        elif instr == "ONBUILD":
            c.setdefault("OnBuild", []).append(value.strip())
        else:
            raise UsageError(f"invalid --change instruction {change!r}",
                             hint="use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, "
                                  "VOLUME, WORKDIR or STOPSIGNAL")
    from pdman.image.config import check_run_config

    # the image must read back: no NUL smuggled in through a JSON escape
    check_run_config(c, "--change", UsageError)


def gzip_chunks(path: str) -> Iterator[bytes]:
    """gzip of a file, header without name or mtime: the same tar gives the same blob."""
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            out = z.compress(chunk)
            if out:
                yield out
    yield z.flush()


def target_name(image: str) -> list[str]:
    from pdman.image.reference import target_name as name

    return name(image)


def _freeze(ctx: EngineContext, container_id: str, status: str) -> bool:
    """`commit --pause`: freeze a running container while its layer is read, where the
    cgroup v2 freezer is available. Without it the commit goes on: the layer is read
    through directory fds and never follows what the container swaps in meanwhile
    (image/commit_layer.py), so pausing only makes the snapshot consistent."""
    if status != "running":
        return False
    from pdman.engine.pause import pause
    from pdman.errors import HostSupportError

    try:
        pause(ctx, container_id)
    except HostSupportError:
        return False
    return True


def _squashed(ctx: EngineContext, layers: "list[Any]", upper_tar: str, area: str) -> str:
    """`commit --squash`: the image's layers and the container's changes merged into
    one tar (build --squash-all's merge); returns its path."""
    from pdman.engine.build_squash import merge
    from pdman.storage.blobs import BlobStore

    blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
    out = os.path.join(area, "squashed.tar")
    merge([*(blobs.path(l.digest) for l in layers), upper_tar], out, keep_whiteouts=False)
    os.unlink(upper_tar)
    return out


def commit(ctx: EngineContext, options: CommitOptions) -> NewImageReport:
    from pdman.image.commit_layer import write_upper_tar
    from pdman.image.ingest import LayerIngest, register_image
    from pdman.storage import container_records, image_records

    from pdman.image import manifest

    if options.format not in ("oci", "docker"):
        raise UsageError(f"unrecognized image type {options.format!r}",
                         hint="--format takes oci or docker")
    rec = container_records.find(ctx.catalog, options.container)
    names = target_name(options.image)
    if not rec.image_id:
        raise UsageError(f"container {rec.name} runs a root filesystem directory (--rootfs): "
                         "committing it is not built yet",
                         hint=f"pdman import a tarball of {(rec.config.get('rootfs') or {}).get('path', 'it')} instead")
    parent = image_records.get(ctx.catalog, rec.image_id)
    config = json.loads(json.dumps(parent.config))
    if options.include_volumes:
        volumes = config.setdefault("config", {}).get("Volumes") or {}
        for m in rec.config.get("mounts", []):
            if m.get("type") in ("volume", "bind") and not m.get("from_container"):
                volumes[m["destination"]] = {}
        config["config"]["Volumes"] = volumes
    apply_changes(config, options.changes)
    created = _now()
    with LayerIngest(ctx, "commit") as ingest:
        tar_path = os.path.join(ingest.area, "upper.tar")
        frozen = options.pause and _freeze(ctx, rec.id, rec.status)
        try:
            write_upper_tar(ctx, rec, tar_path)
        finally:
            if frozen:
                from pdman.engine.pause import unpause

                unpause(ctx, rec.id)
        parent_layers = []
        for diff_id in parent.layers:
            have = ingest.present(diff_id)
            if have is None:
                from pdman.errors import StorageError

                raise StorageError(f"layer {diff_id[:19]} of image {parent.id[:12]} has no "
                                   "stored blob", hint="pull the image again")
            parent_layers.append(have)
        if options.squash:
            tar_path = _squashed(ctx, parent_layers, tar_path, ingest.area)
            parent_layers = []
        layer = ingest.add(gzip_chunks(tar_path), what=f"the writable layer of {rec.name}")
        os.unlink(tar_path)
    config["created"] = created
    if options.author:
        config["author"] = options.author
    config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    config["rootfs"]["diff_ids"] = [*(l.diff_id for l in parent_layers), layer.diff_id]
    entry: dict[str, Any] = {"created": created,
                             "created_by": "pdman commit " + rec.name}
    if options.message:
        entry["comment"] = options.message
    if options.author:
        entry["author"] = options.author
    history = config.get("history") or []
    if options.squash:
        # the merged layers' entries stay, marked empty: the one layer is the new entry's
        history = [dict(h, empty_layer=True) for h in history]
    config["history"] = [*history, entry]
    image = register_image(ctx, json.dumps(config).encode(), [*parent_layers, layer], names,
                           manifest_type=manifest.DOCKER_MANIFEST if options.format == "docker"
                           else manifest.OCI_MANIFEST)
    if options.iidfile:
        with open(options.iidfile, "w", encoding="utf-8") as f:
            f.write("sha256:" + image.id)
    from pdman.engine import events

    events.container_event(ctx.paths, "commit", rec)
    return NewImageReport(image.id, image.names)


def import_image(ctx: EngineContext, options: ImportOptions) -> NewImageReport:
    from pdman.image.ingest import LayerIngest, register_image
    from pdman.image.manifest import host_platform

    names = target_name(options.image)
    config: dict[str, Any] = {"config": {}}
    apply_changes(config, options.changes)
    created = _now()
    spooled = ""
    path = options.source
    if path == "-":
        path = spooled = _spool_stdin(ctx)
    try:
        with LayerIngest(ctx, "import") as ingest:
            with open(path, "rb") as f:
                magic = f.read(4)
            compressed = magic[:2] == b"\x1f\x8b" or magic == b"\x28\xb5\x2f\xfd"
            chunks = _file_chunks(path) if compressed else gzip_chunks(path)
            layer = ingest.add(chunks, what=f"the tarball {options.source}")
    finally:
        if spooled:
            os.unlink(spooled)
    plat = host_platform()
    history: dict[str, Any] = {"created": created,
                               "created_by": f"/bin/sh -c #(nop) ADD file:{layer.diff_id[7:]} in /"}
    if options.message:
        history["comment"] = options.message
    # --arch/--os/--variant are written as given (podman's import); the host's variant
    # only goes with the host's architecture
    arch = options.arch or plat.architecture
    variant = options.variant or (plat.variant if arch == plat.architecture else "")
    config.update({"created": created, "architecture": arch, "os": options.os or plat.os,
                   "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
                   "history": [history]})
    if variant:
        config["variant"] = variant
    image = register_image(ctx, json.dumps(config).encode(), [layer], names)
    from pdman.engine import events

    events.emit(ctx.paths, "image", "import", id=image.id,
                name=image.names[0] if image.names else options.source)
    return NewImageReport(image.id, image.names)


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


__all__ = ["apply_changes", "commit", "gzip_chunks", "import_image", "load", "push", "save",
           "target_name"]
