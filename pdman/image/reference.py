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

from pdman.errors import ReferenceFormatError

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_MAX = 255

# The grammar's four patterns, matched by hand rather than with `re` (whose import,
# with `enum`, is ~2.5 ms of every `run`); tests/unit/test_reference_grammar.py holds
# the regular expressions they equal:
#   path    [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*  components joined by "/"
#   domain  (?:C(?:\.C)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?
#           with C = [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
#   tag     [\w][\w.-]{0,127}
#   digest  [a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_ALNUM = _LOWER_ALNUM | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_DIGITS = frozenset("0123456789")
_ENCODED = _ALNUM | frozenset("=_-")


def _is_path_component(comp: str) -> bool:
    if not comp or comp[0] not in _LOWER_ALNUM or comp[-1] not in _LOWER_ALNUM:
        return False
    i, n = 0, len(comp)
    while i < n:
        if comp[i] in _LOWER_ALNUM:
            i += 1
            continue
        j = i
        while comp[j] not in _LOWER_ALNUM:  # ends: the last character is alphanumeric
            j += 1
        sep = comp[i:j]
        if sep not in (".", "_", "__") and sep.strip("-"):
            return False
        i = j
    return True


def _is_path(text: str) -> bool:
    return all(_is_path_component(c) for c in text.split("/"))


def _is_domain_component(comp: str) -> bool:
    return bool(comp) and comp[0] in _ALNUM and comp[-1] in _ALNUM and \
        all(c in _ALNUM or c == "-" for c in comp)


def _is_domain(text: str) -> bool:
    if text.startswith("["):
        close = text.find("]")
        if close < 2 or any(c not in _HEX_COLON for c in text[1:close]):
            return False
        port = text[close + 1:]
    else:
        host, colon, port = text.partition(":")
        port = colon + port
        if not all(_is_domain_component(c) for c in host.split(".")):
            return False
    return not port or (port[0] == ":" and len(port) > 1 and
                        all(c in _DIGITS for c in port[1:]))


def _is_tag(text: str) -> bool:
    return 0 < len(text) <= 128 and (text[0].isalnum() or text[0] == "_") and \
        all(c.isalnum() or c in "_.-" for c in text)


def _is_digest(text: str) -> bool:
    algorithm, colon, encoded = text.partition(":")
    if not colon or len(encoded) < 32 or any(c not in _ENCODED for c in encoded):
        return False
    if not algorithm or algorithm[0] not in _LOWER_ALNUM or \
            algorithm[-1] not in _LOWER_ALNUM:
        return False
    previous_sep = False
    for c in algorithm:
        if c in _LOWER_ALNUM:
            previous_sep = False
        elif c in ".+_-" and not previous_sep:
            previous_sep = True
        else:
            return False
    return True


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
        if not _is_digest(digest):
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
        if not _is_tag(tag):
            raise _fail(text, f"invalid tag {tag!r}")
    if len(rest) > NAME_MAX:
        raise _fail(text, f"repository name longer than {NAME_MAX} characters")
    domain, path = _split_domain(rest)
    if domain and not _is_domain(domain):
        raise _fail(text, f"invalid registry name {domain!r}")
    if not _is_path(path):
        if _is_path(path.lower()):
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
