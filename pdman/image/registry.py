"""A client of the OCI distribution API (docker registry v2), over httpx.

    with RegistryClient("127.0.0.1:5000", insecure=True) as reg:
        raw, media_type, digest = reg.get_manifest("busybox", "latest", manifest.ACCEPT)
        config = reg.get_blob("busybox", config_descriptor)
        reg.fetch_blob("busybox", layer_descriptor, sink=write_chunk)

- `/v2/` ping first: it says whether and how to authenticate (Bearer token service
  or Basic). Bearer tokens are fetched per repository scope, with credentials when
  there are any, and reused until they expire.
- Credentials go only where the registry's own trust reaches (`realm_trusted`): a
  token realm over https on the registry's host, a subdomain of it, or a host of
  its parent domain (registry-1.docker.io -> auth.docker.io); anywhere else only
  when the registry is configured insecure. An untrusted realm gets an anonymous
  token request. Redirects (blobs to a CDN, a realm elsewhere) never carry the
  Authorization header to another origin (httpx strips it; `_send` checks it).
- TLS: https, verified against the system's CAs plus the registry's own from
  containers-certs.d(5) (`$XDG_CONFIG_HOME/containers/certs.d/HOST[:PORT]/*.crt`,
  then `/etc/containers/certs.d/...`), as podman does. An insecure registry (registries.conf `insecure = true`, or
  `--tls-verify=false`) is tried over https without verification, then plain http,
  as podman does.
- Connection errors, 5xx and 429 are retried with exponential back-off; a blob
  download that breaks off resumes with a Range request.
- Every blob is hashed and counted while it streams: more bytes than the descriptor
  says, fewer, or another digest is a `DigestMismatchError` naming the digest.
- The transport is injectable (`httpx.MockTransport` in unit tests).

Loopback registries bypass HTTP proxies from the environment, as Go's
ProxyFromEnvironment does for podman.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from contextlib import closing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Optional, Union

from pdman import __version__
from pdman.errors import AuthenticationError, DigestMismatchError, ImageNotFound, RegistryError
from pdman.image._httpx import httpx
from pdman.image.auth import Credentials
from pdman.image.manifest import Descriptor

DOCKER_HUB_API = "registry-1.docker.io"
MANIFEST_MAX = 4 << 20       # containers/image's limit for manifests
CONFIG_MAX = 64 << 20        # and for configs


#: a request body: bytes, or a function that gives it afresh for each attempt
Body = Optional[Union[bytes, Callable[[], Union[bytes, Iterator[bytes]]]]]


class Cancelled(Exception):
    """A download was stopped because another part of the pull failed."""


@dataclass(frozen=True)
class Challenge:
    scheme: str                      # "bearer" | "basic"
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """`Bearer realm="https://a/token",service="reg",scope="repository:x:pull"`."""
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " ,":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lower()
        i = eq + 1
        if i < n and rest[i] == '"':
            i += 1
            value = []
            while i < n and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(rest[i])
                i += 1
            i += 1
            params[key] = "".join(value)
        else:
            end = rest.find(",", i)
            end = n if end < 0 else end
            params[key] = rest[i:end].strip()
            i = end
    return Challenge(scheme.lower(), params)


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]
    return name in ("localhost", "::1") or name.startswith("127.")


def _host_of(host: str) -> str:
    """`name[:port]` or `[v6]:port` -> the lower-case name or address."""
    if host.startswith("["):
        return host[1:].split("]")[0].lower()
    return host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()


#: second-level labels under which registrations are made (co.uk, com.au...): a parent
#: domain such as `co.uk` is a public suffix, shared by strangers
_PUBLIC_SECOND_LEVEL = ("co", "com", "net", "org", "gov", "ac", "edu", "ne", "or", "go")


def _parent_domain(name: str) -> str:
    """The domain a registry host shares with its token service, "" for none: the
    name less its first label, when that still names one owner (at least two labels,
    not a public suffix like co.uk); never for IP addresses."""
    import ipaddress

    try:
        ipaddress.ip_address(name)
        return ""
    except ValueError:
        pass
    labels = name.split(".")
    if len(labels) < 3:
        return ""
    parent = labels[1:]
    if len(parent) == 2 and len(parent[1]) == 2 and parent[0] in _PUBLIC_SECOND_LEVEL:
        return ""
    return ".".join(parent)


def realm_trusted(registry_host: str, realm: str) -> bool:
    """May the credentials for `registry_host` go to the token realm `realm` (a
    secure registry)? Only over https, and only to the registry's own host (any
    port), its subdomains, or its parent domain and that domain's subdomains:
    registry-1.docker.io -> auth.docker.io, registry.gitlab.com -> gitlab.com."""
    try:
        url = httpx.URL(realm)
    except (httpx.InvalidURL, TypeError):
        return False
    if url.scheme != "https" or not url.host:
        return False
    reg = _host_of(registry_host)
    target = url.host.lower()
    if target == reg or target.endswith("." + reg):
        return True
    parent = _parent_domain(reg)
    return bool(parent) and (target == parent or target.endswith("." + parent))


def cert_dirs(registry: str) -> list[str]:
    """containers-certs.d(5) directories of `registry` (host[:port]), the user's first."""
    import os

    from pdman.config import config_home

    return [os.path.join(str(config_home()), "containers", "certs.d", registry),
            os.path.join("/etc/containers/certs.d", registry)]


