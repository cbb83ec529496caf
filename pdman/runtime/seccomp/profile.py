"""A docker/OCI seccomp profile (JSON) to the rules of one container: pure logic.

The format is the one docker, podman and the OCI runtime spec's `linux.seccomp` share:

    {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
     "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": [...]}],
     "syscalls": [{"names": [...], "action": "SCMP_ACT_ALLOW", "errnoRet": 1,
                   "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
                   "includes": {"caps": [...], "arches": [...]}, "excludes": {...}}]}

`resolve` keeps the rules that apply to a container with the given capabilities on
the given architecture (a rule's `includes.caps` must all be held, none of its
`excludes.caps`), as podman's and docker's loaders do, and turns actions into the
kernel's SECCOMP_RET_* values; compiler.py hands the result to libseccomp.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pdman.errors import UsageError

#: SCMP_ACT_* without an argument -> value (libseccomp's = the kernel's SECCOMP_RET_*)
_ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000,
    "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_LOG": 0x7FFC0000,
    "SCMP_ACT_ALLOW": 0x7FFF0000,
}
#: actions with a 16-bit argument (errnoRet) -> base value
_ACTIONS_WITH_ARG = {"SCMP_ACT_ERRNO": 0x00050000, "SCMP_ACT_TRACE": 0x7FF00000}
#: SCMP_CMP_* -> libseccomp's enum scmp_compare
COMPARE_OPS = {
    "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
}
EPERM = 1

#: uname machine -> (libseccomp's architecture name, Go's name as in includes.arches)
_MACHINES = {
    "x86_64": ("x86_64", "amd64"), "i686": ("x86", "386"), "i386": ("x86", "386"),
    "aarch64": ("aarch64", "arm64"), "armv7l": ("arm", "arm"), "s390x": ("s390x", "s390x"),
    "ppc64le": ("ppc64le", "ppc64le"), "riscv64": ("riscv64", "riscv64"),
    "mips64": ("mips64", "mips64"),
}


class Arg(NamedTuple):
    index: int
    op: int
    value: int
    value_two: int


class Rule(NamedTuple):
    name: str
    action: int
    args: tuple[Arg, ...] = ()


class Resolved(NamedTuple):
    default_action: int
    #: libseccomp architecture names besides the native one
    arches: tuple[str, ...]
    rules: tuple[Rule, ...]


def _bad(source: str, what: str) -> UsageError:
    return UsageError(f"seccomp profile {source}: {what}",
                      hint="fix the profile (docker/OCI seccomp format, see pdman-security(7)), "
                           "or run with --security-opt seccomp=unconfined")


def parse(data: bytes, source: str) -> "dict[str, Any]":
    """The profile's JSON object; a UsageError naming `source` if it is not one."""
    import json

    try:
        profile = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(source, f"invalid JSON: {exc}") from None
    if not isinstance(profile, dict):
        raise _bad(source, "not a JSON object")
    return profile


def native_arch(machine: str) -> tuple[str, str]:
    """(libseccomp name, Go name) of a `uname -m` machine."""
    return _MACHINES.get(machine, (machine, machine))


def action_value(name: Any, errno_ret: Any, default_errno: int, source: str) -> int:
    """SCMP_ACT_* with its errno (ERRNO) or tracer value (TRACE) -> the 32-bit action."""
    if not isinstance(name, str):
        raise _bad(source, f"action {name!r} is not a string")
    if name in _ACTIONS:
        return _ACTIONS[name]
    if name in _ACTIONS_WITH_ARG:
        arg = default_errno if errno_ret is None else errno_ret
        if not isinstance(arg, int) or isinstance(arg, bool) or not 0 <= arg <= 0xFFFF:
            raise _bad(source, f"errnoRet {arg!r} of {name} is not a number 0-65535")
        return _ACTIONS_WITH_ARG[name] | arg
    if name == "SCMP_ACT_NOTIFY":
        raise _bad(source, "SCMP_ACT_NOTIFY needs a seccomp agent, which pdman does not run")
    raise _bad(source, f"unknown action {name!r} (known: "
                       f"{', '.join(sorted([*_ACTIONS, *_ACTIONS_WITH_ARG]))})")


