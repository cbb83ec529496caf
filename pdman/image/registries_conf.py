"""registries.conf: where short names are searched, aliases, and per-registry settings.

Reads the containers/image format (v2) and the keys of the old v1 format, from the
first file of `config.registries_conf_paths()` that exists (the user's wins over the
system's, as in podman), plus the drop-ins of its `registries.conf.d/` beside it:

    unqualified-search-registries = ["docker.io"]
    [aliases]
    "fedora" = "registry.fedoraproject.org/fedora"
    [[registry]]
    location = "127.0.0.1:5000"
    insecure = true                  # plain HTTP / no TLS verification
    # prefix = "example.com/foo"     # which names this entry applies to (default: location)
    # blocked = true
    # [[registry.mirror]]  location = "mirror.example.com"  insecure = false

Without any file, short names resolve to docker.io, docker's rule.

Short names and `short-name-mode` (containers-registries.conf(5)): an alias wins
(the machine-written alias cache, $XDG_CONFIG_HOME/containers/short-name-aliases.conf
as podman's code has it, over the registries.conf files); a single search registry
is used as it is; with several, the mode decides:

    enforcing   (pdman's default, as podman's shipped registries.conf) the user
                picks one at a prompt when stdin and stdout are terminals -- the
                choice is recorded in the alias cache after a successful pull --
                and without a terminal the pull fails, naming the candidates
    permissive  like enforcing, but without a terminal every registry is tried
                in order
    disabled    every registry is tried in order, no prompt

Trying registries in order hands a short name to whichever of them answers first
for it: an attacker who registers `nginx` on the first registry wins. That is why
the default refuses to guess.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

from pdman.errors import ImageNotFound, ShortNameError, UsageError
from pdman.image.reference import DEFAULT_DOMAIN, Reference, parse


@dataclass(frozen=True)
class Mirror:
    location: str
    insecure: bool = False


@dataclass(frozen=True)
class RegistrySettings:
    """One `[[registry]]` table."""

    prefix: str
    location: str
    insecure: bool = False
    blocked: bool = False
    mirrors: tuple[Mirror, ...] = ()

    def matches(self, name: str) -> bool:
        """Does this entry apply to the repository `name` (`domain/path`)?"""
        prefix = self.prefix
        if prefix.startswith("*."):
            domain = name.partition("/")[0]
            return fnmatch.fnmatchcase(domain, prefix)
        return name == prefix or name.startswith(prefix + "/")

    def rewrite(self, name: str) -> str:
        """The repository at `location` that serves `name`."""
        if self.prefix.startswith("*.") or not self.location:
            return name
        return self.location + name[len(self.prefix):]


@dataclass(frozen=True)
class Endpoint:
    """Where to fetch a repository from: registry host, repository path, TLS mode."""

    registry: str
    repository: str
    insecure: bool


@dataclass
class RegistriesConf:
    search: list[str] = field(default_factory=lambda: [DEFAULT_DOMAIN])
    aliases: dict[str, str] = field(default_factory=dict)
    registries: list[RegistrySettings] = field(default_factory=list)
    short_name_mode: str = "enforcing"
    sources: list[str] = field(default_factory=list)
    #: aliases recorded by earlier prompts: they win over `aliases`
    cached_aliases: dict[str, str] = field(default_factory=dict)
    cache_path: str = ""

    def settings_for(self, name: str) -> RegistrySettings | None:
        """The entry with the longest matching prefix, as containers/image picks."""
        best: RegistrySettings | None = None
        for r in self.registries:
            if r.matches(name) and (best is None or len(r.prefix) > len(best.prefix)):
                best = r
        return best

    def is_insecure(self, registry: str) -> bool:
        s = self.settings_for(registry)
        return bool(s and s.insecure)

    def endpoints(self, ref: Reference) -> list[Endpoint]:
        """Where to pull a qualified reference from: mirrors first, then the location."""
        s = self.settings_for(ref.name)
        if s is None:
            return [Endpoint(ref.domain, ref.path, False)]
        if s.blocked:
            raise UsageError(f"registry {ref.domain} is blocked in registries.conf "
                             f"({', '.join(self.sources) or 'no file'})",
                             hint="remove `blocked = true` from its [[registry]] table")
        out = []
        for m in s.mirrors:
            out.append(_endpoint(m.location + ref.name[len(s.prefix):]
                                 if not s.prefix.startswith("*.") else ref.name, m.insecure))
        out.append(_endpoint(s.rewrite(ref.name), s.insecure))
        return out

    def candidates(self, ref: Reference,
                   choose: "Callable[[str, list[str]], str] | None" = None) -> list[Reference]:
        """The qualified references a pull of `ref` tries, in order. `choose` (given
        when stdin and stdout are terminals) asks the user to pick one of several
        search registries: (short name, candidate names) -> the name picked."""
        if not ref.is_short:
            return [ref.tagged_or_latest()]
        alias = self.cached_aliases.get(ref.path) or self.aliases.get(ref.path)
        if alias:
            target = parse(alias)
            if target.is_short:
                raise UsageError(f"alias {ref.path!r} -> {alias!r} in registries.conf is not "
                                 "a fully qualified name",
                                 hint="aliases must name a registry, e.g. docker.io/library/x")
            return [Reference(target.domain, target.path, ref.tag or target.tag,
                              ref.digest or target.digest).tagged_or_latest()]
        if not self.search:
            raise ImageNotFound(
                f"short-name {str(ref)!r} did not resolve to an alias and no "
                "unqualified-search registries are defined in registries.conf",
                hint="use a fully qualified name (registry/repository:tag), or add "
                     "`unqualified-search-registries` to registries.conf")
        found = [ref.with_domain(domain).tagged_or_latest() for domain in self.search]
        mode = self.short_name_mode
        if len(found) == 1 or mode == "disabled":
            return found
        names = [c.name for c in found]
        if choose is not None:
            picked = choose(ref.path, names)
            return [found[names.index(picked)]]
        if mode == "permissive":
            return found
        raise ShortNameError(
            f"short name {str(ref)!r} is ambiguous: it may mean " + ", ".join(names)
            + " (short-name-mode is enforcing, and without a terminal pdman cannot ask which)",
            hint=f"use a fully qualified name (e.g. {found[0]}), add an alias "
            f'(`[aliases]` "{ref.path}" = "{names[0]}") to registries.conf, or set '
            '`short-name-mode = "permissive"` there to try the registries in order')

    def record_alias(self, short: str, name: str) -> None:
        """Remember the registry the user picked for `short` (after a successful pull),
        in the alias cache, as podman records it."""
        if not self.cache_path:
            return
        path = Path(self.cache_path)
        aliases = dict(_read_aliases(path))
        aliases[short] = name
        self.cached_aliases[short] = name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "[aliases]\n" + "".join(f"  {_toml_str(k)} = {_toml_str(v)}\n"
                                        for k, v in sorted(aliases.items()))
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)


def _toml_str(value: str) -> str:
    import json

    return json.dumps(value)       # a JSON string of these characters is a TOML basic string


def alias_cache_path() -> Path:
    """podman's (containers/image's) alias cache of a rootless user."""
    from pdman.config import config_home

    return config_home() / "containers" / "short-name-aliases.conf"


def _read_aliases(path: Path) -> dict[str, str]:
    """The `[aliases]` of the alias cache; an unreadable cache counts as empty (it
    is pdman's own, rewritten whole)."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    table = data.get("aliases")
    if not isinstance(table, dict):
        return {}
    return {str(k): str(v) for k, v in table.items() if v}


SHORT_NAME_MODES = ("enforcing", "permissive", "disabled")


def _endpoint(name: str, insecure: bool) -> Endpoint:
    domain, _, path = name.partition("/")
    return Endpoint(domain, path, insecure)


def _merge(conf: RegistriesConf, data: dict[str, Any], source: str) -> None:
    if "unqualified-search-registries" in data:
        conf.search = [str(s) for s in data["unqualified-search-registries"]]
    if "short-name-mode" in data:
        mode = str(data["short-name-mode"]) or "enforcing"
        if mode not in SHORT_NAME_MODES:
            raise UsageError(f"{source}: unknown short-name-mode {mode!r}",
                             hint="use one of " + ", ".join(SHORT_NAME_MODES))
        conf.short_name_mode = mode
    for k, v in (data.get("aliases") or {}).items():
        conf.aliases[str(k)] = str(v)
    for table in data.get("registry") or []:
        location = str(table.get("location", ""))
        prefix = str(table.get("prefix") or location)
        if not prefix:
            raise UsageError(f"{source}: a [[registry]] table needs `location` or `prefix`",
                             hint="see containers-registries.conf(5)")
        mirrors = tuple(Mirror(str(m.get("location", "")), bool(m.get("insecure", False)))
                        for m in table.get("mirror") or [] if m.get("location"))
        entry = RegistrySettings(prefix, location, bool(table.get("insecure", False)),
                                 bool(table.get("blocked", False)), mirrors)
        # a later file's entry for the same prefix replaces the earlier one
        conf.registries = [r for r in conf.registries if r.prefix != prefix] + [entry]
    # the v1 format: [registries.search] registries = [...], [registries.insecure] ...
    v1 = data.get("registries")
    if isinstance(v1, dict):
        search = (v1.get("search") or {}).get("registries")
        if search is not None:
            conf.search = [str(s) for s in search]
        for loc in (v1.get("insecure") or {}).get("registries") or []:
            conf.registries.append(RegistrySettings(str(loc), str(loc), insecure=True))
        for loc in (v1.get("block") or {}).get("registries") or []:
            conf.registries.append(RegistrySettings(str(loc), str(loc), blocked=True))


def _loads(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"cannot parse {source}: {exc}",
                         hint="fix the TOML syntax; see containers-registries.conf(5)") from exc
    except RecursionError:
        raise UsageError(f"cannot parse {source}: arrays or tables nested too deeply",
                         hint="see containers-registries.conf(5)") from None


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}",
                         hint="check the file's permissions") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot parse {path}: not UTF-8 text (byte {exc.start})",
                         hint="see containers-registries.conf(5)") from None
    return _loads(text, str(path))