def _tls_context(registry: str, cert_dir: str = "") -> "Any":
    """True (httpx's default verification), or an SSL context that also trusts the
    CA certificates (`*.crt`) in the registry's certs.d directories (or, given
    `--cert-dir`, in that one instead, as podman's)."""
    import os

    cas = []
    for d in [cert_dir] if cert_dir else cert_dirs(registry):
        try:
            cas += [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".crt")]
        except OSError:
            continue
    if not cas:
        return True
    import ssl

    import certifi

    ctx = ssl.create_default_context(cafile=certifi.where())
    for ca in cas:
        try:
            ctx.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            raise RegistryError(f"cannot load the CA certificate {ca} for {registry}: {exc}",
                                hint="fix or remove the file (containers-certs.d(5))") from exc
    return ctx


def _error_text(resp: httpx.Response) -> str:
    """The registry's own words: {"errors": [{"code": ..., "message": ...}]}."""
    try:
        body = resp.read()
        doc = json.loads(body)
        errors = doc.get("errors") if isinstance(doc, dict) else None
        if errors:
            return "; ".join(
                f"{str(e.get('message') or e.get('code') or '').strip()}" for e in errors)
    except (ValueError, httpx.HTTPError, AttributeError, TypeError, RecursionError):
        pass  # not the JSON error document: the status line says enough
    return resp.reason_phrase or f"HTTP {resp.status_code}"


