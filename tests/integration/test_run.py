"""`pdman run` in the foreground, as an unprivileged user, against the real registry.

Isolation is checked from inside the container with busybox, not guessed from outside.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.bed.runner import run_pdman

# podman's default capability set as a CapEff mask
DEFAULT_CAPEFF = 0x00000000800405FB


def pd(env: dict[str, str], *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check)


def test_run_prints_and_removes(busybox: str, registry_env: dict[str, str]) -> None:
    out = pd(registry_env, "run", "--rm", busybox, "echo", "hello")
    assert out.stdout == "hello\n"
    assert pd(registry_env, "ps", "-aq").stdout == ""


def test_run_pulls_a_missing_image(testbed: Any, registry_env: dict[str, str]) -> None:
    out = pd(registry_env, "run", "--rm", "-q", testbed.image("busybox"), "cat", "/etc/pdman-platform")
    assert out.stdout.strip() == "linux/amd64"


@pytest.mark.parametrize(("script", "code"), [("exit 0", 0), ("exit 3", 3),
                                              ("sh -c 'kill -9 $$'; exit $?", 137)])
def test_exit_status_is_the_containers(busybox: str, registry_env: dict[str, str],
                                       script: str, code: int) -> None:
    assert pd(registry_env, "run", "--rm", busybox, "sh", "-c", script, check=False).returncode == code


def test_container_killed_by_a_signal_exits_128_plus_n(busybox: str, registry_env: dict[str, str]) -> None:
    # PID 1 cannot signal itself (the kernel protects a namespace's init), so the
    # signal comes from outside, as `kill` from the host would
    import shutil

    exe = shutil.which("pdman", path=registry_env["PATH"])
    proc = subprocess.Popen([exe, "run", "--name", "victim", busybox, "sleep", "60"], env=registry_env)
    deadline = time.monotonic() + 20
    pid = 0
    while time.monotonic() < deadline and not pid:
        out = pd(registry_env, "ps", "--format", "{{.Pid}}", "--filter", "name=victim").stdout.strip()
        pid = int(out) if out.isdigit() else 0
        time.sleep(0.05)
    assert pid > 0
    os.kill(pid, signal.SIGKILL)
    assert proc.wait(timeout=20) == 137
    assert "Exited (137)" in pd(registry_env, "ps", "-a").stdout


def test_command_not_found_is_127_and_not_executable_is_126(busybox: str, registry_env: dict[str, str]) -> None:
    missing = pd(registry_env, "run", "--rm", busybox, "no-such-command", check=False)
    assert missing.returncode == 127
    assert "no-such-command" in missing.stderr
    noexec = pd(registry_env, "run", "--rm", busybox, "/etc/passwd", check=False)
    assert noexec.returncode == 126
    assert pd(registry_env, "ps", "-aq").stdout == ""


def test_unknown_image_is_125_and_names_it(testbed: Any, registry_env: dict[str, str]) -> None:
    out = pd(registry_env, "run", "--rm", f"{testbed.registry}/no-such-image:1", "true", check=False)
    assert out.returncode == 125
    assert "no-such-image" in out.stderr


def test_pid_namespace(busybox: str, registry_env: dict[str, str]) -> None:
    assert pd(registry_env, "run", "--rm", busybox, "sh", "-c", "echo $$").stdout == "1\n"
    procs = pd(registry_env, "run", "--rm", busybox, "ps", "-o", "pid,comm").stdout.split("\n")[1:]
    pids = [line.split()[0] for line in procs if line.strip()]
    assert pids == ["1"], procs


def test_users(busybox: str, registry_env: dict[str, str]) -> None:
    assert pd(registry_env, "run", "--rm", busybox, "id", "-u").stdout == "0\n"
    assert pd(registry_env, "run", "--rm", "-u", "1000:1000", busybox, "id").stdout.startswith(
        "uid=1000 gid=1000")
    assert pd(registry_env, "run", "--rm", "-u", "nobody", busybox, "id", "-u").stdout == "65534\n"
    bad = pd(registry_env, "run", "--rm", "-u", "nosuchuser", busybox, "true", check=False)
    assert bad.returncode == 125 and "nosuchuser" in bad.stderr


def test_hostname_env_workdir_entrypoint(busybox: str, registry_env: dict[str, str],
                                         tmp_path: Path) -> None:
    assert pd(registry_env, "run", "--rm", "--hostname", "box", busybox, "hostname").stdout == "box\n"
    cid = pd(registry_env, "create", busybox, "hostname").stdout.strip()
    assert pd(registry_env, "start", "-a", cid).stdout == cid[:12] + "\n"
    envfile = tmp_path / "env"
    envfile.write_text("# comment\nFROM_FILE=yes\n")
    out = pd(registry_env, "run", "--rm", "-e", "A=1", "--env-file", envfile, busybox, "env").stdout
    assert "A=1\n" in out and "FROM_FILE=yes\n" in out and "PATH=" in out
    assert pd(registry_env, "run", "--rm", "-w", "/tmp", busybox, "pwd").stdout == "/tmp\n"
    assert pd(registry_env, "run", "--rm", "--entrypoint", "echo", busybox, "a", "b").stdout == "a b\n"


def test_bind_mounts_and_ownership(busybox: str, registry_env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "in").write_text("from host\n")
    out = pd(registry_env, "run", "--rm", "-v", f"{data}:/data", busybox, "sh", "-c",
             "cat /data/in; echo x > /data/root-file; echo y > /data/user-file; chown 1000:1000 /data/user-file")
    assert out.stdout == "from host\n"
    assert (data / "root-file").stat().st_uid == os.getuid()
    sub = _subuid_base()
    assert (data / "user-file").stat().st_uid == sub + 999
    ro = pd(registry_env, "run", "--rm", "-v", f"{data}:/data:ro", busybox, "touch", "/data/no", check=False)
    assert ro.returncode != 0
    assert not (data / "no").exists()


def _subuid_base() -> int:
    import pwd

    me = pwd.getpwuid(os.getuid()).pw_name
    for line in Path("/etc/subuid").read_text().splitlines():
        name, start, _ = line.split(":")
        if name in (me, str(os.getuid())):
            return int(start)
    pytest.fail("the test user has no subordinate UID range")


def test_host_filesystem_is_not_visible_and_proc_is_masked(busybox: str, registry_env: dict[str, str]) -> None:
    # the host's /home and the test's own files are not there
    # (this kernel may have no /proc/kcore at all; where it has, it reads as empty)
    out = pd(registry_env, "run", "--rm", busybox, "sh", "-c",
             f"ls {Path.home()} 2>&1; cat /proc/kcore 2>/dev/null | wc -c; wc -c < /proc/keys; "
             "ls /proc/acpi 2>/dev/null | wc -l").stdout.split("\n")
    assert "No such file" in out[0]
    assert out[1:4] == ["0", "0", "0"]
    w = pd(registry_env, "run", "--rm", busybox, "sh", "-c", "echo 1 > /proc/sysrq-trigger", check=False)
    assert w.returncode != 0


def test_capabilities_and_no_new_privileges(busybox: str, registry_env: dict[str, str]) -> None:
    def status(*opts: str) -> dict[str, str]:
        text = pd(registry_env, "run", "--rm", *opts, busybox, "cat", "/proc/self/status").stdout
        return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)

    default = status()
    assert int(default["CapEff"], 16) == DEFAULT_CAPEFF
    assert default["NoNewPrivs"].strip() == "0"
    assert int(status("--cap-drop=all")["CapEff"], 16) == 0
    assert int(status("--cap-drop=all", "--cap-add=chown")["CapEff"], 16) == 1
    assert status("--security-opt", "no-new-privileges")["NoNewPrivs"].strip() == "1"


def test_copy_on_write_leaves_image_layers_alone(busybox: str, registry_env: dict[str, str]) -> None:
    root = Path(registry_env["PDMAN_ROOT"])
    before = {p: p.stat().st_mtime_ns for p in (root / "layers").rglob("*") if not p.is_symlink()}
    cid = pd(registry_env, "create", busybox, "sh", "-c", "echo new > /etc/new; rm /bin/ls; echo changed >> /etc/passwd").stdout.strip()
    assert pd(registry_env, "start", "-a", cid).returncode == 0
    after = {p: p.stat().st_mtime_ns for p in (root / "layers").rglob("*") if not p.is_symlink()}
    assert before == after
    upper = root / "containers" / cid / "upper"
    assert (upper / "etc/new").read_text() == "new\n"
    assert (upper / "bin/ls").is_char_device()  # a whiteout hides the lower file
    assert pd(registry_env, "run", "--rm", busybox, "ls", "/etc/new", check=False).returncode != 0


def test_read_only_rootfs_and_tmpfs(busybox: str, registry_env: dict[str, str]) -> None:
    assert pd(registry_env, "run", "--rm", "--read-only", busybox, "touch", "/x", check=False).returncode != 0
    out = pd(registry_env, "run", "--rm", "--read-only", "--tmpfs", "/scratch", busybox, "sh", "-c",
             "touch /scratch/x && grep ' /scratch ' /proc/mounts")
    assert "tmpfs" in out.stdout


def test_named_volume_persists_between_containers(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "run", "--rm", "-v", "vol1:/v", busybox, "sh", "-c", "echo kept > /v/f")
    assert pd(registry_env, "run", "--rm", "-v", "vol1:/v", busybox, "cat", "/v/f").stdout == "kept\n"
    assert "vol1" in pd(registry_env, "volume", "ls", "-q").stdout


def test_names_conflict_rename_and_inspect(busybox: str, registry_env: dict[str, str]) -> None:
    pd(registry_env, "create", "--name", "web", busybox, "true")
    dup = pd(registry_env, "create", "--name", "web", busybox, "true", check=False)
    assert dup.returncode == 125 and "already in use" in dup.stderr
    pd(registry_env, "rename", "web", "web2")
    state = pd(registry_env, "container", "inspect", "--format", "{{.State.Status}} {{.Name}}", "web2")
    assert state.stdout == "created web2\n"
    pd(registry_env, "start", "-a", "web2")
    assert pd(registry_env, "container", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}",
              "web2").stdout == "exited 0\n"
    assert "Exited (0)" in pd(registry_env, "ps", "-a").stdout
    pd(registry_env, "rm", "web2")
    assert pd(registry_env, "ps", "-aq").stdout == ""


def test_signals_are_forwarded_to_the_container(busybox: str, registry_env: dict[str, str]) -> None:
    import shutil

    exe = shutil.which("pdman", path=registry_env["PATH"])
    proc = subprocess.Popen([exe, "run", "--rm", busybox, "sh", "-c",
                             "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.1; done"],
                            env=registry_env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 42
    assert proc.stdout.read() == "got-term\n"


def test_interactive_tty_session(busybox: str, registry_env: dict[str, str]) -> None:
    import pexpect

    child = pexpect.spawn("pdman", ["run", "-it", "--rm", busybox, "sh"], env=registry_env,
                          encoding="utf-8", timeout=30, dimensions=(30, 100))
    child.expect("# ")
    child.sendline("echo $((6*7)); stty size; [ -t 0 ] && echo on-a-tty")
    child.expect("42")
    child.expect("30 100")
    child.expect("on-a-tty")
    child.setwinsize(40, 120)
    time.sleep(0.2)
    child.sendline("stty size")
    child.expect("40 120")
    child.sendline("exit 5")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5


def test_128_layer_image_mounts(testbed: Any, registry_env: dict[str, str]) -> None:
    out = pd(registry_env, "run", "--rm", "-q", testbed.image("many"), "sh", "-c", "ls /layers | wc -l")
    assert int(out.stdout) == 127


def test_empty_named_volume_is_filled_from_the_image(busybox: str, registry_env: dict[str, str]) -> None:
    out = pd(registry_env, "run", "--rm", "-v", "etcvol:/etc", busybox, "sh", "-c",
             "cat /etc/pdman-platform; echo changed > /etc/pdman-platform")
    assert out.stdout == "linux/amd64\n"
    # the second container sees the volume, not the image: the change persisted
    again = pd(registry_env, "run", "--rm", "-v", "etcvol:/etc", busybox, "cat", "/etc/pdman-platform")
    assert again.stdout == "changed\n"
    mountpoint = pd(registry_env, "volume", "inspect", "--format", "{{.Mountpoint}}", "etcvol").stdout.strip()
    assert (Path(mountpoint) / "passwd").exists()
    # nocopy leaves a new volume without the image's files
    assert pd(registry_env, "run", "--rm", "-v", "empty:/etc:nocopy", busybox, "sh", "-c",
              "[ -e /etc/passwd ] && echo copied || echo empty").stdout == "empty\n"


def test_init_reaps_and_forwards(busybox: str, registry_env: dict[str, str]) -> None:
    out = pd(registry_env, "run", "--rm", "--init", busybox, "sh", "-c", "echo $$; cat /proc/1/comm")
    assert out.stdout.split() == ["2", "pdman-init"]
    # without a trap, a plain PID 1 ignores SIGTERM; behind --init, `sleep` gets it and dies
    import shutil

    exe = shutil.which("pdman", path=registry_env["PATH"])
    proc = subprocess.Popen([exe, "run", "--rm", "--init", busybox, "sh", "-c", "echo up; exec sleep 60"],
                            env=registry_env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "up\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 143
