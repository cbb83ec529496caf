"""Image configs (OCI image config / Docker image JSON): parsed once, checked whole.

An image config comes from whoever built the image. Everything pdman later reads
from it (`rootfs.diff_ids` to unpack, `config.Env`/`Cmd`/`User`/... to run) is
checked here, at the door, so that a hostile config ends in one clear error rather
than a crash deep in `run`:

    cfg = parse(raw, "the config sha256:... of busybox", RegistryError)
"""

from __future__ import annotations

import json
from typing import Any

from pdman.errors import PdmanError, ReferenceFormatError, RegistryError

_HINT = "the image is malformed or hostile; pdman will not use it"
#: fields of `config` and the JSON type each must have (null is always allowed)
_STRING_LISTS = ("Env", "Cmd", "Entrypoint", "Shell", "OnBuild")
_STRINGS = ("User", "WorkingDir", "StopSignal", "Domainname", "Hostname")
_OBJECTS = ("ExposedPorts", "Volumes", "Labels")


def load_json(raw: bytes, what: str, error: type[PdmanError] = RegistryError) -> Any:
    """json.loads for documents from outside: any failure (bad UTF-8, bad syntax,
    nesting deeper than Python's stack) is `error` naming `what`."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise error(f"{what} is nested too deeply to be a real document",
                    hint=_HINT) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise error(f"{what} is not JSON ({exc})", hint=_HINT) from None


def _fail(error: type[PdmanError], where: str, why: str) -> PdmanError:
    return error(f"{where}: the image config is malformed: {why}", hint=_HINT)


def _check_string(value: object, name: str, error: type[PdmanError], where: str) -> None:
    if not isinstance(value, str):
        raise _fail(error, where, f"{name} must be a string, not {type(value).__name__}")
    if "\0" in value:
        raise _fail(error, where, f"{name} contains a NUL character")


def parse(raw: bytes, where: str, error: type[PdmanError] = RegistryError) -> dict[str, Any]:
    """The config document, checked: a JSON object whose `rootfs.diff_ids` is a list
    of digests and whose `config` fields have the types the spec gives them."""
    doc = load_json(raw, f"{where}: the image config", error)
    if not isinstance(doc, dict):
        raise _fail(error, where, "it is not a JSON object")
    rootfs = doc.get("rootfs")
    if not isinstance(rootfs, dict) or not isinstance(rootfs.get("diff_ids"), list):
        raise _fail(error, where, "rootfs.diff_ids is missing or not a list")
    from pdman.image.reference import check_digest

    for d in rootfs["diff_ids"]:
        try:
            check_digest(d if isinstance(d, str) else repr(d), "diff_id")
        except ReferenceFormatError:
            raise _fail(error, where, f"diff_id {str(d)[:80]!r} is not a sha256 digest") \
                from None
    for key in ("os", "architecture", "variant", "created", "author"):
        if doc.get(key) is not None:
            _check_string(doc[key], key, error, where)
    if doc.get("history") is not None and not isinstance(doc["history"], list):
        raise _fail(error, where, "history must be a list")
    check_run_config(doc.get("config"), where, error)
    return doc


def check_run_config(cfg: object, where: str, error: type[PdmanError] = RegistryError) -> None:
    """The `config` section (what `run` reads): null, or an object with typed fields."""
    if cfg is None:
        return
    if not isinstance(cfg, dict):
        raise _fail(error, where, "config must be an object")
    for key in _STRING_LISTS:
        value = cfg.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise _fail(error, where, f"config.{key} must be a list of strings")
        for item in value:
            _check_string(item, f"an item of config.{key}", error, where)
    for key in _STRINGS:
        if cfg.get(key) is not None:
            _check_string(cfg[key], f"config.{key}", error, where)
    for key in _OBJECTS:
        value = cfg.get(key)
        if value is not None and not isinstance(value, dict):
            raise _fail(error, where, f"config.{key} must be an object")
    for label, text in (cfg.get("Labels") or {}).items():
        _check_string(text, f"label {label[:80]!r}", error, where)


__all__ = ["check_run_config", "load_json", "parse"]