class RegistryClient:
    """One registry host; thread-safe (blobs are fetched from several threads)."""

    def __init__(self, registry: str, *, insecure: bool = False,
                 credentials: Credentials | None = None,
                 transport: httpx.BaseTransport | None = None, retries: int = 4,
                 backoff: float = 0.25, sleep: Callable[[float], None] = time.sleep,
                 timeout: float = 60.0, cert_dir: str = "") -> None:
        self.registry = registry
        self.host = DOCKER_HUB_API if registry == "docker.io" else registry
        self.insecure = insecure
        self.credentials = credentials
        self.retries = max(1, retries)
        self.backoff = backoff
        self.sleep = sleep
        self.scheme = ""
        self._challenge: Challenge | None = None
        self._pinged = False
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._client = httpx.Client(
            verify=False if insecure else _tls_context(registry, cert_dir), trust_env=not is_loopback(self.host), follow_redirects=True,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0)), transport=transport,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
            headers={"User-Agent": f"pdman/{__version__}"})

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ping and authentication -----------------------------------------------------

    def ping(self) -> None:
        """GET /v2/: pick the scheme and learn how the registry wants us to log in."""
        with self._lock:
            if self._pinged:
                return
            schemes = ["https", "http"] if self.insecure else ["https"]
            failure: Exception | None = None
            for i, scheme in enumerate(schemes):
                last = i == len(schemes) - 1
                try:
                    resp = self._send("GET", f"{scheme}://{self.host}/v2/", {},
                                      retries=self.retries if last else 1)
                except RegistryError as exc:
                    failure = exc
                    continue
                with closing(resp):
                    if resp.status_code == 401:
                        self._challenge = parse_challenge(resp.headers.get("www-authenticate", ""))
                    elif resp.status_code == 404:
                        raise RegistryError(f"{self.registry} does not speak the registry v2 API "
                                            "(GET /v2/ answered 404)",
                                            hint="check the registry name and port")
                    elif resp.status_code >= 400 and resp.status_code != 403:
                        raise RegistryError(f"pinging container registry {self.registry}: "
                                            f"{_error_text(resp)}")
                self.scheme = scheme
                self._pinged = True
                return
            hint = ("if it serves plain HTTP, mark it `insecure = true` in registries.conf or "
                    "pass --tls-verify=false" if not self.insecure else
                    "check that the registry is running and reachable")
            raise RegistryError(f"pinging container registry {self.registry}: {failure}",
                                hint=hint)

    def _basic(self) -> str:
        c = self.credentials
        assert c is not None
        return "Basic " + base64.b64encode(f"{c.username}:{c.password}".encode()).decode()

    def _auth_headers(self, scope: str) -> dict[str, str]:
        ch = self._challenge
        if ch is None:
            return {}
        if ch.scheme == "basic":
            return {"Authorization": self._basic()} if self.credentials else {}
        if ch.scheme == "bearer":
            return {"Authorization": "Bearer " + self._token(scope)}
        return {}

    def _token(self, scope: str, refresh: bool = False) -> str:
        with self._lock:
            cached = self._tokens.get(scope)
            if cached and not refresh and cached[1] > time.monotonic():
                return cached[0]
            token, lifetime = self._fetch_token(scope)
            # a little early, so a token never expires in flight
            self._tokens[scope] = (token, time.monotonic() + max(lifetime - 10, 1))
            return token

    def _withheld(self, realm: str) -> bool:
        """Must the credentials stay away from the token realm `realm`?"""
        return bool(self.credentials) and not self.insecure and \
            not realm_trusted(self.host, realm)

    def _untrusted_realm(self, realm: str, why: str) -> AuthenticationError:
        return AuthenticationError(
            f"{self.registry} sends its token requests to {realm}, which is not "
            f"{self.registry}'s host or domain (or is not https): pdman did not send "
            f"your credentials there, and {why}",
            hint=f"if you trust {realm} with your {self.registry} password, mark the "
            f"registry `insecure = true` in its [[registry]] table of registries.conf")

    def _fetch_token(self, scope: str) -> tuple[str, int]:
        ch = self._challenge
        assert ch is not None
        realm = ch.params.get("realm")
        if not realm:
            raise AuthenticationError(f"{self.registry} asked for a Bearer token without a realm",
                                      hint="the registry's auth configuration is broken")
        query = {k: v for k, v in (("service", ch.params.get("service", "")),
                                   ("scope", scope)) if v}
        # the user's password goes only where the registry's trust reaches: a realm
        # elsewhere (or over plain http) could be anyone's, named by whoever answered
        # the ping -- it gets an anonymous request, unless the user said the
        # registry is insecure (registries.conf `insecure = true`, --tls-verify=false)
        withheld = self._withheld(realm)
        headers = {"Authorization": self._basic()} if self.credentials and not withheld else {}
        try:
            parsed = httpx.URL(realm, params=query)
            if parsed.scheme not in ("http", "https") or not parsed.host:
                raise ValueError("not an absolute http(s) URL")
            url = str(parsed)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            raise AuthenticationError(f"{self.registry} names an invalid token realm "
                                      f"{realm[:200]!r} ({exc})",
                                      hint="the registry's auth configuration is broken") from None
        resp = self._send("GET", url, headers)
        with closing(resp):
            if withheld and resp.status_code >= 400:
                raise self._untrusted_realm(
                    realm, f"an anonymous token was refused ({_error_text(resp)})")
            if resp.status_code in (401, 403):
                raise AuthenticationError(
                    f"authenticating to {self.registry} failed: {_error_text(resp)}",
                    hint=f"check the credentials: `pdman login {self.registry}`"
                    if self.credentials else f"log in first: `pdman login {self.registry}`")
            if resp.status_code >= 400:
                raise RegistryError(f"fetching a token from {realm}: {_error_text(resp)}")
            try:
                doc = json.loads(resp.read())
                token = str(doc.get("token") or doc.get("access_token") or "")
                lifetime = int(doc.get("expires_in") or 60)
            except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as exc:
                raise RegistryError(f"{realm} answered with no token: "
                                    f"{type(exc).__name__}: {str(exc)[:200]}") from None
        if not token:
            raise RegistryError(f"{realm} answered with no token")
        return token, lifetime

    # -- requests --------------------------------------------------------------------

    def _send(self, method: str, url: str, headers: dict[str, str], *, stream: bool = False,
              retries: int | None = None, content: Body = None) -> httpx.Response:
        """One request with retries on connection errors, 5xx and 429 (`content`: bytes,
        or a function giving the body afresh for each attempt)."""
        attempts = self.retries if retries is None else retries
        for attempt in range(attempts):
            try:
                body = content() if callable(content) else content
                req = self._client.build_request(method, url, headers=headers, content=body)
                resp = self._client.send(req, stream=stream)
            except httpx.TransportError as exc:
                if attempt + 1 < attempts:
                    self.sleep(self.backoff * 2 ** attempt)
                    continue
                raise RegistryError(f"{method} {url}: {exc or type(exc).__name__}",
                                    hint="check that the registry is reachable") from exc
            if (resp.status_code >= 500 or resp.status_code == 429) and attempt + 1 < attempts:
                delay = self.backoff * 2 ** attempt
                retry_after = resp.headers.get("retry-after", "")
                if retry_after.isdigit():
                    delay = min(float(retry_after), 30.0)
                resp.close()
                self.sleep(delay)
                continue
            return resp
        raise AssertionError("unreachable")

    def request(self, method: str, repository: str, path: str,
                headers: dict[str, str] | None = None, stream: bool = False, *,
                actions: str = "pull", content: Body = None,
                url: str = "") -> httpx.Response:
        """A request under /v2/<repository>/ (or to `url`, e.g. an upload location),
        authenticated for `actions` on it ("pull", or "pull,push")."""
        self.ping()
        scope = f"repository:{repository}:{actions}"
        url = url or f"{self.scheme}://{self.host}/v2/{repository}/{path}"
        refreshed = False
        while True:
            resp = self._send(method, url, {**self._auth_headers(scope), **(headers or {})},
                              stream=stream, content=content)
            if resp.status_code != 401 or refreshed:
                return resp
            # a new challenge (expired token, or a registry that wants auth only here)
            ch = parse_challenge(resp.headers.get("www-authenticate", ""))
            resp.close()
            if ch is None:
                return self._send(method, url, headers or {}, stream=stream, content=content)
            self._challenge = ch
            refreshed = True
            if ch.scheme == "bearer":
                self._token(scope, refresh=True)
            elif ch.scheme == "basic" and not self.credentials:
                raise AuthenticationError(
                    f"{self.registry} requires authentication to read {repository}",
                    hint=f"log in with `pdman login {self.registry}` or pass --creds USER:PASS")

    def catalog(self, limit: int = 1000) -> list[str]:
        """The registry's repositories (/v2/_catalog, `search`); [] where the registry
        does not list them (Docker Hub, most public ones)."""
        self.ping()
        scope = "registry:catalog:*"
        url = f"{self.scheme}://{self.host}/v2/_catalog?n={max(1, limit)}"
        resp = self._send("GET", url, self._auth_headers(scope))
        if resp.status_code == 401 and self._challenge and self._challenge.scheme == "bearer":
            resp = self._send("GET", url, {"Authorization": "Bearer " +
                                           self._token(scope, refresh=True)})
        if resp.status_code in (401, 403, 404):
            return []
        if resp.status_code != 200:
            raise self._fail(resp, "listing the repositories", "")
        repos = _json_object(resp.content[:CONFIG_MAX]).get("repositories") or []
        return [str(r) for r in repos if isinstance(r, str)]

    def tags(self, repository: str) -> list[str]:
        """The repository's tags (/v2/<name>/tags/list)."""
        resp = self.request("GET", repository, "tags/list")
        if resp.status_code != 200:
            raise self._fail(resp, "listing the tags", repository)
        tags = _json_object(resp.content[:CONFIG_MAX]).get("tags") or []
        return [str(t) for t in tags if isinstance(t, str)]

    def check_login(self) -> None:
        """Prove the credentials to the registry (`login`): AuthenticationError if refused."""
        self.ping()
        ch = self._challenge
        if ch is None:
            return  # the registry asks for no authentication at all
        if ch.scheme == "bearer":
            realm = ch.params.get("realm", "")
            if realm and self._withheld(realm):
                # an anonymous token would prove nothing about the password
                raise self._untrusted_realm(realm, "so it cannot check them")
            self._fetch_token("")
            return
        resp = self._send("GET", f"{self.scheme}://{self.host}/v2/", self._auth_headers(""))
        with closing(resp):
            if resp.status_code in (401, 403):
                raise AuthenticationError(
                    f"logging into {self.registry!r}: invalid username/password",
                    hint="check the user name and password")
            if resp.status_code >= 400:
                raise RegistryError(f"logging into {self.registry!r}: {_error_text(resp)}")

    def _fail(self, resp: httpx.Response, what: str, repository: str) -> RegistryError:
        text = _error_text(resp)
        if resp.status_code == 401:
            return AuthenticationError(
                f"{what}: authentication required ({text})",
                hint=f"log in with `pdman login {self.registry}` or pass --creds USER:PASS")
        if resp.status_code == 403:
            return AuthenticationError(f"{what}: access denied ({text})",
                                       hint=f"check that your account may read {repository}")
        return RegistryError(f"{what}: {text} (HTTP {resp.status_code})")

    # -- manifests and blobs ---------------------------------------------------------

    def get_manifest(self, repository: str, reference: str,
                     accept: tuple[str, ...]) -> tuple[bytes, str, str]:
        """(raw bytes, Content-Type, digest) of a manifest by tag or digest."""
        where = f"{self.registry}/{repository}"
        resp = self.request("GET", repository, f"manifests/{reference}",
                            headers={"Accept": ", ".join(accept)}, stream=True)
        with closing(resp):
            if resp.status_code == 404:
                raise ImageNotFound(
                    f"reading manifest {reference} in {where}: manifest unknown",
                    hint="check the name and tag (the registry has no such image)")
            if resp.status_code >= 400:
                raise self._fail(resp, f"reading manifest {reference} in {where}", repository)
            raw = self._read_capped(resp, MANIFEST_MAX, f"manifest {reference} in {where}")
            content_type = resp.headers.get("content-type", "")
        algorithm = "sha512" if reference.startswith("sha512:") else "sha256"
        digest = f"{algorithm}:{hashlib.new(algorithm, raw).hexdigest()}"
        if reference.startswith(("sha256:", "sha512:")) and digest != reference:
            raise DigestMismatchError(
                f"manifest {reference} from {where} does not match its digest: got {digest}",
                hint="the registry or something between us and it altered the manifest")
        return raw, content_type, digest

    def _read_capped(self, resp: httpx.Response, cap: int, what: str) -> bytes:
        chunks, size = [], 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise RegistryError(f"{what} is larger than {cap} bytes",
                                    hint="the registry served something else")
            chunks.append(chunk)
        return b"".join(chunks)

    def get_blob(self, repository: str, desc: Descriptor, cap: int = CONFIG_MAX) -> bytes:
        """A small blob (a config) in memory, verified."""
        if desc.size > cap:
            raise RegistryError(f"blob {desc.digest} in {self.registry}/{repository} is "
                                f"{desc.size} bytes, more than the {cap} allowed here")
        parts: list[bytes] = []
        self.fetch_blob(repository, desc, parts.append)
        return b"".join(parts)

    def fetch_blob(self, repository: str, desc: Descriptor, sink: Callable[[bytes], Any],
                   cancelled: threading.Event | None = None) -> None:
        """Stream a blob into `sink`, verifying size and digest as it goes.

        A connection that breaks off is resumed (Range) up to `retries` times. On a
        mismatch the caller must discard what `sink` received: the exception comes
        after the last chunk.
        """
        where = f"{self.registry}/{repository}"
        algorithm, _, expected = desc.digest.partition(":")
        h = hashlib.new(algorithm)
        received = 0
        failures = 0
        while True:
            headers = {"Range": f"bytes={received}-"} if received else {}
            resp = self.request("GET", repository, f"blobs/{desc.digest}", headers=headers,
                                stream=True)
            try:
                if resp.status_code == 404:
                    raise RegistryError(f"fetching blob {desc.digest} from {where}: blob unknown",
                                        hint="the registry lost a blob its manifest names")
                if resp.status_code >= 400:
                    raise self._fail(resp, f"fetching blob {desc.digest} from {where}",
                                     repository)
                skip = received if resp.status_code != 206 else 0
                for chunk in resp.iter_bytes():
                    if cancelled is not None and cancelled.is_set():
                        raise Cancelled(desc.digest)
                    if skip:
                        if len(chunk) <= skip:
                            skip -= len(chunk)
                            continue
                        chunk, skip = chunk[skip:], 0
                    received += len(chunk)
                    if received > desc.size:
                        raise DigestMismatchError(
                            f"blob {desc.digest} from {where} is larger than the {desc.size} "
                            "bytes its descriptor says; discarded",
                            hint="the registry or something between us and it served "
                                 "other content")
                    h.update(chunk)
                    sink(chunk)
                break
            except httpx.TransportError as exc:
                failures += 1
                if failures >= self.retries:
                    raise RegistryError(
                        f"fetching blob {desc.digest} from {where}: {exc} (after "
                        f"{failures} attempts)", hint="check the connection and retry") from exc
                self.sleep(self.backoff * 2 ** (failures - 1))
            finally:
                resp.close()
        if received != desc.size:
            raise DigestMismatchError(
                f"blob {desc.digest} from {where} is {received} bytes, its descriptor says "
                f"{desc.size}; discarded",
                hint="the registry or something between us and it served other content")
        got = h.hexdigest()
        if got != expected:
            raise DigestMismatchError(
                f"blob {desc.digest} from {where} does not match its digest (got "
                f"{algorithm}:{got}); discarded, nothing stored",
                hint="the registry or something between us and it altered the content")

    # -- uploads (push) --------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        """HEAD the blob: a push skips what the registry has."""
        resp = self.request("HEAD", repository, f"blobs/{digest}", actions="pull,push")
        with closing(resp):
            if resp.status_code == 200:
                return True
            if resp.status_code == 404:
                return False
            raise self._fail(resp, f"checking blob {digest} in {self.registry}/{repository}",
                             repository)

    def upload_blob(self, repository: str, digest: str, size: int,
                    body: Callable[[], Iterator[bytes]]) -> None:
        """POST an upload session, then PUT the whole blob to its location with
        `?digest=` (a monolithic upload: one round trip for the bytes)."""
        where = f"{self.registry}/{repository}"
        resp = self.request("POST", repository, "blobs/uploads/", actions="pull,push",
                            headers={"Content-Length": "0"})
        with closing(resp):
            if resp.status_code == 201:
                return  # the registry mounted or already had it
            if resp.status_code != 202:
                raise self._fail(resp, f"starting the upload of {digest} to {where}",
                                 repository)
            location = resp.headers.get("location", "")
        if not location:
            raise RegistryError(f"{where} started an upload without a Location header")
        url = httpx.URL(f"{self.scheme}://{self.host}/v2/").join(location)
        url = url.copy_merge_params({"digest": digest})
        resp = self.request("PUT", repository, "", actions="pull,push", url=str(url),
                            content=body, headers={"Content-Length": str(size),
                                                   "Content-Type": "application/octet-stream"})
        with closing(resp):
            if resp.status_code not in (201, 204):
                raise self._fail(resp, f"uploading blob {digest} to {where}", repository)

    def put_manifest(self, repository: str, reference: str, raw: bytes,
                     media_type: str) -> str:
        """PUT the manifest under a tag (or digest); returns its digest."""
        where = f"{self.registry}/{repository}:{reference}"
        resp = self.request("PUT", repository, f"manifests/{reference}", actions="pull,push",
                            content=raw, headers={"Content-Type": media_type})
        with closing(resp):
            if resp.status_code not in (200, 201, 202):
                raise self._fail(resp, f"writing manifest to {where}", repository)
        return "sha256:" + hashlib.sha256(raw).hexdigest()


__all__ = ["Body", "Cancelled", "Challenge", "RegistryClient", "is_loopback",
           "parse_challenge"]


def _json_object(data: bytes) -> "dict[str, Any]":
    import json

    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
