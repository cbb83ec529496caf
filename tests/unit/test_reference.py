"""Image references: docker's grammar and normalisation."""

from __future__ import annotations

import pytest

from pdman.errors import ReferenceFormatError
from pdman.image.reference import looks_like_id, normalize, parse

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("text", "full"), [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:1.25", "docker.io/library/nginx:1.25"),
    ("library/nginx", "docker.io/library/nginx:latest"),
    ("user/app", "docker.io/user/app:latest"),
    ("docker.io/nginx", "docker.io/library/nginx:latest"),
    ("index.docker.io/nginx", "docker.io/library/nginx:latest"),
    ("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest"),
    ("127.0.0.1:5000/busybox:1.36", "127.0.0.1:5000/busybox:1.36"),
    ("localhost/x", "localhost/x:latest"),
    ("localhost:5000/a/b/c:v1.0_rc-2", "localhost:5000/a/b/c:v1.0_rc-2"),
    ("quay.io/podman/hello", "quay.io/podman/hello:latest"),
    (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
    (f"reg.io/a:tag@{DIGEST}", f"reg.io/a:tag@{DIGEST}"),
    ("a__b/c--d", "docker.io/a__b/c--d:latest"),
    ("[::1]:5000/x", "[::1]:5000/x:latest"),
])
def test_normalize(text: str, full: str) -> None:
    assert str(normalize(text)) == full


def test_short_names_stay_short() -> None:
    ref = parse("nginx:1.25")
    assert ref.is_short and ref.path == "nginx" and ref.tag == "1.25"
    assert str(ref.with_domain("quay.io")) == "quay.io/nginx:1.25"
    assert str(ref.with_domain("docker.io")) == "docker.io/library/nginx:1.25"


def test_uppercase_first_component_is_a_registry() -> None:
    assert parse("Registry/app").domain == "Registry"


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty"),
    ("Nginx", "lowercase"),
    ("docker.io/Library/nginx", "lowercase"),
    ("nginx:", "tag"),
    ("nginx:-bad", "tag"),
    ("nginx@sha256:abc", "digest"),
    ("nginx@md5:" + "a" * 32, "digest"),
    ("nginx@sha256:" + "A" * 64, "digest"),
    ("a//b", "invalid repository"),
    ("-a/b", "invalid"),
    ("a/b_", "invalid repository"),
    ("reg:port/x", "invalid"),
    ("x" * 256, "longer"),
])
def test_invalid_references_name_the_reference(text: str, why: str) -> None:
    with pytest.raises(ReferenceFormatError) as e:
        parse(text)
    assert repr(text) in e.value.message
    assert why in e.value.message
    assert e.value.hint


def test_looks_like_id() -> None:
    assert looks_like_id("abc")
    assert looks_like_id("sha256:" + "a" * 64)
    assert not looks_like_id("ab")
    assert not looks_like_id("nginx")
    assert not looks_like_id("a" * 65)
