"""Class 6 of issue #12, the kernel's attack surface: the default seccomp profile,
`--security-opt seccomp=unconfined|PROFILE.json`, `no-new-privileges`, a new session
keyring per container, and what `inspect`/`info` show.

A static C probe (built here with `gcc -static`, bind-mounted into the busybox test
image) makes the syscalls and prints the errno each one got: a syscall the filter
denies fails with the profile's errno before the kernel looks at its arguments, one it
lets through gets the kernel's answer to the (deliberately invalid) arguments.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bed.runner import run_pdman

NONE = ("--network", "none")

PROBE_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long ret) {
  printf("%s=%d\n", name, ret < 0 ? errno : 0);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "syscalls") == 0) {
    /* arguments the kernel itself refuses (EFAULT, EINVAL, EBADF ...) */
    report("add_key", syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
    report("request_key", syscall(SYS_request_key, NULL, NULL, NULL, 0));
    report("keyctl", syscall(SYS_keyctl, -1, 0, 0, 0, 0));
    report("io_uring_setup", syscall(SYS_io_uring_setup, 0, NULL));
    report("io_uring_enter", syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0));
    report("userfaultfd", syscall(SYS_userfaultfd, ~0));
    report("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, ~0UL));
    report("bpf", syscall(SYS_bpf, -1, NULL, 0));
    report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
    report("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0));
    report("mkdir", mkdir("/tmp/probe-dir", 0755));
    return 0;
  }
  if (argc > 4 && strcmp(argv[1], "addkey") == 0) {
    /* addkey DESC PAYLOAD CMD...: a session keyring of our own holding the key, then
     * CMD (which inherits the keyring, as a login shell's children do) */
    long id;
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "pdman-test", 0, 0, 0) < 0) {
      perror("keyctl join");
      return 2;
    }
    id = syscall(SYS_add_key, "user", argv[2], argv[3], strlen(argv[3]),
                 KEY_SPEC_SESSION_KEYRING);
    if (id < 0) {
      perror("add_key");
      return 2;
    }
    fprintf(stderr, "serial=%ld\n", id);
    execvp(argv[4], argv + 4);
    perror("execvp");
    return 2;
  }
  if (argc > 2 && strcmp(argv[1], "keys") == 0) {
    /* keys DESC: search our session keyring for the key and read it */
    char buf[256];
    long id = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user",
                      argv[2], 0);
    long n;
    report("search", id);
    if (id < 0)
      return 0;
    n = syscall(SYS_keyctl, KEYCTL_READ, id, buf, sizeof(buf) - 1);
    report("read", n);
    if (n >= 0) {
      buf[n < (long)sizeof(buf) ? n : (long)sizeof(buf) - 1] = 0;
      printf("payload=%s\n", buf);
    }
    return 0;
  }
  fprintf(stderr, "usage: probe syscalls | addkey DESC PAYLOAD CMD... | keys DESC\n");
  return 2;
}
"""

ENOSYS, EPERM, EACCES, EFAULT = 38, 1, 13, 14

#: what podman's default profile (containers/common) answers, the errno it names
DENIED_BY_DEFAULT = {
    "add_key": ENOSYS, "request_key": ENOSYS,            # not listed: the default action
    "io_uring_setup": ENOSYS, "io_uring_enter": ENOSYS,
    "userfaultfd": EPERM, "kexec_load": EPERM,           # listed as denied
    "bpf": EPERM, "perf_event_open": EPERM,              # only with CAP_SYS_ADMIN
    "open_by_handle_at": EPERM,                          # only with CAP_DAC_READ_SEARCH
}


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no gcc to build the static syscall probe")
    src = tmp_path_factory.mktemp("probe") / "probe.c"
    src.write_text(PROBE_C)
    out = src.with_suffix("")
    subprocess.run([gcc, "-static", "-O1", "-o", str(out), str(src)], check=True)
    out.chmod(0o755)
    return out


def pd(env: dict[str, str], *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check)


def results(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and value.lstrip("-").isdigit():
            out[key] = int(value)
    return out


def status_fields(text: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in text.splitlines())}


