"""`pdman run` in the foreground, as an unprivileged user, against the real registry.

Isolation is checked from inside the container with busybox, not guessed from outside.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.bed.runner import run_pdman

# podman's default capability set as a CapEff mask
DEFAULT_CAPEFF = 0x00000000800405FB


def pd(env: dict[str, str], *args: object, check: bool = True,
       input: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_pdman(*args, env=env, check=check, input=input)


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


def test_a_failure_in_the_container_setup_is_125_names_the_path_and_cleans_up(
        busybox: str, registry_env: dict[str, str], tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    # the mount fails in the child, after the network (pasta) was set up for it
    out = pd(registry_env, "run", "--rm", "-v", f"{a_file}:/etc", busybox, "true", check=False)
    assert out.returncode == 125
    assert str(a_file) in out.stderr and "/etc" in out.stderr and "Not a directory" in out.stderr
    cwd = pd(registry_env, "run", "--rm", "--network", "none", "-w", "/etc/passwd", busybox, "true",
             check=False)
    assert cwd.returncode == 125 and "/etc/passwd" in cwd.stderr and "Not a directory" in cwd.stderr
    assert pd(registry_env, "ps", "-aq").stdout == ""
    assert list((Path(registry_env["PDMAN_ROOT"]) / "containers").iterdir()) == []
    # and no helper process is left working for this store
    runroot = registry_env["PDMAN_RUNROOT"].encode()
    deadline = time.monotonic() + 10
    while True:
        left = []
        for proc in Path("/proc").iterdir():
            try:
                cmdline = (proc / "cmdline").read_bytes() if proc.name.isdigit() else b""
                if runroot in cmdline:
                    left.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                pass
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert left == []


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
    # an ID the image's /etc/passwd lacks gets an entry named by its number, as podman adds
    assert pd(registry_env, "run", "--rm", "-u", "1000:1000", busybox, "id").stdout.startswith(
        "uid=1000(1000) gid=1000(1000)")
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
    # `-e NAME` without a value passes the caller's NAME through, as in podman
    out = pd(dict(registry_env, FROM_CALLER="passed"), "run", "--rm", "-e", "A=1", "--env",
             "FROM_CALLER", "--env-file", envfile, busybox, "env").stdout
    assert "A=1\n" in out and "FROM_FILE=yes\n" in out and "PATH=" in out
    assert "FROM_CALLER=passed\n" in out
    assert pd(registry_env, "run", "--rm", "-w", "/tmp", busybox, "pwd").stdout == "/tmp\n"
    assert pd(registry_env, "run", "--rm", "--entrypoint", "echo", busybox, "a", "b").stdout == "a b\n"


def test_bind_mounts_and_ownership(busybox: str, registry_env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "in").write_text("from host\n")
    out = pd(registry_env, "run", "--rm", "-v", f"{data}:/data", "-v", f"{data}:/rw:rw", busybox, "sh", "-c",
             "cat /data/in; echo x > /data/root-file; echo y > /data/user-file; chown 1000:1000 /data/user-file; "
             "echo z > /rw/rw-file")
    assert out.stdout == "from host\n"
    assert (data / "rw-file").read_text() == "z\n"
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


def test_dev_sys_and_etc_files_are_the_containers(busybox: str, registry_env: dict[str, str]) -> None:
    out = pd(registry_env, "run", "--rm", "--hostname", "probe", busybox, "sh", "-c",
             "for n in null zero full random urandom tty; do [ -c /dev/$n ] && echo dev-$n; done; "
             "echo pts=$(ls /dev/pts); echo x > /dev/shm/x && echo shm-writable; "
             "touch /sys/x 2>/dev/null || echo sys-refused; "
             "echo hostname=$(cat /etc/hostname); echo hosts=$(grep -cw probe /etc/hosts); "
             "cat /proc/mounts").stdout.splitlines()
    assert [ln for ln in out if ln.startswith("dev-")] == [
        f"dev-{n}" for n in ("null", "zero", "full", "random", "urandom", "tty")]
    assert "pts=ptmx" in out                    # a devpts of its own: no host terminal in it
    assert "shm-writable" in out and "sys-refused" in out
    assert "hostname=probe" in out and "hosts=0" not in out   # the name resolves in /etc/hosts
    mounts = {f[1]: (f[2], f[3].split(",")) for f in (ln.split() for ln in out) if len(f) == 6}
    assert mounts["/dev/pts"][0] == "devpts" and mounts["/dev/shm"][0] == "tmpfs"
    assert mounts["/dev/mqueue"][0] == "mqueue"
    assert mounts["/sys"][0] == "sysfs" and "ro" in mounts["/sys"][1]
    assert mounts["/proc"][0] == "proc"


def test_ulimits(busybox: str, registry_env: dict[str, str]) -> None:
    """podman's rootless defaults (nofile and nproc at the caller's hard limit),
    --ulimit, the same limits for an exec'd process, and a limit above the caller's
    hard one refused with the limit named."""
    import resource

    show = ["sh", "-c", "echo $(ulimit -n) $(ulimit -Hn)"]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    default = pd(registry_env, "run", "--rm", "--network", "none", busybox, *show).stdout
    assert default.split() == [str(hard), str(hard)]
    pd(registry_env, "run", "-d", "--network", "none", "--name", "lim",
       "--ulimit", "nofile=512:1024", busybox, "sleep", "1000")
    assert pd(registry_env, "exec", "lim", *show).stdout.split() == ["512", "1024"]
    pd(registry_env, "rm", "-f", "lim")
    over = pd(registry_env, "run", "--rm", "--network", "none", "--ulimit",
              f"nofile={hard + 1}", busybox, "true", check=False)
    assert over.returncode == 125 and "rlimit" in over.stderr.lower(), over.stderr
    bad = pd(registry_env, "run", "--rm", "--ulimit", "nofile=2:1", busybox, "true", check=False)
    assert bad.returncode == 125 and "--ulimit" in bad.stderr


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
                             ("trap 'echo got-hup' HUP; trap 'echo got-int' INT; "
                              "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.1; done")],
                            env=registry_env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    # each one reaches the container, and pdman stays attached until it exits
    proc.send_signal(signal.SIGHUP)
    assert proc.stdout.readline() == "got-hup\n"
    proc.send_signal(signal.SIGINT)
    assert proc.stdout.readline() == "got-int\n"
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 42
    assert proc.stdout.read() == "got-term\n"


def test_interactive_tty_session(busybox: str, registry_env: dict[str, str]) -> None:
    import termios

    import pexpect

    child = pexpect.spawn("pdman", ["run", "-it", "--rm", busybox, "sh"], env=registry_env,
                          encoding="utf-8", timeout=30, dimensions=(30, 100))
    child.expect("# ")
    # the caller's terminal is raw while attached: no local echo, line editing or
    # signal keys -- the container's own terminal does those
    lflag = termios.tcgetattr(child.child_fd)[3]
    assert lflag & (termios.ICANON | termios.ECHO | termios.ISIG) == 0
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
    # and given back as it was found
    lflag = termios.tcgetattr(child.child_fd)[3]
    assert lflag & (termios.ICANON | termios.ECHO | termios.ISIG) == \
        termios.ICANON | termios.ECHO | termios.ISIG
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
    # an orphan (its parent shell is gone) is PID 1's to reap: no zombie stays behind
    out = pd(registry_env, "run", "--rm", "--init", busybox, "sh", "-c",
             "echo $$; cat /proc/1/comm; sh -c 'sleep 0.1 &'; sleep 0.6; ps -o stat,comm")
    lines = out.stdout.splitlines()
    assert lines[:2] == ["2", "pdman-init"]
    assert not [ln for ln in lines[3:] if ln.startswith("Z")], lines
    # without a trap, a plain PID 1 ignores SIGTERM; behind --init, `sleep` gets it and dies
    import shutil

    exe = shutil.which("pdman", path=registry_env["PATH"])
    proc = subprocess.Popen([exe, "run", "--rm", "--init", busybox, "sh", "-c", "echo up; exec sleep 60"],
                            env=registry_env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "up\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 143


def test_image_entrypoint_cmd_env_workdir_user_are_honoured(busybox: str,
                                                            registry_env: dict[str, str]) -> None:
    # an image whose config sets all five, made by commit (the test bed's set none but Cmd)
    pd(registry_env, "create", "--name", "src", busybox, "sh", "-c",
       "mkdir -p /srv && printf '%s\\n' '#!/bin/sh' 'echo \"args=$*\"' 'echo \"user=$(id -un)\"' "
       "'echo \"pwd=$(pwd)\"' 'echo \"greeting=$GREETING\"' > /ep && chmod 755 /ep")
    pd(registry_env, "start", "-a", "src")
    pd(registry_env, "commit", "--change", 'ENTRYPOINT ["/ep"]', "--change", 'CMD ["default-arg"]',
       "--change", "ENV GREETING=hello", "--change", "WORKDIR /srv", "--change", "USER nobody",
       "src", "configured:1")
    assert pd(registry_env, "run", "--rm", "configured:1").stdout.splitlines() == [
        "args=default-arg", "user=nobody", "pwd=/srv", "greeting=hello"]
    # arguments replace Cmd and go to the entrypoint; options override the rest
    assert pd(registry_env, "run", "--rm", "-u", "root", "-w", "/tmp", "-e", "GREETING=bye",
              "configured:1", "given", "words").stdout.splitlines() == [
        "args=given words", "user=root", "pwd=/tmp", "greeting=bye"]
    # --entrypoint "" clears the image's: the command runs by itself, as the image's user
    assert pd(registry_env, "run", "--rm", "--entrypoint", "", "configured:1",
              "sh", "-c", "id -un; pwd").stdout == "nobody\n/srv\n"
    cfg = json.loads(pd(registry_env, "container", "inspect", pd(
        registry_env, "create", "configured:1").stdout.strip()).stdout)[0]["Config"]
    assert (cfg["Entrypoint"], cfg["Cmd"], cfg["WorkingDir"], cfg["User"]) == \
        (["/ep"], ["default-arg"], "/srv", "nobody")
    assert "GREETING=hello" in cfg["Env"]


def test_stdin_reaches_the_container_only_with_i(busybox: str, registry_env: dict[str, str]) -> None:
    assert pd(registry_env, "run", "--rm", "-i", busybox, "cat", input="piped\n").stdout == "piped\n"
    assert pd(registry_env, "run", "--rm", busybox, "cat", input="piped\n").stdout == ""
    pd(registry_env, "create", "-i", "--name", "reader", busybox, "sh", "-c", "read l; echo got:$l")
    assert pd(registry_env, "start", "-i", "reader", input="again\n").stdout == "got:again\n"


def test_mount_option_bind_volume_tmpfs(busybox: str, registry_env: dict[str, str],
                                        tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    out = pd(registry_env, "run", "--rm",
             "--mount", f"type=bind,source={data},target=/b",
             "--mount", f"type=bind,src={data},dst=/bro,readonly",
             "--mount", "type=volume,source=mvol,target=/v",
             "--mount", "type=tmpfs,target=/t,tmpfs-size=1m",
             busybox, "sh", "-c",
             "echo b > /b/f; touch /bro/x 2>/dev/null || echo bro-refused; echo v > /v/f; "
             "grep ' /t ' /proc/mounts; touch /t/ok && echo t-writable").stdout.splitlines()
    assert (data / "f").read_text() == "b\n"
    assert not (data / "x").exists() and "bro-refused" in out
    (tmp_line,) = [ln for ln in out if " /t " in ln]
    assert tmp_line.startswith("tmpfs /t tmpfs") and "size=1024k" in tmp_line
    assert "t-writable" in out
    mountpoint = pd(registry_env, "volume", "inspect", "--format", "{{.Mountpoint}}", "mvol").stdout.strip()
    assert (Path(mountpoint) / "f").read_text() == "v\n"


def test_pull_policies(testbed: Any, registry_env: dict[str, str]) -> None:
    ref = testbed.image("busybox")
    never = pd(registry_env, "run", "--rm", "--pull=never", ref, "true", check=False)
    assert never.returncode == 125 and ref in never.stderr
    assert pd(registry_env, "images", "-q").stdout == ""          # nothing was pulled
    pd(registry_env, "run", "--rm", "-q", "--pull=missing", ref, "true")
    assert pd(registry_env, "images", "-q").stdout != ""
    # a local image under the registry's name: `missing` and `never` run it as it is,
    # `always` fetches the registry's again
    pd(registry_env, "create", "--name", "marked", ref, "sh", "-c", "echo local > /marker")
    pd(registry_env, "start", "-a", "marked")
    pd(registry_env, "commit", "marked", ref)
    for policy in ("missing", "never"):
        assert pd(registry_env, "run", "--rm", f"--pull={policy}", ref, "cat", "/marker").stdout == "local\n"
    assert pd(registry_env, "run", "--rm", "-q", "--pull=always", ref, "sh", "-c",
              "cat /marker 2>/dev/null || echo from-registry").stdout == "from-registry\n"
    bad = pd(registry_env, "run", "--rm", "--pull=sometimes", ref, "true", check=False)
    assert bad.returncode == 125 and "sometimes" in bad.stderr


def test_labels_ps_filters_columns_and_rm_options(busybox: str, registry_env: dict[str, str]) -> None:
    env = registry_env
    lab = pd(env, "create", "--name", "lab", "--label", "tier=web", "--label", "team=a", busybox,
             "true").stdout.strip()
    pd(env, "create", "--name", "anon", "-v", "/scratch", busybox, "true")
    pd(env, "run", "--name", "ran", busybox, "true")
    assert json.loads(pd(env, "container", "inspect", "lab").stdout)[0]["Config"]["Labels"] == \
        {"tier": "web", "team": "a"}

    def names(*filters: str) -> list[str]:
        args = [a for f in filters for a in ("--filter", f)]
        return sorted(pd(env, "ps", "-a", *args, "--format", "{{.Names}}").stdout.split())

    assert names("label=tier=web") == names("label=tier") == ["lab"]
    assert names("label=tier=db") == []
    assert names("status=exited") == ["ran"] and names("status=created") == ["anon", "lab"]
    assert names("ancestor=busybox") == ["anon", "lab", "ran"]
    assert names(f"id={lab[:6]}") == ["lab"]
    assert names("status=created", "name=an") == ["anon"]        # different keys: AND
    assert pd(env, "ps", "-q").stdout == ""                         # none is running
    assert pd(env, "ps", "-aq", "--filter", "name=lab").stdout == lab[:12] + "\n"
    assert pd(env, "ps", "-aq", "--no-trunc", "--filter", "name=lab").stdout == lab + "\n"
    # podman's columns, in its order
    header, *rows = pd(env, "ps", "-a").stdout.splitlines()
    assert re.split(r"\s{2,}", header.strip()) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                                                   "STATUS", "PORTS", "NAMES"]
    (ran,) = [r for r in rows if r.rstrip().endswith(" ran")]
    assert ran.startswith(pd(env, "ps", "-aq", "--filter", "name=ran").stdout.strip())
    assert busybox in ran and re.search(r"Exited \(0\) .*ago", ran)

    # rm -v removes a container's anonymous volumes; plain rm keeps them
    (anon_mount,) = json.loads(pd(env, "container", "inspect", "anon").stdout)[0]["Mounts"]
    assert anon_mount["Name"] in pd(env, "volume", "ls", "-q").stdout.split()
    pd(env, "create", "--name", "keeps", "-v", "/scratch", busybox, "true")
    (kept,) = json.loads(pd(env, "container", "inspect", "keeps").stdout)[0]["Mounts"]
    pd(env, "rm", "-v", "anon")
    pd(env, "rm", "keeps")
    volumes = pd(env, "volume", "ls", "-q").stdout.split()
    assert anon_mount["Name"] not in volumes and kept["Name"] in volumes
    ran_id = pd(env, "inspect", "--format", "{{.Id}}", "ran").stdout.strip()
    assert sorted(pd(env, "rm", "--all").stdout.split()) == sorted([lab, ran_id])
    assert pd(env, "ps", "-aq").stdout == ""
