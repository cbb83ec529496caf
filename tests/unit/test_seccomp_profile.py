"""The seccomp profile resolver (pdman/runtime/seccomp/profile.py): which rules of a
docker/OCI profile apply to a container, and the errors of a bad profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pdman.errors import UsageError
from pdman.runtime import seccomp
from pdman.runtime.seccomp import profile as prof

ALLOW, ERRNO = 0x7FFF0000, 0x00050000
DEFAULT_CAPS = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
                "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
                "CAP_SETUID", "CAP_SYS_CHROOT"}
PODMAN_PROFILE = Path("/usr/share/containers/seccomp.json")


def resolve(p: dict, caps: set[str] = DEFAULT_CAPS, machine: str = "x86_64") -> prof.Resolved:
    return prof.resolve(p, caps, machine, "test.json")


def actions(r: prof.Resolved) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for rule in r.rules:
        out.setdefault(rule.name, set()).add(rule.action)
    return out


def test_actions_and_errno() -> None:
    r = resolve({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["swapon"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"},
    ]})
    assert r.default_action == ERRNO | 38
    assert actions(r) == {"read": {ALLOW}, "write": {ALLOW}, "swapon": {ERRNO | 1},
                          "mkdir": {ERRNO | 13}, "reboot": {0x80000000}}


def test_default_errno_is_eperm() -> None:
    assert resolve({"defaultAction": "SCMP_ACT_ERRNO"}).default_action == ERRNO | 1


def test_capability_includes_and_excludes() -> None:
    p = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": [
        {"names": ["bpf"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["bpf"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    ]}
    assert actions(resolve(p)) == {"bpf": {ERRNO | 1}}
    assert actions(resolve(p, DEFAULT_CAPS | {"CAP_SYS_ADMIN"})) == {"bpf": {ALLOW}}


def test_arch_includes_and_arch_map() -> None:
    p = {"defaultAction": "SCMP_ACT_ERRNO",
         "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                      "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                     {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
         "syscalls": [
             {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
             {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
         ]}
    r = resolve(p)
    assert r.arches == ("x86", "x32")
    assert set(actions(r)) == {"arch_prctl"}
    r = resolve(p, machine="aarch64")
    assert r.arches == ("arm",) and set(actions(r)) == {"set_tls"}


def test_rules_equal_to_the_default_are_dropped() -> None:
    r = resolve({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})
    assert [rule.name for rule in r.rules] == ["mkdir"]


def test_conditions_on_one_argument_become_separate_rules() -> None:
    r = resolve({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 16, "op": "SCMP_CMP_NE"},
            {"index": 2, "value": 9, "valueTwo": 0, "op": "SCMP_CMP_NE"}]},
    ]})
    personality = [rule.args for rule in r.rules if rule.name == "personality"]
    assert personality == [(prof.Arg(0, 4, 0, 0),), (prof.Arg(0, 4, 8, 0),)]
    socket = [rule.args for rule in r.rules if rule.name == "socket"]
    assert socket == [(prof.Arg(0, 1, 16, 0), prof.Arg(2, 1, 9, 0))]


@pytest.mark.parametrize("p, complaint", [
    ({"syscalls": []}, "no defaultAction"),
    ({"defaultAction": "SCMP_ACT_NOPE"}, "unknown action 'SCMP_ACT_NOPE'"),
    ({"defaultAction": "SCMP_ACT_NOTIFY"}, "seccomp agent"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}, "errnoRet"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": "mkdir",
                                                        "action": "SCMP_ACT_ERRNO"}]},
     "names must be a list"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"],
                                                        "action": "SCMP_ACT_ERRNO",
                                                        "args": [{"index": 9, "op": "SCMP_CMP_EQ"}]}]},
     "argument index 9"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"],
                                                        "action": "SCMP_ACT_ERRNO",
                                                        "args": [{"index": 0, "op": "EQ"}]}]},
     "unknown comparison 'EQ'"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]}, "SCMP_ARCH_"),
])
def test_bad_profiles_name_the_file_and_the_fix(p: dict, complaint: str) -> None:
    with pytest.raises(UsageError) as exc:
        resolve(p)
    assert "seccomp profile test.json" in exc.value.message
    assert complaint in exc.value.message
    assert "unconfined" in (exc.value.hint or "")


def test_invalid_json() -> None:
    with pytest.raises(UsageError, match="invalid JSON"):
        prof.parse(b"{", "x.json")
    with pytest.raises(UsageError, match="not a JSON object"):
        prof.parse(b"[]", "x.json")


def _effect(p: dict, caps: set[str]) -> set[tuple[str, int, tuple[prof.Arg, ...]]]:
    r = resolve(p, caps)
    return {(rule.name, rule.action, rule.args) for rule in r.rules} | {("*", r.default_action, ())}


@pytest.mark.skipif(not PODMAN_PROFILE.exists(), reason="podman's profile is not installed")
@pytest.mark.parametrize("extra", [set(), {"CAP_SYS_ADMIN"}, {"CAP_AUDIT_WRITE", "CAP_SYS_PTRACE"}])
def test_the_default_profile_has_podmans_effect(extra: set[str]) -> None:
    ours = json.loads(Path(seccomp.DEFAULT_PROFILE).read_text())
    podman = json.loads(PODMAN_PROFILE.read_text())
    assert _effect(ours, DEFAULT_CAPS | extra) == _effect(podman, DEFAULT_CAPS | extra)


def test_the_default_profile_denies_what_the_issue_names() -> None:
    p = json.loads(Path(seccomp.DEFAULT_PROFILE).read_text())
    r = resolve(p)
    acts = actions(r)
    assert r.default_action == ERRNO | 38                       # ENOSYS
    for name in ("add_key", "request_key", "io_uring_setup", "io_uring_enter",
                 "io_uring_register"):
        assert name not in acts, name                           # -> the default, ENOSYS
    for name in ("kexec_load", "userfaultfd", "bpf", "open_by_handle_at", "perf_event_open"):
        assert acts[name] == {ERRNO | 1}, name                  # EPERM
    admin = actions(resolve(p, DEFAULT_CAPS | {"CAP_SYS_ADMIN", "CAP_DAC_READ_SEARCH"}))
    assert admin["bpf"] == {ALLOW} and admin["open_by_handle_at"] == {ALLOW}
    assert acts["keyctl"] == {ALLOW}


def test_settings() -> None:
    assert seccomp.setting("/nonexistent", None, False, []) == {"mode": "default"}
    assert seccomp.setting("/nonexistent", "unconfined", False, []) == {"mode": "unconfined"}
    assert seccomp.setting("/nonexistent", None, True, []) == {"mode": "unconfined"}
    assert seccomp.filter_for("/nonexistent", {"seccomp": {"mode": "unconfined"}}, []) is None
    assert seccomp.profile_path("/r", {"mode": "unconfined"}) == ""
    assert seccomp.profile_path("/r", {"mode": "default"}) == seccomp.DEFAULT_PROFILE


def test_the_manual_states_the_security_defaults() -> None:
    man = Path(__file__).resolve().parents[2] / "man"
    run = (man / "man1" / "pdman-run.1").read_text()
    section = run.split(".SH SECURITY DEFAULTS", 1)[1].split(".SH EXIT STATUS")[0]
    for word in ("Capabilities", "Seccomp", "Masked paths", "No new privileges", "Keyring",
                 "User namespace", "SYS_CHROOT", "/proc/kcore"):
        assert word in section, word
    page = (man / "man7" / "pdman-security.7").read_text()
    assert ".SH PROMISES" in page and ".SH WHAT PDMAN DOES NOT PROMISE" in page
    promises = page.split(".SH PROMISES", 1)[1].split(".SH DEFAULTS")[0]
    assert promises.count(".TP") == 9              # one per class of issue #12
