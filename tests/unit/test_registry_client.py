"""The registry client over httpx.MockTransport: auth flows, retries, verification."""

from __future__ import annotations

import random

import pytest

from fake_registry import FakeRegistry, simple_layer
from pdman.errors import AuthenticationError, DigestMismatchError, ImageNotFound, RegistryError
from pdman.image import manifest
from pdman.image.auth import Credentials
from pdman.image.manifest import Descriptor
from pdman.image.registry import RegistryClient, parse_challenge

LAYER = simple_layer({"etc/noise": random.Random(1).randbytes(50_000)})


def client(reg: FakeRegistry, **kw: object) -> RegistryClient:
    sleeps: list[float] = []
    c = RegistryClient("reg.test", transport=reg.transport(), sleep=sleeps.append, **kw)  # type: ignore[arg-type]
    c.sleeps = sleeps  # type: ignore[attr-defined]
    return c


def layer_desc(reg: FakeRegistry) -> Descriptor:
    info = reg.put_blob(LAYER)
    return Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", info["digest"], info["size"])


def fetch(c: RegistryClient, desc: Descriptor) -> bytes:
    parts: list[bytes] = []
    c.fetch_blob("app", desc, parts.append)
    return b"".join(parts)


def test_parse_challenge() -> None:
    ch = parse_challenge('Bearer realm="https://a/token",service="reg",scope="repository:x:pull,push"')
    assert ch is not None and ch.scheme == "bearer"
    assert ch.params == {"realm": "https://a/token", "service": "reg",
                         "scope": "repository:x:pull,push"}
    assert parse_challenge('Basic realm="x"').scheme == "basic"  # type: ignore[union-attr]


def test_anonymous_bearer_token_is_fetched_once_per_scope_and_reused() -> None:
    reg = FakeRegistry(bearer=True)
    desc = reg.push_image("app", "latest", [LAYER])
    c = client(reg)
    raw, ctype, digest = c.get_manifest("app", "latest", manifest.ACCEPT)
    assert digest == desc["digest"] and ctype == manifest.OCI_MANIFEST
    c.get_manifest("app", desc["digest"], manifest.ACCEPT)
    assert reg.tokens_issued == 1
    token_req = [r for r in reg.requests if r.url.host == "auth.reg.test"][0]
    assert token_req.url.params["scope"] == "repository:app:pull"
    assert token_req.url.params["service"] == "reg.test"
    assert "authorization" not in token_req.headers


def test_bearer_with_credentials_and_refused_credentials() -> None:
    reg = FakeRegistry(bearer=True, users={"u": "p"})
    reg.push_image("app", "latest", [LAYER])
    c = client(reg, credentials=Credentials("u", "p"))
    c.get_manifest("app", "latest", manifest.ACCEPT)
    token_req = [r for r in reg.requests if r.url.host == "auth.reg.test"][0]
    assert token_req.headers["authorization"].startswith("Basic ")
    with pytest.raises(AuthenticationError, match="bad credentials"):
        client(reg, credentials=Credentials("u", "wrong")).get_manifest(
            "app", "latest", manifest.ACCEPT)
    with pytest.raises(AuthenticationError, match="login required"):
        client(reg).get_manifest("app", "latest", manifest.ACCEPT)


def test_expired_token_is_refreshed_on_401() -> None:
    reg = FakeRegistry(bearer=True)
    reg.push_image("app", "latest", [LAYER])
    c = client(reg)
    c.get_manifest("app", "latest", manifest.ACCEPT)
    c._tokens = {k: ("stale", v[1]) for k, v in c._tokens.items()}  # registry forgot it
    c.get_manifest("app", "latest", manifest.ACCEPT)
    assert reg.tokens_issued == 2


def test_basic_auth() -> None:
    reg = FakeRegistry(basic=True, users={"u": "p"})
    reg.push_image("app", "latest", [LAYER])
    client(reg, credentials=Credentials("u", "p")).get_manifest("app", "latest", manifest.ACCEPT)
    with pytest.raises(AuthenticationError) as e:
        client(reg).get_manifest("app", "latest", manifest.ACCEPT)
    assert "pdman login reg.test" in (e.value.hint or "")