def _merge_checked(conf: RegistriesConf, data: dict[str, Any], source: str) -> None:
    """_merge, with a value of the wrong type (a string where a table belongs, a table
    where a list does) reported as the file's error rather than a crash."""
    try:
        _merge(conf, data, source)
    except (AttributeError, TypeError, ValueError) as exc:
        raise UsageError(f"{source}: a value has the wrong type ({exc})",
                         hint="see containers-registries.conf(5) for each key's type") from None


def parse_text(text: str, source: str = "<string>") -> RegistriesConf:
    conf = RegistriesConf(sources=[source])
    _merge_checked(conf, _loads(text, source), source)
    return conf


def load(paths: list[Path] | None = None) -> RegistriesConf:
    """The configuration podman would use: the first existing file and its drop-ins."""
    if paths is None:
        from pdman.config import registries_conf_paths

        paths = registries_conf_paths()
    conf = RegistriesConf()
    for path in paths:
        if not path.is_file():
            continue
        _merge_checked(conf, _read(path), str(path))
        conf.sources.append(str(path))
        dropins = path.with_name(path.name + ".d")
        if dropins.is_dir():
            for extra in sorted(dropins.glob("*.conf")):
                _merge_checked(conf, _read(extra), str(extra))
                conf.sources.append(str(extra))
        break
    conf.cache_path = str(alias_cache_path())
    conf.cached_aliases = _read_aliases(Path(conf.cache_path))
    return conf


__all__ = ["Endpoint", "Mirror", "RegistriesConf", "RegistrySettings", "load", "parse_text"]
