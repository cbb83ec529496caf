"""More run/create options of issue #13 (engine/runcompat.py), each as a podman user
checks it: /etc/passwd entries (--passwd, --passwd-entry, --hostuser), --chrootdirs,
--cgroupns, --seccomp-policy, --http-proxy, --image-volume, --timeout, --sysctl,
--personality, --device and --preserve-fds. Expected values were taken from podman 4.3
run the same way."""

from __future__ import annotations

import json
import os
import platform
import pwd
import shutil
import subprocess
from pathlib import Path

from tests.bed.runner import run_pdman
from tests.compat.test_scripts import _pd


def test_passwd_entries(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    # a UID the image does not know gets podman's line (home: the working directory)
    out = pd("run", "--rm", "-w", "/tmp", "-u", "1234", busybox, "sh", "-c",
             "grep 1234 /etc/passwd /etc/group; id -un").stdout.splitlines()
    assert out == ["/etc/passwd:1234:*:1234:0:container user:/tmp:/bin/sh",
                   "/etc/group:1234:x:1234:1234", "1234"]
    out = pd("run", "--rm", "--passwd=false", "-u", "1234", busybox, "sh", "-c",
             "grep -c 1234 /etc/passwd || true").stdout
    assert out.strip() == "0"
    entry = "$USERNAME:x:$UID:$GID:$NAME:$HOME:/bin/sh"
    out = pd("run", "--rm", "--passwd-entry", entry, "-u", "1234:5", busybox,
             "grep", "1234", "/etc/passwd").stdout
    assert out == "1234:x:1234:5:container user:/:/bin/sh\n"
    # root is known: nothing added, the image's file as it is
    assert pd("run", "--rm", "--passwd-entry", entry, busybox, "grep", "-c", "container",
              "/etc/passwd", check=False).stdout.strip() == "0"
    me = pwd.getpwuid(os.getuid())
    out = pd("run", "--rm", "--hostuser", me.pw_name, busybox, "tail", "-1",
             "/etc/passwd").stdout
    assert out == f"{me.pw_name}:*:{me.pw_uid}:{me.pw_gid}:{me.pw_gecos}:/:/bin/sh\n"
    bad = pd("run", "--rm", "--hostuser", "no-such-user-here", busybox, "true", check=False)
    assert bad.returncode == 125 and "unknown user no-such-user-here" in bad.stderr


def test_chrootdirs_and_cgroupns(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    out = pd("run", "--rm", "--add-host", "db:10.1.2.3", "--chrootdirs", "/srv/jail", busybox,
             "sh", "-c", "grep db /srv/jail/etc/hosts; ls /srv/jail/etc").stdout.split()
    assert out[:2] == ["10.1.2.3", "db"] and "resolv.conf" in out and "hostname" not in out
    mine = os.readlink("/proc/self/ns/cgroup")
    assert pd("run", "--rm", "--cgroupns", "host", busybox, "readlink",
              "/proc/self/ns/cgroup").stdout.strip() == mine
    assert pd("run", "--rm", "--cgroupns", "private", busybox, "readlink",
              "/proc/self/ns/cgroup").stdout.strip() != mine
    bad = pd("run", "--rm", "--cgroupns", "ns:/x", busybox, "true", check=False)
    assert bad.returncode == 125 and "--cgroupns" in bad.stderr


def test_seccomp_policy_and_http_proxy(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("run", "--rm", "--seccomp-policy", "default", busybox, "true")
    bad = pd("run", "--rm", "--seccomp-policy", "image", busybox, "true", check=False)
    assert bad.returncode == 125 and "no seccomp policy defined by image" in bad.stderr
    env = {**registry_env, "http_proxy": "http://proxy.invalid:3128", "NO_PROXY": "local"}
    out = run_pdman("run", "--rm", busybox, "env", env=env).stdout.splitlines()
    assert "http_proxy=http://proxy.invalid:3128" in out and "NO_PROXY=local" in out
    out = run_pdman("run", "--rm", "-e", "http_proxy=mine", busybox, "env",
                    env=env).stdout.splitlines()
    assert "http_proxy=mine" in out                     # the container's own wins
    out = run_pdman("run", "--rm", "--http-proxy=false", busybox, "env", env=env).stdout
    assert "proxy" not in out.lower()


def test_image_volume(registry_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    pd = _pd(registry_env)
    (tmp_path / "Containerfile").write_text(f"FROM {busybox}\nVOLUME /data\n")
    pd("build", "-q", "-t", "localhost/withvol", str(tmp_path))
    # bind (the default): an anonymous volume, kept across restarts of the container
    pd("run", "--name", "v", "localhost/withvol", "sh", "-c", "echo kept > /data/f")
    mounts = json.loads(pd("inspect", "v").stdout)[0]["Mounts"]
    assert [m["Destination"] for m in mounts] == ["/data"] and mounts[0]["Type"] == "volume"
    pd("start", "-a", "v")
    assert pd("run", "--rm", "--volumes-from", "v", busybox, "cat", "/data/f").stdout == "kept\n"
    out = pd("run", "--rm", "--image-volume", "tmpfs", "localhost/withvol", "sh", "-c",
             "grep ' /data ' /proc/mounts").stdout
    assert out.split()[2] == "tmpfs"
    out = pd("run", "--rm", "--image-volume", "ignore", "localhost/withvol", "sh", "-c",
             "grep -c ' /data ' /proc/mounts || true").stdout
    assert out.strip() == "0"
    bad = pd("run", "--rm", "--image-volume", "nfs", busybox, "true", check=False)
    assert bad.returncode == 125 and "--image-volume" in bad.stderr


def test_timeout(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    # podman (conmon) reports a container its --timeout killed with exit code -1
    fg = pd("run", "--name", "fg", "--timeout", "1", busybox, "sleep", "60", check=False)
    assert fg.returncode == 255
    assert pd("inspect", "fg", "--format", "{{.State.ExitCode}}").stdout.strip() == "-1"
    pd("run", "-d", "--name", "bg", "--timeout", "1", busybox, "sleep", "60")
    assert pd("wait", "bg").stdout.strip() == "-1"
    assert pd("inspect", "bg", "--format", "{{.State.Status}}").stdout.strip() == "exited"
    # a container that ends in time keeps its own code
    assert pd("run", "--rm", "--timeout", "60", busybox, "sh", "-c", "exit 3",
              check=False).returncode == 3


def test_sysctl(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    out = pd("run", "--rm", "--sysctl", "net.ipv4.ip_unprivileged_port_start=80",
             "--sysctl", "kernel.msgmax=8192", busybox, "cat",
             "/proc/sys/net/ipv4/ip_unprivileged_port_start",
             "/proc/sys/kernel/msgmax").stdout.split()
    assert out == ["80", "8192"]
    for key in ("vm.swappiness=1", "kernel.hostname=x"):
        bad = pd("run", "--rm", "--sysctl", key, busybox, "true", check=False)
        assert bad.returncode == 125 and "is not allowed" in bad.stderr, bad.stderr
    bad = pd("run", "--rm", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1",
             busybox, "true", check=False)
    assert bad.returncode == 125 and "network namespace" in bad.stderr


def test_personality(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    if platform.machine() != "x86_64":
        print("SKIP-REASON: LINUX32 checked on x86_64 only")
        return
    assert pd("run", "--rm", "--personality", "LINUX32", busybox,
              "uname", "-m").stdout.strip() in ("i686", "i386")
    assert pd("run", "--rm", "--personality", "LINUX", busybox,
              "uname", "-m").stdout.strip() == "x86_64"
    bad = pd("run", "--rm", "--personality", "BSD", busybox, "true", check=False)
    assert bad.returncode == 125


def test_device(registry_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    pd = _pd(registry_env)
    out = pd("run", "--rm", "--device", "/dev/zero:/dev/myzero", busybox, "sh", "-c",
             "ls -l /dev/myzero; head -c 3 /dev/myzero | od -An -tx1").stdout.splitlines()
    assert out[0].startswith("c") and "1,   5" in out[0] and out[1].split() == ["00"] * 3
    # rootless, as podman's: no device cgroup to enforce the permissions, only the node
    pd("run", "--rm", "--device", "/dev/null:/dev/mynull:rw", busybox, "sh", "-c",
       "echo x > /dev/mynull")
    plain = tmp_path / "plain"
    plain.write_text("")
    bad = pd("run", "--rm", "--device", str(plain), busybox, "true", check=False)
    assert bad.returncode == 125 and "not a device" in bad.stderr


def test_preserve_fds(registry_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    exe = shutil.which("pdman", path=registry_env["PATH"])
    assert exe
    data = tmp_path / "given"
    data.write_text("from the caller\n")

    def sh(script: str) -> "subprocess.CompletedProcess[str]":
        # fd 3 opened by a shell, as a script hands it to podman
        return subprocess.run(["sh", "-c", f"exec 3<{data}; {script}"], env=registry_env,
                              capture_output=True, text=True, timeout=120, check=False)

    done = sh(f"{exe} run --rm --preserve-fds 1 {busybox} cat /proc/self/fd/3")
    assert (done.returncode, done.stdout) == (0, "from the caller\n"), done.stderr
    done = sh(f"{exe} run --rm {busybox} sh -c 'test -e /proc/self/fd/3 && echo open || "
              "echo closed'")
    assert done.stdout == "closed\n", done.stderr
    # exec --preserve-fds: the same, into a running container's process
    pd = _pd(registry_env)
    pd("run", "-d", "--name", "fds", busybox, "sleep", "600")
    try:
        done = sh(f"exec 4<{data}; {exe} exec --preserve-fds 2 fds sh -c "
                  "'cat /proc/self/fd/3 /proc/self/fd/4; test -e /proc/self/fd/5 || echo five'")
        assert (done.returncode, done.stdout) == (
            0, "from the caller\nfrom the caller\nfive\n"), done.stderr
        done = sh(f"{exe} exec fds sh -c 'test -e /proc/self/fd/3 && echo open || echo closed'")
        assert done.stdout == "closed\n", done.stderr
        done = sh(f"{exe} exec --preserve-fds 2 fds true")      # fd 4 is not open
        assert done.returncode == 125
        assert "file descriptor 4 is not available" in done.stderr, done.stderr
    finally:
        pd("rm", "-f", "-t", "0", "fds")


def test_pid_namespace(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    mine = os.readlink("/proc/self/ns/pid")
    out = pd("run", "--rm", busybox, "sh", "-c", "readlink /proc/self/ns/pid; echo $$").stdout
    assert out.split()[0] != mine and out.split()[1] == "1"
    # host: the host's PID namespace and processes (this test's own among them)
    out = pd("run", "--rm", "--pid", "host", busybox, "sh", "-c",
             f"readlink /proc/self/ns/pid; test -d /proc/{os.getpid()} && echo seen").stdout
    assert out.split() == [mine, "seen"]
    # container:NAME: born into another running container's PID namespace
    pd("run", "-d", "--name", "first", busybox, "sleep", "600")
    first = int(pd("inspect", "first", "--format", "{{.State.Pid}}").stdout)
    out = pd("run", "--rm", "--pid", "container:first", busybox, "sh", "-c",
             "readlink /proc/self/ns/pid; ps -o pid,args").stdout.splitlines()
    assert out[0] == os.readlink(f"/proc/{first}/ns/pid")
    assert any(ln.split()[:3] == ["1", "sleep", "600"] for ln in out[1:])
    pd("create", "--name", "idle", busybox, "true")
    bad = pd("run", "--rm", "--pid", "container:idle", busybox, "true", check=False)
    assert bad.returncode != 0 and "is not running" in bad.stderr
    bad = pd("run", "--rm", "--pid", "ns:/proc/1/ns/pid", busybox, "true", check=False)
    assert bad.returncode == 125 and "--pid" in bad.stderr


def test_ip_and_mac_address(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    pd("network", "create", "--subnet", "10.89.91.0/24", "fixed")
    try:
        pd("run", "-d", "--name", "one", "--network", "fixed", "--ip", "10.89.91.50",
           "--mac-address", "92:d0:c6:0a:29:33", busybox, "sleep", "600")
        out = pd("exec", "one", "ip", "addr", "show", "eth0").stdout
        assert "inet 10.89.91.50/24" in out and "link/ether 92:d0:c6:0a:29:33" in out
        # the address is taken while the first one holds it
        bad = pd("run", "--rm", "--network", "fixed", "--ip", "10.89.91.50", busybox, "true",
                 check=False)
        assert bad.returncode != 0 and "already allocated" in bad.stderr
        out = pd("run", "--rm", "--cap-add", "NET_RAW", "--network", "fixed", busybox, "sh",
                 "-c", "ping -c 1 -W 5 10.89.91.50 >/dev/null && echo reached").stdout
        assert out == "reached\n"
        for args, words in ((["--network", "fixed", "--ip", "10.1.1.1"], "not in the subnet"),
                            (["--ip", "10.89.91.60"], "user-defined network"),
                            (["--network", "fixed", "--mac-address", "93:00:00:00:00:01"],
                             "invalid --mac-address"),
                            # --ip6: an IPv6 address, on a network with an IPv6 subnet
                            # (pdman's are IPv4-only: refused, saying so)
                            (["--network", "fixed", "--ip6", "10.89.91.61"],
                             "'10.89.91.61' is not an IPv6 address"),
                            (["--ip6", "fd00::5"], "user-defined network"),
                            (["--network", "fixed", "--ip6", "fd00::5"],
                             "requested ip address fd00::5 is not in a subnet of network "
                             "fixed: its only subnet is 10.89.91.0/24")):
            bad = pd("run", "--rm", *args, busybox, "true", check=False)
            assert bad.returncode == 125 and words in bad.stderr, bad.stderr
    finally:
        pd("rm", "-f", "-t", "0", "one", check=False)
        pd("network", "rm", "-f", "fixed", check=False)


def test_attach_streams(registry_env: dict[str, str], busybox: str) -> None:
    pd = _pd(registry_env)
    script = "echo out; echo err >&2"
    done = pd("run", "--name", "a1", "-a", "stdout", busybox, "sh", "-c", script)
    assert (done.stdout, done.stderr) == ("out\n", "")
    done = pd("run", "--rm", "--attach", "STDERR", busybox, "sh", "-c", script)
    assert (done.stdout, done.stderr) == ("", "err\n")
    # what is not attached is still logged
    logs = pd("logs", "a1")
    assert (logs.stdout, logs.stderr) == ("out\n", "err\n")
    bad = pd("run", "--rm", "-a", "stdfoo", busybox, "true", check=False)
    assert bad.returncode == 125 and "--attach" in bad.stderr