def test_missing_manifest_is_image_not_found() -> None:
    with pytest.raises(ImageNotFound, match="manifest unknown"):
        client(FakeRegistry()).get_manifest("app", "nope", manifest.ACCEPT)


def test_manifest_by_digest_is_verified() -> None:
    reg = FakeRegistry()
    desc = reg.push_image("app", "latest", [LAYER])
    raw, mt = reg.manifests[("app", desc["digest"])]
    reg.manifests[("app", desc["digest"])] = (raw + b" ", mt)
    with pytest.raises(DigestMismatchError, match=desc["digest"]):
        client(reg).get_manifest("app", desc["digest"], manifest.ACCEPT)


def test_retries_5xx_and_connection_errors_with_backoff() -> None:
    reg = FakeRegistry()
    desc = layer_desc(reg)
    reg.fail_connect = 1
    reg.fail_5xx[desc.digest] = 2
    c = client(reg)
    assert fetch(c, desc) == LAYER
    assert c.sleeps == [0.25, 0.25, 0.5]  # type: ignore[attr-defined]


def test_gives_up_after_the_retries() -> None:
    reg = FakeRegistry()
    desc = layer_desc(reg)
    reg.fail_5xx[desc.digest] = 10
    with pytest.raises(RegistryError, match="503|try later"):
        fetch(client(reg), desc)


def test_broken_download_resumes_with_range() -> None:
    reg = FakeRegistry()
    desc = layer_desc(reg)
    reg.break_stream[desc.digest] = 8192
    assert fetch(client(reg), desc) == LAYER
    ranged = [r for r in reg.requests if r.headers.get("range")]
    assert ranged and ranged[0].headers["range"] == "bytes=8192-"


def test_resume_against_a_server_without_range_skips_what_it_had() -> None:
    reg = FakeRegistry()
    reg.no_range = True
    desc = layer_desc(reg)
    reg.break_stream[desc.digest] = 8192
    assert fetch(client(reg), desc) == LAYER


def test_corrupt_blob_names_the_digest_after_streaming() -> None:
    reg = FakeRegistry()
    desc = layer_desc(reg)
    reg.corrupt.add(desc.digest)
    with pytest.raises(DigestMismatchError) as e:
        fetch(client(reg), desc)
    assert desc.digest in e.value.message and "does not match" in e.value.message


def test_size_is_checked_both_ways() -> None:
    reg = FakeRegistry()
    desc = layer_desc(reg)
    short = Descriptor(desc.media_type, desc.digest, desc.size - 1)
    with pytest.raises(DigestMismatchError, match="larger than"):
        fetch(client(reg), short)
    longer = Descriptor(desc.media_type, desc.digest, desc.size + 1)
    with pytest.raises(DigestMismatchError, match="descriptor says"):
        fetch(client(reg), longer)


def test_insecure_registry_falls_back_to_http() -> None:
    reg = FakeRegistry()
    reg.push_image("app", "latest", [LAYER])
    inner = reg.transport()
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "https":
            raise httpx.ConnectError("server gave HTTP response to HTTPS client")
        return inner.handle_request(request)

    c = RegistryClient("reg.test", insecure=True, transport=httpx.MockTransport(handler),
                       sleep=lambda s: None)
    c.get_manifest("app", "latest", manifest.ACCEPT)
    assert c.scheme == "http"
    secure = RegistryClient("reg.test", transport=httpx.MockTransport(handler),
                            sleep=lambda s: None)
    with pytest.raises(RegistryError) as e:
        secure.get_manifest("app", "latest", manifest.ACCEPT)
    assert "tls-verify=false" in (e.value.hint or "")


def test_blob_redirects_are_followed_without_credentials() -> None:
    reg = FakeRegistry(bearer=True)
    reg.redirect_blobs = True
    desc = layer_desc(reg)
    assert fetch(client(reg), desc) == LAYER
    assert any(r.url.host == "storage.test" for r in reg.requests)
