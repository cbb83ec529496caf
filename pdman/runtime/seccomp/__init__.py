"""Seccomp for containers: which profile applies, and its compiled filter.

A container's config holds its setting, fixed at `create`:

    {"mode": "default"}                    pdman's profile, default.json next to this file
    {"mode": "unconfined"}                 no filter (`--security-opt seccomp=unconfined`,
                                           `--privileged`)
    {"mode": "custom", "source": PATH, "digest": SHA256}
                                           the user's profile, copied into the store at
                                           create: <root>/seccomp/profiles/SHA256.json

The filter depends on the profile, the container's capabilities (rules with
`includes.caps`) and the architecture, and compiling it (libseccomp,
compiler.py) costs milliseconds: `filter_for` keeps the BPF in
<root>/seccomp/*.bpf under a name made of those, so a start pays one file read;
native/seccomp.c loads it in the child as the last step before execve, for the
container's command and for every `exec`.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

DEFAULT_PROFILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "default.json")
#: part of every cache name: bump when the compiled form changes meaning
_FORMAT = 1


def _store(root: str) -> str:
    return os.path.join(root, "seccomp")


def _profile_copy(root: str, digest: str) -> str:
    return os.path.join(_store(root), "profiles", digest + ".json")


def setting(root: str, value: "str | None", privileged: bool, caps: Sequence[str]) -> "dict[str, Any]":
    """The container's seccomp setting from `--security-opt seccomp=VALUE` (None: not
    given). A profile of the user's is checked and compiled now, so a bad one fails
    `create` before anything exists, and copied into the store: the container keeps the
    profile it was created with, as podman's does."""
    if privileged and value is None:
        return {"mode": "unconfined"}         # podman: --privileged turns seccomp off
    if value is None or value == "default":
        return {"mode": "default"}
    if value == "unconfined":
        return {"mode": "unconfined"}
    import hashlib

    from pdman.errors import UsageError
    from pdman.runtime.seccomp import compiler

    path = os.path.abspath(os.path.expanduser(value))
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UsageError(f"cannot read the seccomp profile {value}: {exc.strerror}",
                         hint="give the path of a JSON profile (docker/OCI format), "
                              "`unconfined` or `default`") from None
    out = {"mode": "custom", "source": path, "digest": hashlib.sha256(data).hexdigest()}
    copy = _profile_copy(root, out["digest"])
    cache, machine = _cache_path(root, out, caps)
    if not os.path.exists(copy) or not os.path.exists(cache):
        os.makedirs(os.path.dirname(copy), mode=0o700, exist_ok=True)
        tmp = f"{copy}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        try:      # compiled now, so that a bad profile creates nothing and a start reads it
            _write(cache, compiler.compile_profile(tmp, caps, machine, source=path))
        except BaseException:
            os.unlink(tmp)
            raise
        os.replace(tmp, copy)
    return out


def _write(path: str, data: bytes) -> None:
    """Atomically: a concurrent start reads all of it or nothing."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _cache_path(root: str, setting: "dict[str, Any]", caps: Sequence[str]) -> tuple[str, str]:
    """Where the compiled filter of this profile, these capabilities and this machine
    is kept, and the machine."""
    from pdman.runtime.native import cap_mask

    if setting.get("mode") == "custom":
        tag = str(setting["digest"])[:32]
    else:
        st = os.stat(DEFAULT_PROFILE)    # a new pdman (a new default.json) compiles anew
        tag = f"default-{st.st_size}-{st.st_mtime_ns}"
    machine = os.uname().machine
    return os.path.join(_store(root), f"{tag}-{cap_mask(caps):x}-{machine}-{_FORMAT}.bpf"), machine


def profile_path(root: str, setting: "dict[str, Any]") -> str:
    """What `inspect` shows as the profile: the user's file, pdman's default, or ''."""
    mode = setting.get("mode", "default")
    if mode == "unconfined":
        return ""
    if mode == "custom":
        return str(setting.get("source", ""))
    return DEFAULT_PROFILE


def filter_for(root: str, config: "dict[str, Any]", caps: Sequence[str]) -> "bytes | None":
    """The BPF program of a container (config as stored) whose processes hold `caps`;
    None when it runs unconfined. Compiled on the first start of its kind, then read
    from the store's cache."""
    setting = config.get("seccomp") or {"mode": "default"}
    mode = setting.get("mode", "default")
    if mode == "unconfined":
        return None
    cache, machine = _cache_path(root, setting, caps)
    try:
        with open(cache, "rb") as f:
            return f.read()
    except FileNotFoundError:
        pass
    from pdman.runtime.seccomp import compiler

    path = DEFAULT_PROFILE
    if mode == "custom":
        path = _profile_copy(root, str(setting["digest"]))
        if not os.path.exists(path):
            from pdman.errors import StorageError

            raise StorageError(f"the seccomp profile of this container ({setting.get('source')}) "
                               f"is missing from the store ({path})",
                               hint="recreate the container")
    bpf = compiler.compile_profile(path, caps, machine, source=setting.get("source") or path)
    _write(cache, bpf)
    return bpf