def run_probe(env: dict[str, str], image: str, probe: Path, *args: str,
              opts: tuple[str, ...] = ()) -> dict[str, int]:
    done = pd(env, "run", "--rm", *NONE, *opts, "-v", f"{probe}:/probe:ro", image,
              "/probe", *args)
    return results(done.stdout)


def test_default_profile_denies_with_podmans_errno(busybox: str, registry_env: dict[str, str],
                                                   probe: Path) -> None:
    got = run_probe(registry_env, busybox, probe, "syscalls")
    assert {k: got[k] for k in DENIED_BY_DEFAULT} == DENIED_BY_DEFAULT, got
    # allowed: keyctl reaches the kernel (which refuses the bad operation), mkdir works
    assert got["keyctl"] not in (ENOSYS, EPERM), got
    assert got["mkdir"] == 0, got
    # the filter is really installed on the container's command
    done = pd(registry_env, "run", "--rm", *NONE, busybox, "cat", "/proc/self/status")
    assert status_fields(done.stdout)["Seccomp"] == "2"


def test_unconfined_lets_the_kernel_answer(busybox: str, registry_env: dict[str, str],
                                           probe: Path) -> None:
    got = run_probe(registry_env, busybox, probe, "syscalls",
                    opts=("--security-opt", "seccomp=unconfined"))
    # the kernel's own answer to the bad arguments, not a filter's ENOSYS
    assert got["add_key"] == EFAULT and got["request_key"] == EFAULT, got
    assert got["io_uring_setup"] not in (ENOSYS,), got
    done = pd(registry_env, "run", "--rm", *NONE, "--security-opt", "seccomp=unconfined",
              busybox, "cat", "/proc/self/status")
    assert status_fields(done.stdout)["Seccomp"] == "0"
    # inspect says so
    pd(registry_env, "create", "--name", "unc", *NONE, "--security-opt", "seccomp=unconfined",
       busybox, "true")
    info = json.loads(pd(registry_env, "inspect", "unc").stdout)[0]
    assert info["HostConfig"]["SecurityOpt"] == ["seccomp=unconfined"]
    assert info["SeccompProfilePath"] == ""


def test_custom_profile_denies_mkdir_with_eacces(busybox: str, registry_env: dict[str, str],
                                                 probe: Path, tmp_path: Path) -> None:
    profile = tmp_path / "no-mkdir.json"
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": EACCES}],
    }))
    opt = ("--security-opt", f"seccomp={profile}")
    got = run_probe(registry_env, busybox, probe, "syscalls", opts=opt)
    assert got["mkdir"] == EACCES, got
    assert got["add_key"] == EFAULT, got         # the default profile does not apply
    done = pd(registry_env, "run", "--rm", *NONE, *opt, busybox, "mkdir", "/tmp/d", check=False)
    assert done.returncode != 0 and "Permission denied" in done.stderr
    pd(registry_env, "create", "--name", "custom", *NONE, *opt, busybox, "true")
    profile.unlink()                    # the container keeps the profile it was created with
    info = json.loads(pd(registry_env, "inspect", "custom").stdout)[0]
    assert info["HostConfig"]["SecurityOpt"] == [f"seccomp={profile}"]
    assert info["SeccompProfilePath"] == str(profile)
    pd(registry_env, "start", "custom")


