"""An in-memory OCI registry behind httpx.MockTransport, with fault injection.

    reg = FakeRegistry(bearer=True, users={"u": "p"})
    reg.push_image("app", "latest", [layer_bytes, ...])
    client = RegistryClient("reg.test", transport=reg.transport(), sleep=lambda s: None)
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import time
from collections.abc import Iterator
from typing import Any

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_tar(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def file_entry(name: str, data: bytes, **attrs: Any) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = attrs.pop("mode", 0o644)
    info.mtime = attrs.pop("mtime", 1704067200)
    for k, v in attrs.items():
        setattr(info, k, v)
    return info, data


def simple_layer(files: dict[str, bytes]) -> bytes:
    """A gzip layer with these files (parents implied)."""
    return gzip.compress(make_tar([file_entry(n, d) for n, d in files.items()]), mtime=0)


class _Chunks(httpx.SyncByteStream):
    def __init__(self, data: bytes, fail_after: int | None = None) -> None:
        self.data = data
        self.fail_after = fail_after

    def __iter__(self) -> Iterator[bytes]:
        step = 4096
        for i in range(0, len(self.data), step):
            if self.fail_after is not None and i >= self.fail_after:
                raise httpx.ReadError("connection reset by fake registry")
            yield self.data[i:i + step]


class FakeRegistry:
    def __init__(self, bearer: bool = False, basic: bool = False,
                 users: dict[str, str] | None = None, token_ttl: int = 300,
                 realm: str = "https://auth.reg.test/token") -> None:
        self.bearer = bearer
        # the token service: a subdomain of the registry's host, which may have the
        # user's credentials (registry.realm_trusted); tests move it elsewhere
        self.realm = realm
        self.basic = basic
        self.users = users or {}
        self.anonymous = not self.users
        self.token_ttl = token_ttl
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0
        self.fail_5xx: dict[str, int] = {}       # path suffix -> failures left
        self.fail_connect = 0
        self.break_stream: dict[str, int] = {}   # blob digest -> byte offset (once)
        self.corrupt: set[str] = set()           # blob digests served altered
        self.no_range = False
        self.drop_media_type = False
        self.redirect_blobs = False              # 307 to a "storage" host, like S3

    # -- content -------------------------------------------------------------------

    def put_blob(self, data: bytes) -> dict[str, Any]:
        d = digest_of(data)
        self.blobs[d] = data
        return {"digest": d, "size": len(data)}

    def push_image(self, repo: str, tag: str, layers: list[bytes], *,
                   platform: tuple[str, str, str] = ("linux", "amd64", ""),
                   history: list[dict[str, Any]] | None = None,
                   config_extra: dict[str, Any] | None = None) -> dict[str, Any]:
        diff_ids = [digest_of(gzip.decompress(layer)) for layer in layers]
        config = {"architecture": platform[1], "os": platform[0], "created":
                  "2024-01-01T00:00:00Z", "config": {"Cmd": ["sh"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids},
                  "history": history or [{"created": "2024-01-01T00:00:00Z",
                                          "created_by": f"ADD layer {i}"}
                                         for i in range(len(layers))]}
        if platform[2]:
            config["variant"] = platform[2]
        config.update(config_extra or {})
        cdesc = self.put_blob(json.dumps(config).encode())
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cdesc},
                    "layers": [{"mediaType": LAYER_GZIP, **self.put_blob(layer)}
                               for layer in layers]}
        if self.drop_media_type:
            del manifest["mediaType"]
        raw = json.dumps(manifest).encode()
        d = digest_of(raw)
        self.manifests[(repo, d)] = (raw, OCI_MANIFEST)
        if tag:
            self.manifests[(repo, tag)] = (raw, OCI_MANIFEST)
        return {"mediaType": OCI_MANIFEST, "digest": d, "size": len(raw),
                "config_digest": cdesc["digest"]}

    def push_index(self, repo: str, tag: str, manifests: list[tuple[dict[str, Any],
                                                                 tuple[str, str, str]]]) -> str:
        entries = []
        for desc, (os_, arch, variant) in manifests:
            plat = {"os": os_, "architecture": arch, **({"variant": variant} if variant else {})}
            entries.append({"mediaType": desc["mediaType"], "digest": desc["digest"],
                            "size": desc["size"], "platform": plat})
        raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                          "manifests": entries}).encode()
        self.manifests[(repo, tag)] = (raw, OCI_INDEX)
        self.manifests[(repo, digest_of(raw))] = (raw, OCI_INDEX)
        return digest_of(raw)

    # -- HTTP ------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def _authorized(self, request: httpx.Request) -> bool:
        header = request.headers.get("authorization", "")
        if self.bearer:
            return header.startswith("Bearer tok-")
        if self.basic:
            if not header.startswith("Basic "):
                return False
            user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
            return self.users.get(user) == pw
        return True

    def _challenge(self, scope: str = "") -> httpx.Response:
        if self.bearer:
            value = f'Bearer realm="{self.realm}",service="reg.test"'
            if scope:
                value += f',scope="{scope}"'
        else:
            value = 'Basic realm="fake"'
        return httpx.Response(401, headers={"www-authenticate": value},
                              json={"errors": [{"code": "UNAUTHORIZED",
                                                "message": "authentication required"}]})

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = request.url
        if self.fail_connect:
            self.fail_connect -= 1
            raise httpx.ConnectError("connection refused (fake)")
        for suffix, left in list(self.fail_5xx.items()):
            if url.path.endswith(suffix) and left:
                self.fail_5xx[suffix] = left - 1
                return httpx.Response(503, json={"errors": [{"message": "try later"}]})
        if url.host == httpx.URL(self.realm).host:
            return self._token(request)
        if url.host == "storage.test":
            assert "authorization" not in request.headers  # never leaked cross-origin
            data = self.blobs[url.path.rsplit("/", 1)[1]]
            return httpx.Response(200, content=data)
        if url.path == "/v2/":
            return httpx.Response(200) if self._authorized(request) or not \
                (self.bearer or self.basic) else self._challenge()
        parts = url.path.split("/")
        # /v2/<repo...>/(manifests|blobs)/<ref>
        kind, ref = parts[-2], parts[-1]
        repo = "/".join(parts[2:-2])
        if (self.bearer or self.basic) and not self._authorized(request):
            return self._challenge(f"repository:{repo}:pull")
        if kind == "manifests":
            found = self.manifests.get((repo, ref))
            if found is None:
                return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN",
                                                             "message": "manifest unknown"}]})
            raw, mt = found
            return httpx.Response(200, content=raw, headers={"content-type": mt})
        if kind == "blobs" and self.redirect_blobs and ref in self.blobs:
            return httpx.Response(307, headers={"location": f"https://storage.test/b/{ref}"})
        if kind == "blobs":
            data = self.blobs.get(ref)
            if data is None:
                return httpx.Response(404, json={"errors": [{"code": "BLOB_UNKNOWN"}]})
            if ref in self.corrupt:
                data = bytes([data[0] ^ 1]) + data[1:]
            start = 0
            rng = request.headers.get("range", "")
            status = 200
            if rng and not self.no_range:
                start = int(rng.split("=")[1].split("-")[0])
                status = 206
            body = data[start:]
            fail = self.break_stream.pop(ref, None)
            return httpx.Response(status, stream=_Chunks(body, fail),
                                  headers={"content-length": str(len(body))})
        return httpx.Response(404)

    def _token(self, request: httpx.Request) -> httpx.Response:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
            if self.users.get(user) != pw:
                return httpx.Response(401, json={"errors": [{"message": "bad credentials"}]})
        elif not self.anonymous:
            return httpx.Response(401, json={"errors": [{"message": "login required"}]})
        self.tokens_issued += 1
        return httpx.Response(200, json={"token": f"tok-{self.tokens_issued}",
                                         "expires_in": self.token_ttl,
                                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ")})
