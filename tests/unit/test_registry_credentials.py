"""Class 8 of issue #12, the client's half: where a registry's credentials may go.
Over httpx.MockTransport (tests/security/test_registry_trust.py does it over real
sockets): a token realm on another host, or over plain http, never receives the
user's password unless the registry is configured insecure; a redirect never
carries the Authorization header to another host."""

from __future__ import annotations

import random

import pytest

from fake_registry import FakeRegistry, simple_layer
from pdman.errors import AuthenticationError
from pdman.image import manifest
from pdman.image.auth import Credentials
from pdman.image.manifest import Descriptor
from pdman.image.registry import RegistryClient, realm_trusted

LAYER = simple_layer({"etc/noise": random.Random(2).randbytes(20_000)})
CREDS = Credentials("u", "secret-pw")


def token_requests(reg: FakeRegistry, host: str) -> list[str]:
    """The Authorization header of each request to `host` ("" for none)."""
    return [r.headers.get("authorization", "") for r in reg.requests if r.url.host == host]


@pytest.mark.parametrize("registry, realm", [
    ("registry-1.docker.io", "https://auth.docker.io/token"),   # Docker Hub must keep working
    ("registry.gitlab.com", "https://gitlab.com/jwt/auth"),
    ("ghcr.io", "https://ghcr.io/token"),
    ("quay.io", "https://quay.io/v2/auth"),
    ("reg.test", "https://auth.reg.test/token"),
    ("127.0.0.1:5000", "https://127.0.0.1:5001/token"),          # same host, other port
])
def test_trusted_realms(registry: str, realm: str) -> None:
    assert realm_trusted(registry, realm)


@pytest.mark.parametrize("registry, realm", [
    ("reg.test", "https://auth.test/token"),              # a sibling: another owner
    ("registry-1.docker.io", "http://auth.docker.io/token"),   # plain http
    ("registry-1.docker.io", "https://evil.io/token"),
    ("quay.io", "https://evil.io/token"),                 # never "any .io"
    ("registry.example.co.uk", "https://evil.co.uk/t"),   # co.uk is a public suffix
    ("127.0.0.1:5000", "https://127.0.0.2:5000/token"),   # another address
    ("reg.test", "https://reg.test.evil.io/token"),
    ("reg.test", "not a url"),
])
def test_untrusted_realms(registry: str, realm: str) -> None:
    assert not realm_trusted(registry, realm)


def test_credentials_never_reach_a_realm_on_another_host() -> None:
    reg = FakeRegistry(bearer=True, realm="https://tokens.elsewhere.test/token")
    desc = reg.push_image("app", "latest", [LAYER])
    c = RegistryClient("reg.test", credentials=CREDS, transport=reg.transport())
    # the foreign realm gives anonymous tokens: the pull works, without the password
    _, _, digest = c.get_manifest("app", "latest", manifest.ACCEPT)
    assert digest == desc["digest"]
    assert token_requests(reg, "tokens.elsewhere.test") == [""]


def test_a_foreign_realm_that_wants_the_password_is_a_clear_error() -> None:
    reg = FakeRegistry(bearer=True, users={"u": "secret-pw"},
                       realm="https://tokens.elsewhere.test/token")
    reg.push_image("app", "latest", [LAYER])
    c = RegistryClient("reg.test", credentials=CREDS, transport=reg.transport())
    with pytest.raises(AuthenticationError) as err:
        c.get_manifest("app", "latest", manifest.ACCEPT)
    assert "reg.test" in err.value.message
    assert "https://tokens.elsewhere.test/token" in err.value.message
    assert "insecure = true" in (err.value.hint or "")
    assert token_requests(reg, "tokens.elsewhere.test") == [""]


def test_plain_http_realm_gets_no_password() -> None:
    reg = FakeRegistry(bearer=True, realm="http://auth.reg.test/token")
    reg.push_image("app", "latest", [LAYER])
    c = RegistryClient("reg.test", credentials=CREDS, transport=reg.transport())
    c.get_manifest("app", "latest", manifest.ACCEPT)
    assert token_requests(reg, "auth.reg.test") == [""]


def test_an_insecure_registry_trusts_its_realm() -> None:
    reg = FakeRegistry(bearer=True, users={"u": "secret-pw"},
                       realm="http://tokens.elsewhere.test/token")
    reg.push_image("app", "latest", [LAYER])
    c = RegistryClient("reg.test", credentials=CREDS, insecure=True, transport=reg.transport())
    c.get_manifest("app", "latest", manifest.ACCEPT)
    (sent,) = token_requests(reg, "tokens.elsewhere.test")
    assert sent.startswith("Basic ")


def test_the_registrys_own_realm_gets_the_credentials() -> None:
    reg = FakeRegistry(bearer=True, users={"u": "secret-pw"})
    reg.push_image("app", "latest", [LAYER])
    c = RegistryClient("reg.test", credentials=CREDS, transport=reg.transport())
    c.get_manifest("app", "latest", manifest.ACCEPT)
    (sent,) = token_requests(reg, "auth.reg.test")
    assert sent.startswith("Basic ")


@pytest.mark.parametrize("kind", ["bearer", "basic"])
def test_a_blob_redirect_to_another_host_carries_no_authorization(kind: str) -> None:
    reg = FakeRegistry(bearer=kind == "bearer", basic=kind == "basic",
                       users={"u": "secret-pw"})
    info = reg.put_blob(LAYER)
    reg.redirect_blobs = True
    c = RegistryClient("reg.test", credentials=CREDS, transport=reg.transport())
    parts: list[bytes] = []
    c.fetch_blob("app", Descriptor("application/vnd.oci.image.layer.v1.tar+gzip",
                                   info["digest"], info["size"]), parts.append)
    assert b"".join(parts) == LAYER
    assert token_requests(reg, "storage.test") == [""]
    # ... while the registry itself did get it
    assert any(r.headers.get("authorization") for r in reg.requests if r.url.host == "reg.test")


def test_login_does_not_pretend_with_a_foreign_realm() -> None:
    """An anonymous token proves nothing about the password: `login` says why it
    cannot check the credentials instead of reporting success."""
    reg = FakeRegistry(bearer=True, realm="https://tokens.elsewhere.test/token")
    c = RegistryClient("reg.test", credentials=CREDS, transport=reg.transport())
    with pytest.raises(AuthenticationError) as err:
        c.check_login()
    assert "cannot check" in err.value.message and "tokens.elsewhere.test" in err.value.message
    assert token_requests(reg, "tokens.elsewhere.test") == []
