"""Image references with the docker grammar (distribution/reference).

    nginx                          -> docker.io/library/nginx:latest
    127.0.0.1:5000/busybox:1.36    -> as written
    localhost/x                    -> localhost/x:latest
    busybox@sha256:<64 hex>        -> docker.io/library/busybox@sha256:...

`parse()` checks the grammar and keeps a short name short (`domain == ""`): which
registry a short name means is decided by `registries.conf` (see
`registries_conf.py`), or for local lookups by what the catalog holds.
Stdlib only: `run` parses its image argument on the hot path.
"""

from __future__ import annotations

import re

from pdman.errors import ReferenceFormatError

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_PATH = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
                     r"(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
_HEX = {"sha256": 64, "sha512": 128}


class Reference:
    """A parsed reference. `domain` is "" for a short name not yet resolved.

    A plain slotted class: `run` parses its image argument on the hot path, where
    importing dataclasses would cost more than the parsing."""

    __slots__ = ("domain", "path", "tag", "digest")

    def __init__(self, domain: str, path: str, tag: str = "", digest: str = "") -> None:
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest

    def _key(self) -> tuple[str, str, str, str]:
        return (self.domain, self.path, self.tag, self.digest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reference) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Reference({str(self)!r})"

    @property
    def name(self) -> str:
        """`domain/path` (the repository as the catalog and registries name it)."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def is_short(self) -> bool:
        return not self.domain

    def with_tag(self, tag: str) -> "Reference":
        return Reference(self.domain, self.path, tag, "")

    def with_domain(self, domain: str) -> "Reference":
        """Qualify a short name; docker.io's single-component names get `library/`."""
        path = self.path
        if domain == DEFAULT_DOMAIN and "/" not in path:
            path = OFFICIAL_PREFIX + path
        return Reference(domain, path, self.tag, self.digest)

    def tagged_or_latest(self) -> "Reference":
        """What a pull of this reference stores: `:latest` when neither tag nor digest."""
        if self.tag or self.digest:
            return self
        return Reference(self.domain, self.path, DEFAULT_TAG, self.digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text


def _fail(text: str, why: str) -> ReferenceFormatError:
    return ReferenceFormatError(
        f"invalid reference format {text!r}: {why}",
        hint="references look like NAME[:TAG][@DIGEST], e.g. nginx, "
             "registry.example.com:5000/team/app:1.2 (repository names are lowercase)")


def _split_domain(name: str) -> tuple[str, str]:
    """docker's splitDockerDomain rule: the first component is a registry when it has
    a `.` or `:`, is `localhost`, or has upper-case letters."""
    first, slash, rest = name.partition("/")
    if not slash:
        return "", name
    if "." in first or ":" in first or first == "localhost" or first.lower() != first:
        return first, rest
    return "", name


def check_digest(digest: str, what: str = "digest") -> str:
    """Validate `algorithm:hex` (the algorithms pdman can verify); returns it."""
    algorithm, colon, hexpart = digest.partition(":")
    want = _HEX.get(algorithm)
    if not colon or want is None or len(hexpart) != want or \
            any(c not in "0123456789abcdef" for c in hexpart):
        raise _fail(digest, f"{what} must be sha256:<64 lower-case hex> (or sha512)")
    return digest


def parse(text: str) -> Reference:
    """Parse a reference; short names stay short (`domain == ""`)."""
    if not text:
        raise _fail(text, "empty reference")
    rest, at, digest = text.partition("@")
    if at:
        if not _DIGEST.fullmatch(digest):
            raise _fail(text, "malformed digest")
        try:
            check_digest(digest)
        except ReferenceFormatError:
            raise _fail(text, "the digest must be sha256:<64 lower-case hex> (or sha512)") \
                from None
    tag = ""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise _fail(text, f"invalid tag {tag!r}")
    if len(rest) > NAME_MAX:
        raise _fail(text, f"repository name longer than {NAME_MAX} characters")
    domain, path = _split_domain(rest)
    if domain and not _DOMAIN.fullmatch(domain):
        raise _fail(text, f"invalid registry name {domain!r}")
    if not _PATH.fullmatch(path):
        if _PATH.fullmatch(path.lower()):
            raise _fail(text, "repository name must be lowercase")
        raise _fail(text, "invalid repository name")
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_PREFIX + path
    return Reference(domain, path, tag, digest)


def normalize(text: str, default_domain: str = DEFAULT_DOMAIN) -> Reference:
    """docker's ParseNormalizedNamed + TagNameOnly: qualified, and tagged `latest`
    unless a tag or digest is given."""
    ref = parse(text)
    if ref.is_short:
        ref = ref.with_domain(default_domain)
    return ref.tagged_or_latest()


def looks_like_id(text: str) -> bool:
    """A (possibly `sha256:`-prefixed) hex ID or prefix of at least 3 characters."""
    hexpart = text.removeprefix("sha256:")
    return 3 <= len(hexpart) <= 64 and all(c in "0123456789abcdef" for c in hexpart)


def target_name(image: str) -> list[str]:
    """The name `commit`, `import` and `build -t` give an image: a short name is
    localhost/NAME, as podman's; no digest. [] for no name."""
    if not image:
        return []
    from pdman.errors import UsageError

    ref = parse(image)
    if ref.digest:
        raise UsageError(f"{image!r}: an image name cannot contain a digest",
                         hint="name it NAME[:TAG]")
    if ref.is_short:
        ref = Reference("localhost", ref.path, ref.tag)
    return [str(ref.tagged_or_latest())]


__all__ = ["DEFAULT_DOMAIN", "DEFAULT_TAG", "Reference", "check_digest", "looks_like_id", "target_name",
           "normalize", "parse"]
