"""A seccomp profile file to the BPF program of one container, with libseccomp
(the `pdman._seccomp` extension, native/seccomp_compile.c).

Only a start whose filter is not in the store's cache yet comes here (see
`pdman.runtime.seccomp.filter_for`), and `create` with a profile of the user's, to
refuse a bad one before anything exists.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from pdman.errors import HostSupportError, UsageError
from pdman.runtime.seccomp import profile as prof


def _extension() -> Any:
    try:
        from pdman import _seccomp
    except ImportError as exc:
        raise HostSupportError(
            f"the seccomp profile compiler is not available: {exc}",
            hint="install libseccomp2 (Debian: apt-get install libseccomp2; to build pdman "
                 "also libseccomp-dev), then reinstall pdman; or run with "
                 "--security-opt seccomp=unconfined") from None
    return _seccomp


def read_profile(path: str, source: str) -> "dict[str, Any]":
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UsageError(f"cannot read the seccomp profile {source}: {exc.strerror}",
                         hint="give the path of a readable JSON profile, or "
                              "--security-opt seccomp=unconfined") from None
    return prof.parse(data, source)


def check_names(profile: "dict[str, Any]", source: str) -> None:
    """Every syscall name the profile mentions is one libseccomp knows (a typo in a rule
    that does not apply to this container would otherwise pass unnoticed)."""
    ext = _extension()
    unknown = [n for n in prof.all_names(profile) if ext.lib.pdman_seccomp_resolve(n.encode()) == -1]
    if unknown:
        raise UsageError(f"seccomp profile {source}: unknown syscall "
                         f"{', '.join(repr(n) for n in unknown[:5])}"
                         f"{' ...' if len(unknown) > 5 else ''}",
                         hint="correct or remove the name (libseccomp's names, as in "
                              "syscalls(2)), or run with --security-opt seccomp=unconfined")


def compile_resolved(resolved: prof.Resolved, source: str) -> bytes:
    """libseccomp's BPF of the resolved rules."""
    ext = _extension()
    ffi, lib = ext.ffi, ext.lib
    keep: list[Any] = []
    arches = [ffi.new("char[]", a.encode()) for a in resolved.arches]
    keep += arches
    c_arches = ffi.new("const char *[]", arches or [ffi.NULL])
    rules = ffi.new("struct pdman_seccomp_rule[]", max(len(resolved.rules), 1))
    for i, rule in enumerate(resolved.rules):
        name = ffi.new("char[]", rule.name.encode())
        args = ffi.new("struct pdman_seccomp_arg[]", max(len(rule.args), 1))
        for j, a in enumerate(rule.args):
            args[j].index, args[j].op = a.index, a.op
            args[j].value, args[j].value_two = a.value, a.value_two
        keep += [name, args]
        rules[i].name, rules[i].action = name, rule.action
        rules[i].args, rules[i].n_args = args, len(rule.args)
    msg = ffi.new("char[]", lib.PDMAN_SECCOMP_MSG_MAX)
    fd = os.memfd_create("pdman-seccomp", os.MFD_CLOEXEC)
    try:
        ret = lib.pdman_seccomp_compile(resolved.default_action, c_arches, len(arches), rules,
                                        len(resolved.rules), fd, msg, len(msg))
        if ret < 0:
            raise UsageError(f"seccomp profile {source}: {ffi.string(msg).decode(errors='replace')}",
                             hint="fix the profile (docker/OCI seccomp format, see "
                                  "pdman-security(7)), or run with --security-opt "
                                  "seccomp=unconfined")
        size = os.lseek(fd, 0, os.SEEK_END)
        return os.pread(fd, size, 0)
    finally:
        os.close(fd)


def compile_profile(path: str, caps: Iterable[str], machine: str, source: str) -> bytes:
    """The filter for a container holding `caps` on `machine`, from the profile at `path`
    (`source`: how errors name it, the user's path for a profile of theirs)."""
    profile = read_profile(path, source)
    check_names(profile, source)
    caps = {c if c.startswith("CAP_") else "CAP_" + c for c in caps}
    return compile_resolved(prof.resolve(profile, caps, machine, source), source)