@pytest.mark.parametrize("content, complaint", [
    ("{not json", "invalid JSON"),
    (json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["mkdir", "no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]}),
     "unknown syscall 'no_such_syscall'"),
    (json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_MAYBE"}]}),
     "unknown action 'SCMP_ACT_MAYBE'"),
])
def test_a_bad_profile_is_a_clean_error(busybox: str, registry_env: dict[str, str],
                                        tmp_path: Path, content: str, complaint: str) -> None:
    profile = tmp_path / "bad.json"
    profile.write_text(content)
    done = pd(registry_env, "run", "--rm", *NONE, "--security-opt", f"seccomp={profile}",
              busybox, "true", check=False)
    assert done.returncode == 125, done
    assert "Traceback" not in done.stderr
    assert f"seccomp profile {profile}" in done.stderr and complaint in done.stderr, done.stderr
    assert "Hint:" in done.stderr
    # nothing left behind
    assert pd(registry_env, "ps", "-aq").stdout.strip() == ""


def test_the_users_session_keys_are_not_readable_inside(busybox: str,
                                                        registry_env: dict[str, str],
                                                        probe: Path) -> None:
    secret = "host-session-secret-" + os.urandom(4).hex()
    # the scenario is real: a process of the user's session reads the key
    host = subprocess.run([str(probe), "addkey", "pdman-canary", secret, str(probe), "keys",
                           "pdman-canary"], capture_output=True, text=True, check=True)
    assert f"payload={secret}" in host.stdout, host
    pdman_exe = shutil.which("pdman", path=registry_env.get("PATH"))
    assert pdman_exe is not None
    for opts in ((), ("--security-opt", "seccomp=unconfined")):
        done = subprocess.run(
            [str(probe), "addkey", "pdman-canary", secret, pdman_exe, "run", "--rm", *NONE,
             *opts, "-v", f"{probe}:/probe:ro", busybox, "/probe", "keys", "pdman-canary"],
            env=registry_env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done
        assert secret not in done.stdout, (opts, done.stdout)
        assert results(done.stdout)["search"] != 0, (opts, done.stdout)
    # nor in a process `exec` starts from the user's session
    pd(registry_env, "run", "-d", *NONE, "--name", "keys", "-v", f"{probe}:/probe:ro", busybox,
       "sleep", "1000")
    done = subprocess.run(
        [str(probe), "addkey", "pdman-canary", secret, pdman_exe, "exec", "keys", "/probe",
         "keys", "pdman-canary"], env=registry_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done
    assert secret not in done.stdout and results(done.stdout)["search"] != 0, done.stdout


def test_no_new_privileges_and_exec_get_the_filter(busybox: str, registry_env: dict[str, str],
                                                   probe: Path) -> None:
    pd(registry_env, "run", "-d", *NONE, "--name", "nnp", "--security-opt", "no-new-privileges",
       "-v", f"{probe}:/probe:ro", busybox, "sleep", "1000")
    pd(registry_env, "run", "-d", *NONE, "--name", "plain", "-v", f"{probe}:/probe:ro",
       busybox, "sleep", "1000")
    for name, nnp in (("nnp", "1"), ("plain", "0")):
        fields = status_fields(pd(registry_env, "exec", name, "cat", "/proc/self/status").stdout)
        assert fields["NoNewPrivs"] == nnp, (name, fields)
        assert fields["Seccomp"] == "2", (name, fields)
        got = results(pd(registry_env, "exec", name, "/probe", "syscalls").stdout)
        assert got["add_key"] == ENOSYS and got["userfaultfd"] == EPERM, (name, got)
        fields = status_fields(pd(registry_env, "exec", name, "cat", "/proc/1/status").stdout)
        assert fields["NoNewPrivs"] == nnp and fields["Seccomp"] == "2", (name, fields)
    info = json.loads(pd(registry_env, "inspect", "nnp").stdout)[0]
    assert info["HostConfig"]["SecurityOpt"] == ["no-new-privileges"]
    assert "CAP_CHOWN" in info["EffectiveCaps"] and "CAP_SYS_ADMIN" not in info["EffectiveCaps"]
    assert info["BoundingCaps"] == info["EffectiveCaps"]
    assert info["SeccompProfilePath"].endswith("default.json")
    assert os.path.exists(info["SeccompProfilePath"])


def test_info_states_the_security_defaults(registry_env: dict[str, str]) -> None:
    security = json.loads(pd(registry_env, "info", "--format", "json").stdout)["host"]["security"]
    assert security["seccompEnabled"] is True
    assert os.path.exists(security["seccompProfilePath"])
    assert "CAP_CHOWN" in security["capabilities"].split(",")
    assert "CAP_SYS_ADMIN" not in security["capabilities"].split(",")
    assert security["rootless"] is True
    assert security["noNewPrivileges"] is False
    assert "/proc/kcore" in security["maskedPaths"]
    assert security["sessionKeyring"]
