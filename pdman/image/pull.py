"""Pull: reference -> manifest (index -> platform) -> config -> layers -> catalog.

    report = pull_image(ctx, PullOptions("nginx"))

Stages, each verified before the next trusts it:
1. resolve: short names through registries.conf (aliases, then each search
   registry in turn); credentials from --creds, the auth file, docker's config;
2. manifest: by tag or digest; an index is narrowed to the wanted platform;
3. config: fetched (or found in the blob store) and checked against its digest;
   its rootfs.diff_ids name the layers;
4. layers: the ones not yet in the store are streamed, several at once, each
   into an extraction worker (unpacked while downloading) and a blob file; the
   blob digest and the unpacked diff_id are both checked, then the layer is
   published and recorded;
5. register: the image row with its names and layer list, in one transaction.

A failure at any point leaves no partial layer or image visible: unpacks live in
tmp/ until published, and the image row comes last. Killed half-way, the next pull
reuses every layer that was published and redoes the rest.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

from pdman.engine.context import EngineContext
from pdman.entities.images import PullEvent, PullOptions, PullReport
from pdman.errors import (DigestMismatchError, ImageNotFound, LayerError, PdmanError,
                          RegistryError, StorageError, UsageError)
from pdman.image import auth, manifest, reference, registries_conf
from pdman.image import config as image_config
from pdman.image.manifest import Descriptor, Index, Manifest
from pdman.image.registry import Cancelled, RegistryClient
from pdman.storage import image_records
from pdman.storage.blobs import BlobStore, BlobWriter
from pdman.storage.image_records import ImageRecord, LayerRecord
from pdman.storage.layers import LayerStore, hex_of

if TYPE_CHECKING:
    from concurrent.futures import Future

    from pdman.storage.extractor import Extractor
    from pdman.storage.tarstream import Limits

#: layers fetched at once (podman's default is 6)
PARALLEL_LAYERS = 6
LOCAL_CHUNK = 1 << 20


class _Resolved:
    __slots__ = ("ref", "endpoint", "raw", "digest", "manifest", "index_digest")

    def __init__(self, ref: reference.Reference, endpoint: registries_conf.Endpoint,
                 raw: bytes, digest: str, doc: Manifest, index_digest: str = "") -> None:
        self.ref = ref                  # what the user gets: docker.io/library/nginx:latest
        self.endpoint = endpoint
        self.raw = raw                  # the platform manifest
        self.digest = digest
        self.manifest = doc
        self.index_digest = index_digest


class _Pull:
    def __init__(self, ctx: EngineContext, options: PullOptions, transport: Any = None) -> None:
        self.ctx = ctx
        self.options = options
        self.transport = transport
        self.conf = registries_conf.load()
        self.blobs = BlobStore(ctx.paths.blobs, ctx.paths.tmp)
        self.layers = LayerStore(ctx.paths, ctx.catalog)
        self.wanted = manifest.wanted_platform(options.platform, options.os, options.arch,
                                               options.variant)
        self.warnings: list[str] = []
        self.cancel = threading.Event()

    def emit(self, kind: str, text: str = "", size: int = 0) -> None:
        if self.options.progress is not None:
            self.options.progress(PullEvent(kind, text, size))

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)
            self.emit("warning", text)

    # -- stage 1 and 2: resolve ------------------------------------------------------

    def client(self, endpoint: registries_conf.Endpoint, ref: reference.Reference) -> \
            RegistryClient:
        o = self.options
        insecure = endpoint.insecure or o.tls_verify is False
        creds: auth.Credentials | None
        if o.creds:
            creds = auth.parse_creds_option(o.creds)
        else:
            creds = auth.lookup(ref.domain, ref.path, o.authfile or None)
        return RegistryClient(endpoint.registry, insecure=insecure, credentials=creds,
                              transport=self.transport, cert_dir=o.cert_dir)

    def resolve(self, client: RegistryClient, ref: reference.Reference,
                endpoint: registries_conf.Endpoint) -> _Resolved:
        where = f"docker://{ref}"
        repo = endpoint.repository
        raw, ctype, digest = client.get_manifest(repo, ref.digest or ref.tag, manifest.ACCEPT)
        doc = manifest.parse(raw, ctype, where)
        index_digest = ""
        if isinstance(doc, Index):
            index_digest = digest
            chosen = manifest.choose(doc, self.wanted, where)
            raw, ctype, digest = client.get_manifest(repo, chosen.digest, manifest.ACCEPT)
            doc = manifest.parse(raw, ctype or chosen.media_type, where)
            if isinstance(doc, Index):
                raise RegistryError(f"{where}: an index inside an index is not supported")
        return _Resolved(ref, endpoint, raw, digest, doc, index_digest)

    # -- stage 3: config -------------------------------------------------------------

    def config(self, client: RegistryClient, r: _Resolved) -> tuple[bytes, dict[str, Any]]:
        desc = r.manifest.config
        if self.blobs.has(desc.digest):
            raw = self.blobs.get(desc.digest)
        else:
            raw = client.get_blob(r.endpoint.repository, desc)
        config = image_config.parse(raw, f"the config {desc.digest} of {r.ref}")
        diff_ids = config["rootfs"]["diff_ids"]
        if len(diff_ids) != len(r.manifest.layers):
            raise RegistryError(f"{r.ref}: the manifest lists {len(r.manifest.layers)} layers "
                                f"but the config {len(diff_ids)} diff_ids",
                                hint="the image is malformed")
        for d in diff_ids:
            reference.check_digest(str(d), "diff_id")
        self.emit("config", desc.digest)
        have = manifest.Platform(str(config.get("os", "")), str(config.get("architecture", "")),
                                 str(config.get("variant", "")))
        if not r.index_digest and (have.os, have.architecture) != \
                (self.wanted.os, self.wanted.architecture):
            self.warn(f"image platform ({have}) does not match the expected platform "
                      f"({self.wanted})")
        return raw, config

    # -- stage 4: layers -------------------------------------------------------------

    def fetch_layers(self, client: RegistryClient, r: _Resolved,
                     diff_ids: list[str]) -> tuple[int, int]:
        wanted: dict[str, Descriptor] = {}
        present = 0
        for desc, diff_id in zip(r.manifest.layers, diff_ids):
            manifest.layer_compression(desc, f"docker://{r.ref}")
            if diff_id in wanted:
                continue
            if self.layers.complete(diff_id) is not None:
                present += 1
                self.emit("blob-skipped", desc.digest)
                continue
            wanted[diff_id] = desc
        if not wanted:
            return 0, present
        # imported only when there is something to fetch: a pull whose layers are all
        # present (the common re-pull) needs none of it
        from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

        from pdman.storage.extractor import Extractor
        from pdman.storage.tarstream import Limits

        limits = Limits.from_env()
        # the zygote forks first: while this process has no other thread, and before
        # the tmp/ lock is taken (a forked copy of that lock would outlive a killed pull)
        with Extractor() as extractor:
            with self.layers.tmp_area("pull") as (area, garbage):
                if extractor.warning:
                    self.warn(extractor.warning)
                jobs = min(PARALLEL_LAYERS, len(wanted))
                with ThreadPoolExecutor(jobs, thread_name_prefix="pdman-pull") as pool:
                    futures: list[Future[LayerRecord]] = [
                        pool.submit(self.fetch_layer, client, r, desc, diff_id, area,
                                    extractor, limits)
                        for diff_id, desc in wanted.items()]
                    if garbage:
                        pool.submit(extractor.rmtree, garbage)
                    try:
                        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                        failed = [f for f in futures if f.done() and f.exception()]
                        if failed:
                            self.cancel.set()
                            wait(futures)
                            raise _first_error(futures)
                    except BaseException:
                        self.cancel.set()
                        raise
        return len(wanted), present

    def fetch_layer(self, client: RegistryClient, r: _Resolved, desc: Descriptor, diff_id: str,
                    area: str, extractor: Extractor, limits: Limits) -> LayerRecord:
        from pdman.storage.extractor import WorkerGone

        staged = os.path.join(area, hex_of(diff_id))
        os.mkdir(staged, 0o700)
        job = extractor.unpack(os.path.join(staged, "diff"), limits)
        writer: BlobWriter | None = None
        self.emit("blob-start", desc.digest, desc.size)
        try:
            gone = False
            try:
                if self.blobs.has(desc.digest):
                    # an earlier pull stored the blob but died before the layer was published
                    with open(self.blobs.path(desc.digest), "rb") as f:
                        while chunk := f.read(LOCAL_CHUNK):
                            if self.cancel.is_set():
                                raise Cancelled(desc.digest)
                            job.write(chunk)
                else:
                    writer = self.blobs.open_writer(desc.digest, verify=False)
                    blob = writer
                    worker_gone = False

                    def sink(chunk: bytes) -> None:
                        nonlocal worker_gone
                        blob.write(chunk)
                        if not worker_gone:
                            try:
                                job.write(chunk)
                            except WorkerGone:
                                # the layer is bad, or the blob is: download on, so that a
                                # blob that is not what its digest says is reported as such
                                worker_gone = True
                        self.emit("blob-progress", desc.digest, len(chunk))

                    client.fetch_blob(r.endpoint.repository, desc, sink, cancelled=self.cancel)
            except WorkerGone:
                gone = True  # a stored (verified) blob: finish() raises the worker's error
            try:
                result = job.finish()
            except LayerError as exc:
                raise LayerError(f"layer {desc.digest} of {r.ref}: {exc.message}",
                                 exc.hint) from exc
            if gone:
                raise StorageError(f"the extraction of {desc.digest} stopped reading early",
                                   hint="pull again")
            if result.diff_id != diff_id:
                raise DigestMismatchError(
                    f"layer {desc.digest} of {r.ref} unpacks to {result.diff_id}, but the image "
                    f"config names {diff_id}; discarded, nothing stored",
                    hint="the image is corrupt (or was altered on its way here)")
            if writer is not None:
                writer.commit()
                writer = None
        except BaseException:
            job.abort()
            if writer is not None:
                writer.discard()
            extractor.rmtree([staged])
            raise
        if result.chown_failures and not extractor.warning:  # single-ID: said once already
            self.warn(f"{result.chown_failures} files of layer {desc.digest[:19]} have owners "
                      "outside your ID mapping; they belong to root in containers")
        rec = self.layers.commit(staged, result, desc.digest, desc.media_type, extractor.rmtree)
        self.emit("blob-done", desc.digest)
        return rec

    # -- stage 5: register -----------------------------------------------------------

    def register(self, r: _Resolved, config_raw: bytes, config: dict[str, Any],
                 diff_ids: list[str]) -> ImageRecord:
        if not self.blobs.has(r.manifest.config.digest):
            self.blobs.put(r.manifest.config.digest, config_raw)
        if not self.blobs.has(r.digest):
            self.blobs.put(r.digest, r.raw)
        cat = self.ctx.catalog
        sizes = {}
        for d in dict.fromkeys(diff_ids):
            rec = image_records.layer(cat, d)
            if rec is None:
                raise StorageError(f"layer {d} vanished before {r.ref} was recorded",
                                   hint="another pdman removed it meanwhile; pull again")
            sizes[d] = rec.size
        repo = r.ref.name
        repo_digests = [f"{repo}@{d}" for d in (r.index_digest, r.digest) if d]
        image = ImageRecord(
            id=hex_of(r.manifest.config.digest), digest=r.index_digest or r.digest,
            manifest_media_type=r.manifest.media_type, config=config,
            architecture=str(config.get("architecture", "")), os=str(config.get("os", "")),
            size=sum(sizes.values()), created=str(config.get("created", "")),
            added=time.time(), repo_digests=repo_digests, layers=list(diff_ids))
        image_records.add_image(cat, image, [_name_of(r.ref)])
        self.emit("manifest", r.digest)
        return image

    # -- all of it -------------------------------------------------------------------

    def run(self) -> PullReport:
        ref = reference.parse(self.options.reference)
        asked: list[str] = []
        choose = self.options.choose_registry

        def ask(short: str, names: list[str]) -> str:
            asked.append(choose(short, names))  # type: ignore[misc]
            return asked[-1]

        candidates = self.conf.candidates(ref, ask if choose is not None else None)
        errors: list[PdmanError] = []
        for cand in candidates:
            endpoints = self.conf.endpoints(cand)
            for endpoint in endpoints:
                self.emit("trying", str(cand))
                client = self.client(endpoint, cand)
                try:
                    report = self.pull_from(client, cand, endpoint)
                    if asked:       # the user's pick, remembered as podman does
                        try:
                            self.conf.record_alias(ref.path, cand.name)
                        except OSError as exc:
                            self.emit("warning", f"could not record the short-name alias "
                                      f"{ref.path} = {cand.name}: {exc}")
                    return report
                except ImageNotFound as exc:
                    errors.append(exc)
                except RegistryError as exc:
                    if endpoint is endpoints[-1] or isinstance(exc, DigestMismatchError):
                        if len(candidates) == 1:
                            raise
                        errors.append(exc)
                        break
                    errors.append(exc)
                finally:
                    client.close()
        if len(errors) == 1:
            raise errors[0]
        raise ImageNotFound(
            f"pulling {self.options.reference}: no candidate worked: "
            + "; ".join(e.message for e in errors),
            hint="use a fully qualified name (registry/repository:tag)")

    def pull_from(self, client: RegistryClient, ref: reference.Reference,
                  endpoint: registries_conf.Endpoint) -> PullReport:
        r = self.resolve(client, ref, endpoint)
        self.emit("resolved", r.digest)
        config_raw, config = self.config(client, r)
        diff_ids = [str(d) for d in config["rootfs"]["diff_ids"]]
        fetched, present = self.fetch_layers(client, r, diff_ids)
        image = self.register(r, config_raw, config, diff_ids)
        return PullReport(image.id, str(ref), image.digest, [_name_of(ref)], fetched, present,
                          list(self.warnings))


def repository_tags(ctx: EngineContext, options: PullOptions, transport: Any = None) -> list[str]:
    """`pull --all-tags`: the references of every tag of the repository options names
    (which must have no tag or digest), as the registry lists them."""
    p = _Pull(ctx, options, transport)
    ref = reference.parse(options.reference)
    if ref.tag or ref.digest:
        raise UsageError(f"tag or digest given with --all-tags: {options.reference}",
                         hint="name the repository only")
    if ref.is_short:
        ref = ref.with_domain(reference.DEFAULT_DOMAIN)
    endpoint = p.conf.endpoints(ref)[-1]
    with p.client(endpoint, ref) as client:
        tags = client.tags(endpoint.repository)
    return [f"{ref.name}:{t}" for t in tags]


def remote_digest(ctx: EngineContext, options: PullOptions, transport: Any = None) -> str:
    """The digest of the manifest (or index) a fully qualified reference names in its
    registry now, read without pulling anything else (`auto-update`'s check)."""
    p = _Pull(ctx, options, transport)
    ref = reference.parse(options.reference)
    errors: list[PdmanError] = []
    for endpoint in p.conf.endpoints(ref):
        client = p.client(endpoint, ref)
        try:
            return client.get_manifest(endpoint.repository, ref.digest or ref.tag,
                                       manifest.ACCEPT)[2]
        except RegistryError as exc:
            errors.append(exc)
        finally:
            client.close()
    raise errors[-1] if errors else ImageNotFound(f"{ref}: no registry to ask")


def _name_of(ref: reference.Reference) -> str:
    """The name a pull records: `repo:tag`, or `repo@digest` when pulled by digest (so
    the image is not dangling, and `repo@digest` finds it), as podman does."""
    return f"{ref.name}@{ref.digest}" if ref.digest else str(ref)


def _first_error(futures: list[Future[LayerRecord]]) -> BaseException:
    """The error to show: a real failure rather than the cancellations it caused."""
    errors = [f.exception() for f in futures if f.done() and f.exception() is not None]
    real = [e for e in errors if not isinstance(e, Cancelled)]
    return (real or errors)[0]  # type: ignore[return-value]


def pull_image(ctx: EngineContext, options: PullOptions, transport: Any = None) -> PullReport:
    """Pull an image into the store; `transport` replaces httpx's (tests)."""
    return _Pull(ctx, options, transport).run()


__all__ = ["PARALLEL_LAYERS", "pull_image"]
