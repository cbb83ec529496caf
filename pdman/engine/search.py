"""`search`: repositories of registries whose name contains a term, as podman 4.3
searches a v2 registry (its /v2/_catalog; a registry that does not list its
repositories gives none), and `--list-tags`: the tags of one repository."""

from __future__ import annotations

from pdman.errors import UsageError
from pdman.record import Record


class SearchOptions(Record):
    _required = ("term",)

    term: str
    limit: int = 0              # 0: podman's default, 25
    filters: "tuple[str, ...]" = ()
    list_tags: bool = False
    tls_verify: "bool | None" = None
    authfile: str = ""


class SearchResult(Record):
    _required = ("Index", "Name")

    Index: str
    Name: str
    Description: str = ""
    Stars: int = 0
    Official: str = ""
    Automated: str = ""
    Tag: str = ""


def _split(term: str) -> "tuple[list[str], str]":
    """The registries to ask and the term within them: `reg.io/name` asks reg.io only,
    a bare `name` the unqualified-search registries of registries.conf."""
    from pdman.image import registries_conf

    first, sep, rest = term.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return [first], rest
    return list(registries_conf.load().search), term


def _filters(items: "tuple[str, ...]") -> "dict[str, str]":
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        if key not in ("stars", "is-official", "is-automated"):
            raise UsageError(f"invalid filter type {key!r}",
                             hint="use stars=N, is-official or is-automated")
        if key == "stars" and not value.isdigit():
            raise UsageError(f"non-integer value for stars filter: {value!r}")
        out[key] = value or "true"
    return out


def _kept(filters: "dict[str, str]") -> bool:
    """A v2 registry's repositories have no stars and are neither official nor
    automated (Docker Hub's notions): what the filters then keep."""
    if int(filters.get("stars", "0") or 0) > 0:
        return False
    return all(filters.get(k, "false").lower() == "false" for k in ("is-official", "is-automated"))


def search(options: SearchOptions, transport: object = None) -> "list[SearchResult]":
    from pdman.image import auth, registries_conf
    from pdman.image.registry import RegistryClient

    registries, term = _split(options.term)
    if not registries:
        raise UsageError("no registries to search",
                         hint="name one (pdman search REGISTRY/TERM), or add "
                              "`unqualified-search-registries` to registries.conf")
    filters = _filters(options.filters)
    limit = options.limit if options.limit > 0 else 25
    conf = registries_conf.load()
    out: list[SearchResult] = []
    for registry in registries:
        insecure = conf.is_insecure(registry) or options.tls_verify is False
        creds = auth.lookup(registry, "", options.authfile or None)
        with RegistryClient(registry, insecure=insecure, credentials=creds,
                            transport=transport) as client:  # type: ignore[arg-type]
            if options.list_tags:
                if not term or term.endswith("/"):
                    raise UsageError("--list-tags needs an image: REGISTRY/NAME")
                name = term.partition(":")[0]
                tags = client.tags(name)
                out += [SearchResult(Index=registry, Name=f"{registry}/{name}", Tag=t)
                        for t in tags[:limit]]
                continue
            if not _kept(filters):
                continue
            found = [r for r in client.catalog() if term.rstrip("/") in r][:limit]
            out += [SearchResult(Index=registry, Name=f"{registry}/{r}") for r in found]
    return out


__all__ = ["SearchOptions", "SearchResult", "search"]