def _names(value: Any, what: str, source: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(source, f"{what} must be a list of strings")
    return value


def _args(value: Any, name: str, source: str) -> list[Arg]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(source, f"args of {name} must be a list")
    out = []
    for a in value:
        if not isinstance(a, dict):
            raise _bad(source, f"an argument condition of {name} is not an object")
        index, op = a.get("index"), a.get("op")
        val, two = a.get("value", 0), a.get("valueTwo", 0)
        if not isinstance(index, int) or not 0 <= index <= 5:
            raise _bad(source, f"argument index {index!r} of {name} is not 0-5")
        if op not in COMPARE_OPS:
            raise _bad(source, f"unknown comparison {op!r} in the args of {name}")
        for v in (val, two):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 1 << 64:
                raise _bad(source, f"argument value {v!r} of {name} is not a 64-bit number")
        out.append(Arg(index, COMPARE_OPS[op], val, two))
    return out


def _applies(entry: "dict[str, Any]", caps: "set[str]", arch_names: "set[str]",
             source: str) -> bool:
    includes = entry.get("includes") or {}
    excludes = entry.get("excludes") or {}
    if not isinstance(includes, dict) or not isinstance(excludes, dict):
        raise _bad(source, "includes and excludes must be objects")
    inc_caps = _names(includes.get("caps"), "includes.caps", source)
    exc_caps = _names(excludes.get("caps"), "excludes.caps", source)
    inc_arches = _names(includes.get("arches"), "includes.arches", source)
    exc_arches = _names(excludes.get("arches"), "excludes.arches", source)
    if inc_caps and not all(_cap(c) in caps for c in inc_caps):
        return False
    if any(_cap(c) in caps for c in exc_caps):
        return False
    if inc_arches and not arch_names & set(inc_arches):
        return False
    return not arch_names & set(exc_arches)


def _cap(name: str) -> str:
    name = name.upper()
    return name if name.startswith("CAP_") else "CAP_" + name


def _arches(profile: "dict[str, Any]", native: str, source: str) -> tuple[str, ...]:
    """The architectures besides the native one the filter covers (libseccomp names)."""
    def lib_name(scmp: Any) -> str:
        if not isinstance(scmp, str) or not scmp.startswith("SCMP_ARCH_"):
            raise _bad(source, f"architecture {scmp!r} is not an SCMP_ARCH_* name")
        return scmp.removeprefix("SCMP_ARCH_").lower()

    names: list[str] = []
    arch_map = profile.get("archMap")
    if arch_map:
        if not isinstance(arch_map, list):
            raise _bad(source, "archMap must be a list")
        for entry in arch_map:
            if not isinstance(entry, dict):
                raise _bad(source, "an archMap entry is not an object")
            if lib_name(entry.get("architecture")) == native:
                names += [lib_name(s) for s in
                          _names(entry.get("subArchitectures"), "subArchitectures", source)]
    else:
        names = [lib_name(a) for a in _names(profile.get("architectures"), "architectures",
                                             source)]
    out: list[str] = []
    for n in names:
        if n != native and n not in out:
            out.append(n)
    return tuple(out)


def resolve(profile: "dict[str, Any]", caps: "set[str] | frozenset[str]", machine: str,
            source: str) -> Resolved:
    """The filter of a container holding `caps` (CAP_* names) on `machine`."""
    native, goarch = native_arch(machine)
    arch_names = {native, goarch}
    if "defaultAction" not in profile:
        raise _bad(source, "no defaultAction")
    default = action_value(profile["defaultAction"], profile.get("defaultErrnoRet"), EPERM,
                           source)
    entries = profile.get("syscalls") or []
    if not isinstance(entries, list):
        raise _bad(source, "syscalls must be a list")
    rules: list[Rule] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise _bad(source, "a syscalls entry is not an object")
        names = _names(entry.get("names"), "names", source)
        if entry.get("name") is not None:          # the old single-name form
            names = [*names, *_names([entry["name"]], "name", source)]
        if not names:
            raise _bad(source, "a syscalls entry names no syscall")
        action = action_value(entry.get("action"), entry.get("errnoRet"), EPERM, source)
        args = _args(entry.get("args"), names[0], source)
        if not _applies(entry, set(caps), arch_names, source):
            continue
        if action == default:
            continue    # libseccomp refuses a rule that repeats the default action
        # one condition per argument index and rule: several on one index mean "any
        # of them" (as runc and crun read it), so each becomes a rule of its own
        indexes = [a.index for a in args]
        groups = [(a,) for a in args] if len(set(indexes)) < len(indexes) else [tuple(args)]
        for name in names:
            for group in groups:
                rules.append(Rule(name, action, group))
    return Resolved(default, _arches(profile, native, source), tuple(rules))


def all_names(profile: "dict[str, Any]") -> list[str]:
    """Every syscall name the profile mentions (validated whether or not it applies)."""
    out: list[str] = []
    for entry in profile.get("syscalls") or []:
        if isinstance(entry, dict):
            for n in entry.get("names") or []:
                if isinstance(n, str) and n not in out:
                    out.append(n)
            if isinstance(entry.get("name"), str):
                out.append(entry["name"])
    return out
